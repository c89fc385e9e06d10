//! Variation operators for bounded real vectors (pymoo 0.6 / Deb's bounded versions).

pub mod polynomial;
pub mod sbx;
