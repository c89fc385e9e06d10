//! Shape inference: the output shape of every layer, with clear errors.

use super::{Arch, Dims, Layer, Padding, Shape, Size2};
use thiserror::Error;

/// Largest tensor (elements, without the batch) and largest weight count of one layer
/// that shape inference accepts: 2³¹. Far beyond any microcontroller, and small enough
/// that every cost sum fits a `u64` (see `docs/networks.md`, "Limits").
pub const MAX_ELEMENTS: u64 = 1 << 31;

/// Largest multiply-accumulate count of one layer: 2⁴⁸ (≈ 2.8 × 10¹⁴).
pub const MAX_LAYER_MACS: u64 = 1 << 48;

/// Largest number of layers of one network.
pub const MAX_LAYERS: usize = 4096;

/// Why an architecture's shapes do not fit together.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ShapeError {
    /// The input shape has a zero or an unsupported rank.
    #[error(
        "input shape {input:?} is invalid: expected [T, C] or [H, W, C] with every dimension > 0"
    )]
    BadInput { input: Shape },
    /// The network has no layers, or more than [`MAX_LAYERS`].
    #[error("the network has {count} layers: expected 1 to {MAX_LAYERS}")]
    LayerCount { count: usize },
    /// The input has more than [`MAX_ELEMENTS`] elements.
    #[error("input shape {input:?} has {elements} elements: at most {MAX_ELEMENTS} (2^31) are supported")]
    InputTooLarge { input: Shape, elements: u128 },
    /// A layer's size parameter, output, weight count or MACs exceeds its bound.
    #[error("layer {index} ({kind}): {what} = {value} exceeds the limit of {limit}")]
    TooLarge {
        index: usize,
        kind: &'static str,
        what: &'static str,
        value: u128,
        limit: u64,
    },
    /// A layer's input does not have the rank it needs.
    #[error("layer {index} ({kind}): input shape {input:?} {expected}")]
    Rank {
        index: usize,
        kind: &'static str,
        input: Shape,
        expected: &'static str,
    },
    /// A size parameter (kernel, filters, units, pool size, stride, dilation) is zero.
    #[error("layer {index} ({kind}): {field} must be > 0")]
    Zero {
        index: usize,
        kind: &'static str,
        field: &'static str,
    },
    /// The window does not fit in the input with `Valid` padding.
    #[error("layer {index} ({kind}): window of {window} (kernel/size with dilation) does not fit input length {len} of shape {input:?}")]
    WindowTooLarge {
        index: usize,
        kind: &'static str,
        window: usize,
        len: usize,
        input: Shape,
    },
    /// `Add(from)` points at itself, a later layer or the immediately preceding layer.
    #[error("layer {index} (Add): from = {from} must name an earlier layer, before layer {}", index.saturating_sub(1))]
    AddFrom { index: usize, from: usize },
    /// `Add(from)` joins tensors of different shapes.
    #[error("layer {index} (Add): shape {input:?} of layer {} differs from shape {other:?} of layer {from}", index.saturating_sub(1))]
    AddShape {
        index: usize,
        from: usize,
        input: Shape,
        other: Shape,
    },
    /// `Add` is the first layer (it needs a previous layer and an earlier one).
    #[error("layer {index} (Add): needs at least two earlier layers")]
    AddTooEarly { index: usize },
    /// `Branch(from)` points at itself, a later layer or the immediately preceding layer.
    #[error("layer {index} (Branch): from = {from} must name an earlier layer, before layer {}", index.saturating_sub(1))]
    BranchFrom { index: usize, from: usize },
    /// A layer's output is read by no later layer (the layer after it is a `Branch` and
    /// no `Add`/`Branch` names it).
    #[error("layer {index} ({kind}): its output is never used (layer {} is a Branch and no later Add or Branch reads layer {index})", index + 1)]
    Unused { index: usize, kind: &'static str },
}

/// Output length of a convolution along one axis.
pub fn conv_out_len(
    len: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
    padding: Padding,
) -> Option<usize> {
    match padding {
        Padding::Same => Some(len.div_ceil(stride)),
        Padding::Valid => {
            let window = dilation * (kernel - 1) + 1;
            (len >= window).then(|| (len - window) / stride + 1)
        }
    }
}

/// Output length of a pooling window along one axis.
pub fn pool_out_len(len: usize, size: usize, stride: usize, padding: Padding) -> Option<usize> {
    conv_out_len(len, size, stride, 1, padding)
}

struct Ctx<'a> {
    index: usize,
    kind: &'static str,
    input: &'a Dims,
}

impl Ctx<'_> {
    fn rank(&self, expected: &'static str) -> ShapeError {
        ShapeError::Rank {
            index: self.index,
            kind: self.kind,
            input: self.input.to_vec(),
            expected,
        }
    }
    /// `v` is a size parameter: > 0 and at most [`MAX_ELEMENTS`].
    fn nonzero(&self, field: &'static str, v: usize) -> Result<usize, ShapeError> {
        if v == 0 {
            Err(ShapeError::Zero {
                index: self.index,
                kind: self.kind,
                field,
            })
        } else {
            self.bounded(field, v as u128, MAX_ELEMENTS)?;
            Ok(v)
        }
    }
    fn bounded(&self, what: &'static str, value: u128, limit: u64) -> Result<(), ShapeError> {
        if value > limit as u128 {
            Err(ShapeError::TooLarge {
                index: self.index,
                kind: self.kind,
                what,
                value,
                limit,
            })
        } else {
            Ok(())
        }
    }
    /// Output shape of a window op over all but the last axis of an input of `rank`,
    /// with `channels` output channels.
    fn spatial(
        &self,
        rank: usize,
        kernel: Size2,
        stride: Size2,
        dilation: usize,
        padding: Padding,
        channels: usize,
    ) -> Result<Dims, ShapeError> {
        if self.input.len() != rank {
            return Err(self.rank(if rank == 2 {
                "must be [T, C] (a 1-D layer)"
            } else {
                "must be [H, W, C] (a 2-D layer)"
            }));
        }
        self.nonzero("kernel/size", kernel.h.min(kernel.w))?;
        self.nonzero("kernel/size", kernel.h.max(kernel.w))?;
        self.nonzero("stride", stride.h.min(stride.w))?;
        self.nonzero("stride", stride.h.max(stride.w))?;
        self.nonzero("dilation", dilation)?;
        let mut out = *self.input;
        for (axis, &len) in self.input[..rank - 1].iter().enumerate() {
            let (kernel, stride) = if axis == 0 {
                (kernel.h, stride.h)
            } else {
                (kernel.w, stride.w)
            };
            match conv_out_len(len, kernel, stride, dilation, padding) {
                Some(o) if o > 0 => out = out.with_dim(axis, o),
                _ => {
                    return Err(ShapeError::WindowTooLarge {
                        index: self.index,
                        kind: self.kind,
                        window: dilation * (kernel - 1) + 1,
                        len,
                        input: self.input.to_vec(),
                    })
                }
            }
        }
        Ok(out.with_channels(channels))
    }
}

pub(super) fn infer(arch: &Arch) -> Result<Vec<Shape>, ShapeError> {
    Ok(infer_dims(arch)?.iter().map(Dims::to_vec).collect())
}

/// The network input as [`Dims`], or [`ShapeError::BadInput`].
pub(super) fn input_dims(arch: &Arch) -> Result<Dims, ShapeError> {
    match Dims::new(&arch.input) {
        Some(d) if d.len() >= 2 && !d.contains(&0) => {
            let elements = product(&d);
            if elements > MAX_ELEMENTS as u128 {
                Err(ShapeError::InputTooLarge {
                    input: arch.input.clone(),
                    elements,
                })
            } else {
                Ok(d)
            }
        }
        _ => Err(ShapeError::BadInput {
            input: arch.input.clone(),
        }),
    }
}

/// Product of dimensions, without overflow.
fn product(d: &[usize]) -> u128 {
    d.iter().map(|&x| x as u128).product()
}

/// Weight count and MACs of a layer with input `input` and output `out` (pools: window
/// operations), for the bounds; the exact figures are in `cost`.
fn work(layer: &Layer, input: &Dims, out: &Dims) -> (u128, u128) {
    let (cin, out_elems) = (input.channels() as u128, product(out));
    let window = |k: Size2, rank: usize| {
        if rank == 2 {
            k.h as u128
        } else {
            k.h as u128 * k.w as u128
        }
    };
    match *layer {
        Layer::Conv1d { kernel, .. } => {
            let per_out = kernel as u128 * cin;
            (per_out * out.channels() as u128, out_elems * per_out)
        }
        Layer::Conv2d { kernel, .. } => {
            let per_out = window(kernel, 3) * cin;
            (per_out * out.channels() as u128, out_elems * per_out)
        }
        Layer::DepthwiseConv1d { kernel, .. } => (kernel as u128 * cin, out_elems * kernel as u128),
        Layer::DepthwiseConv2d { kernel, .. } => {
            let k = window(kernel, 3);
            (k * cin, out_elems * k)
        }
        Layer::Dense { .. } => {
            let w = product(input) * out_elems;
            (w, w)
        }
        Layer::MaxPool1d { size, .. } | Layer::AvgPool1d { size, .. } => {
            (0, out_elems * size as u128)
        }
        Layer::MaxPool2d { size, .. } | Layer::AvgPool2d { size, .. } => {
            (0, out_elems * size as u128 * size as u128)
        }
        _ => (0, product(input).max(out_elems)),
    }
}

pub(super) fn infer_dims(arch: &Arch) -> Result<Vec<Dims>, ShapeError> {
    if arch.layers.is_empty() || arch.layers.len() > MAX_LAYERS {
        return Err(ShapeError::LayerCount {
            count: arch.layers.len(),
        });
    }
    let first = input_dims(arch)?;
    let mut shapes: Vec<Dims> = Vec::with_capacity(arch.layers.len());
    for (index, layer) in arch.layers.iter().enumerate() {
        let input = shapes.last().unwrap_or(&first);
        let cx = Ctx {
            index,
            kind: layer.kind(),
            input,
        };
        let channels = input.channels();
        let out = match *layer {
            Layer::Conv1d {
                filters,
                kernel,
                stride,
                padding,
                dilation,
                ..
            } => {
                cx.nonzero("filters", filters)?;
                cx.spatial(2, kernel.into(), stride.into(), dilation, padding, filters)?
            }
            Layer::Conv2d {
                filters,
                kernel,
                stride,
                padding,
                dilation,
                ..
            } => {
                cx.nonzero("filters", filters)?;
                cx.spatial(3, kernel, stride, dilation, padding, filters)?
            }
            Layer::DepthwiseConv1d {
                kernel,
                stride,
                padding,
                dilation,
                ..
            } => cx.spatial(2, kernel.into(), stride.into(), dilation, padding, channels)?,
            Layer::DepthwiseConv2d {
                kernel,
                stride,
                padding,
                dilation,
                ..
            } => cx.spatial(3, kernel, stride, dilation, padding, channels)?,
            Layer::MaxPool1d {
                size,
                stride,
                padding,
            }
            | Layer::AvgPool1d {
                size,
                stride,
                padding,
            } => cx.spatial(
                2,
                size.into(),
                stride.unwrap_or(size).into(),
                1,
                padding,
                channels,
            )?,
            Layer::MaxPool2d {
                size,
                stride,
                padding,
            }
            | Layer::AvgPool2d {
                size,
                stride,
                padding,
            } => cx.spatial(
                3,
                size.into(),
                stride.unwrap_or(size).into(),
                1,
                padding,
                channels,
            )?,
            Layer::Dense { units, .. } => {
                cx.nonzero("units", units)?;
                if input.len() != 1 {
                    return Err(cx.rank("must be flat [N]: add Flatten or GlobalAvgPool first"));
                }
                Dims::flat(units)
            }
            Layer::ReLU | Layer::ReLU6 | Layer::BatchNorm => *input,
            Layer::GlobalAvgPool => {
                if input.len() < 2 {
                    return Err(cx.rank("must have spatial axes ([T, C] or [H, W, C])"));
                }
                Dims::flat(channels)
            }
            Layer::Flatten => Dims::flat(input.iter().product()), // ≤ MAX_ELEMENTS
            Layer::Add { from } => {
                if index < 2 {
                    return Err(ShapeError::AddTooEarly { index });
                }
                if from + 1 >= index {
                    return Err(ShapeError::AddFrom { index, from });
                }
                if shapes[from] != *input {
                    return Err(ShapeError::AddShape {
                        index,
                        from,
                        input: input.to_vec(),
                        other: shapes[from].to_vec(),
                    });
                }
                *input
            }
            Layer::Branch { from } => {
                if from + 1 >= index {
                    return Err(ShapeError::BranchFrom { index, from });
                }
                shapes[from]
            }
        };
        cx.bounded("output elements", product(&out), MAX_ELEMENTS)?;
        let (weights, macs) = work(layer, input, &out);
        cx.bounded("weights", weights, MAX_ELEMENTS)?;
        cx.bounded("MACs", macs, MAX_LAYER_MACS)?;
        shapes.push(out);
    }
    // Every output but the last must be read: by the next layer unless that is a
    // Branch, else by a later Add or Branch naming it.
    for (i, l) in arch.layers.iter().enumerate().skip(1) {
        if matches!(l, Layer::Branch { .. }) {
            let prev = i - 1;
            let read = arch.layers[i + 1..].iter().any(
                |m| matches!(*m, Layer::Add { from } | Layer::Branch { from } if from == prev),
            );
            if !read {
                return Err(ShapeError::Unused {
                    index: prev,
                    kind: arch.layers[prev].kind(),
                });
            }
        }
    }
    Ok(shapes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arch(input: &[usize], layers: Vec<Layer>) -> Arch {
        Arch {
            input: input.to_vec(),
            layers,
        }
    }

    /// Sizes that wrapped the u64 cost sums (a 4e9 × 4e9 input gave a parameter count
    /// of 1.2e19) or that are not networks are refused, with the bound in the message.
    #[test]
    fn sizes_past_the_limits_are_refused() {
        let dense = |units| Layer::Dense { units, bias: true };
        assert_eq!(
            arch(&[100, 6], vec![]).shapes(),
            Err(ShapeError::LayerCount { count: 0 })
        );
        assert!(matches!(
            arch(&[4_000_000_000, 4_000_000_000], vec![Layer::Flatten, dense(10)]).shapes(),
            Err(ShapeError::InputTooLarge { elements, .. }) if elements == 16_000_000_000_000_000_000
        ));
        // the largest input: 2^31 elements
        assert!(
            arch(&[1 << 16, 1 << 15], vec![Layer::GlobalAvgPool, dense(2)])
                .shapes()
                .is_ok()
        );
        assert!(
            arch(&[1 << 16, 1 << 15, 2], vec![Layer::GlobalAvgPool, dense(2)])
                .shapes()
                .is_err()
        );
        // Dense 1000 → 2^22 units: 4.19e9 weights > 2^31, though every tensor is small
        let e = arch(&[10, 100], vec![Layer::Flatten, dense(1 << 22), dense(2)])
            .shapes()
            .unwrap_err();
        assert_eq!(
            e,
            ShapeError::TooLarge {
                index: 1,
                kind: "Dense",
                what: "weights",
                value: 1000 * (1 << 22),
                limit: MAX_ELEMENTS,
            }
        );
        // Conv1d over [2^20, 64] with 2^15 filters of kernel 1: 2^21 weights, but
        // 2^20 × 2^15 = 2^35 output elements
        let conv = Layer::Conv1d {
            filters: 1 << 15,
            kernel: 1,
            stride: 1,
            padding: Padding::Same,
            dilation: 1,
            bias: true,
        };
        assert!(matches!(
            arch(&[1 << 20, 64], vec![conv, Layer::GlobalAvgPool, dense(2)]).shapes(),
            Err(ShapeError::TooLarge { what: "output elements", value, .. }) if value == 1 << 35
        ));
        // a kernel of 2^40 overflows `dilation × (kernel − 1)` if not bounded first
        let conv = Layer::Conv1d {
            filters: 1,
            kernel: 1 << 40,
            stride: 1,
            padding: Padding::Valid,
            dilation: 1 << 40,
            bias: true,
        };
        assert!(matches!(
            arch(&[100, 6], vec![conv]).shapes(),
            Err(ShapeError::TooLarge {
                what: "kernel/size",
                ..
            })
        ));
    }

    #[test]
    fn same_and_valid_lengths() {
        assert_eq!(conv_out_len(100, 5, 1, 1, Padding::Valid), Some(96));
        assert_eq!(conv_out_len(100, 5, 2, 1, Padding::Same), Some(50));
        assert_eq!(conv_out_len(101, 5, 2, 1, Padding::Same), Some(51));
        assert_eq!(conv_out_len(10, 3, 1, 2, Padding::Valid), Some(6));
        assert_eq!(conv_out_len(4, 5, 1, 1, Padding::Valid), None);
    }

    #[test]
    fn har_s_shapes() {
        let a = arch(
            &[100, 6],
            vec![
                Layer::Conv1d {
                    filters: 16,
                    kernel: 5,
                    stride: 1,
                    padding: Padding::Valid,
                    dilation: 1,
                    bias: true,
                },
                Layer::ReLU,
                Layer::MaxPool1d {
                    size: 2,
                    stride: None,
                    padding: Padding::Valid,
                },
                Layer::GlobalAvgPool,
                Layer::Dense {
                    units: 4,
                    bias: true,
                },
            ],
        );
        let s = a.shapes().unwrap();
        assert_eq!(
            s,
            vec![vec![96, 16], vec![96, 16], vec![48, 16], vec![16], vec![4]]
        );
    }

    #[test]
    fn errors_name_the_layer() {
        let a = arch(
            &[8, 8, 1],
            vec![Layer::Dense {
                units: 3,
                bias: true,
            }],
        );
        let e = a.shapes().unwrap_err();
        assert_eq!(
            e.to_string(),
            "layer 0 (Dense): input shape [8, 8, 1] must be flat [N]: add Flatten or GlobalAvgPool first"
        );
        let a = arch(
            &[8, 4],
            vec![Layer::ReLU, Layer::Flatten, Layer::Add { from: 0 }],
        );
        assert!(matches!(a.shapes(), Err(ShapeError::AddShape { .. })));
    }

    #[test]
    fn branch_shapes_and_errors() {
        let ok = Arch::from_ron(
            "Arch(input: [8, 2], layers: [Conv1d(filters: 4, kernel: 1), ReLU,
             Conv1d(filters: 3, kernel: 3, stride: 2, padding: Same), Branch(from: 1),
             Conv1d(filters: 3, kernel: 1, stride: 2), Add(from: 2)])",
        )
        .unwrap();
        let s = ok.shapes().unwrap();
        assert_eq!(s[3], vec![8, 4]);
        assert_eq!(s[4], vec![4, 3]);
        assert_eq!(s[5], vec![4, 3]);
        // The conv before the Branch is never read.
        let dead = Arch::from_ron(
            "Arch(input: [8, 2], layers: [Conv1d(filters: 4, kernel: 1), ReLU,
             Conv1d(filters: 4, kernel: 1), Branch(from: 1), ReLU])",
        )
        .unwrap();
        assert_eq!(
            dead.shapes().unwrap_err().to_string(),
            "layer 2 (Conv1d): its output is never used (layer 3 is a Branch and no later Add or Branch reads layer 2)"
        );
        let back = Arch::from_ron(
            "Arch(input: [8, 2], layers: [ReLU, ReLU, Branch(from: 1), Add(from: 1)])",
        )
        .unwrap();
        assert!(matches!(
            back.shapes(),
            Err(ShapeError::BranchFrom { index: 2, from: 1 })
        ));
    }
}
