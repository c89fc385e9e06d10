//! Run-time adaptation among front members (`distrinas adapt`, `docs/adaptation.md`):
//! deployable members built from candidates, the default switching plan, and long
//! deployment simulations.
//!
//! **The default plan** is the best *two-member mix*: over every pair of members
//! (`i` at least as accurate as `j`, `i = j` allowed), run `i` for a share `α` of the
//! deployment, then `j`. With `P[m][d]` the mean power member `m` draws on device `d`
//! (from a short simulation) and `B[d]` the batteries, the deployment lives
//! `L(α) = min_d B[d] / (α P[i][d] + (1 − α) P[j][d])` and its mean accuracy is
//! `α a[i] + (1 − α) a[j]` (periodic requests: the share of time is the share of
//! requests). The planner maximises `L(α)` subject to the accuracy floor; `L` is the
//! minimum of monotone functions of `α`, so its maximum lies at an end of the allowed
//! interval or where two devices' curves cross, and each of those points is tried.
//! The switch happens when the device that dies at `L` has `1 − α L P[i][d] / B[d]`
//! of its battery left: one `BatteryBelow` rule.

use super::simulation::inference_plan;
use super::whatif::WhatIfError;
use crate::network::Network;
use crate::partition::Candidate;
use crate::scenario::DType;
use crate::sim::deployment::{Deployment, DeploymentReport, Sample, SwitchRecord};
use crate::sim::policy::{Cond, SwitchPolicy};
use crate::sim::{InferencePlan, SimConfig, SimError, SimReport, SimWorkload, Time, WhatIf};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;

/// A deployable member: its plan, the flash bytes of each partition (what a switch
/// writes) and its test accuracy.
#[derive(Debug, Clone, PartialEq)]
pub struct DeployMember {
    /// Name (policy member name or front id).
    pub label: String,
    /// The simulator's plan.
    pub plan: InferencePlan,
    /// Flash bytes of each partition, in plan stage order.
    pub weight_bytes: Vec<u64>,
    /// Test accuracy (0–1).
    pub accuracy: f64,
}

impl DeployMember {
    /// Costs `candidate` on `network` and builds its member.
    pub fn new(
        label: &str,
        candidate: &Candidate,
        accuracy: f64,
        network: &Network,
        dtype: DType,
        source: usize,
        sink: usize,
    ) -> Result<Self, WhatIfError> {
        let st = super::whatif::candidate_statics(candidate, network, dtype, source, sink)?;
        let weight_bytes = st.partitions.iter().map(|p| p.flash_bytes).collect();
        Ok(DeployMember {
            label: label.to_string(),
            plan: inference_plan(&st, source, sink),
            weight_bytes,
            accuracy,
        })
    }
}

/// The best two-member mix (see the module documentation).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mix {
    /// Member run first (the more accurate one).
    pub first: usize,
    /// Member run second (equal to `first` for a static deployment).
    pub second: usize,
    /// Share of the lifetime on `first` (1 for a static deployment).
    pub share_first: f64,
    /// Predicted lifetime, s.
    pub lifetime_s: f64,
    /// Predicted mean accuracy.
    pub accuracy: f64,
    /// Device whose battery ends the deployment.
    pub bottleneck: usize,
    /// Remaining fraction of the bottleneck's battery at the switch.
    pub switch_at: f64,
}

/// Lifetime of a mix and the device that bounds it.
fn life(batteries: &[Option<f64>], pi: &[f64], pj: &[f64], a: f64) -> Option<(f64, usize)> {
    let mut best: Option<(f64, usize)> = None;
    for (d, b) in batteries.iter().enumerate() {
        let Some(b) = b else { continue };
        let p = a * pi[d] + (1.0 - a) * pj[d];
        if p <= 0.0 {
            continue;
        }
        let l = b / p;
        if best.is_none_or(|(x, _)| l < x) {
            best = Some((l, d));
        }
    }
    best
}

/// The best two-member mix of members with accuracies `accuracy` and per-device
/// powers `power_mw[m][d]` (mW) on devices with `batteries` (mJ; `None`: mains),
/// keeping the mean accuracy at least `min_accuracy`. `None` when no member reaches
/// the floor or no device has a battery.
pub fn best_mix(
    accuracy: &[f64],
    power_mw: &[Vec<f64>],
    batteries: &[Option<f64>],
    min_accuracy: f64,
) -> Option<Mix> {
    let n = accuracy.len();
    let mut best: Option<Mix> = None;
    for i in 0..n {
        if accuracy[i] < min_accuracy {
            continue;
        }
        for j in 0..n {
            if accuracy[j] > accuracy[i] {
                continue;
            }
            // allowed shares on i: [lo, 1]
            let lo = if accuracy[j] >= min_accuracy {
                0.0
            } else {
                (min_accuracy - accuracy[j]) / (accuracy[i] - accuracy[j])
            };
            let mut alphas = vec![lo, 1.0];
            // crossings of device curves: B_d P_e(α) = B_e P_d(α), P(α) = pj + α (pi − pj)
            let (pi, pj) = (&power_mw[i], &power_mw[j]);
            for d in 0..batteries.len() {
                for e in d + 1..batteries.len() {
                    let (Some(bd), Some(be)) = (batteries[d], batteries[e]) else {
                        continue;
                    };
                    let c0 = bd * pj[e] - be * pj[d];
                    let c1 = bd * (pi[e] - pj[e]) - be * (pi[d] - pj[d]);
                    if c1 != 0.0 {
                        let a = -c0 / c1;
                        if a > lo && a < 1.0 {
                            alphas.push(a);
                        }
                    }
                }
            }
            for a in alphas {
                let share = if i == j { 1.0 } else { a };
                let Some((l, d)) = life(batteries, pi, pj, share) else {
                    continue;
                };
                let better = best.as_ref().is_none_or(|b| {
                    l > b.lifetime_s * (1.0 + 1e-12)
                        || (l >= b.lifetime_s * (1.0 - 1e-12) && share > b.share_first)
                });
                if better {
                    let b = batteries[d].expect("bottleneck has a battery");
                    best = Some(Mix {
                        first: i,
                        second: j,
                        share_first: share,
                        lifetime_s: l,
                        accuracy: share * accuracy[i] + (1.0 - share) * accuracy[j],
                        bottleneck: d,
                        switch_at: 1.0 - share * l * pi[d] / b,
                    });
                }
            }
        }
    }
    best
}

impl Mix {
    /// The policy of the mix over members in the same indexing: start with `first`;
    /// `BatteryBelow(bottleneck, switch_at)` → `second`.
    pub fn policy(&self) -> SwitchPolicy {
        let mut p = SwitchPolicy::fixed(self.first);
        if self.second != self.first && self.share_first < 1.0 {
            p.rules.push((
                Cond::BatteryBelow(self.bottleneck, self.switch_at),
                self.second,
            ));
        }
        p
    }
}

/// Mean power each member draws on each device, mW: a short simulation of
/// `requests` requests of `workload` (energy over the simulated span).
pub fn member_power_mw(
    members: &[DeployMember],
    network: &Network,
    workload: &SimWorkload,
    config: &SimConfig,
    requests: usize,
) -> Result<Vec<Vec<f64>>, SimError> {
    let w = SimWorkload {
        requests,
        ..workload.clone()
    };
    members
        .par_iter()
        .map(|m| {
            let r = crate::sim::simulate(&m.plan, network, &w, &[], config)?;
            Ok(network
                .devices()
                .iter()
                .map(|d| {
                    let e = r.devices.get(&d.id).map_or(0.0, |x| x.energy_mj);
                    if r.horizon_s > 0.0 {
                        e / r.horizon_s
                    } else {
                        0.0
                    }
                })
                .collect())
        })
        .collect()
}

/// The figures of one deployment, static or adaptive.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    /// Front id of a static member; `policy` for the adaptive deployment.
    pub id: String,
    /// Test accuracy of a static member (`None` for the policy).
    pub accuracy: Option<f64>,
    /// When the first battery died, s (`None`: alive at the end).
    pub lifetime_s: Option<f64>,
    /// `lifetime_s` in days.
    pub lifetime_days: Option<f64>,
    /// End of the simulation, s.
    pub end_s: f64,
    /// Device whose battery died first.
    pub first_to_die: Option<String>,
    /// Mean test accuracy of the members over completed requests.
    pub mean_accuracy: Option<f64>,
    /// Σ over completed requests of the serving member's test accuracy.
    pub accuracy_weighted_throughput: f64,
    /// Requests completed.
    pub completed: u64,
    /// Requests dropped.
    pub dropped: u64,
    /// Completed requests over the deadline.
    pub deadline_misses: u64,
    /// Switches completed.
    pub switches: u64,
    /// Switches aborted.
    pub aborted_switches: u64,
    /// Latency p95, ms.
    pub latency_p95_ms: f64,
    /// Energy used per device by the end, mJ.
    pub energy_mj: BTreeMap<String, f64>,
    /// Periods advanced by fast-forward.
    pub fast_forwarded_periods: u64,
    /// Events processed (fast-forwarded ones included).
    pub events: u64,
}

impl Outcome {
    /// The figures of a finished deployment simulation.
    pub fn new(
        id: &str,
        accuracy: Option<f64>,
        network: &Network,
        r: &SimReport,
        d: &DeploymentReport,
    ) -> Self {
        Outcome {
            id: id.to_string(),
            accuracy,
            lifetime_s: d.lifetime_s,
            lifetime_days: d.lifetime_s.map(|s| s / 86_400.0),
            end_s: d.end_s,
            first_to_die: d.first_to_die.clone(),
            mean_accuracy: d.mean_accuracy,
            accuracy_weighted_throughput: d.accuracy_weighted_throughput,
            completed: r.completed,
            dropped: r.dropped,
            deadline_misses: r.deadline_misses,
            switches: d.switches,
            aborted_switches: d.aborted_switches,
            latency_p95_ms: r.latency_ms.p95,
            energy_mj: network
                .devices()
                .iter()
                .zip(&d.energy_mj)
                .map(|(dev, e)| (dev.id.clone(), *e))
                .collect(),
            fast_forwarded_periods: d.fast_forwarded_periods,
            events: r.events_processed,
        }
    }

    /// Lifetime, or the end of the simulation when no battery died (a lower bound).
    pub fn life_or_end_s(&self) -> f64 {
        self.lifetime_s.unwrap_or(self.end_s)
    }
}

/// The default plan, with member names.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedMix {
    /// Member deployed first.
    pub first: String,
    /// Member deployed after the switch.
    pub second: String,
    /// Planned share of the lifetime on `first`.
    pub share_first: f64,
    /// Lifetime the plan predicts from the members' mean powers, s.
    pub predicted_lifetime_s: f64,
    /// Mean accuracy the plan predicts.
    pub predicted_mean_accuracy: f64,
    /// Device whose battery bounds the lifetime (and triggers the switch).
    pub bottleneck: String,
    /// Remaining battery of `bottleneck` at the switch, %.
    pub switch_at_percent: f64,
    /// Accuracy floor the plan kept.
    pub accuracy_floor: f64,
}

/// The adaptive deployment: its figures plus what it switched between.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyOutcome {
    /// Lifetime, accuracy, switches, ... (`id` is `policy`).
    #[serde(flatten)]
    pub figures: Outcome,
    /// Member names, in policy order.
    pub members: Vec<String>,
    /// The rules, as text.
    pub rules: Vec<String>,
    /// The default plan (`None` with `--policy`).
    pub planned: Option<PlannedMix>,
    /// Requests completed by each member.
    pub completed_per_member: BTreeMap<String, u64>,
    /// Time each member was deployed, s.
    pub deployed_s_per_member: BTreeMap<String, f64>,
    /// The switches.
    pub switch_log: Vec<SwitchRecord>,
    /// Battery levels and deployed member over time.
    pub samples: Vec<Sample>,
}

impl PolicyOutcome {
    /// Gathers the outcome of a policy run.
    pub fn new(
        figures: Outcome,
        members: &[DeployMember],
        rules: Vec<String>,
        planned: Option<PlannedMix>,
        d: &DeploymentReport,
    ) -> Self {
        let by_member = |v: &[u64]| {
            members
                .iter()
                .zip(v)
                .map(|(m, x)| (m.label.clone(), *x))
                .collect()
        };
        PolicyOutcome {
            figures,
            members: members.iter().map(|m| m.label.clone()).collect(),
            rules,
            planned,
            completed_per_member: by_member(&d.completed_per_member),
            deployed_s_per_member: members
                .iter()
                .zip(&d.deployed_s_per_member)
                .map(|(m, x)| (m.label.clone(), *x))
                .collect(),
            switch_log: d.switch_log.clone(),
            samples: d.samples.clone(),
        }
    }
}

/// How the policy compares with the most accurate static member.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gain {
    /// `100 × (policy lifetime / static lifetime − 1)` (lifetimes or, when alive at
    /// the end, the simulated span).
    pub lifetime_pct: f64,
    /// `100 × (policy mean accuracy − static accuracy)`, points.
    pub accuracy_points: f64,
    /// The longest-lived static member at least as accurate as the policy's mean
    /// accuracy: what the policy must beat to be worth switching.
    pub best_static_as_accurate: Option<String>,
    /// Lifetime gain over `best_static_as_accurate`, %.
    pub lifetime_pct_vs_best_static_as_accurate: Option<f64>,
}

/// Everything `adapt` reports (`adapt.json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdaptResult {
    /// Scenario name.
    pub scenario: String,
    /// Run folder.
    pub run: String,
    /// Longest simulated span, s.
    pub horizon_s: f64,
    /// `--max-accuracy-drop`, points.
    pub max_accuracy_drop_points: f64,
    /// Device ids, in the order of `samples[].battery_pct`.
    pub devices: Vec<String>,
    /// Id of the most accurate static member.
    pub most_accurate: String,
    /// Policy vs the most accurate static member.
    pub gain: Gain,
    /// The adaptive deployment.
    pub policy: PolicyOutcome,
    /// Every feasible front member deployed alone.
    #[serde(rename = "static")]
    pub statics: Vec<Outcome>,
}

impl AdaptResult {
    /// Assembles the result and computes the gain over `most_accurate`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        scenario: &str,
        run: &str,
        horizon_s: f64,
        max_accuracy_drop_points: f64,
        policy: PolicyOutcome,
        statics: Vec<Outcome>,
        most_accurate: &str,
        devices: Vec<String>,
    ) -> Self {
        let life = policy.figures.life_or_end_s();
        let pct = |o: &Outcome| 100.0 * (life / o.life_or_end_s() - 1.0);
        let mean = policy.figures.mean_accuracy.unwrap_or(0.0);
        let as_accurate = statics
            .iter()
            .filter(|s| s.accuracy.unwrap_or(0.0) >= mean - 1e-12)
            .max_by(|a, b| a.life_or_end_s().total_cmp(&b.life_or_end_s()));
        let best = statics.iter().find(|s| s.id == most_accurate);
        let gain = Gain {
            lifetime_pct: best.map_or(0.0, pct),
            accuracy_points: best.map_or(0.0, |b| 100.0 * (mean - b.accuracy.unwrap_or(0.0))),
            best_static_as_accurate: as_accurate.map(|s| s.id.clone()),
            lifetime_pct_vs_best_static_as_accurate: as_accurate.map(pct),
        };
        AdaptResult {
            scenario: scenario.to_string(),
            run: run.to_string(),
            horizon_s,
            max_accuracy_drop_points,
            devices,
            most_accurate: most_accurate.to_string(),
            gain,
            policy,
            statics,
        }
    }
}

/// Simulates a deployment of `members` under `policy` until the first battery dies
/// or `horizon_ns`, sampling battery levels every `sample_every_ns`.
#[allow(clippy::too_many_arguments)]
pub fn run_deployment(
    members: &[DeployMember],
    policy: &SwitchPolicy,
    network: &Network,
    workload: &SimWorkload,
    events: &[WhatIf],
    config: &SimConfig,
    horizon_ns: Time,
    sample_every_ns: Time,
) -> Result<(SimReport, DeploymentReport), SimError> {
    let plans: Vec<InferencePlan> = members.iter().map(|m| m.plan.clone()).collect();
    let weights: Vec<Vec<u64>> = members.iter().map(|m| m.weight_bytes.clone()).collect();
    let accuracy: Vec<f64> = members.iter().map(|m| m.accuracy).collect();
    let dep = Deployment {
        plans: &plans,
        weight_bytes: &weights,
        accuracy: &accuracy,
        policy,
        horizon_ns: Some(horizon_ns),
        stop_at_first_death: true,
        sample_every_ns,
    };
    crate::sim::simulate_deployment(&dep, network, workload, events, config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix_of_two_members_meets_the_floor_and_outlives_both_hand_computed() {
        // one battery of 1000 mJ; A: 1 mW, 0.95; B: 0.25 mW, 0.90; floor 0.93
        // share on A: α = (0.93 − 0.90) / 0.05 = 0.6; power 0.6 + 0.1 = 0.7 mW
        // lifetime 1000 / 0.7 s; switch when 1 − 0.6 · L · 1 / 1000 = 1 − 0.6 / 0.7 left
        let m = best_mix(
            &[0.95, 0.90],
            &[vec![1.0], vec![0.25]],
            &[Some(1000.0)],
            0.93,
        )
        .unwrap();
        assert_eq!((m.first, m.second), (0, 1));
        assert!((m.share_first - 0.6).abs() < 1e-12);
        assert!((m.lifetime_s - 1000.0 / 0.7).abs() < 1e-9);
        assert!((m.accuracy - 0.93).abs() < 1e-12);
        assert!((m.switch_at - (1.0 - 0.6 / 0.7)).abs() < 1e-12);
        // a floor B meets alone: B alone, static
        let s = best_mix(
            &[0.95, 0.90],
            &[vec![1.0], vec![0.25]],
            &[Some(1000.0)],
            0.9,
        )
        .unwrap();
        assert_eq!((s.first, s.second, s.share_first), (1, 1, 1.0));
        assert!(s.policy().rules.is_empty());
        assert_eq!(best_mix(&[0.5], &[vec![1.0]], &[Some(1.0)], 0.6), None);
    }

    #[test]
    fn two_batteries_optimum_is_where_the_curves_cross() {
        // devices x, y with 100 mJ each. A drains x (2 mW, y 0), B drains y (2 mW);
        // both 0.9 accurate. Mix α: x gets 2α, y gets 2(1 − α): best at α = 0.5, 100 s,
        // better than either alone (50 s).
        let m = best_mix(
            &[0.9, 0.9],
            &[vec![2.0, 0.0], vec![0.0, 2.0]],
            &[Some(100.0), Some(100.0)],
            0.8,
        )
        .unwrap();
        assert!((m.share_first - 0.5).abs() < 1e-12);
        assert!((m.lifetime_s - 100.0).abs() < 1e-9);
    }
}
