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
//! Mating: binary tournaments on the archive by F (ties: first drawn), the competitors
//! drawn as concatenated random permutations of the archive (as pymoo does); by default
//! the archive's boundary points win every tournament they enter, as in pymoo's SPEA2
//! ([`Spea2::boundary_mating`], off in [`Spea2::PAPER`]).

use super::{permutation_pairs, Mating, Member, Strategy, Survivor};
use crate::search::dominance::{constrained_relation, pareto_relation};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// SPEA2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spea2 {
    /// pymoo's boundary preference in mating: the archive's boundary points (see
    /// [`boundary_members`]) win every tournament they enter, as if their F were −1.
    /// Only mating selection changes; S, R, D, F, the archive and truncation stay
    /// exactly the paper's. [`Spea2::PAPER`] turns it off.
    pub boundary_mating: bool,
}

impl Spea2 {
    /// The default: boundary preference in mating on (as pymoo's `SPEA2`).
    pub const DEFAULT: Spea2 = Spea2 {
        boundary_mating: true,
    };
    /// The paper's mating: binary tournaments by F only.
    pub const PAPER: Spea2 = Spea2 {
        boundary_mating: false,
    };
}

impl Default for Spea2 {
    fn default() -> Self {
        Spea2::DEFAULT
    }
}

/// Boundary members of an archive: among its feasible members with F < 1
/// (non-dominated), for each objective k the one minimising max over j ≠ k of f_j
/// (ties: smaller f_k, then lower index) — pymoo's extreme points (achievement
/// scalarising function with weight 1 on k and ~0 elsewhere; in 2-D simply the two ends
/// of the front). Returns a membership mask.
pub fn boundary_members(archive: &[Member<'_>]) -> Vec<bool> {
    let mut mask = vec![false; archive.len()];
    let nd: Vec<usize> = (0..archive.len())
        .filter(|&i| archive[i].violation <= 0.0 && archive[i].fitness < 1.0)
        .collect();
    let Some(&first) = nd.first() else {
        return mask;
    };
    let m = archive[first].objectives.len();
    for k in 0..m {
        let asf = |i: usize| {
            let o = archive[i].objectives;
            (0..m)
                .filter(|&j| j != k)
                .map(|j| o[j])
                .fold(f64::NEG_INFINITY, f64::max)
        };
        let best = nd.iter().copied().min_by(|&a, &b| {
            asf(a)
                .total_cmp(&asf(b))
                .then(archive[a].objectives[k].total_cmp(&archive[b].objectives[k]))
                .then(a.cmp(&b))
        });
        if let Some(b) = best {
            mask[b] = true;
        }
    }
    mask
}

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

/// Objectives normalised to [0, 1] per objective (min and max over `objs`; an objective
/// with zero or infinite range maps to 0), row-major n×m.
fn normalise_flat(objs: &[&[f64]]) -> (Vec<f64>, usize) {
    let m = objs.first().map_or(0, |o| o.len());
    let mut lo = vec![f64::INFINITY; m];
    let mut hi = vec![f64::NEG_INFINITY; m];
    for o in objs {
        for k in 0..m {
            lo[k] = lo[k].min(o[k]);
            hi[k] = hi[k].max(o[k]);
        }
    }
    let scale: Vec<f64> = (0..m)
        .map(|k| {
            let r = hi[k] - lo[k];
            if r > 0.0 && r.is_finite() {
                1.0 / r
            } else {
                0.0
            }
        })
        .collect();
    let mut out = Vec::with_capacity(objs.len() * m);
    for o in objs {
        for k in 0..m {
            let v = if scale[k] == 0.0 {
                0.0
            } else {
                (o[k] - lo[k]) * scale[k]
            };
            out.push(v);
        }
    }
    (out, m)
}

/// Squared Euclidean distance matrix (row-major n×n) of row-major n×m points. Squared
/// distances order exactly like distances (no square roots in the O(n²) part); the
/// density takes the root of the one value it needs.
fn distances(norm: &[f64], m: usize) -> Vec<f64> {
    let n = norm.len().checked_div(m).unwrap_or(0);
    let mut d = vec![0.0; n * n];
    for i in 0..n {
        let pi = &norm[i * m..(i + 1) * m];
        for j in (i + 1)..n {
            let pj = &norm[j * m..(j + 1) * m];
            let mut s = 0.0;
            for k in 0..m {
                let t = pi[k] - pj[k];
                s += t * t;
            }
            d[i * n + j] = s;
            d[j * n + i] = s;
        }
    }
    d
}

/// Computes S, R, D and F for `objs` with total normalised violations `cv`.
pub fn fitness(objs: &[&[f64]], cv: &[f64]) -> Fitness {
    let (norm, m) = normalise_flat(objs);
    let dist = distances(&norm, m);
    fitness_with(objs, cv, &dist)
}

/// k = ⌊√n⌋, kept within 1..n−1.
fn neighbour_k(n: usize) -> usize {
    ((n as f64).sqrt().floor() as usize).clamp(1, n.saturating_sub(1).max(1))
}

fn fitness_with(objs: &[&[f64]], cv: &[f64], dist: &[f64]) -> Fitness {
    let n = objs.len();
    let (strength, raw) = strength_and_raw(objs, cv);
    let k = neighbour_k(n);
    let mut buf = Vec::with_capacity(n);
    let density: Vec<f64> = (0..n)
        .map(|i| density_of(dist, n, i, k, &mut buf))
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

/// D(i) = 1 / (σ_i^k + 2) from row i of the n×n squared-distance matrix (0.5 when
/// n < 2). The k-th smallest squared distance is selected (O(n)) among the row's other
/// entries compared as integers (the bit patterns of non-negative floats order like the
/// floats), and σ_i^k is its square root.
fn density_of(dist: &[f64], n: usize, i: usize, k: usize, buf: &mut Vec<u64>) -> f64 {
    if n < 2 {
        return 0.5;
    }
    buf.clear();
    let row = &dist[i * n..(i + 1) * n];
    buf.extend(row[..i].iter().map(|v| v.to_bits()));
    buf.extend(row[i + 1..].iter().map(|v| v.to_bits()));
    let (_, kth, _) = buf.select_nth_unstable(k - 1);
    1.0 / (f64::from_bits(*kth).sqrt() + 2.0)
}

/// Strength S and raw fitness R of every member (one pass over the pairs).
fn strength_and_raw(objs: &[&[f64]], cv: &[f64]) -> (Vec<usize>, Vec<f64>) {
    let n = objs.len();
    let m = objs.first().map_or(0, |o| o.len());
    let mut strength = vec![0usize; n];
    // dominated_by[i * n + j]: j dominates i
    let mut dominated_by = vec![false; n * n];
    let unconstrained = cv.iter().all(|&v| v <= 0.0);
    if unconstrained && (m == 2 || m == 3) {
        let flat: Vec<f64> = objs.iter().flat_map(|o| o.iter().copied()).collect();
        if m == 2 {
            pareto_pairs::<2>(&flat, n, &mut strength, &mut dominated_by);
        } else {
            pareto_pairs::<3>(&flat, n, &mut strength, &mut dominated_by);
        }
    } else {
        for i in 0..n {
            for j in (i + 1)..n {
                let r = if unconstrained {
                    pareto_relation(objs[i], objs[j])
                } else {
                    constrained_relation(objs[i], cv[i], objs[j], cv[j])
                };
                record(r, i, j, n, &mut strength, &mut dominated_by);
            }
        }
    }
    let raw: Vec<f64> = (0..n)
        .map(|i| {
            dominated_by[i * n..(i + 1) * n]
                .iter()
                .zip(&strength)
                .filter(|(d, _)| **d)
                .map(|(_, &s)| s as f64)
                .sum()
        })
        .collect();
    (strength, raw)
}

#[inline(always)]
fn record(r: i8, i: usize, j: usize, n: usize, strength: &mut [usize], dom_by: &mut [bool]) {
    if r > 0 {
        strength[i] += 1;
        dom_by[j * n + i] = true;
    } else if r < 0 {
        strength[j] += 1;
        dom_by[i * n + j] = true;
    }
}

/// Pareto relations of all pairs of row-major n×M points (M known at compile time, so
/// the comparison is unrolled and branch-free).
fn pareto_pairs<const M: usize>(
    flat: &[f64],
    n: usize,
    strength: &mut [usize],
    dom_by: &mut [bool],
) {
    let pts: Vec<[f64; M]> = flat
        .chunks_exact(M)
        .map(|c| c.try_into().expect("M values"))
        .collect();
    for i in 0..n {
        let a = &pts[i];
        for j in (i + 1)..n {
            let b = &pts[j];
            let (mut lt, mut gt) = (false, false);
            for k in 0..M {
                lt |= a[k] < b[k];
                gt |= a[k] > b[k];
            }
            if lt != gt {
                record(if lt { 1 } else { -1 }, i, j, n, strength, dom_by);
            }
        }
    }
}

/// The truncation operator on the members `set` (indices into an n×n distance matrix
/// `dist`, plain or squared: only the order matters): removes members one at a time until `capacity` remain, each time the member
/// whose ascending list of distances to the other remaining members is lexicographically
/// smallest (ties: the earlier position in `set`). Returns the removed indices in
/// removal order.
///
/// Implementation: each member's nearest remaining neighbour is tracked (recomputed only
/// for members whose nearest neighbour was just removed), so the first list element is
/// O(1); only members tied on it are compared further, by selecting their 2nd, 3rd, …
/// smallest remaining distances on demand. This is exactly the full lexicographic rule
/// at O(m²) per call plus O(m) per tie level, instead of O(m³).
pub fn truncation_order(set: &[usize], dist: &[f64], n: usize, capacity: usize) -> Vec<usize> {
    let m = set.len();
    if m <= capacity {
        return Vec::new();
    }
    // local copy for locality, finding each member's nearest neighbour on the way
    let mut d = vec![0.0; m * m];
    let mut nn = vec![f64::INFINITY; m];
    let mut nn_idx = vec![usize::MAX; m];
    for a in 0..m {
        let row = &dist[set[a] * n..(set[a] + 1) * n];
        let local = &mut d[a * m..(a + 1) * m];
        for (b, &sb) in set.iter().enumerate() {
            let v = row[sb];
            local[b] = v;
            if b != a && v < nn[a] {
                nn[a] = v;
                nn_idx[a] = b;
            }
        }
    }
    let mut alive = vec![true; m];
    let nearest = |a: usize, alive: &[bool]| -> (f64, usize) {
        let row = &d[a * m..(a + 1) * m];
        let mut best = (f64::INFINITY, usize::MAX);
        for b in 0..m {
            if b != a && alive[b] && row[b] < best.0 {
                best = (row[b], b);
            }
        }
        best
    };
    let mut removed = Vec::with_capacity(m - capacity);
    let mut ties: Vec<usize> = Vec::new();
    let mut bufs: Vec<Vec<f64>> = Vec::new();
    let mut next: Vec<usize> = Vec::new();
    for _ in 0..(m - capacity) {
        let mut min = f64::INFINITY;
        ties.clear();
        for a in 0..m {
            if !alive[a] {
                continue;
            }
            if nn[a] < min || ties.is_empty() {
                min = nn[a];
                ties.clear();
                ties.push(a);
            } else if nn[a] == min {
                ties.push(a);
            }
        }
        if ties.len() > 1 {
            // partial selection of each tied member's remaining distances
            bufs.resize_with(ties.len(), Vec::new);
            for (t, &a) in ties.iter().enumerate() {
                let row = &d[a * m..(a + 1) * m];
                let buf = &mut bufs[t];
                buf.clear();
                buf.extend((0..m).filter(|&b| b != a && alive[b]).map(|b| row[b]));
            }
            let len = bufs[0].len();
            let mut live: Vec<usize> = (0..ties.len()).collect();
            // depth 0 (the nearest distance) is equal by construction
            for depth in 0..len {
                let mut best = f64::INFINITY;
                next.clear();
                for &t in &live {
                    let buf = &mut bufs[t];
                    let (mut arg, mut val) = (depth, buf[depth]);
                    for (q, &v) in buf.iter().enumerate().skip(depth + 1) {
                        if v < val {
                            arg = q;
                            val = v;
                        }
                    }
                    buf.swap(depth, arg);
                    if val < best || next.is_empty() {
                        best = val;
                        next.clear();
                        next.push(t);
                    } else if val == best {
                        next.push(t);
                    }
                }
                std::mem::swap(&mut live, &mut next);
                if live.len() == 1 {
                    break;
                }
            }
            let first = live[0];
            ties.swap(0, first);
        }
        let b = ties[0];
        alive[b] = false;
        removed.push(set[b]);
        for a in 0..m {
            if alive[a] && nn_idx[a] == b {
                (nn[a], nn_idx[a]) = nearest(a, &alive);
            }
        }
    }
    removed
}

/// SPEA2 environmental selection of `capacity` indices of `objs`, with their fitness.
pub fn environmental_selection(objs: &[&[f64]], cv: &[f64], capacity: usize) -> Vec<Survivor> {
    let n = objs.len();
    let (norm, m) = normalise_flat(objs);
    let dist = distances(&norm, m);
    let (_, raw) = strength_and_raw(objs, cv);
    let k = neighbour_k(n);
    let mut buf = Vec::with_capacity(n);
    let nondominated: Vec<usize> = (0..n).filter(|&i| raw[i] == 0.0).collect();
    // F = R + D; D is computed only for the members whose F is needed (all of them
    // when topping up by F, the survivors only when truncating)
    let (chosen, fitness): (Vec<usize>, Vec<f64>) = if nondominated.len() > capacity {
        let removed = truncation_order(&nondominated, &dist, n, capacity);
        let mut gone = vec![false; n];
        for r in removed {
            gone[r] = true;
        }
        let chosen: Vec<usize> = nondominated.into_iter().filter(|&i| !gone[i]).collect();
        let f = chosen
            .iter()
            .map(|&i| raw[i] + density_of(&dist, n, i, k, &mut buf))
            .collect();
        (chosen, f)
    } else {
        let all: Vec<f64> = (0..n)
            .map(|i| raw[i] + density_of(&dist, n, i, k, &mut buf))
            .collect();
        let mut order: Vec<usize> = (0..n).collect();
        let by_f = |a: &usize, b: &usize| all[*a].total_cmp(&all[*b]).then(a.cmp(b));
        if capacity < n {
            order.select_nth_unstable_by(capacity, by_f);
            order.truncate(capacity);
        }
        order.sort_unstable();
        let f = order.iter().map(|&i| all[i]).collect();
        (order, f)
    };
    chosen
        .into_iter()
        .zip(fitness)
        .map(|(index, fitness)| Survivor {
            index,
            fitness,
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
    /// Binary tournaments by F on competitors drawn from concatenated permutations of
    /// the archive (each member competes equally often).
    fn select(&self, archive: &[Member<'_>], matings: usize, rng: &mut ChaCha8Rng) -> Vec<Mating> {
        let boundary = if self.boundary_mating {
            boundary_members(archive)
        } else {
            vec![false; archive.len()]
        };
        let key = |i: usize| {
            if boundary[i] {
                -1.0
            } else {
                archive[i].fitness
            }
        };
        let winner = |(a, b): (usize, usize)| if key(b) < key(a) { b } else { a };
        let w: Vec<usize> = permutation_pairs(archive.len(), 2 * matings, rng)
            .into_iter()
            .map(winner)
            .collect();
        w.chunks_exact(2)
            .map(|c| Mating::Crossover(c[0], c[1]))
            .collect()
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
        let (norm, m) = normalise_flat(&objs);
        let dist = distances(&norm, m);
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

    /// Naive O(m³) truncation straight from the definition: recompute every remaining
    /// member's full sorted distance list each round, remove the lexicographic minimum
    /// (ties: earlier position).
    fn naive_truncation(set: &[usize], dist: &[f64], n: usize, capacity: usize) -> Vec<usize> {
        let mut alive: Vec<usize> = set.to_vec();
        let mut removed = Vec::new();
        while alive.len() > capacity {
            let lists: Vec<Vec<f64>> = alive
                .iter()
                .map(|&a| {
                    let mut l: Vec<f64> = alive
                        .iter()
                        .filter(|&&b| b != a)
                        .map(|&b| dist[a * n + b])
                        .collect();
                    l.sort_by(f64::total_cmp);
                    l
                })
                .collect();
            let mut best = 0;
            for i in 1..alive.len() {
                if lists[i] < lists[best] {
                    best = i;
                }
            }
            removed.push(alive.remove(best));
        }
        removed
    }

    /// The fast truncation equals the naive one on random sets, on integer grids (many
    /// exact distance ties) and with duplicated points.
    #[test]
    fn truncation_matches_naive_definition() {
        use rand::SeedableRng;
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for case in 0..300 {
            let n = rng.random_range(2..40);
            let m = rng.random_range(1..4);
            let pts: Vec<Vec<f64>> = (0..n)
                .map(|_| {
                    (0..m)
                        .map(|_| match case % 3 {
                            0 => rng.random::<f64>(),
                            1 => rng.random_range(0..4) as f64,
                            _ => rng.random_range(0..2) as f64 * 0.5,
                        })
                        .collect()
                })
                .collect();
            let objs: Vec<&[f64]> = pts.iter().map(|p| p.as_slice()).collect();
            let (norm, mm) = normalise_flat(&objs);
            let dist = distances(&norm, mm);
            // a subset in scrambled order
            let mut set: Vec<usize> = (0..n).filter(|i| (i * 7 + case) % 5 != 0).collect();
            if set.is_empty() {
                continue;
            }
            set.reverse();
            let cap = rng.random_range(0..set.len());
            assert_eq!(
                truncation_order(&set, &dist, n, cap),
                naive_truncation(&set, &dist, n, cap),
                "case {case}: {pts:?}"
            );
        }
    }

    /// The survivors' stored fitness is F of [`fitness`] (computed there for everyone),
    /// both when topping up and when truncating, with and without constraints.
    #[test]
    fn survivor_fitness_is_f() {
        use rand::SeedableRng;
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        for (n, m, cap, constrained) in [(60, 2, 20, false), (60, 3, 50, true), (40, 4, 10, false)]
        {
            let pts: Vec<Vec<f64>> = (0..n)
                .map(|_| {
                    let t: f64 = rng.random();
                    // half on a front, half random
                    if rng.random::<bool>() {
                        (0..m).map(|k| if k == 0 { t } else { 1.0 - t }).collect()
                    } else {
                        (0..m).map(|_| rng.random::<f64>() * 2.0).collect()
                    }
                })
                .collect();
            let objs: Vec<&[f64]> = pts.iter().map(|p| p.as_slice()).collect();
            let cv: Vec<f64> = (0..n)
                .map(|i| {
                    if constrained && i % 3 == 0 {
                        0.1 * (i % 5) as f64
                    } else {
                        0.0
                    }
                })
                .collect();
            let all = fitness(&objs, &cv);
            let s = environmental_selection(&objs, &cv, cap);
            assert_eq!(s.len(), cap);
            for v in s {
                assert_eq!(v.fitness, all.fitness[v.index]);
            }
        }
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
