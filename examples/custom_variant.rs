//! Search variants of your own, benchmarked against the built-in SPEA2
//! (`docs/variants.md`). Two variants, one per extension point of the search engine:
//!
//! - **SPEA2 with random immigrants** (variation, a [`Problem`] wrapper): every child
//!   that would be mutated is, with probability `rate`, replaced by a fresh random genome
//!   instead (a partial random restart each generation, which keeps exploring after the
//!   population has converged). Written once around any [`Problem`], the same code runs
//!   on a standard test problem (ZDT1) and on the real network × partition × mapping
//!   problem of a scenario.
//! - **SPEA2 with uniform mating** (selection, a [`Strategy`]): SPEA2's environmental
//!   selection, but parents drawn uniformly from the archive instead of by binary
//!   tournaments on fitness. Run with `Runner::with_strategy`.
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
use distrinas::search::algorithms::spea2::Spea2;
use distrinas::search::algorithms::{Mating, Member, Strategy, Survivor};
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

/// The selection variant: SPEA2's environmental selection (fitness, archive truncation),
/// parents drawn uniformly at random from the archive (no tournament), then crossover
/// and mutation as usual.
pub struct UniformMating;

impl Strategy for UniformMating {
    fn name(&self) -> &'static str {
        "spea2-uniform"
    }
    fn survive(&self, union: &[Member<'_>], capacity: usize) -> Vec<Survivor> {
        Spea2::DEFAULT.survive(union, capacity)
    }
    fn mate(&self, archive: &[Member<'_>], rng: &mut ChaCha8Rng) -> Mating {
        let n = archive.len();
        Mating::Crossover(rng.random_range(0..n), rng.random_range(0..n))
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
    zdt1_run_with(seed, population, generations, rate, target, None)
}

/// [`zdt1_run`] with another selection strategy (`None`: SPEA2's).
pub fn zdt1_run_with(
    seed: u64,
    population: usize,
    generations: u64,
    rate: f64,
    target: f64,
    strategy: Option<&'static dyn Strategy>,
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
    let mut runner = Runner::new(&problem, Algorithm::Spea2, config);
    if let Some(s) = strategy {
        runner = runner.with_strategy(s);
    }
    let result = runner.run(&mut |_| {}).expect("valid settings");
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
    let loaded = Scenario::embedded_quickstart();
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
        "seed  {:>10} {:>10} {:>10}   evaluations to HV {target}",
        "spea2", "immigrants", "uniform"
    );
    let mut sums = [0.0; 3];
    for seed in 1..=seeds {
        let runs = [
            zdt1_run(seed, pop, gens, 0.0, target),
            zdt1_run(seed, pop, gens, rate, target),
            zdt1_run_with(seed, pop, gens, 0.0, target, Some(&UniformMating)),
        ];
        let show = |r: Option<u64>| r.map_or("-".to_string(), |e| e.to_string());
        println!(
            "{seed:<5} {:>10.4} {:>10.4} {:>10.4}   {} / {} / {}",
            runs[0].0,
            runs[1].0,
            runs[2].0,
            show(runs[0].1),
            show(runs[1].1),
            show(runs[2].1)
        );
        for (s, r) in sums.iter_mut().zip(&runs) {
            *s += r.0;
        }
    }
    let n = seeds as f64;
    println!(
        "mean  {:>10.4} {:>10.4} {:>10.4}",
        sums[0] / n,
        sums[1] / n,
        sums[2] / n
    );
    let (pop, gens) = if quick { (8, 3) } else { (12, 5) };
    let (a, b) = quickstart_pair(1, pop, gens, rate);
    println!(
        "\nquickstart, {pop} x {gens} evaluations, seed 1, HV on the union's normalisation:\n\
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
    fn uniform_mating_is_a_different_deterministic_selection() {
        let plain = zdt1_run(2, 40, 80, 0.0, 0.5).0;
        let uniform = zdt1_run_with(2, 40, 80, 0.0, 0.5, Some(&UniformMating)).0;
        assert!(uniform > 0.2 && uniform < 0.8767, "{uniform}");
        assert_ne!(plain, uniform);
        assert_eq!(
            zdt1_run_with(2, 40, 80, 0.0, 0.5, Some(&UniformMating)).0,
            uniform
        );
        // Survival is SPEA2's: on one union, the same survivors.
        let objs = [[0.0, 1.0], [1.0, 0.0], [0.5, 0.5], [0.9, 0.9], [0.2, 0.95]];
        let union: Vec<Member<'_>> = objs
            .iter()
            .map(|o| Member {
                objectives: o,
                violation: 0.0,
                birth: 0,
                fitness: 0.0,
                crowding: 0.0,
            })
            .collect();
        assert_eq!(
            UniformMating.survive(&union, 3),
            Spea2::DEFAULT.survive(&union, 3)
        );
    }

    #[test]
    fn quickstart_pair_runs_on_the_real_problem() {
        let (a, b) = quickstart_pair(3, 12, 3, 0.5);
        let max = 1.1f64.powi(4);
        assert!(a > 0.0 && a <= max, "{a}");
        assert!(b > 0.0 && b <= max, "{b}");
    }
}
