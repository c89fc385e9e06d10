//! [`Dims`]: a tensor shape of rank 1 to 3 stored inline (no heap), the shape type of
//! the fast shape-inference and cost paths.

use serde::{Serialize, Serializer};
use std::fmt;
use std::ops::Deref;

/// Maximum rank of a layer output (`[H, W, C]`).
pub const MAX_RANK: usize = 3;

/// A shape without the batch dimension, rank 1 to [`MAX_RANK`] (`[N]`, `[T, C]` or
/// `[H, W, C]`), held inline and `Copy`. Dereferences to `&[usize]`, prints and
/// serialises like a slice (`[96, 16]`), and compares equal to a `Vec<usize>` with the
/// same dimensions.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Dims {
    d: [usize; MAX_RANK],
    rank: u8,
}

impl Dims {
    /// The shape `dims`, or `None` when its rank exceeds [`MAX_RANK`].
    pub fn new(dims: &[usize]) -> Option<Dims> {
        if dims.len() > MAX_RANK {
            return None;
        }
        let mut d = [0; MAX_RANK];
        d[..dims.len()].copy_from_slice(dims);
        Some(Dims {
            d,
            rank: dims.len() as u8,
        })
    }

    /// `[n]`.
    pub fn flat(n: usize) -> Dims {
        Dims {
            d: [n, 0, 0],
            rank: 1,
        }
    }

    /// The dimensions as a slice.
    #[inline]
    pub fn as_slice(&self) -> &[usize] {
        &self.d[..self.rank as usize]
    }

    /// Number of elements (product of the dimensions; 1 for rank 0).
    #[inline]
    pub fn elems(&self) -> u64 {
        self.as_slice().iter().map(|&x| x as u64).product()
    }

    /// Channel count: the last dimension (0 for rank 0).
    #[inline]
    pub fn channels(&self) -> usize {
        self.as_slice().last().copied().unwrap_or(0)
    }

    /// The same spatial dimensions with the last (channel) dimension replaced by `c`.
    #[inline]
    pub fn with_channels(mut self, c: usize) -> Dims {
        if self.rank > 0 {
            self.d[self.rank as usize - 1] = c;
        }
        self
    }

    /// The same shape with dimension `axis` set to `v` (`axis` < rank).
    #[inline]
    pub fn with_dim(mut self, axis: usize, v: usize) -> Dims {
        debug_assert!(axis < self.rank as usize);
        self.d[axis] = v;
        self
    }

    /// A heap copy (`Vec<usize>`, the [`super::Shape`] type).
    pub fn to_vec(&self) -> Vec<usize> {
        self.as_slice().to_vec()
    }
}

impl Deref for Dims {
    type Target = [usize];
    #[inline]
    fn deref(&self) -> &[usize] {
        self.as_slice()
    }
}

impl fmt::Debug for Dims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_slice(), f)
    }
}

impl Serialize for Dims {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.as_slice().serialize(s)
    }
}

impl PartialEq<Vec<usize>> for Dims {
    fn eq(&self, other: &Vec<usize>) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl PartialEq<[usize]> for Dims {
    fn eq(&self, other: &[usize]) -> bool {
        self.as_slice() == other
    }
}

impl From<Dims> for Vec<usize> {
    fn from(d: Dims) -> Vec<usize> {
        d.to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_like_a_slice() {
        let d = Dims::new(&[96, 16]).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d.elems(), 1536);
        assert_eq!(d.channels(), 16);
        assert_eq!(format!("{d:?}"), "[96, 16]");
        assert_eq!(serde_json::to_string(&d).unwrap(), "[96,16]");
        assert_eq!(d, vec![96, 16]);
        assert_eq!(d.with_channels(4), vec![96, 4]);
        assert_eq!(Dims::flat(7), vec![7]);
        assert!(Dims::new(&[1, 2, 3, 4]).is_none());
        assert_ne!(Dims::new(&[2]).unwrap(), Dims::new(&[2, 1]).unwrap());
    }
}
