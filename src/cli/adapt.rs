//! `distrinas adapt`: a run's front deployed with a switching policy, simulated until
//! the first battery dies, side by side with every static member
//! (`docs/adaptation.md`).

use super::{read_json, read_ron};
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

pub(crate) fn read_candidate(path: &Path) -> anyhow::Result<Candidate> {
    read_ron(path, "")
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

/// A policy file resolved: its members (candidate files relative to the policy's
/// folder, or ids of `run`'s front; accuracies from the file, else from the front
/// of the run the candidate file belongs to), the policy and its rules as text.
pub(crate) fn load_policy(
    path: &Path,
    network: &Network,
    run: Option<(&Path, &RunResults)>,
    build: &dyn Fn(&str, &Candidate, f64) -> anyhow::Result<DeployMember>,
) -> anyhow::Result<(Vec<DeployMember>, SwitchPolicy, Vec<String>)> {
    let spec: PolicySpec = read_ron(path, " (expected a policy, see docs/adaptation.md)")?;
    let policy = spec
        .resolve(network)
        .with_context(|| format!("{}", path.display()))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let members = spec
        .members
        .iter()
        .map(|m| {
            let in_run = run.and_then(|(d, r)| {
                r.front
                    .iter()
                    .find(|f| f.id == m.candidate)
                    .map(|f| d.join(&f.candidate_file))
            });
            let file = in_run.unwrap_or_else(|| dir.join(&m.candidate));
            let accuracy = match m.accuracy {
                Some(a) => a,
                None => front_accuracy(&file, run.map(|r| r.1)).with_context(|| {
                    format!(
                        "{}: member `{}` has no accuracy: give `accuracy:` or a candidate of a run folder",
                        path.display(),
                        m.name
                    )
                })?,
            };
            build(&m.name, &read_candidate(&file)?, accuracy)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let rules = spec
        .rules
        .iter()
        .map(|r| {
            let when = ron::ser::to_string(&r.when).unwrap_or_else(|_| format!("{:?}", r.when));
            format!("{when} → {}", r.use_)
        })
        .collect();
    Ok((members, policy, rules))
}

/// The test accuracy of candidate `file` (`RUN/candidates/<id>.ron`) from its run's
/// front (`RUN/front.json`, or `run` when given).
fn front_accuracy(file: &Path, run: Option<&RunResults>) -> Option<f64> {
    let id = file.file_stem()?.to_str()?;
    let from_file;
    let run = match run.filter(|r| r.front.iter().any(|f| f.id == id)) {
        Some(r) => r,
        None => {
            let front = file.parent()?.parent()?.join("front.json");
            from_file = read_json::<RunResults>(&front).ok()?;
            &from_file
        }
    };
    run.front.iter().find(|f| f.id == id)?.test_accuracy
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
    let batteries: Vec<Option<f64>> = network.devices().iter().map(|d| d.battery_mj).collect();
    // the policy and its members
    let (members, policy, planned, rules) = match &args.policy {
        Some(p) => {
            let (members, policy, rules) =
                load_policy(p, &network, Some((&args.run, &run)), &build)?;
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
                        "BatteryBelow(device:{:?},percent:{:.3}) → {}",
                        network.devices()[mix.bottleneck].id,
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
                bottleneck: network.devices()[mix.bottleneck].id.clone(),
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
        network.devices().iter().map(|d| d.id.clone()).collect(),
    );
    let out = args.out.clone().unwrap_or_else(|| args.run.join("adapt"));
    let mut written = write_adapt(&out, &result)?;
    written.push(write_policy(
        &out, &args.run, &run, &members, &policy, &network,
    )?);
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
    if let (Some(id), Some(p)) = (
        &g.best_static_as_accurate,
        g.lifetime_pct_vs_best_static_as_accurate,
    ) {
        println!(
            "policy vs the longest-lived static member at least as accurate ({id}): lifetime {p:+.1} %"
        );
    }
}

/// Writes the deployed policy as `policy.ron` into `out`, its candidates named by
/// paths relative to `out` when it is inside the run folder (else absolute), so
/// `simulate --policy` and `adapt --policy` replay it and it can be edited.
fn write_policy(
    out: &Path,
    run_dir: &Path,
    run: &RunResults,
    members: &[DeployMember],
    policy: &SwitchPolicy,
    network: &Network,
) -> anyhow::Result<PathBuf> {
    let named: Vec<(String, String, f64)> = members
        .iter()
        .map(|m| {
            let file = run
                .front
                .iter()
                .find(|f| f.id == m.label)
                .map(|f| f.candidate_file.clone())
                .unwrap_or_else(|| format!("candidates/{}.ron", m.label));
            let path = if out == run_dir.join("adapt") {
                format!("../{file}")
            } else {
                let p = run_dir.join(&file);
                std::fs::canonicalize(&p).unwrap_or(p).display().to_string()
            };
            (m.label.clone(), path, m.accuracy)
        })
        .collect();
    let spec = policy.to_spec(network, &named);
    let text = ron::ser::to_string_pretty(&spec, ron::ser::PrettyConfig::default())?;
    let path = out.join("policy.ron");
    distrinas::atomic::write_atomic(
        &path,
        format!("// written by `distrinas adapt`; edit and replay with --policy\n{text}\n")
            .as_bytes(),
    )
    .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}
