//! Batch normalisation over the last (channel) axis.
//!
//! Training mode normalises with the statistics of the whole mini-batch (all chunks:
//! the caller reduces the per-chunk partial sums in chunk order) using the biased
//! variance, and updates the running statistics with momentum 0.1 and the unbiased
//! variance (PyTorch's convention). Evaluation mode uses the running statistics.
//! `eps = 1e-5`.

use crate::train::real::Real;

/// Variance offset inside the square root.
pub(crate) const EPS: f64 = 1e-5;
/// Weight of the new batch statistic in the running average.
pub(crate) const MOMENTUM: f64 = 0.1;

/// `acc[ch] += Σ x[.., ch]`.
pub(crate) fn sum_into<T: Real>(c: usize, x: &[T], acc: &mut [T]) {
    for r in x.chunks_exact(c) {
        for (a, &v) in acc.iter_mut().zip(r) {
            *a += v;
        }
    }
}

/// `acc[ch] += Σ (x[.., ch] - mean[ch])²`.
pub(crate) fn sq_dev_into<T: Real>(c: usize, x: &[T], mean: &[T], acc: &mut [T]) {
    for r in x.chunks_exact(c) {
        for ((a, &v), &m) in acc.iter_mut().zip(r).zip(mean) {
            let d = v - m;
            *a += d * d;
        }
    }
}

/// `xhat = (x - mean) · inv_std`, `y = gamma · xhat + beta`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn normalize<T: Real>(
    c: usize,
    x: &[T],
    mean: &[T],
    inv_std: &[T],
    gamma: &[T],
    beta: &[T],
    xhat: &mut [T],
    y: &mut [T],
) {
    for ((r, h), o) in x
        .chunks_exact(c)
        .zip(xhat.chunks_exact_mut(c))
        .zip(y.chunks_exact_mut(c))
    {
        for ch in 0..c {
            let v = (r[ch] - mean[ch]) * inv_std[ch];
            h[ch] = v;
            o[ch] = gamma[ch] * v + beta[ch];
        }
    }
}

/// Per-chunk parameter gradients: `dgamma = Σ dy · xhat`, `dbeta = Σ dy`.
pub(crate) fn param_grads<T: Real>(
    c: usize,
    dy: &[T],
    xhat: &[T],
    dgamma: &mut [T],
    dbeta: &mut [T],
) {
    dgamma.fill(T::zero());
    dbeta.fill(T::zero());
    for (d, h) in dy.chunks_exact(c).zip(xhat.chunks_exact(c)) {
        for ch in 0..c {
            dgamma[ch] += d[ch] * h[ch];
            dbeta[ch] += d[ch];
        }
    }
}

/// Training-mode input gradient given the batch totals `sdy = Σ dy`, `sdyx = Σ dy · xhat`
/// over `m` elements per channel:
/// `dx += gamma · inv_std / m · (m · dy - sdy - xhat · sdyx)`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn input_grad<T: Real>(
    c: usize,
    m: usize,
    dy: &[T],
    xhat: &[T],
    gamma: &[T],
    inv_std: &[T],
    sdy: &[T],
    sdyx: &[T],
    dx: &mut [T],
) {
    let mt = T::from_f64(m as f64);
    for ((d, h), o) in dy
        .chunks_exact(c)
        .zip(xhat.chunks_exact(c))
        .zip(dx.chunks_exact_mut(c))
    {
        for ch in 0..c {
            o[ch] += gamma[ch] * inv_std[ch] / mt * (mt * d[ch] - sdy[ch] - h[ch] * sdyx[ch]);
        }
    }
}

/// Evaluation mode: `y = gamma · (x - running_mean) / sqrt(running_var + eps) + beta`.
pub(crate) fn eval_forward<T: Real>(
    c: usize,
    x: &[T],
    rmean: &[T],
    rvar: &[T],
    gamma: &[T],
    beta: &[T],
    y: &mut [T],
) {
    let eps = T::from_f64(EPS);
    let scale: Vec<T> = (0..c)
        .map(|ch| gamma[ch] / (rvar[ch] + eps).sqrt())
        .collect();
    for (r, o) in x.chunks_exact(c).zip(y.chunks_exact_mut(c)) {
        for ch in 0..c {
            o[ch] = (r[ch] - rmean[ch]) * scale[ch] + beta[ch];
        }
    }
}
