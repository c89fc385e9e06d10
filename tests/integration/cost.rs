//! Integration tests: cost.
