//! Peak SRAM of a range of layers (a partition) by walking its execution order
//! (see `docs/networks.md`, "SRAM model").
//!
//! Tensors are numbered `0..=L`: tensor 0 is the network input, tensor `t > 0` the output
//! of layer `t - 1`. Layer `i` reads tensor `i` (and, for `Add { from }`, tensor
//! `from + 1`) and writes tensor `i + 1`. A `Branch { from }` at layer `b` runs nothing:
//! its output, tensor `b + 1`, *is* tensor `from + 1` (an alias that owns no memory), so
//! layer `b + 1` reads tensor `from + 1`, and tensor `b` lives until the `Add` that reads
//! it. While layer `i` runs, the live bytes are
//!
//! ```text
//! live(i) = in(i) + out(i) + scratch(i) + Σ kept(t)     (t ≤ i, t ≠ in(i), last_use(t) ≥ i)
//! peak    = max over the partition's layers of live(i) + receive
//! ```
//!
//! where `kept` are tensors produced earlier but still needed by a later `Add` (or, after
//! a `Branch`, by the layer after it), and `receive` is the receive buffer of the
//! partition's incoming cut: the bytes of every tensor crossing the cut (0 for the first
//! partition). The in-place variant lets `ReLU`, `ReLU6` and `BatchNorm` write over their
//! input (`out(i)` not counted) unless the input is itself kept for a later `Add`. A
//! folded `BatchNorm` and a `Branch` run no operator and contribute nothing.

use super::cost::LayerCost;
use super::{Arch, Layer};
use crate::scenario::DType;
use std::ops::Range;

/// Peak SRAM of one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SramPeak {
    /// Peak live bytes including the receive buffer.
    pub bytes: u64,
    /// The same with `ReLU`/`ReLU6`/`BatchNorm` computed in place.
    pub inplace_bytes: u64,
    /// Layer index where `bytes` peaks (first one on ties).
    pub at_layer: usize,
    /// Receive buffer of the incoming cut tensor(s), bytes (included in `bytes`).
    pub receive_bytes: u64,
}

/// The tensor that tensor `t` is: `t` itself, or for the output of a `Branch { from }`
/// (an alias) the tensor of layer `from`'s output, resolved through chains of branches.
#[inline]
pub fn source_tensor(arch: &Arch, mut t: usize) -> usize {
    while t > 0 {
        match arch.layers.get(t - 1) {
            Some(&Layer::Branch { from }) if from + 1 < t => t = from + 1,
            _ => break,
        }
    }
    t
}

/// Last layer that reads each tensor (`result[t]` for `t` in `0..=L`); the network
/// output (tensor `L`) gets `L` (it is read by whoever receives it). An alias tensor (the
/// output of a `Branch`) owns no memory and gets `t - 1`, before it exists, so every
/// "live" test (`t ≤ i && last_use[t] ≥ i`) skips it; its readers count for its source.
pub fn last_use(arch: &Arch) -> Vec<usize> {
    let n = arch.layers.len();
    let mut last: Vec<usize> = (0..=n).collect();
    let read = |t: usize, i: usize, last: &mut Vec<usize>| {
        let s = source_tensor(arch, t);
        if last[s] < i {
            last[s] = i;
        }
    };
    for (i, l) in arch.layers.iter().enumerate() {
        match *l {
            Layer::Branch { .. } => {}
            Layer::Add { from } if from < n => {
                read(i, i, &mut last);
                read(from + 1, i, &mut last);
            }
            _ => read(i, i, &mut last),
        }
    }
    for (i, l) in arch.layers.iter().enumerate() {
        if matches!(l, Layer::Branch { .. }) {
            last[i + 1] = i;
        }
    }
    last
}

/// Bytes of tensor `t` (`t = 0`: the input, of `input_bytes`).
#[inline]
fn tensor_bytes(layers: &[LayerCost], input_bytes: u64, t: usize) -> u64 {
    if t == 0 {
        input_bytes
    } else {
        layers[t - 1].output_bytes
    }
}

/// Bytes of the network input in `dtype`.
fn input_bytes(arch: &Arch, dtype: DType) -> u64 {
    arch.input.iter().map(|&d| d as u64).product::<u64>() * dtype.bytes()
}

/// Tensors that cross a cut at `cut` (between layers `cut - 1` and `cut`): every tensor
/// produced before the cut and read at or after it (tensor `cut`, unless it is an alias,
/// plus the tensors kept for a later `Add` or `Branch`).
pub fn cut_tensors(last_use: &[usize], cut: usize) -> Vec<usize> {
    (0..=cut).filter(|&t| last_use[t] >= cut).collect()
}

/// Bytes crossing a cut at `cut` (`cut = 0`: the network input; `cut = L`: the output).
pub fn cut_bytes(arch: &Arch, layers: &[LayerCost], cut: usize, dtype: DType) -> u64 {
    let last = last_use(arch);
    cut_bytes_with(layers, &last, input_bytes(arch, dtype), cut)
}

/// [`cut_bytes`] with precomputed `last_use` and input bytes.
pub(crate) fn cut_bytes_with(
    layers: &[LayerCost],
    last: &[usize],
    input_bytes: u64,
    cut: usize,
) -> u64 {
    (0..=cut)
        .filter(|&t| last[t] >= cut)
        .map(|t| tensor_bytes(layers, input_bytes, t))
        .sum()
}

/// Peak SRAM of layers `range` (`layers = layer_costs(arch, dtype)`); a partition that
/// does not start at layer 0 adds the receive buffer of its incoming cut.
pub fn peak_sram(arch: &Arch, layers: &[LayerCost], range: Range<usize>, dtype: DType) -> SramPeak {
    let last = last_use(arch);
    let input = input_bytes(arch, dtype);
    let live = cut_bytes_with(layers, &last, input, range.start);
    peak_sram_walk(arch, layers, &last, input, range, live).0
}

/// Walks layers `range` given `live`, the bytes of the tensors live when the range starts
/// (the tensors crossing a cut at `range.start`; the input bytes when it is 0). Returns
/// the peak and the live bytes when the range ends (the bytes crossing a cut at
/// `range.end`), so consecutive partitions chain in one pass over the network.
pub(crate) fn peak_sram_walk(
    arch: &Arch,
    layers: &[LayerCost],
    last: &[usize],
    input_bytes: u64,
    range: Range<usize>,
    mut live: u64,
) -> (SramPeak, u64) {
    let receive = if range.start > 0 { live } else { 0 };
    let (mut peak, mut peak_in, mut at) = (0u64, 0u64, range.start);
    for i in range {
        // `live` = bytes of the tensors t <= i with last[t] >= i: layer i's input and
        // every tensor kept for a later reader.
        let lc = &layers[i];
        let layer = &arch.layers[i];
        let input = source_tensor(arch, i);
        if lc.deployed() {
            let total = live + lc.output_bytes + lc.scratch_bytes;
            let can_inplace =
                matches!(layer, Layer::ReLU | Layer::ReLU6 | Layer::BatchNorm) && last[input] == i;
            let total_in = if can_inplace { live } else { total };
            if total > peak {
                peak = total;
                at = i;
            }
            peak_in = peak_in.max(total_in);
        }
        // Step to i + 1: drop the tensors whose last reader is layer i (its input, the
        // other operand of an Add, or tensor i itself when no one reads it), then add
        // layer i's output unless it is an alias.
        if last[input] == i {
            live -= tensor_bytes(layers, input_bytes, input);
        }
        if input != i && last[i] == i {
            live -= tensor_bytes(layers, input_bytes, i);
        }
        if let Layer::Add { from } = *layer {
            let other = source_tensor(arch, from + 1);
            if other != input && last[other] == i {
                live -= tensor_bytes(layers, input_bytes, other);
            }
        }
        if last[i + 1] > i {
            live += lc.output_bytes;
        }
    }
    (
        SramPeak {
            bytes: peak + receive,
            inplace_bytes: peak_in + receive,
            at_layer: at,
            receive_bytes: receive,
        },
        live,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::cost::layer_costs;

    #[test]
    fn chain_and_residual_by_hand() {
        let a = Arch::from_ron(
            "Arch(input: [10, 4], layers: [Conv1d(filters: 8, kernel: 1), ReLU,
             Conv1d(filters: 8, kernel: 3, padding: Same), ReLU, Add(from: 1), GlobalAvgPool])",
        )
        .unwrap();
        let l = layer_costs(&a, DType::Int8).unwrap();
        let last = last_use(&a);
        // tensor 2 (ReLU 1 output) is read by Add at 4.
        assert_eq!(last[2], 4);
        // layer 0: in 40 + out 80 + scratch 0 (1x1, 4 channels) = 120
        // layer 1: 80 + 80 (tensor 2 is its output, not yet kept) = 160
        // layer 2: in 80 (tensor 2) + out 80 + scratch 2*8*3*2 = 96 -> 256
        // layer 3: in 80 + out 80 + kept tensor 2 (80) = 240
        // layer 4: in 80 + out 80 + kept 80 = 240
        // layer 5: 80 + 8 = 88
        let p = peak_sram(&a, &l, 0..6, DType::Int8);
        assert_eq!(p.bytes, 256);
        assert_eq!(p.at_layer, 2);
        // in place: layer 1 cannot (its output... it reads tensor 1, last_use 1: can) -> 80;
        // layer 3 reads tensor 3 (last use 3) -> 80 + kept 80 = 160; peak still layer 2.
        assert_eq!(p.inplace_bytes, 256);
        // a cut at 3 carries tensor 3 and the kept tensor 2: 160 bytes.
        assert_eq!(cut_tensors(&last, 3), vec![2, 3]);
        assert_eq!(cut_bytes(&a, &l, 3, DType::Int8), 160);
        // partition 3..6: receive 160 + max(layer 3: 240, 4: 240, 5: 88) = 400
        let q = peak_sram(&a, &l, 3..6, DType::Int8);
        assert_eq!(q.bytes, 400);
        assert_eq!(q.receive_bytes, 160);
        // in place: layer 3 = 80 + 80 = 160, layer 4 = 240 -> 400
        assert_eq!(q.inplace_bytes, 400);
    }
}
