//! Switching among members at run time, batteries and samples
//! ([`crate::sim::deployment`], [`crate::sim::policy`]).

use super::{Ev, InferenceModel};
use crate::network::Network;
use crate::sim::deployment::{
    Deployment, DeploymentReport, Sample, SwitchRecord, MAX_SAMPLES, MAX_SWITCH_RECORDS,
};
use crate::sim::energy::device_energy;
use crate::sim::engine::{Scheduler, Time};
use crate::sim::policy::{Cond, SwitchPolicy};
use std::collections::VecDeque;

/// A switch in progress.
#[derive(Debug, Clone, Copy)]
pub(super) struct Switching {
    to: usize,
    pending: usize,
    start: Time,
    generation: u64,
}

/// State of the policy, batteries and samples.
#[derive(Debug)]
pub(super) struct Adaptive {
    /// Batteries are checked and samples taken (deployment simulations).
    pub(super) deploy: bool,
    pub(super) policy: SwitchPolicy,
    pub(super) active: usize,
    active_since: Time,
    deployed_ns: Vec<u64>,
    accuracy: Vec<f64>,
    switch_plans: Vec<Vec<u32>>,
    pub(super) switching: Option<Switching>,
    generation: u64,
    /// Requests held during a switch (`DuringSwitch::Queue`).
    pub(super) held: Vec<u32>,
    dwell_until: Time,
    /// Outcomes (true: missed or dropped) of the last `window_cap` requests.
    window: VecDeque<bool>,
    window_cap: usize,
    window_misses: usize,
    switches: u64,
    aborted: u64,
    switch_log: Vec<SwitchRecord>,
    /// Battery thresholds of the rules: (device, remaining fraction).
    pub(super) thresholds: Vec<(usize, f64)>,
    stop_at_first_death: bool,
    /// Time and per-device energy (mJ) at the last battery check.
    pub(super) prev_check: Option<(Time, Vec<f64>)>,
    /// Death: time (ns, fractional), device, per-device energy then.
    death: Option<(f64, usize, Vec<f64>)>,
    pub(super) sample_every: Time,
    pub(super) next_sample: Time,
    samples: Vec<Sample>,
}

impl Adaptive {
    pub(super) fn new(
        dep: &Deployment,
        switch_plans: Vec<Vec<u32>>,
        net: &Network,
        deploy: bool,
    ) -> Self {
        let p = dep.policy.clone();
        let window_cap = p.window();
        Adaptive {
            deploy,
            active: p.start,
            active_since: 0,
            deployed_ns: vec![0; dep.plans.len()],
            accuracy: dep.accuracy.to_vec(),
            switch_plans,
            switching: None,
            generation: 0,
            held: Vec::new(),
            dwell_until: 0,
            window: VecDeque::with_capacity(window_cap),
            window_cap,
            window_misses: 0,
            switches: 0,
            aborted: 0,
            switch_log: Vec::new(),
            thresholds: p.battery_thresholds(),
            stop_at_first_death: dep.stop_at_first_death
                && net.devices().iter().any(|d| d.battery_mj.is_some()),
            prev_check: None,
            death: None,
            sample_every: if deploy { dep.sample_every_ns } else { 0 },
            next_sample: 0,
            samples: Vec::new(),
            policy: p,
        }
    }

    /// Records a finished member request in the deadline window.
    #[inline]
    pub(super) fn outcome(&mut self, miss: bool) {
        if self.window_cap == 0 {
            return;
        }
        if self.window.len() == self.window_cap && self.window.pop_front() == Some(true) {
            self.window_misses -= 1;
        }
        self.window.push_back(miss);
        self.window_misses += usize::from(miss);
    }

    /// The window is full of one outcome, `miss`, so more of it changes nothing.
    pub(super) fn window_steady(&self, miss: bool) -> bool {
        self.window_cap == 0
            || (self.window.len() == self.window_cap
                && self.window_misses == if miss { self.window_cap } else { 0 })
    }
}

impl InferenceModel {
    /// Energy device `d` has used by `now`, mJ.
    pub(super) fn energy_at(&self, d: usize, now: Time) -> f64 {
        let st = &self.devs[d];
        device_energy(&self.net.devices()[d], st.busy_ns, st.tx_ns, st.rx_ns, now).total_mj
    }

    fn holds(&self, c: &Cond, now: Time) -> bool {
        match c {
            Cond::BatteryBelow(d, f) => {
                let b = self.net.devices()[*d].battery_mj.unwrap_or(f64::INFINITY);
                1.0 - self.energy_at(*d, now) / b < *f
            }
            Cond::LinkBandwidthBelow(l, bps) => {
                let bw = if self.net.is_link_up(*l) {
                    self.net.links()[*l].bandwidth_bps * self.net.bandwidth_factor(*l)
                } else {
                    0.0
                };
                bw < *bps
            }
            Cond::MissesAbove { count, .. } => self.ad.window_misses > *count,
            Cond::DeviceDown(d, ns) => {
                !self.net.is_device_up(*d) && now >= self.down_since[*d].saturating_add(*ns)
            }
            Cond::All(cs) => cs.iter().all(|c| self.holds(c, now)),
        }
    }

    /// The member the rules want now (first match; else the start member).
    pub(super) fn wanted(&self, now: Time) -> usize {
        self.ad
            .policy
            .rules
            .iter()
            .find(|(c, _)| self.holds(c, now))
            .map_or(self.ad.policy.start, |r| r.1)
    }

    /// Checks the batteries at an arrival; on the first empty one, records the death
    /// (interpolated since the previous check) and stops the run.
    pub(super) fn battery_died(&mut self, now: Time, s: &mut Scheduler<Ev>) -> bool {
        if !self.ad.stop_at_first_death {
            return false;
        }
        let e1: Vec<f64> = (0..self.devs.len())
            .map(|d| self.energy_at(d, now))
            .collect();
        let (t0, e0) = self
            .ad
            .prev_check
            .take()
            .unwrap_or_else(|| (0, vec![0.0; e1.len()]));
        let mut death: Option<(f64, usize)> = None;
        for (d, dev) in self.net.devices().iter().enumerate() {
            let Some(b) = dev.battery_mj else { continue };
            if e1[d] < b {
                continue;
            }
            let frac = if e1[d] > e0[d] {
                ((b - e0[d]) / (e1[d] - e0[d])).clamp(0.0, 1.0)
            } else {
                1.0
            };
            let t = t0 as f64 + frac * (now - t0) as f64;
            if death.is_none_or(|(x, _)| t < x) {
                death = Some((t, d));
            }
        }
        match death {
            None => {
                self.ad.prev_check = Some((now, e1));
                false
            }
            Some((t, d)) => {
                let frac = if now > t0 {
                    (t - t0 as f64) / (now - t0) as f64
                } else {
                    1.0
                };
                let at: Vec<f64> = e0
                    .iter()
                    .zip(&e1)
                    .map(|(a, b)| a + (b - a) * frac)
                    .collect();
                self.ad.death = Some((t, d, at));
                s.stop();
                true
            }
        }
    }

    fn levels(&self, energy: impl Fn(usize) -> f64) -> Vec<Option<f64>> {
        self.net
            .devices()
            .iter()
            .enumerate()
            .map(|(d, dev)| {
                dev.battery_mj
                    .map(|b| (100.0 * (1.0 - energy(d) / b)).max(0.0))
            })
            .collect()
    }

    fn push_sample(&mut self, t_ns: f64, battery_pct: Vec<Option<f64>>) {
        let a = &mut self.ad;
        if a.samples.len() >= MAX_SAMPLES {
            let kept: Vec<Sample> = a.samples.iter().step_by(2).cloned().collect();
            a.samples = kept;
            a.sample_every = a.sample_every.saturating_mul(2);
        }
        a.samples.push(Sample {
            t_s: t_ns * 1e-9,
            battery_pct,
            member: a.active,
        });
    }

    /// Takes a sample when one is due.
    pub(super) fn sample_if_due(&mut self, now: Time) {
        if self.ad.sample_every == 0 || now < self.ad.next_sample {
            return;
        }
        let levels = self.levels(|d| self.energy_at(d, now));
        self.push_sample(now as f64, levels);
        let every = self.ad.sample_every;
        self.ad.next_sample = (now / every + 1).saturating_mul(every);
    }

    /// Starts a switch when the rules want another member.
    pub(super) fn consider_switch(&mut self, now: Time, s: &mut Scheduler<Ev>) {
        if self.ad.switching.is_some() || now < self.ad.dwell_until {
            return;
        }
        let want = self.wanted(now);
        if want == self.ad.active {
            return;
        }
        self.ff.changes += 1;
        self.ad.generation += 1;
        let parts = self.ad.switch_plans[want].clone();
        self.ad.switching = Some(Switching {
            to: want,
            pending: parts.len(),
            start: now,
            generation: self.ad.generation,
        });
        if parts.is_empty() {
            return self.end_switch(now, false, s);
        }
        for p in parts {
            let r = self.alloc(now, self.ad.generation, p);
            self.begin_step(r, s);
        }
    }

    /// A weight write of switch `generation` finished.
    pub(super) fn switch_part_done(&mut self, generation: u64, s: &mut Scheduler<Ev>) {
        let Some(sw) = &mut self.ad.switching else {
            return;
        };
        if sw.generation != generation {
            return; // a part of an aborted switch
        }
        sw.pending -= 1;
        if sw.pending == 0 {
            self.end_switch(s.now(), false, s);
        }
    }

    /// A weight message of switch `generation` was dropped: the switch aborts.
    pub(super) fn switch_part_lost(&mut self, generation: u64, s: &mut Scheduler<Ev>) {
        if self
            .ad
            .switching
            .is_some_and(|sw| sw.generation == generation)
        {
            self.end_switch(s.now(), true, s);
        }
    }

    fn end_switch(&mut self, now: Time, aborted: bool, s: &mut Scheduler<Ev>) {
        let sw = self.ad.switching.take().expect("a switch is in progress");
        self.ff.changes += 1;
        let a = &mut self.ad;
        if a.switch_log.len() < MAX_SWITCH_RECORDS {
            a.switch_log.push(SwitchRecord {
                start_s: sw.start as f64 * 1e-9,
                end_s: now as f64 * 1e-9,
                from: a.active,
                to: sw.to,
                aborted,
            });
        }
        a.dwell_until = now.saturating_add(a.policy.min_dwell_ns);
        if aborted {
            a.aborted += 1;
        } else {
            a.switches += 1;
            a.deployed_ns[a.active] += now - a.active_since;
            a.active = sw.to;
            a.active_since = now;
            if a.sample_every > 0 {
                let levels = self.levels(|d| self.energy_at(d, now));
                self.push_sample(now as f64, levels);
            }
        }
        let plan = self.ad.active as u32;
        let first = self.plans[plan as usize].first;
        for r in std::mem::take(&mut self.ad.held) {
            let q = &mut self.reqs[r as usize];
            q.plan = plan;
            q.step = first;
            self.begin_step(r, s);
        }
    }

    /// Closes the deployment's books at the end of the run (`horizon`: the clock).
    pub(super) fn finish(&mut self, horizon: Time) -> DeploymentReport {
        let (end_ns, energy, death) = match self.ad.death.take() {
            Some((t, d, e)) => (t, e, Some(d)),
            None => (
                horizon as f64,
                (0..self.devs.len())
                    .map(|d| self.energy_at(d, horizon))
                    .collect(),
                None,
            ),
        };
        let a = &mut self.ad;
        let mut deployed: Vec<f64> = a.deployed_ns.iter().map(|&ns| ns as f64 * 1e-9).collect();
        if let Some(x) = deployed.get_mut(a.active) {
            *x += (end_ns - a.active_since as f64).max(0.0) * 1e-9;
        }
        if a.sample_every > 0 {
            let levels = self.levels(|d| energy[d]);
            self.push_sample(end_ns, levels);
        }
        let a = &self.ad;
        let weighted: f64 = self
            .completed_per_member
            .iter()
            .zip(&a.accuracy)
            .map(|(&c, &acc)| c as f64 * acc)
            .sum();
        let completed: u64 = self.completed_per_member.iter().sum();
        DeploymentReport {
            lifetime_s: death.map(|_| end_ns * 1e-9),
            first_to_die: death.map(|d| self.net.devices()[d].id.clone()),
            end_s: end_ns * 1e-9,
            switches: a.switches,
            aborted_switches: a.aborted,
            completed_per_member: self.completed_per_member.clone(),
            deployed_s_per_member: deployed,
            accuracy_weighted_throughput: weighted,
            mean_accuracy: (completed > 0 && !a.accuracy.is_empty())
                .then(|| weighted / completed as f64),
            energy_mj: energy,
            switch_log: a.switch_log.clone(),
            samples: a.samples.clone(),
            fast_forwarded_periods: self.ff.periods,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::network::tests::{device, link};
    use crate::network::Network;
    use crate::sim::deployment::{Deployment, DeploymentReport};
    use crate::sim::policy::{Cond, DuringSwitch, SwitchPolicy};
    use crate::sim::{
        simulate_deployment, Change, InferencePlan, SimConfig, SimReport, SimWorkload, Stage,
        WhatIf,
    };

    const MS: u64 = 1_000_000;

    /// Member on device 0 alone: compute `ms`, nothing sent (source = sink = 0).
    fn local(ms: u64) -> InferencePlan {
        InferencePlan {
            source: 0,
            sink: 0,
            input_bytes: 0,
            stages: vec![Stage {
                device: 0,
                compute_ns: ms * MS,
                output_bytes: 0,
            }],
        }
    }

    /// One node (active 20 mW, idle 1 mW, 100 mJ battery), optionally a mains store.
    fn node(with_store: bool) -> Network {
        let mut a = device("node");
        a.battery_mj = Some(100.0);
        if with_store {
            Network::new(vec![a, device("store")], vec![link(0, 1, 1e6, 1.0)], vec![])
        } else {
            Network::new(vec![a], vec![], vec![])
        }
    }

    fn deploy(
        net: &Network,
        plans: &[InferencePlan],
        policy: &SwitchPolicy,
        events: &[WhatIf],
        horizon_ns: Option<u64>,
        no_fast_forward: bool,
    ) -> (SimReport, DeploymentReport) {
        let weights = vec![vec![1000u64]; plans.len()];
        let acc = [0.9, 0.8];
        let dep = Deployment {
            plans,
            weight_bytes: &weights,
            accuracy: &acc[..plans.len()],
            policy,
            horizon_ns,
            stop_at_first_death: true,
            sample_every_ns: 0,
        };
        let cfg = SimConfig {
            no_fast_forward,
            ..Default::default()
        };
        let w = SimWorkload::periodic(100 * MS, usize::MAX);
        simulate_deployment(&dep, net, &w, events, &cfg).unwrap()
    }

    fn battery_policy(during: DuringSwitch) -> SwitchPolicy {
        SwitchPolicy {
            rules: vec![(Cond::BatteryBelow(0, 0.5), 1)],
            during_switch: during,
            ..SwitchPolicy::fixed(0)
        }
    }

    #[test]
    fn threshold_policy_lifetime_equals_the_hand_computation() {
        // Period 100 ms. Member A computes 10 ms: 20·0.010 + 1·0.090 = 0.29 mJ per
        // period; B computes 2 ms: 0.04 + 0.098 = 0.138 mJ. At arrival k (t = k/10 s)
        // A has used 0.29 k mJ; remaining < 50 % first at k = 173 (50.17 mJ): the
        // switch writes 1,000 bytes at 32,000 B/s = 31.25 ms at 20 mW, request 173
        // waits for it (latency 31.25 + 2 = 33.25 ms). That period costs
        // 20·0.03325 + 1·0.06675 = 0.73175 mJ, so arrival k ≥ 174 finds
        // 50.90175 + 0.138 (k − 174) mJ: 99.89175 at k = 529, 100.02975 at k = 530.
        // Death by interpolation: 52.9 + 0.1 · (100 − 99.89175) / 0.138 s.
        let net = node(false);
        let plans = [local(10), local(2)];
        let policy = battery_policy(DuringSwitch::Queue);
        let (r, d) = deploy(&net, &plans, &policy, &[], None, false);
        let life = 52.9 + 0.1 * (100.0 - 99.89175) / 0.138;
        assert!((d.lifetime_s.unwrap() - life).abs() < 1e-9, "{d:?}");
        assert_eq!(d.first_to_die.as_deref(), Some("node"));
        assert_eq!(d.switches, 1);
        let sw = &d.switch_log[0];
        assert!((sw.start_s - 17.3).abs() < 1e-12 && (sw.end_s - 17.33125).abs() < 1e-12);
        assert_eq!(d.completed_per_member, vec![173, 357]);
        assert_eq!(r.completed, 530);
        assert!((r.latency_ms.max - 33.25).abs() < 1e-12);
        let mean = (173.0 * 0.9 + 357.0 * 0.8) / 530.0;
        assert!((d.mean_accuracy.unwrap() - mean).abs() < 1e-12);
        assert!((d.accuracy_weighted_throughput - (173.0 * 0.9 + 357.0 * 0.8)).abs() < 1e-9);
        assert!((d.energy_mj[0] - 100.0).abs() < 1e-9);
        assert!(
            d.fast_forwarded_periods > 400,
            "{}",
            d.fast_forwarded_periods
        );
        // event by event: the same figures, to the byte
        let (r2, d2) = deploy(&net, &plans, &policy, &[], None, true);
        assert_eq!(r.to_json(), r2.to_json());
        assert_eq!(
            serde_json::to_string(&d).unwrap(),
            serde_json::to_string(&DeploymentReport {
                fast_forwarded_periods: d.fast_forwarded_periods,
                ..d2
            })
            .unwrap()
        );
        // A alone: 0.29 k mJ, 99.76 at k = 344, 100.05 at k = 345
        let (_, a) = deploy(&net, &plans[..1], &SwitchPolicy::fixed(0), &[], None, false);
        assert!((a.lifetime_s.unwrap() - (34.4 + 0.1 * 0.24 / 0.29)).abs() < 1e-9);
        // requests arriving during the switch can be dropped instead
        let (r, d) = deploy(
            &net,
            &plans,
            &battery_policy(DuringSwitch::Drop),
            &[],
            None,
            false,
        );
        assert_eq!(
            (
                r.dropped,
                d.completed_per_member[1] + d.completed_per_member[0]
            ),
            (1, r.completed)
        );
    }

    #[test]
    fn weights_sent_from_a_store_cost_airtime_then_the_write() {
        // 1,000 bytes over the 1 Mb/s link: ⌈1000/80⌉ = 13 packets, 1,260 wire bytes,
        // 10.08 ms of airtime + 1 ms latency, then the 31.25 ms write: the switch
        // begun at 17.3 s ends at 17.34233 s; the held request then computes 2 ms.
        let net = node(true);
        let plans = [local(10), local(2)];
        let policy = SwitchPolicy {
            weights_from: Some(1),
            ..battery_policy(DuringSwitch::Queue)
        };
        let (r, d) = deploy(&net, &plans, &policy, &[], Some(20_000 * MS), false);
        let sw = &d.switch_log[0];
        assert!((sw.start_s - 17.3).abs() < 1e-12);
        assert!((sw.end_s - 17.34233).abs() < 1e-12, "{sw:?}");
        assert!((r.latency_ms.max - 44.33).abs() < 1e-12);
        assert_eq!(r.links["node-store"].bytes, 1000);
        assert_eq!(r.devices["node"].rx_ns, 10_080_000);
        assert_eq!(r.devices["store"].tx_ns, 10_080_000);
        assert_eq!(d.lifetime_s, None);
        assert!((d.end_s - 20.0).abs() < 1e-12);
    }

    #[test]
    fn bandwidth_rule_switches_away_and_back_at_the_event_times() {
        // A sends 10,000 bytes to the store (airtime 100 ms at 1 Mb/s without
        // headers); B sends 10. The link drops to 10 % at 5 s and recovers at 10 s;
        // the rule wants B while the bandwidth is below 500 kb/s.
        let net = node(true);
        let send = |bytes| InferencePlan {
            source: 0,
            sink: 1,
            input_bytes: 0,
            stages: vec![Stage {
                device: 0,
                compute_ns: MS,
                output_bytes: bytes,
            }],
        };
        let plans = [send(10_000), send(10)];
        let policy = SwitchPolicy {
            rules: vec![(Cond::LinkBandwidthBelow(0, 5e5), 1)],
            ..SwitchPolicy::fixed(0)
        };
        let ev = |s: u64, f| WhatIf {
            at_ns: s * 1000 * MS,
            change: Change::LinkBandwidth(0, f),
        };
        let events = [ev(5, 0.1), ev(10, 1.0)];
        let (_, d) = deploy(&net, &plans, &policy, &events, Some(15_000 * MS), false);
        assert_eq!(d.switches, 2);
        let starts: Vec<f64> = d.switch_log.iter().map(|s| s.start_s).collect();
        assert_eq!(starts, vec![5.0, 10.0]);
        assert_eq!(
            d.switch_log.iter().map(|s| s.to).collect::<Vec<_>>(),
            vec![1, 0]
        );
        let (_, e) = deploy(&net, &plans, &policy, &events, Some(15_000 * MS), true);
        assert_eq!(d.switch_log, e.switch_log);
        assert_eq!(d.completed_per_member, e.completed_per_member);
    }
}
