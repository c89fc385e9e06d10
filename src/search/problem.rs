//! The [`Problem`] trait: what the engine needs from a search problem.

use rand_chacha::ChaCha8Rng;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::hash::{Hash, Hasher};

/// The result of evaluating one genome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation<I> {
    /// Objective values, all minimised (negate what you want to maximise).
    pub objectives: Vec<f64>,
    /// Constraint violations, each ≥ 0 (0 = satisfied). Preferably already scaled
    /// (e.g. excess / bound); the engine further normalises each constraint by its
    /// largest violation in the current population before summing.
    pub violations: Vec<f64>,
    /// Problem-defined payload kept with the individual (e.g. per-partition costs).
    pub info: I,
}

/// A multi-objective minimisation problem.
///
/// All randomness comes in through the `rng` arguments, which the engine derives from
/// (seed, generation, individual index); `evaluate` must be a deterministic function of
/// the genome (the engine caches evaluations by genome). Together this makes runs
/// bit-identical whatever the number of threads.
pub trait Problem: Sync {
    /// The genome. `Hash + Eq` key the evaluation cache.
    type Genome: Clone + Send + Sync + Serialize + DeserializeOwned + Hash + Eq;
    /// Extra evaluation output stored with each individual.
    type Info: Clone + Send + Sync + Serialize + DeserializeOwned;

    /// Number of objectives.
    fn num_objectives(&self) -> usize;
    /// Number of constraints (length of [`Evaluation::violations`]).
    fn num_constraints(&self) -> usize {
        0
    }
    /// A random genome (initial population, random search).
    fn random_genome(&self, rng: &mut ChaCha8Rng) -> Self::Genome;
    /// Genomes that open the initial population before the random ones (a warm
    /// start); the engine takes at most `population` of them, in order. Default none.
    fn seed_genomes(&self) -> Vec<Self::Genome> {
        Vec::new()
    }
    /// Recombines two parents into two children (no mutation).
    fn crossover(
        &self,
        a: &Self::Genome,
        b: &Self::Genome,
        rng: &mut ChaCha8Rng,
    ) -> (Self::Genome, Self::Genome);
    /// Mutates a genome in place.
    fn mutate(&self, genome: &mut Self::Genome, rng: &mut ChaCha8Rng);
    /// Evaluates a genome (deterministic; called in parallel).
    fn evaluate(&self, genome: &Self::Genome) -> Evaluation<Self::Info>;
    /// Evaluates a batch of new genomes (cache misses, in order). The default evaluates
    /// each one with [`Problem::evaluate`], in parallel when [`Problem::parallel`].
    ///
    /// A multi-fidelity problem may instead answer some genomes with *predicted*
    /// evaluations (see [`Problem::is_predicted`]), for example those a surrogate says
    /// the feasible archive members in `archive` (their objective vectors) dominate.
    /// The engine never lets a predicted individual survive or join the best-so-far
    /// set: it evaluates it with [`Problem::evaluate`] first.
    fn evaluate_batch(
        &self,
        genomes: &[&Self::Genome],
        archive: &[&[f64]],
    ) -> Vec<Evaluation<Self::Info>> {
        let _ = archive;
        if self.parallel() {
            use rayon::prelude::*;
            genomes.par_iter().map(|g| self.evaluate(g)).collect()
        } else {
            genomes.iter().map(|g| self.evaluate(g)).collect()
        }
    }
    /// Whether an evaluation was predicted rather than measured (default never).
    /// Predicted evaluations are not cached.
    fn is_predicted(&self, info: &Self::Info) -> bool {
        let _ = info;
        false
    }
    /// Called, in a deterministic order, with the fresh evaluations of each batch
    /// (`promoted`: predicted genomes the engine then evaluated in full), so that a
    /// surrogate can learn from them. Default: nothing.
    fn learn(&self, evaluated: &[(&Self::Genome, &Evaluation<Self::Info>)], promoted: bool) {
        let _ = (evaluated, promoted);
    }
    /// State the problem keeps between generations (a surrogate's samples), stored
    /// in checkpoints. Default none.
    fn save_state(&self) -> Option<serde_json::Value> {
        None
    }
    /// Restores what [`Problem::save_state`] returned (on resume).
    fn restore_state(&self, state: serde_json::Value) -> Result<(), String> {
        let _ = state;
        Ok(())
    }
    /// Whether the engine should evaluate and breed a generation in parallel (default
    /// true). Return false when `evaluate`, `crossover` and `mutate` take well under
    /// ~10 µs (e.g. the analytic test problems): rayon's dispatch then costs more than
    /// it saves. Results are the same either way.
    fn parallel(&self) -> bool {
        true
    }
}

/// A real-valued genome with bitwise `Hash`/`Eq` (so it can key the cache).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RealGenome(pub Vec<f64>);

impl PartialEq for RealGenome {
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len()
            && self
                .0
                .iter()
                .zip(&other.0)
                .all(|(a, b)| a.to_bits() == b.to_bits())
    }
}

impl Eq for RealGenome {}

impl Hash for RealGenome {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.len().hash(state);
        for x in &self.0 {
            x.to_bits().hash(state);
        }
    }
}
