//! The network search space: a genome of blocks within [`SearchSpace`] bounds that
//! always decodes to a valid [`Arch`], plus the full candidate genome (network + cuts +
//! device map) with random sampling, mutation and crossover that always yield valid
//! candidates (see `docs/networks.md`, "Search space").
//!
//! ```
//! use distrinas::partition::space::{CandidateGenome, SpaceContext};
//! use distrinas::scenario::SearchSpace;
//! use rand::SeedableRng;
//! let ctx = SpaceContext::new(SearchSpace::default(), vec![100, 6], 4,
//!     vec!["wrist".into(), "hub".into()], vec![vec![1], vec![0]]).unwrap();
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
//! let mut g = CandidateGenome::random(&ctx, &mut rng);
//! g.mutate(&ctx, &mut rng);
//! let cand = g.to_candidate(&ctx);
//! assert_eq!(cand.map.len(), cand.cuts.len() + 1);
//! assert!(cand.arch.shapes().is_ok());
//! ```

use super::Candidate;
use crate::arch::{Arch, Layer, Padding, Shape, ShapeError};
use crate::network::Network;
use crate::scenario::{BlockKind, DType, PoolKind, SearchSpace};
use rand::seq::IndexedRandom;
use rand::Rng;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A decoded stride or pooling step is skipped when it would leave a spatial axis
/// shorter than this.
pub const MIN_SPATIAL: usize = 2;

/// Why a search space cannot be sampled.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SpaceError {
    /// A choice list is empty.
    #[error("space.{0} must not be empty")]
    Empty(&'static str),
    /// A choice list holds a zero.
    #[error("space.{0} must not contain 0")]
    Zero(&'static str),
    /// `min_blocks` > `max_blocks` or `max_blocks` = 0.
    #[error("space: need 1 <= max_blocks and min_blocks <= max_blocks (got {min}..={max})")]
    Blocks { min: usize, max: usize },
    /// The input shape is not `[T, C]` or `[H, W, C]` with positive dimensions.
    #[error("input shape {0:?} must be [T, C] or [H, W, C] with every dimension > 0")]
    Input(Shape),
    /// No classes.
    #[error("classes must be > 0")]
    Classes,
    /// No devices to map partitions onto.
    #[error("at least one device is needed")]
    NoDevices,
    /// Adjacency list length differs from the device count or names a missing device.
    #[error("adjacency must list neighbours (valid indices) for each of the {0} devices")]
    Adjacency(usize),
    /// The space's largest network is not a valid network (e.g. a layer past the
    /// size limits).
    #[error("the largest network of the space: {0}")]
    Largest(#[source] ShapeError),
    /// Training the space's largest network would need more memory than the limit.
    #[error("the largest network of the space would need about {} MiB to train, more than the limit of {} MiB: lower space.channels, space.kernels, space.dense_units or space.max_blocks", bytes >> 20, limit >> 20)]
    TooLarge { bytes: u128, limit: u128 },
}

/// One block of the network genome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BlockGene {
    pub kind: BlockKind,
    /// Output channels.
    pub channels: usize,
    /// Kernel size (square for 2-D).
    pub kernel: usize,
    /// Stride of the block's first convolution (skipped if the input is too short).
    pub stride: usize,
    /// Pooling (window 2, stride 2) after the block (skipped if the input is too short).
    pub pool: PoolKind,
}

/// The network part of a genome: blocks, then `GlobalAvgPool`, an optional hidden
/// `Dense(dense_units) → ReLU`, and `Dense(classes)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NetGenome {
    pub blocks: Vec<BlockGene>,
    /// Hidden dense units (0 = none).
    pub dense_units: usize,
}

/// Everything the operators need: bounds, input shape, classes, devices and topology.
#[derive(Debug, Clone, PartialEq)]
pub struct SpaceContext {
    pub space: SearchSpace,
    /// Input shape `[T, C]` or `[H, W, C]`.
    pub input: Shape,
    /// Number of output classes.
    pub classes: usize,
    /// Device ids, by device index.
    pub devices: Vec<String>,
    /// Neighbours of each device index in the topology.
    pub adjacency: Vec<Vec<usize>>,
    /// Flash budget of each device and the deployment dtype, for the flash-balancing
    /// cut operator (`None`: the operator is off).
    pub flash: Option<(Vec<u64>, DType)>,
}

impl SpaceContext {
    /// The largest networks of the space, one per block kind: `max_blocks` blocks of
    /// that kind with the most channels, the largest kernel, the smallest stride, no
    /// pooling if allowed, and the most dense units. An upper estimate of what the
    /// search may train.
    pub fn largest_networks(&self) -> Vec<Arch> {
        let sp = &self.space;
        let max = |v: &[usize]| v.iter().copied().max().unwrap_or(1);
        let min = |v: &[usize]| v.iter().copied().min().unwrap_or(1);
        let pool = if sp.pooling.contains(&PoolKind::None) {
            PoolKind::None
        } else {
            sp.pooling.first().copied().unwrap_or(PoolKind::None)
        };
        sp.block_kinds
            .iter()
            .map(|&kind| {
                let block = BlockGene {
                    kind,
                    channels: max(&sp.channels),
                    kernel: max(&sp.kernels),
                    stride: min(&sp.strides),
                    pool,
                };
                NetGenome {
                    blocks: vec![block; sp.max_blocks.max(1)],
                    dense_units: max(&sp.dense_units),
                }
                .decode(&self.input, self.classes)
            })
            .collect()
    }

    /// Checks the space (non-empty choice lists without zeros, block bounds), the input
    /// shape, classes, devices and adjacency.
    pub fn new(
        space: SearchSpace,
        input: Shape,
        classes: usize,
        devices: Vec<String>,
        adjacency: Vec<Vec<usize>>,
    ) -> Result<Self, SpaceError> {
        let lists: [(&'static str, &[usize]); 3] = [
            ("channels", &space.channels),
            ("kernels", &space.kernels),
            ("strides", &space.strides),
        ];
        for (name, l) in lists {
            if l.is_empty() {
                return Err(SpaceError::Empty(name));
            }
            if l.contains(&0) {
                return Err(SpaceError::Zero(name));
            }
        }
        if space.block_kinds.is_empty() {
            return Err(SpaceError::Empty("block_kinds"));
        }
        if space.pooling.is_empty() {
            return Err(SpaceError::Empty("pooling"));
        }
        if space.dense_units.is_empty() {
            return Err(SpaceError::Empty("dense_units"));
        }
        if space.max_blocks == 0 || space.min_blocks > space.max_blocks {
            return Err(SpaceError::Blocks {
                min: space.min_blocks,
                max: space.max_blocks,
            });
        }
        if !(2..=3).contains(&input.len()) || input.contains(&0) {
            return Err(SpaceError::Input(input));
        }
        if classes == 0 {
            return Err(SpaceError::Classes);
        }
        if devices.is_empty() {
            return Err(SpaceError::NoDevices);
        }
        if adjacency.len() != devices.len()
            || adjacency.iter().flatten().any(|&d| d >= devices.len())
        {
            return Err(SpaceError::Adjacency(devices.len()));
        }
        Ok(SpaceContext {
            space,
            input,
            classes,
            devices,
            adjacency,
            flash: None,
        })
    }

    /// Turns on the flash-balancing cut operator with each device's flash budget (by
    /// device index) and the deployment dtype.
    pub fn with_flash_budgets(mut self, budgets: Vec<u64>, dtype: DType) -> Self {
        if budgets.len() == self.devices.len() {
            self.flash = Some((budgets, dtype));
        }
        self
    }

    /// Context whose devices, adjacency and flash budgets come from `network` (the
    /// flash-balancing operator costs layers in `dtype`).
    pub fn from_network(
        space: SearchSpace,
        input: Shape,
        classes: usize,
        network: &Network,
        dtype: DType,
    ) -> Result<Self, SpaceError> {
        let budgets = network.devices().iter().map(|d| d.flash_bytes).collect();
        let devices = network.devices().iter().map(|d| d.id.clone()).collect();
        let mut adjacency = vec![Vec::new(); network.devices().len()];
        for l in network.links() {
            adjacency[l.a].push(l.b);
            adjacency[l.b].push(l.a);
        }
        for a in &mut adjacency {
            a.sort_unstable();
            a.dedup();
        }
        Ok(
            Self::new(space, input, classes, devices, adjacency)?
                .with_flash_budgets(budgets, dtype),
        )
    }
}

fn random_block<R: Rng + ?Sized>(space: &SearchSpace, rng: &mut R) -> BlockGene {
    BlockGene {
        kind: *space.block_kinds.choose(rng).expect("checked non-empty"),
        channels: *space.channels.choose(rng).expect("checked non-empty"),
        kernel: *space.kernels.choose(rng).expect("checked non-empty"),
        stride: *space.strides.choose(rng).expect("checked non-empty"),
        pool: *space.pooling.choose(rng).expect("checked non-empty"),
    }
}

fn conv(rank: usize, filters: usize, kernel: usize, stride: usize) -> Layer {
    let (padding, dilation, bias) = (Padding::Same, 1, true);
    if rank == 2 {
        Layer::Conv1d {
            filters,
            kernel,
            stride,
            padding,
            dilation,
            bias,
        }
    } else {
        Layer::Conv2d {
            filters,
            kernel: kernel.into(),
            stride: stride.into(),
            padding,
            dilation,
            bias,
        }
    }
}

fn depthwise(rank: usize, kernel: usize, stride: usize) -> Layer {
    let (padding, dilation, bias) = (Padding::Same, 1, true);
    if rank == 2 {
        Layer::DepthwiseConv1d {
            kernel,
            stride,
            padding,
            dilation,
            bias,
        }
    } else {
        Layer::DepthwiseConv2d {
            kernel: kernel.into(),
            stride: stride.into(),
            padding,
            dilation,
            bias,
        }
    }
}

fn pool(rank: usize, kind: PoolKind) -> Option<Layer> {
    let (size, stride, padding) = (2, None, Padding::Valid);
    match (kind, rank) {
        (PoolKind::None, _) => None,
        (PoolKind::Max, 2) => Some(Layer::MaxPool1d {
            size,
            stride,
            padding,
        }),
        (PoolKind::Max, _) => Some(Layer::MaxPool2d {
            size,
            stride,
            padding,
        }),
        (PoolKind::Avg, 2) => Some(Layer::AvgPool1d {
            size,
            stride,
            padding,
        }),
        (PoolKind::Avg, _) => Some(Layer::AvgPool2d {
            size,
            stride,
            padding,
        }),
    }
}

impl NetGenome {
    /// A random genome: `min_blocks..=max_blocks` blocks with every choice uniform.
    pub fn random<R: Rng + ?Sized>(space: &SearchSpace, rng: &mut R) -> Self {
        let n = rng.random_range(space.min_blocks.max(1)..=space.max_blocks.max(1));
        NetGenome {
            blocks: (0..n).map(|_| random_block(space, rng)).collect(),
            dense_units: *space.dense_units.choose(rng).unwrap_or(&0),
        }
    }

    /// Decodes to an architecture for `input` (`[T, C]` or `[H, W, C]`) and `classes`.
    ///
    /// Blocks (all convolutions `Same`-padded, so shapes always fit):
    /// - `Conv`: `Conv(c, k, s) → ReLU`
    /// - `Separable`: `DepthwiseConv(k, s) → ReLU → Conv(c, 1) → ReLU`
    /// - `Residual`: `Conv(c, k, s) → ReLU → Conv(c, k) → Add(from: the first ReLU) → ReLU`
    ///
    /// then `MaxPool/AvgPool(2)` if chosen. A stride `s > 1` is applied only if every
    /// spatial axis is at least `MIN_SPATIAL × s` long, a pool only if every axis is at
    /// least `2 × MIN_SPATIAL`. Head: `GlobalAvgPool → [Dense(u) → ReLU] → Dense(classes)`.
    pub fn decode(&self, input: &[usize], classes: usize) -> Arch {
        self.decode_with_starts(input, classes).0
    }

    /// Layer index where each block starts in [`NetGenome::decode`]'s network, then
    /// the index of the head's first layer (`GlobalAvgPool`): `blocks.len() + 1`
    /// entries, non-decreasing.
    pub fn block_starts(&self, input: &[usize], classes: usize) -> Vec<usize> {
        self.decode_with_starts(input, classes).1
    }

    fn decode_with_starts(&self, input: &[usize], classes: usize) -> (Arch, Vec<usize>) {
        let rank = input.len();
        let mut starts = Vec::with_capacity(self.blocks.len() + 1);
        let mut spatial: Vec<usize> = input[..rank.saturating_sub(1)].to_vec();
        let mut layers = Vec::with_capacity(self.blocks.len() * 6 + 4);
        let min_len = |s: &[usize]| s.iter().copied().min().unwrap_or(0);
        for b in &self.blocks {
            starts.push(layers.len());
            let stride = if b.stride > 1 && min_len(&spatial) >= MIN_SPATIAL * b.stride {
                b.stride
            } else {
                1
            };
            match b.kind {
                BlockKind::Conv => {
                    layers.push(conv(rank, b.channels, b.kernel, stride));
                    layers.push(Layer::ReLU);
                }
                BlockKind::Separable => {
                    layers.push(depthwise(rank, b.kernel, stride));
                    layers.push(Layer::ReLU);
                    layers.push(conv(rank, b.channels, 1, 1));
                    layers.push(Layer::ReLU);
                }
                BlockKind::Residual => {
                    layers.push(conv(rank, b.channels, b.kernel, stride));
                    layers.push(Layer::ReLU);
                    let from = layers.len() - 1;
                    layers.push(conv(rank, b.channels, b.kernel, 1));
                    layers.push(Layer::Add { from });
                    layers.push(Layer::ReLU);
                }
            }
            for s in &mut spatial {
                *s = s.div_ceil(stride);
            }
            if min_len(&spatial) >= 2 * MIN_SPATIAL {
                if let Some(p) = pool(rank, b.pool) {
                    layers.push(p);
                    for s in &mut spatial {
                        *s /= 2;
                    }
                }
            }
        }
        starts.push(layers.len());
        layers.push(Layer::GlobalAvgPool);
        if self.dense_units > 0 {
            layers.push(Layer::Dense {
                units: self.dense_units,
                bias: true,
            });
            layers.push(Layer::ReLU);
        }
        layers.push(Layer::Dense {
            units: classes,
            bias: true,
        });
        (
            Arch {
                input: input.to_vec(),
                layers,
            },
            starts,
        )
    }

    /// The genome whose [`NetGenome::decode`] is `arch` (and the number of classes of
    /// its head), if `arch` is built from this space's blocks: `Conv`, `Separable` and
    /// `Residual` blocks with `Same` padding, each optionally followed by a 2-wide
    /// pool, then `GlobalAvgPool → [Dense(u) → ReLU] → Dense(classes)`. `None` for any
    /// other network. Used to warm-start a search from existing networks.
    pub fn from_arch(arch: &Arch) -> Option<(NetGenome, usize)> {
        let l = &arch.layers;
        let conv = |i: usize| -> Option<(usize, usize, usize)> {
            match l.get(i)? {
                Layer::Conv1d {
                    filters,
                    kernel,
                    stride,
                    padding: Padding::Same,
                    dilation: 1,
                    bias: true,
                } => Some((*filters, *kernel, *stride)),
                Layer::Conv2d {
                    filters,
                    kernel,
                    stride,
                    padding: Padding::Same,
                    dilation: 1,
                    bias: true,
                } if kernel.h == kernel.w && stride.h == stride.w => {
                    Some((*filters, kernel.h, stride.h))
                }
                _ => None,
            }
        };
        let depthwise = |i: usize| -> Option<(usize, usize)> {
            match l.get(i)? {
                Layer::DepthwiseConv1d {
                    kernel,
                    stride,
                    padding: Padding::Same,
                    dilation: 1,
                    bias: true,
                } => Some((*kernel, *stride)),
                Layer::DepthwiseConv2d {
                    kernel,
                    stride,
                    padding: Padding::Same,
                    dilation: 1,
                    bias: true,
                } if kernel.h == kernel.w && stride.h == stride.w => Some((kernel.h, stride.h)),
                _ => None,
            }
        };
        let is = |i: usize, want: &Layer| l.get(i) == Some(want);
        let mut blocks = Vec::new();
        let mut i = 0;
        while !is(i, &Layer::GlobalAvgPool) {
            let (kind, channels, kernel, stride, next) = if let Some((c, k, s)) = conv(i) {
                let residual = is(i + 1, &Layer::ReLU)
                    && conv(i + 2) == Some((c, k, 1))
                    && is(i + 3, &Layer::Add { from: i + 1 })
                    && is(i + 4, &Layer::ReLU);
                if residual {
                    (BlockKind::Residual, c, k, s, i + 5)
                } else if is(i + 1, &Layer::ReLU) {
                    (BlockKind::Conv, c, k, s, i + 2)
                } else {
                    return None;
                }
            } else {
                let (k, s) = depthwise(i)?;
                let (c, one, one_s) = conv(i + 2)?;
                if !(is(i + 1, &Layer::ReLU) && one == 1 && one_s == 1 && is(i + 3, &Layer::ReLU)) {
                    return None;
                }
                (BlockKind::Separable, c, k, s, i + 4)
            };
            i = next;
            let pool = match l.get(i) {
                Some(
                    Layer::MaxPool1d {
                        size: 2,
                        stride: None,
                        padding: Padding::Valid,
                    }
                    | Layer::MaxPool2d {
                        size: 2,
                        stride: None,
                        padding: Padding::Valid,
                    },
                ) => PoolKind::Max,
                Some(
                    Layer::AvgPool1d {
                        size: 2,
                        stride: None,
                        padding: Padding::Valid,
                    }
                    | Layer::AvgPool2d {
                        size: 2,
                        stride: None,
                        padding: Padding::Valid,
                    },
                ) => PoolKind::Avg,
                _ => PoolKind::None,
            };
            if pool != PoolKind::None {
                i += 1;
            }
            blocks.push(BlockGene {
                kind,
                channels,
                kernel,
                stride,
                pool,
            });
        }
        let (dense_units, classes) = match &l[i + 1..] {
            [Layer::Dense {
                units: k,
                bias: true,
            }] => (0, *k),
            [Layer::Dense {
                units: u,
                bias: true,
            }, Layer::ReLU, Layer::Dense {
                units: k,
                bias: true,
            }] => (*u, *k),
            _ => return None,
        };
        let g = NetGenome {
            blocks,
            dense_units,
        };
        (!g.blocks.is_empty() && g.decode(&arch.input, classes) == *arch).then_some((g, classes))
    }

    /// `true` when every gene is one of the space's choices and the block count is in
    /// bounds.
    pub fn is_within(&self, space: &SearchSpace) -> bool {
        (space.min_blocks.max(1)..=space.max_blocks).contains(&self.blocks.len())
            && space.dense_units.contains(&self.dense_units)
            && self.blocks.iter().all(|b| {
                space.block_kinds.contains(&b.kind)
                    && space.channels.contains(&b.channels)
                    && space.kernels.contains(&b.kernel)
                    && space.strides.contains(&b.stride)
                    && space.pooling.contains(&b.pool)
            })
    }

    /// Changes one gene (add/remove a block, or one block's kind, channels, kernel,
    /// stride or pooling, or the dense head), staying within the space. Returns what
    /// changed, so cut points can follow the blocks they sit in.
    pub fn mutate<R: Rng + ?Sized>(&mut self, space: &SearchSpace, rng: &mut R) -> NetChange {
        let n = self.blocks.len();
        match rng.random_range(0..8u32) {
            0 if n < space.max_blocks => {
                let at = rng.random_range(0..=n);
                self.blocks.insert(at, random_block(space, rng));
                NetChange::Inserted(at)
            }
            1 if n > space.min_blocks.max(1) => {
                let at = rng.random_range(0..n);
                self.blocks.remove(at);
                NetChange::Removed(at)
            }
            7 => {
                self.dense_units = *space.dense_units.choose(rng).unwrap_or(&0);
                NetChange::Head
            }
            op => {
                if n == 0 {
                    return NetChange::Head;
                }
                let i = rng.random_range(0..n);
                let b = &mut self.blocks[i];
                match op % 5 {
                    0 => b.channels = *space.channels.choose(rng).unwrap_or(&b.channels),
                    1 => b.kernel = *space.kernels.choose(rng).unwrap_or(&b.kernel),
                    2 => b.stride = *space.strides.choose(rng).unwrap_or(&b.stride),
                    3 => b.pool = *space.pooling.choose(rng).unwrap_or(&b.pool),
                    _ => b.kind = *space.block_kinds.choose(rng).unwrap_or(&b.kind),
                }
                NetChange::Block(i)
            }
        }
    }

    /// One-point crossover: `a`'s first blocks then `b`'s last blocks, brought back into
    /// the block-count bounds (truncated, or completed with `a`'s remaining blocks).
    pub fn crossover<R: Rng + ?Sized>(
        a: &Self,
        b: &Self,
        space: &SearchSpace,
        rng: &mut R,
    ) -> Self {
        Self::crossover_traced(a, b, space, rng).0
    }

    /// [`NetGenome::crossover`], also returning where each child block comes from:
    /// `(false, i)` for `a.blocks[i]`, `(true, j)` for `b.blocks[j]`.
    pub fn crossover_traced<R: Rng + ?Sized>(
        a: &Self,
        b: &Self,
        space: &SearchSpace,
        rng: &mut R,
    ) -> (Self, Vec<(bool, usize)>) {
        let i = rng.random_range(0..=a.blocks.len());
        let j = rng.random_range(0..=b.blocks.len());
        let mut origin: Vec<(bool, usize)> = (0..i).map(|k| (false, k)).collect();
        origin.extend((j..b.blocks.len()).map(|k| (true, k)));
        let mut k = i;
        while origin.len() < space.min_blocks.max(1) && k < a.blocks.len() {
            origin.push((false, k));
            k += 1;
        }
        origin.truncate(space.max_blocks);
        let blocks = origin
            .iter()
            .map(|&(from_b, k)| if from_b { b.blocks[k] } else { a.blocks[k] })
            .collect();
        let dense_units = if rng.random_bool(0.5) {
            a.dense_units
        } else {
            b.dense_units
        };
        (
            NetGenome {
                blocks,
                dense_units,
            },
            origin,
        )
    }
}

/// What [`NetGenome::mutate`] changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetChange {
    /// A block was inserted at this index.
    Inserted(usize),
    /// The block at this index was removed.
    Removed(usize),
    /// One gene of the block at this index changed.
    Block(usize),
    /// The dense head changed (or nothing could change).
    Head,
}

impl NetChange {
    /// Where old block `b` is after the change (`head_old`/`head_new`: the head's block
    /// index before/after); `None` for the removed block.
    pub fn follow(self, b: usize, head_old: usize, head_new: usize) -> Option<usize> {
        if b == head_old {
            return Some(head_new);
        }
        match self {
            NetChange::Inserted(at) if b >= at => Some(b + 1),
            NetChange::Removed(at) if b == at => None,
            NetChange::Removed(at) if b > at => Some(b - 1),
            _ => Some(b),
        }
    }
}

/// Moves layer-index cuts from one decoded network to another, block by block: a cut
/// `o` layers into old block `b` (the head is block `old_starts.len() - 1`) goes `o`
/// layers into new block `to(b)` (clamped to that block's layers; `None`: the block is
/// gone, the cut goes to the start of new block `gone`).
fn relocate(
    cuts: &[usize],
    old_starts: &[usize],
    new_starts: &[usize],
    new_layers: usize,
    to: impl Fn(usize) -> Option<usize>,
    gone: usize,
) -> Vec<usize> {
    let new_head = new_starts.len() - 1;
    cuts.iter()
        .map(|&c| {
            let b = old_starts.partition_point(|&s| s <= c).saturating_sub(1);
            let offset = c - old_starts[b].min(c);
            let (nb, offset) = match to(b) {
                Some(nb) => (nb.min(new_head), offset),
                None => (gone.min(new_head), 0),
            };
            let end = new_starts.get(nb + 1).copied().unwrap_or(new_layers);
            let len = end.saturating_sub(new_starts[nb]).max(1);
            new_starts[nb] + offset.min(len - 1)
        })
        .collect()
}

/// Cut points that split layers of flash `flash[0..L]` into `caps.len()` consecutive,
/// non-empty partitions minimising the largest `partition flash / caps[i]`; returns
/// that ratio and the cuts (layer indices in `1..L`). `None` when there are more
/// partitions than layers. Exact dynamic programme, O(partitions × L²).
pub fn balanced_cuts(flash: &[u64], caps: &[u64]) -> Option<(f64, Vec<usize>)> {
    let (l, p) = (flash.len(), caps.len());
    if p == 0 || p > l {
        return None;
    }
    let mut prefix = vec![0u64; l + 1];
    for (i, f) in flash.iter().enumerate() {
        prefix[i + 1] = prefix[i] + f;
    }
    let ratio = |a: usize, b: usize, cap: u64| (prefix[b] - prefix[a]) as f64 / cap as f64;
    // best[i][j]: the first i + 1 partitions cover layers 0..j; from[i][j]: where the
    // last of them starts.
    let mut best = vec![vec![f64::INFINITY; l + 1]; p];
    let mut from = vec![vec![0usize; l + 1]; p];
    for (j, b) in best[0].iter_mut().enumerate().skip(1) {
        *b = ratio(0, j, caps[0]);
    }
    for i in 1..p {
        for j in i + 1..=l {
            for k in i..j {
                let v = best[i - 1][k].max(ratio(k, j, caps[i]));
                if v < best[i][j] {
                    best[i][j] = v;
                    from[i][j] = k;
                }
            }
        }
    }
    let mut cuts = vec![0; p - 1];
    let mut j = l;
    for i in (1..p).rev() {
        j = from[i][j];
        cuts[i - 1] = j;
    }
    Some((best[p - 1][l], cuts))
}

/// A full candidate genome: network, cut points (layer indices of the decoded network),
/// the device index of every partition and, when the space allows standbys
/// (`space.standby`), each partition's standby device.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CandidateGenome {
    pub net: NetGenome,
    /// Strictly increasing layer indices in `1..L` of the decoded network.
    pub cuts: Vec<usize>,
    /// Device index of each partition (`cuts.len() + 1` entries).
    pub map: Vec<usize>,
    /// Standby device index of each partition: empty (no standby anywhere, the only
    /// form without `space.standby`), else `map.len()` entries, none of them the
    /// partition's own device. Not serialised when empty, so genome keys of spaces
    /// without standbys are those of earlier versions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub standby: Vec<Option<usize>>,
}

/// Probability that a mutation changes a standby (when the space allows them).
const STANDBY_MUTATION: f64 = 0.2;
/// Probability that a random partition gets a standby (when the space allows them).
const STANDBY_RANDOM: f64 = 0.25;

fn pick_device<R: Rng + ?Sized>(ctx: &SpaceContext, near: Option<usize>, rng: &mut R) -> usize {
    if let Some(d) = near {
        if let Some(&n) = ctx.adjacency.get(d).and_then(|a| a.choose(rng)) {
            if rng.random_bool(0.75) {
                return n;
            }
        }
    }
    rng.random_range(0..ctx.devices.len())
}

/// A device for a new partition after one on `prev`: an unused neighbour of `prev`, else
/// any unused device, else any device other than `prev` (or `prev` when it is the only
/// one).
fn pick_new_device<R: Rng + ?Sized>(
    ctx: &SpaceContext,
    prev: usize,
    used: &[usize],
    rng: &mut R,
) -> usize {
    let n = ctx.devices.len();
    let fresh: Vec<usize> = ctx.adjacency[prev]
        .iter()
        .copied()
        .filter(|d| !used.contains(d))
        .collect();
    if let Some(&d) = fresh.choose(rng) {
        return d;
    }
    let unused: Vec<usize> = (0..n).filter(|d| !used.contains(d)).collect();
    if let Some(&d) = unused.choose(rng) {
        return d;
    }
    let other: Vec<usize> = (0..n).filter(|&d| d != prev).collect();
    other.choose(rng).copied().unwrap_or(prev)
}

/// A standby for a partition on `primary`: a topology neighbour of it (3 times in 4,
/// when it has one), else any other device. Needs at least two devices.
fn pick_standby<R: Rng + ?Sized>(ctx: &SpaceContext, primary: usize, rng: &mut R) -> usize {
    let d = pick_device(ctx, Some(primary), rng);
    if d != primary {
        return d;
    }
    let n = ctx.devices.len();
    (primary + rng.random_range(1..n)) % n
}

impl CandidateGenome {
    /// A random candidate: random network, `0..=min(max_cuts, L - 1)` distinct random
    /// cuts, partition 0 on a random device and each next partition preferably on a
    /// neighbour of the previous one; then made canonical (see [`Self::repair`]). When
    /// the context has flash budgets, half of the random candidates get their cuts from
    /// [`Self::balance`] instead.
    pub fn random<R: Rng + ?Sized>(ctx: &SpaceContext, rng: &mut R) -> Self {
        let net = NetGenome::random(&ctx.space, rng);
        let layers = net.decode(&ctx.input, ctx.classes).layers.len();
        let k = rng.random_range(0..=ctx.space.max_cuts.min(layers - 1));
        let mut cuts = rand::seq::index::sample(rng, layers - 1, k)
            .into_iter()
            .map(|c| c + 1)
            .collect::<Vec<_>>();
        cuts.sort_unstable();
        let mut map = Vec::with_capacity(k + 1);
        for p in 0..=k {
            let near = if p == 0 { None } else { Some(map[p - 1]) };
            map.push(pick_device(ctx, near, rng));
        }
        let mut g = CandidateGenome {
            net,
            cuts,
            map,
            standby: Vec::new(),
        };
        g.repair(ctx);
        // Half the time, when devices have flash budgets, the cuts are placed so that
        // the network fits them instead (a random network too large for one device
        // then starts out split across the devices it needs).
        if ctx.flash.is_some() && ctx.space.max_cuts > 0 && rng.random_bool(0.5) {
            g.balance(ctx, rng);
        }
        if ctx.space.standby && ctx.devices.len() > 1 {
            g.standby = (0..g.map.len())
                .map(|p| {
                    rng.random_bool(STANDBY_RANDOM)
                        .then(|| pick_standby(ctx, g.map[p], rng))
                })
                .collect();
            g.repair(ctx);
        }
        g
    }

    /// Number of layers of the decoded network.
    pub fn layers(&self, ctx: &SpaceContext) -> usize {
        self.net.decode(&ctx.input, ctx.classes).layers.len()
    }

    /// The decoded network.
    pub fn arch(&self, ctx: &SpaceContext) -> Arch {
        self.net.decode(&ctx.input, ctx.classes)
    }

    /// The candidate (arch, cuts, device ids, standby ids).
    pub fn to_candidate(&self, ctx: &SpaceContext) -> Candidate {
        let id = |d: usize| ctx.devices[d.min(ctx.devices.len() - 1)].clone();
        Candidate {
            arch: self.arch(ctx),
            cuts: self.cuts.clone(),
            map: self.map.iter().map(|&d| id(d)).collect(),
            standby: self.standby.iter().map(|s| s.map(id)).collect(),
        }
    }

    /// Brings cuts and map back to validity after the network changed: each cut is
    /// kept with the device of the partition it opens; cuts outside `1..L` are dropped,
    /// duplicates merged (first device kept), at most `max_cuts` kept; a missing map
    /// entry repeats the previous device; out-of-range device indices wrap. Finally the
    /// genome is made canonical: a cut whose two partitions run on the same device is
    /// removed (the partitions merge), so no two consecutive map entries are equal.
    /// Each standby stays with its partition (a merged partition keeps the first one's);
    /// a standby on the partition's own device is dropped, and so are all standbys when
    /// the space has none or no partition keeps one. Never panics.
    pub fn repair(&mut self, ctx: &SpaceContext) {
        let layers = self.layers(ctx);
        let nd = ctx.devices.len();
        let standby = |i: usize| self.standby.get(i).copied().flatten().map(|d| d % nd);
        let first = self.map.first().copied().unwrap_or(0) % nd;
        let mut last = first;
        let mut parts: Vec<(usize, usize, Option<usize>)> = Vec::with_capacity(self.cuts.len());
        for (i, &c) in self.cuts.iter().enumerate() {
            let d = self.map.get(i + 1).map(|d| d % nd).unwrap_or(last);
            last = d;
            parts.push((c, d, standby(i + 1)));
        }
        parts.retain(|&(c, _, _)| c >= 1 && c < layers);
        parts.sort_by_key(|p| p.0);
        parts.dedup_by_key(|p| p.0);
        parts.truncate(ctx.space.max_cuts);
        // Canonical form: a cut between two partitions on one device is no cut.
        let mut prev = first;
        parts.retain(|&(_, d, _)| std::mem::replace(&mut prev, d) != d);
        let first_standby = standby(0);
        self.cuts = parts.iter().map(|p| p.0).collect();
        self.map = std::iter::once(first)
            .chain(parts.iter().map(|p| p.1))
            .collect();
        self.standby = if ctx.space.standby {
            std::iter::once(first_standby)
                .chain(parts.iter().map(|p| p.2))
                .zip(&self.map)
                .map(|(s, &d)| s.filter(|&s| s != d))
                .collect()
        } else {
            Vec::new()
        };
        if self.standby.iter().all(Option::is_none) {
            self.standby.clear();
        }
    }

    /// `true` when the network is within the space and cuts/map are valid for it and
    /// canonical (no two consecutive partitions on one device).
    pub fn is_valid(&self, ctx: &SpaceContext) -> bool {
        let layers = self.layers(ctx);
        self.net.is_within(&ctx.space)
            && self.cuts.len() <= ctx.space.max_cuts
            && self.cuts.windows(2).all(|w| w[0] < w[1])
            && self.cuts.iter().all(|&c| c >= 1 && c < layers)
            && self.map.len() == self.cuts.len() + 1
            && self.map.iter().all(|&d| d < ctx.devices.len())
            && self.map.windows(2).all(|w| w[0] != w[1])
            && (self.standby.is_empty()
                || (ctx.space.standby
                    && self.standby.len() == self.map.len()
                    && self.standby.iter().any(Option::is_some)
                    && self
                        .standby
                        .iter()
                        .zip(&self.map)
                        .all(|(s, &d)| s.is_none_or(|s| s != d && s < ctx.devices.len()))))
    }

    /// One random change: half the time the network (see [`NetGenome::mutate`]; cuts
    /// follow the blocks they sit in), else (1/10 each) move, add or remove a cut, remap
    /// a partition (to a topology neighbour of its device with probability 3/4), or
    /// re-place the cuts to balance flash ([`Self::balance`]; a remap when the
    /// context has no flash budgets). When the space allows standbys, one mutation in
    /// five instead gives a partition a standby, moves it or removes it. Always leaves
    /// a valid genome.
    pub fn mutate<R: Rng + ?Sized>(&mut self, ctx: &SpaceContext, rng: &mut R) {
        if ctx.space.standby && ctx.devices.len() > 1 && rng.random_bool(STANDBY_MUTATION) {
            self.standby.resize(self.map.len(), None);
            let p = rng.random_range(0..self.map.len());
            self.standby[p] = match self.standby[p] {
                Some(_) if rng.random_bool(0.5) => None,
                _ => Some(pick_standby(ctx, self.map[p], rng)),
            };
            return self.repair(ctx);
        }
        let layers = self.layers(ctx);
        match rng.random_range(0..10u32) {
            9 if ctx.flash.is_some() && ctx.space.max_cuts > 0 => self.balance(ctx, rng),
            0..=4 => {
                let old = self.net.block_starts(&ctx.input, ctx.classes);
                let change = self.net.mutate(&ctx.space, rng);
                let (arch, new) = self.net.decode_with_starts(&ctx.input, ctx.classes);
                let (head_old, head_new) = (old.len() - 1, new.len() - 1);
                let to = |b: usize| change.follow(b, head_old, head_new);
                let gone = match change {
                    NetChange::Removed(at) => at,
                    _ => 0,
                };
                self.cuts = relocate(&self.cuts, &old, &new, arch.layers.len(), to, gone);
            }
            5 if !self.cuts.is_empty() => {
                let i = rng.random_range(0..self.cuts.len());
                let lo = if i == 0 { 1 } else { self.cuts[i - 1] + 1 };
                let hi = self.cuts.get(i + 1).copied().unwrap_or(layers);
                if lo < hi {
                    self.cuts[i] = rng.random_range(lo..hi);
                }
            }
            6 if self.cuts.len() < ctx.space.max_cuts && self.cuts.len() + 1 < layers => {
                let free: Vec<usize> = (1..layers).filter(|c| !self.cuts.contains(c)).collect();
                if let Some(&c) = free.choose(rng) {
                    let at = self.cuts.partition_point(|&x| x < c);
                    self.cuts.insert(at, c);
                    // The new partition goes to another device than the one it is
                    // cut from (on the same device the cut would merge away).
                    let near = self.map[at];
                    let mut d = pick_device(ctx, Some(near), rng);
                    if d == near && ctx.devices.len() > 1 {
                        d = (near + rng.random_range(1..ctx.devices.len())) % ctx.devices.len();
                    }
                    self.map.insert(at + 1, d);
                    if !self.standby.is_empty() {
                        self.standby.insert(at + 1, None);
                    }
                }
            }
            7 if !self.cuts.is_empty() => {
                let i = rng.random_range(0..self.cuts.len());
                self.cuts.remove(i);
                self.map.remove(i + 1);
                if i + 1 < self.standby.len() {
                    self.standby.remove(i + 1);
                }
            }
            _ => {
                let p = rng.random_range(0..self.map.len());
                self.map[p] = pick_device(ctx, Some(self.map[p]), rng);
            }
        }
        self.repair(ctx);
    }

    /// Re-places the cuts so that the network's flash fits the devices: for 1, 2, ...
    /// up to `max_cuts + 1` partitions (the current devices first, then new ones, each
    /// preferably an unused topology neighbour of the previous partition's device), the
    /// cuts that minimise the largest flash / budget ratio ([`balanced_cuts`]); the
    /// fewest partitions that fit are kept, or the best ratio when none fits. No-op
    /// without flash budgets in the context.
    pub fn balance<R: Rng + ?Sized>(&mut self, ctx: &SpaceContext, rng: &mut R) {
        let Some((budgets, dtype)) = &ctx.flash else {
            return;
        };
        let Ok(costs) = crate::arch::cost::layer_costs(&self.arch(ctx), *dtype) else {
            return;
        };
        let flash: Vec<u64> = costs.iter().map(|c| c.flash_bytes).collect();
        let mut map = self.map.clone();
        let mut best: Option<(f64, Vec<usize>, usize)> = None;
        for p in 1..=(ctx.space.max_cuts + 1).min(flash.len()) {
            if map.len() < p {
                let prev = map[p - 2];
                map.push(pick_new_device(ctx, prev, &map, rng));
            }
            let caps: Vec<u64> = map[..p].iter().map(|&d| budgets[d]).collect();
            if let Some((ratio, cuts)) = balanced_cuts(&flash, &caps) {
                if best.as_ref().is_none_or(|b| ratio < b.0) {
                    best = Some((ratio, cuts, p));
                }
                if ratio <= 1.0 {
                    break;
                }
            }
        }
        if let Some((_, cuts, p)) = best {
            self.cuts = cuts;
            map.truncate(p);
            self.map = map;
        }
    }

    /// Crossover: network by [`NetGenome::crossover`]; the cuts of one parent (chosen
    /// at random), each moved to the child block that came from the block it sat in
    /// (or the block at the same position when that block was not inherited); each
    /// partition's device, with its standby, from either parent where it has one; then
    /// repaired.
    pub fn crossover<R: Rng + ?Sized>(a: &Self, b: &Self, ctx: &SpaceContext, rng: &mut R) -> Self {
        let (net, origin) = NetGenome::crossover_traced(&a.net, &b.net, &ctx.space, rng);
        let from_b = rng.random_bool(0.5);
        let (first, second) = if from_b { (b, a) } else { (a, b) };
        let old = first.net.block_starts(&ctx.input, ctx.classes);
        let (arch, new) = net.decode_with_starts(&ctx.input, ctx.classes);
        let (head_old, head_new) = (old.len() - 1, new.len() - 1);
        let to = |k: usize| {
            if k == head_old {
                return Some(head_new);
            }
            Some(
                origin
                    .iter()
                    .position(|&o| o == (from_b, k))
                    .unwrap_or(k.min(head_new)),
            )
        };
        let cuts = relocate(&first.cuts, &old, &new, arch.layers.len(), to, 0);
        let standby_of = |g: &Self, p: usize| g.standby.get(p).copied().flatten();
        let (map, standby): (Vec<usize>, Vec<Option<usize>>) = (0..first.map.len())
            .map(|p| match second.map.get(p) {
                Some(&d) if rng.random_bool(0.5) => (d, standby_of(second, p)),
                _ => (first.map[p], standby_of(first, p)),
            })
            .unzip();
        let mut child = CandidateGenome {
            net,
            cuts,
            map,
            standby,
        };
        child.repair(ctx);
        child
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn ctx(input: Shape) -> SpaceContext {
        SpaceContext::new(
            SearchSpace::default(),
            input,
            4,
            vec!["a".into(), "b".into(), "c".into()],
            vec![vec![1], vec![0, 2], vec![1]],
        )
        .unwrap()
    }

    #[test]
    fn residual_block_decodes_with_add() {
        let g = NetGenome {
            blocks: vec![BlockGene {
                kind: BlockKind::Residual,
                channels: 8,
                kernel: 3,
                stride: 2,
                pool: PoolKind::Max,
            }],
            dense_units: 0,
        };
        let a = g.decode(&[100, 6], 4);
        assert_eq!(a.layers[3], Layer::Add { from: 1 });
        let s = a.shapes().unwrap();
        assert_eq!(s[4], vec![50, 8]);
        assert_eq!(s[5], vec![25, 8]);
        assert_eq!(s.last().unwrap(), &vec![4]);
        // too short for stride and pool: both skipped
        let t = g.decode(&[3, 2], 4);
        assert_eq!(t.shapes().unwrap()[0], vec![3, 8]);
        assert_eq!(t.layers.len(), 7);
    }

    fn conv(channels: usize, kind: BlockKind) -> BlockGene {
        BlockGene {
            kind,
            channels,
            kernel: 3,
            stride: 1,
            pool: PoolKind::None,
        }
    }

    #[test]
    fn cuts_follow_their_blocks() {
        let one = NetGenome {
            blocks: vec![conv(8, BlockKind::Conv), conv(16, BlockKind::Conv)],
            dense_units: 0,
        };
        // Conv ReLU | Conv ReLU | GlobalAvgPool Dense
        let old = one.block_starts(&[100, 6], 4);
        assert_eq!(old, vec![0, 2, 4]);
        let mut two = one.clone();
        two.blocks.insert(0, conv(8, BlockKind::Residual));
        let new = two.block_starts(&[100, 6], 4);
        assert_eq!(new, vec![0, 5, 7, 9]);
        let ins = NetChange::Inserted(0);
        // Cut before block 1, inside block 1, before the head, inside the head.
        let moved = relocate(&[2, 3, 4, 5], &old, &new, 11, |b| ins.follow(b, 2, 3), 0);
        assert_eq!(moved, vec![7, 8, 9, 10]);
        // Removing block 0 of `two` brings them back; a cut inside the removed block
        // goes to the start of the block that followed.
        let rem = NetChange::Removed(0);
        let back = relocate(&[3, 7, 8, 9, 10], &new, &old, 6, |b| rem.follow(b, 3, 2), 0);
        assert_eq!(back, vec![0, 2, 3, 4, 5]);
        // Through `mutate`: whatever changes, a cut right before the head stays there.
        let cx = ctx(vec![100, 6]);
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for _ in 0..300 {
            let mut g = CandidateGenome::random(&cx, &mut rng);
            let head = *g.net.block_starts(&cx.input, cx.classes).last().unwrap();
            g.cuts = vec![head];
            g.map = vec![0, 2];
            let before = g.net.clone();
            g.mutate(&cx, &mut rng);
            if g.net != before {
                let head = *g.net.block_starts(&cx.input, cx.classes).last().unwrap();
                assert_eq!(g.cuts, vec![head], "{before:?} -> {g:?}");
                assert_eq!(g.map, vec![0, 2]);
            }
        }
    }

    #[test]
    fn repair_keeps_each_cut_with_its_device() {
        let cx = ctx(vec![100, 6]);
        let mut g = CandidateGenome {
            net: NetGenome {
                blocks: vec![conv(8, BlockKind::Conv)],
                dense_units: 0,
            },
            cuts: vec![9, 3, 1, 3],
            map: vec![4, 1, 2, 0],
            standby: Vec::new(),
        };
        g.repair(&cx);
        // 4 layers: cut 9 dropped, the second 3 merged; device 4 wraps to 1; the
        // missing fifth entry would have repeated the last device.
        assert_eq!(g.cuts, vec![1, 3]);
        assert_eq!(g.map, vec![1, 0, 2]);
        assert!(g.is_valid(&cx));
    }

    #[test]
    fn from_arch_inverts_decode() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        for input in [vec![100, 6], vec![8, 8, 1], vec![28, 28, 1], vec![3, 2]] {
            let space = SearchSpace {
                pooling: vec![PoolKind::None, PoolKind::Max, PoolKind::Avg],
                ..SearchSpace::default()
            };
            for _ in 0..300 {
                let g = NetGenome::random(&space, &mut rng);
                let arch = g.decode(&input, 7);
                let (h, classes) = NetGenome::from_arch(&arch).expect("decodable");
                assert_eq!(classes, 7);
                // A stride or pool that the input is too short for decodes away; the
                // recovered genome decodes to the same network either way.
                assert_eq!(h.decode(&input, 7), arch);
                assert_eq!(h.blocks.len(), g.blocks.len());
            }
        }
        // Not from this space: a Valid-padded convolution, a Flatten head.
        let other = Arch::from_ron(
            "Arch(input: [40, 1], layers: [Conv1d(filters: 8, kernel: 3), ReLU, \
             GlobalAvgPool, Dense(units: 10)])",
        )
        .unwrap();
        assert_eq!(NetGenome::from_arch(&other), None);
        let flat = Arch::from_ron(
            "Arch(input: [40, 1], layers: [Conv1d(filters: 8, kernel: 3, padding: Same), \
             ReLU, Flatten, Dense(units: 10)])",
        )
        .unwrap();
        assert_eq!(NetGenome::from_arch(&flat), None);
    }

    #[test]
    fn same_device_cuts_merge() {
        let cx = ctx(vec![100, 6]);
        let net = NetGenome {
            blocks: vec![conv(8, BlockKind::Conv), conv(8, BlockKind::Conv)],
            dense_units: 0,
        };
        // 6 layers; a→a→b: the first cut goes, a→b→b: the second goes; a→a→a: none left.
        for (map, cuts, want_cuts, want_map) in [
            (vec![0, 0, 1], vec![1, 3], vec![3], vec![0, 1]),
            (vec![0, 1, 1], vec![1, 3], vec![1], vec![0, 1]),
            (vec![2, 2, 2], vec![1, 3], vec![], vec![2]),
            (vec![0, 1, 0], vec![1, 3], vec![1, 3], vec![0, 1, 0]),
        ] {
            let mut g = CandidateGenome {
                net: net.clone(),
                cuts,
                map,
                standby: Vec::new(),
            };
            g.repair(&cx);
            assert_eq!((g.cuts.clone(), g.map.clone()), (want_cuts, want_map));
            assert!(g.is_valid(&cx));
        }
        // `is_valid` rejects a non-canonical genome.
        let g = CandidateGenome {
            net,
            cuts: vec![2],
            map: vec![1, 1],
            standby: Vec::new(),
        };
        assert!(!g.is_valid(&cx));
    }

    #[test]
    fn balanced_cuts_by_hand_and_by_enumeration() {
        // [4, 1, 1, 4] in two budgets of 5: 4+1 | 1+4.
        assert_eq!(balanced_cuts(&[4, 1, 1, 4], &[5, 5]), Some((1.0, vec![2])));
        // Budgets 10 and 5: 6/10 | 4/5 beats 5/10 | 5/5.
        assert_eq!(balanced_cuts(&[4, 1, 1, 4], &[10, 5]), Some((0.8, vec![3])));
        // Three partitions of 5: 4 | 1+1 | 4.
        assert_eq!(
            balanced_cuts(&[4, 1, 1, 4], &[5, 5, 5]),
            Some((0.8, vec![1, 3]))
        );
        assert_eq!(balanced_cuts(&[4, 1], &[5, 5, 5]), None);
        assert_eq!(balanced_cuts(&[7], &[2]), Some((3.5, vec![])));
        // Against every placement of two cuts on random layer sizes and budgets.
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        for _ in 0..200 {
            let l = rng.random_range(3..12);
            let f: Vec<u64> = (0..l).map(|_| rng.random_range(1..100)).collect();
            let caps: Vec<u64> = (0..3).map(|_| rng.random_range(50..300)).collect();
            let sum = |a: usize, b: usize| f[a..b].iter().sum::<u64>() as f64;
            let mut want = f64::INFINITY;
            for a in 1..l {
                for b in a + 1..l {
                    let r = (sum(0, a) / caps[0] as f64)
                        .max(sum(a, b) / caps[1] as f64)
                        .max(sum(b, l) / caps[2] as f64);
                    want = want.min(r);
                }
            }
            let (got, cuts) = balanced_cuts(&f, &caps).unwrap();
            assert_eq!(got, want, "{f:?} {caps:?}");
            let (a, b) = (cuts[0], cuts[1]);
            assert!(0 < a && a < b && b < l);
            let r = (sum(0, a) / caps[0] as f64)
                .max(sum(a, b) / caps[1] as f64)
                .max(sum(b, l) / caps[2] as f64);
            assert_eq!(r, got);
        }
    }

    #[test]
    fn balance_spreads_a_network_over_the_devices_it_needs() {
        // Four blocks of 16 channels (a 16→16 convolution is 768 weights + 16 int32
        // biases + 2 × 16 × 12 B of quantisation + 64 B = 1,280 B) on devices with 2 KB
        // of flash: two devices cannot hold the ~5 KB, the balance op cuts it so that
        // every partition fits, on three distinct devices.
        let cx = ctx(vec![40, 1]).with_flash_budgets(vec![2048; 3], DType::Int8);
        let mut g = CandidateGenome {
            net: NetGenome {
                blocks: vec![conv(16, BlockKind::Conv); 4],
                dense_units: 0,
            },
            cuts: vec![],
            map: vec![1],
            standby: Vec::new(),
        };
        let arch = g.arch(&cx);
        let costs = crate::arch::cost::layer_costs(&arch, DType::Int8).unwrap();
        let total: u64 = costs.iter().map(|c| c.flash_bytes).sum();
        assert_eq!(costs[2].flash_bytes, 1280);
        assert!(total > 2 * 2048 && total <= 3 * 2048, "{total}");
        g.balance(&cx, &mut ChaCha8Rng::seed_from_u64(1));
        assert!(g.is_valid(&cx), "{g:?}");
        assert_eq!(g.map.len(), 3, "{g:?}");
        let mut distinct = g.map.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), 3);
        assert_eq!(g.map[0], 1, "the first partition keeps its device");
        let ranges = crate::partition::partition_ranges(&g.cuts, costs.len());
        for r in ranges {
            let f: u64 = costs[r].iter().map(|c| c.flash_bytes).sum();
            assert!(f <= 2048, "{f}");
        }
        // A network that fits one device collapses back to one partition.
        let mut small = g.clone();
        small.net.blocks = vec![conv(8, BlockKind::Conv)];
        small.repair(&cx);
        small.balance(&cx, &mut ChaCha8Rng::seed_from_u64(1));
        assert_eq!((small.cuts.len(), small.map.clone()), (0, vec![1]));
    }

    #[test]
    fn single_device_space_never_cuts() {
        let mut cx = ctx(vec![40, 1]);
        cx.space.max_cuts = 0;
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut pop: Vec<CandidateGenome> = (0..10)
            .map(|_| CandidateGenome::random(&cx, &mut rng))
            .collect();
        let mut devices = std::collections::BTreeSet::new();
        for step in 0..300 {
            let i = step % pop.len();
            let j = (step * 3 + 1) % pop.len();
            let mut child = CandidateGenome::crossover(&pop[i], &pop[j], &cx, &mut rng);
            child.mutate(&cx, &mut rng);
            assert!(child.cuts.is_empty() && child.map.len() == 1, "{child:?}");
            devices.insert(child.map[0]);
            pop[i] = child;
        }
        // ... but still explores every device.
        assert_eq!(devices.len(), 3);
    }

    #[test]
    fn random_mutated_crossed_are_valid() {
        for input in [vec![100, 6], vec![8, 8, 1], vec![5, 3]] {
            let cx = ctx(input);
            evolve(&cx, 1, |child| {
                assert!(child.standby.is_empty(), "no standby without space.standby");
                child.to_candidate(&cx).arch.shapes().unwrap();
            });
        }
    }

    /// 500 children of a random population of 20 (crossover, then mutation), each
    /// checked valid and passed to `check`.
    fn evolve(cx: &SpaceContext, seed: u64, mut check: impl FnMut(&CandidateGenome)) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut pop: Vec<CandidateGenome> = (0..20)
            .map(|_| CandidateGenome::random(cx, &mut rng))
            .collect();
        for step in 0..500 {
            let i = step % pop.len();
            let j = (step * 7 + 3) % pop.len();
            let mut child = CandidateGenome::crossover(&pop[i], &pop[j], cx, &mut rng);
            child.mutate(cx, &mut rng);
            assert!(child.is_valid(cx), "{child:?}");
            check(&child);
            pop[i] = child;
        }
    }

    fn standby_ctx() -> SpaceContext {
        let mut cx = ctx(vec![100, 6]);
        cx.space.standby = true;
        cx
    }

    /// With `space.standby`, the operators keep every standby off its partition's own
    /// device and aligned with the partitions, and they do use standbys: after 500
    /// generations of crossover + mutation, some candidates have one and some not,
    /// and every candidate file they make validates against the devices.
    #[test]
    fn standby_operators_keep_genomes_valid() {
        let cx = standby_ctx();
        let net = crate::network::Network::new(
            ["a", "b", "c"]
                .iter()
                .map(|d| crate::network::tests::device(d))
                .collect(),
            vec![],
            vec![],
        );
        let (mut with, mut without) = (0, 0);
        evolve(&cx, 7, |child| {
            child.to_candidate(&cx).validate(&net).unwrap();
            if child.standby.is_empty() {
                without += 1;
            } else {
                with += 1;
            }
        });
        assert!(with > 50 && without > 50, "{with} with, {without} without");
    }

    /// Repair by hand: a standby on its partition's own device is dropped; a standby
    /// stays with its partition when a cut before it goes away (the partitions on
    /// `a` and `a` merge, keeping the first one's standby); a space without standbys
    /// clears them.
    #[test]
    fn repair_keeps_each_standby_with_its_partition() {
        let cx = standby_ctx();
        let net = NetGenome {
            blocks: vec![conv(8, BlockKind::Conv); 3],
            dense_units: 0,
        };
        let mut g = CandidateGenome {
            net: net.clone(),
            cuts: vec![2, 4],
            map: vec![0, 1, 2],
            standby: vec![Some(0), Some(2), Some(0)],
        };
        g.repair(&cx);
        assert_eq!(g.standby, [None, Some(2), Some(0)]);
        // remap partition 1 onto a: it merges with partition 0, which had no standby
        g.map[1] = 0;
        g.repair(&cx);
        assert_eq!(
            (g.cuts.as_slice(), g.map.as_slice()),
            (&[4][..], &[0, 2][..])
        );
        assert_eq!(g.standby, [None, Some(0)]);
        let mut plain = g.clone();
        plain.repair(&ctx(vec![100, 6]));
        assert!(plain.standby.is_empty());
        // a standby only on partition 1 that becomes its own device: none left at all
        g.map[1] = 0;
        g.standby = vec![None, Some(0)];
        g.repair(&cx);
        assert!(g.standby.is_empty(), "{g:?}");
        assert!(g.is_valid(&cx));
    }
}
