//! Post-training int8 quantisation and **integer-only** int8 inference ([`QNet`]), the
//! arithmetic of CMSIS-NN's reference kernels (and TensorFlow Lite Micro's), so that the
//! C code `distrinas export` writes computes the same bytes (`docs/export.md`).
//!
//! * **Activations**: the input and every materialised tensor get a per-tensor affine
//!   code `real = scale · (q - zero)`, `q ∈ [-128, 127]`, from its min/max over the
//!   training split in the float model (batch norm in evaluation mode), widened to
//!   include 0 so that 0 is exact ([`QParams::from_range`]).
//! * **Weights** of convolutions, depthwise convolutions and dense layers: symmetric,
//!   per output channel, `s_w = max|w| / 127`, `q = clamp(round(w / s_w), -127, 127)`,
//!   after folding a following `BatchNorm` into them (`w·γ/√(var+ε)`,
//!   `(b - mean)·γ/√(var+ε) + β`). A batch norm that cannot be folded runs as a
//!   per-channel 1×1 depthwise layer. Biases are `int32`: `round(b / (s_in · s_w))`.
//! * **Fusion**: a `ReLU`/`ReLU6` right after a convolution, dense layer, batch norm or
//!   `Add` is applied as the clamp of that layer's requantisation; the fused tensors in
//!   between are never materialised. A tensor that something else reads (an `Add`, a
//!   `Branch`) or that crosses a cut between partitions is always materialised, so the
//!   quantised network depends on the cut points ([`QNet::build`]).
//! * **Requantisation**: `acc · real` with `real = s_in·s_w / s_out` as a Q31 multiplier
//!   and a shift ([`Requant`]), rounded once (CMSIS-NN `arm_nn_requantize`,
//!   `CMSIS_NN_USE_SINGLE_ROUNDING`), then `+ zero_out` and clamped.
//! * **Pooling** keeps its input's code: max pooling takes the maximum, average pooling
//!   divides the sum by the number of cells inside the input, rounding half away from
//!   zero (`arm_avgpool_s8`). `ReLU`/`ReLU6` that is not fused clamps in its input's
//!   code; `Flatten` copies.
//! * **Add** (`arm_elementwise_add_s8`): both inputs shifted left by 20 bits and scaled
//!   to twice the larger input scale, summed, then requantised to the output code.
//! * **Input**: `q = clamp(round(x / s) + zero)` in `f32` (round half away from zero).
//! * **Prediction**: the first largest int8 logit.

use super::dataset::Dataset;
use super::layers::{Geom, Op};
use super::model::{Model, EVAL_CHUNK, EVAL_WORKERS};
use super::TrainError;
use crate::arch::sram::source_tensor;
use crate::arch::{Arch, Layer};
use rayon::prelude::*;

/// Left shift of both `Add` inputs before scaling (TFLite's `left_shift = 20`).
pub const ADD_LEFT_SHIFT: i32 = 20;

/// Per-tensor affine int8 code of an activation: `real = scale · (q - zero)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QParams {
    /// Real value of one integer step.
    pub scale: f64,
    /// Integer that represents the real value 0.
    pub zero: i32,
}

impl QParams {
    /// Code that covers `[lo, hi]` (always including 0) with 256 levels.
    pub fn from_range(lo: f64, hi: f64) -> QParams {
        let (lo, hi) = (lo.min(0.0), hi.max(0.0));
        let scale = if hi > lo { (hi - lo) / 255.0 } else { 1.0 };
        let zero = (-128.0 - lo / scale).round().clamp(-128.0, 127.0) as i32;
        QParams { scale, zero }
    }
}

/// A real multiplier as a Q31 fixed-point `mult` in `[2^30, 2^31)` and a power-of-two
/// `shift`: `real ≈ mult · 2^(shift - 31)` (TFLite `QuantizeMultiplier`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Requant {
    /// Q31 multiplier (0 for a multiplier that rounds to zero).
    pub mult: i32,
    /// Power of two, in `[-31, 30]`.
    pub shift: i32,
}

impl Requant {
    /// The fixed-point form of `real` (≥ 0). Multipliers below 2^-32 become 0; above
    /// 2^30 they saturate.
    pub fn from_real(real: f64) -> Requant {
        if real.is_nan() || real <= 0.0 {
            return Requant { mult: 0, shift: 0 };
        }
        // frexp: real = q · 2^shift, q in [0.5, 1)
        let (mut q, mut shift) = (real, 0i32);
        while q >= 1.0 {
            q /= 2.0;
            shift += 1;
        }
        while q < 0.5 {
            q *= 2.0;
            shift -= 1;
        }
        let mut m = (q * (1u64 << 31) as f64).round() as i64;
        if m == 1i64 << 31 {
            m /= 2;
            shift += 1;
        }
        if shift < -31 {
            return Requant { mult: 0, shift: 0 };
        }
        if shift > 30 {
            return Requant {
                mult: i32::MAX,
                shift: 30,
            };
        }
        Requant {
            mult: m as i32,
            shift,
        }
    }

    /// `round(v · real)`, halves rounded up (CMSIS-NN `arm_nn_requantize`, single
    /// rounding), saturated to `i32`.
    #[inline]
    pub fn apply(self, v: i32) -> i32 {
        let total = 31 - self.shift as i64;
        let prod = v as i64 * self.mult as i64;
        let r = ((prod >> (total - 1)) + 1) >> 1;
        r.clamp(i32::MIN as i64, i32::MAX as i64) as i32
    }
}

/// The operation of one step of a [`QNet`].
#[derive(Debug, Clone, PartialEq)]
pub enum QKernel {
    /// Convolution (1-D runs as `[T, 1, C]`): weights `[cout][kh][kw][cin]`.
    Conv {
        /// Window geometry.
        g: Geom,
        /// Output channels.
        cout: usize,
        /// Weights, `cout · kh · kw · cin`.
        weights: Vec<i8>,
        /// `int32` bias per output channel.
        bias: Vec<i32>,
        /// Requantisation per output channel.
        requant: Vec<Requant>,
    },
    /// Depthwise convolution (multiplier 1): weights `[kh][kw][c]`. An unfoldable batch
    /// norm runs as a 1×1 one.
    Depthwise {
        /// Window geometry.
        g: Geom,
        /// Weights, `kh · kw · c`.
        weights: Vec<i8>,
        /// `int32` bias per channel.
        bias: Vec<i32>,
        /// Requantisation per channel.
        requant: Vec<Requant>,
    },
    /// Fully connected: weights `[nout][nin]`.
    Dense {
        /// Inputs.
        nin: usize,
        /// Outputs.
        nout: usize,
        /// Weights, `nout · nin`.
        weights: Vec<i8>,
        /// `int32` bias per output.
        bias: Vec<i32>,
        /// Requantisation per output.
        requant: Vec<Requant>,
    },
    /// Max pooling.
    MaxPool {
        /// Window geometry.
        g: Geom,
    },
    /// Average pooling over the cells inside the input.
    AvgPool {
        /// Window geometry.
        g: Geom,
    },
    /// Global average pooling of `spatial` positions of `c` channels.
    GlobalAvgPool {
        /// Positions.
        spatial: usize,
        /// Channels.
        c: usize,
    },
    /// Elementwise clamp to `[act_min, act_max]` (an unfused `ReLU`/`ReLU6`).
    Clamp,
    /// Copy (`Flatten`).
    Copy,
    /// Residual addition of tensor `other` to the input.
    Add {
        /// The second operand's tensor.
        other: usize,
        /// Scaling of the input (after the left shift).
        input: Requant,
        /// Scaling of `other`.
        other_requant: Requant,
        /// Scaling of the sum to the output code.
        output: Requant,
    },
}

impl QKernel {
    /// Short name of the kernel (the C function is `dn_<name>_s8`).
    pub fn name(&self) -> &'static str {
        match self {
            QKernel::Conv { .. } => "conv",
            QKernel::Depthwise { .. } => "depthwise",
            QKernel::Dense { .. } => "dense",
            QKernel::MaxPool { .. } => "maxpool",
            QKernel::AvgPool { .. } => "avgpool",
            QKernel::GlobalAvgPool { .. } => "global_avgpool",
            QKernel::Clamp => "clamp",
            QKernel::Copy => "copy",
            QKernel::Add { .. } => "add",
        }
    }

    /// Weight and bias bytes (int8 weights, int32 biases, per-channel multiplier and
    /// shift as two int32).
    pub fn parameter_bytes(&self) -> u64 {
        match self {
            QKernel::Conv {
                weights,
                bias,
                requant,
                ..
            }
            | QKernel::Depthwise {
                weights,
                bias,
                requant,
                ..
            }
            | QKernel::Dense {
                weights,
                bias,
                requant,
                ..
            } => weights.len() as u64 + 4 * bias.len() as u64 + 8 * requant.len() as u64,
            _ => 0,
        }
    }
}

/// One step of a [`QNet`]: layer `layer` (and the layers fused into it) reads tensor
/// `input` and writes tensor `output`.
#[derive(Debug, Clone, PartialEq)]
pub struct QStep {
    /// Index of the first architecture layer of the step.
    pub layer: usize,
    /// Architecture layers the step covers (`layer..=last_layer`).
    pub last_layer: usize,
    /// Tensor read (`0` = the network input, `t` = output of layer `t - 1`).
    pub input: usize,
    /// Tensor written (`last_layer + 1`).
    pub output: usize,
    /// What it computes.
    pub kernel: QKernel,
    /// Output code's zero point.
    pub out_zero: i32,
    /// Lower clamp of the output (a fused ReLU: the output zero point).
    pub act_min: i32,
    /// Upper clamp of the output.
    pub act_max: i32,
}

/// An int8 network with integer-only inference (module docs).
#[derive(Debug, Clone)]
pub struct QNet {
    arch: Arch,
    /// Code of every tensor `0..=L` that is materialised (`None`: fused away or an alias).
    pub codes: Vec<Option<QParams>>,
    /// Elements of every tensor `0..=L`.
    pub elems: Vec<usize>,
    /// The steps in execution order.
    pub steps: Vec<QStep>,
    /// Input scale as used in `f32` by the input quantisation.
    pub input_scale: f32,
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

/// Symmetric per-channel quantisation of `w[ch][k]` (`ch` outer): returns the int8
/// values and each channel's scale.
fn quantize_channels(w: &[Vec<f64>]) -> (Vec<i8>, Vec<f64>) {
    let mut q = Vec::with_capacity(w.iter().map(Vec::len).sum());
    let mut scales = Vec::with_capacity(w.len());
    for ch in w {
        let max = ch.iter().fold(0f64, |m, v| m.max(v.abs()));
        let s = if max > 0.0 { max / 127.0 } else { 1.0 };
        q.extend(
            ch.iter()
                .map(|v| (v / s).round().clamp(-127.0, 127.0) as i8),
        );
        scales.push(s);
    }
    (q, scales)
}

/// The int8 form of a layer with weights `per[ch]` per output channel and bias `b`,
/// between activation scales `in_scale` and `out_scale`: weights, `int32` biases
/// (`round(b / (s_in · s_w))`) and the requantisation `s_in · s_w / s_out` per channel.
fn int8_layer(
    per: &[Vec<f64>],
    b: &[f64],
    in_scale: f64,
    out_scale: f64,
) -> (Vec<i8>, Vec<i32>, Vec<Requant>) {
    let (q, scales) = quantize_channels(per);
    let bias = b
        .iter()
        .zip(&scales)
        .map(|(b, s)| {
            (b / (in_scale * s))
                .round()
                .clamp(i32::MIN as f64, i32::MAX as f64) as i32
        })
        .collect();
    let requant = scales
        .iter()
        .map(|s| Requant::from_real(in_scale * s / out_scale))
        .collect();
    (q, bias, requant)
}

/// Geometry of a 1×1 window over `shape` (`[T, C]`, `[H, W, C]` or `[C]`).
fn pointwise_geom(shape: &[usize]) -> Geom {
    let c = *shape.last().unwrap_or(&1);
    let (ih, iw) = match shape.len() {
        3 => (shape[0], shape[1]),
        2 => (shape[0], 1),
        _ => (1, 1),
    };
    Geom {
        ih,
        iw,
        c,
        oh: ih,
        ow: iw,
        kh: 1,
        kw: 1,
        sh: 1,
        sw: 1,
        dh: 1,
        dw: 1,
        ph: 0,
        pw: 0,
    }
}

impl QNet {
    /// Quantises `model` with activation codes calibrated on `calib`; the tensors at
    /// `cuts` (layer indices where a partition starts) are materialised.
    pub fn build(model: &Model, calib: &Dataset, cuts: &[usize]) -> Result<QNet, TrainError> {
        let ranges = calibrate(model, calib)?;
        Ok(QNet::from_ranges(model, &ranges, cuts))
    }

    /// [`QNet::build`] from precomputed calibration ranges (`0..=L`).
    pub fn from_ranges(model: &Model, ranges: &[(f64, f64)], cuts: &[usize]) -> QNet {
        let arch = &model.arch;
        let layers = &arch.layers;
        let n = layers.len();
        // Readers of every (source) tensor.
        let mut readers: Vec<Vec<usize>> = vec![Vec::new(); n + 1];
        for (i, l) in layers.iter().enumerate() {
            match *l {
                Layer::Branch { .. } => {}
                Layer::Add { from } => {
                    readers[source_tensor(arch, i)].push(i);
                    readers[source_tensor(arch, from + 1)].push(i);
                }
                _ => readers[source_tensor(arch, i)].push(i),
            }
        }
        // A tensor may stay virtual (fused) only if the next layer alone reads it and
        // no cut passes there.
        let virtual_ok = |t: usize| t > 0 && t < n && readers[t] == [t] && !cuts.contains(&t);
        let code = |t: usize| QParams::from_range(ranges[t].0, ranges[t].1);
        let mut codes: Vec<Option<QParams>> = vec![None; n + 1];
        codes[0] = Some(code(0));
        let mut elems = vec![model.in_size];
        elems.extend_from_slice(&model.out_sizes);
        let mut steps = Vec::new();
        let weighted = |i: usize| {
            matches!(
                model.ops[i],
                Op::Conv { .. } | Op::Depthwise { .. } | Op::Dense { .. }
            )
        };
        let mut i = 0;
        while i < n {
            let op = &model.ops[i];
            if let Op::Branch { .. } = op {
                i += 1;
                continue;
            }
            let input = source_tensor(arch, i);
            let in_code = codes[input].expect("readers are materialised");
            // Fold a batch norm into a weighted layer, then fuse an activation.
            let mut last = i;
            let mut bn: Option<usize> = None;
            if weighted(i)
                && matches!(model.ops.get(i + 1), Some(Op::BatchNorm { .. }))
                && virtual_ok(i + 1)
            {
                bn = Some(i + 1);
                last = i + 1;
            }
            let own_bn = matches!(op, Op::BatchNorm { .. });
            let mut act = None;
            let fusable = weighted(i) || own_bn || matches!(op, Op::Add { .. });
            if fusable
                && matches!(layers.get(last + 1), Some(Layer::ReLU | Layer::ReLU6))
                && virtual_ok(last + 1)
            {
                act = Some(layers[last + 1].clone());
                last += 1;
            }
            let output = last + 1;
            let keeps_code = matches!(
                op,
                Op::MaxPool { .. }
                    | Op::AvgPool { .. }
                    | Op::GlobalAvgPool { .. }
                    | Op::Relu
                    | Op::Relu6
                    | Op::Flatten
            );
            let out_code = if keeps_code { in_code } else { code(output) };
            codes[output] = Some(out_code);
            let (mut act_min, mut act_max) = (-128, 127);
            let relu6_max =
                |c: &QParams| (c.zero as f64 + (6.0 / c.scale).round()).min(127.0) as i32;
            match (&act, op) {
                (Some(Layer::ReLU), _) | (None, Op::Relu) => act_min = out_code.zero.max(-128),
                (Some(Layer::ReLU6), _) | (None, Op::Relu6) => {
                    act_min = out_code.zero.max(-128);
                    act_max = relu6_max(&out_code).max(act_min);
                }
                _ => {}
            }
            let kernel = self::kernel(model, i, bn, in_code, out_code, &codes, arch);
            steps.push(QStep {
                layer: i,
                last_layer: last,
                input,
                output,
                kernel,
                out_zero: out_code.zero,
                act_min,
                act_max,
            });
            i = last + 1;
        }
        QNet {
            arch: arch.clone(),
            input_scale: codes[0].expect("input").scale as f32,
            codes,
            elems,
            steps,
        }
    }

    /// The architecture.
    pub fn arch(&self) -> &Arch {
        &self.arch
    }

    /// The tensor holding the logits (`L`).
    pub fn logits_tensor(&self) -> usize {
        self.elems.len() - 1
    }

    /// Number of classes (logits).
    pub fn classes(&self) -> usize {
        self.elems[self.logits_tensor()]
    }

    /// Quantises one standardised input sample (`f32`, module docs).
    pub fn quantize_input(&self, x: &[f32], out: &mut [i8]) {
        let z = self.codes[0].expect("input").zero;
        for (o, &v) in out.iter_mut().zip(x) {
            let r = (v / self.input_scale).round().clamp(-1000.0, 1000.0) as i32;
            *o = (r + z).clamp(-128, 127) as i8;
        }
    }

    /// Runs `steps[range]` on the tensors in `t` (indexed by tensor; the inputs of the
    /// range must be filled, every output is (re)allocated).
    pub fn run_steps(&self, range: std::ops::Range<usize>, t: &mut [Vec<i8>]) {
        for s in &self.steps[range] {
            let mut out = std::mem::take(&mut t[s.output]);
            out.clear();
            out.resize(self.elems[s.output], 0);
            run_step(self, s, t, &mut out);
            t[s.output] = out;
        }
    }

    /// int8 logits of one standardised sample.
    pub fn logits(&self, x: &[f32]) -> Vec<i8> {
        let mut t: Vec<Vec<i8>> = vec![Vec::new(); self.elems.len()];
        t[0] = vec![0; self.elems[0]];
        self.quantize_input(x, &mut t[0]);
        self.run_steps(0..self.steps.len(), &mut t);
        std::mem::take(&mut t[self.logits_tensor()])
    }

    /// int8 logits of every sample of `data`, sample after sample.
    pub fn predict(&self, data: &Dataset) -> Vec<i8> {
        let size = self.elems[0];
        data.flat()
            .par_chunks(size)
            .flat_map_iter(|x| self.logits(x))
            .collect()
    }

    /// Accuracy on `data` (prediction: the first largest logit).
    pub fn accuracy(&self, data: &Dataset) -> Result<f64, TrainError> {
        let in_shape: Vec<usize> = data.sample_shape().to_vec();
        if in_shape.iter().product::<usize>() != self.elems[0] {
            return Err(TrainError::InputMismatch {
                arch: self.arch.input.clone(),
                data: in_shape,
            });
        }
        if data.is_empty() {
            return Ok(0.0);
        }
        let logits = self.predict(data);
        let k = self.classes();
        let correct = logits
            .chunks(k)
            .zip(data.labels())
            .filter(|(l, &y)| argmax(l) == y)
            .count();
        Ok(correct as f64 / data.len() as f64)
    }
}

/// Index of the first largest value.
pub fn argmax(v: &[i8]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

/// The kernel of the step starting at layer `i` (with batch norm `bn` folded in).
fn kernel(
    model: &Model,
    i: usize,
    bn: Option<usize>,
    in_code: QParams,
    out_code: QParams,
    codes: &[Option<QParams>],
    arch: &Arch,
) -> QKernel {
    let p = |layer: usize, k: usize| -> Vec<f64> {
        model.params[model.slots[layer][k].clone()]
            .iter()
            .map(|&v| v as f64)
            .collect()
    };
    // Per channel scale a_c and offset b_c of a batch norm in evaluation mode.
    let bn_affine = |b: usize| -> (Vec<f64>, Vec<f64>) {
        let (gamma, beta) = (p(b, 0), p(b, 1));
        let st = &model.state_slots[b];
        let mean: Vec<f64> = model.state[st[0].clone()]
            .iter()
            .map(|&v| v as f64)
            .collect();
        let var: Vec<f64> = model.state[st[1].clone()]
            .iter()
            .map(|&v| v as f64)
            .collect();
        let a: Vec<f64> = gamma
            .iter()
            .zip(&var)
            .map(|(g, v)| g / (v + super::layers::batchnorm::EPS).sqrt())
            .collect();
        let off = (0..a.len()).map(|c| beta[c] - mean[c] * a[c]).collect();
        (a, off)
    };
    // Weights per output channel (`rows` inputs each, from a row-major `[rows, cols]`
    // matrix), the bias, the folded batch norm; then the int8 form.
    let weighted = |rows: usize, cols: usize, has_bias: bool| {
        let w = p(i, 0);
        let bias = if has_bias { p(i, 1) } else { vec![0.0; cols] };
        let mut per: Vec<Vec<f64>> = (0..cols)
            .map(|c| (0..rows).map(|r| w[r * cols + c]).collect())
            .collect();
        let mut b = bias;
        if let Some(bn) = bn {
            let (a, off) = bn_affine(bn);
            for c in 0..cols {
                per[c].iter_mut().for_each(|v| *v *= a[c]);
                b[c] = b[c] * a[c] + off[c];
            }
        }
        int8_layer(&per, &b, in_code.scale, out_code.scale)
    };
    match model.ops[i] {
        Op::Conv { g, cout, bias } => {
            let (weights, bias, requant) = weighted(g.taps() * g.c, cout, bias);
            QKernel::Conv {
                g,
                cout,
                weights,
                bias,
                requant,
            }
        }
        Op::Depthwise { g, bias } => {
            // `[taps, c]`: channel c's weights are column c.
            let (weights, bias, requant) = weighted(g.taps(), g.c, bias);
            // back to `[taps][c]`
            let taps = g.taps();
            let mut w = vec![0i8; weights.len()];
            for c in 0..g.c {
                for t in 0..taps {
                    w[t * g.c + c] = weights[c * taps + t];
                }
            }
            QKernel::Depthwise {
                g,
                weights: w,
                bias,
                requant,
            }
        }
        Op::Dense { nin, nout, bias } => {
            let (weights, bias, requant) = weighted(nin, nout, bias);
            QKernel::Dense {
                nin,
                nout,
                weights,
                bias,
                requant,
            }
        }
        Op::BatchNorm { .. } => {
            let (a, off) = bn_affine(i);
            let per: Vec<Vec<f64>> = a.iter().map(|&v| vec![v]).collect();
            let (weights, bias, requant) = int8_layer(&per, &off, in_code.scale, out_code.scale);
            let shape = if i == 0 {
                arch.input.clone()
            } else {
                model.shapes[i - 1].clone()
            };
            QKernel::Depthwise {
                g: pointwise_geom(&shape),
                weights,
                bias,
                requant,
            }
        }
        Op::MaxPool { g } => QKernel::MaxPool { g },
        Op::AvgPool { g } => QKernel::AvgPool { g },
        Op::GlobalAvgPool { spatial, c } => QKernel::GlobalAvgPool { spatial, c },
        Op::Relu | Op::Relu6 => QKernel::Clamp,
        Op::Flatten => QKernel::Copy,
        Op::Add { from } => {
            let other = source_tensor(arch, from + 1);
            let o = codes[other].expect("Add operands are materialised");
            let twice_max = 2.0 * in_code.scale.max(o.scale);
            QKernel::Add {
                other,
                input: Requant::from_real(in_code.scale / twice_max),
                other_requant: Requant::from_real(o.scale / twice_max),
                output: Requant::from_real(
                    twice_max / ((1u64 << ADD_LEFT_SHIFT) as f64 * out_code.scale),
                ),
            }
        }
        Op::Branch { .. } => unreachable!("branches run no step"),
    }
}

/// Rounded integer division of a window sum (`arm_avgpool_s8`).
#[inline]
fn rounded_div(sum: i32, count: i32) -> i32 {
    if sum > 0 {
        (sum + count / 2) / count
    } else {
        (sum - count / 2) / count
    }
}

/// `Σ (x - zero) · w` over two equal-length int8 slices.
#[inline]
fn dot(x: &[i8], w: &[i8], zero: i32) -> i32 {
    x.iter()
        .zip(w)
        .map(|(&a, &b)| (a as i32 - zero) * b as i32)
        .sum()
}

/// Computes one step into `out`.
fn run_step(net: &QNet, s: &QStep, t: &[Vec<i8>], out: &mut [i8]) {
    let x = &t[s.input];
    let in_zero = net.codes[s.input].map_or(0, |c| c.zero);
    let clamp = |v: i32| v.clamp(s.act_min, s.act_max) as i8;
    match &s.kernel {
        QKernel::Conv {
            g,
            cout,
            weights,
            bias,
            requant,
        } => {
            let k = g.taps() * g.c;
            let mut taps: Vec<(usize, usize)> = Vec::with_capacity(g.taps());
            for oy in 0..g.oh {
                for ox in 0..g.ow {
                    // (input offset, weight offset) of every tap inside the input
                    taps.clear();
                    for ky in 0..g.kh {
                        let Some(iy) = g.row(oy, ky) else { continue };
                        for kx in 0..g.kw {
                            let Some(ix) = g.col(ox, kx) else { continue };
                            taps.push(((iy * g.iw + ix) * g.c, (ky * g.kw + kx) * g.c));
                        }
                    }
                    let o = (oy * g.ow + ox) * cout;
                    for co in 0..*cout {
                        let w = &weights[co * k..(co + 1) * k];
                        let mut acc = bias[co];
                        for &(xb, wb) in &taps {
                            acc += dot(&x[xb..xb + g.c], &w[wb..wb + g.c], in_zero);
                        }
                        out[o + co] = clamp(requant[co].apply(acc) + s.out_zero);
                    }
                }
            }
        }
        QKernel::Depthwise {
            g,
            weights,
            bias,
            requant,
        } => {
            for oy in 0..g.oh {
                for ox in 0..g.ow {
                    let o = (oy * g.ow + ox) * g.c;
                    for c in 0..g.c {
                        let mut acc = bias[c];
                        for ky in 0..g.kh {
                            let Some(iy) = g.row(oy, ky) else { continue };
                            for kx in 0..g.kw {
                                let Some(ix) = g.col(ox, kx) else { continue };
                                acc += (x[(iy * g.iw + ix) * g.c + c] as i32 - in_zero)
                                    * weights[(ky * g.kw + kx) * g.c + c] as i32;
                            }
                        }
                        out[o + c] = clamp(requant[c].apply(acc) + s.out_zero);
                    }
                }
            }
        }
        QKernel::Dense {
            nin,
            nout,
            weights,
            bias,
            requant,
        } => {
            for o in 0..*nout {
                let acc = bias[o] + dot(x, &weights[o * nin..(o + 1) * nin], in_zero);
                out[o] = clamp(requant[o].apply(acc) + s.out_zero);
            }
        }
        QKernel::MaxPool { g } | QKernel::AvgPool { g } => {
            let avg = matches!(s.kernel, QKernel::AvgPool { .. });
            for oy in 0..g.oh {
                for ox in 0..g.ow {
                    for c in 0..g.c {
                        let (mut acc, mut count) = (if avg { 0 } else { -128 }, 0);
                        for ky in 0..g.kh {
                            let Some(iy) = g.row(oy, ky) else { continue };
                            for kx in 0..g.kw {
                                let Some(ix) = g.col(ox, kx) else { continue };
                                let v = x[(iy * g.iw + ix) * g.c + c] as i32;
                                acc = if avg { acc + v } else { acc.max(v) };
                                count += 1;
                            }
                        }
                        if avg {
                            acc = rounded_div(acc, count.max(1));
                        }
                        out[(oy * g.ow + ox) * g.c + c] = clamp(acc);
                    }
                }
            }
        }
        QKernel::GlobalAvgPool { spatial, c } => {
            for ch in 0..*c {
                let sum: i32 = (0..*spatial).map(|p| x[p * c + ch] as i32).sum();
                out[ch] = clamp(rounded_div(sum, *spatial as i32));
            }
        }
        QKernel::Clamp | QKernel::Copy => {
            for (o, &v) in out.iter_mut().zip(x) {
                *o = clamp(v as i32);
            }
        }
        QKernel::Add {
            other,
            input,
            other_requant,
            output,
        } => {
            let y = &t[*other];
            let z2 = net.codes[*other].map_or(0, |c| c.zero);
            for ((o, &a), &b) in out.iter_mut().zip(x).zip(y) {
                let a = input.apply((a as i32 - in_zero) << ADD_LEFT_SHIFT);
                let b = other_requant.apply((b as i32 - z2) << ADD_LEFT_SHIFT);
                *o = clamp(output.apply(a + b) + s.out_zero);
            }
        }
    }
}

/// Accuracy on `target` of `model` quantised to int8 (activation codes calibrated on
/// `calib`, normally the training split), run as one partition.
pub fn int8_accuracy(model: &Model, calib: &Dataset, target: &Dataset) -> Result<f64, TrainError> {
    QNet::build(model, calib, &[])?.accuracy(target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::Arch;
    use ndarray::{Array1, ArrayD, IxDyn};

    #[test]
    fn multipliers_match_tflite_quantize_multiplier() {
        // By hand from TFLite's QuantizeMultiplier: frexp then round(q · 2^31).
        assert_eq!(
            Requant::from_real(0.5),
            Requant {
                mult: 1 << 30,
                shift: 0
            }
        );
        assert_eq!(
            Requant::from_real(1.0),
            Requant {
                mult: 1 << 30,
                shift: 1
            }
        );
        assert_eq!(
            Requant::from_real(0.75),
            Requant {
                mult: 1_610_612_736,
                shift: 0
            }
        );
        // 0.1 = 0.8 · 2^-3; 0.8 · 2^31 = 1717986918.4
        assert_eq!(
            Requant::from_real(0.1),
            Requant {
                mult: 1_717_986_918,
                shift: -3
            }
        );
        assert_eq!(Requant::from_real(1e-12).mult, 0);
    }

    #[test]
    fn requantisation_rounds_halves_up() {
        let half = Requant::from_real(0.5);
        assert_eq!(half.apply(100), 50);
        assert_eq!(half.apply(101), 51); // 50.5 → 51
        assert_eq!(half.apply(-3), -1); // -1.5 → -1
        assert_eq!(half.apply(-5), -2); // -2.5 → -2
        let tenth = Requant::from_real(0.1);
        assert_eq!(tenth.apply(1234), 123);
        assert_eq!(tenth.apply(-1236), -124);
        assert_eq!(Requant::from_real(3.0).apply(7), 21);
    }

    #[test]
    fn activation_code_keeps_zero_exact() {
        let q = QParams::from_range(-1.0, 3.0);
        assert!((q.scale - 4.0 / 255.0).abs() < 1e-12);
        // zero = round(-128 + 1/(4/255)) = round(-64.25) = -64
        assert_eq!(q.zero, -64);
        assert_eq!(QParams::from_range(0.0, 6.0).zero, -128);
        assert_eq!(QParams::from_range(-2.0, 0.0).zero, 127);
    }

    #[test]
    fn avgpool_division_rounds_half_away_from_zero() {
        assert_eq!(rounded_div(5, 2), 3);
        assert_eq!(rounded_div(-5, 2), -3);
        assert_eq!(rounded_div(4, 3), 1);
        assert_eq!(rounded_div(-4, 3), -1);
    }

    /// A 2 → 2 dense layer by hand: codes, weights, bias and the output bytes.
    #[test]
    fn dense_layer_by_hand() {
        let arch =
            Arch::from_ron("Arch(input: [2, 1], layers: [Flatten, Dense(units: 2)])").unwrap();
        let mut model = Model::new(&arch, 0).unwrap();
        // weights [nin, nout] = [[1, -0.5], [0.5, 0.25]], bias [0.1, -0.2]
        model.params[model.slots[1][0].clone()].copy_from_slice(&[1.0, -0.5, 0.5, 0.25]);
        model.params[model.slots[1][1].clone()].copy_from_slice(&[0.1, -0.2]);
        // input code over [-1, 1]: scale 2/255
        let ranges = [(-1.0, 1.0), (-1.0, 1.0), (-2.0, 2.0)];
        let q = QNet::from_ranges(&model, &ranges, &[]);
        let s_in = 2.0 / 255.0;
        let c_in = q.codes[0].unwrap();
        assert!((c_in.scale - s_in).abs() < 1e-15);
        // -128 + 127.5 = -0.5 rounds (half away from zero) to -1
        assert_eq!(c_in.zero, -1);
        let QKernel::Dense {
            weights,
            bias,
            requant,
            ..
        } = &q.steps[1].kernel
        else {
            panic!("dense expected")
        };
        // output channel 0: w = [1, 0.5], s_w = 1/127 → [127, 64] (63.5 rounds to 64)
        // output channel 1: w = [-0.5, 0.25], s_w = 0.5/127 → [-127, 64]
        assert_eq!(weights, &vec![127, 64, -127, 64]);
        // bias: 0.1 / (s_in / 127) = 0.1·255·127/2 = 1619.25 → 1619;
        //       -0.2 / (s_in · 0.5/127) = -6477
        assert_eq!(bias, &vec![1619, -6477]);
        assert_eq!(requant[0], Requant::from_real(s_in / 127.0 / (4.0 / 255.0)));
        // x = [0.5, -0.25] → q = round(63.75) - 1 = 63, round(-31.875) - 1 = -33
        let logits = q.logits(&[0.5, -0.25]);
        // acc0 = 1619 + 64·127 + (-32)·64 = 7699; real mult = 1/254 → 30.31 → 30, plus
        //   the output code's zero (over [-2, 2]: round(-128 + 127.5) = -1) → 29
        // acc1 = -6477 + 64·(-127) + (-32)·64 = -16653; mult 0.5/254 → -32.78 → -33 - 1
        assert_eq!(logits, vec![29, -34]);
    }

    fn random_set(n: usize, shape: &[usize], seed: u64) -> Dataset {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let size: usize = shape.iter().product();
        let x: Vec<f32> = (0..n * size).map(|_| rng.random_range(-2.0..2.0)).collect();
        let mut dims = vec![n];
        dims.extend_from_slice(shape);
        Dataset {
            x: ArrayD::from_shape_vec(IxDyn(&dims), x).unwrap(),
            y: Array1::from((0..n).map(|i| i % 2).collect::<Vec<_>>()),
        }
    }

    /// The integer network tracks the float one: dequantised logits within a few
    /// output steps, on a net with every kind of step (folded and standalone batch
    /// norm, fused and unfused ReLU, residual add, pools, branch).
    #[test]
    fn integer_logits_track_the_float_network() {
        let arch = Arch::from_ron(
            "Arch(input: [12, 2], layers: [Conv1d(filters: 4, kernel: 3, padding: Same), BatchNorm, ReLU,
             DepthwiseConv1d(kernel: 3, padding: Same), Add(from: 2), ReLU6, BatchNorm,
             Branch(from: 5), Conv1d(filters: 4, kernel: 1), Add(from: 6), MaxPool1d(size: 2),
             AvgPool1d(size: 3, stride: 2, padding: Same), Flatten, Dense(units: 2)])",
        )
        .unwrap();
        let mut model = Model::new(&arch, 3).unwrap();
        // non-trivial batch-norm statistics
        for (k, v) in model.state.iter_mut().enumerate() {
            *v = if k % 8 < 4 {
                0.1 * (k % 4) as f32
            } else {
                0.5 + 0.2 * (k % 4) as f32
            };
        }
        let calib = random_set(64, &[12, 2], 1);
        for cuts in [vec![], vec![3], vec![5, 10]] {
            let q = QNet::build(&model, &calib, &cuts).unwrap();
            for &c in &cuts {
                assert!(q.codes[c].is_some(), "cut tensor {c} materialised");
            }
            let float = model.predict(&calib.x).unwrap();
            let out = q.codes[q.logits_tensor()].unwrap();
            let ints = q.predict(&calib);
            let mut worst = 0f64;
            for (i, l) in ints.iter().enumerate() {
                let real = out.scale * (*l as f64 - out.zero as f64);
                let f = float[[i / 2, i % 2]] as f64;
                worst = worst.max((real - f).abs() / out.scale);
            }
            assert!(worst < 6.0, "cuts {cuts:?}: worst error {worst} steps");
        }
        // fusion: the conv's and folded BN's outputs (tensors 1, 2) are virtual without
        // a cut, the ReLU output read by Add is materialised
        let q = QNet::build(&model, &calib, &[]).unwrap();
        let kinds: Vec<bool> = q.codes.iter().map(Option::is_some).collect();
        assert_eq!(&kinds[..4], &[true, false, false, true]);
        assert_eq!(q.steps[0].kernel.name(), "conv");
        assert_eq!(q.steps[0].act_min, q.steps[0].out_zero);
    }
}
