//! The layer vocabulary shared by the cost model and the trainer.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A 2-D window size (kernel or stride) along (height, width). Written `3` for a square
/// window or `(10, 4)` for height 10, width 4; a square one is written back as `3`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Size2 {
    /// Rows (the `H` axis).
    pub h: usize,
    /// Columns (the `W` axis).
    pub w: usize,
}

impl Size2 {
    /// Elements of the window (`h × w`).
    pub fn area(&self) -> u64 {
        self.h as u64 * self.w as u64
    }
}

impl From<usize> for Size2 {
    fn from(n: usize) -> Size2 {
        Size2 { h: n, w: n }
    }
}

impl Serialize for Size2 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.h == self.w {
            s.serialize_u64(self.h as u64)
        } else {
            (self.h, self.w).serialize(s)
        }
    }
}

impl<'de> Deserialize<'de> for Size2 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Size2, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Square(usize),
            Rect(usize, usize),
        }
        Ok(
            match Repr::deserialize(d).map_err(|_| {
                serde::de::Error::custom("expected a size `3` or a (height, width) pair `(10, 4)`")
            })? {
                Repr::Square(n) => n.into(),
                Repr::Rect(h, w) => Size2 { h, w },
            },
        )
    }
}

/// Convolution / pooling padding. `Same` pads so that `out = ceil(in / stride)`
/// (TensorFlow convention, extra padding at the end); `Valid` does not pad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Padding {
    /// Pad so that `out = ceil(in / stride)`.
    Same,
    /// No padding: `out = floor((in - dilation * (kernel - 1) - 1) / stride) + 1`.
    #[default]
    Valid,
}

fn one() -> usize {
    1
}
fn yes() -> bool {
    true
}
fn is_one(v: &usize) -> bool {
    *v == 1
}
fn one2() -> Size2 {
    Size2 { h: 1, w: 1 }
}
fn is_one2(v: &Size2) -> bool {
    v.h == 1 && v.w == 1
}
fn is_true(v: &bool) -> bool {
    *v
}
fn is_valid(p: &Padding) -> bool {
    *p == Padding::Valid
}

/// One layer. Field names are the ones users write in RON; defaults: `stride: 1`,
/// `dilation: 1`, `padding: Valid`, `bias: true`, pooling `stride` = `size`.
/// 2-D convolution kernels and strides may be rectangular ([`Size2`]); pools are square.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Layer {
    /// 1-D convolution over `[T, C]`.
    Conv1d {
        /// Output channels.
        filters: usize,
        /// Kernel length.
        kernel: usize,
        #[serde(default = "one", skip_serializing_if = "is_one")]
        stride: usize,
        #[serde(default, skip_serializing_if = "is_valid")]
        padding: Padding,
        #[serde(default = "one", skip_serializing_if = "is_one")]
        dilation: usize,
        #[serde(default = "yes", skip_serializing_if = "is_true")]
        bias: bool,
    },
    /// 2-D convolution over `[H, W, C]`.
    Conv2d {
        filters: usize,
        /// Kernel: `3` (square) or `(10, 4)` (height, width).
        kernel: Size2,
        /// Stride: `2` or `(2, 1)` (rows, columns).
        #[serde(default = "one2", skip_serializing_if = "is_one2")]
        stride: Size2,
        #[serde(default, skip_serializing_if = "is_valid")]
        padding: Padding,
        #[serde(default = "one", skip_serializing_if = "is_one")]
        dilation: usize,
        #[serde(default = "yes", skip_serializing_if = "is_true")]
        bias: bool,
    },
    /// Depthwise 1-D convolution (one filter per input channel, multiplier 1).
    DepthwiseConv1d {
        kernel: usize,
        #[serde(default = "one", skip_serializing_if = "is_one")]
        stride: usize,
        #[serde(default, skip_serializing_if = "is_valid")]
        padding: Padding,
        #[serde(default = "one", skip_serializing_if = "is_one")]
        dilation: usize,
        #[serde(default = "yes", skip_serializing_if = "is_true")]
        bias: bool,
    },
    /// Depthwise 2-D convolution (one filter per input channel, multiplier 1).
    DepthwiseConv2d {
        /// Kernel: `3` (square) or `(10, 4)` (height, width).
        kernel: Size2,
        /// Stride: `2` or `(2, 1)` (rows, columns).
        #[serde(default = "one2", skip_serializing_if = "is_one2")]
        stride: Size2,
        #[serde(default, skip_serializing_if = "is_valid")]
        padding: Padding,
        #[serde(default = "one", skip_serializing_if = "is_one")]
        dilation: usize,
        #[serde(default = "yes", skip_serializing_if = "is_true")]
        bias: bool,
    },
    /// Fully connected layer over a flat `[N]` input.
    Dense {
        units: usize,
        #[serde(default = "yes", skip_serializing_if = "is_true")]
        bias: bool,
    },
    /// `max(x, 0)`.
    ReLU,
    /// `min(max(x, 0), 6)`.
    ReLU6,
    /// Batch normalisation over the last (channel) axis; folded into the preceding
    /// conv/dense for deployment.
    BatchNorm,
    /// 1-D max pooling (window `size`, `stride` defaults to `size`).
    MaxPool1d {
        size: usize,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stride: Option<usize>,
        #[serde(default, skip_serializing_if = "is_valid")]
        padding: Padding,
    },
    /// 2-D max pooling with a square window.
    MaxPool2d {
        size: usize,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stride: Option<usize>,
        #[serde(default, skip_serializing_if = "is_valid")]
        padding: Padding,
    },
    /// 1-D average pooling.
    AvgPool1d {
        size: usize,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stride: Option<usize>,
        #[serde(default, skip_serializing_if = "is_valid")]
        padding: Padding,
    },
    /// 2-D average pooling with a square window.
    AvgPool2d {
        size: usize,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stride: Option<usize>,
        #[serde(default, skip_serializing_if = "is_valid")]
        padding: Padding,
    },
    /// Mean over all spatial axes: `[T, C]` or `[H, W, C]` → `[C]`.
    GlobalAvgPool,
    /// Row-major flatten to `[N]`.
    Flatten,
    /// Residual: output = previous layer's output + output of layer `from`
    /// (`from` < this layer's index - 1; shapes must match).
    Add { from: usize },
    /// Branch: continue from the output of the earlier layer `from` (`from` < this
    /// layer's index - 1) instead of the previous layer's, whose output must then be read
    /// by a later `Add` (or `Branch`). No operator runs and no memory is used: the output
    /// is the same tensor as layer `from`'s. This expresses a shortcut with its own layers,
    /// e.g. ResNet's 1×1 projection: `..., BatchNorm, Branch(from: 9),
    /// Conv2d(filters: 32, kernel: 1, stride: 2), Add(from: 14)` adds the projected output
    /// of layer 9 to the main path ending at layer 14.
    Branch { from: usize },
}

/// Every layer kind, as [`Layer::kind`] names it.
pub const LAYER_KINDS: [&str; 16] = [
    "Conv1d",
    "Conv2d",
    "DepthwiseConv1d",
    "DepthwiseConv2d",
    "Dense",
    "ReLU",
    "ReLU6",
    "BatchNorm",
    "MaxPool1d",
    "MaxPool2d",
    "AvgPool1d",
    "AvgPool2d",
    "GlobalAvgPool",
    "Flatten",
    "Add",
    "Branch",
];

impl Layer {
    /// The variant's name as written in RON (`"Conv1d"`, `"ReLU"`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Layer::Conv1d { .. } => "Conv1d",
            Layer::Conv2d { .. } => "Conv2d",
            Layer::DepthwiseConv1d { .. } => "DepthwiseConv1d",
            Layer::DepthwiseConv2d { .. } => "DepthwiseConv2d",
            Layer::Dense { .. } => "Dense",
            Layer::ReLU => "ReLU",
            Layer::ReLU6 => "ReLU6",
            Layer::BatchNorm => "BatchNorm",
            Layer::MaxPool1d { .. } => "MaxPool1d",
            Layer::MaxPool2d { .. } => "MaxPool2d",
            Layer::AvgPool1d { .. } => "AvgPool1d",
            Layer::AvgPool2d { .. } => "AvgPool2d",
            Layer::GlobalAvgPool => "GlobalAvgPool",
            Layer::Flatten => "Flatten",
            Layer::Add { .. } => "Add",
            Layer::Branch { .. } => "Branch",
        }
    }

    /// True for layers that hold trainable weights (convolutions, dense, batch norm).
    pub fn has_weights(&self) -> bool {
        matches!(
            self,
            Layer::Conv1d { .. }
                | Layer::Conv2d { .. }
                | Layer::DepthwiseConv1d { .. }
                | Layer::DepthwiseConv2d { .. }
                | Layer::Dense { .. }
                | Layer::BatchNorm
        )
    }
}
