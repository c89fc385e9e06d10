//! A small, exact ndarray trainer: layers with forward/backward passes, softmax
//! cross-entropy, Adam/SGD, datasets, weight inheritance, int8 evaluation and a weights
//! file format (see `docs/training.md`).
//!
//! ```
//! use distrinas::arch::Arch;
//! use distrinas::train::{self, DataKind, Model, Optimizer, SplitOptions, Splits, TrainConfig};
//!
//! let text = "@classLabel true lo hi\n@data\n0,0,1,0:0,1,0,0:lo\n5,6,5,6:6,5,6,5:hi\n\
//!             0,1,0,0:0,0,1,0:lo\n6,5,6,5:5,6,5,6:hi\n";
//! let raw = DataKind::Ts.parse(text, "toy.ts").unwrap();
//! let splits = Splits::new(&raw, None, &SplitOptions { validation_fraction: 0.0, ..Default::default() }).unwrap();
//! let arch = Arch::from_ron("Arch(input: [4, 2], layers: [Conv1d(filters: 4, kernel: 3), ReLU,
//!                            GlobalAvgPool, Dense(units: 2)])").unwrap();
//! let mut model = Model::new(&arch, 7).unwrap();
//! let cfg = TrainConfig {
//!     epochs: 100,
//!     batch_size: 2,
//!     optimizer: Optimizer::adam(0.02),
//!     ..Default::default()
//! };
//! let report = train::fit(&mut model, &splits, &cfg).unwrap();
//! assert_eq!(report.val_accuracy, 1.0); // no validation split: evaluated on the training set
//! ```
//!
//! Storage and arithmetic are `f32`; every layer is generic over [`Real`] so the
//! finite-difference gradient checks run the same code in `f64`.

pub mod csv;
pub mod dataset;
mod fit;
#[cfg(test)]
mod gradcheck;
pub(crate) mod layers;
pub(crate) mod loss;
pub mod model;
pub mod optim;
pub mod quant;
pub mod real;
pub mod ts;
pub mod weights;

pub use dataset::{
    decode_text, DataError, DataKind, Dataset, RawCase, RawSet, SplitOptions, Splits,
};
pub use fit::{fit, fit_until, fit_with, EpochStats, TrainConfig, TrainReport, Trainer};
pub use layers::Geom;
pub use model::{training_bytes, Model};
pub use optim::{Optimizer, Schedule};
pub use real::Real;

use crate::arch::{Shape, ShapeError};
use thiserror::Error;

/// Largest memory one model may allocate for its parameters or for one training or
/// evaluation workspace: 4 GiB. Estimated before anything is allocated, so that an
/// oversized network, batch or search space is refused with a message instead of an
/// allocation abort (see `docs/training.md`, "Limits").
pub const MAX_TRAINING_BYTES: u128 = 4 << 30;

/// Why a model cannot be built, trained, saved or loaded.
#[derive(Debug, Error)]
pub enum TrainError {
    /// The architecture's shapes do not fit together.
    #[error(transparent)]
    Shape(#[from] ShapeError),
    /// The last layer does not output class logits `[K]` with `K ≥ 2`.
    #[error("the last layer must output class logits [K] with K >= 2, not {shape:?}")]
    OutputNotLogits {
        /// The last layer's output shape.
        shape: Shape,
    },
    /// The data's sample shape does not fit the architecture's input.
    #[error("data samples have shape {data:?} ({} values) but the network input is {arch:?}", data.iter().product::<usize>())]
    InputMismatch {
        /// Arch input shape.
        arch: Shape,
        /// Data sample shape.
        data: Shape,
    },
    /// The network has a different number of outputs than the data has classes.
    #[error("the network outputs {outputs} logits but the data has {classes} classes")]
    ClassMismatch {
        /// Logits.
        outputs: usize,
        /// Classes.
        classes: usize,
    },
    /// The training split is empty.
    #[error("the training split is empty")]
    EmptyTraining,
    /// Training was asked to stop (Ctrl-C, SIGTERM) after `epochs` epochs.
    #[error("training interrupted after {epochs} epoch(s)")]
    Interrupted {
        /// Epochs completed.
        epochs: usize,
    },
    /// An invalid training option.
    #[error("invalid training configuration: {0}")]
    Config(String),
    /// A dataset error.
    #[error(transparent)]
    Data(#[from] DataError),
    /// Reading or writing a weights file failed (the cause is the error's source).
    #[error("cannot read or write weights file {path}")]
    Io {
        /// The path.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Training or evaluating the network would need more memory than
    /// [`MAX_TRAINING_BYTES`]; nothing was allocated.
    #[error("{what} would need about {} MiB: more than the limit of {} MiB (a smaller network, batch or chunk fits)", bytes / (1 << 20), MAX_TRAINING_BYTES >> 20)]
    TooLarge {
        /// What was to be allocated (parameters, a training workspace).
        what: &'static str,
        /// The estimate, bytes.
        bytes: u128,
    },
    /// A weights file is malformed or does not fit the model.
    #[error("{path}: {msg}")]
    Weights {
        /// The path (or display name).
        path: String,
        /// What is wrong.
        msg: String,
    },
}
