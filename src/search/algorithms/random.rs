//! Random search: every generation samples fresh random genomes; the archive keeps the
//! best by SPEA2's environmental selection.

use super::{spea2::Spea2, Mating, Member, Strategy, Survivor};
use rand_chacha::ChaCha8Rng;

/// Random search.
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomSearch;

impl Strategy for RandomSearch {
    fn name(&self) -> &'static str {
        "random"
    }
    fn survive(&self, union: &[Member<'_>], capacity: usize) -> Vec<Survivor> {
        Spea2::PAPER.survive(union, capacity)
    }
    fn mate(&self, _archive: &[Member<'_>], _rng: &mut ChaCha8Rng) -> Mating {
        Mating::Random
    }
}
