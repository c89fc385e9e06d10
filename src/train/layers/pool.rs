//! Max and average pooling (1-D and 2-D) and global average pooling.
//!
//! With `Same` padding the padded cells are ignored: max pooling takes the max of the
//! cells inside the input and average pooling divides by the number of cells inside
//! the input (TensorFlow's convention). Max-pool ties go to the first cell in
//! row-major window order.

use super::Geom;
use crate::train::real::Real;

/// Max pooling; records in `arg` the winning kernel tap (`ky * kw + kx`) of every
/// output value.
pub(crate) fn max_forward<T: Real>(g: &Geom, n: usize, x: &[T], y: &mut [T], arg: &mut [u32]) {
    let c = g.c;
    let (in_size, out_size) = (g.in_size(), g.out_positions() * c);
    for s in 0..n {
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                let o = s * out_size + (oy * g.ow + ox) * c;
                let out = &mut y[o..o + c];
                let idx = &mut arg[o..o + c];
                out.fill(T::neg_infinity());
                // Two single-output passes (both vectorise): the maximum, then the
                // first tap that attains it (taps visited in reverse, last write wins).
                for ky in 0..g.kh {
                    let Some(iy) = g.row(oy, ky) else { continue };
                    for kx in 0..g.kw {
                        let Some(ix) = g.col(ox, kx) else { continue };
                        let base = s * in_size + (iy * g.iw + ix) * c;
                        for (o, &v) in out.iter_mut().zip(&x[base..base + c]) {
                            *o = if v > *o { v } else { *o };
                        }
                    }
                }
                for ky in (0..g.kh).rev() {
                    let Some(iy) = g.row(oy, ky) else { continue };
                    for kx in (0..g.kw).rev() {
                        let Some(ix) = g.col(ox, kx) else { continue };
                        let base = s * in_size + (iy * g.iw + ix) * c;
                        let tap = (ky * g.kw + kx) as u32;
                        for ((a, &o), &v) in idx.iter_mut().zip(out.iter()).zip(&x[base..base + c])
                        {
                            *a = if v == o { tap } else { *a };
                        }
                    }
                }
            }
        }
    }
}

/// `dx[winner] += dy`, as one masked (vectorisable) pass per kernel tap.
pub(crate) fn max_backward<T: Real>(g: &Geom, n: usize, dy: &[T], arg: &[u32], dx: &mut [T]) {
    let c = g.c;
    let (in_size, out_size) = (g.in_size(), g.out_positions() * c);
    for s in 0..n {
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                let o = s * out_size + (oy * g.ow + ox) * c;
                let (d, a) = (&dy[o..o + c], &arg[o..o + c]);
                for ky in 0..g.kh {
                    let Some(iy) = g.row(oy, ky) else { continue };
                    for kx in 0..g.kw {
                        let Some(ix) = g.col(ox, kx) else { continue };
                        let base = s * in_size + (iy * g.iw + ix) * c;
                        let tap = (ky * g.kw + kx) as u32;
                        for ((t, &gv), &w) in dx[base..base + c].iter_mut().zip(d).zip(a) {
                            *t += if w == tap { gv } else { T::zero() };
                        }
                    }
                }
            }
        }
    }
}

/// Number of window cells inside the input for output `(oy, ox)`.
fn count(g: &Geom, oy: usize, ox: usize) -> usize {
    let rows = (0..g.kh).filter(|&k| g.row(oy, k).is_some()).count();
    let cols = (0..g.kw).filter(|&k| g.col(ox, k).is_some()).count();
    rows * cols
}

/// Average pooling over the cells inside the input.
pub(crate) fn avg_forward<T: Real>(g: &Geom, n: usize, x: &[T], y: &mut [T]) {
    let c = g.c;
    let (in_size, out_size) = (g.in_size(), g.out_positions() * c);
    for s in 0..n {
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                let o = s * out_size + (oy * g.ow + ox) * c;
                let out = &mut y[o..o + c];
                out.fill(T::zero());
                for ky in 0..g.kh {
                    let Some(iy) = g.row(oy, ky) else { continue };
                    for kx in 0..g.kw {
                        let Some(ix) = g.col(ox, kx) else { continue };
                        let base = s * in_size + (iy * g.iw + ix) * c;
                        for (a, &v) in out.iter_mut().zip(&x[base..base + c]) {
                            *a += v;
                        }
                    }
                }
                let inv = T::one() / T::from_f64(count(g, oy, ox) as f64);
                for a in out.iter_mut() {
                    *a *= inv;
                }
            }
        }
    }
}

/// `dx += dy / count` over each window.
pub(crate) fn avg_backward<T: Real>(g: &Geom, n: usize, dy: &[T], dx: &mut [T]) {
    let c = g.c;
    let (in_size, out_size) = (g.in_size(), g.out_positions() * c);
    for s in 0..n {
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                let o = s * out_size + (oy * g.ow + ox) * c;
                let inv = T::one() / T::from_f64(count(g, oy, ox) as f64);
                for ky in 0..g.kh {
                    let Some(iy) = g.row(oy, ky) else { continue };
                    for kx in 0..g.kw {
                        let Some(ix) = g.col(ox, kx) else { continue };
                        let base = s * in_size + (iy * g.iw + ix) * c;
                        for (a, &v) in dx[base..base + c].iter_mut().zip(&dy[o..o + c]) {
                            *a += v * inv;
                        }
                    }
                }
            }
        }
    }
}

/// Mean over the `spatial` positions of each channel.
pub(crate) fn global_forward<T: Real>(spatial: usize, c: usize, n: usize, x: &[T], y: &mut [T]) {
    let inv = T::one() / T::from_f64(spatial as f64);
    for s in 0..n {
        let out = &mut y[s * c..(s + 1) * c];
        out.fill(T::zero());
        for r in x[s * spatial * c..(s + 1) * spatial * c].chunks_exact(c) {
            for (a, &v) in out.iter_mut().zip(r) {
                *a += v;
            }
        }
        for a in out.iter_mut() {
            *a *= inv;
        }
    }
}

/// `dx += dy / spatial` at every position.
pub(crate) fn global_backward<T: Real>(spatial: usize, c: usize, n: usize, dy: &[T], dx: &mut [T]) {
    let inv = T::one() / T::from_f64(spatial as f64);
    for s in 0..n {
        let d = &dy[s * c..(s + 1) * c];
        for r in dx[s * spatial * c..(s + 1) * spatial * c].chunks_exact_mut(c) {
            for (a, &v) in r.iter_mut().zip(d) {
                *a += v * inv;
            }
        }
    }
}
