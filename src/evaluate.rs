//! The candidate problem: genome of (network, cuts, map) and its evaluation pipeline
//! cost → constraints → simulation → training.

pub mod storage;
pub mod store;
pub mod training;

pub use run::load_splits;
pub use store::WeightStore;
pub use training::{train_candidate, TrainFigures};
pub mod adapt;
pub mod failures;
pub mod measure;
pub mod objectives;
pub mod pipeline;
pub mod placement;
pub mod problem;
pub mod run;
pub mod runfolder;
pub mod simulation;
pub mod summary;
pub mod surrogate;
pub mod sweep;
pub mod warm;
pub mod whatif;
pub mod workers;
