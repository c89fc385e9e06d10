//! Shape inference: the output shape of every layer, with clear errors.

use super::{Arch, Layer, Padding, Shape};
use thiserror::Error;

/// Why an architecture's shapes do not fit together.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ShapeError {
    /// The input shape has a zero or an unsupported rank.
    #[error(
        "input shape {input:?} is invalid: expected [T, C] or [H, W, C] with every dimension > 0"
    )]
    BadInput { input: Shape },
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
    input: &'a Shape,
}

impl Ctx<'_> {
    fn rank(&self, expected: &'static str) -> ShapeError {
        ShapeError::Rank {
            index: self.index,
            kind: self.kind,
            input: self.input.clone(),
            expected,
        }
    }
    fn nonzero(&self, field: &'static str, v: usize) -> Result<usize, ShapeError> {
        if v == 0 {
            Err(ShapeError::Zero {
                index: self.index,
                kind: self.kind,
                field,
            })
        } else {
            Ok(v)
        }
    }
    /// Spatial output dims for a window op over all but the last axis.
    fn spatial(
        &self,
        rank: usize,
        kernel: usize,
        stride: usize,
        dilation: usize,
        padding: Padding,
    ) -> Result<Vec<usize>, ShapeError> {
        if self.input.len() != rank {
            return Err(self.rank(if rank == 2 {
                "must be [T, C] (a 1-D layer)"
            } else {
                "must be [H, W, C] (a 2-D layer)"
            }));
        }
        self.nonzero("kernel/size", kernel)?;
        self.nonzero("stride", stride)?;
        self.nonzero("dilation", dilation)?;
        let mut out = Vec::with_capacity(rank);
        for &len in &self.input[..rank - 1] {
            match conv_out_len(len, kernel, stride, dilation, padding) {
                Some(o) if o > 0 => out.push(o),
                _ => {
                    return Err(ShapeError::WindowTooLarge {
                        index: self.index,
                        kind: self.kind,
                        window: dilation * (kernel - 1) + 1,
                        len,
                        input: self.input.clone(),
                    })
                }
            }
        }
        Ok(out)
    }
}

pub(super) fn infer(arch: &Arch) -> Result<Vec<Shape>, ShapeError> {
    if !(2..=3).contains(&arch.input.len()) || arch.input.contains(&0) {
        return Err(ShapeError::BadInput {
            input: arch.input.clone(),
        });
    }
    let mut shapes: Vec<Shape> = Vec::with_capacity(arch.layers.len());
    for (index, layer) in arch.layers.iter().enumerate() {
        let input = shapes.last().unwrap_or(&arch.input);
        let cx = Ctx {
            index,
            kind: layer.kind(),
            input,
        };
        let channels = *input.last().unwrap_or(&0);
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
                let mut s = cx.spatial(2, kernel, stride, dilation, padding)?;
                s.push(filters);
                s
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
                let mut s = cx.spatial(3, kernel, stride, dilation, padding)?;
                s.push(filters);
                s
            }
            Layer::DepthwiseConv1d {
                kernel,
                stride,
                padding,
                dilation,
                ..
            } => {
                let mut s = cx.spatial(2, kernel, stride, dilation, padding)?;
                s.push(channels);
                s
            }
            Layer::DepthwiseConv2d {
                kernel,
                stride,
                padding,
                dilation,
                ..
            } => {
                let mut s = cx.spatial(3, kernel, stride, dilation, padding)?;
                s.push(channels);
                s
            }
            Layer::MaxPool1d {
                size,
                stride,
                padding,
            }
            | Layer::AvgPool1d {
                size,
                stride,
                padding,
            } => {
                let mut s = cx.spatial(2, size, stride.unwrap_or(size), 1, padding)?;
                s.push(channels);
                s
            }
            Layer::MaxPool2d {
                size,
                stride,
                padding,
            }
            | Layer::AvgPool2d {
                size,
                stride,
                padding,
            } => {
                let mut s = cx.spatial(3, size, stride.unwrap_or(size), 1, padding)?;
                s.push(channels);
                s
            }
            Layer::Dense { units, .. } => {
                cx.nonzero("units", units)?;
                if input.len() != 1 {
                    return Err(cx.rank("must be flat [N]: add Flatten or GlobalAvgPool first"));
                }
                vec![units]
            }
            Layer::ReLU | Layer::ReLU6 | Layer::BatchNorm => input.clone(),
            Layer::GlobalAvgPool => {
                if input.len() < 2 {
                    return Err(cx.rank("must have spatial axes ([T, C] or [H, W, C])"));
                }
                vec![channels]
            }
            Layer::Flatten => vec![input.iter().product()],
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
                        input: input.clone(),
                        other: shapes[from].clone(),
                    });
                }
                input.clone()
            }
        };
        shapes.push(out);
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
}
