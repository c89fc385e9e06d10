//! Neural-network architectures: the layer vocabulary, RON schema and shape inference.
//!
//! An [`Arch`] is an input shape plus a sequence of [`Layer`]s. Shapes are
//! `[T, C]` for 1-D (time series) networks, `[H, W, C]` for 2-D (image) networks and
//! `[N]` after `Flatten`/`GlobalAvgPool`. Layer `i`'s output feeds layer `i + 1`;
//! [`Layer::Add`] additionally reads the output of an earlier layer (a residual).
//!
//! ```
//! use distrinas::arch::Arch;
//! let arch = Arch::from_ron(
//!     "Arch(input: [100, 6], layers: [Conv1d(filters: 16, kernel: 5), ReLU,
//!      MaxPool1d(size: 2, stride: 2), Conv1d(filters: 32, kernel: 5), ReLU, GlobalAvgPool,
//!      Dense(units: 4)])",
//! ).unwrap();
//! let shapes = arch.shapes().unwrap();
//! assert_eq!(shapes.last().unwrap(), &vec![4]);
//! ```

pub mod cost;
mod dims;
mod layer;
mod shape;
pub mod sram;

pub use cost::{arch_cost, layer_costs, ArchCost, LayerCost};
pub use dims::{Dims, MAX_RANK};
pub use layer::{Layer, Padding, Size2, LAYER_KINDS};
pub use shape::{conv_out_len, pool_out_len, ShapeError, MAX_ELEMENTS, MAX_LAYERS, MAX_LAYER_MACS};

use serde::{Deserialize, Serialize};

/// A tensor shape without the batch dimension (`[T, C]`, `[H, W, C]` or `[N]`).
pub type Shape = Vec<usize>;

/// A feed-forward network with optional residual (`Add`) connections.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Arch {
    /// Input shape without the batch dimension: `[T, C]` or `[H, W, C]`.
    pub input: Shape,
    /// Layers in execution order.
    pub layers: Vec<Layer>,
}

impl Arch {
    /// Output shape of every layer (`result[i]` is layer `i`'s output), or the first
    /// shape error found.
    pub fn shapes(&self) -> Result<Vec<Shape>, ShapeError> {
        shape::infer(self)
    }

    /// [`Arch::shapes`] as inline [`Dims`] (no allocation per layer): the form the
    /// cost model uses.
    pub fn dims(&self) -> Result<Vec<Dims>, ShapeError> {
        shape::infer_dims(self)
    }

    /// The input shape as [`Dims`], or [`ShapeError::BadInput`].
    pub fn input_dims(&self) -> Result<Dims, ShapeError> {
        shape::input_dims(self)
    }

    /// Parses an architecture from RON text (optional fields written plainly, e.g.
    /// `MaxPool1d(size: 3, stride: 2)`).
    pub fn from_ron(text: &str) -> Result<Self, ron::error::SpannedError> {
        crate::ronfmt::options().from_str(text)
    }

    /// Serialises to pretty RON (the format users write).
    pub fn to_ron(&self) -> String {
        ron::ser::to_string_pretty(self, ron::ser::PrettyConfig::new().depth_limit(2))
            .expect("an Arch always serialises")
    }
}
