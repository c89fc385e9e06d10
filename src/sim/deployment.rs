//! Long deployments: several members, a switching policy, batteries drained until the
//! first one dies (or a horizon), and what the deployment achieved
//! (`docs/adaptation.md`).
//!
//! **Battery level.** Device `d` has used `E_d(t) = active·busy + tx·tx_time +
//! rx·rx_time + idle·max(0, t − busy/cores − tx_time − rx_time)` (the energy model of
//! [`super::energy`], compute charged when a job starts). Levels are checked at every
//! arrival; when a battery is found empty at arrival time `t₁` and was not at the
//! previous check `t₀`, it died at `t₀ + (B − E(t₀)) / (E(t₁) − E(t₀)) · (t₁ − t₀)`
//! (linear interpolation), the run stops there, and that is the deployment's lifetime.
//!
//! **Fast-forward.** Days of periodic requests are simulated in seconds without
//! changing a single figure: when requests arrive periodically without jitter, service
//! times are fixed, no link loses packets, and two consecutive arrivals found the
//! system empty with nothing else happening in between, every following period repeats
//! the last one exactly. The model then advances whole periods at once (counters,
//! latencies and energies added `n` times) up to the next what-if event, sample,
//! policy threshold, battery death, horizon or last request, and resumes event by
//! event there. `SimConfig::no_fast_forward` turns it off; a test checks that both give
//! byte-identical reports.

use super::engine::Time;
use super::inference::InferencePlan;
use super::policy::SwitchPolicy;
use serde::Serialize;

/// The members and policy of a deployment simulation.
#[derive(Debug, Clone, Copy)]
pub struct Deployment<'a> {
    /// Plan of each member.
    pub plans: &'a [InferencePlan],
    /// Flash bytes of each member's partitions (plan stage order): what a switch writes.
    pub weight_bytes: &'a [Vec<u64>],
    /// Test accuracy of each member.
    pub accuracy: &'a [f64],
    /// The switching policy (member indices into `plans`).
    pub policy: &'a SwitchPolicy,
    /// Stop at this time, ns (`None`: when the requests run out or a battery dies).
    pub horizon_ns: Option<Time>,
    /// Stop when the first battery is empty.
    pub stop_at_first_death: bool,
    /// Record battery levels and the deployed member every this many ns (0: only at
    /// switches and at the end).
    pub sample_every_ns: Time,
}

/// A switch, begun at `start_s`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SwitchRecord {
    /// Start, s.
    pub start_s: f64,
    /// End (or abort), s.
    pub end_s: f64,
    /// Member before.
    pub from: usize,
    /// Member wanted.
    pub to: usize,
    /// A weight message was dropped: the old member stayed.
    pub aborted: bool,
}

/// Battery levels and deployed member at one time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sample {
    /// Time, s.
    pub t_s: f64,
    /// Remaining battery per device, % of capacity (`None`: mains powered).
    pub battery_pct: Vec<Option<f64>>,
    /// Deployed member.
    pub member: usize,
}

/// What a deployment achieved (alongside its [`super::SimReport`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeploymentReport {
    /// Time the first battery died, s (`None`: none died before the end).
    pub lifetime_s: Option<f64>,
    /// Device whose battery died first.
    pub first_to_die: Option<String>,
    /// End of the simulation, s (the death time when a battery died).
    pub end_s: f64,
    /// Completed switches.
    pub switches: u64,
    /// Aborted switches.
    pub aborted_switches: u64,
    /// Requests completed by each member.
    pub completed_per_member: Vec<u64>,
    /// Time each member was deployed, s.
    pub deployed_s_per_member: Vec<f64>,
    /// Σ over completed requests of the serving member's test accuracy.
    pub accuracy_weighted_throughput: f64,
    /// `accuracy_weighted_throughput / completed` (`None`: nothing completed).
    pub mean_accuracy: Option<f64>,
    /// Energy used per device at the end, mJ (device order).
    pub energy_mj: Vec<f64>,
    /// The switches, in order (at most [`MAX_SWITCH_RECORDS`]).
    pub switch_log: Vec<SwitchRecord>,
    /// Battery and member samples.
    pub samples: Vec<Sample>,
    /// Periods advanced by fast-forward (0 when it never applied).
    pub fast_forwarded_periods: u64,
}

/// Most switches kept in [`DeploymentReport::switch_log`].
pub const MAX_SWITCH_RECORDS: usize = 10_000;

/// Most samples kept in [`DeploymentReport::samples`] (beyond it, every other sample
/// is dropped and the interval doubles).
pub const MAX_SAMPLES: usize = 4_000;
