//! ZDT1–4, 6 (Zitzler, Deb & Thiele, Evolutionary Computation 8(2), 2000).

use super::{filter_nondominated, Kind};
use std::f64::consts::PI;

/// Objectives of ZDT `kind` at `x` (n ≥ 2).
pub fn eval(kind: Kind, x: &[f64]) -> Vec<f64> {
    let n = x.len();
    let rest = &x[1..];
    let (f1, g) = match kind {
        Kind::Zdt4 => (
            x[0],
            1.0 + 10.0 * (n - 1) as f64
                + rest
                    .iter()
                    .map(|v| v * v - 10.0 * (4.0 * PI * v).cos())
                    .sum::<f64>(),
        ),
        Kind::Zdt6 => (
            1.0 - (-4.0 * x[0]).exp() * (6.0 * PI * x[0]).sin().powi(6),
            1.0 + 9.0 * (rest.iter().sum::<f64>() / (n - 1) as f64).powf(0.25),
        ),
        _ => (x[0], 1.0 + 9.0 * rest.iter().sum::<f64>() / (n - 1) as f64),
    };
    let r = f1 / g;
    let h = match kind {
        Kind::Zdt2 | Kind::Zdt6 => 1.0 - r * r,
        Kind::Zdt3 => 1.0 - r.sqrt() - r * (10.0 * PI * f1).sin(),
        _ => 1.0 - r.sqrt(),
    };
    vec![f1, g * h]
}

/// About `n` points of the true front (g = 1), non-dominated filtered (ZDT3 is sampled
/// densely then filtered to its five pieces).
pub fn front(kind: Kind, n: usize) -> Vec<Vec<f64>> {
    let n = n.max(2);
    let (lo, samples) = match kind {
        Kind::Zdt6 => (0.280_775_319_1, n),
        Kind::Zdt3 => (0.0, n * 20),
        _ => (0.0, n),
    };
    let pts: Vec<Vec<f64>> = (0..samples)
        .map(|i| {
            let f1 = lo + (1.0 - lo) * i as f64 / (samples - 1) as f64;
            let f2 = match kind {
                Kind::Zdt2 | Kind::Zdt6 => 1.0 - f1 * f1,
                Kind::Zdt3 => 1.0 - f1.sqrt() - f1 * (10.0 * PI * f1).sin(),
                _ => 1.0 - f1.sqrt(),
            };
            vec![f1, f2]
        })
        .collect();
    let front = filter_nondominated(pts);
    if kind == Kind::Zdt3 && front.len() > n {
        let step = front.len() as f64 / n as f64;
        (0..n)
            .map(|i| front[(i as f64 * step) as usize].clone())
            .collect()
    } else {
        front
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optimum_lies_on_front() {
        let mut x = vec![0.0; 30];
        x[0] = 0.25;
        assert_eq!(eval(Kind::Zdt1, &x), vec![0.25, 0.5]);
        assert_eq!(eval(Kind::Zdt2, &x), vec![0.25, 1.0 - 0.0625]);
        let y = vec![0.5; 30];
        // g = 1 + 9·0.5 = 5.5, f2 = 5.5(1 − √(0.5/5.5))
        let f = eval(Kind::Zdt1, &y);
        assert!((f[1] - 5.5 * (1.0 - (0.5f64 / 5.5).sqrt())).abs() < 1e-12);
        let mut z = vec![0.0; 10];
        z[0] = 0.5;
        assert_eq!(eval(Kind::Zdt4, &z)[1], 1.0 - 0.5f64.sqrt());
        let fr = front(Kind::Zdt3, 100);
        assert_eq!(fr.len(), 100);
        assert!(fr.iter().all(|p| p[0] <= 0.8519 && p[1] >= -0.7734));
    }
}
