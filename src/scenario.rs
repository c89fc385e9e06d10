//! Scenarios: the RON files users write to describe devices, links, workload, search
//! space and search settings (see `docs/scenarios.md`).
//!
//! - [`schema`]: the serde types (field names are the user-facing contract);
//! - [`Scenario::load`] / [`Scenario::embedded_quickstart`]: parse, validate and resolve
//!   profiles into a [`LoadedScenario`];
//! - [`ScenarioError`]: every problem with file:line:col;
//! - [`profiles`]: the shipped device/link profiles (embedded) and bundled data;
//! - [`span`]: value path → line:column in the source text.
//!
//! ```
//! use distrinas::scenario::Scenario;
//! let q = Scenario::embedded_quickstart();
//! assert_eq!(q.scenario.source, "ankle");
//! let train = q.read_data(&q.train_path()).unwrap();
//! let text = distrinas::train::decode_text(train, "train").unwrap();
//! assert!(text.contains("@problemName MNIST1D"));
//! ```

pub mod error;
pub mod fields;
pub mod limits;
pub mod load;
pub mod profiles;
pub mod schema;
pub mod span;
mod validate;

pub use error::{Diagnostic, ScenarioError};
pub use load::LoadedScenario;
pub use schema::*;
pub use span::SpanIndex;

/// RON options used for scenario and profile files: `implicit_some` is on, so optional
/// fields may be written `sram_bytes: 262144` as well as `sram_bytes: Some(262144)`.
pub fn ron_options() -> ron::Options {
    ron::Options::default().with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
}
