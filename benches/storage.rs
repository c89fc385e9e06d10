//! Coordination overhead of a scaled-out search per evaluation (`docs/scale-out.md`):
//! one task's round trip through the SQLite storage, as the coordinator and a worker
//! do it: enqueue, lease, complete, read the result; plus a heartbeat. The payloads are
//! a real genome's and a real evaluation's size (about 1 KiB and 4 KiB of JSON).
//! `cargo bench --bench storage`
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use distrinas::evaluate::storage::{RunSpec, Storage};
use std::path::PathBuf;
use std::time::Duration;

fn round_trip(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("run.db").display());
    let s = Storage::open(&url).expect("opens");
    s.register(&RunSpec {
        scenario_file: None,
        seed: 1,
        max_cuts: 3,
        weights_dir: PathBuf::from("/w"),
    })
    .expect("registers");
    let genome = "g".repeat(1024);
    let evaluation = "e".repeat(4096);
    let mut n = 0u64;
    let mut g = c.benchmark_group("storage_sqlite");
    g.throughput(Throughput::Elements(1));
    g.bench_function("task_round_trip", |b| {
        b.iter(|| {
            n += 1;
            let key = format!("{n:016x}");
            s.enqueue(&[(key.clone(), genome.clone())])
                .expect("enqueue");
            let l = s.lease("w", 1, Duration::from_secs(30)).expect("lease");
            s.heartbeat("w", &[l[0].key.clone()], Duration::from_secs(30))
                .expect("heartbeat");
            s.complete(&l[0].key, "w", &evaluation).expect("complete");
            s.results(&[key]).expect("results")
        })
    });
    g.finish();
}

criterion_group!(benches, round_trip);
criterion_main!(benches);
