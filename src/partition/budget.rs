//! Budget checks: partition flash and SRAM against their devices.

use super::PartitionCosts;
use crate::network::Network;
use std::fmt;

/// A device resource with a budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resource {
    /// Program memory (`flash_bytes`).
    Flash,
    /// Data memory (`sram_bytes`).
    Sram,
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Resource::Flash => "flash",
            Resource::Sram => "SRAM",
        })
    }
}

/// One device whose partitions need more of a resource than it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetViolation {
    /// Device index.
    pub device: usize,
    /// Device id.
    pub device_id: String,
    pub resource: Resource,
    /// Bytes needed: Σ over the partitions on the device.
    pub used_bytes: u64,
    /// Bytes available.
    pub budget_bytes: u64,
    /// Partitions on the device.
    pub partitions: Vec<usize>,
}

impl BudgetViolation {
    /// `used - budget`, bytes.
    pub fn excess_bytes(&self) -> u64 {
        self.used_bytes.saturating_sub(self.budget_bytes)
    }
    /// `excess / budget` (∞ for a zero budget).
    pub fn relative_excess(&self) -> f64 {
        self.excess_bytes() as f64 / self.budget_bytes as f64
    }
}

impl fmt::Display for BudgetViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "device {:?}: {} {} B > budget {} B (+{} B, partitions {:?})",
            self.device_id,
            self.resource,
            self.used_bytes,
            self.budget_bytes,
            self.excess_bytes(),
            self.partitions
        )
    }
}

/// Every flash and SRAM violation, per device (partitions sharing a device are summed:
/// each keeps its own weights and arena; a standby replica counts on its standby device
/// like a partition of it), in device order, flash before SRAM.
pub fn check_budgets(costs: &PartitionCosts, network: &Network) -> Vec<BudgetViolation> {
    let mut out = Vec::new();
    for (d, dev) in network.devices().iter().enumerate() {
        let held: Vec<&crate::partition::PartitionCost> = costs
            .partitions
            .iter()
            .filter(|p| p.device == d || p.standby.is_some_and(|s| s.device == d))
            .collect();
        if held.is_empty() {
            continue;
        }
        let flash: u64 = held.iter().map(|p| p.flash_bytes).sum();
        let sram: u64 = held.iter().map(|p| p.peak_sram_bytes).sum();
        for (resource, used, budget) in [
            (Resource::Flash, flash, dev.flash_bytes),
            (Resource::Sram, sram, dev.sram_bytes),
        ] {
            if used > budget {
                out.push(BudgetViolation {
                    device: d,
                    device_id: dev.id.clone(),
                    resource,
                    used_bytes: used,
                    budget_bytes: budget,
                    partitions: held.iter().map(|p| p.index).collect(),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::tests::device;
    use crate::partition::{costs, Candidate};
    use crate::scenario::DType;

    #[test]
    fn shared_device_sums_and_reports_amounts() {
        let cand: Candidate = ron::from_str(
            "Candidate(arch: Arch(input: [100, 6], layers: [Conv1d(filters: 16, kernel: 5), ReLU,
             MaxPool1d(size: 2), Conv1d(filters: 32, kernel: 5), ReLU, GlobalAvgPool,
             Dense(units: 4)]), cuts: [2, 5], map: [\"a\", \"b\", \"a\"])",
        )
        .unwrap();
        let mut a = device("a");
        a.sram_bytes = 1000;
        a.flash_bytes = 100;
        let net = Network::new(vec![a, device("b")], vec![], vec![]);
        let c = costs(&cand, &net, DType::Int8).unwrap();
        let v = check_budgets(&c, &net);
        assert_eq!(v.len(), 2);
        let flash = c.partitions[0].flash_bytes + c.partitions[2].flash_bytes;
        assert_eq!(v[0].resource, Resource::Flash);
        assert_eq!(v[0].used_bytes, flash);
        assert_eq!(v[0].excess_bytes(), flash - 100);
        assert_eq!(v[0].partitions, vec![0, 2]);
        let sram = c.partitions[0].peak_sram_bytes + c.partitions[2].peak_sram_bytes;
        assert_eq!((v[1].resource, v[1].used_bytes), (Resource::Sram, sram));
        assert!(v[1].to_string().starts_with("device \"a\": SRAM"));
    }

    /// A standby replica costs its device the partition's flash: the layers of
    /// [40, 1] → Conv1d(8, k3) → ReLU → GlobalAvgPool → Dense(10) take 312, 64, 64 and
    /// 208 bytes of int8 flash (weights + 64 bytes of metadata each), so cut at 2,
    /// partition 0 is 376 B on `a` and partition 1 is 272 B on `b`, with a replica on
    /// `a`: `a` holds 648 B, over its 400 B budget; without the standby it fits.
    #[test]
    fn a_standby_replica_counts_on_its_device() {
        let text = |standby: &str| {
            format!(
                "Candidate(arch: Arch(input: [40, 1], layers: [Conv1d(filters: 8, kernel: 3), ReLU,
                 GlobalAvgPool, Dense(units: 10)]), cuts: [2], map: [\"a\", \"b\"]{standby})"
            )
        };
        let mut a = device("a");
        a.flash_bytes = 400;
        let net = Network::new(vec![a, device("b")], vec![], vec![]);
        let with: Candidate = ron::from_str(&text(", standby: [None, Some(\"a\")]")).unwrap();
        let c = costs(&with, &net, DType::Int8).unwrap();
        assert_eq!(c.partitions[0].flash_bytes, 376);
        assert_eq!(c.partitions[1].flash_bytes, 272);
        assert_eq!(c.total_flash(), 376 + 2 * 272);
        let v = check_budgets(&c, &net);
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!((v[0].device_id.as_str(), v[0].used_bytes), ("a", 648));
        assert_eq!(v[0].partitions, vec![0, 1]);
        let without: Candidate = ron::from_str(&text("")).unwrap();
        assert!(check_budgets(&costs(&without, &net, DType::Int8).unwrap(), &net).is_empty());
    }
}
