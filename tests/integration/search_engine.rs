//! Integration tests: search_engine.
