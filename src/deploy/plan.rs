//! Static memory plan of each partition: where every int8 tensor lives in the
//! partition's arena (`docs/export.md`, "Memory").
//!
//! A partition's arena starts with its receive buffer: the tensors of the incoming
//! message, back to back in tensor order (the first partition: the network input).
//! Then every step's output is placed first-fit (lowest offset) among the tensors
//! still live, and a tensor is freed after its last reader in the partition; the
//! tensors of the outgoing message stay live to the end and are copied into the link
//! driver's send buffer. The kernels need no scratch buffer.

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

/// Plans every partition of `net` cut at `cuts`.
pub fn plan(net: &QNet, cuts: &[usize]) -> Vec<PartitionPlan> {
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
            let slot = Slot {
                tensor: s.output,
                offset: first_fit(&live, bytes),
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
    }
}
