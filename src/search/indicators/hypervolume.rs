//! Exact hypervolume (minimisation) with respect to a reference point: the Lebesgue
//! measure of the region dominated by the points and bounded by the reference point.
//!
//! - 2 objectives: sweep in x, O(n log n).
//! - 3 objectives: sweep in z with a balanced tree of the 2-D staircase (Beume et al.
//!   2009 / Fonseca et al. 2006 "HV3D"), O(n log n).
//! - ≥ 4 objectives: WFG (While, Bradstreet & Barone 2012): exclusive hypervolumes with
//!   limit sets, recursing down to the 3-D sweep.
//!
//! Points that do not strictly dominate the reference point contribute nothing and are
//! dropped first.

use crate::search::dominance::dominates;
use crate::search::SearchError;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use std::collections::BTreeMap;

/// Work limit of the exact hypervolume: points visited and dominance tests made in
/// WFG's limit sets (about 20 ns each with their sorting and copying, so the limit
/// is reached within ~5 s). Past it the exact value is
/// refused with [`SearchError::HypervolumeTooCostly`]; [`hypervolume_monte_carlo`]
/// estimates it instead. 2 and 3 objectives, O(n log n), never come near it.
pub const MAX_HV_WORK: u64 = 200_000_000;

/// Exact hypervolume of `points` with respect to `reference` (all minimised).
/// Errors when a point's dimension differs from the reference's, on NaN, and when
/// the exact computation would exceed [`MAX_HV_WORK`].
pub fn hypervolume(points: &[Vec<f64>], reference: &[f64]) -> Result<f64, SearchError> {
    hypervolume_within(points, reference, MAX_HV_WORK)
}

/// [`hypervolume`] with a work limit of `budget` limit-set visits and dominance tests.
pub fn hypervolume_within(
    points: &[Vec<f64>],
    reference: &[f64],
    budget: u64,
) -> Result<f64, SearchError> {
    let pts = dominating(points, reference)?;
    let (n, d) = (pts.len(), reference.len());
    let mut work = Work { left: budget };
    hv_any(pts, reference, &mut work).map_err(|Exhausted| SearchError::HypervolumeTooCostly {
        points: n,
        objectives: d,
        budget,
    })
}

/// Checks `points` against `reference` and keeps those that strictly dominate it.
fn dominating(points: &[Vec<f64>], reference: &[f64]) -> Result<Vec<Vec<f64>>, SearchError> {
    let d = reference.len();
    if d == 0 {
        return Err(SearchError::Indicator("empty reference point".into()));
    }
    if reference.iter().any(|v| v.is_nan()) {
        return Err(SearchError::Indicator("the reference point is NaN".into()));
    }
    for (i, p) in points.iter().enumerate() {
        if p.len() != d {
            return Err(SearchError::Indicator(format!(
                "point {} has {} objectives, the reference point {d}",
                i + 1,
                p.len()
            )));
        }
        if p.iter().any(|v| v.is_nan()) {
            return Err(SearchError::Indicator(format!("point {} is NaN", i + 1)));
        }
    }
    Ok(points
        .iter()
        .filter(|p| p.iter().zip(reference).all(|(a, r)| a < r))
        .cloned()
        .collect())
}

/// Monte Carlo estimate of the hypervolume: `samples` points drawn uniformly in the
/// box between the points' ideal corner and `reference`, seeded by `seed`. Returns the
/// estimate and its standard error `V·sqrt(f(1−f)/N)` (V the box volume, f the
/// dominated fraction). The same seed gives the same estimate on any thread count.
pub fn hypervolume_monte_carlo(
    points: &[Vec<f64>],
    reference: &[f64],
    samples: u64,
    seed: u64,
) -> Result<(f64, f64), SearchError> {
    const CHUNK: u64 = 4096;
    if samples == 0 {
        return Err(SearchError::Indicator("0 Monte Carlo samples".into()));
    }
    let pts = nondominated_unique(dominating(points, reference)?);
    if pts.is_empty() {
        return Ok((0.0, 0.0));
    }
    let d = reference.len();
    let lo: Vec<f64> = (0..d)
        .map(|k| pts.iter().map(|p| p[k]).fold(f64::INFINITY, f64::min))
        .collect();
    let volume: f64 = lo.iter().zip(reference).map(|(l, r)| r - l).product();
    let hits: u64 = (0..samples.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(c);
            let mut u = vec![0.0; d];
            let mut hits = 0u64;
            for _ in 0..CHUNK.min(samples - c * CHUNK) {
                for k in 0..d {
                    u[k] = rng.random_range(lo[k]..reference[k]);
                }
                if pts.iter().any(|p| p.iter().zip(&u).all(|(a, b)| a <= b)) {
                    hits += 1;
                }
            }
            hits
        })
        .sum();
    let f = hits as f64 / samples as f64;
    Ok((volume * f, volume * (f * (1.0 - f) / samples as f64).sqrt()))
}

/// Remaining work of a budgeted computation.
struct Work {
    left: u64,
}

/// The work limit was reached.
#[derive(Debug)]
struct Exhausted;

impl Work {
    fn spend(&mut self, n: usize) -> Result<(), Exhausted> {
        self.left = self.left.checked_sub(n as u64).ok_or(Exhausted)?;
        Ok(())
    }
}

fn hv_any(pts: Vec<Vec<f64>>, r: &[f64], work: &mut Work) -> Result<f64, Exhausted> {
    work.spend(pts.len())?;
    Ok(match r.len() {
        1 => pts.iter().map(|p| r[0] - p[0]).fold(0.0, f64::max),
        2 => hv2d(pts, r),
        3 => hv3d(pts, r),
        _ => return wfg_within(pts, r, work),
    })
}

/// 2-D sweep: points sorted by the first objective, area of the staircase.
pub fn hv2d(mut pts: Vec<Vec<f64>>, r: &[f64]) -> f64 {
    pts.sort_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
    let mut area = 0.0;
    let mut best_y = r[1];
    for p in &pts {
        if p[1] < best_y {
            area += (r[0] - p[0]) * (best_y - p[1]);
            best_y = p[1];
        }
    }
    area
}

/// Total-order wrapper for tree keys.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Key(f64);
impl Eq for Key {}
impl PartialOrd for Key {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Key {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&o.0)
    }
}

/// 3-D sweep in z keeping the (x, y) staircase in a B-tree and its area incrementally.
pub fn hv3d(mut pts: Vec<Vec<f64>>, r: &[f64]) -> f64 {
    pts.sort_by(|a, b| {
        a[2].total_cmp(&b[2])
            .then(a[0].total_cmp(&b[0]))
            .then(a[1].total_cmp(&b[1]))
    });
    let (rx, ry, rz) = (r[0], r[1], r[2]);
    let mut front: BTreeMap<Key, f64> = BTreeMap::new();
    let mut area = 0.0;
    let mut volume = 0.0;
    let mut last_z = match pts.first() {
        Some(p) => p[2],
        None => return 0.0,
    };
    for p in &pts {
        let (x, y, z) = (p[0], p[1], p[2]);
        volume += area * (z - last_z);
        last_z = z;
        // left neighbour: largest key ≤ x
        let left = front.range(..=Key(x)).next_back().map(|(k, v)| (k.0, *v));
        if let Some((_, ly)) = left.filter(|(lx, _)| *lx <= x) {
            if ly <= y {
                continue; // dominated in (x, y)
            }
        }
        let left_y = front.range(..Key(x)).next_back().map_or(ry, |(_, v)| *v);
        // remove the points it dominates (x' ≥ x, y' ≥ y), accumulating added area
        let mut level = left_y;
        let mut cur_x = x;
        let mut doomed = Vec::new();
        let mut next_x = rx;
        for (k, v) in front.range(Key(x)..) {
            if *v >= y {
                area += (k.0 - cur_x) * (level - y);
                cur_x = k.0;
                level = *v;
                doomed.push(*k);
            } else {
                next_x = k.0;
                break;
            }
        }
        area += (next_x - cur_x) * (level - y);
        for k in doomed {
            front.remove(&k);
        }
        front.insert(Key(x), y);
    }
    volume + area * (rz - last_z)
}

/// WFG: HV(S) = Σ_i exclhv(p_i, {p_{i+1}, …}) with the points sorted by the last
/// objective; exclhv(p, T) = Π(r − p) − HV(nds(limit(T, p))), spending `work`.
fn wfg_within(mut pts: Vec<Vec<f64>>, r: &[f64], work: &mut Work) -> Result<f64, Exhausted> {
    let d = r.len();
    if d <= 3 {
        return hv_any(pts, r, work);
    }
    pts = nondominated_within(pts, work)?;
    pts.sort_by(|a, b| b[d - 1].total_cmp(&a[d - 1]));
    let mut total = 0.0;
    for i in 0..pts.len() {
        let p = &pts[i];
        let incl: f64 = p.iter().zip(r).map(|(a, b)| b - a).product();
        work.spend(pts.len() - i - 1)?;
        let limited: Vec<Vec<f64>> = pts[i + 1..]
            .iter()
            .map(|q| q.iter().zip(p).map(|(a, b)| a.max(*b)).collect())
            .collect();
        let limited = nondominated_within(limited, work)?;
        let excl = incl
            - if limited.is_empty() {
                0.0
            } else {
                wfg_within(limited, r, work)?
            };
        total += excl;
    }
    Ok(total)
}

/// Removes dominated points and duplicates.
fn nondominated_unique(pts: Vec<Vec<f64>>) -> Vec<Vec<f64>> {
    let mut unlimited = Work { left: u64::MAX };
    nondominated_within(pts, &mut unlimited).unwrap_or_default() // never exhausted
}

/// [`nondominated_unique`] spending one unit of `work` per dominance test.
fn nondominated_within(
    mut pts: Vec<Vec<f64>>,
    work: &mut Work,
) -> Result<Vec<Vec<f64>>, Exhausted> {
    pts.sort_by(|a, b| {
        a.iter()
            .zip(b)
            .map(|(x, y)| x.total_cmp(y))
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    pts.dedup();
    let mut keep: Vec<Vec<f64>> = Vec::with_capacity(pts.len());
    for p in pts {
        work.spend(keep.len())?;
        // after lexicographic sorting, a dominator always precedes
        if !keep.iter().any(|q| dominates(q, &p)) {
            keep.push(p);
        }
    }
    Ok(keep)
}

/// Brute-force inclusion–exclusion over all subsets (for testing; n ≤ ~16).
pub fn inclusion_exclusion(points: &[Vec<f64>], r: &[f64]) -> f64 {
    let n = points.len();
    let mut total = 0.0;
    for mask in 1u64..(1u64 << n) {
        let mut corner = vec![f64::NEG_INFINITY; r.len()];
        for (i, p) in points.iter().enumerate() {
            if mask >> i & 1 == 1 {
                for k in 0..r.len() {
                    corner[k] = corner[k].max(p[k]);
                }
            }
        }
        let vol: f64 = corner
            .iter()
            .zip(r)
            .map(|(c, rr)| (rr - c).max(0.0))
            .product();
        if mask.count_ones() % 2 == 1 {
            total += vol;
        } else {
            total -= vol;
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn hand_values() {
        let r = [3.0, 3.0];
        let pts = vec![vec![1.0, 2.0], vec![2.0, 1.0]];
        assert_eq!(hypervolume(&pts, &r).unwrap(), 3.0);
        let r3 = [2.0, 2.0, 2.0];
        let pts3 = vec![vec![1.0, 1.0, 1.0]];
        assert_eq!(hypervolume(&pts3, &r3).unwrap(), 1.0);
        let pts3 = vec![
            vec![0.0, 1.0, 1.0],
            vec![1.0, 0.0, 1.0],
            vec![1.0, 1.0, 0.0],
        ];
        // union of three 2×1×1 boxes sharing the unit cube [1,2]^3 pairwise: 3·2 − 3·1 + 1 = 4
        assert_eq!(hypervolume(&pts3, &r3).unwrap(), 4.0);
        let r4 = [1.0; 4];
        assert_eq!(hypervolume(&[vec![0.0; 4]], &r4).unwrap(), 1.0);
        // outside the reference point: nothing
        assert_eq!(hypervolume(&[vec![1.0, 0.0]], &[1.0, 1.0]).unwrap(), 0.0);
        assert!(hypervolume(&[vec![1.0]], &[1.0, 1.0]).is_err());
    }

    #[test]
    fn methods_agree_on_random_sets() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for d in 2..=5usize {
            for _ in 0..40 {
                let n = rng.random_range(1..=10);
                let pts: Vec<Vec<f64>> = (0..n)
                    .map(|_| {
                        (0..d)
                            .map(|_| (rng.random_range(0..8) as f64) / 8.0)
                            .collect()
                    })
                    .collect();
                let r = vec![1.0; d];
                let brute = inclusion_exclusion(&pts, &r);
                let fast = hypervolume(&pts, &r).unwrap();
                assert!((brute - fast).abs() < 1e-12, "d={d} {brute} {fast} {pts:?}");
                if d == 3 {
                    let w = wfg_forced(pts.clone(), &r);
                    assert!((w - fast).abs() < 1e-12);
                }
            }
        }
    }

    #[test]
    fn monte_carlo_estimates_hand_values_within_its_standard_error() {
        // one point: its box is the whole sampling box, so every sample is dominated
        let (v, se) = hypervolume_monte_carlo(&[vec![0.5, 0.25, 0.0]], &[1.0; 3], 1000, 3).unwrap();
        assert_eq!((v, se), (0.5 * 0.75 * 1.0, 0.0));
        // (1,2), (2,1) under (3,3): 3 of the 4 units of the box [1,3]^2
        let pts = vec![vec![1.0, 2.0], vec![2.0, 1.0]];
        let (v, se) = hypervolume_monte_carlo(&pts, &[3.0, 3.0], 200_000, 9).unwrap();
        let se_true = 4.0 * (0.75f64 * 0.25 / 200_000.0).sqrt();
        assert!((se - se_true).abs() < 0.05 * se_true, "{se} vs {se_true}");
        assert!((v - 3.0).abs() < 4.0 * se_true, "{v}");
        // 5 objectives, random points: within 4 standard errors of the exact value
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let pts: Vec<Vec<f64>> = (0..12)
            .map(|_| (0..5).map(|_| rng.random_range(0.0..1.0)).collect())
            .collect();
        let exact = inclusion_exclusion(&pts, &[1.0; 5]);
        let (v, se) = hypervolume_monte_carlo(&pts, &[1.0; 5], 100_000, 1).unwrap();
        assert!(
            (v - exact).abs() < 4.0 * se && se > 0.0,
            "{v} ± {se} vs {exact}"
        );
        // the same seed gives the same estimate on 1 or 2 threads
        let on = |t| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .unwrap()
                .install(|| hypervolume_monte_carlo(&pts, &[1.0; 5], 50_000, 8).unwrap())
        };
        assert_eq!(on(1), on(2));
    }

    #[test]
    fn the_work_limit_refuses_instead_of_hanging() {
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        // mutually non-dominated: on the plane Σx = 1
        let pts: Vec<Vec<f64>> = (0..60)
            .map(|_| {
                let x: Vec<f64> = (0..7).map(|_| rng.random_range(0.01..1.0)).collect();
                let s: f64 = x.iter().sum();
                x.iter().map(|v| v / s).collect()
            })
            .collect();
        let r = [1.0; 7];
        match hypervolume_within(&pts, &r, 10_000) {
            Err(SearchError::HypervolumeTooCostly {
                points: 60,
                objectives: 7,
                budget: 10_000,
            }) => {}
            other => panic!("{other:?}"),
        }
        // with room to finish, the budgeted and default results are the same
        let a = hypervolume_within(&pts[..12], &r, u64::MAX).unwrap();
        assert_eq!(a, hypervolume(&pts[..12], &r).unwrap());
        assert!((a - inclusion_exclusion(&pts[..12], &r)).abs() < 1e-12);
    }

    /// WFG without the 3-D base case, down to 2-D.
    fn wfg_forced(pts: Vec<Vec<f64>>, r: &[f64]) -> f64 {
        let d = r.len();
        let mut pts = nondominated_unique(pts);
        pts.sort_by(|a, b| b[d - 1].total_cmp(&a[d - 1]));
        let mut total = 0.0;
        for i in 0..pts.len() {
            let p = &pts[i];
            let incl: f64 = p.iter().zip(r).map(|(a, b)| b - a).product();
            let limited: Vec<Vec<f64>> = pts[i + 1..]
                .iter()
                .map(|q| q.iter().zip(p).map(|(a, b)| a.max(*b)).collect())
                .collect();
            total += incl - hv2d_or(limited, r);
        }
        total
    }
    fn hv2d_or(pts: Vec<Vec<f64>>, r: &[f64]) -> f64 {
        // 3-D via slicing the last objective (independent of hv3d)
        let mut zs: Vec<f64> = pts.iter().map(|p| p[2]).collect();
        zs.push(r[2]);
        zs.sort_by(f64::total_cmp);
        zs.dedup();
        let mut v = 0.0;
        for w in zs.windows(2) {
            let slice: Vec<Vec<f64>> = pts
                .iter()
                .filter(|p| p[2] <= w[0])
                .map(|p| vec![p[0], p[1]])
                .collect();
            v += hv2d(slice, &r[..2]) * (w[1] - w[0]);
        }
        v
    }
}
