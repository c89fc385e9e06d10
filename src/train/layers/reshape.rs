//! Layers that move data without weights: `Flatten` (a copy: the layout is already
//! row-major) and the residual `Add`.

use crate::train::real::Real;

/// `y = a + b` element-wise (residual join).
pub(crate) fn add_forward<T: Real>(a: &[T], b: &[T], y: &mut [T]) {
    for ((o, &u), &v) in y.iter_mut().zip(a).zip(b) {
        *o = u + v;
    }
}

/// `dx += dy` (used for `Flatten` and for both inputs of `Add`).
pub(crate) fn pass_backward<T: Real>(dy: &[T], dx: &mut [T]) {
    for (d, &g) in dx.iter_mut().zip(dy) {
        *d += g;
    }
}
