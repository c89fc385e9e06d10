//! Failure cases of a candidate: the same simulation with devices down for the whole
//! horizon, for the scenario's failure model (`failures:`, the `Availability` and
//! `ExpectedLatencyUnderFailure` objectives) and for `simulate --failures single`
//! (`docs/robustness.md`).
//!
//! A device that runs no partition, is neither source nor sink and lies on none of the
//! candidate's nominal routes changes nothing when it fails (it sends nothing, so it
//! takes no airtime from a shared medium, and the energy per inference counts compute
//! and radio only): its case is the nominal one, not simulated again.

use super::measure::StaticFigures;
use super::objectives::{SimFigures, SIM_PENALTY};
use super::simulation::simulate_candidate;
pub use super::simulation::CaseSetting;
use super::whatif::{candidate_statics, WhatIfError};
use crate::network::Network;
use crate::partition::Candidate;
use crate::scenario::{DType, Failures};
use crate::sim::{Change, SimConfig, SimError, SimWorkload, WhatIf};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// The outcome of one failure case.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FailureCase {
    /// Ids of the devices down for the whole horizon (empty: no failure).
    pub down: Vec<String>,
    /// Probability of the case under the scenario's failure model (`None` for the
    /// cases of `simulate --failures single`, which has no model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// Requests completed / requests generated.
    pub completed_fraction: f64,
    /// Requests completed within `app.max_latency_ms` / requests generated.
    #[serde(default)]
    pub on_time_fraction: f64,
    /// 95th-percentile latency of the completed requests, ms (`None`: none completed).
    pub latency_p95_ms: Option<f64>,
    /// Inference energy per completed request, mJ (`None`: none completed).
    pub energy_mj_per_inference: Option<f64>,
    /// `false` when the case equals the nominal one without simulating it (no device
    /// down is used by the candidate).
    pub simulated: bool,
}

/// A candidate's figures under the scenario's failure model.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Robustness {
    /// Σ over the cases of probability × on-time fraction (the cases not simulated
    /// count as completing nothing, so this is a lower bound).
    pub availability: f64,
    /// Σ over the cases of probability × p95 latency / Σ of their probabilities, a
    /// case that completes nothing counting `app.max_latency_ms` (else the
    /// simulation penalty), ms.
    pub expected_latency_ms: f64,
    /// Every case, the no-failure one first.
    pub cases: Vec<FailureCase>,
}

/// Something down in a failure case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Down {
    /// A device (index).
    Device(usize),
    /// A link (index).
    Link(usize),
}

/// What the candidate uses: its partitions' devices, the source, the sink and every
/// device and link on the nominal routes of its messages (flags by index).
#[derive(Debug, Clone, PartialEq)]
pub struct Usage {
    pub devices: Vec<bool>,
    pub links: Vec<bool>,
}

impl Usage {
    /// The usage of the candidate of static figures `st` on `net`.
    pub fn of(st: &StaticFigures, net: &Network, source: usize, sink: usize) -> Usage {
        let mut devices = vec![false; net.devices().len()];
        let mut links = vec![false; net.links().len()];
        devices[source] = true;
        devices[sink] = true;
        for p in &st.partitions {
            devices[p.device] = true;
        }
        for h in st.transfers.iter().flat_map(|t| &t.hops) {
            devices[h.from] = true;
            devices[h.to] = true;
            links[h.link] = true;
        }
        Usage { devices, links }
    }

    /// `true` when `d` is used (a failure of it can change the outcome).
    pub fn uses(&self, d: Down) -> bool {
        match d {
            Down::Device(i) => self.devices[i],
            Down::Link(l) => self.links[l],
        }
    }
}

/// Id of what is down: the device's id, or the link's `"a-b"`.
pub fn down_id(net: &Network, d: Down) -> String {
    match d {
        Down::Device(i) => net.devices()[i].id.clone(),
        Down::Link(l) => super::placement::link_id(net, l),
    }
}

/// The cases of a failure model with their probabilities (devices and links fail
/// independently): the no-failure case first, then the model's `cases`, or every
/// single failure of a listed device or link. With `sample: N`, the cases are instead
/// the distinct states among `N` draws of the model from `seed` (ChaCha8; each
/// listed device, then link, down when a uniform draw is below its probability),
/// each weighted by its share of the draws: the no-failure state first (weight 0 if
/// never drawn), then the others in order. Ids are resolved against `net` (the
/// scenario was validated; a link is `"a-b"` in either order).
pub fn model_cases(f: &Failures, net: &Network, seed: u64) -> Vec<(Vec<Down>, f64)> {
    let link = |a: &str, b: &str| -> Option<usize> {
        net.link_between(net.device_index(a)?, net.device_index(b)?)
    };
    let mut listed: Vec<(Down, f64)> = f
        .devices
        .iter()
        .filter_map(|d| {
            net.device_index(&d.id)
                .map(|i| (Down::Device(i), d.probability()))
        })
        .collect();
    listed.extend(
        f.links
            .iter()
            .filter_map(|l| link(&l.a, &l.b).map(|i| (Down::Link(i), l.probability()))),
    );
    let resolve = |name: &str| -> Option<Down> {
        if let Some(i) = net.device_index(name) {
            return Some(Down::Device(i));
        }
        let (a, b) = name.split_once('-')?;
        link(a, b).map(Down::Link)
    };
    let prob = |down: &[Down]| -> f64 {
        listed
            .iter()
            .map(|&(d, p)| if down.contains(&d) { p } else { 1.0 - p })
            .product()
    };
    if let Some(n) = f.sample {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut counts: std::collections::BTreeMap<Vec<Down>, usize> = Default::default();
        counts.insert(Vec::new(), 0);
        for _ in 0..n {
            let mut state: Vec<Down> = listed
                .iter()
                .filter(|&&(_, p)| rng.random::<f64>() < p)
                .map(|&(d, _)| d)
                .collect();
            state.sort_unstable();
            *counts.entry(state).or_default() += 1;
        }
        // the empty state sorts first
        return counts
            .into_iter()
            .map(|(s, c)| (s, c as f64 / n as f64))
            .collect();
    }
    let mut sets: Vec<Vec<Down>> = vec![Vec::new()];
    match &f.cases {
        Some(cases) => {
            for c in cases {
                let mut set: Vec<Down> = c.iter().filter_map(|id| resolve(id)).collect();
                set.sort_unstable();
                set.dedup();
                if !sets.contains(&set) {
                    sets.push(set);
                }
            }
        }
        None => sets.extend(listed.iter().map(|&(d, _)| vec![d])),
    }
    sets.into_iter()
        .map(|s| {
            let p = prob(&s);
            (s, p)
        })
        .collect()
}

/// A case's figures from condensed simulation figures.
fn case_of(down: Vec<String>, f: &SimFigures, simulated: bool) -> FailureCase {
    let requests = f.requests.max(1) as f64;
    let ok = f.completed > 0;
    FailureCase {
        down,
        probability: None,
        completed_fraction: f.completed as f64 / requests,
        on_time_fraction: f.completed.saturating_sub(f.deadline_misses) as f64 / requests,
        latency_p95_ms: ok.then_some(f.latency_p95_ms),
        energy_mj_per_inference: ok.then_some(f.energy_mj_per_inference),
        simulated,
    }
}

impl CaseSetting<'_> {
    /// The candidate simulated with `down` down from time 0.
    pub fn simulate(&self, down: &[Down]) -> Result<SimFigures, SimError> {
        let mut ev: Vec<WhatIf> = down
            .iter()
            .map(|&d| WhatIf {
                at_ns: 0,
                change: match d {
                    Down::Device(i) => Change::DeviceDown(i),
                    Down::Link(l) => Change::LinkDown(l),
                },
            })
            .collect();
        ev.extend_from_slice(self.events);
        simulate_candidate(&CaseSetting {
            events: &ev,
            ..*self
        })
    }

    /// Runs `sets` (what is down from time 0; the empty set is the nominal case,
    /// whose figures are `nominal`). Cases run in parallel; the result is the same on
    /// any number of threads.
    pub fn run_cases(
        &self,
        nominal: &SimFigures,
        sets: &[Vec<Down>],
    ) -> Result<Vec<FailureCase>, SimError> {
        let usage = Usage::of(self.st, self.network, self.source, self.sink);
        let ids = |set: &[Down]| -> Vec<String> {
            set.iter().map(|&d| down_id(self.network, d)).collect()
        };
        sets.par_iter()
            .map(|set| {
                if !set.iter().any(|&d| usage.uses(d)) {
                    return Ok(case_of(ids(set), nominal, set.is_empty()));
                }
                Ok(case_of(ids(set), &self.simulate(set)?, true))
            })
            .collect()
    }

    /// The candidate's [`Robustness`] under the failure model `cases` (from
    /// [`model_cases`]).
    pub fn robustness(
        &self,
        nominal: &SimFigures,
        cases: &[(Vec<Down>, f64)],
    ) -> Result<Robustness, SimError> {
        let sets: Vec<Vec<Down>> = cases.iter().map(|c| c.0.clone()).collect();
        let mut out = self.run_cases(nominal, &sets)?;
        let failed_latency = self.config.max_latency_ms.unwrap_or(SIM_PENALTY);
        let (mut avail, mut lat, mut mass) = (0.0, 0.0, 0.0);
        for (c, (_, p)) in out.iter_mut().zip(cases) {
            c.probability = Some(*p);
            avail += p * c.on_time_fraction;
            lat += p * c.latency_p95_ms.unwrap_or(failed_latency);
            mass += p;
        }
        Ok(Robustness {
            availability: avail,
            expected_latency_ms: if mass > 0.0 {
                lat / mass
            } else {
                failed_latency
            },
            cases: out,
        })
    }
}

/// The nominal case, then one case per device of `network` (in its order) with that
/// device down from time 0 (`simulate --failures single`), each replayed with
/// `events` and `config` on the same seed, so they differ only by the failure.
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
    let st = candidate_statics(candidate, network, dtype, source, sink)?;
    let setting = CaseSetting {
        st: &st,
        network,
        source,
        sink,
        workload,
        events,
        config,
    };
    let nominal = setting.simulate(&[])?;
    let mut sets = vec![Vec::new()];
    sets.extend((0..network.devices().len()).map(|d| vec![Down::Device(d)]));
    Ok(setting.run_cases(&nominal, &sets)?)
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
    /// The setting of a candidate with source 0, no events.
    fn no_events<'a>(
        st: &'a StaticFigures,
        net: &'a Network,
        sink: usize,
        w: &'a SimWorkload,
        cfg: &'a SimConfig,
    ) -> CaseSetting<'a> {
        CaseSetting {
            st,
            network: net,
            source: 0,
            sink,
            workload: w,
            events: &[],
            config: cfg,
        }
    }

    fn diamond() -> Network {
        Network::new(
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
        )
    }

    fn whole_on_source() -> Candidate {
        crate::ronfmt::options()
            .from_str(r#"(arch: (input: [8, 1], layers: [Flatten, Dense(units: 2)]), cuts: [], map: ["s"])"#)
            .unwrap()
    }

    #[test]
    fn a_dead_relay_is_routed_around_and_an_unused_device_changes_nothing() {
        let (net, c) = (diamond(), whole_on_source());
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
            let r = crate::evaluate::whatif::replay(&c, &net, DType::Int8, 0, 3, &w, &ev, &cfg)
                .unwrap();
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

    /// The diamond again, with r1 down 10 % of the time and the sink t 5 %. By hand
    /// (independent failures, at most one at a time): P(none) = 0.9 × 0.95 = 0.855,
    /// P(r1) = 0.1 × 0.95 = 0.095, P(t) = 0.9 × 0.05 = 0.045 (both down, 0.005, is
    /// not simulated and counts as nothing completed). With a 10 ms deadline both
    /// r1 cases are on time: availability = 0.855 + 0.095 = 0.95; the expected p95 is
    /// (0.855 × 2.37216 + 0.095 × 7.54016 + 0.045 × 10) / 0.995 ms (t down: nothing
    /// completes, counted at the deadline). With a 5 ms deadline the rerouted requests
    /// are late: availability 0.855.
    #[test]
    fn availability_and_expected_latency_by_hand() {
        let net = diamond();
        let c = whole_on_source();
        let w = SimWorkload::periodic(100_000_000, 20);
        let model: Failures = crate::ronfmt::options()
            .from_str(r#"(devices: [(id: "r1", p_down: 0.1), (id: "t", p_down: 0.05)])"#)
            .unwrap();
        let cases = model_cases(&model, &net, 0);
        let sets: Vec<&[Down]> = cases.iter().map(|c| c.0.as_slice()).collect();
        assert_eq!(sets, [&[][..], &[Down::Device(1)], &[Down::Device(3)]]);
        for (got, want) in cases.iter().map(|c| c.1).zip([0.855, 0.095, 0.045]) {
            assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        }
        let rob = |deadline: f64| {
            let cfg = SimConfig {
                max_latency_ms: Some(deadline),
                ..SimConfig::default()
            };
            let st = candidate_statics(&c, &net, DType::Int8, 0, 3).unwrap();
            let setting = no_events(&st, &net, 3, &w, &cfg);
            let nominal = setting.simulate(&[]).unwrap();
            setting.robustness(&nominal, &cases).unwrap()
        };
        let r = rob(10.0);
        assert!((r.availability - 0.95).abs() < 1e-12, "{}", r.availability);
        let want = (0.855 * 2.37216 + 0.095 * 7.54016 + 0.045 * 10.0) / 0.995;
        assert!(
            (r.expected_latency_ms - want).abs() < 1e-9,
            "{}",
            r.expected_latency_ms
        );
        assert_eq!(r.cases[1].probability, Some(0.095));
        let r = rob(5.0);
        assert!((r.availability - 0.855).abs() < 1e-12, "{}", r.availability);
        assert_eq!(r.cases[1].completed_fraction, 1.0);
        assert_eq!(r.cases[1].on_time_fraction, 0.0);
    }

    /// A two-device chain a → b, a partition on each: down 10 % and 20 % of the time.
    /// Explicit cases a, b and both: by hand P = 0.1 × 0.8 = 0.08, 0.9 × 0.2 = 0.18,
    /// 0.1 × 0.2 = 0.02, and 0.72 for none: they sum to 1, and only the no-failure case
    /// completes, so the availability is 0.72. MTBF 99 h with MTTR 1 h is down 1 %.
    #[test]
    fn a_chain_is_available_only_when_both_devices_are_up() {
        let net = Network::new(
            vec![device("a"), device("b")],
            vec![link(0, 1, 1e6, 1.0)],
            vec![],
        );
        let c: Candidate = crate::ronfmt::options()
            .from_str(r#"(arch: (input: [8, 1], layers: [Flatten, Dense(units: 4), Dense(units: 2)]), cuts: [2], map: ["a", "b"])"#)
            .unwrap();
        let model: Failures = crate::ronfmt::options()
            .from_str(r#"(devices: [(id: "a", p_down: 0.1), (id: "b", mtbf_h: 4.0, mttr_h: 1.0)], cases: [["a"], ["b"], ["b", "a"]])"#)
            .unwrap();
        let cases = model_cases(&model, &net, 0);
        let probs: Vec<f64> = cases.iter().map(|c| c.1).collect();
        for (got, want) in probs.iter().zip([0.72, 0.08, 0.18, 0.02]) {
            assert!((got - want).abs() < 1e-12, "{probs:?}");
        }
        assert!((probs.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let w = SimWorkload::periodic(100_000_000, 10);
        let cfg = SimConfig::default();
        let st = candidate_statics(&c, &net, DType::Int8, 0, 1).unwrap();
        let setting = no_events(&st, &net, 1, &w, &cfg);
        let r = setting
            .robustness(&setting.simulate(&[]).unwrap(), &cases)
            .unwrap();
        assert!((r.availability - 0.72).abs() < 1e-12, "{}", r.availability);
        let down = crate::scenario::DeviceFailure {
            id: "x".into(),
            p_down: None,
            mtbf_h: Some(99.0),
            mttr_h: Some(1.0),
        };
        assert!((down.probability() - 0.01).abs() < 1e-15);
    }

    /// A link failure: the diamond's r1-t link down 10 % of the time, named `t-r1` in
    /// an explicit case. By hand: P(none) = 0.9, P(link) = 0.1; with the link down the
    /// output goes s → r2 → t (7.54016 ms), still on time, so the availability is
    /// 1 and the expected p95 is 0.9 × 2.37216 + 0.1 × 7.54016 = 2.888960 ms.
    #[test]
    fn a_dead_link_is_routed_around() {
        let net = diamond();
        let c = whole_on_source();
        let w = SimWorkload::periodic(100_000_000, 20);
        let model: Failures = crate::ronfmt::options()
            .from_str(r#"(links: [(a: "r1", b: "t", p_down: 0.1)], cases: [["t-r1"]])"#)
            .unwrap();
        let cases = model_cases(&model, &net, 0);
        assert_eq!(cases[1].0, [Down::Link(1)]);
        assert!((cases[0].1 - 0.9).abs() < 1e-12 && (cases[1].1 - 0.1).abs() < 1e-12);
        let cfg = SimConfig {
            max_latency_ms: Some(10.0),
            ..SimConfig::default()
        };
        let st = candidate_statics(&c, &net, DType::Int8, 0, 3).unwrap();
        let setting = no_events(&st, &net, 3, &w, &cfg);
        let r = setting
            .robustness(&setting.simulate(&[]).unwrap(), &cases)
            .unwrap();
        assert_eq!(r.cases[1].down, ["r1-t"]);
        assert!((r.availability - 1.0).abs() < 1e-12, "{}", r.availability);
        assert!(
            (r.expected_latency_ms - 2.888960).abs() < 1e-9,
            "{}",
            r.expected_latency_ms
        );
    }

    /// The "done when" test of standby replicas: a two-device chain, source and sink
    /// `a`; partition 1 (Flatten, Dense 4) on `a`, partition 2 (Dense 2) on `b` with a
    /// standby on `a`; `b` down 10 % of the time; failures detected after 250 ms
    /// (`Timeout(ms: 250)`); ten requests, one every 100 ms. By hand: with `b` down,
    /// the requests of 0, 100 and 200 ms go to `b` and are lost, the seven from 300 ms
    /// on run both partitions on `a`: completed 0.7, latency 10 + 10.32 + 10.08 µs =
    /// 0.0304 ms (three layers of 10 µs overhead plus 32 and 8 MACs at 10⁸ MAC/s, no
    /// transfer). Availability = 0.9 × 1 + 0.1 × 0.7 = 0.97; without the standby
    /// 0.9. The replica costs `a` the flash of partition 2.
    #[test]
    fn a_standby_takes_over_after_the_detection_time() {
        let net = Network::new(
            vec![device("a"), device("b")],
            vec![link(0, 1, 1e6, 1.0)],
            vec![],
        );
        let text = |standby: &str| {
            format!(
                r#"(arch: (input: [8, 1], layers: [Flatten, Dense(units: 4), Dense(units: 2)]), cuts: [2], map: ["a", "b"]{standby})"#
            )
        };
        let with: Candidate = crate::ronfmt::options()
            .from_str(&text(r#", standby: [None, Some("a")]"#))
            .unwrap();
        let without: Candidate = crate::ronfmt::options().from_str(&text("")).unwrap();
        let model: Failures = crate::ronfmt::options()
            .from_str(r#"(devices: [(id: "b", p_down: 0.1)], failover: Timeout(ms: 250.0))"#)
            .unwrap();
        assert_eq!(model.failover.detection_ms(), 250.0);
        let cases = model_cases(&model, &net, 0);
        let w = SimWorkload::periodic(100_000_000, 10);
        let cfg = SimConfig {
            failover_ns: 250_000_000,
            ..SimConfig::default()
        };
        let robustness = |c: &Candidate| {
            let st = candidate_statics(c, &net, DType::Int8, 0, 0).unwrap();
            let setting = no_events(&st, &net, 0, &w, &cfg);
            let nominal = setting.simulate(&[]).unwrap();
            let r = setting.robustness(&nominal, &cases).unwrap();
            (st.clone(), nominal, r)
        };
        let (st, nominal, r) = robustness(&with);
        assert!((r.availability - 0.97).abs() < 1e-12, "{}", r.availability);
        let b_down = &r.cases[1];
        assert_eq!(b_down.down, ["b"]);
        assert_eq!(b_down.completed_fraction, 0.7);
        assert!(
            (b_down.latency_p95_ms.unwrap() - 0.0304).abs() < 1e-12,
            "{b_down:?}"
        );
        let (st0, nominal0, r0) = robustness(&without);
        assert!((r0.availability - 0.9).abs() < 1e-12, "{}", r0.availability);
        assert_eq!(r0.cases[1].completed_fraction, 0.0);
        // the standby changes nothing while b is up
        assert_eq!(nominal, nominal0);
        // the replica: a holds partition 1 and a copy of partition 2
        let p2 = st.partitions[1].flash_bytes;
        assert_eq!(st.total_flash, st0.total_flash + p2);
        let flash_a = crate::evaluate::measure::memory_constraints(&st, &net)[0].value;
        assert_eq!(flash_a, (st.partitions[0].flash_bytes + p2) as f64);
    }

    /// A mid-run failure: `b` goes down at 450 ms (a what-if event) and the standby takes
    /// over at 700 ms. By hand, of the ten requests the first five complete on `b`
    /// (each is done within 2 ms), those of 500 and 600 ms are lost, the last three run
    /// on `a`: eight complete. Stepping every request gives the same report as
    /// fast-forward (which must stop at 700 ms, not only at the event).
    #[test]
    fn a_failover_during_the_run_loses_only_the_undetected_requests() {
        let net = Network::new(
            vec![device("a"), device("b")],
            vec![link(0, 1, 1e6, 1.0)],
            vec![],
        );
        let c: Candidate = crate::ronfmt::options()
            .from_str(r#"(arch: (input: [8, 1], layers: [Flatten, Dense(units: 4), Dense(units: 2)]), cuts: [2], map: ["a", "b"], standby: [None, Some("a")])"#)
            .unwrap();
        let w = SimWorkload::periodic(100_000_000, 10);
        let ev = [WhatIf {
            at_ns: 450_000_000,
            change: Change::DeviceDown(1),
        }];
        let run = |no_fast_forward: bool| {
            let cfg = SimConfig {
                failover_ns: 250_000_000,
                no_fast_forward,
                ..SimConfig::default()
            };
            crate::evaluate::whatif::replay(&c, &net, DType::Int8, 0, 0, &w, &ev, &cfg)
                .unwrap()
                .report
        };
        let r = run(false);
        assert_eq!((r.completed, r.dropped), (8, 2));
        assert_eq!(r, run(true));
    }

    /// Sampled states: r1 and t of the diamond each down half of the time, 20,000
    /// draws. The four states (none, r1, t, both) each get about a quarter of the
    /// draws (binomial standard deviation 0.003: within 0.015), their weights sum to
    /// 1, the draws are the same for the same seed and differ for another. The
    /// candidate on the source completes whenever t is up (a dead r1 is routed
    /// around), so its availability is exactly the weight of the states without t.
    #[test]
    fn sampled_states_weigh_by_their_share_of_the_draws() {
        let net = diamond();
        let model: Failures = crate::ronfmt::options()
            .from_str(
                r#"(devices: [(id: "r1", p_down: 0.5), (id: "t", p_down: 0.5)], sample: 20000)"#,
            )
            .unwrap();
        let cases = model_cases(&model, &net, 7);
        let sets: Vec<&[Down]> = cases.iter().map(|c| c.0.as_slice()).collect();
        assert_eq!(
            sets,
            [
                &[][..],
                &[Down::Device(1)],
                &[Down::Device(1), Down::Device(3)],
                &[Down::Device(3)]
            ]
        );
        for (_, w) in &cases {
            assert!((w - 0.25).abs() < 0.015, "{cases:?}");
        }
        assert!((cases.iter().map(|c| c.1).sum::<f64>() - 1.0).abs() < 1e-12);
        assert_eq!(model_cases(&model, &net, 7), cases);
        assert_ne!(model_cases(&model, &net, 8), cases);
        let w = SimWorkload::periodic(100_000_000, 20);
        let cfg = SimConfig {
            max_latency_ms: Some(10.0),
            ..SimConfig::default()
        };
        let st = candidate_statics(&whole_on_source(), &net, DType::Int8, 0, 3).unwrap();
        let setting = no_events(&st, &net, 3, &w, &cfg);
        let r = setting
            .robustness(&setting.simulate(&[]).unwrap(), &cases)
            .unwrap();
        let t_up = cases[0].1 + cases[1].1;
        assert!(
            (r.availability - t_up).abs() < 1e-12,
            "{} {t_up}",
            r.availability
        );
    }
}
