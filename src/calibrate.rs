//! Fitting a device's per-layer latency model to measured layers (`distrinas
//! calibrate`, `docs/calibration.md`).
//!
//! Each layer kind gets `latency = overhead_us + ns_per_mac × MACs + ns_per_byte ×
//! (in_bytes + out_bytes)`, fitted with `linfa-linear` on the rows of that kind by
//! least squares of the absolute errors ([`FitLoss::Absolute`], the default: what a
//! sum of layer times accumulates, and the best fit under a timer's additive noise) or
//! of the **relative** errors ([`FitLoss::Relative`]: each row divided by its measured
//! latency, so a 25 ms network weighs as much as a 460 ms one). Rows of kind `Network` are whole
//! networks measured end to end: they are fitted the same way and reported, and give a
//! profile's two-term model (`mac_per_s`) rather than a per-layer entry.
//! **Non-negativity** is enforced by an active set: fit, and while a
//! coefficient is negative, fix the most negative one at 0 and refit the others (a
//! column that is zero in every row is fixed at 0 from the start). The columns are
//! scaled to a largest value of 1 before the solve, so MACs in millions and bytes in
//! hundreds weigh alike.
//!
//! The fit reports, per kind and overall, R² and the mean relative error on the
//! measured rows, and the mean relative error of **leave-one-out** predictions: each
//! row predicted by the fit of the other rows of its kind. A leave-one-out error much
//! larger than the fit's own is the sign of too few rows for three coefficients.

use crate::arch::LAYER_KINDS;
use crate::scenario::LayerLatency;
use linfa::prelude::*;
use linfa_linear::LinearRegression;
use ndarray::{Array1, Array2};
use serde::Serialize;
use std::collections::BTreeMap;
use thiserror::Error;

/// The header a measurements file starts with.
pub const HEADER: &str = "kind,macs,in_bytes,out_bytes,latency_us";

/// The kind of a row that times a whole network.
pub const NETWORK_KIND: &str = "Network";

/// One measured layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// Layer kind (`Conv2d`, `Dense`, ...).
    pub kind: String,
    pub macs: u64,
    pub in_bytes: u64,
    pub out_bytes: u64,
    /// Measured latency, µs (> 0).
    pub latency_us: f64,
    /// Line in the file (1-based).
    pub line: usize,
}

/// Why measurements cannot be read or fitted.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum CalibrateError {
    /// A malformed line: `file:line:col: what was expected`.
    #[error("{file}:{line}:{col}: {message}")]
    Format {
        file: String,
        line: usize,
        col: usize,
        message: String,
    },
    /// No measurement rows.
    #[error(
        "{0}: no measurements (expected the header `{HEADER}` and one row per measured layer)"
    )]
    Empty(String),
    /// The least-squares solve failed.
    #[error("the fit of {kind} failed: {message}")]
    Solve { kind: String, message: String },
}

/// Reads a measurements CSV (`HEADER`, then one row per layer); `file` names it in
/// errors. Blank lines and lines starting with `#` are skipped.
pub fn parse_csv(text: &str, file: &str) -> Result<Vec<Measurement>, CalibrateError> {
    let err = |line: usize, col: usize, message: String| CalibrateError::Format {
        file: file.to_string(),
        line,
        col,
        message,
    };
    let mut rows = Vec::new();
    let mut header_seen = false;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let l = raw.trim_end_matches('\r');
        if l.trim().is_empty() || l.trim_start().starts_with('#') {
            continue;
        }
        if !header_seen {
            if l.replace(' ', "") != HEADER {
                return Err(err(line, 1, format!("expected the header `{HEADER}`")));
            }
            header_seen = true;
            continue;
        }
        let fields: Vec<&str> = l.split(',').collect();
        if fields.len() != 5 {
            return Err(err(
                line,
                1,
                format!("expected 5 fields ({HEADER}), found {}", fields.len()),
            ));
        }
        let col = |k: usize| 1 + fields[..k].iter().map(|f| f.len() + 1).sum::<usize>();
        let kind = fields[0].trim();
        if !LAYER_KINDS.contains(&kind) && kind != NETWORK_KIND {
            return Err(err(
                line,
                col(0),
                format!(
                    "unknown layer kind {kind:?} (expected one of {}, or {NETWORK_KIND} for a whole network)",
                    LAYER_KINDS.join(", ")
                ),
            ));
        }
        let whole = |k: usize, name: &str| -> Result<u64, CalibrateError> {
            fields[k].trim().parse::<u64>().map_err(|_| {
                err(
                    line,
                    col(k),
                    format!("{name}: expected a whole number ≥ 0, found {:?}", fields[k]),
                )
            })
        };
        let (macs, in_bytes, out_bytes) = (
            whole(1, "macs")?,
            whole(2, "in_bytes")?,
            whole(3, "out_bytes")?,
        );
        let latency_us = fields[4]
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite() && *x > 0.0)
            .ok_or_else(|| {
                err(
                    line,
                    col(4),
                    format!("latency_us: expected a number > 0, found {:?}", fields[4]),
                )
            })?;
        rows.push(Measurement {
            kind: kind.to_string(),
            macs,
            in_bytes,
            out_bytes,
            latency_us,
            line,
        });
    }
    if rows.is_empty() {
        return Err(CalibrateError::Empty(file.to_string()));
    }
    Ok(rows)
}

/// The fit of one layer kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KindFit {
    /// The fitted coefficients (all ≥ 0).
    pub coefficients: LayerLatency,
    /// Rows of this kind.
    pub rows: usize,
    /// R² of the fit on its rows (1 − residual / total sum of squares; `None` when the
    /// latencies do not vary).
    pub r2: Option<f64>,
    /// Mean |predicted − measured| / measured over the rows.
    pub mean_relative_error: f64,
    /// The same for leave-one-out predictions (`None` with a single row).
    pub loo_relative_error: Option<f64>,
}

/// One measured row against the fit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowFit {
    /// Line in the file.
    pub line: usize,
    pub kind: String,
    pub macs: u64,
    /// Input + output bytes.
    pub bytes: u64,
    /// Measured, µs.
    pub latency_us: f64,
    /// Predicted by the fit of its kind, µs.
    pub fitted_us: f64,
    /// Predicted by the fit of the other rows of its kind (held out), µs; `None` with a
    /// single row.
    pub loo_us: Option<f64>,
}

/// A fitted latency model with its figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Calibration {
    /// By layer kind (and `Network` for whole networks).
    pub kinds: BTreeMap<String, KindFit>,
    /// Every row, in file order, with its fitted and held-out predictions.
    pub rows: Vec<RowFit>,
    /// R² over every row.
    pub r2: Option<f64>,
    /// Mean relative error over every row.
    pub mean_relative_error: f64,
    /// Mean leave-one-out relative error over the rows whose kind has two or more.
    pub loo_relative_error: Option<f64>,
}

impl Calibration {
    /// The coefficients by layer kind, as a device profile's `latency` (whole-network
    /// rows excluded).
    pub fn latency(&self) -> BTreeMap<String, LayerLatency> {
        self.kinds
            .iter()
            .filter(|(k, _)| k.as_str() != NETWORK_KIND)
            .map(|(k, f)| (k.clone(), f.coefficients))
            .collect()
    }

    /// The fit of the whole-network rows, if there were any.
    pub fn network(&self) -> Option<&KindFit> {
        self.kinds.get(NETWORK_KIND)
    }
}

/// Features of a row: 1 (the overhead, in ns), MACs, bytes.
fn features(m: &Measurement) -> [f64; 3] {
    [
        1.0,
        m.macs as f64,
        m.in_bytes.saturating_add(m.out_bytes) as f64,
    ]
}

/// Non-negative least squares of `y ≈ x · c` by an active set on `linfa-linear`
/// (see the module doc).
fn nnls(x: &Array2<f64>, y: &Array1<f64>) -> Result<Vec<f64>, String> {
    let p = x.ncols();
    let scale: Vec<f64> = (0..p)
        .map(|j| x.column(j).iter().fold(0.0f64, |a, v| a.max(v.abs())))
        .collect();
    let mut free: Vec<usize> = (0..p).filter(|&j| scale[j] > 0.0).collect();
    loop {
        let mut coef = vec![0.0; p];
        if free.is_empty() {
            return Ok(coef);
        }
        let xs = Array2::from_shape_fn((x.nrows(), free.len()), |(i, k)| {
            x[[i, free[k]]] / scale[free[k]]
        });
        let fit = LinearRegression::new()
            .with_intercept(false)
            .fit(&Dataset::new(xs, y.clone()))
            .map_err(|e| e.to_string())?;
        for (k, &j) in free.iter().enumerate() {
            coef[j] = fit.params()[k] / scale[j];
        }
        match free
            .iter()
            .copied()
            .filter(|&j| coef[j] < 0.0)
            .min_by(|&a, &b| (coef[a] * scale[a]).total_cmp(&(coef[b] * scale[b])))
        {
            None => return Ok(coef),
            Some(j) => free.retain(|&f| f != j),
        }
    }
}

/// What the least squares of a fit minimise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum FitLoss {
    /// Σ (predicted − measured)².
    #[default]
    Absolute,
    /// Σ ((predicted − measured) / measured)².
    Relative,
}

/// Coefficients fitted to `rows` (with [`FitLoss::Relative`], row i of `features · c ≈
/// latency` is divided by its latency, > 0 as checked on reading).
fn fit_rows(rows: &[&Measurement], loss: FitLoss) -> Result<LayerLatency, String> {
    let weight = |m: &Measurement| match loss {
        FitLoss::Absolute => 1.0,
        FitLoss::Relative => 1.0 / (m.latency_us * 1e3),
    };
    let x = Array2::from_shape_fn((rows.len(), 3), |(i, j)| {
        features(rows[i])[j] * weight(rows[i])
    });
    let y: Array1<f64> = rows
        .iter()
        .map(|m| m.latency_us * 1e3 * weight(m))
        .collect();
    let c = nnls(&x, &y)?;
    Ok(LayerLatency {
        overhead_us: c[0] / 1e3,
        ns_per_mac: c[1],
        ns_per_byte: c[2],
    })
}

/// Predicted latency of `m` under `c`, µs (unrounded).
pub fn predict_us(c: &LayerLatency, m: &Measurement) -> f64 {
    c.overhead_us
        + (c.ns_per_mac * m.macs as f64
            + c.ns_per_byte * m.in_bytes.saturating_add(m.out_bytes) as f64)
            / 1e3
}

fn r2(pairs: &[(f64, f64)]) -> Option<f64> {
    let n = pairs.len() as f64;
    let mean = pairs.iter().map(|p| p.1).sum::<f64>() / n;
    let tot: f64 = pairs.iter().map(|p| (p.1 - mean).powi(2)).sum();
    let res: f64 = pairs.iter().map(|p| (p.1 - p.0).powi(2)).sum();
    (tot > 0.0).then(|| 1.0 - res / tot)
}

fn mean_rel(pairs: &[(f64, f64)]) -> f64 {
    pairs.iter().map(|(p, m)| (p - m).abs() / m).sum::<f64>() / pairs.len().max(1) as f64
}

/// Fits every kind of `rows` and measures the fit (see the module doc).
pub fn fit(rows: &[Measurement], loss: FitLoss) -> Result<Calibration, CalibrateError> {
    let mut by_kind: BTreeMap<&str, Vec<&Measurement>> = BTreeMap::new();
    for m in rows {
        by_kind.entry(m.kind.as_str()).or_default().push(m);
    }
    let (mut all, mut all_loo) = (Vec::new(), Vec::new());
    let mut kinds = BTreeMap::new();
    let mut fitted_rows = Vec::with_capacity(rows.len());
    for (kind, rs) in by_kind {
        let solve = |rows: &[&Measurement]| {
            fit_rows(rows, loss).map_err(|message| CalibrateError::Solve {
                kind: kind.to_string(),
                message,
            })
        };
        let c = solve(&rs)?;
        let pairs: Vec<(f64, f64)> = rs
            .iter()
            .map(|m| (predict_us(&c, m), m.latency_us))
            .collect();
        let mut loo = Vec::new();
        if rs.len() > 1 {
            for i in 0..rs.len() {
                let others: Vec<&Measurement> = rs
                    .iter()
                    .enumerate()
                    .filter(|&(k, _)| k != i)
                    .map(|(_, m)| *m)
                    .collect();
                let ci = solve(&others)?;
                loo.push((predict_us(&ci, rs[i]), rs[i].latency_us));
            }
        }
        all.extend_from_slice(&pairs);
        all_loo.extend_from_slice(&loo);
        for (i, m) in rs.iter().enumerate() {
            fitted_rows.push(RowFit {
                line: m.line,
                kind: m.kind.clone(),
                macs: m.macs,
                bytes: m.in_bytes.saturating_add(m.out_bytes),
                latency_us: m.latency_us,
                fitted_us: pairs[i].0,
                loo_us: loo.get(i).map(|p| p.0),
            });
        }
        kinds.insert(
            kind.to_string(),
            KindFit {
                coefficients: c,
                rows: rs.len(),
                r2: r2(&pairs),
                mean_relative_error: mean_rel(&pairs),
                loo_relative_error: (!loo.is_empty()).then(|| mean_rel(&loo)),
            },
        );
    }
    fitted_rows.sort_by_key(|r| r.line);
    Ok(Calibration {
        kinds,
        rows: fitted_rows,
        r2: r2(&all),
        mean_relative_error: mean_rel(&all),
        loo_relative_error: (!all_loo.is_empty()).then(|| mean_rel(&all_loo)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn row(kind: &str, macs: u64, bytes: u64, us: f64) -> Measurement {
        Measurement {
            kind: kind.into(),
            macs,
            in_bytes: bytes,
            out_bytes: 0,
            latency_us: us,
            line: 0,
        }
    }

    /// Exact data from known coefficients are recovered exactly (to rounding).
    #[test]
    fn exact_rows_give_their_coefficients() {
        let truth = LayerLatency {
            overhead_us: 40.0,
            ns_per_mac: 62.5,
            ns_per_byte: 3.0,
        };
        let rows: Vec<Measurement> = [(1000, 500), (20_000, 800), (5_000, 4_000), (80_000, 100)]
            .iter()
            .map(|&(macs, b)| {
                let mut m = row("Conv2d", macs, b, 0.0);
                m.latency_us = predict_us(&truth, &m);
                m
            })
            .collect();
        let c = fit(&rows, FitLoss::Absolute).unwrap();
        let k = &c.kinds["Conv2d"];
        assert!((k.coefficients.overhead_us - 40.0).abs() < 1e-6, "{k:?}");
        assert!((k.coefficients.ns_per_mac - 62.5).abs() < 1e-9, "{k:?}");
        assert!((k.coefficients.ns_per_byte - 3.0).abs() < 1e-8, "{k:?}");
        assert!((k.r2.unwrap() - 1.0).abs() < 1e-12);
        assert!(k.loo_relative_error.unwrap() < 1e-9);
    }

    /// Three rows (MACs, bytes, µs) = (0, 0, 10), (100000, 1000, 19), (200000, 0, 30):
    /// the unconstrained fit goes through all three with ns_per_byte = −1 (10 µs,
    /// 0.1 ns/MAC, −1 ns/byte). The active set fixes the byte term at 0 and refits a
    /// line in MACs, by hand below.
    #[test]
    fn a_negative_coefficient_is_fixed_at_zero() {
        let rows = vec![
            row("Dense", 0, 0, 10.0),
            row("Dense", 100_000, 1000, 19.0),
            row("Dense", 200_000, 0, 30.0),
        ];
        let c = fit(&rows, FitLoss::Absolute).unwrap().kinds["Dense"].coefficients;
        assert_eq!(c.ns_per_byte, 0.0, "{c:?}");
        // least squares of y = a + b·x on (0, 10), (1e5, 19), (2e5, 30) in µs: the
        // mean x is 1e5, mean y 59/3; b = Σ(x−x̄)(y−ȳ)/Σ(x−x̄)² = (−1e5·(−29/3) +
        // 1e5·(31/3)) / 2e10 = 1e-4 µs/MAC = 0.1 ns/MAC; a = 59/3 − 10 = 29/3 µs.
        assert!((c.ns_per_mac - 0.1).abs() < 1e-9, "{c:?}");
        assert!((c.overhead_us - 29.0 / 3.0).abs() < 1e-6, "{c:?}");
    }

    /// Synthetic measurements of known coefficients with timer noise, uniform in
    /// ±5 µs (standard deviation 2.9 µs): 40 rows per kind, MACs in 1k..200k and
    /// bytes in 200..40k. The least-squares standard errors are then about 1 µs on
    /// the overhead, 0.05 ns on ns_per_byte and 0.001 ns on ns_per_mac; each
    /// coefficient must come back within five of them, and the leave-one-out
    /// error stay near the fit's own.
    #[test]
    fn noisy_rows_recover_their_coefficients_within_the_noise() {
        let truth = [
            ("Conv2d", 35.0, 62.5, 2.0),
            ("DepthwiseConv2d", 20.0, 90.0, 4.0),
            ("Dense", 10.0, 60.0, 1.0),
        ];
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let mut rows = Vec::new();
        for (kind, o, m, b) in truth {
            let t = LayerLatency {
                overhead_us: o,
                ns_per_mac: m,
                ns_per_byte: b,
            };
            for _ in 0..40 {
                let mut r = Measurement {
                    kind: kind.into(),
                    macs: rng.random_range(1_000..200_000),
                    in_bytes: rng.random_range(100..20_000),
                    out_bytes: rng.random_range(100..20_000),
                    latency_us: 0.0,
                    line: 0,
                };
                r.latency_us = predict_us(&t, &r) + rng.random_range(-5.0..5.0);
                rows.push(r);
            }
        }
        let c = fit(&rows, FitLoss::Absolute).unwrap();
        for (kind, o, m, b) in truth {
            let k = &c.kinds[kind];
            let f = &k.coefficients;
            assert!((f.overhead_us - o).abs() < 5.0, "{kind}: {f:?}");
            assert!((f.ns_per_byte - b).abs() < 0.25, "{kind}: {f:?}");
            assert!((f.ns_per_mac - m).abs() < 0.005 * m, "{kind}: {f:?}");
            assert!(k.loo_relative_error.unwrap() < 1.5 * k.mean_relative_error + 1e-3);
        }
        assert!(c.r2.unwrap() > 0.9999, "{:?}", c.r2);
    }

    /// Rows (MACs, µs) = (0, 10), (10⁵, 20), (2·10⁵, 40), no bytes. Absolute least
    /// squares: b = Σ(x−x̄)(y−ȳ)/Σ(x−x̄)² = 3·10⁶ / 2·10¹⁰ µs = 0.15 ns/MAC, a = ȳ − b·x̄ =
    /// 70/3 − 15 = 25/3 µs. Relative: minimise Σ((a + b·x)/y − 1)², with u = 1/y and
    /// v = x/y the normal equations [Σu² Σuv; Σuv Σv²]·[a; b] = [Σu; Σv] read
    /// [21/1600 375; 375 5·10⁷]·[a; b] = [7/40; 10⁴], so a = 320/33 µs and
    /// b = 7/55000 µs = 0.127 ns/MAC: the small row pulls the line towards itself.
    #[test]
    fn the_relative_loss_weighs_rows_by_their_latency() {
        let rows = vec![
            row("Network", 0, 0, 10.0),
            row("Network", 100_000, 0, 20.0),
            row("Network", 200_000, 0, 40.0),
        ];
        let abs = fit(&rows, FitLoss::Absolute).unwrap();
        let c = abs.kinds["Network"].coefficients;
        assert!((c.overhead_us - 25.0 / 3.0).abs() < 1e-9, "{c:?}");
        assert!((c.ns_per_mac - 0.15).abs() < 1e-12, "{c:?}");
        let rel = fit(&rows, FitLoss::Relative).unwrap();
        let c = rel.kinds["Network"].coefficients;
        assert!((c.overhead_us - 320.0 / 33.0).abs() < 1e-9, "{c:?}");
        assert!((c.ns_per_mac - 7.0e3 / 55_000.0).abs() < 1e-12, "{c:?}");
        // whole networks are not a layer kind of the profile's latency map
        assert!(rel.latency().is_empty());
        assert_eq!(rel.network().unwrap().rows, 3);
        // every row is reported in file order with its held-out prediction: row 2 by
        // the line through rows 1 and 3 (10 + 1.5·10⁻⁴·10⁵ = 25 µs)
        assert_eq!(rel.rows.len(), 3);
        assert!((rel.rows[1].loo_us.unwrap() - 25.0).abs() < 1e-9);
    }

    #[test]
    fn malformed_files_get_located_errors() {
        let e = |t: &str| parse_csv(t, "m.csv").unwrap_err().to_string();
        assert_eq!(
            e("kind,macs\n"),
            "m.csv:1:1: expected the header `kind,macs,in_bytes,out_bytes,latency_us`"
        );
        assert_eq!(
            e(&format!("{HEADER}\nConv2d,10,20,30,5\nConv3d,1,2,3,4\n")),
            format!(
                "m.csv:3:1: unknown layer kind \"Conv3d\" (expected one of {}, or Network for a whole network)",
                LAYER_KINDS.join(", ")
            )
        );
        assert_eq!(
            e(&format!("{HEADER}\nDense,10,2x,30,5\n")),
            "m.csv:2:10: in_bytes: expected a whole number ≥ 0, found \"2x\""
        );
        assert_eq!(
            e(&format!("{HEADER}\nDense,10,20,30,-5\n")),
            "m.csv:2:16: latency_us: expected a number > 0, found \"-5\""
        );
        assert_eq!(e(&format!("{HEADER}\n")), format!("m.csv: no measurements (expected the header `{HEADER}` and one row per measured layer)"));
        let ok = parse_csv(
            &format!("# measured on a board\n{HEADER}\n\nReLU,0,40,40,3.5\n"),
            "m.csv",
        )
        .unwrap();
        assert_eq!(ok[0].line, 4);
        assert_eq!((ok[0].in_bytes, ok[0].latency_us), (40, 3.5));
    }
}
