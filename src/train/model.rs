//! [`Model`]: compiled layers, flat parameter vector, and the chunked forward/backward
//! passes.
//!
//! A mini-batch is split into fixed chunks of `chunk` samples (independent of the
//! number of threads). Each chunk has its own worker with preallocated buffers;
//! chunks run in parallel with rayon, and everything that crosses chunks (batch-norm
//! statistics, parameter gradients, loss sums) is reduced serially in chunk order, so
//! results are bit-identical whatever the thread count.

use super::layers::{activation, batchnorm, conv, dense, depthwise, pool, reshape, Op};
use super::loss::softmax_xent;
use super::real::Real;
use super::TrainError;
use crate::arch::{Arch, Layer, Shape};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use rayon::prelude::*;
use std::ops::Range;

/// A trainable network: the architecture compiled into layer kernels plus all
/// parameters in one flat vector (`T = f32` for training, `f64` for gradient checks).
#[derive(Debug, Clone)]
pub struct Model<T: Real = f32> {
    pub(crate) arch: Arch,
    pub(crate) shapes: Vec<Shape>,
    pub(crate) ops: Vec<Op>,
    /// All trainable parameters, layer after layer, each tensor row-major.
    pub(crate) params: Vec<T>,
    /// Per layer, the range of each trainable tensor in `params`.
    pub(crate) slots: Vec<Vec<Range<usize>>>,
    /// Non-trainable state (batch-norm running mean and variance).
    pub(crate) state: Vec<T>,
    pub(crate) state_slots: Vec<Vec<Range<usize>>>,
    pub(crate) in_size: usize,
    pub(crate) out_sizes: Vec<usize>,
}

/// Preallocated buffers of one chunk of samples.
#[derive(Debug)]
pub(crate) struct Worker<T> {
    pub n: usize,
    pub input: Vec<T>,
    pub labels: Vec<usize>,
    pub acts: Vec<Vec<T>>,
    pub grads: Vec<Vec<T>>,
    pub ginput: Vec<T>,
    /// Per layer: im2col matrix (Conv) or normalised input (BatchNorm).
    pub col: Vec<Vec<T>>,
    pub dcol: Vec<T>,
    pub arg: Vec<Vec<u32>>,
    pub pgrad: Vec<T>,
    pub acc: Vec<T>,
    pub loss: f64,
    pub correct: usize,
}

/// Batch-norm statistics of the current mini-batch, per layer.
#[derive(Debug, Clone, Default)]
pub(crate) struct BnBatch<T> {
    pub mean: Vec<T>,
    pub var: Vec<T>,
    pub inv_std: Vec<T>,
    pub sdy: Vec<T>,
    pub sdyx: Vec<T>,
}

/// All buffers for batches of up to `chunk * workers.len()` samples.
#[derive(Debug)]
pub(crate) struct Workspace<T> {
    pub chunk: usize,
    pub workers: Vec<Worker<T>>,
    pub bn: Vec<BnBatch<T>>,
    /// Summed parameter gradient of the last batch (mean-loss gradient).
    pub grad: Vec<T>,
}

impl<T: Real> Workspace<T> {
    /// Capacity in samples.
    pub fn capacity(&self) -> usize {
        self.chunk * self.workers.len()
    }
}

fn par_workers<T: Send, F>(workers: &mut [Worker<T>], f: F)
where
    F: Fn(&mut Worker<T>) + Sync + Send,
{
    if workers.len() == 1 {
        f(&mut workers[0]);
    } else {
        workers.par_iter_mut().for_each(f);
    }
}

fn add_into<T: Real>(acc: &mut [T], v: &[T]) {
    for (a, &b) in acc.iter_mut().zip(v) {
        *a += b;
    }
}

/// Buffer sizes of a workspace, computed before allocating it.
struct WorkspacePlan {
    chunk: usize,
    col_sizes: Vec<usize>,
    dcol: usize,
    arg_sizes: Vec<usize>,
    max_c: usize,
    /// Σ per-chunk element counts, without overflow (a hostile chunk × layer must not
    /// wrap).
    elems: u128,
}

impl WorkspacePlan {
    fn new(ops: &[Op], out_sizes: &[usize], chunk: usize) -> WorkspacePlan {
        let chunk = chunk.max(1);
        let c = chunk as u128;
        let l = ops.len();
        let (mut col, mut arg) = (vec![0u128; l], vec![0u128; l]);
        let (mut dcol, mut max_c) = (0u128, 0);
        for (i, op) in ops.iter().enumerate() {
            match op {
                Op::Conv { g, .. } => {
                    col[i] = c * g.out_positions() as u128 * g.taps() as u128 * g.c as u128;
                    dcol = dcol.max(col[i]);
                }
                Op::BatchNorm { c: ch } => {
                    col[i] = c * out_sizes[i] as u128;
                    max_c = max_c.max(*ch);
                }
                Op::MaxPool { .. } => arg[i] = c * out_sizes[i] as u128,
                _ => {}
            }
        }
        let outs: u128 = out_sizes.iter().map(|&s| s as u128).sum();
        let elems = 2 * c * outs + col.iter().sum::<u128>() + dcol + arg.iter().sum::<u128>();
        // sizes past usize are never allocated: `check` refuses them first
        let size = |x: u128| usize::try_from(x).unwrap_or(usize::MAX);
        WorkspacePlan {
            chunk,
            col_sizes: col.into_iter().map(size).collect(),
            dcol: size(dcol),
            arg_sizes: arg.into_iter().map(size).collect(),
            max_c,
            elems,
        }
    }

    /// Bytes of the whole workspace of `workers` chunks (all buffers counted as `T`).
    fn bytes<T>(&self, in_size: usize, params: usize, workers: usize) -> u128 {
        let (c, np) = (self.chunk as u128, params as u128);
        let per_worker = 2 * c * in_size as u128 + self.elems + np + self.max_c as u128 + c;
        let elems = workers.max(1) as u128 * per_worker + np + 5 * self.max_c as u128;
        elems * std::mem::size_of::<T>().max(4) as u128
    }

    fn check<T>(&self, in_size: usize, params: usize, workers: usize) -> Result<(), TrainError> {
        let bytes = self.bytes::<T>(in_size, params, workers);
        if bytes > crate::train::MAX_TRAINING_BYTES {
            return Err(TrainError::TooLarge {
                what: "the training workspace",
                bytes,
            });
        }
        Ok(())
    }
}

/// Estimated bytes to train `arch` (`f32`) in mini-batches of `batch` samples processed
/// in chunks of `chunk`: parameters with gradients and Adam moments, plus the training
/// workspace. Nothing is allocated; compare with [`crate::train::MAX_TRAINING_BYTES`].
pub fn training_bytes(arch: &Arch, chunk: usize, batch: usize) -> Result<u128, TrainError> {
    let shapes = arch.shapes()?;
    let mut np = 0u128;
    let mut ops = Vec::with_capacity(shapes.len());
    for (i, layer) in arch.layers.iter().enumerate() {
        let input = if i == 0 { &arch.input } else { &shapes[i - 1] };
        let op = Op::compile(layer, input, &shapes[i]);
        for s in op.param_shapes().iter().chain(&op.state_shapes()) {
            np += s.iter().map(|&d| d as u128).product::<u128>();
        }
        ops.push(op);
    }
    let out_sizes: Vec<usize> = shapes.iter().map(|s| s.iter().product()).collect();
    let chunk = chunk.max(1);
    let plan = WorkspacePlan::new(&ops, &out_sizes, chunk);
    let params = usize::try_from(np).unwrap_or(usize::MAX);
    Ok(4 * np * 4 + plan.bytes::<f32>(arch.input.iter().product(), params, batch.div_ceil(chunk)))
}

impl Model<f32> {
    /// Builds an `f32` network for training (see [`Model::build`] for the initialisation).
    pub fn new(arch: &Arch, seed: u64) -> Result<Model, TrainError> {
        Model::build(arch, seed)
    }
}

impl<T: Real> Model<T> {
    /// Builds the network with He-normal weights for convolutions/dense layers that
    /// feed a ReLU/ReLU6 (possibly through a BatchNorm) and Glorot-uniform weights
    /// otherwise; biases 0, batch-norm `gamma = 1`, `beta = 0`, running mean 0 and
    /// variance 1. Draws come from `ChaCha8Rng::seed_from_u64(seed)` in layer order,
    /// in `f64`, so `Model<f32>` and `Model<f64>` start from the same values.
    /// The last layer's output must be flat (`[K]`: K class logits).
    /// [`Model::new`] is the `f32` shorthand.
    pub fn build(arch: &Arch, seed: u64) -> Result<Model<T>, TrainError> {
        let shapes = arch.shapes()?;
        match shapes.last() {
            Some(s) if s.len() == 1 && s[0] >= 2 => {}
            other => {
                return Err(TrainError::OutputNotLogits {
                    shape: other.cloned().unwrap_or_default(),
                })
            }
        }
        let mut ops = Vec::with_capacity(shapes.len());
        for (i, layer) in arch.layers.iter().enumerate() {
            let input = if i == 0 { &arch.input } else { &shapes[i - 1] };
            ops.push(Op::compile(layer, input, &shapes[i]));
        }
        let mut slots = Vec::new();
        let mut state_slots = Vec::new();
        let (mut np, mut ns) = (0, 0);
        for op in &ops {
            let mut v = Vec::new();
            for s in op.param_shapes() {
                let len: usize = s.iter().product();
                v.push(np..np + len);
                np += len;
            }
            slots.push(v);
            let mut v = Vec::new();
            for s in op.state_shapes() {
                let len: usize = s.iter().product();
                v.push(ns..ns + len);
                ns += len;
            }
            state_slots.push(v);
        }
        // parameters, their gradient and two optimiser moments
        let bytes = 4 * (np + ns) as u128 * std::mem::size_of::<T>() as u128;
        if bytes > crate::train::MAX_TRAINING_BYTES {
            return Err(TrainError::TooLarge {
                what: "the parameters (with gradients and optimiser state)",
                bytes,
            });
        }
        let mut params = vec![T::zero(); np];
        let mut state = vec![T::zero(); ns];
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        for (i, op) in ops.iter().enumerate() {
            if let Some((fan_in, fan_out)) = op.fans() {
                let feeds_relu = arch.layers[i + 1..]
                    .iter()
                    .find(|l| !matches!(l, Layer::BatchNorm))
                    .is_some_and(|l| matches!(l, Layer::ReLU | Layer::ReLU6));
                let w = &mut params[slots[i][0].clone()];
                if feeds_relu {
                    let normal =
                        Normal::new(0.0, (2.0 / fan_in as f64).sqrt()).expect("finite std");
                    for x in w {
                        *x = T::from_f64(normal.sample(&mut rng));
                    }
                } else {
                    let limit = (6.0 / (fan_in + fan_out) as f64).sqrt();
                    for x in w {
                        *x = T::from_f64(rng.random_range(-limit..limit));
                    }
                }
            }
            if let Op::BatchNorm { .. } = op {
                params[slots[i][0].clone()].fill(T::one());
                state[state_slots[i][1].clone()].fill(T::one());
            }
        }
        let out_sizes = shapes.iter().map(|s| s.iter().product()).collect();
        Ok(Model {
            arch: arch.clone(),
            in_size: arch.input.iter().product(),
            shapes,
            ops,
            params,
            slots,
            state,
            state_slots,
            out_sizes,
        })
    }

    /// The architecture this model was built from.
    pub fn arch(&self) -> &Arch {
        &self.arch
    }

    /// Output shape of every layer (batch dimension excluded).
    pub fn shapes(&self) -> &[Shape] {
        &self.shapes
    }

    /// Number of trainable parameters (batch-norm running statistics excluded).
    pub fn num_params(&self) -> usize {
        self.params.len()
    }

    /// Number of output classes (size of the last layer's output).
    pub fn num_classes(&self) -> usize {
        *self.out_sizes.last().expect("at least one layer")
    }

    /// Elements per input sample (product of the arch input shape).
    pub fn input_size(&self) -> usize {
        self.in_size
    }

    /// All trainable parameters as one flat slice (layer order, tensors row-major;
    /// see [`Model::tensors`] for the layout).
    pub fn params(&self) -> &[T] {
        &self.params
    }

    /// Mutable access to the flat parameters.
    pub fn params_mut(&mut self) -> &mut [T] {
        &mut self.params
    }

    /// Per layer, the shapes of its trainable tensors followed by its state tensors
    /// (batch norm: gamma, beta, running mean, running variance).
    pub fn tensor_shapes(&self) -> Vec<Vec<Vec<usize>>> {
        self.ops
            .iter()
            .map(|op| {
                let mut v = op.param_shapes();
                v.extend(op.state_shapes());
                v
            })
            .collect()
    }

    /// Per layer, the values of its trainable tensors followed by its state tensors,
    /// in the order of [`Model::tensor_shapes`].
    pub fn tensors(&self) -> Vec<Vec<&[T]>> {
        (0..self.ops.len())
            .map(|i| {
                let mut v: Vec<&[T]> = self.slots[i]
                    .iter()
                    .map(|r| &self.params[r.clone()])
                    .collect();
                v.extend(self.state_slots[i].iter().map(|r| &self.state[r.clone()]));
                v
            })
            .collect()
    }

    /// Overwrites layer `layer`'s tensors (same order and sizes as [`Model::tensors`]).
    pub(crate) fn set_layer(&mut self, layer: usize, values: &[Vec<T>]) {
        let np = self.slots[layer].len();
        for (k, v) in values.iter().enumerate() {
            if k < np {
                self.params[self.slots[layer][k].clone()].copy_from_slice(v);
            } else {
                self.state[self.state_slots[layer][k - np].clone()].copy_from_slice(v);
            }
        }
    }

    /// Piecemeal training: copies every layer's weights (and batch-norm statistics)
    /// from `parent` where the layer at the same position has the same kind and the
    /// same tensor shapes. Returns the indices of the inherited layers.
    pub fn inherit_from(&mut self, parent: &Model<T>) -> Vec<usize> {
        let mut done = Vec::new();
        let mine = self.tensor_shapes();
        let theirs = parent.tensor_shapes();
        for i in 0..self.ops.len().min(parent.ops.len()) {
            if mine[i].is_empty()
                || mine[i] != theirs[i]
                || self.arch.layers[i].kind() != parent.arch.layers[i].kind()
            {
                continue;
            }
            let values: Vec<Vec<T>> = parent.tensors()[i].iter().map(|t| t.to_vec()).collect();
            self.set_layer(i, &values);
            done.push(i);
        }
        done
    }

    /// Index of the first layer with trainable parameters (`ops.len()` if none).
    fn first_trainable(&self) -> usize {
        self.slots
            .iter()
            .position(|s| !s.is_empty())
            .unwrap_or(self.ops.len())
    }

    /// Buffers for `workers` chunks of `chunk` samples, or [`TrainError::TooLarge`]
    /// when they would exceed [`crate::train::MAX_TRAINING_BYTES`] (checked before
    /// anything is allocated).
    pub(crate) fn workspace(
        &self,
        chunk: usize,
        workers: usize,
    ) -> Result<Workspace<T>, TrainError> {
        let plan = WorkspacePlan::new(&self.ops, &self.out_sizes, chunk);
        plan.check::<T>(self.in_size, self.params.len(), workers)?;
        let (chunk, workers) = (plan.chunk, workers.max(1));
        let (col_sizes, dcol, arg_sizes, max_c) =
            (plan.col_sizes, plan.dcol, plan.arg_sizes, plan.max_c);
        let zeros = |n: usize| vec![T::zero(); n];
        let workers = (0..workers)
            .map(|_| Worker {
                n: 0,
                input: zeros(chunk * self.in_size),
                labels: vec![0; chunk],
                acts: self.out_sizes.iter().map(|&s| zeros(chunk * s)).collect(),
                grads: self.out_sizes.iter().map(|&s| zeros(chunk * s)).collect(),
                ginput: zeros(chunk * self.in_size),
                col: col_sizes.iter().map(|&s| zeros(s)).collect(),
                dcol: zeros(dcol),
                arg: arg_sizes.iter().map(|&s| vec![0u32; s]).collect(),
                pgrad: zeros(self.params.len()),
                acc: zeros(max_c),
                loss: 0.0,
                correct: 0,
            })
            .collect();
        let bn = self
            .ops
            .iter()
            .map(|op| match op {
                Op::BatchNorm { c } => BnBatch {
                    mean: zeros(*c),
                    var: zeros(*c),
                    inv_std: zeros(*c),
                    sdy: zeros(*c),
                    sdyx: zeros(*c),
                },
                _ => BnBatch::default(),
            })
            .collect();
        Ok(Workspace {
            chunk,
            workers,
            bn,
            grad: zeros(self.params.len()),
        })
    }

    /// Copies samples `idx` of the flat data `x` (and their labels) into the chunks.
    /// Returns the number of chunks used.
    pub(crate) fn load_batch(
        &self,
        ws: &mut Workspace<T>,
        x: &[T],
        y: &[usize],
        idx: &[usize],
    ) -> usize {
        let s = self.in_size;
        let mut used = 0;
        for (ci, part) in idx.chunks(ws.chunk).enumerate() {
            let w = &mut ws.workers[ci];
            w.n = part.len();
            for (j, &i) in part.iter().enumerate() {
                w.input[j * s..(j + 1) * s].copy_from_slice(&x[i * s..(i + 1) * s]);
                w.labels[j] = y[i];
            }
            used = ci + 1;
        }
        used
    }

    /// Forward pass of one chunk through layer `i` (not a training-mode batch norm).
    fn layer_forward(&self, i: usize, w: &mut Worker<T>, params: &[T]) {
        let n = w.n;
        let (before, rest) = w.acts.split_at_mut(i);
        let y = &mut rest[0][..n * self.out_sizes[i]];
        let x: &[T] = if i == 0 {
            &w.input[..n * self.in_size]
        } else {
            &before[i - 1][..n * self.out_sizes[i - 1]]
        };
        let p = &self.slots[i];
        let bias = |k: usize| p.get(k).map(|r| &params[r.clone()]);
        match &self.ops[i] {
            Op::Conv { g, cout, bias: b } => {
                let bb = if *b { bias(1) } else { None };
                conv::forward(g, *cout, n, x, &params[p[0].clone()], bb, &mut w.col[i], y)
            }
            Op::Depthwise { g, bias: b } => {
                let bb = if *b { bias(1) } else { None };
                depthwise::forward(g, n, x, &params[p[0].clone()], bb, y)
            }
            Op::Dense { nin, nout, bias: b } => {
                let bb = if *b { bias(1) } else { None };
                dense::forward(*nin, *nout, n, x, &params[p[0].clone()], bb, y)
            }
            Op::Relu => activation::forward(x, y, None),
            Op::Relu6 => activation::forward(x, y, Some(T::from_f64(6.0))),
            Op::BatchNorm { c } => {
                let s = &self.state_slots[i];
                batchnorm::eval_forward(
                    *c,
                    x,
                    &self.state[s[0].clone()],
                    &self.state[s[1].clone()],
                    &params[p[0].clone()],
                    &params[p[1].clone()],
                    y,
                )
            }
            Op::MaxPool { g } => pool::max_forward(g, n, x, y, &mut w.arg[i]),
            Op::AvgPool { g } => pool::avg_forward(g, n, x, y),
            Op::GlobalAvgPool { spatial, c } => pool::global_forward(*spatial, *c, n, x, y),
            Op::Flatten => y.copy_from_slice(x),
            Op::Add { from } => {
                let other = &before[*from][..n * self.out_sizes[*from]];
                reshape::add_forward(x, other, y)
            }
            Op::Branch { from } => y.copy_from_slice(&before[*from][..n * self.out_sizes[*from]]),
        }
    }

    /// Backward pass of one chunk through layer `i` (not a training-mode batch norm).
    fn layer_backward(&self, i: usize, w: &mut Worker<T>, params: &[T], need_dx: bool) {
        let n = w.n;
        let in_len = if i == 0 {
            n * self.in_size
        } else {
            n * self.out_sizes[i - 1]
        };
        let (gb, gr) = w.grads.split_at_mut(i);
        let dy = &gr[0][..n * self.out_sizes[i]];
        if let Op::Add { from } = self.ops[i] {
            let (lo, hi) = gb.split_at_mut(i - 1);
            reshape::pass_backward(dy, &mut hi[0][..in_len]);
            reshape::pass_backward(dy, &mut lo[from][..n * self.out_sizes[from]]);
            return;
        }
        if let Op::Branch { from } = self.ops[i] {
            reshape::pass_backward(dy, &mut gb[from][..n * self.out_sizes[from]]);
            return;
        }
        let dx: Option<&mut [T]> = match (need_dx, i) {
            (false, _) => None,
            (true, 0) => Some(&mut w.ginput[..in_len]),
            (true, _) => Some(&mut gb[i - 1][..in_len]),
        };
        let x: &[T] = if i == 0 {
            &w.input[..in_len]
        } else {
            &w.acts[i - 1][..in_len]
        };
        let p = &self.slots[i];
        let (dw, db) = match p.len() {
            0 => (&mut [][..], None),
            1 => (&mut w.pgrad[p[0].clone()], None),
            _ => {
                let (a, b) = w.pgrad[p[0].start..p[1].end].split_at_mut(p[0].len());
                (a, Some(b))
            }
        };
        match &self.ops[i] {
            Op::Conv { g, cout, .. } => conv::backward(
                g,
                *cout,
                n,
                &w.col[i],
                dy,
                &params[p[0].clone()],
                dw,
                db,
                dx,
                &mut w.dcol,
            ),
            Op::Depthwise { g, .. } => {
                depthwise::backward(g, n, x, dy, &params[p[0].clone()], dw, db, dx)
            }
            Op::Dense { nin, nout, .. } => {
                dense::backward(*nin, *nout, n, x, dy, &params[p[0].clone()], dw, db, dx)
            }
            Op::Relu => {
                if let Some(dx) = dx {
                    activation::backward(x, dy, dx, None)
                }
            }
            Op::Relu6 => {
                if let Some(dx) = dx {
                    activation::backward(x, dy, dx, Some(T::from_f64(6.0)))
                }
            }
            Op::MaxPool { g } => {
                if let Some(dx) = dx {
                    pool::max_backward(g, n, dy, &w.arg[i][..dy.len()], dx)
                }
            }
            Op::AvgPool { g } => {
                if let Some(dx) = dx {
                    pool::avg_backward(g, n, dy, dx)
                }
            }
            Op::GlobalAvgPool { spatial, c } => {
                if let Some(dx) = dx {
                    pool::global_backward(*spatial, *c, n, dy, dx)
                }
            }
            Op::Flatten => {
                if let Some(dx) = dx {
                    reshape::pass_backward(dy, dx)
                }
            }
            Op::BatchNorm { .. } => {
                unreachable!("training-mode batch norm is handled across chunks")
            }
            Op::Add { .. } | Op::Branch { .. } => unreachable!("handled above"),
        }
    }

    fn has_batch_norm(&self) -> bool {
        self.ops.iter().any(|o| matches!(o, Op::BatchNorm { .. }))
    }

    fn is_bn(&self, i: usize) -> bool {
        matches!(self.ops[i], Op::BatchNorm { .. })
    }

    /// Forward pass over the loaded chunks `ws.workers[..used]`; computes the loss sum
    /// and correct count per chunk and, if `grad_scale` is given, the logit gradient.
    /// `train` selects batch statistics for batch norm (and updates running stats).
    pub(crate) fn forward(
        &self,
        ws: &mut Workspace<T>,
        used: usize,
        train: bool,
        grad_scale: Option<T>,
    ) {
        let l = self.ops.len();
        let k = self.num_classes();
        let total: usize = ws.workers[..used].iter().map(|w| w.n).sum();
        let mut start = 0;
        let mut pending: Option<usize> = None;
        loop {
            let end = (start..l).find(|&i| train && self.is_bn(i)).unwrap_or(l);
            let this = self;
            let bn = &ws.bn;
            par_workers(&mut ws.workers[..used], |w| {
                if let Some(b) = pending {
                    this.bn_normalize(b, w, &bn[b]);
                }
                for i in start..end {
                    this.layer_forward(i, w, &this.params);
                }
                if end == l {
                    let logits = &w.acts[l - 1][..w.n * k];
                    let (loss, correct) = match grad_scale {
                        Some(s) => softmax_xent(
                            k,
                            w.n,
                            logits,
                            &w.labels,
                            s,
                            Some(&mut w.grads[l - 1][..w.n * k]),
                        ),
                        None => softmax_xent(k, w.n, logits, &w.labels, T::one(), None),
                    };
                    w.loss = loss;
                    w.correct = correct;
                }
            });
            if end == l {
                break;
            }
            self.bn_stats(end, ws, used, total);
            pending = Some(end);
            start = end + 1;
        }
    }

    /// Batch statistics of training-mode batch norm `i` (two reductions in chunk order),
    /// and the running-statistics update.
    fn bn_stats(&self, i: usize, ws: &mut Workspace<T>, used: usize, total: usize) {
        let Op::BatchNorm { c } = self.ops[i] else {
            unreachable!()
        };
        let size = if i == 0 {
            self.in_size
        } else {
            self.out_sizes[i - 1]
        };
        let m = total * size / c;
        let mt = T::from_f64(m as f64);
        par_workers(&mut ws.workers[..used], |w| {
            let x = if i == 0 {
                &w.input[..w.n * size]
            } else {
                &w.acts[i - 1][..w.n * size]
            };
            w.acc[..c].fill(T::zero());
            batchnorm::sum_into(c, x, &mut w.acc[..c]);
        });
        let b = &mut ws.bn[i];
        b.mean.fill(T::zero());
        for w in &ws.workers[..used] {
            add_into(&mut b.mean, &w.acc[..c]);
        }
        for v in &mut b.mean {
            *v /= mt;
        }
        let mean = b.mean.clone();
        par_workers(&mut ws.workers[..used], |w| {
            let x = if i == 0 {
                &w.input[..w.n * size]
            } else {
                &w.acts[i - 1][..w.n * size]
            };
            w.acc[..c].fill(T::zero());
            batchnorm::sq_dev_into(c, x, &mean, &mut w.acc[..c]);
        });
        let b = &mut ws.bn[i];
        b.var.fill(T::zero());
        for w in &ws.workers[..used] {
            add_into(&mut b.var, &w.acc[..c]);
        }
        let eps = T::from_f64(batchnorm::EPS);
        for ch in 0..c {
            b.var[ch] /= mt;
            b.inv_std[ch] = T::one() / (b.var[ch] + eps).sqrt();
        }
    }

    /// Running-statistics update of every batch norm after a training forward pass
    /// over `total` samples: momentum 0.1, unbiased batch variance.
    fn update_running(&mut self, ws: &Workspace<T>, total: usize) {
        let mom = T::from_f64(batchnorm::MOMENTUM);
        for i in 0..self.ops.len() {
            let Op::BatchNorm { c } = self.ops[i] else {
                continue;
            };
            let m = total * self.out_sizes[i] / c;
            let unbias = if m > 1 {
                T::from_f64(m as f64 / (m - 1) as f64)
            } else {
                T::one()
            };
            let s = self.state_slots[i].clone();
            let b = &ws.bn[i];
            for ch in 0..c {
                let rm = &mut self.state[s[0].start + ch];
                *rm = (T::one() - mom) * *rm + mom * b.mean[ch];
                let rv = &mut self.state[s[1].start + ch];
                *rv = (T::one() - mom) * *rv + mom * b.var[ch] * unbias;
            }
        }
    }

    fn bn_normalize(&self, i: usize, w: &mut Worker<T>, b: &BnBatch<T>) {
        let Op::BatchNorm { c } = self.ops[i] else {
            unreachable!()
        };
        let size = self.out_sizes[i];
        let n = w.n;
        let p = &self.slots[i];
        let (before, rest) = w.acts.split_at_mut(i);
        let x = if i == 0 {
            &w.input[..n * size]
        } else {
            &before[i - 1][..n * size]
        };
        batchnorm::normalize(
            c,
            x,
            &b.mean,
            &b.inv_std,
            &self.params[p[0].clone()],
            &self.params[p[1].clone()],
            &mut w.col[i][..n * size],
            &mut rest[0][..n * size],
        );
    }

    /// Backward pass after a training `forward` with `grad_scale`; leaves the summed
    /// parameter gradient in `ws.grad` and the input gradient in each worker's `ginput`
    /// when `input_grad`.
    pub(crate) fn backward(&self, ws: &mut Workspace<T>, used: usize, input_grad: bool) {
        let l = self.ops.len();
        let total: usize = ws.workers[..used].iter().map(|w| w.n).sum();
        let stop = if input_grad {
            0
        } else {
            self.first_trainable()
        };
        let need_dx = |i: usize| input_grad || i > stop;
        let mut end = l;
        let mut pending: Option<usize> = None;
        let mut first = true;
        loop {
            let start = (stop..end)
                .rev()
                .find(|&i| self.is_bn(i))
                .map_or(stop, |b| b + 1);
            let bn_at = (start > stop).then(|| start - 1);
            let bn = &ws.bn;
            par_workers(&mut ws.workers[..used], |w| {
                if first {
                    let n = w.n;
                    for (j, g) in w.grads[..l - 1].iter_mut().enumerate() {
                        g[..n * self.out_sizes[j]].fill(T::zero());
                    }
                    if input_grad {
                        w.ginput[..n * self.in_size].fill(T::zero());
                    }
                    // Parameter gradients need no zeroing: every trainable layer's
                    // backward overwrites its slots exactly once per pass.
                }
                if let Some(b) = pending {
                    if need_dx(b) {
                        self.bn_input_grad(b, w, &bn[b], total);
                    }
                }
                for i in (start..end).rev() {
                    self.layer_backward(i, w, &self.params, need_dx(i));
                }
                if let Some(b) = bn_at {
                    self.bn_param_grads(b, w);
                }
            });
            first = false;
            let Some(b) = bn_at else { break };
            let p = &self.slots[b];
            let bb = &mut ws.bn[b];
            bb.sdyx.fill(T::zero());
            bb.sdy.fill(T::zero());
            for w in &ws.workers[..used] {
                add_into(&mut bb.sdyx, &w.pgrad[p[0].clone()]);
                add_into(&mut bb.sdy, &w.pgrad[p[1].clone()]);
            }
            pending = Some(b);
            end = b;
        }
        ws.grad.fill(T::zero());
        for w in &ws.workers[..used] {
            add_into(&mut ws.grad, &w.pgrad);
        }
    }

    /// Per-chunk `dgamma`, `dbeta` of training-mode batch norm `i` (into `pgrad`).
    fn bn_param_grads(&self, i: usize, w: &mut Worker<T>) {
        let Op::BatchNorm { c } = self.ops[i] else {
            unreachable!()
        };
        let len = w.n * self.out_sizes[i];
        let p = &self.slots[i];
        let (dg, db) = w.pgrad[p[0].start..p[1].end].split_at_mut(c);
        batchnorm::param_grads(c, &w.grads[i][..len], &w.col[i][..len], dg, db);
    }

    /// Input gradient of training-mode batch norm `i` from the reduced batch sums.
    fn bn_input_grad(&self, i: usize, w: &mut Worker<T>, b: &BnBatch<T>, total: usize) {
        let Op::BatchNorm { c } = self.ops[i] else {
            unreachable!()
        };
        let size = self.out_sizes[i];
        let len = w.n * size;
        let m = total * size / c;
        let gamma = &self.params[self.slots[i][0].clone()];
        let (gb, gr) = w.grads.split_at_mut(i);
        let dx = if i == 0 {
            &mut w.ginput[..len]
        } else {
            &mut gb[i - 1][..len]
        };
        batchnorm::input_grad(
            c,
            m,
            &gr[0][..len],
            &w.col[i][..len],
            gamma,
            &b.inv_std,
            &b.sdy,
            &b.sdyx,
            dx,
        );
    }

    /// Mean loss and accuracy over `y.len()` samples of the flat data `x`, in batches
    /// of the workspace's capacity (batch norm in evaluation mode).
    pub(crate) fn eval_flat(&self, ws: &mut Workspace<T>, x: &[T], y: &[usize]) -> (f64, f64) {
        let n = y.len();
        if n == 0 {
            return (f64::NAN, f64::NAN);
        }
        let cap = ws.capacity();
        let (mut loss, mut correct) = (0.0, 0);
        let idx: Vec<usize> = (0..n).collect();
        for part in idx.chunks(cap) {
            let used = self.load_batch(ws, x, y, part);
            self.forward(ws, used, false, None);
            for w in &ws.workers[..used] {
                loss += w.loss;
                correct += w.correct;
            }
        }
        (loss / n as f64, correct as f64 / n as f64)
    }

    /// Loss (batch mean) of one training step on samples `idx`, leaving the gradient
    /// of the mean loss in `ws.grad` (batch norm in training mode).
    pub(crate) fn batch_grad(
        &mut self,
        ws: &mut Workspace<T>,
        x: &[T],
        y: &[usize],
        idx: &[usize],
        input_grad: bool,
    ) -> (f64, usize) {
        let used = self.load_batch(ws, x, y, idx);
        let scale = T::one() / T::from_f64(idx.len() as f64);
        if self.has_batch_norm() {
            self.forward(ws, used, true, Some(scale));
            self.update_running(ws, idx.len());
            self.backward(ws, used, input_grad);
        } else {
            // Nothing crosses chunks before the gradient sum: forward, loss and
            // backward in one parallel region (same arithmetic as the general path).
            let l = self.ops.len();
            let k = self.num_classes();
            let stop = if input_grad {
                0
            } else {
                self.first_trainable()
            };
            par_workers(&mut ws.workers[..used], |w| {
                let n = w.n;
                for i in 0..l {
                    self.layer_forward(i, w, &self.params);
                }
                let logits = &w.acts[l - 1][..n * k];
                let (loss, correct) = softmax_xent(
                    k,
                    n,
                    logits,
                    &w.labels,
                    scale,
                    Some(&mut w.grads[l - 1][..n * k]),
                );
                w.loss = loss;
                w.correct = correct;
                for (j, g) in w.grads[..l - 1].iter_mut().enumerate() {
                    g[..n * self.out_sizes[j]].fill(T::zero());
                }
                if input_grad {
                    w.ginput[..n * self.in_size].fill(T::zero());
                }
                for i in (stop..l).rev() {
                    self.layer_backward(i, w, &self.params, input_grad || i > stop);
                }
            });
            ws.grad.fill(T::zero());
            for w in &ws.workers[..used] {
                add_into(&mut ws.grad, &w.pgrad);
            }
        }
        let mut loss = 0.0;
        let mut correct = 0;
        for w in &ws.workers[..used] {
            loss += w.loss;
            correct += w.correct;
        }
        (loss / idx.len() as f64, correct)
    }
}

/// Chunk size (samples) for evaluation passes.
pub(crate) const EVAL_CHUNK: usize = 32;
/// Chunks per evaluation batch (fixed, so results do not depend on the thread count).
pub(crate) const EVAL_WORKERS: usize = 4;

impl<T: Real> Model<T> {
    /// Checks that `x` (`[N, ...]`, any layout) fits the input and `y` the classes.
    pub(crate) fn check_data(&self, x: &ndarray::ArrayD<T>, y: &[usize]) -> Result<(), TrainError> {
        let data: Vec<usize> = x.shape().get(1..).unwrap_or(&[]).to_vec();
        if x.ndim() < 2 || data.iter().product::<usize>() != self.in_size || x.shape()[0] != y.len()
        {
            return Err(TrainError::InputMismatch {
                arch: self.arch.input.clone(),
                data,
            });
        }
        if let Some(&bad) = y.iter().find(|&&c| c >= self.num_classes()) {
            return Err(TrainError::ClassMismatch {
                outputs: self.num_classes(),
                classes: bad + 1,
            });
        }
        Ok(())
    }

    /// Mean softmax cross-entropy and accuracy (fraction correct) on samples `x`
    /// (`[N, ...input shape]`; any shape with the same number of values per sample is
    /// read row-major) with class labels `y`. Batch norm uses its running statistics.
    /// Returns NaNs for an empty set.
    pub fn evaluate(&self, x: &ndarray::ArrayD<T>, y: &[usize]) -> Result<(f64, f64), TrainError> {
        self.check_data(x, y)?;
        let x = x.as_standard_layout();
        let mut ws = self.workspace(EVAL_CHUNK, EVAL_WORKERS)?;
        Ok(self.eval_flat(&mut ws, x.as_slice().expect("standard layout"), y))
    }

    /// Class scores (logits) of every sample, `[N, K]`.
    pub fn predict(&self, x: &ndarray::ArrayD<T>) -> Result<ndarray::Array2<T>, TrainError> {
        let n = x.shape().first().copied().unwrap_or(0);
        let zeros = vec![0; n];
        self.check_data(x, &zeros)?;
        let x = x.as_standard_layout();
        let flat = x.as_slice().expect("standard layout");
        let k = self.num_classes();
        let mut ws = self.workspace(EVAL_CHUNK, EVAL_WORKERS)?;
        let mut out = Vec::with_capacity(n * k);
        let idx: Vec<usize> = (0..n).collect();
        let l = self.ops.len();
        for part in idx.chunks(ws.capacity()) {
            let used = self.load_batch(&mut ws, flat, &zeros, part);
            self.forward(&mut ws, used, false, None);
            for w in &ws.workers[..used] {
                out.extend_from_slice(&w.acts[l - 1][..w.n * k]);
            }
        }
        Ok(ndarray::Array2::from_shape_vec((n, k), out).expect("sizes agree"))
    }

    /// Loss (batch mean, batch norm in training mode, which also updates its running
    /// statistics) and its gradient with respect to every parameter and to the input,
    /// for samples `x` (`[N, ...]`) with labels `y`, processed in chunks of `chunk`.
    /// Used by the finite-difference checks.
    pub fn loss_and_gradients(
        &mut self,
        x: &ndarray::ArrayD<T>,
        y: &[usize],
        chunk: usize,
    ) -> Result<(f64, Vec<T>, Vec<T>), TrainError> {
        self.check_data(x, y)?;
        let x = x.as_standard_layout();
        let n = y.len();
        let mut ws = self.workspace(chunk, n.div_ceil(chunk.max(1)))?;
        let idx: Vec<usize> = (0..n).collect();
        let (loss, _) = self.batch_grad(
            &mut ws,
            x.as_slice().expect("standard layout"),
            y,
            &idx,
            true,
        );
        let mut gin = Vec::with_capacity(n * self.in_size);
        for w in &ws.workers[..n.div_ceil(ws.chunk)] {
            gin.extend_from_slice(&w.ginput[..w.n * self.in_size]);
        }
        Ok((loss, ws.grad.clone(), gin))
    }
}

impl<T: Real> Model<T> {
    /// `true` for parameters of weight tensors (decayed by the optimiser), `false` for
    /// biases and batch-norm parameters.
    pub(crate) fn decay_mask(&self) -> Vec<bool> {
        let mut m = vec![false; self.params.len()];
        for (op, s) in self.ops.iter().zip(&self.slots) {
            if op.fans().is_some() {
                m[s[0].clone()].fill(true);
            }
        }
        m
    }
}
