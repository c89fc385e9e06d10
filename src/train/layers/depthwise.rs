//! Depthwise convolution (one filter per channel, multiplier 1), direct loops with the
//! channel axis innermost. Weights are `[kh * kw, c]`.

use super::Geom;
use crate::train::real::Real;

/// `y[b, o, c] = Σ_taps x[b, i(o, tap), c] · w[tap, c] + b[c]`.
pub(crate) fn forward<T: Real>(g: &Geom, n: usize, x: &[T], w: &[T], b: Option<&[T]>, y: &mut [T]) {
    let c = g.c;
    let (in_size, out_size) = (g.in_size(), g.out_positions() * c);
    for s in 0..n {
        let xb = &x[s * in_size..(s + 1) * in_size];
        let yb = &mut y[s * out_size..(s + 1) * out_size];
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                let out = &mut yb[(oy * g.ow + ox) * c..(oy * g.ow + ox + 1) * c];
                match b {
                    Some(b) => out.copy_from_slice(b),
                    None => out.fill(T::zero()),
                }
                for ky in 0..g.kh {
                    let Some(iy) = g.row(oy, ky) else { continue };
                    for kx in 0..g.kw {
                        let Some(ix) = g.col(ox, kx) else { continue };
                        let xi = &xb[(iy * g.iw + ix) * c..(iy * g.iw + ix + 1) * c];
                        let wk = &w[(ky * g.kw + kx) * c..(ky * g.kw + kx + 1) * c];
                        for ((o, &xv), &wv) in out.iter_mut().zip(xi).zip(wk) {
                            *o += xv * wv;
                        }
                    }
                }
            }
        }
    }
}

/// Sets `dw`, `db` and (if asked) accumulates into `dx`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn backward<T: Real>(
    g: &Geom,
    n: usize,
    x: &[T],
    dy: &[T],
    w: &[T],
    dw: &mut [T],
    mut db: Option<&mut [T]>,
    mut dx: Option<&mut [T]>,
) {
    let c = g.c;
    let (in_size, out_size) = (g.in_size(), g.out_positions() * c);
    dw.fill(T::zero());
    if let Some(db) = db.as_deref_mut() {
        db.fill(T::zero());
    }
    for s in 0..n {
        let xb = &x[s * in_size..(s + 1) * in_size];
        let dyb = &dy[s * out_size..(s + 1) * out_size];
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                let d = &dyb[(oy * g.ow + ox) * c..(oy * g.ow + ox + 1) * c];
                if let Some(db) = db.as_deref_mut() {
                    for (a, &v) in db.iter_mut().zip(d) {
                        *a += v;
                    }
                }
                for ky in 0..g.kh {
                    let Some(iy) = g.row(oy, ky) else { continue };
                    for kx in 0..g.kw {
                        let Some(ix) = g.col(ox, kx) else { continue };
                        let off = (iy * g.iw + ix) * c;
                        let tap = (ky * g.kw + kx) * c;
                        let xi = &xb[off..off + c];
                        for ((a, &dv), &xv) in dw[tap..tap + c].iter_mut().zip(d).zip(xi) {
                            *a += dv * xv;
                        }
                        if let Some(dx) = dx.as_deref_mut() {
                            let dxi = &mut dx[s * in_size + off..s * in_size + off + c];
                            for ((a, &dv), &wv) in dxi.iter_mut().zip(d).zip(&w[tap..tap + c]) {
                                *a += dv * wv;
                            }
                        }
                    }
                }
            }
        }
    }
}
