//! The simulation report ([`SimReport`]) and latency statistics.
//!
//! Percentiles use the **nearest-rank** method: the p-th percentile of `n` sorted
//! values is the value at rank `ceil(p/100 × n)` (1-based). They are exact while at most
//! [`EXACT_LIMIT`] latencies have been recorded; beyond that the recorder switches to an
//! HDR-style log-linear histogram (128 sub-buckets per power of two: relative error
//! below 1/128 ≈ 0.8 %, reporting each bucket's upper bound, capped at the exact max).

use serde::Serialize;
use std::collections::BTreeMap;

/// Latencies recorded exactly (sorted for percentiles) up to this count.
pub const EXACT_LIMIT: usize = 1_000_000;

const SUB_BITS: u32 = 7;
const SUB: u64 = 1 << SUB_BITS;

/// Records latencies (ns): exact up to [`EXACT_LIMIT`] values, then a histogram.
#[derive(Debug, Clone, Default)]
pub struct LatencyRecorder {
    exact: Vec<u64>,
    hist: Option<Vec<u64>>,
    count: u64,
    sum: u128,
    max: u64,
}

fn bucket(v: u64) -> usize {
    if v < SUB {
        v as usize
    } else {
        let e = 63 - v.leading_zeros(); // >= SUB_BITS
        let shift = e - SUB_BITS;
        let mant = (v >> shift) - SUB; // 0..SUB
        ((shift as u64 + 1) * SUB + mant) as usize
    }
}

/// Largest value mapping to bucket `i`.
fn bucket_upper(i: usize) -> u64 {
    let i = i as u64;
    if i < SUB {
        i
    } else {
        let shift = i / SUB - 1;
        let mant = i % SUB;
        let lo = (SUB + mant) << shift;
        lo + ((1u64 << shift) - 1)
    }
}

impl LatencyRecorder {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one latency, ns.
    #[inline]
    pub fn record(&mut self, ns: u64) {
        self.count += 1;
        self.sum += ns as u128;
        self.max = self.max.max(ns);
        match &mut self.hist {
            Some(h) => h[bucket(ns)] += 1,
            None => {
                self.exact.push(ns);
                if self.exact.len() > EXACT_LIMIT {
                    let mut h = vec![0u64; bucket(u64::MAX) + 1];
                    for &v in &self.exact {
                        h[bucket(v)] += 1;
                    }
                    self.exact = Vec::new();
                    self.hist = Some(h);
                }
            }
        }
    }

    /// Records the same latency `n` times (the same state as `n` calls of
    /// [`LatencyRecorder::record`]).
    pub fn record_n(&mut self, ns: u64, n: u64) {
        if n == 0 {
            return;
        }
        let exact_fits = self.hist.is_none() && self.exact.len() as u64 + n <= EXACT_LIMIT as u64;
        if exact_fits {
            self.exact.extend(std::iter::repeat_n(ns, n as usize));
        } else {
            if self.hist.is_none() {
                let mut h = vec![0u64; bucket(u64::MAX) + 1];
                for &v in &self.exact {
                    h[bucket(v)] += 1;
                }
                self.exact = Vec::new();
                self.hist = Some(h);
            }
            if let Some(h) = &mut self.hist {
                h[bucket(ns)] += n;
            }
        }
        self.count += n;
        self.sum += ns as u128 * n as u128;
        self.max = self.max.max(ns);
    }

    /// Number of recorded latencies.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// True while percentiles are exact.
    pub fn is_exact(&self) -> bool {
        self.hist.is_none()
    }

    /// The recorded latencies (ns) while exact (in recording order until
    /// [`LatencyRecorder::summary`] partially reorders them).
    pub fn values(&self) -> Option<&[u64]> {
        self.hist.is_none().then_some(&self.exact[..])
    }

    /// Summary in milliseconds (all zero when nothing was recorded).
    pub fn summary(&mut self) -> LatencySummary {
        if self.count == 0 {
            return LatencySummary::default();
        }
        let ms = |ns: u64| ns as f64 / 1e6;
        let pcts = [50.0, 95.0, 99.0];
        let mut out = [0u64; 3];
        match &self.hist {
            None => {
                // O(n) selections instead of a sort: each percentile's rank, searched in
                // the part above the previous one.
                let mut lo = 0;
                for (o, p) in out.iter_mut().zip(pcts) {
                    let k = (rank(p, self.count) - 1) as usize;
                    let (_, v, _) = self.exact[lo..].select_nth_unstable(k - lo);
                    *o = *v;
                    lo = k;
                }
            }
            Some(h) => {
                for (o, p) in out.iter_mut().zip(pcts) {
                    let rank = rank(p, self.count);
                    let mut cum = 0;
                    for (i, &c) in h.iter().enumerate() {
                        cum += c;
                        if cum >= rank {
                            *o = bucket_upper(i).min(self.max);
                            break;
                        }
                    }
                }
            }
        }
        LatencySummary {
            mean: self.sum as f64 / self.count as f64 / 1e6,
            p50: ms(out[0]),
            p95: ms(out[1]),
            p99: ms(out[2]),
            max: ms(self.max),
        }
    }
}

fn rank(p: f64, n: u64) -> u64 {
    ((p / 100.0 * n as f64).ceil() as u64).clamp(1, n)
}

/// Nearest-rank percentile `p` (0 < p ≤ 100) of non-empty `sorted` values.
pub fn nearest_rank(sorted: &[u64], p: f64) -> u64 {
    sorted[(rank(p, sorted.len() as u64) - 1) as usize]
}

/// End-to-end latency statistics of completed requests, milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct LatencySummary {
    /// Arithmetic mean, ms.
    pub mean: f64,
    /// Median (nearest rank), ms.
    pub p50: f64,
    /// 95th percentile (nearest rank), ms.
    pub p95: f64,
    /// 99th percentile (nearest rank), ms.
    pub p99: f64,
    /// Maximum, ms.
    pub max: f64,
}

/// Per-device results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceReport {
    /// Busy core-time / (cores × horizon).
    pub busy_fraction: f64,
    /// Total energy over the horizon, mJ.
    pub energy_mj: f64,
    /// Battery lifetime extrapolated from the horizon, s (`null`: mains powered).
    pub lifetime_s: Option<f64>,
    /// Energy by term, mJ.
    pub energy: super::energy::EnergyBreakdown,
    /// Compute time, core-ns.
    pub busy_ns: u64,
    /// Radio transmit time, ns.
    pub tx_ns: u64,
    /// Radio receive time, ns.
    pub rx_ns: u64,
    /// Partitions run to completion.
    pub jobs: u64,
    /// Longest compute queue (waiting, not in service).
    pub max_queue: usize,
}

/// Per-link results (both directions together).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LinkReport {
    /// Message payload bytes sent over the link.
    pub bytes: u64,
    /// Bytes on the wire: payload, headers and retransmitted packets.
    pub wire_bytes: u64,
    /// Busiest transmitter of the link (one per direction, or the shared medium):
    /// busy time / horizon.
    pub utilisation: f64,
    /// Messages sent (hops started).
    pub messages: u64,
    /// Packets sent, retransmissions included.
    pub packets: u64,
    /// Lost packets that were retransmitted.
    pub retransmissions: u64,
    /// Total airtime on this link, ns.
    pub airtime_ns: u64,
    /// Longest transmitter queue (waiting messages) seen by the link's transmitters.
    pub max_queue: usize,
}

/// Everything a simulation measured. JSON keys are a stable interface
/// (`docs/simulation.md`); maps are `BTreeMap`s so the key order is deterministic.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimReport {
    /// End-to-end latency of completed requests, ms.
    pub latency_ms: LatencySummary,
    /// `"exact nearest-rank"` or `"hdr nearest-rank"` (histogram beyond 1e6 requests).
    pub percentile_method: &'static str,
    /// Requests generated.
    pub requests: u64,
    /// Requests whose output reached the sink.
    pub completed: u64,
    /// Requests lost (a device down, no route, link failure).
    pub dropped: u64,
    /// Completed requests with latency > `max_latency_ms` (0 without a deadline).
    pub deadline_misses: u64,
    /// Completed requests per simulated second.
    pub throughput_per_s: f64,
    /// Total energy / completed requests, mJ (`null` when none completed).
    pub energy_mj_per_inference: Option<f64>,
    /// Energy of all devices over the horizon, mJ.
    pub energy_mj: f64,
    /// First battery device to run out, s (`null`: none has a battery).
    pub network_lifetime_s: Option<f64>,
    /// Id of that device.
    pub first_to_die: Option<String>,
    /// Simulated horizon: time of the last completion or drop, s.
    pub horizon_s: f64,
    /// Per device, by id.
    pub devices: BTreeMap<String, DeviceReport>,
    /// Per link, by `"<a>-<b>"` (device ids in the scenario's order).
    pub links: BTreeMap<String, LinkReport>,
    /// Events handled by the engine.
    pub events_processed: u64,
}

impl SimReport {
    /// Compact JSON (deterministic bytes for equal reports).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("SimReport serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_definition() {
        let v: Vec<u64> = (1..=10).collect();
        assert_eq!(nearest_rank(&v, 50.0), 5);
        assert_eq!(nearest_rank(&v, 95.0), 10);
        assert_eq!(nearest_rank(&v, 10.0), 1);
        assert_eq!(nearest_rank(&v, 11.0), 2);
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(nearest_rank(&v, 99.0), 99);
    }

    #[test]
    fn selected_percentiles_equal_sorted_ones() {
        let mut r = LatencyRecorder::new();
        let mut x = 12345u64;
        let mut all = Vec::new();
        for _ in 0..10_001 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let v = (x >> 40) % 5000;
            all.push(v);
            r.record(v);
        }
        all.sort_unstable();
        let s = r.summary();
        assert_eq!(s.p50, nearest_rank(&all, 50.0) as f64 / 1e6);
        assert_eq!(s.p95, nearest_rank(&all, 95.0) as f64 / 1e6);
        assert_eq!(s.p99, nearest_rank(&all, 99.0) as f64 / 1e6);
        assert_eq!(s.max, *all.last().unwrap() as f64 / 1e6);
        let mut one = LatencyRecorder::new();
        one.record(7);
        assert_eq!(one.summary().p50, 7e-6);
    }

    #[test]
    fn buckets_are_contiguous_and_bounded() {
        for v in [
            0u64,
            1,
            127,
            128,
            129,
            255,
            256,
            1000,
            123_456_789,
            u64::MAX,
        ] {
            let b = bucket(v);
            assert!(bucket_upper(b) >= v, "{v}");
            if b > 0 {
                assert!(bucket_upper(b - 1) < v, "{v}");
            }
            if v >= SUB {
                assert!((bucket_upper(b) - v) as f64 / v as f64 <= 1.0 / SUB as f64);
            }
        }
    }

    #[test]
    fn histogram_percentiles_within_resolution() {
        let mut r = LatencyRecorder::new();
        let n = EXACT_LIMIT as u64 + 500_000;
        // a permutation of 1..=n (times 1000 ns) so ranks are known
        for i in 0..n {
            r.record(((i * 7_919) % n + 1) * 1000);
        }
        assert!(!r.is_exact());
        let s = r.summary();
        for (got, p) in [(s.p50, 50.0), (s.p95, 95.0), (s.p99, 99.0)] {
            let exact = (p / 100.0 * n as f64).ceil() * 1000.0 / 1e6;
            assert!(
                got >= exact && got <= exact * (1.0 + 1.0 / 128.0),
                "{p}: {got} {exact}"
            );
        }
        assert_eq!(s.max, n as f64 * 1000.0 / 1e6);
        assert!((s.mean - (n + 1) as f64 / 2.0 * 1000.0 / 1e6).abs() < 1e-9);
    }
}
