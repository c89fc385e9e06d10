//! Post-training int8 quantisation, simulated in floating point ("fake quantisation").
//!
//! * Weights of convolutions and dense layers: symmetric, per output channel,
//!   `scale = max|w| / 127`, `w ← clamp(round(w / scale), -127, 127) · scale`.
//!   Biases stay in high precision (int32 on devices).
//! * Activations: the input and every layer's output are quantised per tensor with an
//!   affine int8 code (`scale = (max - min) / 255`, zero point so that 0 is exact),
//!   the ranges calibrated as the min/max over the whole training split (batch norm
//!   in evaluation mode).
//! * Fusion as on devices: the output of a convolution/dense layer that feeds its batch
//!   norm or ReLU/ReLU6, and of a batch norm that feeds its activation, stays in float
//!   (batch norm is folded into the preceding layer, the activation into the requantisation
//!   of its output); only the fused result is quantised. An output that a residual `Add`
//!   reads is always quantised.

use super::dataset::Dataset;
use super::layers::Op;
use super::model::{ActQuant, Model, EVAL_CHUNK, EVAL_WORKERS};
use super::TrainError;
use crate::arch::Layer;

/// Quantises weights per output channel in place: every column of a `[rows, cols]`
/// weight matrix gets its own symmetric scale.
fn quantize_columns(w: &mut [f32], cols: usize) {
    for c in 0..cols {
        let max = w
            .iter()
            .skip(c)
            .step_by(cols)
            .fold(0f32, |m, v| m.max(v.abs()));
        if max == 0.0 {
            continue;
        }
        let scale = max / 127.0;
        for v in w.iter_mut().skip(c).step_by(cols) {
            *v = (*v / scale).round().clamp(-127.0, 127.0) * scale;
        }
    }
}

/// Min/max of the input and of every layer output over `calib` (float model).
pub fn calibrate(model: &Model, calib: &Dataset) -> Result<Vec<(f64, f64)>, TrainError> {
    model.check_data(&calib.x, calib.labels())?;
    let l = model.ops.len();
    let mut ranges = vec![(f64::INFINITY, f64::NEG_INFINITY); l + 1];
    let mut ws = model.workspace(EVAL_CHUNK, EVAL_WORKERS)?;
    let idx: Vec<usize> = (0..calib.len()).collect();
    let (x, y) = (calib.flat(), calib.labels());
    for part in idx.chunks(ws.capacity()) {
        let used = model.load_batch(&mut ws, x, y, part);
        model.forward(&mut ws, used, false, None);
        for w in &ws.workers[..used] {
            let mut upd = |k: usize, v: &[f32]| {
                for &a in v {
                    ranges[k].0 = ranges[k].0.min(a as f64);
                    ranges[k].1 = ranges[k].1.max(a as f64);
                }
            };
            upd(0, &w.input[..w.n * model.in_size]);
            for i in 0..l {
                upd(i + 1, &w.acts[i][..w.n * model.out_sizes[i]]);
            }
        }
    }
    Ok(ranges)
}

/// The int8 post-training-quantised version of `model`, calibrated on `calib`.
pub fn quantize(model: &Model, calib: &Dataset) -> Result<Model, TrainError> {
    let ranges = calibrate(model, calib)?;
    let mut q = model.clone();
    for (i, op) in model.ops.iter().enumerate() {
        let cols = match *op {
            Op::Conv { cout, .. } => cout,
            Op::Depthwise { g, .. } => g.c,
            Op::Dense { nout, .. } => nout,
            _ => continue,
        };
        let r = q.slots[i][0].clone();
        quantize_columns(&mut q.params[r], cols);
    }
    // Outputs that a device fuses into the next operation (a convolution or dense
    // layer followed by its batch norm and/or activation, a batch norm followed by its
    // activation) are never materialised in int8, so they are not quantised — unless
    // a residual `Add` (or a `Branch`) also reads them.
    let layers = &model.arch.layers;
    let read_by_add = |i: usize| {
        layers
            .iter()
            .any(|l| matches!(l, Layer::Add { from } | Layer::Branch { from } if *from == i))
    };
    let fused = |i: usize| {
        let producer = matches!(
            model.ops[i],
            Op::Conv { .. } | Op::Depthwise { .. } | Op::Dense { .. } | Op::BatchNorm { .. }
        );
        let consumer = matches!(
            layers.get(i + 1),
            Some(Layer::BatchNorm | Layer::ReLU | Layer::ReLU6)
        );
        producer && consumer && !read_by_add(i)
    };
    q.act_quant = Some(
        ranges
            .iter()
            .enumerate()
            .map(|(k, &(lo, hi))| (k == 0 || !fused(k - 1)).then(|| ActQuant::from_range(lo, hi)))
            .collect(),
    );
    Ok(q)
}

/// Accuracy on `target` of `model` quantised to int8 with activation ranges calibrated
/// on `calib` (normally the training split).
pub fn int8_accuracy(model: &Model, calib: &Dataset, target: &Dataset) -> Result<f64, TrainError> {
    let q = quantize(model, calib)?;
    Ok(q.evaluate(&target.x, target.labels())?.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_column_symmetric_rounding() {
        let mut w = vec![1.0, 0.5, -0.5, 0.25, 0.3, 0.0];
        quantize_columns(&mut w, 2);
        // column 0: max 1.0 → step 1/127; column 1: max 0.5 → step 0.5/127
        assert_eq!(w[0], 1.0);
        assert!((w[2] + (63.5f32).round() / 127.0).abs() < 1e-7);
        assert_eq!(w[1], 0.5);
        assert_eq!(w[5], 0.0);
    }

    #[test]
    fn fused_outputs_are_not_quantised() {
        use crate::arch::Arch;
        use ndarray::{Array1, ArrayD, IxDyn};
        let arch = Arch::from_ron(
            "Arch(input: [12, 2], layers: [Conv1d(filters: 4, kernel: 3), BatchNorm, ReLU,
             Conv1d(filters: 4, kernel: 3, padding: Same), Add(from: 2), ReLU, GlobalAvgPool, Dense(units: 2)])",
        )
        .unwrap();
        let model = Model::new(&arch, 0).unwrap();
        let x: Vec<f32> = (0..6 * 24).map(|i| ((i * 37) % 11) as f32 - 5.0).collect();
        let calib = Dataset {
            x: ArrayD::from_shape_vec(IxDyn(&[6, 12, 2]), x).unwrap(),
            y: Array1::from(vec![0, 1, 0, 1, 0, 1]),
        };
        let q = quantize(&model, &calib).unwrap();
        let kinds: Vec<bool> = q.act_quant.unwrap().iter().map(Option::is_some).collect();
        // input, conv→BN (fused), BN→ReLU (fused), ReLU (read by Add), conv (feeds Add),
        // Add, ReLU, GAP, Dense
        assert_eq!(
            kinds,
            vec![true, false, false, true, true, true, true, true, true]
        );
    }

    #[test]
    fn activation_code_keeps_zero_exact() {
        let q = ActQuant::from_range(-1.0, 3.0);
        assert!((q.scale - 4.0 / 255.0).abs() < 1e-12);
        let zero = ((0.0 - q.zero as f64) * q.scale + q.zero as f64 * q.scale).abs();
        assert!(zero < 1e-12);
        let q = ActQuant::from_range(0.0, 6.0);
        assert_eq!(q.zero, -128);
    }
}
