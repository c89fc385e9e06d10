//! Static memory plan of each partition: where every int8 tensor lives in the
//! partition's arena (`docs/export.md`, "Memory").
//!
//! A partition's arena starts with its receive buffer: the tensors of the incoming
//! message, back to back in tensor order (the first partition: the network input).
//! Then every step's output is placed among the tensors still live, and a tensor is
//! freed after its last reader in the partition; the tensors of the outgoing message
//! stay live to the end and are copied into the link driver's send buffer. The kernels
//! need no scratch buffer. Two placements are tried and the smaller arena kept:
//! first-fit (the lowest free offset), and "away from the input" within a target
//! size (the cost model's peak): the lowest or the highest free offset, whichever is
//! farther from the step's input, so that consecutive tensors ping-pong between the
//! two ends of the arena instead of leaving holes.

use crate::arch::sram::{cut_tensors, last_use};
use crate::train::quant::QNet;
use std::ops::Range;

/// Where one tensor lives in the arena.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// Tensor index (`0`: the input, `t`: output of layer `t - 1`).
    pub tensor: usize,
    /// Byte offset in the arena.
    pub offset: usize,
    /// Bytes (int8 elements).
    pub bytes: usize,
}

/// The plan of one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionPlan {
    /// Partition index.
    pub index: usize,
    /// Architecture layers of the partition.
    pub layers: Range<usize>,
    /// Steps of the [`QNet`] the partition runs.
    pub steps: Range<usize>,
    /// Tensors of the incoming message, in message order (offsets from 0).
    pub incoming: Vec<Slot>,
    /// Tensors of the outgoing message, in message order (offsets in the arena).
    pub outgoing: Vec<Slot>,
    /// Every tensor's place (incoming first, then step outputs in step order).
    pub slots: Vec<Slot>,
    /// Highest arena byte used + 1.
    pub used_bytes: usize,
}

impl PartitionPlan {
    /// Bytes of the incoming message.
    pub fn rx_bytes(&self) -> usize {
        self.incoming.iter().map(|s| s.bytes).sum()
    }

    /// Bytes of the outgoing message.
    pub fn tx_bytes(&self) -> usize {
        self.outgoing.iter().map(|s| s.bytes).sum()
    }

    /// The slot of `tensor`.
    pub fn slot(&self, tensor: usize) -> Option<Slot> {
        self.slots
            .iter()
            .rev()
            .find(|s| s.tensor == tensor)
            .copied()
    }
}

/// Lowest offset where `bytes` fit among the `live` slots.
fn first_fit(live: &[Slot], bytes: usize) -> usize {
    let mut taken: Vec<(usize, usize)> = live
        .iter()
        .map(|s| (s.offset, s.offset + s.bytes))
        .collect();
    taken.sort_unstable();
    let mut at = 0;
    for (start, end) in taken {
        if start >= at + bytes {
            break;
        }
        at = at.max(end);
    }
    at
}

/// Highest offset `≤ cap - bytes` where `bytes` fit among the `live` slots.
fn highest_fit(live: &[Slot], bytes: usize, cap: usize) -> Option<usize> {
    let mut taken: Vec<(usize, usize)> = live
        .iter()
        .map(|s| (s.offset, s.offset + s.bytes))
        .collect();
    taken.sort_unstable();
    let mut top = cap;
    for &(start, end) in taken.iter().rev() {
        if end <= top && top - end >= bytes {
            return Some(top - bytes);
        }
        top = top.min(start);
    }
    (top >= bytes).then(|| top - bytes)
}

/// How outputs are placed.
#[derive(Debug, Clone, Copy)]
enum Placement {
    FirstFit,
    /// Lowest or highest fit within the target size, farther from the input.
    AwayFromInput(usize),
}

/// Plans every partition of `net` cut at `cuts`; `targets[k]` is the arena size to
/// aim for in partition `k` (the cost model's peak SRAM).
pub fn plan(net: &QNet, cuts: &[usize], targets: &[usize]) -> Vec<PartitionPlan> {
    let a = plan_with(net, cuts, &|_| Placement::FirstFit);
    let b = plan_with(net, cuts, &|k| {
        Placement::AwayFromInput(targets.get(k).copied().unwrap_or(0))
    });
    a.into_iter()
        .zip(b)
        .map(|(a, b)| if b.used_bytes < a.used_bytes { b } else { a })
        .collect()
}

fn plan_with(net: &QNet, cuts: &[usize], how: &dyn Fn(usize) -> Placement) -> Vec<PartitionPlan> {
    let arch = net.arch();
    let n = arch.layers.len();
    let last = last_use(arch);
    let mut bounds = vec![0];
    bounds.extend_from_slice(cuts);
    bounds.push(n);
    let mut plans = Vec::new();
    let mut step = 0;
    for (index, w) in bounds.windows(2).enumerate() {
        let (a, b) = (w[0], w[1]);
        let first = step;
        while step < net.steps.len() && net.steps[step].layer < b {
            step += 1;
        }
        let steps = first..step;
        let incoming_t = if a == 0 {
            vec![0]
        } else {
            cut_tensors(&last, a)
        };
        let outgoing_t = if b == n {
            vec![n]
        } else {
            cut_tensors(&last, b)
        };
        // Last step (index into `net.steps`) reading each tensor; outgoing: never freed.
        let mut free_after: Vec<Option<usize>> = vec![None; n + 1];
        for k in steps.clone() {
            let s = &net.steps[k];
            free_after[s.input] = Some(k);
            if let crate::train::quant::QKernel::Add { other, .. } = s.kernel {
                free_after[other] = Some(k);
            }
        }
        for &t in &outgoing_t {
            free_after[t] = None;
        }
        let mut slots = Vec::new();
        let mut live: Vec<Slot> = Vec::new();
        let mut incoming = Vec::new();
        let mut at = 0;
        for &t in &incoming_t {
            let s = Slot {
                tensor: t,
                offset: at,
                bytes: net.elems[t],
            };
            at += s.bytes;
            incoming.push(s);
            live.push(s);
            slots.push(s);
        }
        let mut used = at;
        for k in steps.clone() {
            let s = &net.steps[k];
            let bytes = net.elems[s.output];
            let low = first_fit(&live, bytes);
            let offset = match how(index) {
                Placement::FirstFit => low,
                Placement::AwayFromInput(cap) => {
                    let input = live.iter().find(|l| l.tensor == s.input).copied();
                    match (highest_fit(&live, bytes, cap), input) {
                        (Some(high), Some(i)) => {
                            let centre = |o: usize| 2 * o + bytes;
                            let at = 2 * i.offset + i.bytes;
                            if centre(high).abs_diff(at) > centre(low).abs_diff(at) {
                                high
                            } else {
                                low
                            }
                        }
                        _ => low,
                    }
                }
            };
            let slot = Slot {
                tensor: s.output,
                offset,
                bytes,
            };
            used = used.max(slot.offset + bytes);
            live.push(slot);
            slots.push(slot);
            live.retain(|l| free_after[l.tensor] != Some(k));
        }
        let outgoing = outgoing_t
            .iter()
            .map(|&t| {
                *slots
                    .iter()
                    .rev()
                    .find(|s| s.tensor == t)
                    .expect("outgoing tensors are received or produced")
            })
            .collect();
        plans.push(PartitionPlan {
            index,
            layers: a..b,
            steps,
            incoming,
            outgoing,
            slots,
            used_bytes: used,
        });
    }
    plans
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_fit_takes_the_lowest_gap() {
        let s = |offset, bytes| Slot {
            tensor: 0,
            offset,
            bytes,
        };
        assert_eq!(first_fit(&[], 10), 0);
        assert_eq!(first_fit(&[s(0, 10)], 5), 10);
        // gap [10, 20) fits 10 bytes, not 11
        assert_eq!(first_fit(&[s(20, 5), s(0, 10)], 10), 10);
        assert_eq!(first_fit(&[s(20, 5), s(0, 10)], 11), 25);
        assert_eq!(first_fit(&[s(5, 5)], 5), 0);
        assert_eq!(highest_fit(&[s(0, 10)], 5, 20), Some(15));
        assert_eq!(highest_fit(&[s(15, 5), s(0, 10)], 5, 20), Some(10));
        assert_eq!(highest_fit(&[s(14, 6), s(0, 10)], 5, 20), None);
        assert_eq!(highest_fit(&[], 5, 4), None);
    }
}
