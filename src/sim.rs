//! Discrete-event simulation of inference requests flowing through the device network
//! (see `docs/simulation.md`).
