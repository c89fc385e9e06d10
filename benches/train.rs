//! Trainer throughput: one epoch of `har-s` and `har-m` on the 40 BasicMotions training
//! cases (batch 16, Adam 1e-3), reported as samples per second, in the default rayon
//! pool (the number of cores) and in a 1-thread pool.
//! `cargo bench --bench train -- --warm-up-time 1 --measurement-time 3`
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use distrinas::arch::Arch;
use distrinas::train::{DataKind, Model, SplitOptions, Splits, TrainConfig, Trainer};
use std::path::Path;

fn load() -> Splits {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    Splits::load(
        DataKind::Ts,
        &root.join("data/BasicMotions/BasicMotions_TRAIN.ts"),
        None,
        &SplitOptions {
            validation_fraction: 0.0,
            seed: 0,
            length: None,
        },
    )
    .expect("BasicMotions loads")
}

fn arch(width: (usize, usize)) -> Arch {
    Arch::from_ron(&format!(
        "Arch(input: [100, 6], layers: [Conv1d(filters: {}, kernel: 5), ReLU, MaxPool1d(size: 2),
         Conv1d(filters: {}, kernel: 5), ReLU, GlobalAvgPool, Dense(units: 4)])",
        width.0, width.1
    ))
    .expect("valid arch")
}

fn epochs(c: &mut Criterion) {
    let splits = load();
    let mut g = c.benchmark_group("train_epoch");
    g.throughput(Throughput::Elements(splits.train.len() as u64));
    for (name, width) in [("har-s", (16, 32)), ("har-m", (64, 128))] {
        for threads in [0usize, 1] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("pool");
            let label = if threads == 0 {
                format!("{name}/all-threads")
            } else {
                format!("{name}/1-thread")
            };
            let mut model = Model::new(&arch(width), 0).expect("model");
            let cfg = TrainConfig::default();
            let mut t = Trainer::new(&mut model, &cfg).expect("trainer");
            g.bench_function(&label, |b| {
                b.iter(|| pool.install(|| t.epoch(&splits.train, 1e-3).expect("epoch")))
            });
        }
    }
    g.finish();
}

criterion_group!(benches, epochs);
criterion_main!(benches);
