//! Normalisation of objective vectors (ideal → 0, nadir → 1), Pareto filtering and the
//! knee of a front.

use serde::{Deserialize, Serialize};

/// Reference point of every hypervolume in normalised space: 1.1 in each objective
/// (the usual choice, so that the extreme points of the front still contribute).
pub const REFERENCE_POINT: f64 = 1.1;

/// Per-objective affine map `f ↦ (f − ideal) / (nadir − ideal)`.
///
/// `ideal` and `nadir` are the per-objective minimum and maximum of a set of points.
/// An objective whose range is zero (or not finite) is mapped with a range of 1.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Normalisation {
    /// Per-objective minimum (maps to 0), in the objective's own unit.
    pub ideal: Vec<f64>,
    /// Per-objective maximum (maps to 1), in the objective's own unit.
    pub nadir: Vec<f64>,
}

impl Normalisation {
    /// Ideal and nadir of `points` (each of length `m`); with no points, ideal 0 and
    /// nadir 1 in every objective.
    pub fn of_points(points: &[Vec<f64>], m: usize) -> Normalisation {
        Self::of_sets(std::iter::once(points), m)
    }

    /// Ideal and nadir over the union of several point sets.
    pub fn of_sets<'a>(sets: impl IntoIterator<Item = &'a [Vec<f64>]>, m: usize) -> Self {
        let mut ideal = vec![f64::INFINITY; m];
        let mut nadir = vec![f64::NEG_INFINITY; m];
        for set in sets {
            for p in set {
                for j in 0..m.min(p.len()) {
                    if p[j].is_finite() {
                        ideal[j] = ideal[j].min(p[j]);
                        nadir[j] = nadir[j].max(p[j]);
                    }
                }
            }
        }
        for j in 0..m {
            if !ideal[j].is_finite() || !nadir[j].is_finite() {
                ideal[j] = 0.0;
                nadir[j] = 1.0;
            }
        }
        Normalisation { ideal, nadir }
    }

    /// Range used for objective `j` (nadir − ideal, or 1 when that is not positive).
    pub fn range(&self, j: usize) -> f64 {
        let r = self.nadir[j] - self.ideal[j];
        if r > 0.0 && r.is_finite() {
            r
        } else {
            1.0
        }
    }

    /// The normalised image of one point.
    pub fn normalise(&self, p: &[f64]) -> Vec<f64> {
        p.iter()
            .enumerate()
            .map(|(j, &v)| (v - self.ideal[j]) / self.range(j))
            .collect()
    }

    /// The normalised images of several points.
    pub fn normalise_all(&self, points: &[Vec<f64>]) -> Vec<Vec<f64>> {
        points.iter().map(|p| self.normalise(p)).collect()
    }

    /// The hypervolume reference point ([`REFERENCE_POINT`] in every objective).
    pub fn reference(&self) -> Vec<f64> {
        vec![REFERENCE_POINT; self.ideal.len()]
    }
}

/// `true` when `a` Pareto-dominates `b` (no worse everywhere, better somewhere).
fn dominates(a: &[f64], b: &[f64]) -> bool {
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

/// Indices of the non-dominated points of `points` (duplicates: the first is kept),
/// in their original order.
pub fn non_dominated(points: &[Vec<f64>]) -> Vec<usize> {
    (0..points.len())
        .filter(|&i| {
            !points.iter().enumerate().any(|(j, q)| {
                dominates(q, &points[i]) || (j < i && q.as_slice() == points[i].as_slice())
            })
        })
        .collect()
}

/// The knee (compromise) point of a front: the point closest, in Euclidean distance in
/// the front's own normalised space, to the ideal point. Ties go to the first point.
/// `None` for an empty front.
pub fn knee_index(points: &[Vec<f64>]) -> Option<usize> {
    let m = points.first()?.len();
    let n = Normalisation::of_points(points, m);
    let mut best: Option<(usize, f64)> = None;
    for (i, p) in points.iter().enumerate() {
        let d: f64 = n.normalise(p).iter().map(|v| v * v).sum();
        if best.is_none_or(|(_, b)| d < b) {
            best = Some((i, d));
        }
    }
    best.map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_to_unit_box() {
        let pts = vec![vec![1.0, 10.0], vec![3.0, 4.0], vec![2.0, 6.0]];
        let n = Normalisation::of_points(&pts, 2);
        assert_eq!(n.ideal, vec![1.0, 4.0]);
        assert_eq!(n.nadir, vec![3.0, 10.0]);
        assert_eq!(n.normalise(&pts[0]), vec![0.0, 1.0]);
        assert_eq!(n.normalise(&pts[1]), vec![1.0, 0.0]);
        assert_eq!(n.normalise(&pts[2]), vec![0.5, 2.0 / 6.0]);
        assert_eq!(n.reference(), vec![1.1, 1.1]);
    }

    #[test]
    fn zero_range_and_empty() {
        let n = Normalisation::of_points(&[vec![2.0, 5.0]], 2);
        assert_eq!(n.normalise(&[2.0, 7.0]), vec![0.0, 2.0]);
        let e = Normalisation::of_points(&[], 3);
        assert_eq!(e.ideal, vec![0.0; 3]);
        assert_eq!(e.nadir, vec![1.0; 3]);
    }

    #[test]
    fn union_of_sets() {
        let a = vec![vec![0.0, 5.0]];
        let b = vec![vec![4.0, 1.0]];
        let n = Normalisation::of_sets([a.as_slice(), b.as_slice()], 2);
        assert_eq!(n.ideal, vec![0.0, 1.0]);
        assert_eq!(n.nadir, vec![4.0, 5.0]);
    }

    #[test]
    fn filters_dominated_and_duplicates() {
        let pts = vec![
            vec![1.0, 5.0],
            vec![2.0, 6.0], // dominated by 0
            vec![3.0, 1.0],
            vec![1.0, 5.0], // duplicate of 0
            vec![2.0, 2.0],
        ];
        assert_eq!(non_dominated(&pts), vec![0, 2, 4]);
    }

    #[test]
    fn knee_is_closest_to_ideal() {
        let pts = vec![
            vec![0.0, 10.0],
            vec![4.0, 4.0],
            vec![10.0, 0.0],
            vec![2.0, 9.0],
        ];
        assert_eq!(knee_index(&pts), Some(1));
        assert_eq!(knee_index(&[]), None);
    }
}
