//! Run-time switching among deployed candidates (`docs/adaptation.md`).
//!
//! A [`PolicySpec`] (a RON file given to `simulate --policy` or `adapt --policy`)
//! names a set of members (candidates, each with its test accuracy), the member
//! deployed at the start, and rules checked **at every arrival, top to bottom, first
//! match wins**; when no rule matches, the start member is wanted. When the wanted
//! member differs from the deployed one (and `min_dwell_ms` has passed since the last
//! switch ended), a switch begins:
//!
//! - every partition of the new member is written to its device's flash: a job of
//!   `flash_bytes / flash_write_bytes_per_s` seconds on the device's server at its
//!   `active_mw` (it queues behind, and delays, inference on that device);
//! - with `weights: FromDevice("<id>")` the partition's bytes first travel from that
//!   device over the network as ordinary messages (airtime, hops, shared media, tx/rx
//!   energy); with `Local` they are already on the device (e.g. an external SPI flash)
//!   and only the write is paid;
//! - requests arriving during the switch are queued until it ends (`Queue`, the
//!   default) or dropped (`Drop`); requests already in flight finish on the old member;
//! - if a weight message is dropped (a link or device failed), the switch is aborted
//!   and the old member stays deployed.
//!
//! A device's flash holds one member at a time: switching back to a member costs its
//! bytes again.

use super::engine::Time;
use super::SimError;
use crate::network::Network;
use serde::{Deserialize, Serialize};

/// Default flash write rate, bytes/s: an nRF52832 writes a word in 41 µs and erases a
/// 4 KiB page in 85 ms, so 4,096 bytes take 85 + 1024 × 0.041 ≈ 127 ms (≈ 32 KB/s).
pub const DEFAULT_FLASH_WRITE_BPS: f64 = 32_000.0;

/// A condition checked at an arrival.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Condition {
    /// The device's remaining battery is below `percent` % of its capacity.
    BatteryBelow {
        /// Device id (must have a battery).
        device: String,
        /// Threshold, % of capacity (0–100).
        percent: f64,
    },
    /// The link's current bandwidth (nominal × what-if factor; 0 while it is down) is
    /// below `bps`.
    LinkBandwidthBelow {
        /// One end of the link.
        a: String,
        /// The other end.
        b: String,
        /// Threshold, bits/s.
        bps: f64,
    },
    /// More than `count` of the last `last` finished requests missed the deadline
    /// (`app.max_latency_ms`) or were dropped.
    MissesAbove {
        /// Window length, requests (≥ 1).
        last: usize,
        /// Threshold (< `last`).
        count: usize,
    },
    /// The device is down, and has been for at least `for_ms` (default 0: as soon as
    /// it is down). A failover waits for the failure to be detected this way.
    DeviceDown {
        /// Device id.
        device: String,
        /// How long the device must have been down, ms (≥ 0).
        #[serde(default, skip_serializing_if = "is_zero")]
        for_ms: f64,
    },
    /// Every condition holds.
    All(Vec<Condition>),
}

/// One rule: when `when` holds, `use` the named member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleSpec {
    /// The condition.
    pub when: Condition,
    /// The member's name.
    #[serde(rename = "use")]
    pub use_: String,
}

/// Where a new member's weights come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub enum WeightSource {
    /// Already on each device (only the flash write is paid).
    #[default]
    Local,
    /// Sent from this device over the network, then written.
    FromDevice(String),
}

/// What happens to requests arriving during a switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum DuringSwitch {
    /// Held until the switch ends, then served by the new member (their latency
    /// includes the wait).
    #[default]
    Queue,
    /// Dropped (counted in `dropped` and as deadline misses of the window).
    Drop,
}

/// A member of a policy file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberSpec {
    /// Name used by `start` and the rules.
    pub name: String,
    /// Candidate file, relative to the policy file's folder.
    pub candidate: String,
    /// Test accuracy (default: the `test_accuracy` of the candidate's run, read from
    /// `front.json` next to its `candidates/` folder).
    #[serde(default)]
    pub accuracy: Option<f64>,
}

/// A switching policy file (RON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicySpec {
    /// The deployable members.
    pub members: Vec<MemberSpec>,
    /// The member deployed at time 0 (and wanted when no rule matches).
    pub start: String,
    /// Rules, checked top to bottom at every arrival.
    #[serde(default)]
    pub rules: Vec<RuleSpec>,
    /// Where new weights come from.
    #[serde(default)]
    pub weights: WeightSource,
    /// Flash write rate, bytes/s.
    #[serde(default = "default_flash_bps")]
    pub flash_write_bytes_per_s: f64,
    /// Requests arriving during a switch.
    #[serde(default)]
    pub during_switch: DuringSwitch,
    /// No new switch starts until this long after the last one ended (or aborted), ms.
    #[serde(default)]
    pub min_dwell_ms: f64,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

fn default_flash_bps() -> f64 {
    DEFAULT_FLASH_WRITE_BPS
}

/// A condition with device and link indices resolved.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    /// Remaining battery fraction of the device below the value (0–1).
    BatteryBelow(usize, f64),
    /// Current bandwidth of the link below bits/s.
    LinkBandwidthBelow(usize, f64),
    /// More than `count` misses among the last `last` requests.
    MissesAbove {
        /// Window length.
        last: usize,
        /// Threshold.
        count: usize,
    },
    /// The device has been down for at least this long, ns (0: is down).
    DeviceDown(usize, Time),
    /// Conjunction.
    All(Vec<Cond>),
}

/// A policy resolved against a network, members by index.
#[derive(Debug, Clone, PartialEq)]
pub struct SwitchPolicy {
    /// Member deployed at time 0 and wanted when no rule matches.
    pub start: usize,
    /// `(condition, member)` pairs, first match wins.
    pub rules: Vec<(Cond, usize)>,
    /// Device index the weights are sent from (`None`: local).
    pub weights_from: Option<usize>,
    /// Flash write rate, bytes/s.
    pub flash_write_bps: f64,
    /// Requests arriving during a switch.
    pub during_switch: DuringSwitch,
    /// Minimum time between the end of a switch and the start of the next, ns.
    pub min_dwell_ns: Time,
}

impl SwitchPolicy {
    /// A policy that always keeps member `start` (no rules): the static deployment.
    pub fn fixed(start: usize) -> Self {
        SwitchPolicy {
            start,
            rules: Vec::new(),
            weights_from: None,
            flash_write_bps: DEFAULT_FLASH_WRITE_BPS,
            during_switch: DuringSwitch::Queue,
            min_dwell_ns: 0,
        }
    }

    /// The longest deadline window of the rules (0 when none uses one).
    pub fn window(&self) -> usize {
        fn w(c: &Cond) -> usize {
            match c {
                Cond::MissesAbove { last, .. } => *last,
                Cond::All(cs) => cs.iter().map(w).max().unwrap_or(0),
                _ => 0,
            }
        }
        self.rules.iter().map(|(c, _)| w(c)).max().unwrap_or(0)
    }

    /// The distinct non-zero `for` times of the rules' `DeviceDown` conditions, ns: a
    /// rule may start to hold that long after a device went down.
    pub fn down_delays(&self) -> Vec<Time> {
        fn walk(c: &Cond, out: &mut Vec<Time>) {
            match c {
                Cond::DeviceDown(_, ns) if *ns > 0 => out.push(*ns),
                Cond::All(cs) => cs.iter().for_each(|c| walk(c, out)),
                _ => {}
            }
        }
        let mut out = Vec::new();
        for (c, _) in &self.rules {
            walk(c, &mut out);
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Battery thresholds (device, remaining fraction) the rules test.
    pub fn battery_thresholds(&self) -> Vec<(usize, f64)> {
        fn walk(c: &Cond, out: &mut Vec<(usize, f64)>) {
            match c {
                Cond::BatteryBelow(d, f) => out.push((*d, *f)),
                Cond::All(cs) => cs.iter().for_each(|c| walk(c, out)),
                _ => {}
            }
        }
        let mut out = Vec::new();
        for (c, _) in &self.rules {
            walk(c, &mut out);
        }
        out
    }
}

impl SwitchPolicy {
    /// The policy file of this policy over `network`, members `(name, candidate file,
    /// accuracy)` in member order (the inverse of [`PolicySpec::resolve`]).
    pub fn to_spec(&self, network: &Network, members: &[(String, String, f64)]) -> PolicySpec {
        fn cond(c: &Cond, net: &Network) -> Condition {
            let id = |d: usize| net.devices()[d].id.clone();
            match c {
                Cond::BatteryBelow(d, f) => Condition::BatteryBelow {
                    device: id(*d),
                    percent: f * 100.0,
                },
                Cond::LinkBandwidthBelow(l, bps) => Condition::LinkBandwidthBelow {
                    a: id(net.links()[*l].a),
                    b: id(net.links()[*l].b),
                    bps: *bps,
                },
                Cond::MissesAbove { last, count } => Condition::MissesAbove {
                    last: *last,
                    count: *count,
                },
                Cond::DeviceDown(d, ns) => Condition::DeviceDown {
                    device: id(*d),
                    for_ms: *ns as f64 / 1e6,
                },
                Cond::All(cs) => Condition::All(cs.iter().map(|c| cond(c, net)).collect()),
            }
        }
        PolicySpec {
            members: members
                .iter()
                .map(|(name, candidate, accuracy)| MemberSpec {
                    name: name.clone(),
                    candidate: candidate.clone(),
                    accuracy: Some(*accuracy),
                })
                .collect(),
            start: members[self.start].0.clone(),
            rules: self
                .rules
                .iter()
                .map(|(c, m)| RuleSpec {
                    when: cond(c, network),
                    use_: members[*m].0.clone(),
                })
                .collect(),
            weights: match self.weights_from {
                None => WeightSource::Local,
                Some(d) => WeightSource::FromDevice(network.devices()[d].id.clone()),
            },
            flash_write_bytes_per_s: self.flash_write_bps,
            during_switch: self.during_switch,
            min_dwell_ms: self.min_dwell_ns as f64 / 1e6,
        }
    }
}

impl PolicySpec {
    /// Resolves names against `network` and the member names; `members` are the
    /// names in member order.
    pub fn resolve(&self, network: &Network) -> Result<SwitchPolicy, SimError> {
        let bad = |m: String| SimError::Policy(m);
        let names: Vec<&str> = self.members.iter().map(|m| m.name.as_str()).collect();
        if names.is_empty() {
            return Err(bad("`members` is empty".into()));
        }
        for (i, n) in names.iter().enumerate() {
            if names[..i].contains(n) {
                return Err(bad(format!("member name `{n}` is used twice")));
            }
        }
        let member = |n: &str| {
            names.iter().position(|m| *m == n).ok_or_else(|| {
                bad(format!(
                    "unknown member `{n}` (expected one of: {})",
                    names.join(", ")
                ))
            })
        };
        let device = |id: &str| {
            network
                .device_index(id)
                .ok_or_else(|| SimError::UnknownDevice(id.to_string()))
        };
        fn cond(
            c: &Condition,
            network: &Network,
            device: &dyn Fn(&str) -> Result<usize, SimError>,
        ) -> Result<Cond, SimError> {
            Ok(match c {
                Condition::BatteryBelow {
                    device: id,
                    percent,
                } => {
                    let d = device(id)?;
                    if network.devices()[d].battery_mj.is_none() {
                        return Err(SimError::Policy(format!(
                            "BatteryBelow: device `{id}` has no battery"
                        )));
                    }
                    if !(0.0..=100.0).contains(percent) {
                        return Err(SimError::Policy(format!(
                            "BatteryBelow: percent must be in [0, 100], got {percent}"
                        )));
                    }
                    Cond::BatteryBelow(d, percent / 100.0)
                }
                Condition::LinkBandwidthBelow { a, b, bps } => {
                    let (ia, ib) = (device(a)?, device(b)?);
                    let l = network
                        .link_between(ia, ib)
                        .ok_or_else(|| SimError::UnknownLink {
                            a: a.clone(),
                            b: b.clone(),
                        })?;
                    if !(bps.is_finite() && *bps >= 0.0) {
                        return Err(SimError::Policy(format!(
                            "LinkBandwidthBelow: bps must be ≥ 0, got {bps}"
                        )));
                    }
                    Cond::LinkBandwidthBelow(l, *bps)
                }
                Condition::MissesAbove { last, count } => {
                    if *last == 0 || *last > 1_000_000 || count >= last {
                        return Err(SimError::Policy(format!(
                            "MissesAbove: need 1 ≤ last ≤ 1000000 and count < last, got last {last}, count {count}"
                        )));
                    }
                    Cond::MissesAbove {
                        last: *last,
                        count: *count,
                    }
                }
                Condition::DeviceDown { device: id, for_ms } => {
                    if !(for_ms.is_finite() && *for_ms >= 0.0 && *for_ms <= 1e12) {
                        return Err(SimError::Policy(format!(
                            "DeviceDown: for_ms must be ≥ 0, got {for_ms}"
                        )));
                    }
                    Cond::DeviceDown(device(id)?, (for_ms * 1e6).round() as Time)
                }
                Condition::All(cs) => Cond::All(
                    cs.iter()
                        .map(|c| cond(c, network, device))
                        .collect::<Result<_, _>>()?,
                ),
            })
        }
        let rules = self
            .rules
            .iter()
            .map(|r| Ok((cond(&r.when, network, &device)?, member(&r.use_)?)))
            .collect::<Result<Vec<_>, SimError>>()?;
        let weights_from = match &self.weights {
            WeightSource::Local => None,
            WeightSource::FromDevice(id) => Some(device(id)?),
        };
        let ok_rate =
            self.flash_write_bytes_per_s.is_finite() && self.flash_write_bytes_per_s > 0.0;
        if !ok_rate {
            return Err(bad(format!(
                "flash_write_bytes_per_s must be > 0, got {}",
                self.flash_write_bytes_per_s
            )));
        }
        let dwell_ok = self.min_dwell_ms.is_finite() && (0.0..=1e12).contains(&self.min_dwell_ms);
        if !dwell_ok {
            return Err(bad(format!(
                "min_dwell_ms must be in [0, 1e12], got {}",
                self.min_dwell_ms
            )));
        }
        Ok(SwitchPolicy {
            start: member(&self.start)?,
            rules,
            weights_from,
            flash_write_bps: self.flash_write_bytes_per_s,
            during_switch: self.during_switch,
            min_dwell_ns: super::workload::ms_to_ns(self.min_dwell_ms),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::tests::{device, link};

    fn net() -> Network {
        let mut a = device("a");
        a.battery_mj = Some(100.0);
        Network::new(vec![a, device("b")], vec![link(0, 1, 1e6, 1.0)], vec![])
    }

    fn spec(text: &str) -> PolicySpec {
        crate::ronfmt::options().from_str(text).unwrap()
    }

    /// `DeviceDown(for_ms)` resolves to nanoseconds, round-trips, feeds the delays
    /// fast-forward must stop at, and refuses a negative time.
    #[test]
    fn device_down_for_a_while() {
        let s = spec(
            r#"(members: [(name: "a", candidate: "x.ron", accuracy: 0.9),
                          (name: "b", candidate: "y.ron", accuracy: 0.8)],
                start: "a",
                rules: [(when: DeviceDown(device: "b", for_ms: 300.0), use: "b"),
                        (when: All([DeviceDown(device: "a"), DeviceDown(device: "b", for_ms: 0.5)]), use: "a")])"#,
        );
        let p = s.resolve(&net()).unwrap();
        assert_eq!(p.rules[0].0, Cond::DeviceDown(1, 300_000_000));
        assert_eq!(p.down_delays(), vec![500_000, 300_000_000]);
        let names = [("a", "x.ron", 0.9), ("b", "y.ron", 0.8)]
            .map(|(n, c, a)| (n.to_string(), c.to_string(), a));
        assert_eq!(p.to_spec(&net(), &names).resolve(&net()).unwrap(), p);
        let bad = spec(
            r#"(members: [(name: "a", candidate: "x.ron")], start: "a",
                rules: [(when: DeviceDown(device: "b", for_ms: -1.0), use: "a")])"#,
        );
        assert!(bad
            .resolve(&net())
            .unwrap_err()
            .to_string()
            .contains("for_ms must be ≥ 0, got -1"));
    }

    #[test]
    fn resolves_names_and_rejects_bad_ones() {
        let s = spec(
            r#"(members: [(name: "big", candidate: "x.ron", accuracy: 0.9),
                          (name: "small", candidate: "y.ron")],
                start: "big",
                rules: [(when: All([BatteryBelow(device: "a", percent: 30.0),
                                    LinkBandwidthBelow(a: "b", b: "a", bps: 1e5)]),
                         use: "small"),
                        (when: MissesAbove(last: 10, count: 3), use: "small")],
                weights: FromDevice("b"))"#,
        );
        let p = s.resolve(&net()).unwrap();
        assert_eq!(p.start, 0);
        assert_eq!(
            p.rules[0],
            (
                Cond::All(vec![
                    Cond::BatteryBelow(0, 0.3),
                    Cond::LinkBandwidthBelow(0, 1e5)
                ]),
                1
            )
        );
        assert_eq!(p.weights_from, Some(1));
        assert_eq!(p.window(), 10);
        assert_eq!(p.battery_thresholds(), vec![(0, 0.3)]);
        assert_eq!(p.flash_write_bps, DEFAULT_FLASH_WRITE_BPS);
        assert_eq!(p.during_switch, DuringSwitch::Queue);
        let names = [("big", "x.ron", 0.9), ("small", "y.ron", 0.8)]
            .map(|(n, c, a)| (n.to_string(), c.to_string(), a));
        let back = p.to_spec(&net(), &names);
        assert_eq!(back.resolve(&net()).unwrap(), p);
        assert_eq!(back.members[1].accuracy, Some(0.8));
        let err = |t: &str| spec(t).resolve(&net()).unwrap_err().to_string();
        assert!(
            err(r#"(members: [(name: "m", candidate: "x")], start: "n")"#)
                .contains("unknown member `n`")
        );
        assert!(err(r#"(members: [(name: "m", candidate: "x")], start: "m",
                rules: [(when: BatteryBelow(device: "b", percent: 5.0), use: "m")])"#)
        .contains("has no battery"));
        assert!(err(r#"(members: [(name: "m", candidate: "x")], start: "m",
                rules: [(when: MissesAbove(last: 3, count: 3), use: "m")])"#)
        .contains("count < last"));
        assert!(err(
            r#"(members: [(name: "m", candidate: "x"), (name: "m", candidate: "y")], start: "m")"#
        )
        .contains("used twice"));
    }
}
