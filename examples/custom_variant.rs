//! A search variant of your own, benchmarked against the built-in SPEA2
//! (`docs/variants.md`).
//!
//! The variant is **SPEA2 with random immigrants**: every child that would be mutated is,
//! with probability `rate`, replaced by a fresh random genome instead (a partial random
//! restart each generation, which keeps exploring after the population has converged).
//! It is written once, as a wrapper around any [`Problem`], so the same code runs on a
//! standard test problem (ZDT1) and on the real network × partition × mapping problem
//! of a scenario.
//!
//! ```text
//! cargo run --release --example custom_variant            # ZDT1, 5 seeds + the quickstart
//! cargo run --release --example custom_variant -- --quick # smaller budgets
//! ```
//!
//! `cargo test` compiles this file and runs its tests (`test = true` in Cargo.toml).

use distrinas::evaluate::run::build_problem;
use distrinas::evaluate::WeightStore;
use distrinas::report::Normalisation;
use distrinas::scenario::Scenario;
use distrinas::search::indicators::hypervolume;
use distrinas::search::problems::TestProblem;
use distrinas::search::{Algorithm, Evaluation, Individual, Problem, RunConfig, Runner};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// The variant: `inner`'s problem, whose mutation replaces the genome by a random one
/// with probability `rate` (0 = the inner problem exactly: no random draw is made).
pub struct Immigrants<'a, P> {
    /// The problem being searched.
    pub inner: &'a P,
    /// Probability that a child is replaced by a random genome, in [0, 1].
    pub rate: f64,
}

impl<P: Problem> Problem for Immigrants<'_, P> {
    type Genome = P::Genome;
    type Info = P::Info;

    fn num_objectives(&self) -> usize {
        self.inner.num_objectives()
    }
    fn num_constraints(&self) -> usize {
        self.inner.num_constraints()
    }
    fn random_genome(&self, rng: &mut ChaCha8Rng) -> P::Genome {
        self.inner.random_genome(rng)
    }
    fn crossover(
        &self,
        a: &P::Genome,
        b: &P::Genome,
        rng: &mut ChaCha8Rng,
    ) -> (P::Genome, P::Genome) {
        self.inner.crossover(a, b, rng)
    }
    fn mutate(&self, genome: &mut P::Genome, rng: &mut ChaCha8Rng) {
        if self.rate > 0.0 && rng.random_bool(self.rate) {
            *genome = self.inner.random_genome(rng);
        } else {
            self.inner.mutate(genome, rng);
        }
    }
    fn evaluate(&self, genome: &P::Genome) -> Evaluation<P::Info> {
        self.inner.evaluate(genome)
    }
}

/// Objective vectors of the feasible best-so-far front of a run.
fn front<G, I>(best: &[Individual<G, I>]) -> Vec<Vec<f64>> {
    best.iter().map(|i| i.objectives.clone()).collect()
}

/// One ZDT1 run (30 variables) with SPEA2 on `Immigrants { rate }`: the final
/// hypervolume of the best-so-far front (reference (1.1, 1.1); the true front's is
/// 1.1² − 1/3 ≈ 0.8767) and the evaluations needed to reach `target` HV.
pub fn zdt1_run(
    seed: u64,
    population: usize,
    generations: u64,
    rate: f64,
    target: f64,
) -> (f64, Option<u64>) {
    let zdt1 = TestProblem::zdt1(30);
    let problem = Immigrants { inner: &zdt1, rate };
    let config = RunConfig {
        seed,
        population,
        archive: population,
        generations,
        reference: Some(vec![1.1, 1.1]),
        ..RunConfig::default()
    };
    let result = Runner::new(&problem, Algorithm::Spea2, config)
        .run(&mut |_| {})
        .expect("valid settings");
    let hv = result.history.last().and_then(|h| h.best_hv).unwrap_or(0.0);
    let reached = result
        .history
        .iter()
        .find(|h| h.best_hv.is_some_and(|v| v >= target))
        .map(|h| h.evaluations);
    (hv, reached)
}

/// SPEA2 and SPEA2 + immigrants on the embedded quickstart (the real problem: every
/// candidate costed, simulated and trained), `population × generations` evaluations
/// each, same seed; returns the two best-so-far fronts' hypervolumes on one common
/// normalisation (ideal and nadir of the union of both fronts, reference 1.1), as
/// `distrinas compare` computes them.
pub fn quickstart_pair(seed: u64, population: usize, generations: u64, rate: f64) -> (f64, f64) {
    let mut loaded = Scenario::embedded_quickstart();
    loaded.scenario.search.train_epochs = 4;
    loaded.scenario.search.child_epochs = 2;
    let problem = build_problem(&loaded, seed, WeightStore::in_memory()).expect("quickstart data");
    let config = RunConfig {
        seed,
        population,
        archive: population,
        generations,
        ..RunConfig::default()
    };
    let plain = Runner::new(&problem, Algorithm::Spea2, config.clone())
        .run(&mut |_| {})
        .expect("valid settings");
    // A fresh weight store, so the variant does not start from the plain run's weights.
    let problem_b =
        build_problem(&loaded, seed, WeightStore::in_memory()).expect("quickstart data");
    let variant = Immigrants {
        inner: &problem_b,
        rate,
    };
    let immigrants = Runner::new(&variant, Algorithm::Spea2, config)
        .run(&mut |_| {})
        .expect("valid settings");
    let (a, b) = (front(&plain.best_so_far), front(&immigrants.best_so_far));
    let m = problem.num_objectives();
    let norm = Normalisation::of_points(&[a.clone(), b.clone()].concat(), m);
    let reference = vec![1.1; m];
    let hv = |f: &[Vec<f64>]| hypervolume(&norm.normalise_all(f), &reference).unwrap_or(0.0);
    (hv(&a), hv(&b))
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (pop, gens, seeds) = if quick { (40, 60, 2) } else { (40, 100, 5) };
    let rate = 0.1;
    let target = 0.6;
    println!("ZDT1, SPEA2, population {pop}, {gens} generations, HV reference (1.1, 1.1)");
    println!(
        "seed  {:>10} {:>10}   evaluations to HV {target}",
        "spea2", "immigrants"
    );
    let (mut sum_a, mut sum_b) = (0.0, 0.0);
    for seed in 1..=seeds {
        let (a, ra) = zdt1_run(seed, pop, gens, 0.0, target);
        let (b, rb) = zdt1_run(seed, pop, gens, rate, target);
        let show = |r: Option<u64>| r.map_or("-".to_string(), |e| e.to_string());
        println!(
            "{seed:<5} {a:>10.4} {b:>10.4}   {} / {}",
            show(ra),
            show(rb)
        );
        sum_a += a;
        sum_b += b;
    }
    let n = seeds as f64;
    println!("mean  {:>10.4} {:>10.4}", sum_a / n, sum_b / n);
    let (pop, gens) = if quick { (8, 3) } else { (12, 5) };
    let (a, b) = quickstart_pair(42, pop, gens, rate);
    println!(
        "\nquickstart, {pop} x {gens} evaluations, seed 42, HV on the union's normalisation:\n\
         spea2 {a:.4}   spea2 + immigrants {b:.4}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_zero_is_plain_spea2_exactly() {
        let zdt1 = TestProblem::zdt1(30);
        let config = RunConfig {
            seed: 3,
            population: 16,
            archive: 16,
            generations: 10,
            ..RunConfig::default()
        };
        let plain = Runner::new(&zdt1, Algorithm::Spea2, config.clone())
            .run(&mut |_| {})
            .unwrap();
        let same = Immigrants {
            inner: &zdt1,
            rate: 0.0,
        };
        let wrapped = Runner::new(&same, Algorithm::Spea2, config)
            .run(&mut |_| {})
            .unwrap();
        assert_eq!(front(&plain.archive), front(&wrapped.archive));
    }

    #[test]
    fn immigrants_change_the_search_and_stay_deterministic() {
        // 40 × 80 evaluations: both reach a positive HV below the true front's.
        let (a, _) = zdt1_run(1, 40, 80, 0.0, 0.5);
        let (b, _) = zdt1_run(1, 40, 80, 0.2, 0.5);
        assert!(a > 0.2 && b > 0.2 && a < 0.8767 && b < 0.8767, "{a} {b}");
        assert_ne!(a, b, "random immigrants must change the run");
        assert_eq!(zdt1_run(1, 40, 80, 0.2, 0.5).0, b);
        // Rate 1: every child is random — random search with a SPEA2 archive, far
        // behind on 30 variables (random points of ZDT1 have f2 ≈ 1 + 9 × 0.5 ≫ 1.1).
        let (r, _) = zdt1_run(1, 40, 80, 1.0, 0.5);
        assert!(r < a && r < b, "{r} {a} {b}");
    }

    #[test]
    fn quickstart_pair_runs_on_the_real_problem() {
        let (a, b) = quickstart_pair(42, 4, 2, 0.5);
        let max = 1.1f64.powi(4);
        assert!(a > 0.0 && a <= max, "{a}");
        assert!(b > 0.0 && b <= max, "{b}");
    }
}
