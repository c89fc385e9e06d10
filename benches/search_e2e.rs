//! End-to-end integrated search: SPEA2, NSGA-II, random search and aging evolution on
//! the embedded quickstart with one fixed evaluation budget (population 12 × 5
//! generations = 60 evaluations, 5 training epochs from scratch, 2 for children, no
//! final training), same seed for every algorithm.
//!
//! Criterion times one whole search per iteration. The quality reached is printed to
//! stderr once per algorithm: the hypervolume of each algorithm's feasible front under
//! one common normalisation (the union of the four fronts, reference 1.1 per objective,
//! as `distrinas compare` computes it), plus front size and evaluations.
//!
//! `cargo bench --bench search_e2e -- --warm-up-time 1 --measurement-time 10`
use criterion::{criterion_group, criterion_main, Criterion};
use distrinas::evaluate::run::{run_search, Outcome, SearchOptions};
use distrinas::report::{self, ExactIndicators};
use distrinas::scenario::{LoadedScenario, Scenario};
use distrinas::search::Algorithm;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

const POPULATION: usize = 12;
const GENERATIONS: usize = 5;
const SEED: u64 = 42;

const ALGORITHMS: [Algorithm; 4] = [
    Algorithm::Spea2,
    Algorithm::Nsga2,
    Algorithm::Random,
    Algorithm::Aging,
];

fn quickstart() -> LoadedScenario {
    let mut q = Scenario::embedded_quickstart();
    q.scenario.search.train_epochs = 5;
    q.scenario.search.child_epochs = 2;
    q
}

/// One search of `algorithm` in a fresh temporary folder.
fn search(loaded: &LoadedScenario, algorithm: Algorithm) -> Outcome {
    let dir = tempfile::tempdir().expect("temporary folder");
    let mut opts = SearchOptions::from_scenario(&loaded.scenario, dir.path().join("run"));
    opts.algorithm = algorithm;
    opts.seed = SEED;
    opts.population = POPULATION;
    opts.archive = POPULATION;
    opts.generations = GENERATIONS;
    opts.final_epochs = 0;
    run_search(loaded, &opts, &mut |_| {}, Arc::new(AtomicBool::new(false)))
        .expect("the quickstart search runs")
}

fn bench(c: &mut Criterion) {
    let loaded = quickstart();
    // Quality at equal evaluations, on one normalisation (deterministic: same seed).
    let runs: Vec<(String, report::Run)> = ALGORITHMS
        .iter()
        .map(|&a| {
            let o = search(&loaded, a);
            (a.name().to_string(), report::run_from_outcome(&o, None))
        })
        .collect();
    let cmp = report::compare_runs(&runs, report::Target::default(), &ExactIndicators)
        .expect("same objectives");
    eprintln!(
        "search_e2e: quickstart, {POPULATION} x {GENERATIONS} evaluations, seed {SEED}, \
         HV on the union's normalisation (reference 1.1^{}):",
        cmp.objective_names.len()
    );
    for r in &cmp.runs {
        eprintln!(
            "  {:<7} HV {:.4}  IGD {:.4}  feasible front {:>2}  evaluations {}",
            r.label, r.hypervolume, r.igd, r.front_size, r.evaluations
        );
    }
    let mut g = c.benchmark_group("search_e2e_quickstart_60_evals");
    g.sample_size(10);
    for a in ALGORITHMS {
        g.bench_function(a.name(), |b| b.iter(|| search(&loaded, a)));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
