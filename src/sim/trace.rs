//! Optional per-request event trace (`simulate --trace FILE`): one CSV row per
//! request event, for debugging a run.

use crate::network::Network;
use serde::Serialize;
use std::fmt::Write as _;

/// What happened to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum TraceKind {
    /// The request arrived at the source device.
    Arrive,
    /// A partition started on `device` (it waited in the queue before).
    ComputeStart,
    /// A partition finished on `device`.
    ComputeEnd,
    /// A message started transmitting on `link` from `device`.
    TxStart,
    /// The transmitter of `link` finished sending the message from `device`.
    TxEnd,
    /// The message arrived at `device` (after the hop latency).
    HopArrive,
    /// The output reached the sink `device`.
    Complete,
    /// The request was dropped at `device` / on `link`.
    Drop,
}

/// One traced event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TraceRecord {
    /// Simulated time, ns.
    pub time_ns: u64,
    /// Request number (0-based, in arrival order).
    pub request: u64,
    /// What happened.
    pub kind: TraceKind,
    /// Device index involved.
    pub device: Option<u32>,
    /// Link index involved.
    pub link: Option<u32>,
}

/// The trace as CSV text: `time_ns,request,event,device,link` with device ids and
/// links as `a-b`.
pub fn trace_csv(records: &[TraceRecord], network: &Network) -> String {
    let mut s = String::from("time_ns,request,event,device,link\n");
    for r in records {
        let dev = r
            .device
            .map(|d| network.devices()[d as usize].id.as_str())
            .unwrap_or("");
        let link = r
            .link
            .map(|l| {
                let l = &network.links()[l as usize];
                format!(
                    "{}-{}",
                    network.devices()[l.a].id,
                    network.devices()[l.b].id
                )
            })
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "{},{},{:?},{},{}",
            r.time_ns, r.request, r.kind, dev, link
        );
    }
    s
}
