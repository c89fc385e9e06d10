//! Scenarios: the RON files users write to describe devices, links, workload, search
//! space and search settings (see `docs/scenarios.md`).
//!
//! [`schema`] holds the serde types (field names are the user-facing contract).

pub mod schema;

pub use schema::*;
