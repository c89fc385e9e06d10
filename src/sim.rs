#![doc = include_str!("../docs/simulation.md")]

pub mod candidate;
pub mod deployment;
pub mod energy;
pub mod engine;
pub mod inference;
pub mod link;
pub mod overrides;
pub mod policy;
pub mod queue;
pub mod report;
pub mod trace;
pub mod workload;

pub use engine::{Model, RunEnd, Scheduler, SchedulingError, Simulation, Time};
pub use inference::{
    simulate, simulate_deployment, simulate_failover, simulate_traced, InferencePlan, ServiceTime,
    SimConfig, Stage,
};
pub use report::{DeviceReport, LatencySummary, LinkReport, SimReport};
pub use trace::{trace_csv, TraceKind, TraceRecord};
pub use workload::{ms_to_ns, ArrivalProcess, Change, SimWorkload, WhatIf};

use std::path::PathBuf;

/// Errors of the simulator's inputs.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// An inference plan needs at least one stage.
    #[error("the inference plan has no stages")]
    EmptyPlan,
    /// A plan names a device index the network does not have.
    #[error("device index {index} is out of range (the network has {devices} devices)")]
    DeviceIndex {
        /// The bad index.
        index: usize,
        /// Number of devices.
        devices: usize,
    },
    /// An event names an unknown device id.
    #[error("unknown device `{0}`")]
    UnknownDevice(String),
    /// An event names two devices that no link joins.
    #[error("no link between `{a}` and `{b}`")]
    UnknownLink {
        /// First device id.
        a: String,
        /// Second device id.
        b: String,
    },
    /// Bad workload parameters.
    #[error("invalid workload: {0}")]
    Workload(String),
    /// Bad link parameters.
    #[error("invalid link {0}")]
    InvalidLink(String),
    /// Bad `--set` override.
    #[error("invalid override {0}")]
    Override(String),
    /// Bad switching policy.
    #[error("invalid policy: {0}")]
    Policy(String),
    /// Bad what-if event.
    #[error("invalid event: {0}")]
    InvalidEvent(String),
    /// The arrival trace file cannot be read.
    #[error("cannot read arrival trace {}: {source}", path.display())]
    TraceIo {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The arrival trace file has a bad line.
    #[error("{}:{line}:1: {msg}", path.display())]
    TraceParse {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What was expected.
        msg: String,
    },
    /// The arrival trace holds no arrival time, or more than
    /// [`crate::scenario::limits::MAX_REQUESTS`].
    #[error("{}: {count} arrival times: expected 1 to {} (one time in ms per line)", path.display(), crate::scenario::limits::MAX_REQUESTS)]
    TraceCount {
        /// The file.
        path: PathBuf,
        /// Arrival times read.
        count: usize,
    },
}
