//! NSGA-II (Deb, Pratap, Agarwal & Meyarivan, IEEE TEC 6(2), 2002): fast non-dominated
//! sort under constrained domination, crowding distance within each front, the last
//! admitted front cut by decreasing crowding distance (ties: lower index), and binary
//! crowded tournament (lower rank, then larger crowding; ties: first drawn) on
//! competitors drawn from concatenated random permutations of the archive.

use super::{permutation_pairs, Mating, Member, Strategy, Survivor};
use crate::search::dominance::fast_non_dominated_sort;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// NSGA-II.
#[derive(Debug, Clone, Copy, Default)]
pub struct Nsga2;

/// Crowding distance of each member of `front` (indices into `objs`), in front order:
/// per objective, the extremes get ∞ and every other member the normalised gap
/// (f[next] − f[prev]) / (f_max − f_min) between its sorted neighbours, summed.
pub fn crowding_distance(objs: &[&[f64]], front: &[usize]) -> Vec<f64> {
    let n = front.len();
    let mut cd = vec![0.0; n];
    if n == 0 {
        return cd;
    }
    let m = objs[front[0]].len();
    let mut order: Vec<usize> = (0..n).collect();
    for k in 0..m {
        order.sort_by(|&a, &b| {
            objs[front[a]][k]
                .total_cmp(&objs[front[b]][k])
                .then(a.cmp(&b))
        });
        let lo = objs[front[order[0]]][k];
        let hi = objs[front[order[n - 1]]][k];
        cd[order[0]] = f64::INFINITY;
        cd[order[n - 1]] = f64::INFINITY;
        let range = hi - lo;
        if range <= 0.0 || !range.is_finite() {
            continue;
        }
        for w in 1..n.saturating_sub(1) {
            let gap = objs[front[order[w + 1]]][k] - objs[front[order[w - 1]]][k];
            cd[order[w]] += gap / range;
        }
    }
    cd
}

impl Strategy for Nsga2 {
    fn name(&self) -> &'static str {
        "nsga2"
    }
    fn survive(&self, union: &[Member<'_>], capacity: usize) -> Vec<Survivor> {
        let objs: Vec<&[f64]> = union.iter().map(|m| m.objectives).collect();
        let cv: Vec<f64> = union.iter().map(|m| m.violation).collect();
        let fronts = fast_non_dominated_sort(&objs, &cv);
        let mut out = Vec::with_capacity(capacity);
        for (rank, front) in fronts.iter().enumerate() {
            if out.len() >= capacity {
                break;
            }
            let cd = crowding_distance(&objs, front);
            let mut members: Vec<usize> = (0..front.len()).collect();
            if out.len() + front.len() > capacity {
                members.sort_by(|&a, &b| cd[b].total_cmp(&cd[a]).then(a.cmp(&b)));
                members.truncate(capacity - out.len());
                members.sort_unstable();
            }
            out.extend(members.into_iter().map(|w| Survivor {
                index: front[w],
                fitness: rank as f64,
                crowding: cd[w],
            }));
        }
        out.sort_by_key(|s| s.index);
        out
    }
    fn mate(&self, archive: &[Member<'_>], rng: &mut ChaCha8Rng) -> Mating {
        let mut pick = || {
            let n = archive.len();
            let a = rng.random_range(0..n);
            let b = rng.random_range(0..n);
            crowded_winner(archive, a, b)
        };
        let a = pick();
        let b = pick();
        Mating::Crossover(a, b)
    }
    /// Crowded binary tournaments on competitors drawn from concatenated permutations of
    /// the archive.
    fn select(&self, archive: &[Member<'_>], matings: usize, rng: &mut ChaCha8Rng) -> Vec<Mating> {
        let w: Vec<usize> = permutation_pairs(archive.len(), 2 * matings, rng)
            .into_iter()
            .map(|(a, b)| crowded_winner(archive, a, b))
            .collect();
        w.chunks_exact(2)
            .map(|c| Mating::Crossover(c[0], c[1]))
            .collect()
    }
}

/// The crowded-comparison winner of `a` and `b`: lower rank, then larger crowding
/// distance; ties go to `a`.
fn crowded_winner(archive: &[Member<'_>], a: usize, b: usize) -> usize {
    let (x, y) = (&archive[a], &archive[b]);
    if y.fitness < x.fitness || (y.fitness == x.fitness && y.crowding > x.crowding) {
        b
    } else {
        a
    }
}
