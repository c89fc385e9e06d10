//! Integration tests: integrated.
