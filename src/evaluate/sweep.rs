//! What-if sweeps: replay candidates over a grid of one or two parameters
//! (`distrinas simulate SCENARIO --candidate A --candidate B --sweep PATH=START..END:N`).
//!
//! A sweep point is exactly the replay `simulate --set PATH=VALUE` would run: the
//! parameter is set on a copy of the scenario's network or workload
//! ([`crate::sim::overrides::set_value`]), then [`super::whatif::replay`] costs,
//! routes and simulates the candidate with the same seed. Points are independent and
//! run in parallel (rayon); their order in the output is the grid order (candidate,
//! then first axis, then second axis), so the output does not depend on the thread
//! count.
//!
//! ```
//! use distrinas::evaluate::sweep::SweepAxis;
//! let a = SweepAxis::parse("links.ankle-hip.bandwidth_bps=1e4..1e6:3", true).unwrap();
//! assert_eq!(a.path, "links.ankle-hip.bandwidth_bps");
//! assert_eq!(a.values, vec![1e4, 1e5, 1e6]);
//! let b = SweepAxis::parse("workload.arrivals.period_ms=10..50:5", false).unwrap();
//! assert_eq!(b.values, vec![10.0, 20.0, 30.0, 40.0, 50.0]);
//! ```

use super::whatif::{replay, WhatIfError};
use crate::network::Network;
use crate::partition::Candidate;
use crate::scenario::{DType, Event, Workload};
use crate::sim::overrides::{set_value, WhatIfTarget};
use crate::sim::{SimConfig, SimError, SimWorkload, WhatIf};
use rayon::prelude::*;
use serde::Serialize;
use std::path::PathBuf;

/// Most grid points of one axis (a guard against a typo such as `:10000000`).
pub const MAX_POINTS_PER_AXIS: usize = 10_000;

/// One swept parameter and its grid.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepAxis {
    /// A `--set` path, e.g. `links.ankle-hip.bandwidth_bps`.
    pub path: String,
    /// Grid values in sweep order.
    pub values: Vec<f64>,
}

/// Errors of a sweep.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// A `--sweep` specification cannot be parsed.
    #[error("--sweep `{spec}`: {msg}")]
    Spec {
        /// The specification as given.
        spec: String,
        /// What was expected.
        msg: String,
    },
    /// A grid value cannot be set (unknown path, out of the parameter's range).
    #[error("--sweep {path}={value}: {msg}")]
    Value {
        /// The parameter path.
        path: String,
        /// The grid value.
        value: f64,
        /// Why.
        msg: String,
    },
    /// The workload of a grid point is invalid.
    #[error(transparent)]
    Workload(#[from] SimError),
    /// A candidate cannot be replayed.
    #[error("candidate {candidate}: {source}")]
    Replay {
        /// The candidate's label.
        candidate: String,
        /// Why.
        source: WhatIfError,
    },
}

impl SweepAxis {
    /// Parses `PATH=START..END:N`: `N` values from `START` to `END` inclusive, evenly
    /// spaced, or geometrically spaced when `log` (then both ends must be > 0). `N = 1`
    /// gives `START` alone.
    pub fn parse(spec: &str, log: bool) -> Result<SweepAxis, SweepError> {
        let err = |msg: &str| SweepError::Spec {
            spec: spec.to_string(),
            msg: msg.to_string(),
        };
        let (path, grid) = spec
            .split_once('=')
            .ok_or_else(|| err("expected PATH=START..END:N"))?;
        let (range, n) = grid
            .rsplit_once(':')
            .ok_or_else(|| err("expected START..END:N (missing :N)"))?;
        let (start, end) = range
            .split_once("..")
            .ok_or_else(|| err("expected START..END:N (missing ..)"))?;
        let num = |s: &str, what: &str| {
            s.trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| err(&format!("{what} `{}` is not a finite number", s.trim())))
        };
        let (start, end) = (num(start, "START")?, num(end, "END")?);
        let n: usize = n
            .trim()
            .parse()
            .map_err(|_| err("N must be a whole number >= 1"))?;
        if n == 0 || n > MAX_POINTS_PER_AXIS {
            return Err(err(&format!(
                "N must be between 1 and {MAX_POINTS_PER_AXIS}"
            )));
        }
        if log && (start <= 0.0 || end <= 0.0) {
            return Err(err("--log needs START and END > 0"));
        }
        let values = (0..n)
            .map(|i| {
                if n == 1 {
                    return start;
                }
                if i == n - 1 {
                    return end;
                }
                let t = i as f64 / (n - 1) as f64;
                if log {
                    start * (end / start).powf(t)
                } else {
                    start + t * (end - start)
                }
            })
            .collect();
        let path = path.trim();
        if path.is_empty() {
            return Err(err("PATH is empty"));
        }
        Ok(SweepAxis {
            path: path.to_string(),
            values,
        })
    }
}

/// Everything a replay needs besides the candidate and the swept values: the
/// scenario's network and workload after `--set`/`--arrivals`/`--requests`, its events,
/// and the simulation settings.
#[derive(Debug, Clone)]
pub struct WhatIfBase {
    /// Devices and links.
    pub network: Network,
    /// The workload, before resolution (so that workload paths can be swept).
    pub workload: Workload,
    /// Folder a trace workload's file is relative to.
    pub base_dir: PathBuf,
    /// Scenario events plus `--event`s.
    pub events: Vec<Event>,
    /// Deployment numeric type.
    pub dtype: DType,
    /// Source device index.
    pub source: usize,
    /// Sink device index.
    pub sink: usize,
    /// Deadline and service-time model (the seed is each candidate's own).
    pub config: SimConfig,
}

/// A candidate to sweep, with the simulation seed its replays use.
#[derive(Debug, Clone)]
pub struct SweepCandidate {
    /// Label in the outputs (the path given on the command line).
    pub label: String,
    /// The candidate.
    pub candidate: Candidate,
    /// Simulation seed (the search's, as `simulate` picks it).
    pub seed: u64,
}

/// The figures of one candidate at one grid point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepPoint {
    /// The candidate's label (as given on the command line).
    pub candidate: String,
    /// The swept value (1-D sweeps).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// The swept values, one per axis (2-D sweeps).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<f64>>,
    /// 95th-percentile latency of completed requests, ms.
    pub latency_p95_ms: f64,
    /// Mean latency of completed requests, ms.
    pub latency_mean_ms: f64,
    /// Completed requests / generated requests.
    pub completed_fraction: f64,
    /// Energy of all devices over the run / completed requests, mJ (`null` when none
    /// completed).
    pub energy_mj_per_inference: Option<f64>,
    /// Requests that missed the application's deadline.
    pub deadline_misses: u64,
    /// Simulation seed.
    pub seed: u64,
}

/// A whole sweep: what was swept and every point (the JSON of `sweep.json` and of
/// `simulate --sweep ... --json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepResult {
    /// Scenario name.
    pub scenario: String,
    /// The application's latency limit, ms (`app.max_latency_ms`).
    pub max_latency_ms: Option<f64>,
    /// Geometric (log) spacing of the grids.
    pub log: bool,
    /// The swept parameters (one or two).
    pub axes: Vec<SweepAxis>,
    /// One entry per candidate and grid point, candidate-major then grid order.
    pub sweep: Vec<SweepPoint>,
}

/// The grid of `axes` (row-major: the last axis varies fastest).
pub fn grid(axes: &[SweepAxis]) -> Vec<Vec<f64>> {
    axes.iter().fold(vec![vec![]], |acc, a| {
        acc.iter()
            .flat_map(|p| {
                a.values.iter().map(move |&v| {
                    let mut q = p.clone();
                    q.push(v);
                    q
                })
            })
            .collect()
    })
}

/// Replays one candidate at one grid point (the `--set` values of `point`, one per
/// axis).
pub fn replay_point(
    base: &WhatIfBase,
    candidate: &SweepCandidate,
    axes: &[SweepAxis],
    point: &[f64],
) -> Result<SweepPoint, SweepError> {
    let mut network = base.network.clone();
    let mut workload = base.workload.clone();
    let mut target = WhatIfTarget {
        network: &mut network,
        workload: &mut workload,
    };
    for (a, &v) in axes.iter().zip(point) {
        set_value(&mut target, &a.path, v).map_err(|msg| SweepError::Value {
            path: a.path.clone(),
            value: v,
            msg,
        })?;
    }
    let sim_workload = SimWorkload::from_scenario(&workload, &base.base_dir)?;
    let events = WhatIf::from_scenario(&base.events, &network)?;
    let config = SimConfig {
        seed: candidate.seed,
        ..base.config.clone()
    };
    let out = replay(
        &candidate.candidate,
        &network,
        base.dtype,
        base.source,
        base.sink,
        &sim_workload,
        &events,
        &config,
    )
    .map_err(|source| SweepError::Replay {
        candidate: candidate.label.clone(),
        source,
    })?;
    let r = &out.report;
    Ok(SweepPoint {
        candidate: candidate.label.clone(),
        value: (point.len() == 1).then(|| point[0]),
        values: (point.len() > 1).then(|| point.to_vec()),
        latency_p95_ms: r.latency_ms.p95,
        latency_mean_ms: r.latency_ms.mean,
        completed_fraction: if r.requests == 0 {
            0.0
        } else {
            r.completed as f64 / r.requests as f64
        },
        energy_mj_per_inference: r.energy_mj_per_inference,
        deadline_misses: r.deadline_misses,
        seed: candidate.seed,
    })
}

/// Replays every candidate at every grid point of `axes`, in parallel. Points are in
/// order: candidate, then grid order ([`grid`]).
pub fn sweep(
    base: &WhatIfBase,
    candidates: &[SweepCandidate],
    axes: &[SweepAxis],
    on_point: &(dyn Fn() + Sync),
) -> Result<Vec<SweepPoint>, SweepError> {
    let points = grid(axes);
    // fail fast on a value the parameter cannot take, before any simulation
    for a in axes {
        for &v in &a.values {
            let (mut n, mut w) = (base.network.clone(), base.workload.clone());
            let mut t = WhatIfTarget {
                network: &mut n,
                workload: &mut w,
            };
            set_value(&mut t, &a.path, v).map_err(|msg| SweepError::Value {
                path: a.path.clone(),
                value: v,
                msg,
            })?;
        }
    }
    let jobs: Vec<(&SweepCandidate, &Vec<f64>)> = candidates
        .iter()
        .flat_map(|c| points.iter().map(move |p| (c, p)))
        .collect();
    jobs.par_iter()
        .map(|(c, p)| {
            let r = replay_point(base, c, axes, p);
            on_point();
            r
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_grids_and_rejects_bad_specs() {
        let a = SweepAxis::parse("devices.hub.mac_per_s=1..3:3", false).unwrap();
        assert_eq!(a.values, vec![1.0, 2.0, 3.0]);
        let l = SweepAxis::parse("x.y.z=1..1000:4", true).unwrap();
        for (v, want) in l.values.iter().zip([1.0, 10.0, 100.0, 1000.0]) {
            assert!((v - want).abs() < 1e-9 * want, "{v} vs {want}");
        }
        assert_eq!(
            SweepAxis::parse("x.y.z=5..9:1", false).unwrap().values,
            [5.0]
        );
        for (bad, why) in [
            ("x.y.z", "PATH=START..END:N"),
            ("x.y.z=1..2", "missing :N"),
            ("x.y.z=1-2:3", "missing .."),
            ("x.y.z=a..2:3", "START `a`"),
            ("x.y.z=1..2:0", "between 1 and"),
            ("x.y.z=1..2:x", "whole number"),
            ("=1..2:3", "PATH is empty"),
        ] {
            let e = SweepAxis::parse(bad, false).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
        let e = SweepAxis::parse("x.y.z=0..2:3", true)
            .unwrap_err()
            .to_string();
        assert!(e.contains("--log needs"), "{e}");
    }

    #[test]
    fn grid_is_row_major() {
        let a = SweepAxis {
            path: "a".into(),
            values: vec![1.0, 2.0],
        };
        let b = SweepAxis {
            path: "b".into(),
            values: vec![10.0, 20.0, 30.0],
        };
        let g = grid(&[a, b]);
        assert_eq!(g.len(), 6);
        assert_eq!(g[0], [1.0, 10.0]);
        assert_eq!(g[2], [1.0, 30.0]);
        assert_eq!(g[3], [2.0, 10.0]);
    }
}
