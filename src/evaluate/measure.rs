//! Static figures of a candidate (from its partition costs and the topology's routes)
//! and its constraints.

use crate::network::{Hop, Network};
use crate::partition::Standby;

/// Costs of one partition, in the units the pipeline uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionFigures {
    /// Device index (into `Network::devices`).
    pub device: usize,
    /// First layer (inclusive).
    pub first_layer: usize,
    /// Last layer (exclusive).
    pub end_layer: usize,
    /// Flash of the partition, bytes.
    pub flash_bytes: u64,
    /// Peak SRAM of the partition (receive buffer included), bytes.
    pub peak_sram_bytes: u64,
    /// Multiply-accumulates per inference.
    pub macs: u64,
    /// Compute time on its device, ns.
    pub compute_ns: u64,
    /// Bytes of its output tensor.
    pub out_bytes: u64,
    /// Its standby device and compute time there, if it has one.
    pub standby: Option<Standby>,
}

impl PartitionFigures {
    /// `true` when device `d` runs the partition or holds its standby replica.
    pub fn held_by(&self, d: usize) -> bool {
        self.device == d || self.standby.is_some_and(|s| s.device == d)
    }
}

/// One message of an inference between two different devices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// Sending device index.
    pub from: usize,
    /// Receiving device index.
    pub to: usize,
    /// Payload bytes.
    pub bytes: u64,
    /// Least-latency route on the nominal network (empty when unreachable).
    pub hops: Vec<Hop>,
}

/// Everything about a candidate that needs neither simulation nor training.
#[derive(Debug, Clone, PartialEq)]
pub struct StaticFigures {
    pub partitions: Vec<PartitionFigures>,
    /// Bytes of the input tensor.
    pub input_bytes: u64,
    /// Input (source → first partition), cut tensors between different devices, output
    /// (last partition → sink), in order.
    pub transfers: Vec<Transfer>,
    /// Σ payload bytes × hops over the transfers (bytes put on links per inference).
    pub exchanged_bytes: u64,
    /// Σ hops over the transfers.
    pub hops: u64,
    /// Σ flash of the partitions and of their standby replicas, bytes.
    pub total_flash: u64,
    /// Largest peak SRAM of a partition, bytes.
    pub max_sram: u64,
    /// `true` when some transfer has no route (the candidate cannot run).
    pub unreachable: bool,
}

/// Builds the static figures: routes every transfer on `network` (nominal state).
pub fn static_figures(
    partitions: Vec<PartitionFigures>,
    input_bytes: u64,
    network: &Network,
    source: usize,
    sink: usize,
) -> StaticFigures {
    let mut msgs: Vec<(usize, usize, u64)> = Vec::new();
    if let Some(first) = partitions.first() {
        msgs.push((source, first.device, input_bytes));
    }
    for w in partitions.windows(2) {
        msgs.push((w[0].device, w[1].device, w[0].out_bytes));
    }
    if let Some(last) = partitions.last() {
        msgs.push((last.device, sink, last.out_bytes));
    }
    let mut transfers = Vec::new();
    let mut unreachable = false;
    for (from, to, bytes) in msgs.into_iter().filter(|m| m.0 != m.1) {
        let hops = match network.route(from, to, bytes) {
            Some(r) => r.hops,
            None => {
                unreachable = true;
                Vec::new()
            }
        };
        transfers.push(Transfer {
            from,
            to,
            bytes,
            hops,
        });
    }
    let exchanged_bytes = transfers
        .iter()
        .map(|t| t.bytes * t.hops.len() as u64)
        .sum();
    let hops = transfers.iter().map(|t| t.hops.len() as u64).sum();
    StaticFigures {
        total_flash: partitions
            .iter()
            .map(|p| p.flash_bytes * (1 + u64::from(p.standby.is_some())))
            .sum(),
        max_sram: partitions
            .iter()
            .map(|p| p.peak_sram_bytes)
            .max()
            .unwrap_or(0),
        partitions,
        input_bytes,
        transfers,
        exchanged_bytes,
        hops,
        unreachable,
    }
}

/// Direction of a constraint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// `value ≤ limit`.
    AtMost,
    /// `value < limit` (a value equal to the limit violates).
    Below,
    /// `value ≥ limit`.
    AtLeast,
}

/// One constraint of a candidate with its measured value.
#[derive(Debug, Clone, PartialEq)]
pub struct Constraint {
    /// Name, e.g. `flash:wrist` (see `docs/objectives.md`).
    pub name: String,
    /// Measured value.
    pub value: f64,
    /// Limit.
    pub limit: f64,
    pub bound: Bound,
}

/// Smallest violation reported for a strict bound met with equality.
const STRICT_EPS: f64 = 1e-9;

impl Constraint {
    /// A `value ≤ limit` constraint.
    pub fn at_most(name: impl Into<String>, value: f64, limit: f64) -> Self {
        Constraint {
            name: name.into(),
            value,
            limit,
            bound: Bound::AtMost,
        }
    }

    /// Normalised violation: `max(0, value/limit − 1)` for upper bounds,
    /// `max(0, 1 − value/limit)` for lower bounds (absolute when `limit` is 0);
    /// a strict bound met with equality gives 1e-9. Not finite values violate by 1e6.
    pub fn violation(&self) -> f64 {
        if !self.value.is_finite() {
            return 1e6;
        }
        let rel = |over: f64| {
            if self.limit.abs() > 0.0 {
                over / self.limit.abs()
            } else {
                over
            }
        };
        match self.bound {
            Bound::AtMost => rel(self.value - self.limit).max(0.0),
            Bound::Below => {
                if self.value >= self.limit {
                    rel(self.value - self.limit).max(STRICT_EPS)
                } else {
                    0.0
                }
            }
            Bound::AtLeast => rel(self.limit - self.value).max(0.0),
        }
    }

    /// Distance to the limit in the constraint's unit, positive when satisfied.
    pub fn slack(&self) -> f64 {
        match self.bound {
            Bound::AtMost | Bound::Below => self.limit - self.value,
            Bound::AtLeast => self.value - self.limit,
        }
    }
}

/// Per-device memory constraints, for every device of the network in order (so every
/// candidate has the same list): `flash:<id>` (Σ flash of the device's partitions) and
/// `sram:<id>` (largest peak SRAM of its partitions; 0 for an unused device). A standby
/// replica counts on its standby device as a partition of it.
pub fn memory_constraints(st: &StaticFigures, network: &Network) -> Vec<Constraint> {
    let mut out = Vec::new();
    for (d, dev) in network.devices().iter().enumerate() {
        let parts = st.partitions.iter().filter(|p| p.held_by(d));
        let flash: u64 = parts.clone().map(|p| p.flash_bytes).sum();
        let sram: u64 = parts.map(|p| p.peak_sram_bytes).max().unwrap_or(0);
        out.push(Constraint::at_most(
            format!("flash:{}", dev.id),
            flash as f64,
            dev.flash_bytes as f64,
        ));
        out.push(Constraint::at_most(
            format!("sram:{}", dev.id),
            sram as f64,
            dev.sram_bytes as f64,
        ));
    }
    out
}

/// Offered load of every link of the network in order, `link:<a>-<b>` < 1: for each transmitter (a link
/// direction, or a shared medium), Σ over the transfers it carries of their loss-free
/// airtime × `rate_hz` (requests per second). This is the queue's ρ, so a value ≥ 1
/// means the link cannot keep up with the workload.
pub fn link_constraints(st: &StaticFigures, network: &Network, rate_hz: f64) -> Vec<Constraint> {
    // Busy seconds per request per transmitter: key (link, direction) or medium.
    let mut per_tx: std::collections::BTreeMap<(usize, usize), f64> = Default::default();
    for t in &st.transfers {
        for h in &t.hops {
            let l = &network.links()[h.link];
            let secs = l.airtime_ns(t.bytes, network.bandwidth_factor(h.link)) as f64 / 1e9;
            let key = match l.medium {
                Some(m) => (usize::MAX, m),
                None => (h.link, if h.from == l.a { 0 } else { 1 }),
            };
            *per_tx.entry(key).or_default() += secs;
        }
    }
    (0..network.links().len())
        .map(|li| {
            let l = &network.links()[li];
            let busy = match l.medium {
                Some(m) => per_tx.get(&(usize::MAX, m)).copied().unwrap_or(0.0),
                None => (0..2)
                    .map(|d| per_tx.get(&(li, d)).copied().unwrap_or(0.0))
                    .fold(0.0, f64::max),
            };
            Constraint {
                name: format!(
                    "link:{}-{}",
                    network.devices()[l.a].id,
                    network.devices()[l.b].id
                ),
                value: busy * rate_hz,
                limit: 1.0,
                bound: Bound::Below,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::{Device, Link};

    fn dev(id: &str, flash: u64, sram: u64) -> Device {
        Device {
            id: id.into(),
            profile: "p".into(),
            flash_bytes: flash,
            sram_bytes: sram,
            mac_per_s: 1e8,
            layer_overhead_us: 0.0,
            active_mw: 10.0,
            idle_mw: 1.0,
            tx_mw: 5.0,
            rx_mw: 5.0,
            battery_mj: None,
            cores: 1,
            energy_budget_mj: None,
            latency: Default::default(),
        }
    }

    fn link(a: usize, b: usize, bw: f64) -> Link {
        Link {
            a,
            b,
            profile: "l".into(),
            bandwidth_bps: bw,
            latency_ms: 1.0,
            mtu_bytes: 100,
            header_bytes: 20,
            loss: 0.0,
            medium: None,
        }
    }

    fn part(device: usize, flash: u64, sram: u64, out: u64) -> PartitionFigures {
        PartitionFigures {
            device,
            first_layer: 0,
            end_layer: 1,
            flash_bytes: flash,
            peak_sram_bytes: sram,
            macs: 0,
            compute_ns: 0,
            out_bytes: out,
            standby: None,
        }
    }

    /// a — b — c chain; source a, sink c.
    fn chain() -> Network {
        Network::new(
            vec![
                dev("a", 1000, 500),
                dev("b", 4000, 2000),
                dev("c", 1 << 30, 1 << 30),
            ],
            vec![link(0, 1, 8000.0), link(1, 2, 80_000.0)],
            vec![],
        )
    }

    #[test]
    fn transfers_hops_and_bytes() {
        let net = chain();
        // Partition 0 on a (outputs 160 B), partition 1 on b (outputs 4 B); sink c.
        let st = static_figures(
            vec![part(0, 600, 300, 160), part(1, 900, 700, 4)],
            240,
            &net,
            0,
            2,
        );
        // Input a→a is free; cut a→b: 160 B over 1 hop; output b→c: 4 B over 1 hop.
        assert_eq!(st.transfers.len(), 2);
        assert_eq!(st.exchanged_bytes, 164);
        assert_eq!(st.hops, 2);
        assert_eq!(st.total_flash, 1500);
        assert_eq!(st.max_sram, 700);
        assert!(!st.unreachable);
        // Everything on a: the output crosses two hops.
        let st = static_figures(vec![part(0, 600, 300, 4)], 240, &net, 0, 2);
        assert_eq!(st.exchanged_bytes, 8);
        assert_eq!(st.hops, 2);
    }

    #[test]
    fn memory_constraints_sum_flash_and_max_sram() {
        let net = chain();
        let st = static_figures(
            vec![
                part(0, 600, 300, 16),
                part(1, 900, 700, 16),
                part(0, 500, 600, 4),
            ],
            240,
            &net,
            0,
            2,
        );
        let c = memory_constraints(&st, &net);
        let names: Vec<&str> = c.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            ["flash:a", "sram:a", "flash:b", "sram:b", "flash:c", "sram:c"]
        );
        assert_eq!(c[4].value, 0.0);
        assert_eq!(c[0].value, 1100.0);
        assert!((c[0].violation() - 0.1).abs() < 1e-12);
        assert_eq!(c[1].value, 600.0);
        assert!((c[1].violation() - 0.2).abs() < 1e-12);
        assert_eq!(c[1].slack(), -100.0);
        assert_eq!(c[2].violation(), 0.0);
        assert_eq!(c[3].slack(), 1300.0);
    }

    #[test]
    fn offered_link_load() {
        let net = chain();
        // Cut a→b of 160 B: 2 packets of 80 B payload, 160 + 2×20 = 200 B on the wire
        // = 1600 bits at 8000 bps = 0.2 s per request. At 4 Hz: ρ = 0.8.
        let st = static_figures(vec![part(0, 1, 1, 160), part(1, 1, 1, 4)], 0, &net, 0, 1);
        let c = link_constraints(&st, &net, 4.0);
        assert_eq!(c.len(), 2);
        assert_eq!(c[1].name, "link:b-c");
        assert_eq!(c[1].value, 0.0);
        assert_eq!(c[0].name, "link:a-b");
        assert!((c[0].value - 0.8).abs() < 1e-12, "{}", c[0].value);
        assert_eq!(c[0].violation(), 0.0);
        let c = link_constraints(&st, &net, 5.0);
        assert!((c[0].value - 1.0).abs() < 1e-12);
        assert_eq!(c[0].violation(), 1e-9, "strict: ρ = 1 violates");
    }

    #[test]
    fn lower_bound_violation() {
        let c = Constraint {
            name: "min_accuracy".into(),
            value: 0.6,
            limit: 0.8,
            bound: Bound::AtLeast,
        };
        assert!((c.violation() - 0.25).abs() < 1e-12);
        assert!((c.slack() + 0.2).abs() < 1e-12);
        assert_eq!(Constraint::at_most("x", f64::NAN, 1.0).violation(), 1e6);
    }
}
