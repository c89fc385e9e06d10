//! Polynomial mutation (Deb & Goyal 1996), bounded version as in pymoo 0.6
//! (`pymoo.operators.mutation.pm`): each variable mutates with probability `prob_var`
//! (default 1/n) using δ1 = (x − l)/(u − l), δ2 = (u − x)/(u − l); the result is clipped.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Polynomial mutation parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Polynomial {
    /// Distribution index η (20).
    pub eta: f64,
    /// Per-variable probability; `None` = min(0.5, 1/n) (pymoo's default).
    pub prob_var: Option<f64>,
    /// Probability that an individual is mutated at all (pymoo's `PM(prob=0.9)`
    /// default; 1 = always).
    pub prob: f64,
}

impl Default for Polynomial {
    fn default() -> Self {
        Polynomial {
            eta: 20.0,
            prob_var: None,
            prob: 0.9,
        }
    }
}

impl Polynomial {
    /// Mutates `x` in place within `[lower, upper]`.
    pub fn mutate(&self, x: &mut [f64], lower: &[f64], upper: &[f64], rng: &mut ChaCha8Rng) {
        let n = x.len();
        if n == 0 {
            return;
        }
        let p = self.prob_var.unwrap_or((1.0 / n as f64).min(0.5));
        // pymoo draws the per-individual decision after computing the mutant; the
        // outcome distribution is the same
        if self.prob < 1.0 && rng.random::<f64>() >= self.prob {
            return;
        }
        let pow = 1.0 / (self.eta + 1.0);
        for i in 0..n {
            let (xl, xu) = (lower[i], upper[i]);
            if rng.random::<f64>() >= p || xl == xu {
                continue;
            }
            let v = x[i];
            let d1 = (v - xl) / (xu - xl);
            let d2 = (xu - v) / (xu - xl);
            let r: f64 = rng.random();
            let dq = if r <= 0.5 {
                let val = 2.0 * r + (1.0 - 2.0 * r) * (1.0 - d1).powf(self.eta + 1.0);
                val.powf(pow) - 1.0
            } else {
                let val = 2.0 * (1.0 - r) + 2.0 * (r - 0.5) * (1.0 - d2).powf(self.eta + 1.0);
                1.0 - val.powf(pow)
            };
            x[i] = (v + dq * (xu - xl)).clamp(xl, xu);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn mutates_about_one_variable_in_bounds() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let pm = Polynomial::default();
        let (lo, hi) = (vec![0.0; 30], vec![1.0; 30]);
        let mut changed = 0usize;
        for _ in 0..1000 {
            let mut x = vec![0.5; 30];
            pm.mutate(&mut x, &lo, &hi, &mut rng);
            assert!(x.iter().all(|v| (0.0..=1.0).contains(v)));
            changed += x.iter().filter(|&&v| v != 0.5).count();
        }
        // expected 1 mutated variable per call
        assert!((800..1200).contains(&changed), "{changed}");
        // at a bound the mutation stays inside
        let mut x = vec![0.0; 30];
        let pm1 = Polynomial {
            prob_var: Some(1.0),
            ..pm
        };
        pm1.mutate(&mut x, &lo, &hi, &mut rng);
        assert!(x.iter().all(|v| (0.0..=1.0).contains(v)));
    }
}
