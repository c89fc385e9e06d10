//! `distrinas adapt`: a run's front deployed with a switching policy, simulated until
//! the first battery dies, side by side with every static member
//! (`docs/adaptation.md`).

use anyhow::{bail, Context};
use clap::Args;
use distrinas::evaluate::adapt::{
    best_mix, member_power_mw, run_deployment, AdaptResult, DeployMember, Outcome, PlannedMix,
    PolicyOutcome,
};
use distrinas::evaluate::simulation::sim_seed;
use distrinas::network::Network;
use distrinas::partition::Candidate;
use distrinas::report::{write_adapt, RunInfo, RunResults};
use distrinas::scenario::{LoadedScenario, Scenario};
use distrinas::sim::overrides::{apply_override, WhatIfTarget};
use distrinas::sim::policy::{PolicySpec, SwitchPolicy};
use distrinas::sim::{ServiceTime, SimConfig, SimWorkload, WhatIf};
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Longest default horizon: one year, h.
const DEFAULT_HORIZON_H: f64 = 8760.0;

#[derive(Debug, Args)]
pub struct AdaptArgs {
    /// Run folder of a search (front.json, candidates/).
    pub run: PathBuf,
    /// Scenario file (default: the run's, from run.json; else the embedded quickstart).
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// Switching policy (RON; `docs/adaptation.md`). Default: the best two-member mix
    /// of the front within `--max-accuracy-drop`.
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// Largest mean-accuracy loss the default policy may take below the most accurate
    /// feasible member, percentage points.
    #[arg(long, default_value_t = 2.0)]
    pub max_accuracy_drop: f64,
    /// Stop every deployment at this simulated time, hours (default: when the first
    /// battery dies, at most one year).
    #[arg(long)]
    pub horizon_h: Option<f64>,
    /// Override a parameter like `simulate --set` (e.g. a smaller battery).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub set: Vec<String>,
    /// Print adapt.json on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Output folder (default `RUN/adapt`).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> anyhow::Result<T> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}:{}:{}: {e}", path.display(), e.line(), e.column()))
}

fn read_candidate(path: &Path) -> anyhow::Result<Candidate> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    distrinas::ronfmt::options().from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "{}:{}:{}: {}",
            path.display(),
            e.span.start.line,
            e.span.start.col,
            e.code
        )
    })
}

fn scenario_of(args: &AdaptArgs) -> anyhow::Result<LoadedScenario> {
    if let Some(s) = &args.scenario {
        return Ok(Scenario::load(s)?);
    }
    let info = args.run.join("run.json");
    if info.exists() {
        let info: RunInfo = read_json(&info)?;
        if let Some(f) = info.scenario_file {
            return Scenario::load(Path::new(&f))
                .with_context(|| format!("the run's scenario {f} (give --scenario)"));
        }
    }
    Ok(Scenario::embedded_quickstart())
}

/// Members of a policy file: candidate files relative to the policy's folder, or
/// ids of the run's front; accuracies from the file or the front.
fn policy_members(
    spec: &PolicySpec,
    policy_path: &Path,
    args: &AdaptArgs,
    run: &RunResults,
    build: &dyn Fn(&str, &Candidate, f64) -> anyhow::Result<DeployMember>,
) -> anyhow::Result<Vec<DeployMember>> {
    let dir = policy_path.parent().unwrap_or(Path::new("."));
    spec.members
        .iter()
        .map(|m| {
            let in_front = run.front.iter().find(|f| f.id == m.candidate);
            let file = match in_front {
                Some(f) => args.run.join(&f.candidate_file),
                None => dir.join(&m.candidate),
            };
            let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("");
            let acc = m
                .accuracy
                .or_else(|| {
                    run.front
                        .iter()
                        .find(|f| f.id == stem)
                        .and_then(|f| f.test_accuracy)
                })
                .with_context(|| {
                    format!(
                        "{}: member `{}` has no accuracy (give `accuracy:` or a candidate of {})",
                        policy_path.display(),
                        m.name,
                        args.run.display()
                    )
                })?;
            let cand = read_candidate(&file)?;
            build(&m.name, &cand, acc)
        })
        .collect()
}

pub fn run(args: AdaptArgs) -> anyhow::Result<ExitCode> {
    let run: RunResults = read_json(&args.run.join("front.json"))?;
    let loaded = scenario_of(&args)?;
    let sc = &loaded.scenario;
    let mut network = Network::from_scenario(&loaded);
    let mut workload = sc.workload.clone();
    let mut target = WhatIfTarget {
        network: &mut network,
        workload: &mut workload,
    };
    for s in &args.set {
        apply_override(&mut target, s)?;
    }
    let (Some(source), Some(sink)) = (
        network.device_index(&sc.source),
        network.device_index(&sc.sink),
    ) else {
        bail!("source or sink is not a device of the scenario");
    };
    if !(args.max_accuracy_drop.is_finite() && args.max_accuracy_drop >= 0.0) {
        bail!("--max-accuracy-drop must be ≥ 0 points");
    }
    let horizon_h = args.horizon_h.unwrap_or(DEFAULT_HORIZON_H);
    if !(horizon_h.is_finite() && horizon_h > 0.0 && horizon_h <= 1e6) {
        bail!("--horizon-h must be in (0, 1e6] hours");
    }
    let horizon_ns = (horizon_h * 3.6e12).round() as u64;
    let sim_workload = SimWorkload::from_scenario(&workload, &loaded.base_dir)?;
    let long = SimWorkload {
        requests: usize::MAX,
        ..sim_workload.clone()
    };
    let events = WhatIf::from_scenario(&sc.events, &network)?;
    let config = SimConfig {
        seed: sim_seed(sc.seed),
        max_latency_ms: sc.app.max_latency_ms,
        service: ServiceTime::Fixed,
        ..SimConfig::default()
    };
    let build = |label: &str, c: &Candidate, acc: f64| -> anyhow::Result<DeployMember> {
        DeployMember::new(label, c, acc, &network, sc.dtype, source, sink)
            .with_context(|| format!("member {label}"))
    };
    // the front's feasible members with a test accuracy
    let mut front = Vec::new();
    for f in run.front.iter().filter(|f| f.feasible) {
        let Some(acc) = f.test_accuracy else { continue };
        let c = read_candidate(&args.run.join(&f.candidate_file))?;
        front.push(build(&f.id, &c, acc)?);
    }
    if front.is_empty() {
        bail!(
            "{}: no feasible front member with a test accuracy",
            args.run.display()
        );
    }
    let best = (0..front.len())
        .max_by(|&a, &b| front[a].accuracy.total_cmp(&front[b].accuracy))
        .expect("front is not empty");
    let batteries: Vec<Option<f64>> = network.devices.iter().map(|d| d.battery_mj).collect();
    // the policy and its members
    let (members, policy, planned, rules) = match &args.policy {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read {}", p.display()))?;
            let spec: PolicySpec = distrinas::ronfmt::options().from_str(&text).map_err(|e| {
                anyhow::anyhow!(
                    "{}:{}:{}: {} (expected a policy, see docs/adaptation.md)",
                    p.display(),
                    e.span.start.line,
                    e.span.start.col,
                    e.code
                )
            })?;
            let policy = spec
                .resolve(&network)
                .with_context(|| format!("{}", p.display()))?;
            let members = policy_members(&spec, p, &args, &run, &build)?;
            let rules = spec
                .rules
                .iter()
                .map(|r| format!("{:?} → {}", r.when, r.use_))
                .collect();
            (members, policy, None, rules)
        }
        None => {
            let power = member_power_mw(&front, &network, &sim_workload, &config, 1000)?;
            let acc: Vec<f64> = front.iter().map(|m| m.accuracy).collect();
            // 0.1 point of margin for the switch landing on a request boundary
            let floor = front[best].accuracy - args.max_accuracy_drop / 100.0 + 0.001;
            let Some(mix) = best_mix(&acc, &power, &batteries, floor.min(front[best].accuracy))
            else {
                bail!("no device has a battery: nothing for a battery policy to extend (give --policy)");
            };
            let members = vec![front[mix.first].clone(), front[mix.second].clone()];
            let mut policy = mix.policy();
            // members re-indexed: first → 0, second → 1
            policy.start = 0;
            for r in &mut policy.rules {
                r.1 = 1;
            }
            let rules = policy
                .rules
                .iter()
                .map(|_| {
                    format!(
                        "BatteryBelow(device: {:?}, percent: {:.3}) → {}",
                        network.devices[mix.bottleneck].id,
                        mix.switch_at * 100.0,
                        front[mix.second].label
                    )
                })
                .collect();
            let planned = PlannedMix {
                first: front[mix.first].label.clone(),
                second: front[mix.second].label.clone(),
                share_first: mix.share_first,
                predicted_lifetime_s: mix.lifetime_s,
                predicted_mean_accuracy: mix.accuracy,
                bottleneck: network.devices[mix.bottleneck].id.clone(),
                switch_at_percent: mix.switch_at * 100.0,
                accuracy_floor: floor,
            };
            (members, policy, Some(planned), rules)
        }
    };
    // sample the policy's batteries ~500 times over its predicted (or capped) life
    let expect_s = planned
        .as_ref()
        .map_or(horizon_h * 3600.0, |p| p.predicted_lifetime_s)
        .min(horizon_h * 3600.0);
    let sample_ns = ((expect_s / 500.0) * 1e9).max(1e9) as u64;
    enum Job<'a> {
        Policy,
        Static(&'a DeployMember),
    }
    let jobs: Vec<Job> = std::iter::once(Job::Policy)
        .chain(front.iter().map(Job::Static))
        .collect();
    eprintln!(
        "simulating the policy and {} static members until the first battery dies (≤ {horizon_h} h) ...",
        front.len()
    );
    let results = jobs
        .par_iter()
        .map(|j| match j {
            Job::Policy => run_deployment(
                &members, &policy, &network, &long, &events, &config, horizon_ns, sample_ns,
            ),
            Job::Static(m) => run_deployment(
                std::slice::from_ref(*m),
                &SwitchPolicy::fixed(0),
                &network,
                &long,
                &events,
                &config,
                horizon_ns,
                0,
            ),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let (pr, pd) = &results[0];
    let policy_out = PolicyOutcome::new(
        Outcome::new("policy", None, &network, pr, pd),
        &members,
        rules,
        planned,
        pd,
    );
    let statics: Vec<Outcome> = front
        .iter()
        .zip(&results[1..])
        .map(|(m, (r, d))| Outcome::new(&m.label, Some(m.accuracy), &network, r, d))
        .collect();
    let result = AdaptResult::new(
        &sc.name,
        &args.run.display().to_string(),
        horizon_h * 3600.0,
        args.max_accuracy_drop,
        policy_out,
        statics,
        &front[best].label,
        network.devices.iter().map(|d| d.id.clone()).collect(),
    );
    let out = args.out.clone().unwrap_or_else(|| args.run.join("adapt"));
    let written = write_adapt(&out, &result)?;
    if args.json {
        println!("{}", serde_json::to_string(&result)?);
        return Ok(ExitCode::SUCCESS);
    }
    print_table(&result);
    for p in written {
        println!("wrote {}", p.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn days(o: &Outcome) -> String {
    match o.lifetime_days {
        Some(d) => format!("{d:.2}"),
        None => format!(">{:.2}", o.end_s / 86_400.0),
    }
}

fn print_table(r: &AdaptResult) {
    let p = &r.policy;
    println!("scenario {}  run {}", r.scenario, r.run);
    println!(
        "policy: members {}  rules: {}",
        p.members.join(", "),
        if p.rules.is_empty() {
            "none (static)".to_string()
        } else {
            p.rules.join("; ")
        }
    );
    if let Some(m) = &p.planned {
        println!(
            "planned: {:.1} % of the life on {}, then {} (switch when {} has {:.2} % left); predicted {:.2} days at mean accuracy {:.4}",
            m.share_first * 100.0,
            m.first,
            m.second,
            m.bottleneck,
            m.switch_at_percent,
            m.predicted_lifetime_s / 86_400.0,
            m.predicted_mean_accuracy
        );
    }
    println!(
        "\n{:<19} {:>8} {:>12} {:>9} {:>14} {:>9} {:>8} {:>8}  first to die",
        "deployment",
        "accuracy",
        "lifetime d",
        "mean acc",
        "acc-weighted",
        "misses",
        "dropped",
        "switches"
    );
    let row = |o: &Outcome| {
        println!(
            "{:<19} {:>8} {:>12} {:>9} {:>14.0} {:>9} {:>8} {:>8}  {}",
            o.id,
            o.accuracy.map(|a| format!("{a:.4}")).unwrap_or("-".into()),
            days(o),
            o.mean_accuracy
                .map(|a| format!("{a:.4}"))
                .unwrap_or("-".into()),
            o.accuracy_weighted_throughput,
            o.deadline_misses,
            o.dropped,
            o.switches,
            o.first_to_die.as_deref().unwrap_or("-")
        )
    };
    row(&p.figures);
    for s in &r.statics {
        row(s);
    }
    let g = &r.gain;
    println!(
        "\npolicy vs the most accurate static member ({}): lifetime {:+.1} %, mean accuracy {:+.2} points",
        r.most_accurate, g.lifetime_pct, g.accuracy_points
    );
}
