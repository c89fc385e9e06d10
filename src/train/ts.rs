//! Parser for the UEA/UCR (sktime) `.ts` time-series classification format.
//!
//! Header lines start with `#` (comment) or `@` (`@problemName`, `@univariate`,
//! `@dimensions`, `@equalLength`, `@seriesLength`, `@missing`, `@classLabel true a b ...`,
//! `@timeStamps`), then `@data`; each data line is one case: dimensions separated by
//! `:`, each a comma-separated series, the class label last. `?` marks a missing value
//! (kept as NaN here, filled after standardisation). Series may have different lengths
//! (`@equalLength false`); [`super::dataset::Splits`] pads or truncates them.
//! Time-stamped series (`@timeStamps true`) are not supported.

use super::dataset::{DataError, RawCase, RawSet};

fn perr(file: &str, line: usize, col: usize, msg: impl Into<String>) -> DataError {
    DataError::Parse {
        file: file.to_string(),
        line,
        col,
        msg: msg.into(),
    }
}

/// Parses `.ts` text; `name` (usually the file path) is used in error messages.
pub fn parse_ts(text: &str, name: &str) -> Result<RawSet, DataError> {
    let mut classes: Option<Vec<String>> = None;
    let mut dims_decl: Option<usize> = None;
    // `@missing false` forbids `?`/NaN; `@equalLength true` forbids cases of different
    // lengths (absent headers allow both)
    let mut missing_allowed = true;
    let mut equal_length = false;
    let mut in_data = false;
    let mut cases = Vec::new();
    let mut channels: Option<usize> = None;
    for (ln, raw) in text.lines().enumerate() {
        let line_no = ln + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if !in_data {
            if !line.starts_with('@') {
                return Err(perr(
                    name,
                    line_no,
                    1,
                    "expected a `@` header line or `@data` before the data",
                ));
            }
            let mut parts = line.split_whitespace();
            let key = parts.next().unwrap_or("").to_ascii_lowercase();
            let rest: Vec<&str> = parts.collect();
            match key.as_str() {
                "@data" => in_data = true,
                "@classlabel" => match rest.first().map(|s| s.to_ascii_lowercase()) {
                    Some(t) if t == "true" => {
                        classes = Some(rest[1..].iter().map(|s| s.to_string()).collect());
                    }
                    _ => {
                        return Err(perr(
                            name,
                            line_no,
                            1,
                            "`@classLabel false`: a classification dataset needs labels",
                        ))
                    }
                },
                "@dimensions" => {
                    let d = rest
                        .first()
                        .and_then(|s| s.parse::<usize>().ok())
                        .filter(|&d| d > 0)
                        .ok_or_else(|| {
                            perr(name, line_no, 1, "`@dimensions` needs a positive integer")
                        })?;
                    dims_decl = Some(d);
                }
                "@missing" => {
                    missing_allowed = !rest
                        .first()
                        .is_some_and(|s| s.eq_ignore_ascii_case("false"))
                }
                "@equallength" => {
                    equal_length = rest.first().is_some_and(|s| s.eq_ignore_ascii_case("true"))
                }
                "@timestamps" if rest.first().is_some_and(|s| s.eq_ignore_ascii_case("true")) => {
                    return Err(perr(
                        name,
                        line_no,
                        1,
                        "time-stamped series (`@timeStamps true`) are not supported",
                    ));
                }
                _ => {}
            }
            continue;
        }
        // A data line: dim:dim:...:label
        let fields: Vec<&str> = raw.split(':').collect();
        if fields.len() < 2 {
            return Err(perr(
                name,
                line_no,
                1,
                "a case needs at least one dimension and a label separated by `:`",
            ));
        }
        let label = fields[fields.len() - 1].trim().to_string();
        if label.is_empty() {
            return Err(perr(name, line_no, raw.len().max(1), "missing class label"));
        }
        let dims = &fields[..fields.len() - 1];
        let c = dims.len();
        if let Some(d) = dims_decl {
            if d != c {
                return Err(perr(
                    name,
                    line_no,
                    1,
                    format!("case has {c} dimensions but the header declares {d}"),
                ));
            }
        }
        match channels {
            None => channels = Some(c),
            Some(prev) if prev != c => {
                return Err(perr(
                    name,
                    line_no,
                    1,
                    format!("case has {c} dimensions, earlier cases have {prev}"),
                ));
            }
            _ => {}
        }
        let mut series: Vec<Vec<f32>> = Vec::with_capacity(c);
        let mut col = 1;
        for d in dims {
            let mut s = Vec::new();
            let mut tcol = col;
            for tok in d.split(',') {
                let t = tok.trim();
                if t == "?" || t.eq_ignore_ascii_case("nan") {
                    if !missing_allowed {
                        return Err(perr(
                            name,
                            line_no,
                            tcol,
                            format!(
                                "missing value `{t}`, but the header declares `@missing false`"
                            ),
                        ));
                    }
                    s.push(f32::NAN);
                } else {
                    let v: f32 = t.parse().map_err(|_| {
                        perr(
                            name,
                            line_no,
                            tcol,
                            format!("`{t}` is not a number (or `?` for missing)"),
                        )
                    })?;
                    if !v.is_finite() {
                        return Err(perr(name, line_no, tcol, format!("`{t}` is not finite")));
                    }
                    s.push(v);
                }
                tcol += tok.len() + 1;
            }
            col += d.len() + 1;
            series.push(s);
        }
        let len = series.iter().map(Vec::len).max().unwrap_or(0);
        // every dimension of a case has the case's length (UEA format)
        if let Some(d) = series.iter().position(|s| s.len() != len) {
            return Err(perr(
                name,
                line_no,
                1,
                format!(
                    "ragged case: dimension {} has {} values, dimension {} has {len}",
                    d + 1,
                    series[d].len(),
                    series.iter().position(|s| s.len() == len).unwrap_or(0) + 1
                ),
            ));
        }
        if let Some(first) = cases.first().filter(|_| equal_length) {
            let first: &RawCase = first;
            if first.len != len {
                return Err(perr(
                    name,
                    line_no,
                    1,
                    format!(
                        "case of length {len}, but the header declares `@equalLength true` and the case of line {} has length {}",
                        first.line, first.len
                    ),
                ));
            }
        }
        let mut values = vec![f32::NAN; len * c];
        for (ch, s) in series.iter().enumerate() {
            for (t, &v) in s.iter().enumerate() {
                values[t * c + ch] = v;
            }
        }
        cases.push(RawCase {
            values,
            len,
            label,
            line: line_no,
        });
    }
    if cases.is_empty() {
        return Err(DataError::Empty {
            file: name.to_string(),
        });
    }
    Ok(RawSet {
        name: name.to_string(),
        channels: channels.unwrap_or(1),
        cases,
        classes,
        shape: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# comment\n@problemName toy\n@missing true\n@equalLength false\n\
@classLabel true up down\n@data\n1,2,3:4,5,6:up\n1,?:2,3:down\n";

    #[test]
    fn parses_multivariate_variable_length_with_missing() {
        let r = parse_ts(TEXT, "toy.ts").unwrap();
        assert_eq!(r.channels, 2);
        assert_eq!(r.cases.len(), 2);
        assert_eq!(r.cases[0].values, vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
        assert_eq!(r.cases[1].len, 2);
        assert!(r.cases[1].values[2].is_nan());
        assert_eq!(r.cases[1].label, "down");
        assert_eq!(
            r.classes.as_deref(),
            Some(&["up".to_string(), "down".to_string()][..])
        );
    }

    #[test]
    fn errors_carry_file_line_and_column() {
        let e = parse_ts("@data\n1,2:a\n1,x:b\n", "bad.ts").unwrap_err();
        assert_eq!(
            e.to_string(),
            "bad.ts:3:3: `x` is not a number (or `?` for missing)"
        );
        let e = parse_ts("@missing false\n@data\n1,2:a\n1,nan:b\n", "bad.ts").unwrap_err();
        assert_eq!(
            e.to_string(),
            "bad.ts:4:3: missing value `nan`, but the header declares `@missing false`"
        );
        let e = parse_ts("@data\n1,2:3,4:a\n1,2:3:b\n", "bad.ts").unwrap_err();
        assert_eq!(
            e.to_string(),
            "bad.ts:3:1: ragged case: dimension 2 has 1 values, dimension 1 has 2"
        );
        let e = parse_ts("@equalLength true\n@data\n1,2:a\n1,2,3:b\n", "bad.ts").unwrap_err();
        assert!(
            e.to_string().starts_with(
                "bad.ts:4:1: case of length 3, but the header declares `@equalLength true`"
            ),
            "{e}"
        );
        let e = parse_ts("@data\n1,2:3,4:a\n1,2:b\n", "bad.ts").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("bad.ts:3:1: case has 1 dimensions"),
            "{e}"
        );
    }
}
