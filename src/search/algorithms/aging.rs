//! Aging (regularised) evolution (Real, Aggarwal, Huang & Le 2019) with the Pareto
//! tournament of µNAS (Liberis, Dudziak & Lane 2021): the archive is a queue of the
//! `capacity` youngest individuals; each parent is drawn uniformly among the
//! non-dominated members of a random sample of [`SAMPLE`] archive members, and
//! children are mutated copies (no crossover). With batch evaluation, each generation
//! adds `population` children and retires as many of the oldest; keep `population`
//! well below `archive` (e.g. a tenth) for the aging to matter.

use super::{Mating, Member, Strategy, Survivor};
use crate::search::dominance::constrained_dominates;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Tournament sample size.
pub const SAMPLE: usize = 10;

/// Aging evolution.
#[derive(Debug, Clone, Copy, Default)]
pub struct Aging;

/// One Pareto tournament: a uniformly chosen non-dominated member of a sample of
/// `min(SAMPLE, n)` distinct archive members.
pub fn pareto_tournament(archive: &[Member<'_>], rng: &mut ChaCha8Rng) -> usize {
    let n = archive.len();
    let sample = rand::seq::index::sample(rng, n, SAMPLE.min(n)).into_vec();
    let front: Vec<usize> = sample
        .iter()
        .copied()
        .filter(|&i| {
            !sample.iter().any(|&j| {
                constrained_dominates(
                    archive[j].objectives,
                    archive[j].violation,
                    archive[i].objectives,
                    archive[i].violation,
                )
            })
        })
        .collect();
    front[rng.random_range(0..front.len())]
}

impl Strategy for Aging {
    fn name(&self) -> &'static str {
        "aging"
    }
    fn survive(&self, union: &[Member<'_>], capacity: usize) -> Vec<Survivor> {
        let mut order: Vec<usize> = (0..union.len()).collect();
        // youngest last; stable so that equal births keep arrival order
        order.sort_by_key(|&i| union[i].birth);
        let skip = order.len().saturating_sub(capacity);
        order[skip..]
            .iter()
            .map(|&index| Survivor {
                index,
                fitness: 0.0,
                crowding: 0.0,
            })
            .collect()
    }
    fn mate(&self, archive: &[Member<'_>], rng: &mut ChaCha8Rng) -> Mating {
        let a = pareto_tournament(archive, rng);
        let b = pareto_tournament(archive, rng);
        Mating::Mutants(a, b)
    }
}
