//! Exact per-layer costs: parameters, MACs, output elements, deployment flash and
//! scratch memory (see `docs/networks.md`, "Cost formulas").
//!
//! All counts are exact integers (`u64`). Training parameters follow Keras/PyTorch
//! (`BatchNorm` counts `4 × C`: γ, β, moving mean, moving variance). Deployment figures
//! follow a TensorFlow Lite Micro + CMSIS-NN deployment: a `BatchNorm` right after a
//! convolution or dense layer is folded into it (0 deployed parameters, 0 MACs, no
//! operator), weights are stored in the deployment [`DType`], biases in a wider integer.

use super::{Arch, Dims, Layer, ShapeError};
use crate::scenario::DType;

/// Flash bytes of one deployed operator's metadata (FlatBuffer `Operator` table plus the
/// `Tensor` table entry of its output: shape vector, type, buffer index, quantisation
/// table offset, name). An estimate of the TFLite model format's per-operator overhead,
/// the same order as the 64-byte `TfLiteTensor` a TFLM build with
/// `TF_LITE_STATIC_MEMORY` keeps per tensor (TensorFlow commit "Reduce the size of
/// TfLiteTensor for the TF Micro runtime": 112 → 64 bytes).
pub const METADATA_BYTES_PER_LAYER: u64 = 64;

/// Flash bytes of quantisation parameters per quantised channel of one tensor: a `f32`
/// scale plus an `i64` zero point (TFLite schema `QuantizationParameters { scale: [float];
/// zero_point: [long]; }`). A weighted layer quantises two tensors (weights and bias).
pub const QUANT_BYTES_PER_CHANNEL: u64 = 12;

/// Bytes of one stored bias element for a deployment dtype: int8 models keep `int32`
/// biases, int16 ("16x8") models `int64` biases (CMSIS-NN `arm_convolve_s16`), f32
/// models `f32`.
pub fn bias_bytes(dtype: DType) -> u64 {
    match dtype {
        DType::Int8 => 4,
        DType::Int16 => 8,
        DType::F32 => 4,
    }
}

/// Costs of one layer. Element counts exclude the batch dimension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerCost {
    /// Layer index in the architecture.
    pub index: usize,
    /// RON variant name (`"Conv2d"`, `"ReLU"`, ...).
    pub kind: &'static str,
    /// Output shape.
    pub output_shape: Dims,
    /// Output elements (product of `output_shape`).
    pub output_elems: u64,
    /// Training parameters (weights + biases; `BatchNorm`: `4 × C`), as Keras counts them.
    pub params: u64,
    /// Weight elements (conv/dense kernels).
    pub weights: u64,
    /// Bias elements at deployment (a bias-free conv followed by a folded `BatchNorm`
    /// gets one bias per channel from the fold).
    pub biases: u64,
    /// Parameters stored at deployment (`weights + biases`; an unfoldable `BatchNorm`
    /// keeps `2 × C`: scale and offset; a folded one 0).
    pub deploy_params: u64,
    /// Multiply-accumulates per inference.
    pub macs: u64,
    /// Other elementwise operations per inference (comparisons, additions, clamps);
    /// informational, not part of compute time.
    pub ops: u64,
    /// Deployment flash bytes (weights, biases, quantisation parameters, metadata).
    pub flash_bytes: u64,
    /// Bytes of the output tensor in the deployment dtype.
    pub output_bytes: u64,
    /// Kernel scratch (im2col) buffer in bytes, CMSIS-NN formula.
    pub scratch_bytes: u64,
    /// `true` for a `BatchNorm` folded into the preceding conv/dense: no operator runs.
    pub folded: bool,
    /// `Branch { from }`: `Some(from)`, the layer whose output tensor this layer's output
    /// is (no operator runs, no memory is used; `output_bytes` are those of that tensor).
    pub alias_of: Option<usize>,
}

impl LayerCost {
    /// Display name: lower-case kind and index, e.g. `conv2d_0`.
    pub fn name(&self) -> String {
        format!("{}_{}", self.kind.to_ascii_lowercase(), self.index)
    }

    /// `true` when an operator runs for this layer at deployment (not a folded
    /// `BatchNorm`, not a `Branch`).
    pub fn deployed(&self) -> bool {
        !self.folded && self.alias_of.is_none()
    }
}

/// Totals of a whole architecture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchCost {
    /// Σ training parameters.
    pub params: u64,
    /// Σ deployed parameters.
    pub deploy_params: u64,
    /// Σ MACs per inference.
    pub macs: u64,
    /// Σ deployment flash, bytes.
    pub flash_bytes: u64,
    /// Peak SRAM of the whole network run as one partition (no receive buffer), bytes.
    pub peak_sram_bytes: u64,
    /// The same with `ReLU`/`ReLU6`/`BatchNorm` computed in place, bytes.
    pub peak_sram_inplace_bytes: u64,
    /// Input tensor bytes.
    pub input_bytes: u64,
    /// Output tensor bytes.
    pub output_bytes: u64,
}

fn prod(s: &[usize]) -> u64 {
    s.iter().map(|&d| d as u64).product()
}

fn is_weighted(l: &Layer) -> bool {
    matches!(
        l,
        Layer::Conv1d { .. }
            | Layer::Conv2d { .. }
            | Layer::DepthwiseConv1d { .. }
            | Layer::DepthwiseConv2d { .. }
            | Layer::Dense { .. }
    )
}

/// CMSIS-NN scratch buffer of a convolution, bytes (`arm_convolve_wrapper_s8_get_buffer_size`,
/// DSP extension): 0 for a 1×1, stride-1 kernel over a multiple-of-4 channel count
/// (`arm_convolve_1x1_s8_fast`), else `2 × in_ch × kernel_elems × sizeof(int16)`
/// (two im2col columns of `int16`, `arm_convolve_s8`).
pub fn conv_scratch_bytes(in_ch: u64, kernel_elems: u64, stride: usize) -> u64 {
    if kernel_elems == 1 && stride == 1 && in_ch.is_multiple_of(4) {
        0
    } else {
        2 * in_ch * kernel_elems * 2
    }
}

/// CMSIS-NN scratch buffer of a depthwise convolution, bytes
/// (`arm_depthwise_conv_s8_opt_get_buffer_size`): `in_ch × kernel_elems × sizeof(int16)`.
pub fn depthwise_scratch_bytes(in_ch: u64, kernel_elems: u64) -> u64 {
    in_ch * kernel_elems * 2
}

/// Per-layer costs of `arch` deployed in `dtype`, or the first shape error.
pub fn layer_costs(arch: &Arch, dtype: DType) -> Result<Vec<LayerCost>, ShapeError> {
    let input = arch.input_dims()?;
    let shapes = arch.dims()?;
    let act = dtype.bytes();
    let quantised = !matches!(dtype, DType::F32);
    let mut out = Vec::with_capacity(arch.layers.len());
    let mut ishape = input;
    for (index, (layer, &oshape)) in arch.layers.iter().zip(shapes.iter()).enumerate() {
        let in_elems = ishape.elems();
        let out_elems = oshape.elems();
        let in_ch = ishape.last().map_or(1, |&c| c as u64);
        let out_ch = oshape.last().map_or(1, |&c| c as u64);
        let spatial_rank = ishape.len().saturating_sub(1) as u32;
        let next_is_bn = matches!(arch.layers.get(index + 1), Some(Layer::BatchNorm));
        let mut c = LayerCost {
            index,
            kind: layer.kind(),
            output_shape: oshape,
            output_elems: out_elems,
            params: 0,
            weights: 0,
            biases: 0,
            deploy_params: 0,
            macs: 0,
            ops: 0,
            flash_bytes: 0,
            output_bytes: out_elems * act,
            scratch_bytes: 0,
            folded: false,
            alias_of: None,
        };
        // (train biases, deploy biases, quantised channels)
        let mut train_bias = 0;
        // k: kernel elements; `stride`: the largest stride (1 only when both are 1).
        let conv = |c: &mut LayerCost, filters: usize, k: u64, stride: usize, bias: bool| {
            c.weights = k * in_ch * filters as u64;
            c.biases = if bias || next_is_bn {
                filters as u64
            } else {
                0
            };
            c.macs = out_elems * k * in_ch;
            c.scratch_bytes = conv_scratch_bytes(in_ch, k, stride);
            if bias {
                filters as u64
            } else {
                0
            }
        };
        let depthwise = |c: &mut LayerCost, k: u64, bias: bool| {
            c.weights = k * in_ch;
            c.biases = if bias || next_is_bn { in_ch } else { 0 };
            c.macs = out_elems * k;
            c.scratch_bytes = depthwise_scratch_bytes(in_ch, k);
            if bias {
                in_ch
            } else {
                0
            }
        };
        match *layer {
            Layer::Conv1d {
                filters,
                kernel,
                stride,
                bias,
                ..
            } => train_bias = conv(&mut c, filters, kernel as u64, stride, bias),
            Layer::Conv2d {
                filters,
                kernel,
                stride,
                bias,
                ..
            } => train_bias = conv(&mut c, filters, kernel.area(), stride.h.max(stride.w), bias),
            Layer::DepthwiseConv1d { kernel, bias, .. } => {
                train_bias = depthwise(&mut c, kernel as u64, bias)
            }
            Layer::DepthwiseConv2d { kernel, bias, .. } => {
                train_bias = depthwise(&mut c, kernel.area(), bias)
            }
            Layer::Dense { units, bias } => {
                c.weights = in_elems * units as u64;
                train_bias = if bias { units as u64 } else { 0 };
                c.biases = if bias || next_is_bn { units as u64 } else { 0 };
                c.macs = in_elems * units as u64;
            }
            Layer::BatchNorm => {
                c.params = 4 * out_ch;
                let foldable = index > 0 && is_weighted(&arch.layers[index - 1]);
                if foldable {
                    c.folded = true;
                } else {
                    c.deploy_params = 2 * out_ch;
                    c.macs = out_elems;
                    c.flash_bytes = 2 * out_ch * act
                        + if quantised {
                            QUANT_BYTES_PER_CHANNEL
                        } else {
                            0
                        }
                        + METADATA_BYTES_PER_LAYER;
                }
            }
            Layer::ReLU | Layer::ReLU6 => c.ops = out_elems,
            Layer::MaxPool1d { size, .. }
            | Layer::MaxPool2d { size, .. }
            | Layer::AvgPool1d { size, .. }
            | Layer::AvgPool2d { size, .. } => c.ops = out_elems * (size as u64).pow(spatial_rank),
            Layer::GlobalAvgPool => c.ops = in_elems,
            Layer::Flatten => {}
            Layer::Add { .. } => c.ops = out_elems,
            Layer::Branch { from } => c.alias_of = Some(from),
        }
        if is_weighted(layer) {
            c.params = c.weights + train_bias;
            c.deploy_params = c.weights + c.biases;
            // Per-channel quantisation of convolutions, per-tensor of dense layers
            // (TFLite's default), for both the weight and the bias tensor.
            let channels = if matches!(layer, Layer::Dense { .. }) {
                1
            } else {
                out_ch
            };
            let quant = if quantised {
                2 * channels * QUANT_BYTES_PER_CHANNEL
            } else {
                0
            };
            c.flash_bytes =
                c.weights * act + c.biases * bias_bytes(dtype) + quant + METADATA_BYTES_PER_LAYER;
        } else if !matches!(layer, Layer::BatchNorm | Layer::Branch { .. }) {
            c.flash_bytes = METADATA_BYTES_PER_LAYER;
        }
        out.push(c);
        ishape = oshape;
    }
    Ok(out)
}

/// Totals of `arch` deployed in `dtype`.
pub fn arch_cost(arch: &Arch, dtype: DType) -> Result<ArchCost, ShapeError> {
    let layers = layer_costs(arch, dtype)?;
    Ok(arch_cost_from(arch, &layers, dtype))
}

/// Totals from already computed layer costs (`layers = layer_costs(arch, dtype)`).
pub fn arch_cost_from(arch: &Arch, layers: &[LayerCost], dtype: DType) -> ArchCost {
    let n = layers.len();
    let sram = super::sram::peak_sram(arch, layers, 0..n, dtype);
    ArchCost {
        params: layers.iter().map(|l| l.params).sum(),
        deploy_params: layers.iter().map(|l| l.deploy_params).sum(),
        macs: layers.iter().map(|l| l.macs).sum(),
        flash_bytes: layers.iter().map(|l| l.flash_bytes).sum(),
        peak_sram_bytes: sram.bytes,
        peak_sram_inplace_bytes: sram.inplace_bytes,
        input_bytes: prod(&arch.input) * dtype.bytes(),
        output_bytes: layers.last().map_or(0, |l| l.output_bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn har_s() -> Arch {
        Arch::from_ron(
            "Arch(input: [100, 6], layers: [Conv1d(filters: 16, kernel: 5), ReLU,
             MaxPool1d(size: 2), Conv1d(filters: 32, kernel: 5), ReLU, GlobalAvgPool,
             Dense(units: 4)])",
        )
        .unwrap()
    }

    #[test]
    fn har_s_params_macs_flash() {
        let l = layer_costs(&har_s(), DType::Int8).unwrap();
        // conv0: 5*6*16 + 16 = 496; conv3: 5*16*32 + 32 = 2592; dense: 32*4 + 4 = 132
        assert_eq!(l[0].params, 496);
        assert_eq!(l[3].params, 2592);
        assert_eq!(l[6].params, 132);
        assert_eq!(l.iter().map(|c| c.params).sum::<u64>(), 3220);
        // conv0 out [96, 16]: 96*16*5*6 = 46080 MACs
        assert_eq!(l[0].macs, 46_080);
        // conv3 in [48,16] out [44,32]: 44*32*5*16 = 112640
        assert_eq!(l[3].macs, 112_640);
        assert_eq!(l[6].macs, 128);
        // flash of conv0: 480 weights + 16*4 bias + 2*16*12 quant + 64 meta
        assert_eq!(l[0].flash_bytes, 480 + 64 + 384 + 64);
        // dense: 128 + 16 + 24 + 64
        assert_eq!(l[6].flash_bytes, 128 + 16 + 24 + 64);
        assert_eq!(l[1].flash_bytes, METADATA_BYTES_PER_LAYER);
        // scratch: conv0 2*6*5*2 = 120
        assert_eq!(l[0].scratch_bytes, 120);
        assert_eq!(l[0].name(), "conv1d_0");
    }

    #[test]
    fn batchnorm_folds_after_conv_only() {
        let a = Arch::from_ron(
            "Arch(input: [8, 8, 3], layers: [Conv2d(filters: 4, kernel: 3, bias: false),
             BatchNorm, ReLU, MaxPool2d(size: 2), BatchNorm])",
        )
        .unwrap();
        let l = layer_costs(&a, DType::Int8).unwrap();
        assert_eq!(l[0].params, 108);
        assert_eq!(l[0].deploy_params, 112);
        assert_eq!(l[1].params, 16);
        assert!(l[1].folded);
        assert_eq!((l[1].deploy_params, l[1].macs, l[1].flash_bytes), (0, 0, 0));
        assert!(!l[4].folded);
        assert_eq!(l[4].deploy_params, 8);
        assert_eq!(l[4].macs, 3 * 3 * 4);
        let f32c = layer_costs(&a, DType::F32).unwrap();
        assert_eq!(f32c[0].flash_bytes, 108 * 4 + 4 * 4 + 64);
    }
}
