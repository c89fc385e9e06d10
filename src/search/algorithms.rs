//! Selection strategies behind one trait: SPEA2, NSGA-II, random search, aging evolution.
//!
//! A strategy sees only objective vectors, total normalised violations and births
//! ([`Member`]), never genomes, so it is object-safe and independent of the problem.
//! Adding a variant: write `algorithms/<name>.rs` with a unit struct implementing
//! [`Strategy`], add a variant to [`Algorithm`] and one line to [`Algorithm::strategy`].

pub mod aging;
pub mod nsga2;
pub mod random;
pub mod spea2;

use rand_chacha::ChaCha8Rng;

/// What a strategy sees of one individual.
#[derive(Debug, Clone, Copy)]
pub struct Member<'a> {
    /// Objective values (minimised).
    pub objectives: &'a [f64],
    /// Total normalised constraint violation (0 = feasible), see
    /// [`crate::search::dominance::normalised_violations`].
    pub violation: f64,
    /// Generation of creation.
    pub birth: u64,
    /// Fitness assigned by the last survival (lower is better).
    pub fitness: f64,
    /// Crowding distance assigned by the last survival (NSGA-II).
    pub crowding: f64,
}

/// One survivor: index into the union passed to [`Strategy::survive`], with the
/// selection attributes to store on the individual.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Survivor {
    /// Index in the union (archive members first, then offspring).
    pub index: usize,
    /// Fitness (lower is better).
    pub fitness: f64,
    /// Crowding distance (larger is better), 0 when unused.
    pub crowding: f64,
}

/// How to make the two children of one mating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mating {
    /// Crossover of archive members `a` and `b`, then mutation of both children.
    Crossover(usize, usize),
    /// Mutated copies of archive members `a` and `b`.
    Mutants(usize, usize),
    /// Two fresh random genomes.
    Random,
}

/// A selection strategy: environmental selection and mating selection.
pub trait Strategy: Send + Sync {
    /// Short lowercase name (CLI, files).
    fn name(&self) -> &'static str;
    /// Environmental selection: picks at most `capacity` members of `union`
    /// (the current archive first, then the newly evaluated offspring).
    fn survive(&self, union: &[Member<'_>], capacity: usize) -> Vec<Survivor>;
    /// Mating selection on the archive (the survivors, with their attributes).
    fn mate(&self, archive: &[Member<'_>], rng: &mut ChaCha8Rng) -> Mating;
    /// Mating selection for a whole generation: `matings` matings drawn from one
    /// generator (called once per batch of offspring, sequentially, so a strategy may
    /// spread its tournaments over the archive). The default calls [`Strategy::mate`]
    /// `matings` times.
    fn select(&self, archive: &[Member<'_>], matings: usize, rng: &mut ChaCha8Rng) -> Vec<Mating> {
        (0..matings).map(|_| self.mate(archive, rng)).collect()
    }
}

/// Competitor pairs for `count` binary tournaments on `n` members, drawn as pymoo's
/// `TournamentSelection` does: concatenated random permutations of 0..n cut into pairs,
/// so every member enters about the same number of tournaments (2 × count / n).
pub fn permutation_pairs(n: usize, count: usize, rng: &mut ChaCha8Rng) -> Vec<(usize, usize)> {
    use rand::seq::SliceRandom;
    let need = 2 * count;
    let mut seq: Vec<usize> = Vec::with_capacity(need + n);
    let mut perm: Vec<usize> = (0..n).collect();
    while seq.len() < need && n > 0 {
        perm.shuffle(rng);
        seq.extend_from_slice(&perm);
    }
    seq.truncate(need);
    seq.chunks_exact(2).map(|c| (c[0], c[1])).collect()
}

pub use crate::scenario::Algorithm;

impl Algorithm {
    /// Every algorithm.
    pub const ALL: [Algorithm; 4] = [
        Algorithm::Spea2,
        Algorithm::Nsga2,
        Algorithm::Random,
        Algorithm::Aging,
    ];

    /// The strategy implementing this algorithm.
    pub fn strategy(self) -> &'static dyn Strategy {
        match self {
            Algorithm::Spea2 => &spea2::Spea2::DEFAULT,
            Algorithm::Nsga2 => &nsga2::Nsga2,
            Algorithm::Random => &random::RandomSearch,
            Algorithm::Aging => &aging::Aging,
        }
    }

    /// Short lowercase name (`spea2`, `nsga2`, `random`, `aging`).
    pub fn name(self) -> &'static str {
        self.strategy().name()
    }

    /// Parses a name as the command line does (case-insensitive; `nsga-ii` and
    /// `regularized` accepted).
    pub fn from_name(s: &str) -> Option<Algorithm> {
        <Algorithm as clap::ValueEnum>::from_str(s, true).ok()
    }
}

impl std::fmt::Display for Algorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
