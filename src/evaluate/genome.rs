//! The search genome of a candidate: network blocks (within the scenario's `space`),
//! cut points at block boundaries and a device per partition; random sampling,
//! mutation and crossover that always give valid genomes.

use crate::arch::{Arch, Layer, Padding};
use crate::network::Network;
use crate::scenario::{BlockKind, PoolKind, SearchSpace};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// One block of the network.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Block {
    pub kind: BlockKind,
    /// Output channels.
    pub channels: usize,
    /// Kernel size (1-D length or square 2-D side).
    pub kernel: usize,
    /// Stride of the block's first convolution.
    pub stride: usize,
    /// Pooling after the block (window 2).
    pub pool: PoolKind,
}

/// Network blocks + cut points + device map.
///
/// `cuts` are block boundaries in `1..=blocks.len()` (strictly increasing): a cut at `b`
/// splits before block `b` (`b == blocks.len()`: before the classifier head). `map`
/// holds one device index per partition (`cuts.len() + 1`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NetGenome {
    pub blocks: Vec<Block>,
    /// Hidden dense units before the classifier (0: none).
    pub dense: usize,
    pub cuts: Vec<usize>,
    pub map: Vec<usize>,
}

fn pick<T: Copy>(v: &[T], rng: &mut ChaCha8Rng, default: T) -> T {
    if v.is_empty() {
        default
    } else {
        v[rng.random_range(0..v.len())]
    }
}

/// The search space with empty choice lists replaced by safe defaults.
#[derive(Debug, Clone)]
pub struct Space {
    pub space: SearchSpace,
    /// Devices of the network (indices `0..devices`).
    pub devices: usize,
    /// Neighbours of each device (devices sharing a link).
    pub neighbours: Vec<Vec<usize>>,
}

impl Space {
    /// The space of a scenario on its network.
    pub fn new(space: &SearchSpace, network: &Network) -> Space {
        let mut s = space.clone();
        s.min_blocks = s.min_blocks.max(1);
        s.max_blocks = s.max_blocks.max(s.min_blocks);
        let n = network.devices.len();
        let mut neighbours = vec![Vec::new(); n];
        for l in &network.links {
            neighbours[l.a].push(l.b);
            neighbours[l.b].push(l.a);
        }
        for v in &mut neighbours {
            v.sort_unstable();
            v.dedup();
        }
        Space {
            space: s,
            devices: n.max(1),
            neighbours,
        }
    }

    fn block(&self, rng: &mut ChaCha8Rng) -> Block {
        let s = &self.space;
        Block {
            kind: pick(&s.block_kinds, rng, BlockKind::Conv),
            channels: pick(&s.channels, rng, 16).max(1),
            kernel: pick(&s.kernels, rng, 3).max(1),
            stride: pick(&s.strides, rng, 1).max(1),
            pool: pick(&s.pooling, rng, PoolKind::None),
        }
    }

    /// A uniformly random genome.
    pub fn random(&self, rng: &mut ChaCha8Rng) -> NetGenome {
        let s = &self.space;
        let nb = rng.random_range(s.min_blocks..=s.max_blocks);
        let blocks = (0..nb).map(|_| self.block(rng)).collect();
        let k = rng.random_range(0..=s.max_cuts.min(nb));
        let mut bounds: Vec<usize> = (1..=nb).collect();
        let mut cuts = Vec::new();
        for _ in 0..k {
            let i = rng.random_range(0..bounds.len());
            cuts.push(bounds.swap_remove(i));
        }
        cuts.sort_unstable();
        let map = (0..=k).map(|_| rng.random_range(0..self.devices)).collect();
        NetGenome {
            blocks,
            dense: pick(&s.dense_units, rng, 0),
            cuts,
            map,
        }
    }

    /// Makes `g` valid: block count within bounds, cuts strictly increasing in
    /// `1..=blocks` and at most `max_cuts`, one valid device per partition.
    pub fn repair(&self, g: &mut NetGenome) {
        let s = &self.space;
        g.blocks.truncate(s.max_blocks);
        while g.blocks.len() < s.min_blocks {
            g.blocks.push(Block {
                kind: s.block_kinds.first().copied().unwrap_or(BlockKind::Conv),
                channels: s.channels.first().copied().unwrap_or(16).max(1),
                kernel: s.kernels.first().copied().unwrap_or(3).max(1),
                stride: 1,
                pool: PoolKind::None,
            });
        }
        let nb = g.blocks.len();
        let mut pairs: Vec<(usize, usize)> = g
            .cuts
            .iter()
            .zip(g.map.iter().skip(1))
            .map(|(&c, &d)| (c, d))
            .filter(|(c, _)| (1..=nb).contains(c))
            .collect();
        pairs.sort_by_key(|p| p.0);
        pairs.dedup_by_key(|p| p.0);
        pairs.truncate(s.max_cuts);
        let first = g.map.first().copied().unwrap_or(0);
        g.cuts = pairs.iter().map(|p| p.0).collect();
        g.map = std::iter::once(first)
            .chain(pairs.iter().map(|p| p.1))
            .collect();
        for d in &mut g.map {
            if *d >= self.devices {
                *d = 0;
            }
        }
    }

    /// A device for a remapped partition: a neighbour of `current` with probability
    /// 0.7 (when it has one), any device otherwise.
    fn remap(&self, current: usize, rng: &mut ChaCha8Rng) -> usize {
        let nb = self
            .neighbours
            .get(current)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        if !nb.is_empty() && rng.random_bool(0.7) {
            nb[rng.random_range(0..nb.len())]
        } else {
            rng.random_range(0..self.devices)
        }
    }

    /// Applies one random mutation: add/remove/change a block, change the head, move,
    /// add or remove a cut, or remap a partition. The result is repaired (valid).
    pub fn mutate(&self, g: &mut NetGenome, rng: &mut ChaCha8Rng) {
        let s = &self.space;
        match rng.random_range(0..8u32) {
            0 if g.blocks.len() < s.max_blocks => {
                let at = rng.random_range(0..=g.blocks.len());
                g.blocks.insert(at, self.block(rng));
                for c in &mut g.cuts {
                    if *c > at {
                        *c += 1;
                    }
                }
            }
            1 if g.blocks.len() > s.min_blocks => {
                let at = rng.random_range(0..g.blocks.len());
                g.blocks.remove(at);
                for c in &mut g.cuts {
                    if *c > at {
                        *c -= 1;
                    }
                }
            }
            0..=2 => {
                let i = rng.random_range(0..g.blocks.len());
                let fresh = self.block(rng);
                let b = &mut g.blocks[i];
                match rng.random_range(0..5u32) {
                    0 => b.kind = fresh.kind,
                    1 => b.channels = fresh.channels,
                    2 => b.kernel = fresh.kernel,
                    3 => b.stride = fresh.stride,
                    _ => b.pool = fresh.pool,
                }
            }
            3 => g.dense = pick(&s.dense_units, rng, g.dense),
            4 if !g.cuts.is_empty() => {
                let i = rng.random_range(0..g.cuts.len());
                g.cuts[i] = rng.random_range(1..=g.blocks.len());
            }
            5 if g.cuts.len() < s.max_cuts && g.cuts.len() < g.blocks.len() => {
                let c = rng.random_range(1..=g.blocks.len());
                if !g.cuts.contains(&c) {
                    let pos = g.cuts.iter().position(|&x| x > c).unwrap_or(g.cuts.len());
                    g.cuts.insert(pos, c);
                    let d = self.remap(g.map[pos], rng);
                    g.map.insert(pos + 1, d);
                }
            }
            6 if !g.cuts.is_empty() => {
                let i = rng.random_range(0..g.cuts.len());
                g.cuts.remove(i);
                g.map.remove(i + 1);
            }
            _ => {
                let p = rng.random_range(0..g.map.len());
                g.map[p] = self.remap(g.map[p], rng);
            }
        }
        self.repair(g);
    }

    /// One-point crossover of the block lists (the head, cuts and map follow the first
    /// parent of each child), repaired.
    pub fn crossover(
        &self,
        a: &NetGenome,
        b: &NetGenome,
        rng: &mut ChaCha8Rng,
    ) -> (NetGenome, NetGenome) {
        let i = rng.random_range(0..=a.blocks.len());
        let j = rng.random_range(0..=b.blocks.len());
        let mut c1 = a.clone();
        c1.blocks = a.blocks[..i]
            .iter()
            .chain(&b.blocks[j..])
            .cloned()
            .collect();
        let mut c2 = b.clone();
        c2.blocks = b.blocks[..j]
            .iter()
            .chain(&a.blocks[i..])
            .cloned()
            .collect();
        self.repair(&mut c1);
        self.repair(&mut c2);
        (c1, c2)
    }
}

impl NetGenome {
    /// The network for inputs of `input` shape (`[T, C]` or `[H, W, C]`) and `classes`
    /// classes, and the cut points as layer indices. Convolutions use `Same` padding;
    /// strides and pools are skipped where the spatial size is already 1.
    pub fn to_arch(&self, input: &[usize], classes: usize) -> (Arch, Vec<usize>) {
        let two_d = input.len() == 3;
        let mut len = input.first().copied().unwrap_or(1);
        let mut layers: Vec<Layer> = Vec::new();
        let mut starts = Vec::new();
        let conv = |filters: usize, kernel: usize, stride: usize| {
            if two_d {
                Layer::Conv2d {
                    filters,
                    kernel,
                    stride,
                    padding: Padding::Same,
                    dilation: 1,
                    bias: true,
                }
            } else {
                Layer::Conv1d {
                    filters,
                    kernel,
                    stride,
                    padding: Padding::Same,
                    dilation: 1,
                    bias: true,
                }
            }
        };
        for b in &self.blocks {
            starts.push(layers.len());
            let stride = if len >= 2 { b.stride.min(len) } else { 1 };
            len = len.div_ceil(stride);
            match b.kind {
                BlockKind::Conv => {
                    layers.push(conv(b.channels, b.kernel, stride));
                    layers.push(Layer::ReLU);
                }
                BlockKind::Separable => {
                    layers.push(if two_d {
                        Layer::DepthwiseConv2d {
                            kernel: b.kernel,
                            stride,
                            padding: Padding::Same,
                            dilation: 1,
                            bias: true,
                        }
                    } else {
                        Layer::DepthwiseConv1d {
                            kernel: b.kernel,
                            stride,
                            padding: Padding::Same,
                            dilation: 1,
                            bias: true,
                        }
                    });
                    layers.push(conv(b.channels, 1, 1));
                    layers.push(Layer::ReLU);
                }
                BlockKind::Residual => {
                    layers.push(conv(b.channels, b.kernel, stride));
                    layers.push(Layer::ReLU);
                    let r = layers.len() - 1;
                    layers.push(conv(b.channels, b.kernel, 1));
                    layers.push(Layer::Add { from: r });
                    layers.push(Layer::ReLU);
                }
            }
            if len >= 2 {
                match b.pool {
                    PoolKind::None => {}
                    PoolKind::Max => {
                        layers.push(if two_d {
                            Layer::MaxPool2d {
                                size: 2,
                                stride: None,
                                padding: Padding::Valid,
                            }
                        } else {
                            Layer::MaxPool1d {
                                size: 2,
                                stride: None,
                                padding: Padding::Valid,
                            }
                        });
                        len /= 2;
                    }
                    PoolKind::Avg => {
                        layers.push(if two_d {
                            Layer::AvgPool2d {
                                size: 2,
                                stride: None,
                                padding: Padding::Valid,
                            }
                        } else {
                            Layer::AvgPool1d {
                                size: 2,
                                stride: None,
                                padding: Padding::Valid,
                            }
                        });
                        len /= 2;
                    }
                }
            }
        }
        starts.push(layers.len());
        layers.push(Layer::GlobalAvgPool);
        if self.dense > 0 {
            layers.push(Layer::Dense {
                units: self.dense,
                bias: true,
            });
            layers.push(Layer::ReLU);
        }
        layers.push(Layer::Dense {
            units: classes.max(2),
            bias: true,
        });
        let cuts = self
            .cuts
            .iter()
            .map(|&c| starts[c.min(starts.len() - 1)])
            .collect();
        (
            Arch {
                input: input.to_vec(),
                layers,
            },
            cuts,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::{Device, Link};
    use rand::SeedableRng;

    fn net() -> Network {
        let d = |id: &str| Device {
            id: id.into(),
            profile: "p".into(),
            flash_bytes: 1 << 20,
            sram_bytes: 1 << 18,
            mac_per_s: 1e8,
            layer_overhead_us: 0.0,
            active_mw: 1.0,
            idle_mw: 0.1,
            tx_mw: 1.0,
            rx_mw: 1.0,
            battery_mj: None,
            cores: 1,
            energy_budget_mj: None,
        };
        let l = |a, b| Link {
            a,
            b,
            profile: "l".into(),
            bandwidth_bps: 1e6,
            latency_ms: 1.0,
            mtu_bytes: 100,
            header_bytes: 10,
            loss: 0.0,
            medium: None,
        };
        Network::new(vec![d("a"), d("b"), d("c")], vec![l(0, 1), l(1, 2)], vec![])
    }

    fn check(space: &Space, g: &NetGenome, input: &[usize]) {
        let s = &space.space;
        assert!(
            (s.min_blocks..=s.max_blocks).contains(&g.blocks.len()),
            "{g:?}"
        );
        assert!(g.cuts.len() <= s.max_cuts);
        assert_eq!(g.map.len(), g.cuts.len() + 1);
        assert!(g.cuts.windows(2).all(|w| w[0] < w[1]));
        assert!(g.map.iter().all(|&d| d < 3));
        let (arch, cuts) = g.to_arch(input, 4);
        let shapes = arch.shapes().unwrap_or_else(|e| panic!("{e}: {arch:?}"));
        assert_eq!(shapes.last().unwrap(), &vec![4]);
        assert!(cuts.windows(2).all(|w| w[0] < w[1]));
        assert!(cuts.iter().all(|&c| c >= 1 && c < arch.layers.len()));
    }

    #[test]
    fn random_mutated_and_crossed_genomes_are_valid() {
        let space = Space::new(&SearchSpace::default(), &net());
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for input in [vec![100, 6], vec![8, 8, 1]] {
            let mut pool: Vec<NetGenome> = (0..50).map(|_| space.random(&mut rng)).collect();
            for step in 0..2000 {
                let i = step % pool.len();
                let j = (step * 7 + 3) % pool.len();
                let (mut a, b) = space.crossover(&pool[i], &pool[j], &mut rng);
                space.mutate(&mut a, &mut rng);
                check(&space, &a, &input);
                check(&space, &b, &input);
                pool[i] = a;
            }
        }
    }

    #[test]
    fn residual_block_layers() {
        let g = NetGenome {
            blocks: vec![Block {
                kind: BlockKind::Residual,
                channels: 8,
                kernel: 3,
                stride: 2,
                pool: PoolKind::Max,
            }],
            dense: 16,
            cuts: vec![1],
            map: vec![0, 2],
        };
        let (arch, cuts) = g.to_arch(&[100, 6], 4);
        assert_eq!(
            arch.to_ron(),
            Arch::from_ron(
                "Arch(input: [100, 6], layers: [Conv1d(filters: 8, kernel: 3, stride: 2, \
                 padding: Same), ReLU, Conv1d(filters: 8, kernel: 3, padding: Same), \
                 Add(from: 1), ReLU, MaxPool1d(size: 2), GlobalAvgPool, Dense(units: 16), \
                 ReLU, Dense(units: 4)])"
            )
            .unwrap()
            .to_ron()
        );
        assert_eq!(cuts, vec![6]);
        assert_eq!(arch.shapes().unwrap()[5], vec![25, 8]);
    }
}
