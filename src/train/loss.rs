//! Softmax cross-entropy on logits.

use crate::train::real::Real;

/// Loss sum and number of correct predictions for `n` samples of `k` logits each.
/// If `grad` is given it receives `scale · (softmax(z) - onehot(y))` (use
/// `scale = 1 / batch` for the gradient of the batch-mean loss). The loss is computed
/// stably as `logsumexp(z) - z[y]`; the prediction is the first arg-max.
pub(crate) fn softmax_xent<T: Real>(
    k: usize,
    n: usize,
    logits: &[T],
    labels: &[usize],
    scale: T,
    mut grad: Option<&mut [T]>,
) -> (f64, usize) {
    let mut loss = 0.0;
    let mut correct = 0;
    for s in 0..n {
        let z = &logits[s * k..(s + 1) * k];
        let y = labels[s];
        let mut best = 0;
        for j in 1..k {
            if z[j] > z[best] {
                best = j;
            }
        }
        if best == y {
            correct += 1;
        }
        let m = z[best];
        let mut sum = T::zero();
        for &v in z {
            sum += (v - m).exp();
        }
        let lse = m + sum.ln();
        loss += (lse - z[y]).to_f64();
        if let Some(g) = grad.as_deref_mut() {
            let g = &mut g[s * k..(s + 1) * k];
            for j in 0..k {
                let p = (z[j] - lse).exp();
                g[j] = scale * (if j == y { p - T::one() } else { p });
            }
        }
    }
    (loss, correct)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_logits_give_ln_k() {
        let (l, _) = softmax_xent::<f64>(4, 1, &[0.0; 4], &[2], 1.0, None);
        assert!((l - 4f64.ln()).abs() < 1e-12);
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let z = [0.3, -1.2, 2.0];
        let mut g = [0.0; 3];
        softmax_xent::<f64>(3, 1, &z, &[1], 1.0, Some(&mut g));
        for j in 0..3 {
            let (mut a, mut b) = (z, z);
            a[j] += 1e-6;
            b[j] -= 1e-6;
            let fd = (softmax_xent::<f64>(3, 1, &a, &[1], 1.0, None).0
                - softmax_xent::<f64>(3, 1, &b, &[1], 1.0, None).0)
                / 2e-6;
            assert!((fd - g[j]).abs() < 1e-8, "{j}: {fd} vs {}", g[j]);
        }
    }
}
