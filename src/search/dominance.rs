//! Pareto and constrained domination (Deb 2000), non-dominated sorting.

use super::individual::Individual;

/// True when `a` Pareto-dominates `b` (minimisation): no worse everywhere, better once.
pub fn dominates(a: &[f64], b: &[f64]) -> bool {
    let mut better = false;
    for (x, y) in a.iter().zip(b) {
        if x > y {
            return false;
        }
        if x < y {
            better = true;
        }
    }
    better
}

/// Deb's constrained domination given total (normalised) violations `va`, `vb`:
/// a feasible point beats an infeasible one; two infeasible points compare by
/// violation (smaller wins); two feasible points compare by Pareto domination.
pub fn constrained_dominates(a: &[f64], va: f64, b: &[f64], vb: f64) -> bool {
    match (va <= 0.0, vb <= 0.0) {
        (true, true) => dominates(a, b),
        (true, false) => true,
        (false, true) => false,
        (false, false) => va < vb,
    }
}

/// Total normalised violation of each individual: every constraint is divided by its
/// largest violation in `pop` (constraints nobody violates are skipped), then summed.
/// 0 exactly for feasible individuals.
pub fn normalised_violations<G, I>(pop: &[&Individual<G, I>]) -> Vec<f64> {
    let m = pop.iter().map(|p| p.violations.len()).max().unwrap_or(0);
    let mut max = vec![0.0f64; m];
    for p in pop {
        for (j, v) in p.violations.iter().enumerate() {
            max[j] = max[j].max(*v);
        }
    }
    pop.iter()
        .map(|p| {
            p.violations
                .iter()
                .enumerate()
                .filter(|(j, v)| **v > 0.0 && max[*j] > 0.0)
                .map(|(j, v)| v / max[j])
                .sum()
        })
        .collect()
}

/// Pareto relation of `a` and `b` in one pass: 1 when `a` dominates `b`, -1 when `b`
/// dominates `a`, 0 otherwise (equal or incomparable).
#[inline]
pub fn pareto_relation(a: &[f64], b: &[f64]) -> i8 {
    let (mut a_better, mut b_better) = (false, false);
    for (x, y) in a.iter().zip(b) {
        if x < y {
            a_better = true;
        } else if y < x {
            b_better = true;
        }
    }
    match (a_better, b_better) {
        (true, false) => 1,
        (false, true) => -1,
        _ => 0,
    }
}

/// Constrained relation (see [`constrained_dominates`]) in one pass: 1 when `a`
/// dominates `b`, -1 when `b` dominates `a`, 0 otherwise.
#[inline]
pub fn constrained_relation(a: &[f64], va: f64, b: &[f64], vb: f64) -> i8 {
    match (va <= 0.0, vb <= 0.0) {
        (true, true) => pareto_relation(a, b),
        (true, false) => 1,
        (false, true) => -1,
        (false, false) => {
            if va < vb {
                1
            } else if vb < va {
                -1
            } else {
                0
            }
        }
    }
}

/// Row-major n×n constrained-domination matrix: `m[i * n + j]` is true when i dominates j.
pub fn domination_matrix(objs: &[&[f64]], cv: &[f64]) -> Vec<bool> {
    let n = objs.len();
    let mut m = vec![false; n * n];
    for i in 0..n {
        for j in (i + 1)..n {
            match constrained_relation(objs[i], cv[i], objs[j], cv[j]) {
                1 => m[i * n + j] = true,
                -1 => m[j * n + i] = true,
                _ => {}
            }
        }
    }
    m
}

/// Fast non-dominated sort (Deb et al. 2002) under constrained domination: returns the
/// fronts as index lists, best first; indices ascend within a front.
pub fn fast_non_dominated_sort(objs: &[&[f64]], cv: &[f64]) -> Vec<Vec<usize>> {
    let n = objs.len();
    let dom = domination_matrix(objs, cv);
    let mut count = vec![0usize; n];
    for i in 0..n {
        for j in 0..n {
            if dom[j * n + i] {
                count[i] += 1;
            }
        }
    }
    let mut fronts = Vec::new();
    let mut current: Vec<usize> = (0..n).filter(|&i| count[i] == 0).collect();
    while !current.is_empty() {
        let mut next = Vec::new();
        for &i in &current {
            for j in 0..n {
                if dom[i * n + j] {
                    count[j] -= 1;
                    if count[j] == 0 {
                        next.push(j);
                    }
                }
            }
        }
        next.sort_unstable();
        fronts.push(std::mem::take(&mut current));
        current = next;
    }
    fronts
}

/// Indices of the points not Pareto-dominated by any other (duplicates all kept).
pub fn non_dominated(points: &[&[f64]]) -> Vec<usize> {
    (0..points.len())
        .filter(|&i| {
            !points
                .iter()
                .enumerate()
                .any(|(j, q)| j != i && dominates(q, points[i]))
        })
        .collect()
}

/// Objectives mapped to [0, 1] by the per-objective min and max over `objs`
/// (an objective with zero range maps to 0).
pub fn normalise(objs: &[&[f64]]) -> Vec<Vec<f64>> {
    let m = objs.first().map_or(0, |o| o.len());
    let mut lo = vec![f64::INFINITY; m];
    let mut hi = vec![f64::NEG_INFINITY; m];
    for o in objs {
        for k in 0..m {
            lo[k] = lo[k].min(o[k]);
            hi[k] = hi[k].max(o[k]);
        }
    }
    objs.iter()
        .map(|o| {
            (0..m)
                .map(|k| {
                    let r = hi[k] - lo[k];
                    if r > 0.0 && r.is_finite() {
                        (o[k] - lo[k]) / r
                    } else {
                        0.0
                    }
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pareto_and_constrained() {
        assert!(dominates(&[1.0, 2.0], &[1.0, 3.0]));
        assert!(!dominates(&[1.0, 3.0], &[1.0, 3.0]));
        assert!(!dominates(&[0.0, 4.0], &[1.0, 3.0]));
        // feasible beats infeasible even when worse in objectives
        assert!(constrained_dominates(&[9.0, 9.0], 0.0, &[0.0, 0.0], 0.1));
        assert!(constrained_dominates(&[9.0, 9.0], 0.1, &[0.0, 0.0], 0.2));
        assert!(!constrained_dominates(&[0.0, 0.0], 0.2, &[9.0, 9.0], 0.1));
    }

    #[test]
    fn sort_fronts() {
        let pts: Vec<Vec<f64>> = vec![
            vec![1.0, 4.0],
            vec![2.0, 2.0],
            vec![4.0, 1.0],
            vec![3.0, 3.0],
            vec![5.0, 5.0],
            vec![2.5, 2.5],
        ];
        let refs: Vec<&[f64]> = pts.iter().map(|p| p.as_slice()).collect();
        let f = fast_non_dominated_sort(&refs, &[0.0; 6]);
        assert_eq!(f, vec![vec![0, 1, 2], vec![5], vec![3], vec![4]]);
        // with point 4 the only feasible one, it is alone in front 0
        let f = fast_non_dominated_sort(&refs, &[1.0, 1.0, 2.0, 1.0, 0.0, 3.0]);
        assert_eq!(f, vec![vec![4], vec![0, 1, 3], vec![2], vec![5]]);
    }
}
