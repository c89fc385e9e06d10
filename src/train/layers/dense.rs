//! Fully connected layer: `y = x · w + b` with `w` of shape `[nin, nout]`.

use crate::train::real::Real;
use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView2, ArrayViewMut2};

/// `y[.. n * nout] = x · w + b`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn forward<T: Real>(
    nin: usize,
    nout: usize,
    n: usize,
    x: &[T],
    w: &[T],
    b: Option<&[T]>,
    y: &mut [T],
) {
    let y = &mut y[..n * nout];
    match b {
        Some(b) => {
            for r in y.chunks_exact_mut(nout) {
                r.copy_from_slice(b);
            }
        }
        None => y.fill(T::zero()),
    }
    let xv = ArrayView2::from_shape((n, nin), &x[..n * nin]).expect("x size");
    let wv = ArrayView2::from_shape((nin, nout), w).expect("w size");
    let mut yv = ArrayViewMut2::from_shape((n, nout), y).expect("y size");
    general_mat_mul(T::one(), &xv, &wv, T::one(), &mut yv);
}

/// Sets `dw = xᵀ · dy`, `db = Σ dy` and accumulates `dx += dy · wᵀ`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn backward<T: Real>(
    nin: usize,
    nout: usize,
    n: usize,
    x: &[T],
    dy: &[T],
    w: &[T],
    dw: &mut [T],
    db: Option<&mut [T]>,
    dx: Option<&mut [T]>,
) {
    let dy = &dy[..n * nout];
    let xv = ArrayView2::from_shape((n, nin), &x[..n * nin]).expect("x size");
    let dyv = ArrayView2::from_shape((n, nout), dy).expect("dy size");
    let mut dwv = ArrayViewMut2::from_shape((nin, nout), dw).expect("dw size");
    general_mat_mul(T::one(), &xv.t(), &dyv, T::zero(), &mut dwv);
    if let Some(db) = db {
        db.fill(T::zero());
        for r in dy.chunks_exact(nout) {
            for (a, &v) in db.iter_mut().zip(r) {
                *a += v;
            }
        }
    }
    if let Some(dx) = dx {
        let wv = ArrayView2::from_shape((nin, nout), w).expect("w size");
        let mut dxv = ArrayViewMut2::from_shape((n, nin), &mut dx[..n * nin]).expect("dx size");
        general_mat_mul(T::one(), &dyv, &wv.t(), T::one(), &mut dxv);
    }
}
