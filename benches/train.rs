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

/// The surrogate's refit after a generation (`evaluate::surrogate`): both models on
/// 720 samples of 17 features (a 30 × 24 run's trainings, at most), seeded.
fn surrogate_fit(c: &mut Criterion) {
    use distrinas::evaluate::surrogate::{LinearFit, FEATURES};
    use distrinas::scenario::SurrogateModel;
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let x: Vec<Vec<f64>> = (0..720)
        .map(|_| (0..FEATURES).map(|_| rng.random::<f64>()).collect())
        .collect();
    let y: Vec<f64> = x
        .iter()
        .map(|r| {
            r.iter()
                .enumerate()
                .map(|(j, v)| (j as f64 - 8.0) * v)
                .sum::<f64>()
        })
        .collect();
    let mut g = c.benchmark_group("surrogate_fit");
    for (name, m) in [
        ("ridge_720", SurrogateModel::Ridge),
        ("linear_720", SurrogateModel::Linear),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| LinearFit::fit(m, &x, &y).expect("fits"))
        });
    }
    g.finish();
}

/// Integer-only int8 inference (`train::quant::QNet`, what `export`'s C code computes)
/// against the float evaluation of the same har-s network on the 40 BasicMotions cases,
/// one thread.
fn int8_inference(c: &mut Criterion) {
    use distrinas::train::quant::QNet;
    let splits = load();
    let model = Model::new(&arch((16, 32)), 0).expect("model");
    let net = QNet::build(&model, &splits.train, &[]).expect("quantises");
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool");
    let mut g = c.benchmark_group("inference_har-s");
    g.throughput(Throughput::Elements(splits.train.len() as u64));
    g.bench_function("int8-integer/1-thread", |b| {
        b.iter(|| pool.install(|| net.predict(&splits.train)))
    });
    g.bench_function("f32/1-thread", |b| {
        b.iter(|| pool.install(|| model.predict(&splits.train.x).expect("predicts")))
    });
    g.finish();
}

criterion_group!(benches, epochs, surrogate_fit, int8_inference);
criterion_main!(benches);
