//! Criterion benches of the search engine (see docs/performance.md, "Search engine").
//!
//! - `run/<problem>/<algorithm>`: a 50-generation run, pop = archive = 100, best-so-far
//!   tracking off (divide by 50 for the time per generation, evaluation included);
//! - `survival/<problem>`: one SPEA2 / NSGA-II environmental selection on a 200-member
//!   union of two converged archives (the truncation case that dominates late runs);
//! - `hv/<d>d/<n>`: exact hypervolume of n points on a front (2-D and 3-D sweeps,
//!   WFG for 5-D).
//!
//! Short run: `cargo bench --bench search -- --warm-up-time 1 --measurement-time 3`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use distrinas::search::algorithms::{Member, Strategy};
use distrinas::search::indicators::hypervolume;
use distrinas::search::problems::TestProblem;
use distrinas::search::{Algorithm, RunConfig, Runner};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::hint::black_box;

fn config(generations: u64) -> RunConfig {
    RunConfig {
        seed: 1,
        population: 100,
        archive: 100,
        generations,
        cache: false,
        ..RunConfig::default()
    }
}

fn runs(c: &mut Criterion) {
    let mut g = c.benchmark_group("run");
    g.sample_size(10);
    for name in ["zdt1", "dtlz2"] {
        let p = TestProblem::by_name(name, None, None).expect("known problem");
        for alg in Algorithm::ALL {
            g.bench_function(BenchmarkId::new(name, alg.name()), |b| {
                b.iter(|| {
                    let r = Runner::new(&p, alg, config(50))
                        .track_best_so_far(false)
                        .run(&mut |_| {})
                        .expect("run");
                    black_box(r.archive.len())
                })
            });
        }
    }
    g.finish();
}

/// A late-run union: the final archives (200 generations) of seeds 1 and 2, 200
/// distinct near-front points, so SPEA2 truncates (the case of every late generation).
fn late_union(name: &str) -> Vec<Vec<f64>> {
    let p = TestProblem::by_name(name, None, None).expect("known problem");
    let mut union = Vec::new();
    for seed in [1, 2] {
        let r = Runner::new(
            &p,
            Algorithm::Spea2,
            RunConfig {
                seed,
                ..config(200)
            },
        )
        .track_best_so_far(false)
        .run(&mut |_| {})
        .expect("run");
        union.extend(r.archive.into_iter().map(|i| i.objectives));
    }
    union
}

fn survival(c: &mut Criterion) {
    let mut g = c.benchmark_group("survival");
    for name in ["zdt1", "dtlz2"] {
        let union = late_union(name);
        let members: Vec<Member<'_>> = union
            .iter()
            .map(|o| Member {
                objectives: o,
                violation: 0.0,
                birth: 0,
                fitness: 0.0,
                crowding: 0.0,
            })
            .collect();
        for alg in [Algorithm::Spea2, Algorithm::Nsga2] {
            let s: &dyn Strategy = alg.strategy();
            g.bench_function(BenchmarkId::new(name, alg.name()), |b| {
                b.iter(|| black_box(s.survive(black_box(&members), 100).len()))
            });
        }
    }
    g.finish();
}

/// `n` points on the unit simplex-like front Σ f_i² = 1 (non-dominated), seeded.
fn front(n: usize, d: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let v: Vec<f64> = (0..d).map(|_| rng.random::<f64>() + 1e-9).collect();
            let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            v.into_iter().map(|x| x / norm).collect()
        })
        .collect()
}

fn hv(c: &mut Criterion) {
    let mut g = c.benchmark_group("hv");
    g.sample_size(10);
    for (d, sizes) in [(2, &[100, 1000][..]), (3, &[100, 1000]), (5, &[50, 100])] {
        for &n in sizes {
            let pts = front(n, d, 7);
            let r = vec![1.1; d];
            g.bench_function(BenchmarkId::new(format!("{d}d"), n), |b| {
                b.iter(|| black_box(hypervolume(black_box(&pts), &r).expect("hv")))
            });
        }
    }
    g.finish();
}

criterion_group!(benches, survival, hv, runs);
criterion_main!(benches);
