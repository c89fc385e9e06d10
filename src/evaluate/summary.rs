//! Plain, serialisable summaries of an evaluated candidate (stored with each
//! individual in checkpoints and written to `front.json`).

use serde::{Deserialize, Serialize};

/// A constraint `value ≤ limit` (or `value ≥ limit` for minimum accuracy) of a member.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ConstraintSlack {
    /// Constraint name, e.g. `flash:wrist`, `sram:hub`, `min_accuracy`,
    /// `max_latency_ms`, `link_utilisation:hub-phone`.
    pub name: String,
    /// Measured value (bytes, mJ, fraction or ms; see `docs/objectives.md`).
    pub value: f64,
    /// The limit.
    pub limit: f64,
    /// Distance to the limit in the constraint's unit, positive when satisfied.
    pub slack: f64,
}

/// Costs of one partition of a member.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PartitionSummary {
    /// Device id running the partition.
    pub device: String,
    /// First layer (inclusive).
    pub first_layer: usize,
    /// Last layer (exclusive).
    pub end_layer: usize,
    /// Flash of the partition's weights and metadata, bytes.
    pub flash_bytes: u64,
    /// Peak SRAM of the partition, bytes.
    pub peak_sram_bytes: u64,
    /// Multiply-accumulates per inference.
    pub macs: u64,
    /// Compute time per inference on its device, milliseconds.
    pub compute_ms: f64,
    /// Bytes of the tensor the partition sends on (its output).
    pub out_bytes: u64,
    /// Kind of each of its layers, in order (`Conv1d`, `ReLU`, ...; empty in files of
    /// older versions).
    #[serde(default)]
    pub layer_kinds: Vec<String>,
    /// Device id of its standby, which holds a replica of it (`None`: no standby).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standby: Option<String>,
}

impl PartitionSummary {
    /// Its device, with its standby if it has one: `h1 (standby h2)`.
    pub fn device_label(&self) -> String {
        match &self.standby {
            Some(s) => format!("{} (standby {s})", self.device),
            None => self.device.clone(),
        }
    }
}

/// What one link carries for a member: the cut tensors routed over it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct LinkLoad {
    /// Link id, `"<a>-<b>"` (device ids in the scenario's order).
    pub link: String,
    /// Payload bytes per inference over the link on the nominal least-latency routes
    /// (input, cut tensors and output; a message crossing the link twice counts twice).
    pub bytes_per_inference: u64,
    /// Fraction of the simulated horizon the link was busy (`None`: not simulated).
    pub utilisation: Option<f64>,
}

/// The device graph of a run, as placement diagrams draw it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Topology {
    /// Every device, in the scenario's order.
    pub devices: Vec<TopologyDevice>,
    /// Every link, in the scenario's order.
    pub links: Vec<TopologyLink>,
    /// Device where requests arrive (`workload.source`).
    pub source: String,
    /// Device that receives the outputs (`workload.sink`).
    pub sink: String,
}

/// A device of a [`Topology`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TopologyDevice {
    pub id: String,
    /// Profile it was built from.
    pub profile: String,
    /// Flash, bytes.
    pub flash_bytes: u64,
    /// SRAM, bytes.
    pub sram_bytes: u64,
}

/// A link of a [`Topology`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TopologyLink {
    /// `"<a>-<b>"`.
    pub id: String,
    /// Device ids of its ends.
    pub a: String,
    pub b: String,
    /// Profile it was built from.
    pub profile: String,
    /// Bandwidth, bit/s.
    pub bandwidth_bps: f64,
}

/// Simulated load of one device for a member.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DeviceSummary {
    /// Device id.
    pub id: String,
    /// Fraction of the simulated horizon the device computed.
    pub busy_fraction: f64,
    /// Inference energy (compute + radio transmit + receive) per completed inference,
    /// millijoules.
    pub energy_mj_per_inference: f64,
    /// Idle energy over the simulated horizon per completed inference, millijoules.
    #[serde(default)]
    pub idle_mj_per_inference: f64,
    /// Battery lifetime, seconds (`None`: mains powered).
    pub lifetime_s: Option<f64>,
}

/// Raw objective vectors of one generation (`history.json`), in `objective_names` order.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct GenerationRecord {
    /// Generation number (0 = initial population).
    pub generation: usize,
    /// Evaluations run so far.
    pub evaluations: usize,
    /// Wall-clock seconds since the start of the search.
    pub elapsed_s: f64,
    /// Feasible members of the current archive/population.
    pub archive: Vec<Vec<f64>>,
    /// The best-so-far feasible front (non-dominated points of every feasible
    /// evaluation so far).
    pub best: Vec<Vec<f64>>,
    /// Candidates trained so far (absent in files of older versions).
    #[serde(default)]
    pub trained: usize,
    /// Candidates given the surrogate's predictions instead of training so far.
    #[serde(default)]
    pub predicted: usize,
    /// The surrogate's Spearman rank correlation on its latest trained candidates
    /// (`None`: no surrogate, or too few of them yet).
    #[serde(default)]
    pub rank_correlation: Option<f64>,
    /// Whether the surrogate decided which candidates of this generation were trained.
    #[serde(default)]
    pub surrogate_deciding: bool,
}
