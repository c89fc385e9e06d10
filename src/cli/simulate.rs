//! `distrinas simulate`: what-if replay of one candidate.

use anyhow::{bail, Context};
use clap::Args;
use distrinas::network::Network;
use distrinas::partition::Candidate;
use distrinas::scenario::{Event, Scenario};
use distrinas::sim::{
    overrides::apply_set, simulate_traced, trace_csv, InferencePlan, ServiceTime, SimConfig,
    SimWorkload, WhatIf,
};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Scenario file (RON).
    pub scenario: PathBuf,
    /// Candidate file (`Candidate(arch: ..., cuts: [...], map: [...])`).
    #[arg(long)]
    pub candidate: PathBuf,
    /// Number of requests (default: the scenario's `workload.requests`).
    #[arg(long)]
    pub requests: Option<usize>,
    /// Seed (default: the scenario's `seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Print one JSON object (the SimReport) on stdout.
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

pub fn run(args: SimulateArgs) -> anyhow::Result<ExitCode> {
    let loaded = Scenario::load(&args.scenario)?;
    let sc = &loaded.scenario;
    let mut network = Network::from_scenario(&loaded);
    for s in &args.set {
        apply_set(&mut network, s)?;
    }
    let text = std::fs::read_to_string(&args.candidate)
        .with_context(|| format!("cannot read {}", args.candidate.display()))?;
    let candidate: Candidate = distrinas::ronfmt::options().from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "{}:{}:{}: {}",
            args.candidate.display(),
            e.span.start.line,
            e.span.start.col,
            e.code
        )
    })?;
    let (Some(source), Some(sink)) = (
        network.device_index(&sc.source),
        network.device_index(&sc.sink),
    ) else {
        bail!("source or sink is not a device of the scenario");
    };
    let plan = InferencePlan::from_candidate(&candidate, &network, sc.dtype, source, sink)
        .with_context(|| format!("candidate {}", args.candidate.display()))?;
    let mut workload = SimWorkload::from_scenario(&sc.workload, &loaded.base_dir)?;
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
        seed: args.seed.unwrap_or(sc.seed),
        max_latency_ms: sc.app.max_latency_ms,
        service: if args.exponential_service {
            ServiceTime::Exponential
        } else {
            ServiceTime::Fixed
        },
        trace: args.trace.is_some(),
    };
    let (report, trace) = simulate_traced(&plan, &network, &workload, &whatifs, &config)?;
    if let Some(path) = &args.trace {
        distrinas::atomic::write_atomic(path, trace_csv(&trace, &network).as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if args.json {
        println!("{}", report.to_json());
        return Ok(ExitCode::SUCCESS);
    }
    let l = &report.latency_ms;
    println!(
        "scenario {}  candidate {}  seed {}",
        sc.name,
        args.candidate.display(),
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
    Ok(ExitCode::SUCCESS)
}
