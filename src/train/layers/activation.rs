//! Element-wise activations: ReLU `max(x, 0)` and ReLU6 `min(max(x, 0), 6)`.
//! At the kinks (`x = 0`, `x = 6`) the gradient is taken as 0.

use crate::train::real::Real;

/// `y = max(x, 0)` (or clipped at `cap` for ReLU6).
pub(crate) fn forward<T: Real>(x: &[T], y: &mut [T], cap: Option<T>) {
    let z = T::zero();
    match cap {
        None => {
            for (o, &v) in y.iter_mut().zip(x) {
                *o = if v > z { v } else { z };
            }
        }
        Some(c) => {
            for (o, &v) in y.iter_mut().zip(x) {
                *o = if v > z {
                    if v < c {
                        v
                    } else {
                        c
                    }
                } else {
                    z
                };
            }
        }
    }
}

/// `dx += dy` where the input was strictly inside the linear region.
pub(crate) fn backward<T: Real>(x: &[T], dy: &[T], dx: &mut [T], cap: Option<T>) {
    let z = T::zero();
    match cap {
        None => {
            // Branch-free select (the sign pattern is random: branches mispredict).
            for ((d, &g), &v) in dx.iter_mut().zip(dy).zip(x) {
                *d += if v > z { g } else { z };
            }
        }
        Some(c) => {
            for ((d, &g), &v) in dx.iter_mut().zip(dy).zip(x) {
                *d += if v > z && v < c { g } else { z };
            }
        }
    }
}
