//! Coordination overhead of a scaled-out search per evaluation (`docs/scale-out.md`):
//! one task's round trip through the storage, as the coordinator and a worker do it:
//! enqueue, lease, heartbeat, complete, read the result. The payloads are a real
//! genome's and a real evaluation's size (about 1 KiB and 4 KiB of JSON).
//! SQLite always; PostgreSQL when the server of `scripts/postgres-test-server.sh` (or
//! `DISTRINAS_TEST_POSTGRES`) answers. `cargo bench --bench storage`
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use distrinas::evaluate::storage::{RunSpec, Storage};
use std::path::PathBuf;
use std::time::Duration;

fn round_trip(c: &mut Criterion, name: &str, url: &str) {
    let s = Storage::open(url).expect("opens");
    s.register(&RunSpec {
        scenario_file: None,
        fingerprint: String::new(),
        seed: 1,
        max_cuts: 3,
        weights_dir: PathBuf::from("/w"),
    })
    .expect("registers");
    let genome = "g".repeat(1024);
    let evaluation = "e".repeat(4096);
    let mut n = 0u64;
    let mut g = c.benchmark_group(name);
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

fn sqlite(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("run.db").display());
    round_trip(c, "storage_sqlite", &url);
}

fn postgres(c: &mut Criterion) {
    let admin_url = std::env::var("DISTRINAS_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://distrinas:distrinas@127.0.0.1:5432/postgres".into());
    let mut admin = match postgres::Client::connect(&admin_url, postgres::NoTls) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("storage_postgres skipped: no server at {admin_url}: {e}");
            return;
        }
    };
    for sql in [
        "DROP DATABASE IF EXISTS distrinas_bench WITH (FORCE)",
        "CREATE DATABASE distrinas_bench",
    ] {
        admin.batch_execute(sql).expect("a fresh database");
    }
    let base = admin_url.rsplit_once('/').expect("a database in the URL").0;
    round_trip(c, "storage_postgres", &format!("{base}/distrinas_bench"));
}

criterion_group!(benches, sqlite, postgres);
criterion_main!(benches);
