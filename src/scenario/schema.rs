//! Serde types of the scenario file. Units are in field names (`_ms`, `_bps`, `_bytes`,
//! `_mw`, `_mj`, `_hz`, `_us`). Every optional field documents its default.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// A whole scenario: topology, workload, application requirements and search settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Name used in output folders (`runs/<name>-<seed>/`).
    pub name: String,
    /// Master seed of the search, the simulation and the training. Default 0.
    #[serde(default)]
    pub seed: u64,
    /// Dataset used to train candidates.
    pub dataset: DatasetSpec,
    /// Devices (nodes of the topology).
    pub devices: Vec<DeviceSpec>,
    /// Links (undirected edges of the topology).
    #[serde(default)]
    pub links: Vec<LinkSpec>,
    /// Device where each inference request's input tensor is produced.
    pub source: String,
    /// Device where each result must arrive.
    pub sink: String,
    /// Application requirements (constraints of the search).
    #[serde(default)]
    pub app: AppRequirements,
    /// Inference requests replayed by the simulator.
    pub workload: Workload,
    /// Deployment data type of weights and activations. Default `Int8`.
    #[serde(default)]
    pub dtype: DType,
    /// Search-space bounds for candidate networks.
    #[serde(default)]
    pub space: SearchSpace,
    /// Search algorithm settings.
    #[serde(default)]
    pub search: SearchSettings,
    /// What-if events applied during simulation.
    #[serde(default)]
    pub events: Vec<Event>,
    /// Failure model: how likely devices are to be down, and which failure cases every
    /// candidate is simulated under (`docs/robustness.md`). Default none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failures: Option<Failures>,
}

/// The failure model of a scenario (`failures:`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Failures {
    /// Devices that may be down (the others never are), each independently.
    #[serde(default)]
    pub devices: Vec<DeviceFailure>,
    /// Links that may be down, each independently of the others and of the devices.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<LinkFailure>,
    /// Cases to simulate, each the devices (by id) and links (`"a-b"`) down together
    /// for the whole horizon. Default: every single failure of a listed device or
    /// link. The case with no failure is always simulated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cases: Option<Vec<Vec<String>>>,
    /// Instead of `cases`: draw this many states of the whole model (every listed
    /// device and link down with its probability, independently), from the run's
    /// seed, the same draws for every candidate; each distinct state is a case
    /// weighted by its share of the draws, multiple failures included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample: Option<usize>,
    /// How long a failed device takes to be noticed, after which the partitions it ran
    /// move to their standby devices (`space.standby`). Default
    /// `Heartbeat(period_ms: 100.0, missed: 3)`.
    #[serde(default, skip_serializing_if = "Failover::is_default")]
    pub failover: Failover,
}

/// How a failed device is detected (`failures.failover`): from the instant a device
/// goes down until `detection_ms()` later, requests still go to it and are lost; after
/// that, each partition it ran runs on its standby (`docs/robustness.md`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Failover {
    /// The sender of a partition's input gives up on an unanswered message after `ms`
    /// and switches to the standby: detection takes `ms`.
    Timeout {
        /// Timeout, ms (> 0).
        ms: f64,
    },
    /// Devices send heartbeats every `period_ms`; a device is declared down after
    /// `missed` heartbeats in a row are missing: detection takes `period_ms × missed`.
    Heartbeat {
        /// Heartbeat period, ms (> 0).
        period_ms: f64,
        /// Missed heartbeats before the device is declared down (≥ 1).
        missed: u32,
    },
}

impl Default for Failover {
    fn default() -> Self {
        Failover::Heartbeat {
            period_ms: 100.0,
            missed: 3,
        }
    }
}

impl Failover {
    /// Time from a failure to the failover, ms.
    pub fn detection_ms(&self) -> f64 {
        match *self {
            Failover::Timeout { ms } => ms,
            Failover::Heartbeat { period_ms, missed } => period_ms * missed as f64,
        }
    }

    fn is_default(&self) -> bool {
        *self == Failover::default()
    }
}

/// How likely one device is to be down: `p_down`, or `mtbf_h` with `mttr_h`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceFailure {
    /// Device id.
    pub id: String,
    /// Probability that the device is down at a random instant, in [0, 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p_down: Option<f64>,
    /// Mean time between failures, hours (with `mttr_h`: `p_down = mttr / (mtbf + mttr)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtbf_h: Option<f64>,
    /// Mean time to repair, hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mttr_h: Option<f64>,
}

/// How likely one link is to be down: `p_down`, or `mtbf_h` with `mttr_h`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkFailure {
    /// One end (device id).
    pub a: String,
    /// The other end.
    pub b: String,
    /// Probability that the link is down at a random instant, in [0, 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p_down: Option<f64>,
    /// Mean time between failures, hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtbf_h: Option<f64>,
    /// Mean time to repair, hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mttr_h: Option<f64>,
}

/// Probability of being down from `p_down`, else the steady-state unavailability
/// `mttr / (mtbf + mttr)` of an alternating renewal process, else 0.
fn down_probability(p_down: Option<f64>, mtbf_h: Option<f64>, mttr_h: Option<f64>) -> f64 {
    match (p_down, mtbf_h, mttr_h) {
        (Some(p), _, _) => p,
        (None, Some(f), Some(r)) if f + r > 0.0 => r / (f + r),
        _ => 0.0,
    }
}

impl DeviceFailure {
    /// Probability that the device is down (see [`LinkFailure::probability`]).
    pub fn probability(&self) -> f64 {
        down_probability(self.p_down, self.mtbf_h, self.mttr_h)
    }
}

impl LinkFailure {
    /// Probability that the link is down: `p_down`, else the steady-state
    /// unavailability `mttr / (mtbf + mttr)`.
    pub fn probability(&self) -> f64 {
        down_probability(self.p_down, self.mtbf_h, self.mttr_h)
    }
}

/// Kind of dataset file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DatasetKind {
    /// UEA/UCR `.ts` time-series file (→ `[T, C]` inputs).
    Ts,
    /// CSV, one sample per row: features..., label (→ `[N, 1]` inputs).
    Csv,
    /// 8×8 digits CSV (64 pixels, label) read as `[8, 8, 1]` images.
    Digits,
    /// Square grey-scale images, CSV rows of `S × S` pixels then the label, read as
    /// `[S, S, 1]` (MNIST: 784 pixels → `[28, 28, 1]`). Files may be gzip-compressed.
    Image,
}

/// Where the training data comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetSpec {
    pub kind: DatasetKind,
    /// Training file (relative paths resolve against the scenario file's folder).
    pub train: PathBuf,
    /// Test file; without one, test metrics are taken on a held-out stratified split.
    #[serde(default)]
    pub test: Option<PathBuf>,
    /// Fraction of the training file held out (stratified) for validation. Default 0.25.
    #[serde(default = "default_validation_fraction")]
    pub validation_fraction: f64,
    /// Fixed series length for variable-length `.ts` files (pad with zeros / truncate).
    /// Default: the longest series.
    #[serde(default)]
    pub length: Option<usize>,
}

fn default_validation_fraction() -> f64 {
    0.25
}

use crate::{table_fields_impl, table_merge_impl, table_override_struct, table_struct};

crate::device_table!(table_override_struct! {
    /// A device: a named instance of a device profile with optional field overrides
    /// (one per row of the device table, `scenario::fields`).
    #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct DeviceSpec {
        head {
            /// Unique id used by links, `source`, `sink`, events and candidate maps.
            pub id: String,
            /// Name of a profile in `models/devices/` (or a path to a profile RON file).
            pub profile: String,
        }
        tail {
            /// Energy budget per inference on this device (constraint), millijoules.
            pub energy_budget_mj: Option<f64>,
        }
    }
});

crate::device_table!(table_struct! {
    /// A device profile file (`models/devices/*.ron`): the device table's fields
    /// (`scenario::fields`), a description and the sources of the numbers.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct DeviceProfile {
        head {
            /// Human-readable name (e.g. "Nordic nRF52840, Cortex-M4F @ 64 MHz").
            #[serde(default)]
            pub description: String,
        }
        tail {
            /// Where each number comes from.
            #[serde(default)]
            pub sources: Vec<String>,
            /// Fitted per-layer latency by layer kind (`distrinas calibrate`,
            /// `docs/calibration.md`); a kind not listed keeps the two-term model
            /// `layer_overhead_us + macs / mac_per_s`.
            #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
            pub latency: std::collections::BTreeMap<String, LayerLatency>,
        }
    }
});

/// The fitted latency of one layer kind on a device: `overhead_us` + `ns_per_mac` ×
/// MACs + `ns_per_byte` × (input + output bytes), every coefficient ≥ 0. The two-term
/// model is the case `ns_per_mac = 10⁹ / mac_per_s`, `ns_per_byte = 0`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerLatency {
    /// Fixed cost per executed layer, µs.
    pub overhead_us: f64,
    /// Time per multiply-accumulate, ns.
    pub ns_per_mac: f64,
    /// Time per byte of input and output tensor, ns.
    pub ns_per_byte: f64,
}

impl LayerLatency {
    /// Time of a layer with `macs` MACs and `bytes` of input + output, ns (rounded).
    pub fn time_ns(&self, macs: u64, bytes: u64) -> u64 {
        let ns = self.overhead_us * 1e3
            + self.ns_per_mac * macs as f64
            + self.ns_per_byte * bytes as f64;
        ns.round().max(0.0) as u64
    }
}

crate::device_table!(table_fields_impl! { DeviceProfile; });
crate::device_table!(table_merge_impl! { DeviceProfile, DeviceSpec; });

crate::link_table!(table_override_struct! {
    /// A link between two devices: a link profile with optional overrides (one per row
    /// of the link table, `scenario::fields`).
    #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct LinkSpec {
        head {
            /// One end (a device id).
            pub a: String,
            /// The other end.
            pub b: String,
            /// Name of a profile in `models/links/`.
            pub profile: String,
            /// Links with the same medium share one transmitter (one frame in the air
            /// at a time).
            pub medium: Option<String>,
        }
        tail {}
    }
});

crate::link_table!(table_struct! {
    /// A link profile file (`models/links/*.ron`): the link table's fields
    /// (`scenario::fields`), a default medium, a description and sources.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct LinkProfile {
        head {
            /// Human-readable name.
            #[serde(default)]
            pub description: String,
        }
        tail {
            /// Default shared-medium name for links of this profile. Default: none
            /// (full duplex).
            #[serde(default)]
            pub medium: Option<String>,
            /// Where each number comes from.
            #[serde(default)]
            pub sources: Vec<String>,
        }
    }
});

crate::link_table!(table_fields_impl! { LinkProfile; });
crate::link_table!(table_merge_impl! { LinkProfile, LinkSpec; });

/// Application requirements; each one set is a constraint of the search.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppRequirements {
    /// Minimum validation accuracy. Default: none.
    #[serde(default)]
    pub min_accuracy: Option<f64>,
    /// Maximum p95 end-to-end latency, milliseconds. Default: none.
    #[serde(default)]
    pub max_latency_ms: Option<f64>,
    /// Minimum fraction of the simulated requests that must complete (reach the sink;
    /// requests dropped by failures in `events:` do not), in [0, 1]. Default: none.
    #[serde(default)]
    pub min_completed: Option<f64>,
}

/// Arrival process of inference requests at the source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Arrivals {
    /// One request every `period_ms`.
    Periodic { period_ms: f64 },
    /// Poisson process with `rate_hz` requests per second.
    Poisson { rate_hz: f64 },
    /// Arrival times (ms, one per line, first column) from a CSV file.
    Trace { file: PathBuf },
}

/// The inference workload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    pub arrivals: Arrivals,
    /// Number of requests simulated.
    pub requests: usize,
    /// Uniform jitter added to each arrival, ± milliseconds. Default 0.
    #[serde(default)]
    pub jitter_ms: f64,
}

/// Deployment numeric type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum DType {
    #[default]
    Int8,
    Int16,
    F32,
}

impl DType {
    /// Bytes per element.
    pub fn bytes(self) -> u64 {
        match self {
            DType::Int8 => 1,
            DType::Int16 => 2,
            DType::F32 => 4,
        }
    }
}

/// Kind of a searchable block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BlockKind {
    /// Conv → (BatchNorm) → ReLU.
    Conv,
    /// Depthwise conv → pointwise conv → ReLU.
    Separable,
    /// Two convs with an identity/projection residual `Add`.
    Residual,
}

/// Pooling choice after a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PoolKind {
    None,
    Max,
    Avg,
}

/// Bounds of the network search space (`space:` in the scenario).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SearchSpace {
    pub min_blocks: usize,
    pub max_blocks: usize,
    pub block_kinds: Vec<BlockKind>,
    pub channels: Vec<usize>,
    pub kernels: Vec<usize>,
    pub strides: Vec<usize>,
    pub pooling: Vec<PoolKind>,
    /// Hidden dense units before the classifier (0 = no hidden layer).
    pub dense_units: Vec<usize>,
    /// Maximum number of cut points (partitions = cuts + 1).
    pub max_cuts: usize,
    /// The search may give a partition a standby device holding a replica of its
    /// weights, used when its device is down (`docs/robustness.md`). Default `false`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub standby: bool,
}

impl Default for SearchSpace {
    fn default() -> Self {
        SearchSpace {
            min_blocks: 1,
            max_blocks: 4,
            block_kinds: vec![BlockKind::Conv, BlockKind::Separable, BlockKind::Residual],
            channels: vec![8, 16, 32, 64],
            kernels: vec![3, 5, 7],
            strides: vec![1, 2],
            pooling: vec![PoolKind::None, PoolKind::Max],
            dense_units: vec![0, 32],
            max_cuts: 2,
            standby: false,
        }
    }
}

/// Search algorithm: the one list of algorithms, for scenarios (RON), checkpoints
/// (JSON) and the command line (`--algorithm`); the search engine implements each
/// (`Algorithm::strategy` in `search::algorithms`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, clap::ValueEnum,
)]
pub enum Algorithm {
    /// SPEA2 (Zitzler, Laumanns & Thiele 2001).
    #[default]
    Spea2,
    /// NSGA-II (Deb, Pratap, Agarwal & Meyarivan 2002).
    #[value(alias = "nsga-ii", alias = "nsgaii")]
    Nsga2,
    /// Random search with a SPEA2-truncated archive.
    Random,
    /// Aging (regularised) evolution with Pareto tournaments (Real et al. 2019; µNAS).
    #[value(alias = "ageing", alias = "regularized", alias = "regularised")]
    Aging,
}

/// An objective (all minimised; `Lifetime` and `Availability` are negated).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Objective {
    ValLoss,
    Error,
    LatencyMean,
    LatencyP95,
    EnergyPerInference,
    MaxDeviceEnergy,
    ExchangedBytes,
    Hops,
    TotalFlash,
    MaxSram,
    Lifetime,
    /// Minus the expected fraction of requests completed within the deadline, over the
    /// scenario's failure cases weighted by their probability (needs `failures:`).
    Availability,
    /// Expected p95 latency over the failure cases, ms (needs `failures:`).
    ExpectedLatencyUnderFailure,
}

/// Search settings (`search:` in the scenario).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SearchSettings {
    pub algorithm: Algorithm,
    /// Individuals evaluated per generation.
    pub population: usize,
    /// SPEA2 archive size.
    pub archive: usize,
    pub generations: usize,
    pub objectives: Vec<Objective>,
    /// Training epochs of a candidate with no parent to inherit from.
    pub train_epochs: usize,
    /// Training epochs of a child that inherits weights from its parent.
    pub child_epochs: usize,
    /// Training epochs of each member of the final front (test accuracy reported).
    pub final_epochs: usize,
    /// Candidates whose memory exceeds a budget by more than this fraction are not
    /// simulated or trained. Default 0.5.
    pub skip_margin: f64,
    /// Networks that open the initial population (warm start): run folders (their
    /// feasible front, with trained weights) or network files (`Arch` RON, with
    /// `<name>.weights` beside when trained). Relative paths resolve against the
    /// scenario file's folder. Default none.
    pub warm_start: Vec<PathBuf>,
    /// The fidelity ladder: requests simulated per candidate and the surrogate that
    /// decides which candidates are trained (see `docs/fidelity.md`). Default: every
    /// candidate that passes the simulation is trained.
    pub fidelity: Fidelity,
}

/// The budgets of the search's cheaper stages (`search.fidelity`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Fidelity {
    /// Requests simulated per candidate during the search (`None`: `workload.requests`).
    pub requests: Option<usize>,
    /// A surrogate of validation loss and accuracy that spares the training of
    /// candidates it predicts to be dominated (`None`: train every candidate).
    pub surrogate: Option<SurrogateSettings>,
}

/// Settings of the validation-loss surrogate (`search.fidelity.surrogate`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SurrogateSettings {
    /// The regression model: `Ridge` (default) or `Linear` (ordinary least squares).
    pub model: SurrogateModel,
    /// The surrogate decides only while its Spearman rank correlation on the latest
    /// trained candidates is at least this. Default 0.7.
    pub min_rank_correlation: f64,
    /// A candidate is not trained when an archive member dominates its predicted
    /// objectives by this many root-mean-square errors of the surrogate. Default 1.0.
    pub margin: f64,
    /// At most this fraction of a generation's remaining candidates is trained while
    /// the surrogate decides (the best predicted first). Default 1.0.
    pub promote: f64,
}

impl Default for SurrogateSettings {
    fn default() -> Self {
        SurrogateSettings {
            model: SurrogateModel::Ridge,
            min_rank_correlation: 0.7,
            margin: 1.0,
            promote: 1.0,
        }
    }
}

/// Regression model of the surrogate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum SurrogateModel {
    /// Ridge regression (L2 penalty 0.1 on standardised features, solved exactly with
    /// `linfa-linear`).
    #[default]
    Ridge,
    /// Ordinary least squares (`linfa-linear`).
    Linear,
}

impl SearchSettings {
    /// Whether an objective depends on the trained network (`ValLoss`, `Error`); the
    /// `app.min_accuracy` constraint does too.
    pub fn trains_for_objectives(&self) -> bool {
        self.objectives
            .iter()
            .any(|o| matches!(o, Objective::ValLoss | Objective::Error))
    }
}

impl Default for SearchSettings {
    fn default() -> Self {
        SearchSettings {
            algorithm: Algorithm::Spea2,
            population: 24,
            archive: 24,
            generations: 20,
            objectives: vec![
                Objective::ValLoss,
                Objective::LatencyP95,
                Objective::EnergyPerInference,
                Objective::ExchangedBytes,
            ],
            train_epochs: 20,
            child_epochs: 8,
            final_epochs: 40,
            skip_margin: 0.5,
            warm_start: Vec::new(),
            fidelity: Fidelity::default(),
        }
    }
}

/// A what-if event at a simulated time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Event {
    DeviceDown {
        device: String,
        at_ms: f64,
    },
    DeviceUp {
        device: String,
        at_ms: f64,
    },
    LinkDown {
        a: String,
        b: String,
        at_ms: f64,
    },
    LinkUp {
        a: String,
        b: String,
        at_ms: f64,
    },
    /// Multiplies the link's bandwidth by `factor` (relative to its nominal value).
    LinkBandwidth {
        a: String,
        b: String,
        factor: f64,
        at_ms: f64,
    },
}

impl Event {
    /// Simulated time of the event, milliseconds.
    pub fn at_ms(&self) -> f64 {
        match self {
            Event::DeviceDown { at_ms, .. }
            | Event::DeviceUp { at_ms, .. }
            | Event::LinkDown { at_ms, .. }
            | Event::LinkUp { at_ms, .. }
            | Event::LinkBandwidth { at_ms, .. } => *at_ms,
        }
    }
}
