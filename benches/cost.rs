//! Criterion bench: costing one 20-layer candidate with all its partitions
//! (`partition::costs`: shapes, per-layer costs, peak SRAM per partition, cut bytes,
//! compute time) and its budget check.
use criterion::{criterion_group, criterion_main, Criterion};
use distrinas::network::{Device, Network};
use distrinas::partition::{check_budgets, costs, Candidate};
use distrinas::scenario::DType;
use std::hint::black_box;

fn device(id: &str) -> Device {
    Device {
        id: id.into(),
        profile: "bench".into(),
        flash_bytes: 1 << 20,
        sram_bytes: 256 << 10,
        mac_per_s: 64e6,
        layer_overhead_us: 10.0,
        active_mw: 20.0,
        idle_mw: 1.0,
        tx_mw: 15.0,
        rx_mw: 15.0,
        battery_mj: None,
        cores: 1,
        energy_budget_mj: None,
        latency: Default::default(),
    }
}

fn bench(c: &mut Criterion) {
    let cand: Candidate = ron::from_str(
        "Candidate(arch: Arch(input: [100, 6], layers: [
            Conv1d(filters: 16, kernel: 5, padding: Same), BatchNorm, ReLU, MaxPool1d(size: 2),
            Conv1d(filters: 32, kernel: 3, padding: Same), ReLU,
            Conv1d(filters: 32, kernel: 3, padding: Same), Add(from: 5), ReLU, MaxPool1d(size: 2),
            DepthwiseConv1d(kernel: 3, padding: Same), ReLU, Conv1d(filters: 64, kernel: 1), ReLU,
            Conv1d(filters: 64, kernel: 3, padding: Same), ReLU, GlobalAvgPool,
            Dense(units: 32), ReLU, Dense(units: 4),
        ]), cuts: [4, 12], map: [\"a\", \"b\", \"c\"])",
    )
    .expect("bench candidate parses");
    assert_eq!(cand.arch.layers.len(), 20);
    let net = Network::new(vec![device("a"), device("b"), device("c")], vec![], vec![]);
    c.bench_function("cost/candidate_20_layers_3_partitions", |b| {
        b.iter(|| {
            let pc = costs(black_box(&cand), &net, DType::Int8).unwrap();
            black_box(check_budgets(&pc, &net))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
