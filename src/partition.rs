//! Partitions: a network cut at `k` points and mapped onto devices
//! (see `docs/networks.md`).

use crate::arch::Arch;
use serde::{Deserialize, Serialize};

/// One (network, cut points, device map) triple: the unit the search evaluates and
/// `simulate --candidate` replays.
///
/// A cut at `i` means layers `0..i` run in one partition and `i..` in the next;
/// `map[p]` is the device id of partition `p` (`map.len() == cuts.len() + 1`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Candidate {
    pub arch: Arch,
    /// Strictly increasing layer indices in `1..layers.len()`.
    #[serde(default)]
    pub cuts: Vec<usize>,
    /// One device id per partition.
    pub map: Vec<String>,
}
