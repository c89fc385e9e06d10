//! Quality indicators: exact hypervolume, IGD and IGD+.

pub mod hypervolume;
pub mod igd;

pub use hypervolume::hypervolume;
pub use igd::{igd, igd_plus};
