//! The candidate problem: genome of (network, cuts, map) and its evaluation pipeline
//! cost → constraints → simulation → training.
