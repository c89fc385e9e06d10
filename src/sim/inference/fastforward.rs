//! Exact fast-forward over repeating periods ([`crate::sim::deployment`]).

use super::{Ev, InferenceModel, LinkAcc, ServiceTime};
use crate::network::Network;
use crate::sim::energy::device_energy;
use crate::sim::engine::{Scheduler, Time};
use crate::sim::workload::{ArrivalProcess, SimWorkload, WhatIf};
use crate::sim::SimConfig;

/// The counters one period changes.
#[derive(Debug, Clone, Default)]
pub(super) struct Snapshot {
    generated: usize,
    handled: u64,
    changes: u64,
    /// busy, tx, rx, jobs per device.
    dev: Vec<[u64; 4]>,
    tx_busy: Vec<u64>,
    link: Vec<LinkAcc>,
    completed: u64,
    dropped: u64,
    misses: u64,
}

/// Fast-forward state.
#[derive(Debug)]
pub(super) struct FastForward {
    /// Periodic arrivals without jitter, fixed service, lossless links, no trace.
    pub(super) eligible: bool,
    period: Time,
    /// What-if event times, sorted.
    change_times: Vec<Time>,
    horizon: Option<Time>,
    /// Bumped by every what-if event and switch: a period with one is not repeated.
    pub(super) changes: u64,
    last: Option<Snapshot>,
    spare: Option<Snapshot>,
    /// Events the skipped periods would have handled.
    pub(super) skipped_events: u64,
    /// Periods skipped.
    pub(super) periods: u64,
}

impl FastForward {
    pub(super) fn new(
        workload: &SimWorkload,
        events: &[WhatIf],
        down_delays: &[Time],
        config: &SimConfig,
        net: &Network,
        horizon: Option<Time>,
    ) -> Self {
        let period = match workload.arrivals {
            ArrivalProcess::Periodic { period_ns } => Some(period_ns),
            _ => None,
        };
        let eligible = period.is_some_and(|p| p > 0)
            && workload.jitter_ns == 0
            && config.service == ServiceTime::Fixed
            && !config.trace
            && !config.no_fast_forward
            && net.links().iter().all(|l| l.loss == 0.0);
        // A rule on a device down for some time may start to hold that long after any
        // change (or the start): those instants bound a skip like the changes do.
        let mut change_times: Vec<Time> = events.iter().map(|e| e.at_ns).collect();
        let starts: Vec<Time> = std::iter::once(0).chain(change_times.clone()).collect();
        for d in down_delays {
            change_times.extend(starts.iter().map(|t| t.saturating_add(*d)));
        }
        change_times.sort_unstable();
        change_times.dedup();
        FastForward {
            eligible,
            period: period.unwrap_or(0),
            change_times,
            horizon,
            changes: 0,
            last: None,
            spare: None,
            skipped_events: 0,
            periods: 0,
        }
    }
}

/// Largest `n` with `now + n·period ≤ limit`.
fn periods_until(now: Time, limit: Time, period: Time) -> u64 {
    limit.saturating_sub(now) / period
}

impl InferenceModel {
    fn fill_snapshot(&self, snap: &mut Snapshot) {
        snap.generated = self.generated;
        snap.handled = self.handled;
        snap.changes = self.ff.changes;
        snap.dev.clear();
        snap.dev.extend(
            self.devs
                .iter()
                .map(|d| [d.busy_ns, d.tx_ns, d.rx_ns, d.jobs]),
        );
        snap.tx_busy.clear();
        snap.tx_busy.extend(self.txs.iter().map(|t| t.busy_ns));
        snap.link.clear();
        snap.link.extend(self.link_acc.iter().cloned());
        snap.completed = self.completed;
        snap.dropped = self.dropped;
        snap.misses = self.deadline_misses;
    }

    /// At the generation of an arrival: when the last period repeats, advances as many
    /// whole periods as nothing else happens in, and schedules the next generation.
    /// Returns whether it did (the arrival was one of the skipped ones).
    pub(super) fn fast_forward(&mut self, s: &mut Scheduler<Ev>) -> bool {
        let quiet = self.in_flight == 0 && self.ad.switching.is_none() && self.ad.held.is_empty();
        if !quiet {
            self.ff.last = None;
            return false;
        }
        let mut cur = self.ff.spare.take().unwrap_or_default();
        self.fill_snapshot(&mut cur);
        let prev = self.ff.last.replace(cur);
        let Some(prev) = prev else {
            return false;
        };
        let n = self.repeatable_periods(&prev, s.now());
        let skipped = n > 0 && {
            self.skip(&prev, n, s);
            true
        };
        self.ff.spare = Some(prev);
        skipped
    }

    /// How many periods from now repeat the last one exactly (0: none).
    fn repeatable_periods(&self, prev: &Snapshot, now: Time) -> u64 {
        let cur = self.ff.last.as_ref().expect("just stored");
        let done = cur.completed - prev.completed;
        let lost = cur.dropped - prev.dropped;
        let missed = cur.misses - prev.misses;
        let period = self.ff.period;
        let one_period = prev.generated + 1 == cur.generated
            && prev.changes == cur.changes
            && done + lost == 1
            && now >= period;
        if !one_period || !self.ad.window_steady(lost + missed > 0) {
            return 0;
        }
        if self.ad.switching.is_some() || self.wanted(now) != self.ad.active {
            return 0;
        }
        // keep the last request for the normal path (it ends the run)
        let left = (self.target - self.generated) as u64;
        let mut n = left.saturating_sub(1);
        if let Some(&t) = self.ff.change_times.iter().find(|&&t| t > now) {
            n = n.min(periods_until(now, t, period));
        }
        if let Some(h) = self.ff.horizon {
            n = n.min(periods_until(now, h, period));
        }
        if self.ad.sample_every > 0 {
            n = n.min(periods_until(now, self.ad.next_sample, period));
        }
        if self.ad.deploy && n > 0 {
            // batteries: stop two periods short of a death or a threshold crossing
            for (d, dev) in self.net.devices().iter().enumerate() {
                let Some(b) = dev.battery_mj else { continue };
                let [busy, tx, rx, _] = prev.dev[d];
                let e_prev = device_energy(dev, busy, tx, rx, now - period).total_mj;
                let e_now = self.energy_at(d, now);
                if e_now >= b {
                    return 0; // this arrival finds the battery empty
                }
                let per = e_now - e_prev;
                if per <= 0.0 {
                    continue;
                }
                let levels = std::iter::once(b).chain(
                    self.ad
                        .thresholds
                        .iter()
                        .filter(|t| t.0 == d)
                        .map(|t| (1.0 - t.1) * b),
                );
                for x in levels.filter(|&x| x > e_now) {
                    let j = ((x - e_now) / per).floor();
                    n = n.min((j - 2.0).max(0.0) as u64);
                }
            }
        }
        n
    }

    /// Adds `n` copies of the last period (from `prev` to now) and schedules the
    /// generation `n` periods later.
    fn skip(&mut self, prev: &Snapshot, n: u64, s: &mut Scheduler<Ev>) {
        let cur = self.ff.last.take().expect("just stored");
        for (d, (a, b)) in self.devs.iter_mut().zip(prev.dev.iter().zip(&cur.dev)) {
            d.busy_ns += n * (b[0] - a[0]);
            d.tx_ns += n * (b[1] - a[1]);
            d.rx_ns += n * (b[2] - a[2]);
            d.jobs += n * (b[3] - a[3]);
        }
        for (t, (a, b)) in self
            .txs
            .iter_mut()
            .zip(prev.tx_busy.iter().zip(&cur.tx_busy))
        {
            t.busy_ns += n * (b - a);
        }
        for (l, (a, b)) in self
            .link_acc
            .iter_mut()
            .zip(prev.link.iter().zip(&cur.link))
        {
            l.bytes += n * (b.bytes - a.bytes);
            l.wire_bytes += n * (b.wire_bytes - a.wire_bytes);
            l.messages += n * (b.messages - a.messages);
            l.packets += n * (b.packets - a.packets);
            l.retransmissions += n * (b.retransmissions - a.retransmissions);
            l.airtime_ns += n * (b.airtime_ns - a.airtime_ns);
        }
        let done = cur.completed - prev.completed;
        let lost = cur.dropped - prev.dropped;
        self.completed += n * done;
        self.dropped += n * lost;
        self.deadline_misses += n * (cur.misses - prev.misses);
        if done == 1 {
            self.latencies.record_n(self.last_latency, n);
            self.completed_per_member[self.ad.active] += n;
        }
        self.generated += n as usize;
        self.arrived += n as usize;
        self.ff.skipped_events += n * (cur.handled - prev.handled) - 1;
        self.ff.periods += n;
        let period = self.ff.period;
        let now = s.now();
        if self.ad.deploy && self.ad.prev_check.is_some() {
            // the battery check the last skipped arrival would have made
            let m = n - 1;
            let at = now + m * period;
            let e = self
                .net
                .devices()
                .iter()
                .enumerate()
                .map(|(d, dev)| {
                    let (a, b) = (prev.dev[d], cur.dev[d]);
                    let c = |i: usize| b[i] + m * (b[i] - a[i]);
                    device_energy(dev, c(0), c(1), c(2), at).total_mj
                })
                .collect();
            self.ad.prev_check = Some((at, e));
        }
        self.ff.spare = Some(cur);
        self.next_base = self.next_base_time();
        s.schedule_at(self.next_base, Ev::Gen)
            .expect("the next generation is in the future");
    }
}

#[cfg(test)]
mod tests {
    use crate::network::tests::{device, link};
    use crate::network::Network;
    use crate::sim::deployment::Deployment;
    use crate::sim::policy::SwitchPolicy;
    use crate::sim::{
        simulate_deployment, Change, InferencePlan, SimConfig, SimWorkload, Stage, WhatIf,
    };

    #[test]
    fn fast_forward_gives_the_event_by_event_report_through_failures() {
        // a – b – c chain plus a slower a – c shortcut; two partitions (a, b), sink c;
        // the a–b link fails and recovers, then b fails and recovers: periods before,
        // between and after the events repeat, the ones around them do not
        let mut devs = vec![device("a"), device("b"), device("c")];
        for d in &mut devs {
            d.battery_mj = Some(1e6);
        }
        let net = Network::new(
            devs,
            vec![
                link(0, 1, 2e5, 1.0),
                link(1, 2, 2e5, 1.0),
                link(0, 2, 5e4, 3.0),
            ],
            vec![],
        );
        let plan = InferencePlan {
            source: 0,
            sink: 2,
            input_bytes: 300,
            stages: vec![
                Stage {
                    device: 0,
                    compute_ns: 2_000_000,
                    output_bytes: 500,
                },
                Stage {
                    device: 1,
                    compute_ns: 3_000_000,
                    output_bytes: 10,
                },
            ],
        };
        let s = 1_000_000_000;
        let events = [
            WhatIf {
                at_ns: 30 * s + 1_234_567,
                change: Change::LinkDown(0),
            },
            WhatIf {
                at_ns: 45 * s,
                change: Change::LinkUp(0),
            },
            WhatIf {
                at_ns: 70 * s + 3_000_000,
                change: Change::DeviceDown(1),
            },
            WhatIf {
                at_ns: 71 * s,
                change: Change::DeviceUp(1),
            },
        ];
        let policy = SwitchPolicy::fixed(0);
        let plans = [plan];
        let dep = Deployment {
            plans: &plans,
            weight_bytes: &[vec![0, 0]],
            accuracy: &[0.9],
            policy: &policy,
            horizon_ns: None,
            stop_at_first_death: true,
            sample_every_ns: 7 * s,
        };
        let w = SimWorkload::periodic(50_000_000, 2_000);
        let run = |no_fast_forward| {
            let cfg = SimConfig {
                seed: 5,
                max_latency_ms: Some(40.0),
                no_fast_forward,
                ..Default::default()
            };
            simulate_deployment(&dep, &net, &w, &events, &cfg).unwrap()
        };
        let (fast, fd) = run(false);
        let (slow, sd) = run(true);
        // while a–b is down the shortcut is slower than the period: no repeats then
        assert!(
            fd.fast_forwarded_periods > 1_000,
            "{}",
            fd.fast_forwarded_periods
        );
        assert_eq!(sd.fast_forwarded_periods, 0);
        assert_eq!(fast.to_json(), slow.to_json());
        assert_eq!(fd.samples, sd.samples);
        assert_eq!(fd.energy_mj, sd.energy_mj);
        // the failures did something: requests were dropped or rerouted
        assert!(
            fast.dropped > 0 && fast.links["a-c"].messages > 0,
            "{fast:?}"
        );
    }
}
