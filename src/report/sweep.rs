//! Outputs of a what-if sweep: `sweep.json`, `sweep.csv` and `sweep.svg` (latency p95,
//! completed fraction and energy per inference against the swept parameter, one line
//! per candidate, and per value of the second parameter in a 2-D sweep).

use super::plot::{panels_plot, Panel, Series};
use super::{write_file, ReportError};
use crate::evaluate::sweep::{SweepPoint, SweepResult};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The CSV of a sweep: `candidate`, one column per axis (its path), then the figures.
pub fn sweep_csv(result: &SweepResult) -> String {
    let mut s = String::from("candidate");
    for a in &result.axes {
        let _ = write!(s, ",{}", a.path);
    }
    s.push_str(
        ",latency_p95_ms,latency_mean_ms,completed_fraction,energy_mj_per_inference,deadline_misses\n",
    );
    for p in &result.sweep {
        let _ = write!(s, "{}", p.candidate);
        for v in point_values(p) {
            let _ = write!(s, ",{v}");
        }
        let e = p
            .energy_mj_per_inference
            .map(|e| e.to_string())
            .unwrap_or_default();
        let _ = writeln!(
            s,
            ",{},{},{},{e},{}",
            p.latency_p95_ms, p.latency_mean_ms, p.completed_fraction, p.deadline_misses
        );
    }
    s
}

fn point_values(p: &SweepPoint) -> Vec<f64> {
    match (&p.value, &p.values) {
        (Some(v), _) => vec![*v],
        (None, Some(vs)) => vs.clone(),
        (None, None) => vec![],
    }
}

/// Writes `sweep.json`, `sweep.csv` and `sweep.svg` into `dir`; returns the paths.
pub fn write_sweep(dir: &Path, result: &SweepResult) -> Result<Vec<PathBuf>, ReportError> {
    let json = serde_json::to_string_pretty(result).map_err(|e| ReportError::Json {
        path: dir.join("sweep.json"),
        source: e,
    })?;
    let mut written = Vec::new();
    for (name, bytes) in [
        ("sweep.json", (json + "\n").into_bytes()),
        ("sweep.csv", sweep_csv(result).into_bytes()),
    ] {
        let p = dir.join(name);
        write_file(&p, &bytes)?;
        written.push(p);
    }
    let p = dir.join("sweep.svg");
    sweep_plot(&p, result)?;
    written.push(p);
    Ok(written)
}

fn sweep_plot(path: &Path, r: &SweepResult) -> Result<(), ReportError> {
    // one line per candidate (and value of the second axis): x = first axis
    let mut lines: Vec<(String, Vec<&SweepPoint>)> = Vec::new();
    for p in &r.sweep {
        let v = point_values(p);
        let label = match (r.axes.get(1), v.get(1)) {
            (Some(a), Some(y)) => format!("{} {}={}", p.candidate, short(&a.path), y),
            _ => p.candidate.clone(),
        };
        match lines.iter_mut().find(|(l, _)| *l == label) {
            Some((_, pts)) => pts.push(p),
            None => lines.push((label, vec![p])),
        }
    }
    let series = |f: &dyn Fn(&SweepPoint) -> f64| -> Vec<Series> {
        lines
            .iter()
            .map(|(label, pts)| Series {
                label: label.clone(),
                points: pts.iter().map(|p| (point_values(p)[0], f(p))).collect(),
            })
            .collect()
    };
    let x = &r.axes[0].path;
    let x_label = match crate::sim::overrides::unit_of(x) {
        "" => x.clone(),
        unit => format!("{x} ({unit})"),
    };
    let panels = [
        Panel {
            y_desc: "latency p95 (ms)".into(),
            series: series(&|p| p.latency_p95_ms),
            hline: r.max_latency_ms.map(|l| (l, format!("max_latency_ms {l}"))),
            y_names: None,
        },
        Panel {
            y_desc: "completed fraction".into(),
            series: series(&|p| p.completed_fraction),
            hline: None,
            y_names: None,
        },
        Panel {
            y_desc: "energy per inference (mJ)".into(),
            series: series(&|p| p.energy_mj_per_inference.unwrap_or(f64::NAN)),
            hline: None,
            y_names: None,
        },
    ];
    panels_plot(
        path,
        &format!("{}: what-if sweep of {x}", r.scenario),
        &x_label,
        r.log,
        &panels,
    )
}

/// The last two components of a `--set` path (`hub.mac_per_s`).
fn short(path: &str) -> &str {
    let mut dots = path.rmatch_indices('.').map(|(i, _)| i);
    dots.nth(1).map(|i| &path[i + 1..]).unwrap_or(path)
}
