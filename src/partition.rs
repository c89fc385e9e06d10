//! Partitions: a network cut at `k` points and mapped onto devices
//! (see `docs/networks.md`).
//!
//! [`costs`] gives every partition's flash, peak SRAM, MACs, compute time on its device
//! and the bytes crossing each cut; [`check_budgets`] compares them with the devices'
//! flash and SRAM.

mod budget;
mod costs;
pub mod space;

pub use budget::{check_budgets, BudgetViolation, Resource};
pub use costs::{costs, costs_on, layer_time_ns, PartitionCost, PartitionCosts, Standby};

use crate::arch::{Arch, ShapeError};
use crate::network::Network;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// One (network, cut points, device map) triple: the unit the search evaluates and
/// `simulate --candidate` replays.
///
/// A cut at `i` means layers `0..i` run in one partition and `i..` in the next;
/// `map[p]` is the device id of partition `p` (`map.len() == cuts.len() + 1`).
/// `standby` is empty, or gives each partition its standby device (`None`: none): a
/// device that holds a replica of the partition's weights and runs it while the
/// partition's own device is down (`docs/robustness.md`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Candidate {
    pub arch: Arch,
    /// Strictly increasing layer indices in `1..layers.len()`.
    #[serde(default)]
    pub cuts: Vec<usize>,
    /// One device id per partition.
    pub map: Vec<String>,
    /// Standby device id of each partition (empty: no standby anywhere).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub standby: Vec<Option<String>>,
}

/// Why a candidate cannot be costed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PartitionError {
    /// The network's shapes do not fit together.
    #[error("network: {0}")]
    Shape(#[from] ShapeError),
    /// The network has no layers.
    #[error("the network has no layers")]
    NoLayers,
    /// A cut is outside `1..layers`.
    #[error("cut {index} = {cut} is outside 1..{layers} (a cut must leave at least one layer on each side)")]
    CutRange {
        index: usize,
        cut: usize,
        layers: usize,
    },
    /// Cuts are not strictly increasing.
    #[error("cut {index} = {cut} is not greater than the previous cut {previous} (cuts must be strictly increasing)")]
    CutOrder {
        index: usize,
        cut: usize,
        previous: usize,
    },
    /// `map` does not have one device per partition.
    #[error("map has {got} device ids but {cuts} cut(s) make {expected} partitions")]
    MapLength {
        cuts: usize,
        expected: usize,
        got: usize,
    },
    /// A map entry names no device of the network.
    #[error("map[{partition}] = {id:?} is not a device of the scenario")]
    UnknownDevice { partition: usize, id: String },
    /// `standby` is neither empty nor one entry per partition.
    #[error("standby has {got} entries but the candidate has {expected} partitions (give one entry per partition, None where there is no standby, or leave standby out)")]
    StandbyLength { expected: usize, got: usize },
    /// A standby entry names no device of the network.
    #[error("standby[{partition}] = {id:?} is not a device of the scenario")]
    UnknownStandby { partition: usize, id: String },
    /// A partition's standby is its own device.
    #[error("standby[{partition}] = {id:?} is the device partition {partition} runs on (a standby must be another device)")]
    StandbyOnPrimary { partition: usize, id: String },
}

impl PartitionError {
    /// Path of the offending value in a candidate file (`cuts[1]`, `map[0]`,
    /// `standby[2]`, ...), for located messages; `None` for the network's own errors.
    pub fn path(&self) -> Option<String> {
        Some(match self {
            PartitionError::Shape(_) | PartitionError::NoLayers => return None,
            PartitionError::CutRange { index, .. } | PartitionError::CutOrder { index, .. } => {
                format!("cuts[{index}]")
            }
            PartitionError::MapLength { .. } => "map".into(),
            PartitionError::UnknownDevice { partition, .. } => format!("map[{partition}]"),
            PartitionError::StandbyLength { .. } => "standby".into(),
            PartitionError::UnknownStandby { partition, .. }
            | PartitionError::StandbyOnPrimary { partition, .. } => {
                format!("standby[{partition}]")
            }
        })
    }
}

impl Candidate {
    /// Number of partitions (`cuts + 1`).
    pub fn partitions(&self) -> usize {
        self.cuts.len() + 1
    }

    /// Layer range of every partition (no validation).
    pub fn ranges(&self) -> Vec<std::ops::Range<usize>> {
        partition_ranges(&self.cuts, self.arch.layers.len())
    }

    /// Checks cuts (strictly increasing, in `1..L`) and the map length, and resolves the
    /// device ids to indices of `network`. Shapes are not checked here.
    pub fn device_indices(&self, network: &Network) -> Result<Vec<usize>, PartitionError> {
        validate_cuts(&self.cuts, self.arch.layers.len())?;
        check_map_len(&self.cuts, self.map.len())?;
        self.map
            .iter()
            .enumerate()
            .map(|(partition, id)| {
                network
                    .device_index(id)
                    .ok_or_else(|| PartitionError::UnknownDevice {
                        partition,
                        id: id.clone(),
                    })
            })
            .collect()
    }

    /// Resolves the standby device ids to indices of `network`, one entry per
    /// partition (all `None` when `standby` is empty). Checks the length, the ids and
    /// that no standby is its partition's own device (`map` must be valid).
    pub fn standby_indices(&self, network: &Network) -> Result<Vec<Option<usize>>, PartitionError> {
        let n = self.partitions();
        if self.standby.is_empty() {
            return Ok(vec![None; n]);
        }
        if self.standby.len() != n {
            return Err(PartitionError::StandbyLength {
                expected: n,
                got: self.standby.len(),
            });
        }
        self.standby
            .iter()
            .enumerate()
            .map(|(partition, s)| {
                let Some(id) = s else { return Ok(None) };
                let (partition, id) = (partition, id.clone());
                if self.map.get(partition) == Some(&id) {
                    return Err(PartitionError::StandbyOnPrimary { partition, id });
                }
                let d = network
                    .device_index(&id)
                    .ok_or(PartitionError::UnknownStandby { partition, id })?;
                Ok(Some(d))
            })
            .collect()
    }

    /// Full validation: shapes infer, cuts, map and standby are valid for `network`.
    pub fn validate(&self, network: &Network) -> Result<(), PartitionError> {
        self.arch.shapes()?;
        self.device_indices(network)?;
        self.standby_indices(network).map(|_| ())
    }
}

/// Checks that `cuts` are strictly increasing and inside `1..layers`.
pub fn validate_cuts(cuts: &[usize], layers: usize) -> Result<(), PartitionError> {
    if layers == 0 {
        return Err(PartitionError::NoLayers);
    }
    for (index, &cut) in cuts.iter().enumerate() {
        if cut == 0 || cut >= layers {
            return Err(PartitionError::CutRange { index, cut, layers });
        }
        if index > 0 && cut <= cuts[index - 1] {
            return Err(PartitionError::CutOrder {
                index,
                cut,
                previous: cuts[index - 1],
            });
        }
    }
    Ok(())
}

fn check_map_len(cuts: &[usize], got: usize) -> Result<(), PartitionError> {
    if got != cuts.len() + 1 {
        return Err(PartitionError::MapLength {
            cuts: cuts.len(),
            expected: cuts.len() + 1,
            got,
        });
    }
    Ok(())
}

/// Layer ranges of the partitions made by `cuts` over `layers` layers.
pub fn partition_ranges(cuts: &[usize], layers: usize) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::with_capacity(cuts.len() + 1);
    let mut start = 0;
    for &c in cuts {
        out.push(start..c);
        start = c;
    }
    out.push(start..layers);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::tests::device;

    fn cand(cuts: Vec<usize>, map: &[&str]) -> Candidate {
        Candidate {
            arch: Arch::from_ron(
                "Arch(input: [16, 2], layers: [Conv1d(filters: 4, kernel: 3), ReLU, GlobalAvgPool, Dense(units: 2)])",
            )
            .unwrap(),
            cuts,
            map: map.iter().map(|s| s.to_string()).collect(),
            standby: Vec::new(),
        }
    }

    #[test]
    fn validation_errors() {
        let net = Network::new(vec![device("a"), device("b")], vec![], vec![]);
        assert_eq!(
            cand(vec![2], &["a", "b"]).device_indices(&net),
            Ok(vec![0, 1])
        );
        assert!(matches!(
            cand(vec![0], &["a", "b"]).validate(&net),
            Err(PartitionError::CutRange { cut: 0, .. })
        ));
        assert!(matches!(
            cand(vec![4], &["a", "b"]).validate(&net),
            Err(PartitionError::CutRange { cut: 4, .. })
        ));
        assert!(matches!(
            cand(vec![2, 2], &["a", "b", "a"]).validate(&net),
            Err(PartitionError::CutOrder { .. })
        ));
        assert!(matches!(
            cand(vec![2], &["a"]).validate(&net),
            Err(PartitionError::MapLength {
                expected: 2,
                got: 1,
                ..
            })
        ));
        let e = cand(vec![1], &["a", "zz"]).validate(&net).unwrap_err();
        assert_eq!(
            e.to_string(),
            "map[1] = \"zz\" is not a device of the scenario"
        );
        assert_eq!(partition_ranges(&[1, 3], 4), vec![0..1, 1..3, 3..4]);
    }

    #[test]
    fn standby_errors_name_the_partition() {
        let net = Network::new(vec![device("a"), device("b")], vec![], vec![]);
        let with = |standby: &[Option<&str>]| Candidate {
            standby: standby.iter().map(|s| s.map(String::from)).collect(),
            ..cand(vec![2], &["a", "b"])
        };
        assert_eq!(
            with(&[None, Some("a")]).standby_indices(&net),
            Ok(vec![None, Some(0)])
        );
        let e = with(&[None, Some("b")]).validate(&net).unwrap_err();
        assert_eq!(
            e.to_string(),
            "standby[1] = \"b\" is the device partition 1 runs on (a standby must be another device)"
        );
        assert_eq!(e.path().as_deref(), Some("standby[1]"));
        let e = with(&[Some("zz"), None]).validate(&net).unwrap_err();
        assert_eq!(e.path().as_deref(), Some("standby[0]"));
        assert!(matches!(
            e,
            PartitionError::UnknownStandby { partition: 0, .. }
        ));
        assert!(matches!(
            with(&[None]).validate(&net),
            Err(PartitionError::StandbyLength {
                expected: 2,
                got: 1
            })
        ));
    }
}
