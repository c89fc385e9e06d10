//! The simulation stage: replay of the scenario's workload (and what-if events) through
//! a candidate's partitions with the discrete-event simulator.

use super::measure::StaticFigures;
use super::objectives::{DeviceFigures, SimFigures};
use super::pipeline::mix;
use crate::network::Network;
use crate::sim::policy::{Cond, SwitchPolicy};
use crate::sim::{
    self, ArrivalProcess, InferencePlan, SimConfig, SimError, SimReport, SimWorkload, Stage, Time,
    TraceRecord, WhatIf,
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

/// Most devices whose partitions have standbys: the failover deployment has one plan
/// per subset of them (`2^k`).
pub const MAX_FAILOVER_DEVICES: usize = 8;

/// The failover deployment of a candidate whose partitions have standbys, or `None`
/// when none has one.
///
/// Let `k` be the devices that run a partition with a standby. Plan 0 is the nominal
/// plan; there is one more plan for every non-empty subset `S` of the `k` devices, in
/// which each partition with a standby that runs on a device of `S` runs on its
/// standby instead (compute time on the standby device). The rules, largest subsets
/// first, switch to the plan of `S` when every device of `S` has been down for
/// `detection_ns`; the first match is then exactly the set of failed-over devices.
/// No rule holds while they are up, so the nominal replay is unchanged. The replicas
/// are already in flash: a switch takes no time and writes nothing. Requests issued
/// before the detection go to the dead device and are lost; those in flight when it
/// fails are lost too. A standby that is itself down completes nothing.
pub fn failover_deployment(
    st: &StaticFigures,
    source: usize,
    sink: usize,
    detection_ns: Time,
) -> Option<(Vec<InferencePlan>, SwitchPolicy)> {
    let mut primaries: Vec<usize> = st
        .partitions
        .iter()
        .filter(|p| p.standby.is_some())
        .map(|p| p.device)
        .collect();
    primaries.sort_unstable();
    primaries.dedup();
    primaries.truncate(MAX_FAILOVER_DEVICES);
    if primaries.is_empty() {
        return None;
    }
    let nominal = inference_plan(st, source, sink);
    let mut subsets: Vec<u32> = (1..1u32 << primaries.len()).collect();
    // largest subsets first; among equals, in mask order
    subsets.sort_by_key(|m| std::cmp::Reverse(m.count_ones()));
    let mut plans = vec![nominal.clone()];
    let mut policy = SwitchPolicy::fixed(0);
    for mask in subsets {
        let down: Vec<usize> = (0..primaries.len())
            .filter(|i| mask & (1 << i) != 0)
            .map(|i| primaries[i])
            .collect();
        let mut plan = nominal.clone();
        for (stage, p) in plan.stages.iter_mut().zip(&st.partitions) {
            if let Some(s) = p.standby.filter(|_| down.contains(&p.device)) {
                stage.device = s.device;
                stage.compute_ns = s.compute_ns;
            }
        }
        let when = Cond::All(
            down.iter()
                .map(|&d| Cond::DeviceDown(d, detection_ns))
                .collect(),
        );
        policy.rules.push((when, plans.len()));
        plans.push(plan);
    }
    Some((plans, policy))
}

/// A candidate's static figures and the simulation setting (network, source, sink,
/// workload, events, configuration): what every simulation of it, and every failure
/// case, shares.
#[derive(Debug, Clone, Copy)]
pub struct CaseSetting<'a> {
    pub st: &'a StaticFigures,
    pub network: &'a Network,
    pub source: usize,
    pub sink: usize,
    pub workload: &'a SimWorkload,
    pub events: &'a [WhatIf],
    pub config: &'a SimConfig,
}

/// Simulates the candidate of `s`: its plan, or its failover deployment
/// ([`failover_deployment`]) when partitions have standbys; the trace is recorded when
/// `s.config.trace`.
pub fn run_candidate(s: &CaseSetting<'_>) -> Result<(SimReport, Vec<TraceRecord>), SimError> {
    let (network, workload, events, config) = (s.network, s.workload, s.events, s.config);
    match failover_deployment(s.st, s.source, s.sink, config.failover_ns) {
        None => sim::simulate_traced(
            &inference_plan(s.st, s.source, s.sink),
            network,
            workload,
            events,
            config,
        ),
        Some((plans, policy)) => {
            sim::simulate_failover(&plans, &policy, network, workload, events, config)
        }
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

/// Inference energy of a simulation per completed request, mJ: Σ over devices of
/// compute + radio transmit + radio receive energy (no idle power), divided by the
/// completed requests. `None` when nothing completed.
///
/// This is what the `EnergyPerInference` objective measures (`docs/objectives.md`);
/// [`SimReport::energy_mj_per_inference`](crate::sim::SimReport) also charges the
/// idle power of every device over the horizon.
pub fn inference_energy_mj(r: &SimReport) -> Option<f64> {
    (r.completed > 0).then(|| {
        r.devices
            .values()
            .map(|d| d.energy.compute_mj + d.energy.tx_mj + d.energy.rx_mj)
            .sum::<f64>()
            / r.completed as f64
    })
}

/// Simulates the candidate of `s` (no trace) and condenses the report into
/// [`SimFigures`].
pub fn simulate_candidate(s: &CaseSetting<'_>) -> Result<SimFigures, SimError> {
    let config = SimConfig {
        trace: false,
        ..s.config.clone()
    };
    let (r, _) = run_candidate(&CaseSetting {
        config: &config,
        ..*s
    })?;
    Ok(condense(&r, s.st, s.network, s.source, s.sink))
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
    let devices: Vec<DeviceFigures> = network
        .devices()
        .iter()
        .filter_map(|d| {
            r.devices.get(&d.id).map(|x| DeviceFigures {
                id: d.id.clone(),
                busy_fraction: x.busy_fraction,
                energy_mj_per_inference: (x.energy.compute_mj + x.energy.tx_mj + x.energy.rx_mj)
                    / completed,
                idle_mj_per_inference: x.energy.idle_mj / completed,
                lifetime_s: x.lifetime_s,
            })
        })
        .collect();
    let used: Vec<usize> = st.partitions.iter().map(|p| p.device).collect();
    let max_device_energy_mj = devices
        .iter()
        .enumerate()
        .filter(|(i, _)| used.contains(i) || *i == source || *i == sink)
        .map(|(_, d)| d.energy_mj_per_inference)
        .fold(0.0, f64::max);
    let ok = r.completed > 0;
    SimFigures {
        latency_mean_ms: if ok { r.latency_ms.mean } else { penalty },
        latency_p95_ms: if ok { r.latency_ms.p95 } else { penalty },
        energy_mj_per_inference: inference_energy_mj(r).unwrap_or(penalty),
        idle_mj_per_inference: if ok {
            devices.iter().map(|d| d.idle_mj_per_inference).sum()
        } else {
            penalty
        },
        max_device_energy_mj: if ok { max_device_energy_mj } else { penalty },
        lifetime_s: r.network_lifetime_s,
        requests: r.requests,
        completed: r.completed,
        dropped: r.dropped,
        deadline_misses: r.deadline_misses,
        link_bytes: r.links.values().map(|l| l.bytes).sum(),
        devices,
        link_utilisation: network
            .links()
            .iter()
            .map(|l| {
                let id = format!(
                    "{}-{}",
                    network.devices()[l.a].id,
                    network.devices()[l.b].id
                );
                r.links.get(&id).map_or(0.0, |x| x.utilisation)
            })
            .collect(),
        robustness: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::measure::{static_figures, PartitionFigures};
    use crate::network::{Device, Link};

    fn dev(id: &str, active: f64, idle: f64, tx: f64, rx: f64) -> Device {
        Device {
            id: id.into(),
            profile: "p".into(),
            flash_bytes: 1 << 20,
            sram_bytes: 1 << 20,
            mac_per_s: 1e8,
            layer_overhead_us: 0.0,
            active_mw: active,
            idle_mw: idle,
            tx_mw: tx,
            rx_mw: rx,
            battery_mj: None,
            cores: 1,
            energy_budget_mj: None,
            latency: Default::default(),
        }
    }

    /// Source `a` computes the whole network (2 ms) and sends its 90-byte output to the
    /// sink `b` over one 1 Mb/s hop: one packet of 90 + 10 header bytes, 0.8 ms of
    /// airtime. Per inference: a computes 10 mW × 2 ms = 0.02 mJ and transmits
    /// 5 mW × 0.8 ms = 0.004 mJ; b receives 3 mW × 0.8 ms = 0.0024 mJ; total 0.0264 mJ,
    /// whatever the idle powers.
    #[test]
    fn inference_energy_is_compute_plus_radio() {
        let net = Network::new(
            vec![dev("a", 10.0, 1.0, 5.0, 4.0), dev("b", 20.0, 2.0, 6.0, 3.0)],
            vec![Link {
                a: 0,
                b: 1,
                profile: "l".into(),
                bandwidth_bps: 1e6,
                latency_ms: 1.0,
                mtu_bytes: 100,
                header_bytes: 10,
                loss: 0.0,
                medium: None,
            }],
            vec![],
        );
        let part = PartitionFigures {
            device: 0,
            first_layer: 0,
            end_layer: 3,
            flash_bytes: 100,
            peak_sram_bytes: 100,
            macs: 200_000,
            compute_ns: 2_000_000,
            out_bytes: 90,
            standby: None,
        };
        let st = static_figures(vec![part], 600, &net, 0, 1);
        let w = SimWorkload::periodic(100_000_000, 10);
        let plan = inference_plan(&st, 0, 1);
        let r = sim::simulate(&plan, &net, &w, &[], &SimConfig::default()).unwrap();
        assert_eq!(r.completed, 10);
        let f = condense(&r, &st, &net, 0, 1);
        assert!((f.energy_mj_per_inference - 0.0264).abs() < 1e-12, "{f:?}");
        assert!((inference_energy_mj(&r).unwrap() - 0.0264).abs() < 1e-12);
        assert!((f.devices[0].energy_mj_per_inference - 0.024).abs() < 1e-12);
        assert!((f.devices[1].energy_mj_per_inference - 0.0024).abs() < 1e-12);
        assert!((f.max_device_energy_mj - 0.024).abs() < 1e-12);
        // Idle: 1 mW on a for the horizon minus 10 × 2.8 ms, 2 mW on b for the horizon
        // minus 10 × 0.8 ms; with the inference energy it is the simulator's total.
        let h = r.horizon_s * 1e3;
        let idle = (1.0 * (h - 28.0) + 2.0 * (h - 8.0)) * 1e-3 / 10.0;
        assert!((f.idle_mj_per_inference - idle).abs() < 1e-12, "{f:?}");
        let total = r.energy_mj_per_inference.unwrap();
        assert!((f.energy_mj_per_inference + f.idle_mj_per_inference - total).abs() < 1e-12);
    }
}
