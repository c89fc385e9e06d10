//! Quality indicators: exact hypervolume, IGD and IGD+.

pub mod hypervolume;
pub mod igd;

pub use hypervolume::{hypervolume, hypervolume_monte_carlo, hypervolume_within, MAX_HV_WORK};
pub use igd::{igd, igd_plus};
