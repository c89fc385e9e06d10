//! SPEA2 exactly as Zitzler, Laumanns & Thiele, "SPEA2: Improving the Strength Pareto
//! Evolutionary Algorithm", TIK report 103, ETH Zürich, 2001.
//!
//! For the union U = P_t + A_t (size N + N̄), under Deb's constrained domination (≻):
//! - strength S(i) = |{j ∈ U : i ≻ j}|;
//! - raw fitness R(i) = Σ S(j) over j ∈ U with j ≻ i (0 for non-dominated members);
//! - density D(i) = 1 / (σ_i^k + 2), σ_i^k the distance to the k-th nearest other member
//!   with k = ⌊√|U|⌋ (= ⌊√(N + N̄)⌋ once the archive is full);
//! - F(i) = R(i) + D(i).
//!
//! Distances are Euclidean in objective space normalised to [0, 1] by the minimum and
//! maximum of each objective over U (recomputed every generation).
//! Environmental selection copies every member with F < 1 (non-dominated); if there are
//! fewer than N̄, the best remaining by F (ties: lower index) top it up; if there are more,
//! the truncation operator repeatedly removes the member whose sorted list of distances
//! to the remaining members is lexicographically smallest (ties: lower index).
//! Mating: binary tournament with replacement on the archive by F (ties: first drawn).

use super::{Mating, Member, Strategy, Survivor};
use crate::search::dominance::{domination_matrix, normalise};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::cmp::Ordering;

/// SPEA2.
#[derive(Debug, Clone, Copy, Default)]
pub struct Spea2;

/// SPEA2 fitness components of every member of a union.
#[derive(Debug, Clone, PartialEq)]
pub struct Fitness {
    /// Strength S(i).
    pub strength: Vec<usize>,
    /// Raw fitness R(i).
    pub raw: Vec<f64>,
    /// Density D(i).
    pub density: Vec<f64>,
    /// F(i) = R(i) + D(i).
    pub fitness: Vec<f64>,
    /// k used for the density.
    pub k: usize,
}

/// Euclidean distance matrix (row-major n×n) of normalised points.
fn distances(norm: &[Vec<f64>]) -> Vec<f64> {
    let n = norm.len();
    let mut d = vec![0.0; n * n];
    for i in 0..n {
        for j in (i + 1)..n {
            let s: f64 = norm[i]
                .iter()
                .zip(&norm[j])
                .map(|(a, b)| (a - b) * (a - b))
                .sum();
            let s = s.sqrt();
            d[i * n + j] = s;
            d[j * n + i] = s;
        }
    }
    d
}

/// Computes S, R, D and F for `objs` with total normalised violations `cv`.
pub fn fitness(objs: &[&[f64]], cv: &[f64]) -> Fitness {
    let norm = normalise(objs);
    let dist = distances(&norm);
    fitness_with(objs, cv, &dist)
}

fn fitness_with(objs: &[&[f64]], cv: &[f64], dist: &[f64]) -> Fitness {
    let n = objs.len();
    let dom = domination_matrix(objs, cv);
    let strength: Vec<usize> = (0..n)
        .map(|i| dom[i * n..(i + 1) * n].iter().filter(|&&b| b).count())
        .collect();
    let raw: Vec<f64> = (0..n)
        .map(|i| {
            (0..n)
                .filter(|&j| dom[j * n + i])
                .map(|j| strength[j] as f64)
                .sum()
        })
        .collect();
    let k = ((n as f64).sqrt().floor() as usize).clamp(1, n.saturating_sub(1).max(1));
    let mut row = Vec::with_capacity(n);
    let density: Vec<f64> = (0..n)
        .map(|i| {
            if n < 2 {
                return 0.5;
            }
            row.clear();
            row.extend((0..n).filter(|&j| j != i).map(|j| dist[i * n + j]));
            let (_, kth, _) = row.select_nth_unstable_by(k - 1, |a, b| a.total_cmp(b));
            1.0 / (*kth + 2.0)
        })
        .collect();
    let fitness = raw.iter().zip(&density).map(|(r, d)| r + d).collect();
    Fitness {
        strength,
        raw,
        density,
        fitness,
        k,
    }
}

/// The truncation operator on the members `set` (indices into an n×n distance matrix
/// `dist`): removes members one at a time until `capacity` remain. Returns the removed
/// indices in removal order.
pub fn truncation_order(set: &[usize], dist: &[f64], n: usize, capacity: usize) -> Vec<usize> {
    let m = set.len();
    if m <= capacity {
        return Vec::new();
    }
    // Sorted neighbour lists (local positions), with lazy deletion.
    let lists: Vec<Vec<(f64, usize)>> = (0..m)
        .map(|a| {
            let mut l: Vec<(f64, usize)> = (0..m)
                .filter(|&b| b != a)
                .map(|b| (dist[set[a] * n + set[b]], b))
                .collect();
            l.sort_unstable_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
            l
        })
        .collect();
    let mut alive = vec![true; m];
    let mut removed = Vec::with_capacity(m - capacity);
    let cmp = |a: usize, b: usize, alive: &[bool]| -> Ordering {
        let mut ia = lists[a].iter().filter(|e| alive[e.1]);
        let mut ib = lists[b].iter().filter(|e| alive[e.1]);
        loop {
            match (ia.next(), ib.next()) {
                (Some(x), Some(y)) => match x.0.total_cmp(&y.0) {
                    Ordering::Equal => continue,
                    o => return o,
                },
                _ => return Ordering::Equal,
            }
        }
    };
    for _ in 0..(m - capacity) {
        let mut best: Option<usize> = None;
        for a in 0..m {
            if !alive[a] {
                continue;
            }
            best = match best {
                None => Some(a),
                Some(b) if cmp(a, b, &alive) == Ordering::Less => Some(a),
                keep => keep,
            };
        }
        let b = best.expect("at least one member alive");
        alive[b] = false;
        removed.push(set[b]);
    }
    removed
}

/// SPEA2 environmental selection of `capacity` indices of `objs`, with their fitness.
pub fn environmental_selection(objs: &[&[f64]], cv: &[f64], capacity: usize) -> Vec<Survivor> {
    let n = objs.len();
    let norm = normalise(objs);
    let dist = distances(&norm);
    let fit = fitness_with(objs, cv, &dist);
    let nondominated: Vec<usize> = (0..n).filter(|&i| fit.raw[i] == 0.0).collect();
    let chosen: Vec<usize> = if nondominated.len() > capacity {
        let removed = truncation_order(&nondominated, &dist, n, capacity);
        let mut gone = vec![false; n];
        for r in removed {
            gone[r] = true;
        }
        nondominated.into_iter().filter(|&i| !gone[i]).collect()
    } else {
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| fit.fitness[a].total_cmp(&fit.fitness[b]).then(a.cmp(&b)));
        order.truncate(capacity);
        order.sort_unstable();
        order
    };
    chosen
        .into_iter()
        .map(|index| Survivor {
            index,
            fitness: fit.fitness[index],
            crowding: 0.0,
        })
        .collect()
}

/// Binary tournament with replacement by fitness (ties: the first drawn).
pub fn binary_tournament(archive: &[Member<'_>], rng: &mut ChaCha8Rng) -> usize {
    let n = archive.len();
    let a = rng.random_range(0..n);
    let b = rng.random_range(0..n);
    if archive[b].fitness < archive[a].fitness {
        b
    } else {
        a
    }
}

impl Strategy for Spea2 {
    fn name(&self) -> &'static str {
        "spea2"
    }
    fn survive(&self, union: &[Member<'_>], capacity: usize) -> Vec<Survivor> {
        let objs: Vec<&[f64]> = union.iter().map(|m| m.objectives).collect();
        let cv: Vec<f64> = union.iter().map(|m| m.violation).collect();
        environmental_selection(&objs, &cv, capacity)
    }
    fn mate(&self, archive: &[Member<'_>], rng: &mut ChaCha8Rng) -> Mating {
        let a = binary_tournament(archive, rng);
        let b = binary_tournament(archive, rng);
        Mating::Crossover(a, b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-worked from the paper's definitions. Points (minimised):
    /// A(1,5) B(2,3) C(4,1) D(3,4) E(5,5). A ≻ E; B ≻ D, E; C ≻ E; D ≻ E.
    /// S = (1, 2, 1, 1, 0); R(D) = S(B) = 2; R(E) = S(A)+S(B)+S(C)+S(D) = 5.
    /// Normalised by min 1 / max 5: A(0,1) B(.25,.5) C(.75,0) D(.5,.75) E(1,1);
    /// k = ⌊√5⌋ = 2; σ² = (√.3125, √.3125, √.625, √.3125, √.8125).
    /// Truncating {A, B, C}: lists A(√.3125, 1.25) B(√.3125, √.5) C(√.5, 1.25) → B goes
    /// first; then A(1.25) = C(1.25) tie → the lower index A.
    #[test]
    fn hand_worked_example() {
        let pts: Vec<Vec<f64>> = vec![
            vec![1.0, 5.0],
            vec![2.0, 3.0],
            vec![4.0, 1.0],
            vec![3.0, 4.0],
            vec![5.0, 5.0],
        ];
        let objs: Vec<&[f64]> = pts.iter().map(|p| p.as_slice()).collect();
        let cv = [0.0; 5];
        let f = fitness(&objs, &cv);
        assert_eq!(f.k, 2);
        assert_eq!(f.strength, vec![1, 2, 1, 1, 0]);
        assert_eq!(f.raw, vec![0.0, 0.0, 0.0, 2.0, 5.0]);
        let sigma = [
            0.3125f64.sqrt(),
            0.3125f64.sqrt(),
            0.625f64.sqrt(),
            0.3125f64.sqrt(),
            0.8125f64.sqrt(),
        ];
        for i in 0..5 {
            assert!(
                (f.density[i] - 1.0 / (sigma[i] + 2.0)).abs() < 1e-15,
                "D({i})"
            );
            assert!((f.fitness[i] - f.raw[i] - f.density[i]).abs() < 1e-15);
        }
        let idx = |v: Vec<Survivor>| v.into_iter().map(|s| s.index).collect::<Vec<_>>();
        assert_eq!(idx(environmental_selection(&objs, &cv, 3)), vec![0, 1, 2]);
        assert_eq!(idx(environmental_selection(&objs, &cv, 2)), vec![0, 2]);
        assert_eq!(
            idx(environmental_selection(&objs, &cv, 4)),
            vec![0, 1, 2, 3]
        );
        assert_eq!(idx(environmental_selection(&objs, &cv, 1)), vec![2]);
        let norm = normalise(&objs);
        let dist = distances(&norm);
        assert_eq!(truncation_order(&[0, 1, 2], &dist, 5, 1), vec![1, 0]);
    }

    /// Constrained domination: the only feasible point dominates everything, so it is the
    /// single non-dominated member whatever its objectives; infeasible ones are ranked by
    /// violation.
    #[test]
    fn constraints_first() {
        let pts: Vec<Vec<f64>> = vec![vec![0.0, 0.0], vec![9.0, 9.0], vec![1.0, 1.0]];
        let objs: Vec<&[f64]> = pts.iter().map(|p| p.as_slice()).collect();
        let f = fitness(&objs, &[0.5, 0.0, 0.2]);
        assert_eq!(f.strength, vec![0, 2, 1]);
        assert_eq!(f.raw, vec![3.0, 0.0, 2.0]);
        let s = environmental_selection(&objs, &[0.5, 0.0, 0.2], 2);
        assert_eq!(s.iter().map(|s| s.index).collect::<Vec<_>>(), vec![1, 2]);
    }

    /// Truncation uses the whole sorted neighbour list, not only the nearest neighbour:
    /// on a line 0, 1, 2, 3.5, 5 every inner point has nearest distance 1 or 1.5; the
    /// second distance separates 1 (1, 1) from 0 (1, 2) and 2 (1, 1.5).
    #[test]
    fn lexicographic_truncation() {
        let xs = [0.0, 1.0, 2.0, 3.5, 5.0];
        let n = xs.len();
        let mut dist = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                dist[i * n + j] = f64::abs(xs[i] - xs[j]);
            }
        }
        let order = truncation_order(&[0, 1, 2, 3, 4], &dist, n, 2);
        // 1 first; then 0 (2) = 2 (2, ...) compare 0:(2,3.5,5) vs 2:(1.5,...) → 2 has 1.5;
        // after removing 1: 0:(2,3.5,5) 2:(1.5,2,3) 3:(1.5,1.5,3.5) 4:(1.5,3,5) → 3
        assert_eq!(order, vec![1, 3, 2]);
    }
}
