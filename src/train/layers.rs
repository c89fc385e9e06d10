//! Layer kernels (forward and backward) on channel-last, batch-first flat buffers.
//!
//! Every kernel works on a *chunk* of `n` samples stored contiguously: a 1-D
//! activation `[T, C]` is treated as the 2-D `[T, 1, C]`, so convolutions and pools
//! share one window geometry ([`Geom`]). Backward kernels always *accumulate* (`+=`)
//! into the input gradient, which the caller zeroes, so residual (`Add`) fan-out
//! needs no special case.

pub(crate) mod activation;
pub(crate) mod batchnorm;
pub(crate) mod conv;
pub(crate) mod dense;
pub(crate) mod depthwise;
pub(crate) mod pool;
pub(crate) mod reshape;

use crate::arch::{Layer, Padding, Shape, Size2};

/// Window geometry of a convolution or pooling layer over `[ih, iw, c]` (1-D: `iw = 1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geom {
    /// Input rows (1-D: time steps).
    pub ih: usize,
    /// Input columns (1-D: 1).
    pub iw: usize,
    /// Channels.
    pub c: usize,
    /// Output rows.
    pub oh: usize,
    /// Output columns.
    pub ow: usize,
    /// Kernel rows.
    pub kh: usize,
    /// Kernel columns.
    pub kw: usize,
    /// Row stride.
    pub sh: usize,
    /// Column stride.
    pub sw: usize,
    /// Row dilation.
    pub dh: usize,
    /// Column dilation.
    pub dw: usize,
    /// Padding before the first row / column (TF `Same`: `total / 2`, the rest after).
    pub ph: usize,
    /// Padding before the first column.
    pub pw: usize,
}

impl Geom {
    /// Input row index of output row `o` and kernel tap `k`, if inside the input.
    #[inline]
    pub fn row(&self, o: usize, k: usize) -> Option<usize> {
        let i = (o * self.sh + k * self.dh) as isize - self.ph as isize;
        (i >= 0 && (i as usize) < self.ih).then_some(i as usize)
    }
    /// Input column index of output column `o` and kernel tap `k`, if inside the input.
    #[inline]
    pub fn col(&self, o: usize, k: usize) -> Option<usize> {
        let i = (o * self.sw + k * self.dw) as isize - self.pw as isize;
        (i >= 0 && (i as usize) < self.iw).then_some(i as usize)
    }
    /// First input column of output column `o` when every tap of a kernel row falls
    /// inside the input at consecutive columns (dilation 1), so that the row's taps are
    /// one contiguous span of `kw * c` input values.
    #[inline]
    pub fn inner_span(&self, o: usize) -> Option<usize> {
        let i = (o * self.sw) as isize - self.pw as isize;
        (self.dw == 1 && i >= 0 && i as usize + self.kw <= self.iw).then_some(i as usize)
    }
    /// Elements per input sample.
    pub fn in_size(&self) -> usize {
        self.ih * self.iw * self.c
    }
    /// Output positions per sample.
    pub fn out_positions(&self) -> usize {
        self.oh * self.ow
    }
    /// Kernel taps (`kh * kw`).
    pub fn taps(&self) -> usize {
        self.kh * self.kw
    }
}

/// Padding before the data along one axis (TensorFlow `Same`: half the total, rounded down).
fn pad_before(
    len: usize,
    out: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
    p: Padding,
) -> usize {
    match p {
        Padding::Valid => 0,
        Padding::Same => {
            let window = dilation * (kernel - 1) + 1;
            ((out - 1) * stride + window).saturating_sub(len) / 2
        }
    }
}

fn geom(
    input: &Shape,
    output: &Shape,
    kernel: Size2,
    stride: Size2,
    dilation: usize,
    padding: Padding,
) -> Geom {
    let two_d = input.len() == 3;
    let (ih, iw) = if two_d {
        (input[0], input[1])
    } else {
        (input[0], 1)
    };
    let (oh, ow) = if two_d {
        (output[0], output[1])
    } else {
        (output[0], 1)
    };
    let c = *input.last().expect("rank checked by Arch::shapes");
    let (kw, sw, dw) = if two_d {
        (kernel.w, stride.w, dilation)
    } else {
        (1, 1, 1)
    };
    Geom {
        ih,
        iw,
        c,
        oh,
        ow,
        kh: kernel.h,
        kw,
        sh: stride.h,
        sw,
        dh: dilation,
        dw,
        ph: pad_before(ih, oh, kernel.h, stride.h, dilation, padding),
        pw: if two_d {
            pad_before(iw, ow, kernel.w, stride.w, dilation, padding)
        } else {
            0
        },
    }
}

/// A compiled layer: the arch layer plus its resolved geometry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Op {
    Conv {
        g: Geom,
        cout: usize,
        bias: bool,
    },
    Depthwise {
        g: Geom,
        bias: bool,
    },
    Dense {
        nin: usize,
        nout: usize,
        bias: bool,
    },
    Relu,
    Relu6,
    BatchNorm {
        c: usize,
    },
    MaxPool {
        g: Geom,
    },
    AvgPool {
        g: Geom,
    },
    GlobalAvgPool {
        spatial: usize,
        c: usize,
    },
    Flatten,
    Add {
        from: usize,
    },
    /// Copy of layer `from`'s output (the arch's `Branch`; the copy keeps "layer `i`
    /// reads `acts[i - 1]`" true for every other layer).
    Branch {
        from: usize,
    },
}

impl Op {
    /// Compiles `layer` given its (already validated) input and output shapes.
    pub fn compile(layer: &Layer, input: &Shape, output: &Shape) -> Op {
        match *layer {
            Layer::Conv1d {
                filters,
                kernel,
                stride,
                padding,
                dilation,
                bias,
            } => Op::Conv {
                g: geom(
                    input,
                    output,
                    kernel.into(),
                    stride.into(),
                    dilation,
                    padding,
                ),
                cout: filters,
                bias,
            },
            Layer::Conv2d {
                filters,
                kernel,
                stride,
                padding,
                dilation,
                bias,
            } => Op::Conv {
                g: geom(input, output, kernel, stride, dilation, padding),
                cout: filters,
                bias,
            },
            Layer::DepthwiseConv1d {
                kernel,
                stride,
                padding,
                dilation,
                bias,
            } => Op::Depthwise {
                g: geom(
                    input,
                    output,
                    kernel.into(),
                    stride.into(),
                    dilation,
                    padding,
                ),
                bias,
            },
            Layer::DepthwiseConv2d {
                kernel,
                stride,
                padding,
                dilation,
                bias,
            } => Op::Depthwise {
                g: geom(input, output, kernel, stride, dilation, padding),
                bias,
            },
            Layer::Dense { units, bias } => Op::Dense {
                nin: input[0],
                nout: units,
                bias,
            },
            Layer::ReLU => Op::Relu,
            Layer::ReLU6 => Op::Relu6,
            Layer::BatchNorm => Op::BatchNorm {
                c: *input.last().unwrap_or(&1),
            },
            Layer::MaxPool1d {
                size,
                stride,
                padding,
            }
            | Layer::MaxPool2d {
                size,
                stride,
                padding,
            } => Op::MaxPool {
                g: geom(
                    input,
                    output,
                    size.into(),
                    stride.unwrap_or(size).into(),
                    1,
                    padding,
                ),
            },
            Layer::AvgPool1d {
                size,
                stride,
                padding,
            }
            | Layer::AvgPool2d {
                size,
                stride,
                padding,
            } => Op::AvgPool {
                g: geom(
                    input,
                    output,
                    size.into(),
                    stride.unwrap_or(size).into(),
                    1,
                    padding,
                ),
            },
            Layer::GlobalAvgPool => {
                let c = *input.last().unwrap_or(&1);
                Op::GlobalAvgPool {
                    spatial: input.iter().product::<usize>() / c,
                    c,
                }
            }
            Layer::Flatten => Op::Flatten,
            Layer::Add { from } => Op::Add { from },
            Layer::Branch { from } => Op::Branch { from },
        }
    }

    /// Shapes of the trainable tensors: `[weights, bias]` (bias only if present).
    /// Conv weights are `[kh * kw * cin, cout]` (rows in `(ky, kx, cin)` order),
    /// depthwise `[kh * kw, c]`, dense `[nin, nout]`, batch norm `[gamma; c], [beta; c]`.
    pub fn param_shapes(&self) -> Vec<Vec<usize>> {
        match *self {
            Op::Conv { g, cout, bias } => {
                let mut v = vec![vec![g.taps() * g.c, cout]];
                if bias {
                    v.push(vec![cout]);
                }
                v
            }
            Op::Depthwise { g, bias } => {
                let mut v = vec![vec![g.taps(), g.c]];
                if bias {
                    v.push(vec![g.c]);
                }
                v
            }
            Op::Dense { nin, nout, bias } => {
                let mut v = vec![vec![nin, nout]];
                if bias {
                    v.push(vec![nout]);
                }
                v
            }
            Op::BatchNorm { c } => vec![vec![c], vec![c]],
            _ => vec![],
        }
    }

    /// Shapes of the non-trainable state tensors (batch norm running mean and variance).
    pub fn state_shapes(&self) -> Vec<Vec<usize>> {
        match *self {
            Op::BatchNorm { c } => vec![vec![c], vec![c]],
            _ => vec![],
        }
    }

    /// Fan-in and fan-out for initialisation (weights only).
    pub fn fans(&self) -> Option<(usize, usize)> {
        match *self {
            Op::Conv { g, cout, .. } => Some((g.taps() * g.c, g.taps() * cout)),
            Op::Depthwise { g, .. } => Some((g.taps(), g.taps())),
            Op::Dense { nin, nout, .. } => Some((nin, nout)),
            _ => None,
        }
    }
}
