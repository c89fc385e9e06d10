//! What-if replay of one candidate and its comparison with the figures the search
//! measured (`distrinas simulate SCENARIO --candidate FILE`, `docs/quickstart.md`).
//!
//! At search time every front member's figures are written beside its candidate file,
//! in `candidates/<id>.search.json` (a [`SearchRecord`]). [`replay`] runs the same
//! pipeline stages (partition costs → routes → simulation) on a possibly modified
//! network with possibly extra events; [`compare`] puts the two side by side. With no
//! change and the recorded simulation seed, the replay reproduces the search-time
//! figures exactly (the simulator is bit-reproducible).
//!
//! ```
//! use distrinas::evaluate::whatif::{compare, WhatIfFigures};
//! let at = WhatIfFigures { latency_p95_ms: Some(10.0), completed: 200, ..Default::default() };
//! let now = WhatIfFigures { latency_p95_ms: Some(12.5), completed: 150, ..Default::default() };
//! let rows = compare(&at, &now);
//! let p95 = rows.iter().find(|r| r.metric == "latency p95").unwrap();
//! assert_eq!(p95.change, Some(2.5));
//! assert_eq!(p95.change_pct, Some(25.0));
//! let done = rows.iter().find(|r| r.metric == "completed").unwrap();
//! assert_eq!(done.change_pct, Some(-25.0));
//! ```

use super::measure::{static_figures, StaticFigures};
use super::objectives::SimFigures;
use super::run::partition_costs;
use super::simulation::condense;
use crate::network::Network;
use crate::partition::Candidate;
use crate::scenario::DType;
use crate::sim::{SimConfig, SimError, SimReport, SimWorkload, TraceRecord, WhatIf};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The figures of one candidate that a what-if compares.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct WhatIfFigures {
    /// Mean end-to-end latency of the completed requests, ms (`None`: none completed).
    pub latency_mean_ms: Option<f64>,
    /// 95th-percentile (nearest rank) latency of the completed requests, ms.
    pub latency_p95_ms: Option<f64>,
    /// Inference energy (compute + radio of every device, no idle power) / completed
    /// requests, mJ (the `EnergyPerInference` objective).
    pub energy_mj_per_inference: Option<f64>,
    /// Idle energy of every device over the horizon per completed request, mJ.
    #[serde(default)]
    pub idle_mj_per_inference: Option<f64>,
    /// Payload bytes put on links per inference on the least-latency routes of the
    /// network at time 0 (the `ExchangedBytes` objective), bytes.
    pub exchanged_bytes: u64,
    /// Hops of those routes (the `Hops` objective).
    pub hops: u64,
    /// Payload bytes the simulator actually sent over links, divided by the completed
    /// requests (re-routes and partial transfers of dropped requests included), bytes.
    pub link_bytes_per_inference: Option<f64>,
    /// Requests generated.
    pub requests: u64,
    /// Requests whose output reached the sink.
    pub completed: u64,
    /// Requests dropped (device or link down, no route).
    pub dropped: u64,
    /// Completed requests later than `app.max_latency_ms`.
    pub deadline_misses: u64,
    /// Network lifetime: the first battery-powered device to run out, extrapolated
    /// from the horizon, s (`None`: no battery-powered device).
    #[serde(default)]
    pub lifetime_s: Option<f64>,
}

impl WhatIfFigures {
    /// The figures of a simulated candidate (`sim`) with static figures `st`.
    pub fn new(sim: &SimFigures, st: &super::measure::StaticFigures) -> WhatIfFigures {
        let ok = sim.completed > 0;
        let some = |v: f64| ok.then_some(v);
        WhatIfFigures {
            latency_mean_ms: some(sim.latency_mean_ms),
            latency_p95_ms: some(sim.latency_p95_ms),
            energy_mj_per_inference: some(sim.energy_mj_per_inference),
            idle_mj_per_inference: some(sim.idle_mj_per_inference),
            exchanged_bytes: st.exchanged_bytes,
            hops: st.hops,
            link_bytes_per_inference: some(sim.link_bytes as f64 / sim.completed.max(1) as f64),
            requests: sim.requests,
            completed: sim.completed,
            dropped: sim.dropped,
            deadline_misses: sim.deadline_misses,
            lifetime_s: sim.lifetime_s,
        }
    }
}

/// What the search measured for one front member: `candidates/<id>.search.json`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SearchRecord {
    /// Candidate id.
    pub id: String,
    /// Scenario name.
    pub scenario: String,
    /// Master seed of the run.
    pub seed: u64,
    /// Seed the search simulated every candidate with.
    pub sim_seed: u64,
    /// Objective values by name (as in `front.json`).
    pub objectives: BTreeMap<String, f64>,
    /// Whether the member satisfied every constraint.
    pub feasible: bool,
    /// The simulated figures.
    pub figures: WhatIfFigures,
}

impl SearchRecord {
    /// `<folder>/<stem>.search.json` for the candidate file `<folder>/<stem>.ron`.
    pub fn path_for(candidate_file: &Path) -> PathBuf {
        let stem = candidate_file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        candidate_file.with_file_name(format!("{stem}.search.json"))
    }

    /// Pretty JSON with a trailing newline.
    pub fn to_json_pretty(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".into());
        s.push('\n');
        s
    }

    /// Reads the record beside `candidate_file`: `Ok(None)` when there is none (a
    /// hand-written candidate, or a run written before records existed).
    pub fn read_for(candidate_file: &Path) -> Result<Option<SearchRecord>, WhatIfError> {
        let path = Self::path_for(candidate_file);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(WhatIfError::Io { path, source: e }),
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| WhatIfError::Json { path, source: e })
    }
}

/// Errors of a what-if replay.
#[derive(Debug, thiserror::Error)]
pub enum WhatIfError {
    /// The candidate cannot be costed on the scenario's network.
    #[error("candidate: {0}")]
    Candidate(String),
    /// The simulator rejected its inputs.
    #[error(transparent)]
    Sim(#[from] SimError),
    /// A file cannot be read.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A record is not valid JSON of the expected shape.
    #[error("{}:{}:{}: {source}", path.display(), source.line(), source.column())]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
}

/// The outcome of a replay.
#[derive(Debug, Clone)]
pub struct Replay {
    /// The full simulation report.
    pub report: SimReport,
    /// Per-request trace (empty unless `config.trace`).
    pub trace: Vec<TraceRecord>,
    /// The figures compared with the search-time ones.
    pub figures: WhatIfFigures,
    /// The candidate's partitions with their costs (for the placement diagram).
    pub partitions: Vec<super::summary::PartitionSummary>,
    /// What each used link carried (for the placement diagram).
    pub links: Vec<super::summary::LinkLoad>,
    /// Simulated load of each device (for the placement diagram).
    pub devices: Vec<super::summary::DeviceSummary>,
}

/// The static figures of `candidate` on `network` (the pipeline's cost stage and
/// least-latency routes from `source` to `sink`).
pub fn candidate_statics(
    candidate: &Candidate,
    network: &Network,
    dtype: DType,
    source: usize,
    sink: usize,
) -> Result<StaticFigures, WhatIfError> {
    let costs = partition_costs(candidate, network, dtype).map_err(WhatIfError::Candidate)?;
    Ok(static_figures(
        costs.partitions,
        costs.input_bytes,
        network,
        source,
        sink,
    ))
}

/// Replays `candidate` on `network` (its current state, e.g. after `--set`
/// overrides, is the initial state) with `workload` and `events`, through the search's
/// own stages: partition costs, least-latency routes, simulation.
#[allow(clippy::too_many_arguments)]
pub fn replay(
    candidate: &Candidate,
    network: &Network,
    dtype: DType,
    source: usize,
    sink: usize,
    workload: &SimWorkload,
    events: &[WhatIf],
    config: &SimConfig,
) -> Result<Replay, WhatIfError> {
    let st = candidate_statics(candidate, network, dtype, source, sink)?;
    let (report, trace) = super::simulation::run_candidate(&super::simulation::CaseSetting {
        st: &st,
        network,
        source,
        sink,
        workload,
        events,
        config,
    })?;
    let condensed = condense(&report, &st, network, source, sink);
    let figures = WhatIfFigures::new(&condensed, &st);
    Ok(Replay {
        partitions: super::placement::partition_summaries(candidate, &st, network),
        links: super::placement::link_loads(&st, network, Some(&condensed.link_utilisation)),
        devices: super::placement::device_summaries(&condensed),
        report,
        trace,
        figures,
    })
}

/// One row of a comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComparisonRow {
    /// Metric name (`latency mean`, `latency p95`, `energy/inference`,
    /// `idle energy/inference`,
    /// `exchanged bytes`, `hops`, `link bytes/inference`, `completed`, `dropped`,
    /// `deadline misses`, `network lifetime`).
    pub metric: &'static str,
    /// Unit (`ms`, `mJ`, `B`, `hops`, `requests`, `h`).
    pub unit: &'static str,
    /// Search-time value (`None`: not defined, e.g. no request completed).
    pub at_search: Option<f64>,
    /// Replayed value.
    pub now: Option<f64>,
    /// `now − at_search`.
    pub change: Option<f64>,
    /// `100 × (now − at_search) / at_search` (`0` when both are 0, `None` when only
    /// `at_search` is 0).
    pub change_pct: Option<f64>,
}

/// A comparison row's name, unit and getter.
type Metric = (
    &'static str,
    &'static str,
    fn(&WhatIfFigures) -> Option<f64>,
);

/// The rows comparing `at` (search time) with `now` (replay), in a fixed order.
pub fn compare(at: &WhatIfFigures, now: &WhatIfFigures) -> Vec<ComparisonRow> {
    let rows: [Metric; 11] = [
        ("latency mean", "ms", |f| f.latency_mean_ms),
        ("latency p95", "ms", |f| f.latency_p95_ms),
        ("energy/inference", "mJ", |f| f.energy_mj_per_inference),
        ("idle energy/inference", "mJ", |f| f.idle_mj_per_inference),
        ("exchanged bytes", "B", |f| Some(f.exchanged_bytes as f64)),
        ("hops", "hops", |f| Some(f.hops as f64)),
        ("link bytes/inference", "B", |f| f.link_bytes_per_inference),
        ("completed", "requests", |f| Some(f.completed as f64)),
        ("dropped", "requests", |f| Some(f.dropped as f64)),
        ("deadline misses", "requests", |f| {
            Some(f.deadline_misses as f64)
        }),
        ("network lifetime", "h", |f| {
            f.lifetime_s.map(|s| s / 3600.0)
        }),
    ];
    rows.iter()
        .map(|&(metric, unit, get)| {
            let (a, n) = (get(at), get(now));
            let change = a.zip(n).map(|(a, n)| n - a);
            let change_pct = a.zip(n).and_then(|(a, n)| {
                if a != 0.0 {
                    Some(100.0 * (n - a) / a)
                } else if n == 0.0 {
                    Some(0.0)
                } else {
                    None
                }
            });
            ComparisonRow {
                metric,
                unit,
                at_search: a,
                now: n,
                change,
                change_pct,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_and_percentages() {
        let at = WhatIfFigures {
            latency_mean_ms: Some(8.0),
            latency_p95_ms: Some(10.0),
            energy_mj_per_inference: Some(2.0),
            idle_mj_per_inference: None,
            exchanged_bytes: 100,
            hops: 2,
            link_bytes_per_inference: Some(100.0),
            requests: 200,
            completed: 200,
            dropped: 0,
            deadline_misses: 0,
            lifetime_s: Some(7200.0),
        };
        let now = WhatIfFigures {
            latency_mean_ms: None,
            completed: 0,
            dropped: 200,
            ..at.clone()
        };
        let rows = compare(&at, &now);
        assert_eq!(rows.len(), 11);
        assert_eq!(rows[10].metric, "network lifetime");
        assert_eq!(rows[10].at_search, Some(2.0));
        assert_eq!(rows[3].metric, "idle energy/inference");
        assert_eq!(rows[3].at_search, None);
        assert_eq!(rows[0].metric, "latency mean");
        assert_eq!(rows[0].change, None);
        assert_eq!(rows[1].change, Some(0.0));
        assert_eq!(rows[1].change_pct, Some(0.0));
        assert_eq!(rows[7].change, Some(-200.0));
        assert_eq!(rows[7].change_pct, Some(-100.0));
        // From 0 dropped to 200: no percentage.
        assert_eq!(rows[8].change, Some(200.0));
        assert_eq!(rows[8].change_pct, None);
        assert_eq!(rows[9].change_pct, Some(0.0));
    }

    #[test]
    fn record_path_and_round_trip() {
        let p = SearchRecord::path_for(Path::new("runs/x/candidates/c0123.ron"));
        assert_eq!(p, Path::new("runs/x/candidates/c0123.search.json"));
        let dir = tempfile::tempdir().unwrap();
        let cand = dir.path().join("c1.ron");
        assert!(SearchRecord::read_for(&cand).unwrap().is_none());
        let r = SearchRecord {
            id: "c1".into(),
            scenario: "s".into(),
            seed: 3,
            sim_seed: 99,
            objectives: [("Hops".to_string(), 2.0)].into_iter().collect(),
            feasible: true,
            figures: WhatIfFigures {
                latency_p95_ms: Some(1.5),
                completed: 7,
                ..Default::default()
            },
        };
        std::fs::write(SearchRecord::path_for(&cand), r.to_json_pretty()).unwrap();
        assert_eq!(SearchRecord::read_for(&cand).unwrap(), Some(r));
        std::fs::write(SearchRecord::path_for(&cand), "{\n  \"id\": 3\n}").unwrap();
        let e = SearchRecord::read_for(&cand).unwrap_err().to_string();
        assert!(e.contains("c1.search.json:2:"), "{e}");
    }
}
