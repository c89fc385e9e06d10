//! CSV datasets: one sample per line, `feature, feature, ..., label`.
//!
//! Fields are separated by `,`; an optional header line is recognised by a first field
//! that is not a number; empty lines and lines starting with `#` are skipped; `?` or an
//! empty field marks a missing value. The label is any string (class names are sorted,
//! numerically if they are all numbers). Samples are `[F, 1]` series (one channel);
//! the 8×8 digits are `[8, 8, 1]` images ([`parse_digits`]).

use super::dataset::{DataError, RawCase, RawSet};

/// Parses CSV text; `name` (usually the file path) is used in error messages.
pub fn parse_csv(text: &str, name: &str) -> Result<RawSet, DataError> {
    let mut cases = Vec::new();
    let mut width: Option<usize> = None;
    let mut first = true;
    for (ln, raw) in text.lines().enumerate() {
        let line_no = ln + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split(',').collect();
        if first {
            first = false;
            let f0 = fields[0].trim();
            if fields.len() > 1 && f0 != "?" && !f0.is_empty() && f0.parse::<f64>().is_err() {
                continue; // header
            }
        }
        if fields.len() < 2 {
            return Err(DataError::Parse {
                file: name.into(),
                line: line_no,
                col: 1,
                msg: "a row needs at least one feature and a label".into(),
            });
        }
        let f = fields.len() - 1;
        match width {
            None => width = Some(f),
            Some(w) if w != f => {
                return Err(DataError::Parse {
                    file: name.into(),
                    line: line_no,
                    col: 1,
                    msg: format!("row has {f} features, earlier rows have {w}"),
                })
            }
            _ => {}
        }
        let mut values = Vec::with_capacity(f);
        let mut col = 1 + (raw.len() - raw.trim_start().len());
        for tok in &fields[..f] {
            let t = tok.trim();
            if t.is_empty() || t == "?" {
                values.push(f32::NAN);
            } else {
                let v: f32 = t
                    .parse()
                    .ok()
                    .filter(|v: &f32| v.is_finite())
                    .ok_or_else(|| DataError::Parse {
                        file: name.into(),
                        line: line_no,
                        col,
                        msg: format!("`{t}` is not a finite number (or `?` for missing)"),
                    })?;
                values.push(v);
            }
            col += tok.len() + 1;
        }
        let label = fields[f].trim().to_string();
        if label.is_empty() {
            return Err(DataError::Parse {
                file: name.into(),
                line: line_no,
                col,
                msg: "missing class label".into(),
            });
        }
        cases.push(RawCase {
            values,
            len: f,
            label,
            line: line_no,
        });
    }
    if cases.is_empty() {
        return Err(DataError::Empty { file: name.into() });
    }
    Ok(RawSet {
        name: name.into(),
        channels: 1,
        cases,
        classes: None,
        shape: None,
    })
}

/// Parses the 8×8 digits CSV (64 pixel columns, then the label; no header) into
/// `[8, 8, 1]` images.
pub fn parse_digits(text: &str, name: &str) -> Result<RawSet, DataError> {
    let r = parse_image(text, name)?;
    match r.cases.iter().find(|c| c.len != 64) {
        Some(c) => Err(DataError::Parse {
            file: name.into(),
            line: c.line,
            col: 1,
            msg: format!("a digits row has 64 pixels, this one has {}", c.len),
        }),
        None => Ok(r),
    }
}

/// Parses square grey-scale images, one per row: `S × S` pixel columns (row-major),
/// then the label, into `[S, S, 1]` samples (MNIST: 784 columns → `[28, 28, 1]`).
pub fn parse_image(text: &str, name: &str) -> Result<RawSet, DataError> {
    let mut r = parse_csv(text, name)?;
    let n = r.cases[0].len;
    let side = (n as f64).sqrt().round() as usize;
    if side * side != n {
        return Err(DataError::Parse {
            file: name.into(),
            line: r.cases[0].line,
            col: 1,
            msg: format!("an image row has S×S pixel columns before the label, this one has {n}"),
        });
    }
    r.shape = Some(vec![side, side, 1]);
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_missing_and_errors() {
        let r = parse_csv("a,b,label\n1,2,x\n?,4,y\n", "t.csv").unwrap();
        assert_eq!(r.cases.len(), 2);
        assert!(r.cases[1].values[0].is_nan());
        assert_eq!(r.cases[1].label, "y");
        let e = parse_csv("1,2,x\n1,zz,y\n", "t.csv").unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.csv:2:3: `zz` is not a finite number (or `?` for missing)"
        );
        let e = parse_csv("1,2,x\n1,y\n", "t.csv").unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.csv:2:1: row has 1 features, earlier rows have 2"
        );
    }

    #[test]
    fn square_images() {
        let r = parse_image("1,2,3,4,a\n5,6,7,8,b\n", "i.csv").unwrap();
        assert_eq!(r.shape, Some(vec![2, 2, 1]));
        let e = parse_image("\n1,2,3,a\n", "i.csv").unwrap_err();
        assert_eq!(
            e.to_string(),
            "i.csv:2:1: an image row has S×S pixel columns before the label, this one has 3"
        );
        let e = parse_digits("1,2,3,4,a\n", "d.csv").unwrap_err();
        assert!(e.to_string().contains("64 pixels, this one has 4"), "{e}");
    }
}
