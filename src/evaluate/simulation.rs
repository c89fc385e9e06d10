//! The simulation stage: replay of the scenario's workload (and what-if events) through
//! a candidate's partitions with the discrete-event simulator.

use super::measure::StaticFigures;
use super::objectives::SimFigures;
use super::pipeline::mix;
use crate::network::Network;
use crate::sim::{
    self, ArrivalProcess, InferencePlan, SimConfig, SimError, SimReport, SimWorkload, Stage, WhatIf,
};

/// Seed of the simulator for a run with master seed `master` (every candidate of a run
/// is simulated with it, so `simulate --candidate` can replay the search-time run).
pub fn sim_seed(master: u64) -> u64 {
    mix(master ^ 0x5349_4d00)
}

/// The simulator's plan of a candidate: its stages in execution order.
pub fn inference_plan(st: &StaticFigures, source: usize, sink: usize) -> InferencePlan {
    InferencePlan {
        source,
        sink,
        input_bytes: st.input_bytes,
        stages: st
            .partitions
            .iter()
            .map(|p| Stage {
                device: p.device,
                compute_ns: p.compute_ns,
                output_bytes: p.out_bytes,
            })
            .collect(),
    }
}

/// Mean arrival rate of a workload, requests per second (trace: requests over its span).
pub fn arrival_rate_hz(w: &SimWorkload) -> f64 {
    match &w.arrivals {
        ArrivalProcess::Periodic { period_ns } => 1e9 / (*period_ns).max(1) as f64,
        ArrivalProcess::Poisson { rate_hz } => *rate_hz,
        ArrivalProcess::Trace { times_ns } => {
            let n = times_ns.len().min(w.requests.max(1));
            if n < 2 {
                return 0.0;
            }
            let span = times_ns[n - 1].saturating_sub(times_ns[0]).max(1);
            (n - 1) as f64 * 1e9 / span as f64
        }
    }
}

/// Simulates the candidate and condenses the report into [`SimFigures`].
pub fn simulate_candidate(
    st: &StaticFigures,
    network: &Network,
    source: usize,
    sink: usize,
    workload: &SimWorkload,
    events: &[WhatIf],
    config: &SimConfig,
) -> Result<SimFigures, SimError> {
    let plan = inference_plan(st, source, sink);
    let r = sim::simulate(&plan, network, workload, events, config)?;
    Ok(condense(&r, st, network, source, sink))
}

/// Condenses a simulation report of the candidate with static figures `st` into
/// [`SimFigures`] (penalties of `docs/objectives.md` when no request completed).
pub fn condense(
    r: &SimReport,
    st: &StaticFigures,
    network: &Network,
    source: usize,
    sink: usize,
) -> SimFigures {
    let completed = r.completed.max(1) as f64;
    let penalty = super::objectives::SIM_PENALTY;
    let devices: Vec<(String, f64, f64, Option<f64>)> = network
        .devices
        .iter()
        .filter_map(|d| {
            r.devices.get(&d.id).map(|x| {
                (
                    d.id.clone(),
                    x.busy_fraction,
                    x.energy_mj / completed,
                    x.lifetime_s,
                )
            })
        })
        .collect();
    let used: Vec<usize> = st.partitions.iter().map(|p| p.device).collect();
    let max_device_energy_mj = devices
        .iter()
        .enumerate()
        .filter(|(i, _)| used.contains(i) || *i == source || *i == sink)
        .map(|(_, d)| d.2)
        .fold(0.0, f64::max);
    let ok = r.completed > 0;
    SimFigures {
        latency_mean_ms: if ok { r.latency_ms.mean } else { penalty },
        latency_p95_ms: if ok { r.latency_ms.p95 } else { penalty },
        energy_mj_per_inference: r.energy_mj_per_inference.unwrap_or(penalty),
        max_device_energy_mj: if ok { max_device_energy_mj } else { penalty },
        lifetime_s: r.network_lifetime_s,
        requests: r.requests,
        completed: r.completed,
        dropped: r.dropped,
        deadline_misses: r.deadline_misses,
        link_bytes: r.links.values().map(|l| l.bytes).sum(),
        devices,
    }
}
