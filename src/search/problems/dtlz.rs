//! DTLZ1–7 (Deb, Thiele, Laumanns & Zitzler 2002/2005), M objectives, k = n − M + 1
//! distance variables.

use super::{das_dennis, divisions_for, filter_nondominated};
use std::f64::consts::PI;

/// Objectives of DTLZ`i` with `m` objectives at `x`.
pub fn eval(i: u8, m: usize, x: &[f64]) -> Vec<f64> {
    let xm = &x[m - 1..];
    let k = xm.len() as f64;
    let g_rastrigin = || {
        100.0
            * (k + xm
                .iter()
                .map(|v| (v - 0.5).powi(2) - (20.0 * PI * (v - 0.5)).cos())
                .sum::<f64>())
    };
    let g_sphere = || xm.iter().map(|v| (v - 0.5).powi(2)).sum::<f64>();
    match i {
        1 => {
            let g = g_rastrigin();
            (0..m)
                .map(|o| {
                    let mut f = 0.5 * (1.0 + g);
                    for &xj in &x[..m - 1 - o] {
                        f *= xj;
                    }
                    if o > 0 {
                        f *= 1.0 - x[m - 1 - o];
                    }
                    f
                })
                .collect()
        }
        2..=6 => {
            let g = match i {
                3 => g_rastrigin(),
                6 => xm.iter().map(|v| v.powf(0.1)).sum::<f64>(),
                _ => g_sphere(),
            };
            let theta: Vec<f64> = (0..m - 1)
                .map(|j| match i {
                    4 => x[j].powf(100.0) * PI / 2.0,
                    5 | 6 if j > 0 => PI / (4.0 * (1.0 + g)) * (1.0 + 2.0 * g * x[j]),
                    _ => x[j] * PI / 2.0,
                })
                .collect();
            sphere(&theta, m, g)
        }
        _ => {
            let g = 1.0 + 9.0 / k * xm.iter().sum::<f64>();
            let mut f: Vec<f64> = x[..m - 1].to_vec();
            let h = m as f64
                - f.iter()
                    .map(|fi| fi / (1.0 + g) * (1.0 + (3.0 * PI * fi).sin()))
                    .sum::<f64>();
            f.push((1.0 + g) * h);
            f
        }
    }
}

fn sphere(theta: &[f64], m: usize, g: f64) -> Vec<f64> {
    (0..m)
        .map(|o| {
            let mut f = 1.0 + g;
            for t in &theta[..m - 1 - o] {
                f *= t.cos();
            }
            if o > 0 {
                f *= theta[m - 1 - o].sin();
            }
            f
        })
        .collect()
}

/// About `n` points of the true front of DTLZ`i` with `m` objectives.
pub fn front(i: u8, m: usize, n: usize) -> Vec<Vec<f64>> {
    match i {
        1 => das_dennis(m, divisions_for(m, n))
            .into_iter()
            .map(|w| w.into_iter().map(|v| 0.5 * v).collect())
            .collect(),
        2..=4 => das_dennis(m, divisions_for(m, n))
            .into_iter()
            .map(|w| {
                let norm = w.iter().map(|v| v * v).sum::<f64>().sqrt();
                w.into_iter().map(|v| v / norm).collect()
            })
            .collect(),
        5 | 6 => (0..n.max(2))
            .map(|s| {
                let t = s as f64 / (n.max(2) - 1) as f64;
                let mut theta = vec![PI / 4.0; m - 1];
                theta[0] = t * PI / 2.0;
                sphere(&theta, m, 0.0)
            })
            .collect(),
        _ => {
            // grid over the m − 1 position variables with g = 1 (x_M = 0), filtered
            let per = ((n * 8) as f64).powf(1.0 / (m - 1) as f64).ceil().max(2.0) as usize;
            let mut pts = Vec::new();
            let mut idx = vec![0usize; m - 1];
            loop {
                let mut x: Vec<f64> = idx.iter().map(|&j| j as f64 / (per - 1) as f64).collect();
                x.extend(std::iter::repeat_n(0.0, 1));
                pts.push(eval(7, m, &x));
                let mut d = 0;
                while d < m - 1 {
                    idx[d] += 1;
                    if idx[d] < per {
                        break;
                    }
                    idx[d] = 0;
                    d += 1;
                }
                if d == m - 1 {
                    break;
                }
            }
            filter_nondominated(pts)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optimal_points_on_fronts() {
        // x_M = 0.5 puts DTLZ1–5 on their fronts
        let mut x = vec![0.5; 12];
        x[0] = 0.3;
        x[1] = 0.8;
        let f1 = eval(1, 3, &x);
        assert!((f1.iter().sum::<f64>() - 0.5).abs() < 1e-12, "{f1:?}");
        for i in [2u8, 3, 4, 5] {
            let f = eval(i, 3, &x);
            let r = f.iter().map(|v| v * v).sum::<f64>();
            assert!((r - 1.0).abs() < 1e-12, "dtlz{i} {f:?}");
        }
        let mut z = vec![0.0; 12];
        z[0] = 0.3;
        let f6 = eval(6, 3, &z);
        assert!((f6.iter().map(|v| v * v).sum::<f64>() - 1.0).abs() < 1e-12);
        assert_eq!(front(2, 3, 100).len(), 91); // h = 12
        assert!(front(7, 3, 200).len() > 50);
    }
}
