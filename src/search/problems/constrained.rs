//! Constrained classics: BNH (Binh & Korn 1997) and TNK (Tanaka 1995). Violations are
//! divided by the constraint's bound so they are comparable.

/// BNH: f1 = 4x1² + 4x2², f2 = (x1 − 5)² + (x2 − 5)², s.t. (x1 − 5)² + x2² ≤ 25 and
/// (x1 − 8)² + (x2 + 3)² ≥ 7.7; x1 ∈ [0, 5], x2 ∈ [0, 3].
pub fn bnh(x: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let (a, b) = (x[0], x[1]);
    let f = vec![
        4.0 * a * a + 4.0 * b * b,
        (a - 5.0).powi(2) + (b - 5.0).powi(2),
    ];
    let g1 = ((a - 5.0).powi(2) + b * b - 25.0).max(0.0) / 25.0;
    let g2 = (7.7 - (a - 8.0).powi(2) - (b + 3.0).powi(2)).max(0.0) / 7.7;
    (f, vec![g1, g2])
}

/// BNH's Pareto front: x1 = x2 ∈ [0, 3], then x2 = 3 with x1 ∈ [3, 5] (`n` points).
pub fn bnh_front(n: usize) -> Vec<Vec<f64>> {
    let n = n.max(2);
    (0..n)
        .map(|i| {
            let t = 5.0 * i as f64 / (n - 1) as f64;
            let x = if t <= 3.0 { [t, t] } else { [t, 3.0] };
            bnh(&x).0
        })
        .collect()
}

/// TNK: f = (x1, x2), s.t. x1² + x2² − 1 − 0.1 cos(16 atan(x1/x2)) ≥ 0 and
/// (x1 − 0.5)² + (x2 − 0.5)² ≤ 0.5; x ∈ (0, π]².
pub fn tnk(x: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let (a, b) = (x[0], x[1]);
    let c1 = a * a + b * b - 1.0 - 0.1 * (16.0 * (a / b).atan()).cos();
    let c2 = (a - 0.5).powi(2) + (b - 0.5).powi(2) - 0.5;
    (vec![a, b], vec![(-c1).max(0.0), c2.max(0.0) / 0.5])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        let (f, v) = bnh(&[0.0, 0.0]);
        assert_eq!(f, vec![0.0, 50.0]);
        assert_eq!(v, vec![0.0, 0.0]);
        let (_, v) = bnh(&[8.0_f64.min(5.0), 0.0]);
        // (5−8)² + 9 = 18 ≥ 7.7: feasible
        assert_eq!(v, vec![0.0, 0.0]);
        let (_, v) = tnk(&[0.1, 0.1]);
        assert!(v[0] > 0.9);
        let (_, v) = tnk(&[1.0, 0.5]);
        assert_eq!(v, vec![0.0, 0.0]);
    }
}
