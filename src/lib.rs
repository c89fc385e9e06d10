//! # distrinas
//!
//! Multi-objective search for tiny neural networks **and** the way each is cut into
//! partitions and mapped onto a network of edge devices (microcontrollers, gateways,
//! phones) linked by BLE, 802.15.4, Wi-Fi or LoRa.
//!
//! The data path reads top-down: [`scenario`] (RON files) → [`network`] (petgraph
//! topology, routing) and [`arch`] (layers, shapes, costs) → [`partition`] (cuts and
//! device maps) → [`sim`] (discrete-event simulation) and [`train`] (ndarray trainer)
//! → [`search`] (generic SPEA2 / NSGA-II / random / aging evolution) → [`evaluate`]
//! (the candidate problem) → [`report`] (tables and plots). [`calibrate`] fits a
//! device's per-layer latency model to measurements.
//!
//! ```
//! use distrinas::arch::Arch;
//! let har_s = Arch::from_ron(
//!     "Arch(input: [100, 6], layers: [Conv1d(filters: 16, kernel: 5), ReLU,
//!      MaxPool1d(size: 2), Conv1d(filters: 32, kernel: 5), ReLU, GlobalAvgPool,
//!      Dense(units: 4)])",
//! ).unwrap();
//! assert_eq!(har_s.shapes().unwrap()[4], vec![44, 32]);
//! ```

pub mod arch;
pub mod atomic;
pub mod calibrate;
pub mod deploy;
pub mod evaluate;
pub mod network;
pub mod partition;
pub mod report;
pub mod ronfmt;
pub mod scenario;
pub mod search;
pub mod sim;
pub mod train;
