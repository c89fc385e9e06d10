//! Outputs of `distrinas adapt`: `adapt.json`, `adapt.csv` (one row per deployment)
//! and `adapt.svg` (battery level per device and deployed member against time).

use super::plot::{panels_plot, Panel, Series};
use super::{write_file, ReportError};
use crate::evaluate::adapt::{AdaptResult, Outcome};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The CSV of an adapt result: the policy first, then every static member.
pub fn adapt_csv(r: &AdaptResult) -> String {
    let mut s = String::from(
        "deployment,accuracy,lifetime_s,end_s,first_to_die,mean_accuracy,accuracy_weighted_throughput,completed,dropped,deadline_misses,switches,latency_p95_ms",
    );
    for d in &r.devices {
        let _ = write!(s, ",energy_mj_{d}");
    }
    s.push('\n');
    let opt = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
    let mut row = |o: &Outcome| {
        let _ = write!(
            s,
            "{},{},{},{},{},{},{},{},{},{},{},{}",
            o.id,
            opt(o.accuracy),
            opt(o.lifetime_s),
            o.end_s,
            o.first_to_die.as_deref().unwrap_or(""),
            opt(o.mean_accuracy),
            o.accuracy_weighted_throughput,
            o.completed,
            o.dropped,
            o.deadline_misses,
            o.switches,
            o.latency_p95_ms
        );
        for d in &r.devices {
            let _ = write!(s, ",{}", o.energy_mj.get(d).copied().unwrap_or(0.0));
        }
        s.push('\n');
    };
    row(&r.policy.figures);
    for o in &r.statics {
        row(o);
    }
    s
}

/// Writes `adapt.json`, `adapt.csv` and `adapt.svg` into `dir`; returns the paths.
pub fn write_adapt(dir: &Path, r: &AdaptResult) -> Result<Vec<PathBuf>, ReportError> {
    let json = serde_json::to_string_pretty(r).map_err(|e| ReportError::Json {
        path: dir.join("adapt.json"),
        source: e,
    })?;
    let mut written = Vec::new();
    for (name, bytes) in [
        ("adapt.json", (json + "\n").into_bytes()),
        ("adapt.csv", adapt_csv(r).into_bytes()),
    ] {
        let p = dir.join(name);
        write_file(&p, &bytes)?;
        written.push(p);
    }
    let p = dir.join("adapt.svg");
    adapt_plot(&p, r)?;
    written.push(p);
    Ok(written)
}

fn adapt_plot(path: &Path, r: &AdaptResult) -> Result<(), ReportError> {
    let samples = &r.policy.samples;
    let day = |t: f64| t / 86_400.0;
    let battery: Vec<Series> = r
        .devices
        .iter()
        .enumerate()
        .filter(|(i, _)| samples.iter().any(|s| s.battery_pct[*i].is_some()))
        .map(|(i, id)| Series {
            label: id.clone(),
            points: samples
                .iter()
                .map(|s| (day(s.t_s), s.battery_pct[i].unwrap_or(f64::NAN)))
                .collect(),
        })
        .collect();
    let member = Series {
        label: "deployed member".into(),
        points: samples
            .iter()
            .map(|s| (day(s.t_s), s.member as f64))
            .collect(),
    };
    let panels = [
        Panel {
            y_desc: "battery left (%)".into(),
            series: battery,
            hline: None,
            y_names: None,
        },
        Panel {
            y_desc: "member".into(),
            series: vec![member],
            hline: None,
            y_names: Some(r.policy.members.clone()),
        },
    ];
    panels_plot(
        path,
        &format!("{}: adaptive deployment of {}", r.scenario, r.run),
        "time (days)",
        false,
        &panels,
    )
}
