//! `distrinas simulate`: what-if replay of one candidate, compared with the figures
//! the search measured for it (`docs/quickstart.md`, `docs/cli.md`).

use super::adapt::load_policy;
use anyhow::{bail, Context};
use clap::Args;
use distrinas::evaluate::adapt::{run_deployment, DeployMember, Outcome, PolicyOutcome};
use distrinas::evaluate::failures::{single_device_failures, FailureCase};
use distrinas::evaluate::sweep::{sweep, SweepAxis, SweepCandidate, SweepResult, WhatIfBase};
use distrinas::evaluate::whatif::{compare, replay, ComparisonRow, SearchRecord};
use distrinas::network::Network;
use distrinas::partition::Candidate;
use distrinas::report::{placement_svg, significant, write_sweep, Placement};
use distrinas::scenario::{Event, LoadedScenario, Scenario};
use distrinas::sim::overrides::{apply_override, WhatIfTarget};
use distrinas::sim::{trace_csv, ServiceTime, SimConfig, SimWorkload, WhatIf};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Scenario file (RON).
    pub scenario: PathBuf,
    /// Candidate file (`Candidate(arch: ..., cuts: [...], map: [...])`), or a run
    /// folder (its knee candidate). Repeatable with `--sweep`.
    #[arg(long, required_unless_present = "policy")]
    pub candidate: Vec<PathBuf>,
    /// Deploy the members of a switching policy (RON, `docs/adaptation.md`) instead of
    /// one candidate; stops early if a battery dies.
    #[arg(long, conflicts_with_all = ["candidate", "sweep", "trace"])]
    pub policy: Option<PathBuf>,
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
    /// Also replay the candidate once per device of the scenario with that device down
    /// for the whole horizon, and print one row per case (`--json`: `failure_cases`).
    #[arg(long, value_enum, value_name = "CASES", conflicts_with_all = ["policy", "sweep"])]
    pub failures: Option<FailureCases>,
    /// Write the candidate's placement diagram (SVG: partitions on devices, bytes and
    /// utilisation on links, idle devices and unused links grey) to this file.
    #[arg(long, value_name = "FILE.svg", conflicts_with_all = ["policy", "sweep"])]
    pub placement: Option<PathBuf>,
    /// Override a parameter: `devices.<id>.<field>=<v>`, `links.<a>-<b>.<field>=<v>` or
    /// `workload.<field>=<v>`.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub set: Vec<String>,
    /// Replay over a grid of one `--set` path: `PATH=START..END:N` (N values, ends
    /// included). A second `--sweep` makes a 2-D grid.
    #[arg(long = "sweep", value_name = "PATH=START..END:N")]
    pub sweep: Vec<String>,
    /// Space sweep grids geometrically instead of evenly.
    #[arg(long, requires = "sweep")]
    pub log: bool,
    /// Folder of the sweep's sweep.json, sweep.csv and sweep.svg (default
    /// `runs/<scenario>-sweep`).
    #[arg(long, requires = "sweep")]
    pub out: Option<PathBuf>,
    /// Extra what-if event in RON, e.g. `'DeviceDown(device: "hub", at_ms: 500.0)'`.
    #[arg(long = "event", value_name = "RON")]
    pub events: Vec<String>,
    /// Exponential service times (mean = the computed time) instead of fixed ones.
    #[arg(long)]
    pub exponential_service: bool,
}

/// Failure cases of `--failures`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailureCases {
    /// Every single-device failure.
    Single,
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

/// Reads a candidate file with its search record (if any).
fn load_candidate(
    path: &Path,
    network: &Network,
) -> anyhow::Result<(PathBuf, Candidate, Option<SearchRecord>)> {
    let cand_path = super::candidate_file(path)?;
    let candidate: Candidate = super::read_ron(&cand_path, "")?;
    // cuts, map and standby against the scenario's devices, located in the file
    if let Err(e) = candidate.validate(network) {
        let (line, col) = match e.path() {
            Some(p) => {
                let text = std::fs::read_to_string(&cand_path).unwrap_or_default();
                distrinas::scenario::SpanIndex::build(&text).get(&p)
            }
            None => (1, 1),
        };
        bail!("{}:{line}:{col}: {e}", cand_path.display());
    }
    let record = SearchRecord::read_for(&cand_path)?;
    Ok((cand_path, candidate, record))
}

/// The scenario after `--arrivals`, `--set` and `--requests`, with its events and
/// `--event`s, resolved for replays.
fn what_if_base(args: &SimulateArgs, loaded: &LoadedScenario) -> anyhow::Result<WhatIfBase> {
    let sc = &loaded.scenario;
    let mut network = Network::from_scenario(loaded);
    let mut workload = sc.workload.clone();
    if let Some(a) = &args.arrivals {
        workload.arrivals = distrinas::ronfmt::options().from_str(a).map_err(|err| {
            anyhow::anyhow!(
                "--arrivals: {}:{}: {} (expected Periodic(period_ms: ...), Poisson(rate_hz: ...) or Trace(file: \"...\"))",
                err.span.start.line,
                err.span.start.col,
                err.code
            )
        })?;
    }
    let mut target = WhatIfTarget {
        network: &mut network,
        workload: &mut workload,
    };
    for s in &args.set {
        apply_override(&mut target, s)?;
    }
    if let Some(n) = args.requests {
        // the scenario's bounds hold for the flag too
        apply_override(
            &mut WhatIfTarget {
                network: &mut network,
                workload: &mut workload,
            },
            &format!("workload.requests={n}"),
        )
        .map_err(|e| anyhow::anyhow!("--requests {n}: {e}"))?;
    }
    let (Some(source), Some(sink)) = (
        network.device_index(&sc.source),
        network.device_index(&sc.sink),
    ) else {
        bail!("source or sink is not a device of the scenario");
    };
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
    Ok(WhatIfBase {
        network,
        workload,
        base_dir: loaded.base_dir.clone(),
        events,
        dtype: sc.dtype,
        source,
        sink,
        config: SimConfig {
            seed: sc.seed,
            max_latency_ms: sc.app.max_latency_ms,
            service: if args.exponential_service {
                ServiceTime::Exponential
            } else {
                ServiceTime::Fixed
            },
            trace: args.trace.is_some(),
            failover_ns: distrinas::sim::ms_to_ns(sc.failover_detection_ms()),
            no_fast_forward: false,
        },
    })
}

pub fn run(args: SimulateArgs) -> anyhow::Result<ExitCode> {
    let loaded = Scenario::load(&args.scenario)?;
    let base = what_if_base(&args, &loaded)?;
    if !args.sweep.is_empty() {
        return run_sweep(&args, &loaded.scenario, &base);
    }
    if let Some(p) = &args.policy {
        return run_policy(&args, p, &loaded, &base);
    }
    if args.candidate.len() > 1 {
        bail!("several --candidate files are replayed side by side only with --sweep");
    }
    let sc = &loaded.scenario;
    let (cand_path, candidate, record) =
        load_candidate(&args.candidate[0], &Network::from_scenario(&loaded))?;
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
    let WhatIfBase {
        network,
        workload,
        events,
        source,
        sink,
        ..
    } = &base;
    let (source, sink) = (*source, *sink);
    let workload = SimWorkload::from_scenario(workload, &loaded.base_dir)?;
    let whatifs = WhatIf::from_scenario(events, network)?;
    let config = SimConfig {
        seed: sim_seed(&args, &record, sc),
        ..base.config.clone()
    };
    let out = replay(
        &candidate, network, sc.dtype, source, sink, &workload, &whatifs, &config,
    )
    .with_context(|| format!("candidate {}", cand_path.display()))?;
    let report = &out.report;
    if let Some(path) = &args.trace {
        distrinas::atomic::write_atomic(path, trace_csv(&out.trace, network).as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &args.placement {
        let topology = distrinas::evaluate::placement::topology(network, source, sink);
        let title = format!(
            "{} on {}: p95 {} ms · {} mJ per inference",
            cand_path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
            sc.name,
            out.figures
                .latency_p95_ms
                .map(|v| significant(v, 4))
                .unwrap_or_else(|| "–".into()),
            out.figures
                .energy_mj_per_inference
                .map(|v| significant(v, 4))
                .unwrap_or_else(|| "–".into()),
        );
        let svg = placement_svg(&Placement {
            title: &title,
            topology: &topology,
            partitions: &out.partitions,
            links: &out.links,
            devices: &out.devices,
        });
        distrinas::atomic::write_atomic(path, svg.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
        if !args.json {
            eprintln!("wrote {}", path.display());
        }
    }
    let failure_cases = match args.failures {
        Some(FailureCases::Single) => Some(
            single_device_failures(
                &candidate, network, sc.dtype, source, sink, &workload, &whatifs, &config,
            )
            .with_context(|| format!("candidate {}", cand_path.display()))?,
        ),
        None => None,
    };
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
        if let Some(cases) = &failure_cases {
            v["failure_cases"] = serde_json::to_value(&cases[1..])?;
        }
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
    if let Some(cases) = &failure_cases {
        print_failure_cases(cases);
    }
    Ok(ExitCode::SUCCESS)
}

/// The `--failures` table: the nominal replay, then one row per case.
fn print_failure_cases(cases: &[FailureCase]) {
    println!(
        "
failure cases (the device down for the whole horizon; same seed and workload)"
    );
    println!(
        "{:<16} {:>10} {:>12} {:>12}  note",
        "down", "completed", "p95 ms", "mJ/inference"
    );
    for (i, c) in cases.iter().enumerate() {
        let down = if i == 0 {
            "(none)".to_string()
        } else {
            c.down.join("+")
        };
        let opt = |v: Option<f64>, d: usize| v.map_or("–".to_string(), |v| format!("{v:.d$}"));
        let row = format!(
            "{:<16} {:>9.1}% {:>12} {:>12}  {}",
            down,
            100.0 * c.completed_fraction,
            opt(c.latency_p95_ms, 3),
            opt(c.energy_mj_per_inference, 4),
            if c.simulated {
                ""
            } else {
                "not used by the candidate: as nominal"
            }
        );
        println!("{}", row.trim_end());
    }
}

/// The simulation seed of a replay: `--seed`, else the search's, else the scenario's.
fn sim_seed(args: &SimulateArgs, record: &Option<SearchRecord>, sc: &Scenario) -> u64 {
    args.seed
        .or(record.as_ref().map(|r| r.sim_seed))
        .unwrap_or(sc.seed)
}

fn run_sweep(args: &SimulateArgs, sc: &Scenario, base: &WhatIfBase) -> anyhow::Result<ExitCode> {
    if args.sweep.len() > 2 {
        bail!("at most two --sweep parameters (a 2-D grid)");
    }
    if args.trace.is_some() {
        bail!("--trace records one replay; it cannot be combined with --sweep");
    }
    let axes = args
        .sweep
        .iter()
        .map(|s| SweepAxis::parse(s, args.log))
        .collect::<Result<Vec<_>, _>>()?;
    let mut candidates = Vec::new();
    for path in &args.candidate {
        let (_, candidate, record) = load_candidate(path, &base.network)?;
        candidates.push(SweepCandidate {
            label: path.display().to_string(),
            candidate,
            seed: sim_seed(args, &record, sc),
        });
    }
    let replays =
        candidates.len() as u64 * axes.iter().map(|a| a.values.len() as u64).product::<u64>();
    let progress = super::progress::Progress::new("sweep replays", Some(replays));
    let points = sweep(base, &candidates, &axes, &|| progress.inc());
    progress.finish();
    let points = points?;
    let result = SweepResult {
        scenario: sc.name.clone(),
        max_latency_ms: sc.app.max_latency_ms,
        log: args.log,
        axes,
        sweep: points,
    };
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("runs/{}-sweep", sc.name)));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let written = write_sweep(&dir, &result)?;
    if args.json {
        println!("{}", serde_json::to_string(&result)?);
        return Ok(ExitCode::SUCCESS);
    }
    let width = args
        .candidate
        .iter()
        .map(|c| c.display().to_string().len())
        .max()
        .unwrap_or(9)
        .max(9);
    let mut head = format!("{:<width$}", "candidate");
    for a in &result.axes {
        head += &format!(" {:>14}", short_path(&a.path));
    }
    println!(
        "{head} {:>10} {:>10} {:>10} {:>12} {:>8}",
        "p95 ms", "mean ms", "completed", "mJ/inference", "misses"
    );
    for p in &result.sweep {
        let mut row = format!("{:<width$}", p.candidate);
        for v in p.value.iter().chain(p.values.iter().flatten()) {
            row += &format!(" {:>14}", significant(*v, 4));
        }
        let e = p
            .energy_mj_per_inference
            .map(|e| format!("{e:.4}"))
            .unwrap_or_else(|| "-".into());
        println!(
            "{row} {:>10.3} {:>10.3} {:>10.3} {:>12} {:>8}",
            p.latency_p95_ms, p.latency_mean_ms, p.completed_fraction, e, p.deadline_misses
        );
    }
    if let Some(l) = result.max_latency_ms {
        println!("\napp.max_latency_ms {l}");
    }
    for w in written {
        println!("wrote {}", w.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// `links.a-b.bandwidth_bps` → `a-b.bandwidth_bps` (the table's column header).
fn short_path(path: &str) -> &str {
    path.split_once('.').map(|(_, r)| r).unwrap_or(path)
}

/// `simulate --policy`: the scenario's requests served by a switching deployment.
fn run_policy(
    args: &SimulateArgs,
    path: &Path,
    loaded: &LoadedScenario,
    base: &WhatIfBase,
) -> anyhow::Result<ExitCode> {
    let sc = &loaded.scenario;
    let network = &base.network;
    let build = |label: &str, c: &Candidate, acc: f64| -> anyhow::Result<DeployMember> {
        DeployMember::new(label, c, acc, network, sc.dtype, base.source, base.sink)
            .with_context(|| format!("member {label}"))
    };
    let (members, policy, rules) = load_policy(path, network, None, &build)?;
    let workload = SimWorkload::from_scenario(&base.workload, &loaded.base_dir)?;
    let whatifs = WhatIf::from_scenario(&base.events, network)?;
    let config = SimConfig {
        seed: args.seed.unwrap_or(sc.seed),
        ..base.config.clone()
    };
    let (report, dep) = run_deployment(
        &members,
        &policy,
        network,
        &workload,
        &whatifs,
        &config,
        u64::MAX,
        0,
    )?;
    let outcome = PolicyOutcome::new(
        Outcome::new("policy", None, network, &report, &dep),
        &members,
        rules,
        None,
        &dep,
    );
    if args.json {
        let mut v = serde_json::to_value(&report)?;
        v["deployment"] = serde_json::to_value(&outcome)?;
        println!("{v}");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "scenario {}  policy {}  seed {}",
        sc.name,
        path.display(),
        config.seed
    );
    println!(
        "requests {}  completed {}  dropped {}  deadline misses {}  latency p95 {:.3} ms  horizon {:.3} s",
        report.requests,
        report.completed,
        report.dropped,
        report.deadline_misses,
        report.latency_ms.p95,
        report.horizon_s
    );
    println!(
        "switches {} (aborted {})  mean accuracy {}",
        dep.switches,
        dep.aborted_switches,
        dep.mean_accuracy
            .map(|a| format!("{a:.4}"))
            .unwrap_or_else(|| "-".into())
    );
    if let (Some(t), Some(d)) = (dep.lifetime_s, &dep.first_to_die) {
        println!("battery of {d} empty at {:.3} s: the run stopped there", t);
    }
    println!(
        "\n{:<20} {:>10} {:>12}",
        "member", "completed", "deployed s"
    );
    for (i, m) in members.iter().enumerate() {
        println!(
            "{:<20} {:>10} {:>12.3}",
            m.label, dep.completed_per_member[i], dep.deployed_s_per_member[i]
        );
    }
    for s in &dep.switch_log {
        println!(
            "switch {} → {} at {:.3} s, took {:.1} ms{}",
            members[s.from].label,
            members[s.to].label,
            s.start_s,
            (s.end_s - s.start_s) * 1e3,
            if s.aborted { " (aborted)" } else { "" }
        );
    }
    Ok(ExitCode::SUCCESS)
}
