//! Convolution (1-D and 2-D) as im2col + GEMM (ndarray `general_mat_mul`, which calls
//! matrixmultiply's `sgemm`/`dgemm`).
//!
//! The column matrix has one row per output position (`n * oh * ow` rows) and one
//! column per kernel tap and input channel (`kh * kw * cin`, in `(ky, kx, cin)` order);
//! zero padding appears as zeros in it. Weights are `[kh * kw * cin, cout]`.

use super::Geom;
use crate::train::real::Real;
use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView2, ArrayViewMut2};

/// Fills `col[.. n * oh * ow * kh * kw * c]` from `x[.. n * ih * iw * c]`.
pub(crate) fn im2col<T: Real>(g: &Geom, n: usize, x: &[T], col: &mut [T]) {
    let c = g.c;
    let k = g.taps() * c;
    let in_size = g.in_size();
    let mut row = 0;
    for b in 0..n {
        let xb = &x[b * in_size..(b + 1) * in_size];
        for oy in 0..g.oh {
            // 1-D fast path: all taps of this output row are one contiguous span.
            let contiguous_1d = g.iw == 1 && g.kw == 1 && g.dh == 1 && {
                let start = (oy * g.sh) as isize - g.ph as isize;
                start >= 0 && start as usize + g.kh <= g.ih
            };
            for ox in 0..g.ow {
                let dst = &mut col[row * k..(row + 1) * k];
                row += 1;
                if contiguous_1d {
                    let start = oy * g.sh - g.ph;
                    dst.copy_from_slice(&xb[start * c..(start + g.kh) * c]);
                    continue;
                }
                for ky in 0..g.kh {
                    let drow = &mut dst[ky * g.kw * c..(ky + 1) * g.kw * c];
                    let Some(iy) = g.row(oy, ky) else {
                        drow.fill(T::zero());
                        continue;
                    };
                    // All taps of this kernel row inside the input: one contiguous span
                    // (one copy instead of `kw`, which matters for few input channels).
                    if let Some(ix0) = g.inner_span(ox) {
                        let s = (iy * g.iw + ix0) * c;
                        drow.copy_from_slice(&xb[s..s + g.kw * c]);
                        continue;
                    }
                    for kx in 0..g.kw {
                        let d = &mut drow[kx * c..(kx + 1) * c];
                        match g.col(ox, kx) {
                            Some(ix) => {
                                let s = (iy * g.iw + ix) * c;
                                d.copy_from_slice(&xb[s..s + c]);
                            }
                            None => d.fill(T::zero()),
                        }
                    }
                }
            }
        }
    }
}

/// Adds the column-matrix gradient `dcol` back onto the input gradient `dx`.
pub(crate) fn col2im_add<T: Real>(g: &Geom, n: usize, dcol: &[T], dx: &mut [T]) {
    let c = g.c;
    let k = g.taps() * c;
    let in_size = g.in_size();
    let mut row = 0;
    for b in 0..n {
        let xb = &mut dx[b * in_size..(b + 1) * in_size];
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                let src = &dcol[row * k..(row + 1) * k];
                row += 1;
                for ky in 0..g.kh {
                    let Some(iy) = g.row(oy, ky) else { continue };
                    if let Some(ix0) = g.inner_span(ox) {
                        let s = (iy * g.iw + ix0) * c;
                        let t = ky * g.kw * c;
                        let span = g.kw * c;
                        for (d, &v) in xb[s..s + span].iter_mut().zip(&src[t..t + span]) {
                            *d += v;
                        }
                        continue;
                    }
                    for kx in 0..g.kw {
                        let Some(ix) = g.col(ox, kx) else { continue };
                        let s = (iy * g.iw + ix) * c;
                        let t = (ky * g.kw + kx) * c;
                        for (d, &v) in xb[s..s + c].iter_mut().zip(&src[t..t + c]) {
                            *d += v;
                        }
                    }
                }
            }
        }
    }
}

/// `y = im2col(x) · w + b`; keeps the column matrix in `col` for the backward pass.
#[allow(clippy::too_many_arguments)]
pub(crate) fn forward<T: Real>(
    g: &Geom,
    cout: usize,
    n: usize,
    x: &[T],
    w: &[T],
    b: Option<&[T]>,
    col: &mut [T],
    y: &mut [T],
) {
    let m = n * g.out_positions();
    let k = g.taps() * g.c;
    im2col(g, n, x, col);
    let a = ArrayView2::from_shape((m, k), &col[..m * k]).expect("col size");
    let wv = ArrayView2::from_shape((k, cout), w).expect("weight size");
    let y = &mut y[..m * cout];
    match b {
        Some(b) => {
            for r in y.chunks_exact_mut(cout) {
                r.copy_from_slice(b);
            }
        }
        None => y.fill(T::zero()),
    }
    let mut yv = ArrayViewMut2::from_shape((m, cout), y).expect("output size");
    general_mat_mul(T::one(), &a, &wv, T::one(), &mut yv);
}

/// Sets `dw = colᵀ · dy`, `db = Σ dy` and (if asked) accumulates `dx += col2im(dy · wᵀ)`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn backward<T: Real>(
    g: &Geom,
    cout: usize,
    n: usize,
    col: &[T],
    dy: &[T],
    w: &[T],
    dw: &mut [T],
    db: Option<&mut [T]>,
    dx: Option<&mut [T]>,
    dcol: &mut [T],
) {
    let m = n * g.out_positions();
    let k = g.taps() * g.c;
    let dy = &dy[..m * cout];
    let a = ArrayView2::from_shape((m, k), &col[..m * k]).expect("col size");
    let dyv = ArrayView2::from_shape((m, cout), dy).expect("dy size");
    let mut dwv = ArrayViewMut2::from_shape((k, cout), dw).expect("dw size");
    general_mat_mul(T::one(), &a.t(), &dyv, T::zero(), &mut dwv);
    if let Some(db) = db {
        db.fill(T::zero());
        for r in dy.chunks_exact(cout) {
            for (d, &v) in db.iter_mut().zip(r) {
                *d += v;
            }
        }
    }
    if let Some(dx) = dx {
        let wv = ArrayView2::from_shape((k, cout), w).expect("weight size");
        let mut dcv = ArrayViewMut2::from_shape((m, k), &mut dcol[..m * k]).expect("dcol size");
        general_mat_mul(T::one(), &dyv, &wv.t(), T::zero(), &mut dcv);
        col2im_add(g, n, &dcol[..m * k], dx);
    }
}
