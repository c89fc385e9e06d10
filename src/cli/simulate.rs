//! `distrinas simulate`: what-if replay of one candidate, compared with the figures
//! the search measured for it (`docs/quickstart.md`, `docs/cli.md`).

use anyhow::{bail, Context};
use clap::Args;
use distrinas::evaluate::whatif::{compare, replay, ComparisonRow, SearchRecord};
use distrinas::network::Network;
use distrinas::partition::Candidate;
use distrinas::report::RunResults;
use distrinas::scenario::{Event, Scenario};
use distrinas::sim::{
    overrides::apply_set, trace_csv, ServiceTime, SimConfig, SimWorkload, WhatIf,
};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Scenario file (RON).
    pub scenario: PathBuf,
    /// Candidate file (`Candidate(arch: ..., cuts: [...], map: [...])`), or a run
    /// folder (its knee candidate).
    #[arg(long)]
    pub candidate: PathBuf,
    /// Number of requests (default: the scenario's `workload.requests`).
    #[arg(long)]
    pub requests: Option<usize>,
    /// Arrival process in RON, replacing the scenario's `workload.arrivals`, e.g.
    /// `'Periodic(period_ms: 25.0)'` or `'Poisson(rate_hz: 40.0)'`.
    #[arg(long, value_name = "RON")]
    pub arrivals: Option<String>,
    /// Simulation seed (default: the search's, from `<id>.search.json`; else the
    /// scenario's `seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Print one JSON object (the SimReport plus `comparison`) on stdout.
    #[arg(long)]
    pub json: bool,
    /// Write a CSV of every request event to this file.
    #[arg(long)]
    pub trace: Option<PathBuf>,
    /// Override a parameter: `devices.<id>.<field>=<v>` or `links.<a>-<b>.<field>=<v>`.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub set: Vec<String>,
    /// Extra what-if event in RON, e.g. `'DeviceDown(device: "hub", at_ms: 500.0)'`.
    #[arg(long = "event", value_name = "RON")]
    pub events: Vec<String>,
    /// Exponential service times (mean = the computed time) instead of fixed ones.
    #[arg(long)]
    pub exponential_service: bool,
}

/// The candidate file of `--candidate`: the file itself, or the knee candidate of a
/// run folder.
fn candidate_file(path: &Path) -> anyhow::Result<PathBuf> {
    if !path.is_dir() {
        return Ok(path.to_path_buf());
    }
    let front = path.join("front.json");
    let text = std::fs::read_to_string(&front)
        .with_context(|| format!("{} is a folder without front.json", path.display()))?;
    let run: RunResults = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}:{}:{}: {e}", front.display(), e.line(), e.column()))?;
    let Some(k) = run.knee() else {
        bail!("{}: the front is empty", front.display());
    };
    Ok(path.join(&run.front[k].candidate_file))
}

fn fmt(v: Option<f64>, unit: &str) -> String {
    match v {
        None => "-".into(),
        Some(x) if unit == "requests" || unit == "hops" => format!("{x:.0}"),
        Some(x) if unit == "B" || unit == "h" => format!("{x:.1}"),
        Some(x) => format!("{x:.4}"),
    }
}

fn print_comparison(rows: &[ComparisonRow]) {
    println!(
        "\n{:<27} {:>14} {:>14} {:>14} {:>9}",
        "metric", "at search", "now", "change", "change %"
    );
    for r in rows {
        let name = format!("{} ({})", r.metric, r.unit);
        let change = match r.change {
            None => "-".into(),
            Some(c) => {
                let s = fmt(Some(c), r.unit);
                if c > 0.0 {
                    format!("+{s}")
                } else {
                    s
                }
            }
        };
        let pct = match r.change_pct {
            None => "-".into(),
            Some(p) => format!("{p:+.1}%"),
        };
        println!(
            "{:<27} {:>14} {:>14} {:>14} {:>9}",
            name,
            fmt(r.at_search, r.unit),
            fmt(r.now, r.unit),
            change,
            pct
        );
    }
}

pub fn run(args: SimulateArgs) -> anyhow::Result<ExitCode> {
    let loaded = Scenario::load(&args.scenario)?;
    let sc = &loaded.scenario;
    let mut network = Network::from_scenario(&loaded);
    for s in &args.set {
        apply_set(&mut network, s)?;
    }
    let cand_path = candidate_file(&args.candidate)?;
    let text = std::fs::read_to_string(&cand_path)
        .with_context(|| format!("cannot read {}", cand_path.display()))?;
    let candidate: Candidate = distrinas::ronfmt::options().from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "{}:{}:{}: {}",
            cand_path.display(),
            e.span.start.line,
            e.span.start.col,
            e.code
        )
    })?;
    let record = SearchRecord::read_for(&cand_path)?;
    if let Some(r) = &record {
        if r.scenario != sc.name {
            eprintln!(
                "note: {} was found by a search of scenario `{}`, replayed on `{}`",
                cand_path.display(),
                r.scenario,
                sc.name
            );
        }
    }
    let (Some(source), Some(sink)) = (
        network.device_index(&sc.source),
        network.device_index(&sc.sink),
    ) else {
        bail!("source or sink is not a device of the scenario");
    };
    let mut scenario_workload = sc.workload.clone();
    if let Some(a) = &args.arrivals {
        scenario_workload.arrivals = distrinas::ronfmt::options().from_str(a).map_err(|err| {
            anyhow::anyhow!(
                "--arrivals: {}:{}: {} (expected Periodic(period_ms: ...), Poisson(rate_hz: ...) or Trace(file: \"...\"))",
                err.span.start.line,
                err.span.start.col,
                err.code
            )
        })?;
    }
    let mut workload = SimWorkload::from_scenario(&scenario_workload, &loaded.base_dir)?;
    if let Some(n) = args.requests {
        workload.requests = n;
    }
    let mut events: Vec<Event> = sc.events.clone();
    for (i, e) in args.events.iter().enumerate() {
        let ev: Event = distrinas::ronfmt::options().from_str(e).map_err(|err| {
            anyhow::anyhow!(
                "--event #{}: {}:{}: {}",
                i + 1,
                err.span.start.line,
                err.span.start.col,
                err.code
            )
        })?;
        events.push(ev);
    }
    let whatifs = WhatIf::from_scenario(&events, &network)?;
    let config = SimConfig {
        seed: args
            .seed
            .or(record.as_ref().map(|r| r.sim_seed))
            .unwrap_or(sc.seed),
        max_latency_ms: sc.app.max_latency_ms,
        service: if args.exponential_service {
            ServiceTime::Exponential
        } else {
            ServiceTime::Fixed
        },
        trace: args.trace.is_some(),
    };
    let out = replay(
        &candidate, &network, sc.dtype, source, sink, &workload, &whatifs, &config,
    )
    .with_context(|| format!("candidate {}", cand_path.display()))?;
    let report = &out.report;
    if let Some(path) = &args.trace {
        distrinas::atomic::write_atomic(path, trace_csv(&out.trace, &network).as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let rows = record.as_ref().map(|r| compare(&r.figures, &out.figures));
    if args.json {
        let mut v = serde_json::to_value(report)?;
        let comparison = match (&record, &rows) {
            (Some(r), Some(rows)) => serde_json::json!({
                "candidate": r.id,
                "scenario": r.scenario,
                "sim_seed": r.sim_seed,
                "at_search": r.figures,
                "now": out.figures,
                "rows": rows,
            }),
            _ => serde_json::Value::Null,
        };
        v["comparison"] = comparison;
        println!("{v}");
        return Ok(ExitCode::SUCCESS);
    }
    let l = &report.latency_ms;
    println!(
        "scenario {}  candidate {}  seed {}",
        sc.name,
        cand_path.display(),
        config.seed
    );
    println!(
        "requests {}  completed {}  dropped {}  deadline misses {}  throughput {:.3}/s  horizon {:.3} s",
        report.requests, report.completed, report.dropped, report.deadline_misses,
        report.throughput_per_s, report.horizon_s
    );
    println!(
        "latency ms  mean {:.3}  p50 {:.3}  p95 {:.3}  p99 {:.3}  max {:.3}",
        l.mean, l.p50, l.p95, l.p99, l.max
    );
    match report.energy_mj_per_inference {
        Some(e) => println!(
            "energy {:.3} mJ total, {:.4} mJ per inference",
            report.energy_mj, e
        ),
        None => println!(
            "energy {:.3} mJ total (no inference completed)",
            report.energy_mj
        ),
    }
    if let (Some(t), Some(d)) = (report.network_lifetime_s, &report.first_to_die) {
        println!("network lifetime {:.1} h (first to die: {d})", t / 3600.0);
    }
    println!(
        "\n{:<12} {:>6} {:>12} {:>12} {:>10}",
        "device", "busy", "energy mJ", "lifetime h", "max queue"
    );
    for (id, d) in &report.devices {
        let life = d
            .lifetime_s
            .map(|s| format!("{:.1}", s / 3600.0))
            .unwrap_or_else(|| "mains".into());
        println!(
            "{:<12} {:>5.1}% {:>12.3} {:>12} {:>10}",
            id,
            d.busy_fraction * 100.0,
            d.energy_mj,
            life,
            d.max_queue
        );
    }
    println!(
        "\n{:<20} {:>12} {:>8} {:>8} {:>10}",
        "link", "bytes", "util", "retx", "max queue"
    );
    for (id, k) in &report.links {
        println!(
            "{:<20} {:>12} {:>7.1}% {:>8} {:>10}",
            id,
            k.bytes,
            k.utilisation * 100.0,
            k.retransmissions,
            k.max_queue
        );
    }
    println!("\nevents processed {}", report.events_processed);
    match &rows {
        Some(rows) => print_comparison(rows),
        None => println!(
            "\nno search-time figures ({} not found): nothing to compare with",
            SearchRecord::path_for(&cand_path).display()
        ),
    }
    Ok(ExitCode::SUCCESS)
}
