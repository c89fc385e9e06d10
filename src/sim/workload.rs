//! Simulator inputs resolved to integer nanoseconds and device/link indices:
//! the arrival process of requests and the what-if events.

use super::engine::{Time, NS_PER_MS};
use super::SimError;
use crate::network::Network;
use crate::scenario::{Arrivals, Event, Workload};
use std::path::{Path, PathBuf};

/// How requests arrive at the source.
#[derive(Debug, Clone, PartialEq)]
pub enum ArrivalProcess {
    /// One request every `period_ns`, the first at time 0.
    Periodic {
        /// Period, ns (> 0).
        period_ns: Time,
    },
    /// Poisson process of `rate_hz` requests per second (exponential inter-arrival
    /// times; the first arrival is one inter-arrival time after 0).
    Poisson {
        /// Mean arrival rate, requests per second (> 0).
        rate_hz: f64,
    },
    /// Explicit arrival times, ns, non-decreasing. Requests beyond its length are not
    /// generated.
    Trace {
        /// Arrival times, ns.
        times_ns: Vec<Time>,
    },
}

/// The workload replayed by [`super::simulate`].
#[derive(Debug, Clone, PartialEq)]
pub struct SimWorkload {
    /// The arrival process.
    pub arrivals: ArrivalProcess,
    /// Number of requests generated.
    pub requests: usize,
    /// Each arrival is shifted by a uniform integer in `[-jitter_ns, +jitter_ns]`
    /// (clamped at time 0).
    pub jitter_ns: Time,
}

/// Milliseconds (f64) to whole nanoseconds, rounded to nearest.
pub fn ms_to_ns(ms: f64) -> Time {
    (ms * NS_PER_MS as f64).round().max(0.0) as Time
}

impl SimWorkload {
    /// Periodic workload of `requests` requests every `period_ns`.
    pub fn periodic(period_ns: Time, requests: usize) -> Self {
        SimWorkload {
            arrivals: ArrivalProcess::Periodic { period_ns },
            requests,
            jitter_ns: 0,
        }
    }

    /// Poisson workload of `requests` requests at `rate_hz`.
    pub fn poisson(rate_hz: f64, requests: usize) -> Self {
        SimWorkload {
            arrivals: ArrivalProcess::Poisson { rate_hz },
            requests,
            jitter_ns: 0,
        }
    }

    /// Resolves a scenario workload. A `Trace` file (first CSV column = arrival time in
    /// ms; blank lines, `#` comments and a non-numeric header line are skipped) is read
    /// relative to `base_dir`; its times are sorted.
    pub fn from_scenario(w: &Workload, base_dir: &Path) -> Result<Self, SimError> {
        let arrivals = match &w.arrivals {
            Arrivals::Periodic { period_ms } => {
                if !(period_ms.is_finite() && *period_ms > 0.0) {
                    return Err(SimError::Workload(format!(
                        "period_ms must be > 0, got {period_ms}"
                    )));
                }
                ArrivalProcess::Periodic {
                    period_ns: ms_to_ns(*period_ms).max(1),
                }
            }
            Arrivals::Poisson { rate_hz } => {
                if !(rate_hz.is_finite() && *rate_hz > 0.0) {
                    return Err(SimError::Workload(format!(
                        "rate_hz must be > 0, got {rate_hz}"
                    )));
                }
                ArrivalProcess::Poisson { rate_hz: *rate_hz }
            }
            Arrivals::Trace { file } => {
                let path = if file.is_absolute() {
                    file.clone()
                } else {
                    base_dir.join(file)
                };
                ArrivalProcess::Trace {
                    times_ns: read_trace(&path)?,
                }
            }
        };
        if !(w.jitter_ms.is_finite() && w.jitter_ms >= 0.0) {
            return Err(SimError::Workload(format!(
                "jitter_ms must be >= 0, got {}",
                w.jitter_ms
            )));
        }
        Ok(SimWorkload {
            arrivals,
            requests: w.requests,
            jitter_ns: ms_to_ns(w.jitter_ms),
        })
    }

    /// Checks rates and periods (for workloads built in code).
    pub fn validate(&self) -> Result<(), SimError> {
        match &self.arrivals {
            ArrivalProcess::Periodic { period_ns: 0 } => {
                Err(SimError::Workload("period must be > 0 ns".into()))
            }
            ArrivalProcess::Poisson { rate_hz } if !(rate_hz.is_finite() && *rate_hz > 0.0) => Err(
                SimError::Workload(format!("rate_hz must be > 0, got {rate_hz}")),
            ),
            ArrivalProcess::Trace { times_ns } if times_ns.windows(2).any(|w| w[1] < w[0]) => Err(
                SimError::Workload("trace times must be non-decreasing".into()),
            ),
            _ => Ok(()),
        }
    }
}

fn read_trace(path: &PathBuf) -> Result<Vec<Time>, SimError> {
    let text = std::fs::read_to_string(path).map_err(|source| SimError::TraceIo {
        path: path.clone(),
        source,
    })?;
    let mut times = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let first = line.split(',').next().unwrap_or("").trim();
        match first.parse::<f64>() {
            Ok(ms) if ms.is_finite() && ms >= 0.0 => {
                if let Err(m) = crate::scenario::limits::check("at_ms", ms) {
                    return Err(SimError::TraceParse {
                        path: path.clone(),
                        line: i + 1,
                        msg: m.replace("at_ms", "an arrival time"),
                    });
                }
                times.push(ms_to_ns(ms))
            }
            Ok(ms) => {
                return Err(SimError::TraceParse {
                    path: path.clone(),
                    line: i + 1,
                    msg: format!("arrival time must be a finite number >= 0 ms, got {ms}"),
                })
            }
            Err(_) if times.is_empty() && i == 0 => {} // header line
            Err(_) => {
                return Err(SimError::TraceParse {
                    path: path.clone(),
                    line: i + 1,
                    msg: format!("expected an arrival time in ms, got `{first}`"),
                })
            }
        }
    }
    if times.is_empty() || times.len() > crate::scenario::limits::MAX_REQUESTS {
        return Err(SimError::TraceCount {
            path: path.clone(),
            count: times.len(),
        });
    }
    times.sort_unstable();
    Ok(times)
}

/// A change of the network state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Change {
    /// The device (index) fails: its queued and running work is lost, and frames it
    /// sends or receives are aborted at the event time.
    DeviceDown(usize),
    /// The device (index) comes back (empty).
    DeviceUp(usize),
    /// The link (index) fails: frames in the air on it are aborted at the event time.
    LinkDown(usize),
    /// The link (index) comes back.
    LinkUp(usize),
    /// The link's bandwidth becomes `factor ×` its nominal bandwidth (> 0).
    LinkBandwidth(usize, f64),
}

/// A what-if change at a simulated time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WhatIf {
    /// When, ns.
    pub at_ns: Time,
    /// What.
    pub change: Change,
}

impl WhatIf {
    /// Resolves scenario events (device ids, `a`/`b` link endpoints, ms) against
    /// `network`.
    pub fn from_scenario(events: &[Event], network: &Network) -> Result<Vec<WhatIf>, SimError> {
        let dev = |id: &str| {
            network
                .device_index(id)
                .ok_or_else(|| SimError::UnknownDevice(id.to_string()))
        };
        let link = |a: &str, b: &str| {
            network
                .link_between(dev(a)?, dev(b)?)
                .ok_or_else(|| SimError::UnknownLink {
                    a: a.to_string(),
                    b: b.to_string(),
                })
        };
        events
            .iter()
            .map(|e| {
                let at_ms = e.at_ms();
                if !(at_ms.is_finite() && at_ms >= 0.0) {
                    return Err(SimError::InvalidEvent(format!(
                        "at_ms must be >= 0, got {at_ms}"
                    )));
                }
                let change = match e {
                    Event::DeviceDown { device, .. } => Change::DeviceDown(dev(device)?),
                    Event::DeviceUp { device, .. } => Change::DeviceUp(dev(device)?),
                    Event::LinkDown { a, b, .. } => Change::LinkDown(link(a, b)?),
                    Event::LinkUp { a, b, .. } => Change::LinkUp(link(a, b)?),
                    Event::LinkBandwidth { a, b, factor, .. } => {
                        if !(factor.is_finite() && *factor > 0.0) {
                            return Err(SimError::InvalidEvent(format!(
                                "LinkBandwidth factor must be > 0, got {factor}"
                            )));
                        }
                        Change::LinkBandwidth(link(a, b)?, *factor)
                    }
                };
                Ok(WhatIf {
                    at_ns: ms_to_ns(at_ms),
                    change,
                })
            })
            .collect()
    }
}
