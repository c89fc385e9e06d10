//! Failure cases of a candidate: the same replay as `simulate`, with one device down
//! for the whole horizon (`simulate --failures single`, `docs/robustness.md`).
//!
//! A device that runs no partition, is neither source nor sink and lies on none of the
//! candidate's nominal routes changes nothing when it fails (it sends nothing, so it
//! takes no airtime from a shared medium, and the energy per inference counts compute
//! and radio only): its case is the nominal replay, not simulated again.

use super::measure::static_figures;
use super::run::partition_costs;
use super::whatif::{replay, WhatIfError};
use crate::network::Network;
use crate::partition::Candidate;
use crate::scenario::DType;
use crate::sim::{Change, SimConfig, SimWorkload, WhatIf};
use rayon::prelude::*;
use serde::Serialize;

/// The outcome of one failure case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailureCase {
    /// Ids of the devices down for the whole horizon (empty: no failure).
    pub down: Vec<String>,
    /// Requests completed / requests generated.
    pub completed_fraction: f64,
    /// 95th-percentile latency of the completed requests, ms (`None`: none completed).
    pub latency_p95_ms: Option<f64>,
    /// Inference energy per completed request, mJ (`None`: none completed).
    pub energy_mj_per_inference: Option<f64>,
    /// `false` when the case equals the nominal replay without simulating it (the
    /// device is not used by the candidate).
    pub simulated: bool,
}

/// Devices the candidate uses: its partitions' devices, the source, the sink and every
/// device on the nominal routes of its messages (flags by device index).
pub fn used_devices(
    candidate: &Candidate,
    network: &Network,
    dtype: DType,
    source: usize,
    sink: usize,
) -> Result<Vec<bool>, WhatIfError> {
    let costs = partition_costs(candidate, network, dtype).map_err(WhatIfError::Candidate)?;
    let st = static_figures(costs.partitions, costs.input_bytes, network, source, sink);
    let mut used = vec![false; network.devices().len()];
    used[source] = true;
    used[sink] = true;
    for p in &st.partitions {
        used[p.device] = true;
    }
    for h in st.transfers.iter().flat_map(|t| &t.hops) {
        used[h.from] = true;
        used[h.to] = true;
    }
    Ok(used)
}

/// The nominal case, then one case per device of `network` (in its order) with that
/// device down from time 0, each replayed with `events` and `config` (every case on
/// the same seed, so they differ only by the failure). Cases run in parallel; the
/// result is the same on any number of threads.
#[allow(clippy::too_many_arguments)]
pub fn single_device_failures(
    candidate: &Candidate,
    network: &Network,
    dtype: DType,
    source: usize,
    sink: usize,
    workload: &SimWorkload,
    events: &[WhatIf],
    config: &SimConfig,
) -> Result<Vec<FailureCase>, WhatIfError> {
    let used = used_devices(candidate, network, dtype, source, sink)?;
    let case = |down: Option<usize>| -> Result<FailureCase, WhatIfError> {
        let mut ev = events.to_vec();
        if let Some(d) = down {
            ev.insert(
                0,
                WhatIf {
                    at_ns: 0,
                    change: Change::DeviceDown(d),
                },
            );
        }
        let r = replay(
            candidate, network, dtype, source, sink, workload, &ev, config,
        )?;
        Ok(FailureCase {
            down: down
                .map(|d| vec![network.devices()[d].id.clone()])
                .unwrap_or_default(),
            completed_fraction: if r.report.requests == 0 {
                0.0
            } else {
                r.report.completed as f64 / r.report.requests as f64
            },
            latency_p95_ms: r.figures.latency_p95_ms,
            energy_mj_per_inference: r.figures.energy_mj_per_inference,
            simulated: true,
        })
    };
    let nominal = case(None)?;
    let mut cases: Vec<FailureCase> = (0..network.devices().len())
        .into_par_iter()
        .map(|d| {
            if used[d] {
                case(Some(d))
            } else {
                Ok(FailureCase {
                    down: vec![network.devices()[d].id.clone()],
                    simulated: false,
                    ..nominal.clone()
                })
            }
        })
        .collect::<Result<_, _>>()?;
    cases.insert(0, nominal);
    Ok(cases)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::tests::{device, link};

    /// A diamond: source `s`, sink `t`, a fast relay `r1` (1 Mb/s, 1 ms per hop) and a
    /// slow one `r2` (100 kb/s, 2 ms per hop); an idle `x` hangs off `t`. The whole
    /// network (Flatten, Dense 8 → 2: two layers of 10 µs overhead + 16 MACs at
    /// 10^8 MAC/s = 20.16 µs) runs
    /// on `s` and sends its 2-byte output to `t`: one 22-byte packet (20-byte header)
    /// per hop. By hand: via r1, 2 × (176 bit / 1 Mb/s + 1 ms) = 2.352 ms; via r2
    /// (when r1 is down), 2 × (176 bit / 100 kb/s + 2 ms) = 7.52 ms.
    #[test]
    fn a_dead_relay_is_routed_around_and_an_unused_device_changes_nothing() {
        let net = Network::new(
            vec![
                device("s"),
                device("r1"),
                device("r2"),
                device("t"),
                device("x"),
            ],
            vec![
                link(0, 1, 1e6, 1.0),
                link(1, 3, 1e6, 1.0),
                link(0, 2, 1e5, 2.0),
                link(2, 3, 1e5, 2.0),
                link(3, 4, 1e6, 1.0),
            ],
            vec![],
        );
        let c: Candidate = crate::ronfmt::options()
            .from_str(r#"(arch: (input: [8, 1], layers: [Flatten, Dense(units: 2)]), cuts: [], map: ["s"])"#)
            .unwrap();
        let w = SimWorkload::periodic(100_000_000, 20);
        let cfg = SimConfig::default();
        let cases = single_device_failures(&c, &net, DType::Int8, 0, 3, &w, &[], &cfg).unwrap();
        let ids: Vec<Vec<String>> = cases.iter().map(|c| c.down.clone()).collect();
        assert_eq!(ids[0], Vec::<String>::new());
        assert_eq!(ids[2], ["r1"]);
        let p95 = |i: usize| cases[i].latency_p95_ms.unwrap();
        assert!((p95(0) - (0.02016 + 2.352)).abs() < 1e-9, "{}", p95(0));
        // r1 down: every request rerouted over r2
        assert_eq!(cases[2].completed_fraction, 1.0);
        assert!((p95(2) - (0.02016 + 7.52)).abs() < 1e-9, "{}", p95(2));
        // r2 is off the nominal route, x is off every route: as nominal, not simulated
        for i in [3, 5] {
            assert!(!cases[i].simulated);
            assert_eq!(cases[i].latency_p95_ms, cases[0].latency_p95_ms);
        }
        // ... which is exact: simulating them gives the same figures
        for d in [2, 4] {
            let ev = [WhatIf {
                at_ns: 0,
                change: Change::DeviceDown(d),
            }];
            let r = replay(&c, &net, DType::Int8, 0, 3, &w, &ev, &cfg).unwrap();
            assert_eq!(r.figures.latency_p95_ms, cases[0].latency_p95_ms);
            assert_eq!(
                r.figures.energy_mj_per_inference,
                cases[0].energy_mj_per_inference
            );
            assert_eq!(r.report.completed, 20);
        }
        // source or sink down: nothing completes
        for i in [1, 4] {
            assert_eq!(cases[i].completed_fraction, 0.0);
            assert_eq!(cases[i].latency_p95_ms, None);
        }
    }
}
