//! Per-partition costs of a candidate.

use super::{check_map_len, validate_cuts, Candidate, PartitionError};
use crate::arch::cost::{layer_costs, LayerCost};
use crate::arch::sram::{last_use, peak_sram_walk};
use crate::arch::Arch;
use crate::network::{Device, Network};
use crate::scenario::DType;
use std::ops::Range;

/// Costs of one partition on its device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionCost {
    /// Partition index (0-based, execution order).
    pub index: usize,
    /// Device index into `Network::devices`.
    pub device: usize,
    /// Layers it runs.
    pub layers: Range<usize>,
    /// Compute time on its device, ns: Σ over deployed layers of [`layer_time_ns`].
    pub compute_ns: u64,
    /// Deployment flash of its layers, bytes.
    pub flash_bytes: u64,
    /// Peak SRAM including the receive buffer, bytes.
    pub peak_sram_bytes: u64,
    /// Peak SRAM with in-place `ReLU`/`ReLU6`/`BatchNorm`, bytes.
    pub peak_sram_inplace_bytes: u64,
    /// Receive buffer of the incoming cut (0 for partition 0), bytes.
    pub receive_bytes: u64,
    /// Multiply-accumulates per inference.
    pub macs: u64,
    /// Deployed parameters.
    pub params: u64,
    /// Bytes entering the partition: the network input for partition 0, else every
    /// tensor crossing its incoming cut.
    pub input_bytes: u64,
    /// Bytes leaving it: every tensor crossing its outgoing cut, or the network output
    /// for the last partition.
    pub output_bytes: u64,
    /// Its standby, if the candidate gives it one.
    pub standby: Option<Standby>,
}

/// A partition's standby: a device holding a replica of the partition (the same flash
/// and peak SRAM), which runs it while the partition's own device is down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Standby {
    /// Device index into `Network::devices`.
    pub device: usize,
    /// Compute time of the partition on that device, ns.
    pub compute_ns: u64,
}

/// Costs of every partition of a candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionCosts {
    /// Deployment dtype used.
    pub dtype: DType,
    /// Per-layer costs of the whole network.
    pub layers: Vec<LayerCost>,
    /// Partitions in execution order.
    pub partitions: Vec<PartitionCost>,
    /// Bytes of the network input tensor.
    pub input_bytes: u64,
    /// Bytes of the network output tensor.
    pub output_bytes: u64,
    /// Bytes crossing each cut (`cut_bytes[i]` for `cuts[i]`), residual tensors included.
    pub cut_bytes: Vec<u64>,
}

impl PartitionCosts {
    /// Σ flash of all partitions and of their standby replicas, bytes.
    pub fn total_flash(&self) -> u64 {
        self.partitions
            .iter()
            .map(|p| p.flash_bytes * (1 + u64::from(p.standby.is_some())))
            .sum()
    }
    /// Largest partition peak SRAM, bytes.
    pub fn max_sram(&self) -> u64 {
        self.partitions
            .iter()
            .map(|p| p.peak_sram_bytes)
            .max()
            .unwrap_or(0)
    }
    /// Σ MACs of all partitions.
    pub fn total_macs(&self) -> u64 {
        self.partitions.iter().map(|p| p.macs).sum()
    }
    /// Σ compute time of all partitions, ns (the end-to-end compute on idle devices).
    pub fn total_compute_ns(&self) -> u64 {
        self.partitions.iter().map(|p| p.compute_ns).sum()
    }
}

/// Time of one deployed layer on `device`, ns. With a fitted model for the layer's
/// kind (`latency` of the device profile, `docs/calibration.md`):
/// `round(overhead_us × 1000 + ns_per_mac × macs + ns_per_byte × (in_bytes +
/// output_bytes))`; otherwise the two-term model
/// `round(layer_overhead_us × 1000) + ceil(macs × 10⁹ / mac_per_s)`.
pub fn layer_time_ns(layer: &LayerCost, in_bytes: u64, device: &Device) -> u64 {
    match device.latency.get(layer.kind) {
        Some(m) => m.time_ns(layer.macs, in_bytes.saturating_add(layer.output_bytes)),
        None => overhead_ns(device).saturating_add(mac_ns(layer.macs, device)),
    }
}

/// `round(layer_overhead_us × 1000)`, ns.
fn overhead_ns(device: &Device) -> u64 {
    (device.layer_overhead_us * 1000.0).round().max(0.0) as u64
}

/// `ceil(macs × 10⁹ / mac_per_s)`, ns.
fn mac_ns(macs: u64, device: &Device) -> u64 {
    if macs == 0 {
        0
    } else {
        (macs as f64 * 1e9 / device.mac_per_s).ceil() as u64
    }
}

/// Costs of `candidate` on `network` in `dtype`: validates the candidate (shapes, cuts,
/// map) and resolves its device ids.
pub fn costs(
    candidate: &Candidate,
    network: &Network,
    dtype: DType,
) -> Result<PartitionCosts, PartitionError> {
    let devices = candidate.device_indices(network)?;
    let standby = candidate.standby_indices(network)?;
    let mut costs = costs_on(&candidate.arch, &candidate.cuts, &devices, network, dtype)?;
    for (p, s) in costs.partitions.iter_mut().zip(standby) {
        p.standby = s.map(|device| {
            let dev = &network.devices()[device];
            Standby {
                device,
                compute_ns: partition_time_ns(
                    &costs.layers,
                    p.layers.clone(),
                    costs.input_bytes,
                    dev,
                ),
            }
        });
    }
    Ok(costs)
}

/// Compute time of layers `range` of `layers` (a network whose input tensor has
/// `input_bytes`) on `device`, ns: Σ over the deployed layers of [`layer_time_ns`], each
/// reading the previous layer's output (the network input for layer 0).
fn partition_time_ns(
    layers: &[LayerCost],
    range: Range<usize>,
    input_bytes: u64,
    device: &Device,
) -> u64 {
    range.filter(|&i| layers[i].deployed()).fold(0u64, |t, i| {
        let in_bytes = match i {
            0 => input_bytes,
            _ => layers[i - 1].output_bytes,
        };
        t.saturating_add(layer_time_ns(&layers[i], in_bytes, device))
    })
}

/// Costs of `arch` cut at `cuts` with partition `p` on device index `devices[p]`
/// (the index form used by the search, which holds device indices rather than ids).
pub fn costs_on(
    arch: &Arch,
    cuts: &[usize],
    devices: &[usize],
    network: &Network,
    dtype: DType,
) -> Result<PartitionCosts, PartitionError> {
    validate_cuts(cuts, arch.layers.len())?;
    check_map_len(cuts, devices.len())?;
    if let Some((partition, &d)) = devices
        .iter()
        .enumerate()
        .find(|(_, &d)| d >= network.devices().len())
    {
        return Err(PartitionError::UnknownDevice {
            partition,
            id: format!("#{d}"),
        });
    }
    let layers = layer_costs(arch, dtype)?;
    let last = last_use(arch);
    let n = layers.len();
    let input_bytes = arch.input.iter().map(|&d| d as u64).product::<u64>() * dtype.bytes();
    let output_bytes = layers[n - 1].output_bytes;
    let mut cut_bytes = Vec::with_capacity(cuts.len());
    let mut partitions = Vec::with_capacity(cuts.len() + 1);
    // One walk over the network: the live bytes leaving a partition are the bytes
    // crossing the next cut.
    let mut live = input_bytes;
    let mut start = 0;
    for (index, &device) in devices.iter().enumerate() {
        let end = cuts.get(index).copied().unwrap_or(n);
        let range = start..end;
        let dev = &network.devices()[device];
        let (sram, after) = peak_sram_walk(arch, &layers, &last, input_bytes, range.clone(), live);
        let mut p = PartitionCost {
            index,
            device,
            layers: range.clone(),
            compute_ns: 0,
            flash_bytes: 0,
            peak_sram_bytes: sram.bytes,
            peak_sram_inplace_bytes: sram.inplace_bytes,
            receive_bytes: sram.receive_bytes,
            macs: 0,
            params: 0,
            input_bytes: live,
            output_bytes: if end < n { after } else { output_bytes },
            standby: None,
        };
        p.compute_ns = partition_time_ns(&layers, range.clone(), input_bytes, dev);
        for l in layers[range].iter().filter(|l| l.deployed()) {
            p.flash_bytes += l.flash_bytes;
            p.macs += l.macs;
            p.params += l.deploy_params;
        }
        partitions.push(p);
        if end < n {
            cut_bytes.push(after);
        }
        live = after;
        start = end;
    }
    Ok(PartitionCosts {
        dtype,
        layers,
        partitions,
        input_bytes,
        output_bytes,
        cut_bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::tests::device;

    #[test]
    fn har_s_two_partitions() {
        let cand: Candidate = ron::from_str(
            "Candidate(arch: Arch(input: [100, 6], layers: [Conv1d(filters: 16, kernel: 5), ReLU,
             MaxPool1d(size: 2), Conv1d(filters: 32, kernel: 5), ReLU, GlobalAvgPool,
             Dense(units: 4)]), cuts: [3], map: [\"a\", \"b\"])",
        )
        .unwrap();
        let mut a = device("a");
        a.mac_per_s = 64e6;
        a.layer_overhead_us = 10.0;
        let net = Network::new(vec![a, device("b")], vec![], vec![]);
        let c = costs(&cand, &net, DType::Int8).unwrap();
        assert_eq!(c.input_bytes, 600);
        assert_eq!(c.cut_bytes, vec![48 * 16]);
        assert_eq!(c.output_bytes, 4);
        let p0 = &c.partitions[0];
        assert_eq!(p0.layers, 0..3);
        assert_eq!(p0.macs, 46_080);
        // 3 layers × 10 µs + 46080 / 64e6 s = 30 µs + 720 µs
        assert_eq!(p0.compute_ns, 750_000);
        assert_eq!((p0.input_bytes, p0.output_bytes), (600, 768));
        // layer 0: 600 + 1536 + 120 scratch = 2256; layer 1 (ReLU): 1536 + 1536 = 3072
        assert_eq!(p0.peak_sram_bytes, 3072);
        // in place: ReLU = 1536; pool 1536 + 768 = 2304 > 2256
        assert_eq!(p0.peak_sram_inplace_bytes, 2304);
        let p1 = &c.partitions[1];
        assert_eq!(p1.device, 1);
        assert_eq!(p1.receive_bytes, 768);
        // layer 3: in 768 + out 44*32 = 1408 + scratch 2*16*5*2 = 320 -> 2496;
        // layer 4 (ReLU): 1408 + 1408 = 2816; plus the 768-byte receive buffer
        assert_eq!(p1.peak_sram_bytes, 2816 + 768);
        assert_eq!(p1.peak_sram_inplace_bytes, 2496 + 768);
        // 4 layers × 10 µs + (112640 + 128) MACs / 1e8 → 1_127_680 ns
        assert_eq!(p1.compute_ns, 40_000 + 1_126_400 + 1_280);
        assert_eq!(c.total_macs(), 46_080 + 112_640 + 128);
    }

    /// A fitted latency model replaces the two-term one for its kinds only. Device
    /// `a` (10 µs per layer, 10⁸ MAC/s) has `Dense`: 5 µs + 2 ns/MAC + 1 ns/byte. The
    /// int8 network [8, 1] → Flatten → Dense(4) → Dense(2), by hand: Flatten (no
    /// fitted model) 10 µs; Dense(4) 5,000 + 2 × 32 + (8 + 4) = 5,076 ns; Dense(2)
    /// 5,000 + 2 × 8 + (4 + 2) = 5,022 ns; 20,098 ns in all.
    #[test]
    fn a_fitted_latency_model_times_its_kinds() {
        let cand: Candidate = ron::from_str(
            "Candidate(arch: Arch(input: [8, 1], layers: [Flatten, Dense(units: 4), Dense(units: 2)]), map: [\"a\"])",
        )
        .unwrap();
        let mut a = device("a");
        a.latency.insert(
            "Dense".into(),
            crate::scenario::LayerLatency {
                overhead_us: 5.0,
                ns_per_mac: 2.0,
                ns_per_byte: 1.0,
            },
        );
        let net = Network::new(vec![a], vec![], vec![]);
        let c = costs(&cand, &net, DType::Int8).unwrap();
        assert_eq!(c.partitions[0].compute_ns, 20_098);
        // without the model: three layers of 10 µs + 40 MACs at 10⁸ MAC/s
        let plain = Network::new(vec![device("a")], vec![], vec![]);
        let c = costs(&cand, &plain, DType::Int8).unwrap();
        assert_eq!(c.partitions[0].compute_ns, 30_000 + 320 + 80);
    }
}
