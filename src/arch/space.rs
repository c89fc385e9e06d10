//! The network search space: a genome of blocks within [`SearchSpace`] bounds that
//! always decodes to a valid [`Arch`], plus the full candidate genome (network + cuts +
//! device map) with random sampling, mutation and crossover that always yield valid
//! candidates (see `docs/networks.md`, "Search space").
//!
//! ```
//! use distrinas::arch::space::{CandidateGenome, SpaceContext};
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

use super::{Arch, Layer, Padding, Shape};
use crate::network::Network;
use crate::partition::Candidate;
use crate::scenario::{BlockKind, PoolKind, SearchSpace};
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
}

impl SpaceContext {
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
        })
    }

    /// Context whose devices and adjacency come from `network`'s topology.
    pub fn from_network(
        space: SearchSpace,
        input: Shape,
        classes: usize,
        network: &Network,
    ) -> Result<Self, SpaceError> {
        let devices = network.devices.iter().map(|d| d.id.clone()).collect();
        let mut adjacency = vec![Vec::new(); network.devices.len()];
        for l in &network.links {
            adjacency[l.a].push(l.b);
            adjacency[l.b].push(l.a);
        }
        for a in &mut adjacency {
            a.sort_unstable();
            a.dedup();
        }
        Self::new(space, input, classes, devices, adjacency)
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
            kernel,
            stride,
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
            kernel,
            stride,
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
        let rank = input.len();
        let mut spatial: Vec<usize> = input[..rank.saturating_sub(1)].to_vec();
        let mut layers = Vec::with_capacity(self.blocks.len() * 6 + 4);
        let min_len = |s: &[usize]| s.iter().copied().min().unwrap_or(0);
        for b in &self.blocks {
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
        Arch {
            input: input.to_vec(),
            layers,
        }
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
    /// stride or pooling, or the dense head), staying within the space.
    pub fn mutate<R: Rng + ?Sized>(&mut self, space: &SearchSpace, rng: &mut R) {
        let n = self.blocks.len();
        match rng.random_range(0..8u32) {
            0 if n < space.max_blocks => {
                let at = rng.random_range(0..=n);
                self.blocks.insert(at, random_block(space, rng));
            }
            1 if n > space.min_blocks.max(1) => {
                self.blocks.remove(rng.random_range(0..n));
            }
            7 => self.dense_units = *space.dense_units.choose(rng).unwrap_or(&0),
            op => {
                if n == 0 {
                    return;
                }
                let b = &mut self.blocks[rng.random_range(0..n)];
                match op % 5 {
                    0 => b.channels = *space.channels.choose(rng).unwrap_or(&b.channels),
                    1 => b.kernel = *space.kernels.choose(rng).unwrap_or(&b.kernel),
                    2 => b.stride = *space.strides.choose(rng).unwrap_or(&b.stride),
                    3 => b.pool = *space.pooling.choose(rng).unwrap_or(&b.pool),
                    _ => b.kind = *space.block_kinds.choose(rng).unwrap_or(&b.kind),
                }
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
        let i = rng.random_range(0..=a.blocks.len());
        let j = rng.random_range(0..=b.blocks.len());
        let mut blocks: Vec<BlockGene> = a.blocks[..i].to_vec();
        blocks.extend_from_slice(&b.blocks[j..]);
        let mut k = i;
        while blocks.len() < space.min_blocks.max(1) && k < a.blocks.len() {
            blocks.push(a.blocks[k]);
            k += 1;
        }
        blocks.truncate(space.max_blocks);
        NetGenome {
            blocks,
            dense_units: if rng.random_bool(0.5) {
                a.dense_units
            } else {
                b.dense_units
            },
        }
    }
}

/// A full candidate genome: network, cut points (layer indices of the decoded network)
/// and the device index of every partition.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CandidateGenome {
    pub net: NetGenome,
    /// Strictly increasing layer indices in `1..L` of the decoded network.
    pub cuts: Vec<usize>,
    /// Device index of each partition (`cuts.len() + 1` entries).
    pub map: Vec<usize>,
}

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

impl CandidateGenome {
    /// A random candidate: random network, `0..=min(max_cuts, L - 1)` distinct random
    /// cuts, partition 0 on a random device and each next partition preferably on a
    /// neighbour of the previous one.
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
        CandidateGenome { net, cuts, map }
    }

    /// Number of layers of the decoded network.
    pub fn layers(&self, ctx: &SpaceContext) -> usize {
        self.net.decode(&ctx.input, ctx.classes).layers.len()
    }

    /// The decoded network.
    pub fn arch(&self, ctx: &SpaceContext) -> Arch {
        self.net.decode(&ctx.input, ctx.classes)
    }

    /// The candidate (arch, cuts, device ids).
    pub fn to_candidate(&self, ctx: &SpaceContext) -> Candidate {
        Candidate {
            arch: self.arch(ctx),
            cuts: self.cuts.clone(),
            map: self
                .map
                .iter()
                .map(|&d| ctx.devices[d.min(ctx.devices.len() - 1)].clone())
                .collect(),
        }
    }

    /// Brings cuts and map back to validity after the network changed: cuts clamped to
    /// `1..L`, deduplicated, at most `max_cuts`; the map truncated or extended (with the
    /// last device) to one entry per partition; out-of-range device indices wrapped.
    pub fn repair(&mut self, ctx: &SpaceContext) {
        let layers = self.layers(ctx);
        for c in &mut self.cuts {
            *c = (*c).clamp(1, layers.saturating_sub(1).max(1));
        }
        self.cuts.sort_unstable();
        self.cuts.dedup();
        self.cuts.retain(|&c| c >= 1 && c < layers);
        self.cuts.truncate(ctx.space.max_cuts);
        let nd = ctx.devices.len();
        for d in &mut self.map {
            *d %= nd;
        }
        let parts = self.cuts.len() + 1;
        self.map.truncate(parts);
        while self.map.len() < parts {
            let last = self.map.last().copied().unwrap_or(0);
            self.map.push(last);
        }
    }

    /// `true` when the network is within the space and cuts/map are valid for it.
    pub fn is_valid(&self, ctx: &SpaceContext) -> bool {
        let layers = self.layers(ctx);
        self.net.is_within(&ctx.space)
            && self.cuts.len() <= ctx.space.max_cuts
            && self.cuts.windows(2).all(|w| w[0] < w[1])
            && self.cuts.iter().all(|&c| c >= 1 && c < layers)
            && self.map.len() == self.cuts.len() + 1
            && self.map.iter().all(|&d| d < ctx.devices.len())
    }

    /// One random change: half the time the network (see [`NetGenome::mutate`]), else
    /// move, add or remove a cut, or remap a partition (to a topology neighbour of its
    /// device with probability 3/4). Always leaves a valid genome.
    pub fn mutate<R: Rng + ?Sized>(&mut self, ctx: &SpaceContext, rng: &mut R) {
        let layers = self.layers(ctx);
        match rng.random_range(0..8u32) {
            0..=3 => self.net.mutate(&ctx.space, rng),
            4 if !self.cuts.is_empty() => {
                let i = rng.random_range(0..self.cuts.len());
                let lo = if i == 0 { 1 } else { self.cuts[i - 1] + 1 };
                let hi = self.cuts.get(i + 1).copied().unwrap_or(layers);
                if lo < hi {
                    self.cuts[i] = rng.random_range(lo..hi);
                }
            }
            5 if self.cuts.len() < ctx.space.max_cuts && self.cuts.len() + 1 < layers => {
                let free: Vec<usize> = (1..layers).filter(|c| !self.cuts.contains(c)).collect();
                if let Some(&c) = free.choose(rng) {
                    let at = self.cuts.partition_point(|&x| x < c);
                    self.cuts.insert(at, c);
                    let near = self.map[at];
                    let d = pick_device(ctx, Some(near), rng);
                    self.map.insert(at + 1, d);
                }
            }
            6 if !self.cuts.is_empty() => {
                let i = rng.random_range(0..self.cuts.len());
                self.cuts.remove(i);
                self.map.remove(i + 1);
            }
            _ => {
                let p = rng.random_range(0..self.map.len());
                self.map[p] = pick_device(ctx, Some(self.map[p]), rng);
            }
        }
        self.repair(ctx);
    }

    /// Crossover: network by [`NetGenome::crossover`], cuts from either parent, each
    /// partition's device from either parent where it has one; then repaired.
    pub fn crossover<R: Rng + ?Sized>(a: &Self, b: &Self, ctx: &SpaceContext, rng: &mut R) -> Self {
        let net = NetGenome::crossover(&a.net, &b.net, &ctx.space, rng);
        let (first, second) = if rng.random_bool(0.5) { (a, b) } else { (b, a) };
        let cuts = first.cuts.clone();
        let map = (0..first.map.len())
            .map(|p| match second.map.get(p) {
                Some(&d) if rng.random_bool(0.5) => d,
                _ => first.map[p],
            })
            .collect();
        let mut child = CandidateGenome { net, cuts, map };
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

    #[test]
    fn random_mutated_crossed_are_valid() {
        for input in [vec![100, 6], vec![8, 8, 1], vec![5, 3]] {
            let cx = ctx(input);
            let mut rng = ChaCha8Rng::seed_from_u64(1);
            let mut pop: Vec<CandidateGenome> = (0..20)
                .map(|_| CandidateGenome::random(&cx, &mut rng))
                .collect();
            for step in 0..500 {
                let i = step % pop.len();
                let j = (step * 7 + 3) % pop.len();
                let mut child = CandidateGenome::crossover(&pop[i], &pop[j], &cx, &mut rng);
                child.mutate(&cx, &mut rng);
                assert!(child.is_valid(&cx), "{child:?}");
                let c = child.to_candidate(&cx);
                c.arch.shapes().unwrap();
                pop[i] = child;
            }
        }
    }
}
