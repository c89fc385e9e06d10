//! The training loop: mini-batches, per-epoch shuffling, learning-rate schedule,
//! early stopping, and the final report.

use super::model::{Model, Workspace, EVAL_CHUNK, EVAL_WORKERS};
use super::optim::{OptState, Optimizer, Schedule};
use super::{quant, Dataset, Splits, TrainError};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// How to train.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainConfig {
    /// Maximum number of passes over the training split.
    pub epochs: usize,
    /// Samples per mini-batch (the last batch of an epoch may be smaller).
    pub batch_size: usize,
    /// Optimiser and base learning rate.
    pub optimizer: Optimizer,
    /// Learning-rate schedule over the epochs.
    pub schedule: Schedule,
    /// Stop after this many epochs without a lower validation loss (`None`: never).
    pub patience: Option<usize>,
    /// At the end, go back to the weights of the epoch with the lowest validation loss.
    pub restore_best: bool,
    /// Seed of the per-epoch shuffling.
    pub seed: u64,
    /// Samples per parallel chunk (fixed: results do not depend on the thread count).
    pub chunk: usize,
    /// Also evaluate the int8 post-training-quantised network.
    pub quantize: bool,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 100,
            batch_size: 16,
            optimizer: Optimizer::default(),
            schedule: Schedule::Constant,
            patience: None,
            restore_best: false,
            seed: 0,
            chunk: 4,
            quantize: true,
        }
    }
}

/// Figures of one epoch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EpochStats {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean training loss over the epoch's mini-batches (as trained, batch norm in training mode).
    pub train_loss: f64,
    /// Training accuracy over the epoch's mini-batches.
    pub train_accuracy: f64,
    /// Validation loss after the epoch (batch norm in evaluation mode).
    pub val_loss: f64,
    /// Validation accuracy after the epoch.
    pub val_accuracy: f64,
    /// Learning rate used.
    pub lr: f64,
}

/// Result of [`fit`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainReport {
    /// Mean training loss of the last epoch run.
    pub train_loss: f64,
    /// Validation loss of the final weights. Without a validation split this and
    /// `val_accuracy` are measured on the training split.
    pub val_loss: f64,
    /// Validation accuracy of the final weights.
    pub val_accuracy: f64,
    /// Test loss of the final weights, if there is a test set.
    pub test_loss: Option<f64>,
    /// Test accuracy of the final weights, if there is a test set.
    pub test_accuracy: Option<f64>,
    /// Accuracy of the int8-quantised network on the test set (or validation set,
    /// or training set, whichever comes first), if `quantize`.
    pub int8_accuracy: Option<f64>,
    /// Epochs run.
    pub epochs: usize,
    /// Epoch (1-based) with the lowest validation loss.
    pub best_epoch: usize,
    /// True if early stopping ended training.
    pub stopped_early: bool,
    /// Trainable parameters.
    pub params: usize,
    /// Training throughput: samples through forward + backward + update per second
    /// of training time (evaluation excluded).
    pub train_samples_per_s: f64,
    /// Per-epoch figures.
    pub history: Vec<EpochStats>,
}

/// Trains `model` on `splits.train` (see [`fit_with`]).
pub fn fit(
    model: &mut Model,
    splits: &Splits,
    cfg: &TrainConfig,
) -> Result<TrainReport, TrainError> {
    fit_with(model, splits, cfg, &mut |_| ControlFlow::Continue(()))
}

/// [`fit`] that gives up with [`TrainError::Interrupted`] once `stop` is set (checked
/// after every epoch): how a search's final training answers Ctrl-C or SIGTERM.
pub fn fit_until(
    model: &mut Model,
    splits: &Splits,
    cfg: &TrainConfig,
    stop: &AtomicBool,
) -> Result<TrainReport, TrainError> {
    fit_with(model, splits, cfg, &mut |_| {
        if stop.load(Ordering::SeqCst) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
}

/// Trains `model` on `splits.train`, calling `on_epoch` after every epoch, and
/// evaluates it on the validation and test sets. Uses the current rayon thread pool;
/// the result does not depend on its size. `on_epoch` returning `Break` ends training
/// with [`TrainError::Interrupted`] (the model then holds the last epoch's weights).
pub fn fit_with(
    model: &mut Model,
    splits: &Splits,
    cfg: &TrainConfig,
    on_epoch: &mut dyn FnMut(&EpochStats) -> ControlFlow<()>,
) -> Result<TrainReport, TrainError> {
    if cfg.batch_size == 0 || cfg.chunk == 0 {
        return Err(TrainError::Config(
            "batch_size and chunk must be > 0".into(),
        ));
    }
    let lr = cfg.optimizer.lr();
    if !(lr.is_finite() && lr > 0.0) {
        return Err(TrainError::Config(format!(
            "learning rate {lr} must be positive"
        )));
    }
    if splits.train.is_empty() {
        return Err(TrainError::EmptyTraining);
    }
    if model.num_classes() != splits.num_classes() {
        return Err(TrainError::ClassMismatch {
            outputs: model.num_classes(),
            classes: splits.num_classes(),
        });
    }
    model.check_data(&splits.train.x, splits.train.labels())?;
    let (x, y) = (splits.train.flat(), splits.train.labels());
    let (val_x, val_y) = if splits.val.is_empty() {
        (x, y)
    } else {
        (splits.val.flat(), splits.val.labels())
    };
    // a batch larger than the training split is the whole split (full-batch training):
    // the same updates, without a workspace sized for samples that do not exist
    let cfg = &TrainConfig {
        batch_size: cfg.batch_size.min(y.len()),
        ..cfg.clone()
    };
    let mut trainer = Trainer::new(model, cfg)?;
    let mut ews = trainer.model.workspace(EVAL_CHUNK, EVAL_WORKERS)?;
    let mut history = Vec::new();
    let mut best = (f64::INFINITY, 0usize);
    let mut best_weights: Option<(Vec<f32>, Vec<f32>)> = None;
    let mut wait = 0;
    let mut stopped_early = false;
    let mut train_secs = 0.0;
    let mut trained = 0usize;
    for epoch in 0..cfg.epochs {
        let lr_e = lr * cfg.schedule.factor(epoch, cfg.epochs);
        let t0 = Instant::now();
        let (train_loss, train_accuracy) = trainer.epoch(&splits.train, lr_e)?;
        train_secs += t0.elapsed().as_secs_f64();
        trained += y.len();
        let model = &mut *trainer.model;
        let (val_loss, val_accuracy) = model.eval_flat(&mut ews, val_x, val_y);
        let stats = EpochStats {
            epoch: epoch + 1,
            train_loss,
            train_accuracy,
            val_loss,
            val_accuracy,
            lr: lr_e,
        };
        let flow = on_epoch(&stats);
        history.push(stats);
        if flow.is_break() {
            return Err(TrainError::Interrupted { epochs: epoch + 1 });
        }
        if val_loss < best.0 {
            best = (val_loss, epoch + 1);
            wait = 0;
            if cfg.restore_best {
                best_weights = Some((model.params.clone(), model.state.clone()));
            }
        } else {
            wait += 1;
            if cfg.patience.is_some_and(|p| wait >= p) {
                stopped_early = true;
                break;
            }
        }
    }
    let model = trainer.model;
    if let Some((p, s)) = best_weights {
        model.params = p;
        model.state = s;
    }
    let (val_loss, val_accuracy) = model.eval_flat(&mut ews, val_x, val_y);
    let (test_loss, test_accuracy) = match &splits.test {
        Some(t) => {
            model.check_data(&t.x, t.labels())?;
            let (l, a) = model.eval_flat(&mut ews, t.flat(), t.labels());
            (Some(l), Some(a))
        }
        None => (None, None),
    };
    let int8_accuracy = if cfg.quantize {
        let target = splits.test.as_ref().unwrap_or(if splits.val.is_empty() {
            &splits.train
        } else {
            &splits.val
        });
        Some(quant::int8_accuracy(model, &splits.train, target)?)
    } else {
        None
    };
    Ok(TrainReport {
        train_loss: history.last().map_or(f64::NAN, |h| h.train_loss),
        val_loss,
        val_accuracy,
        test_loss,
        test_accuracy,
        int8_accuracy,
        epochs: history.len(),
        best_epoch: best.1,
        stopped_early,
        params: model.num_params(),
        train_samples_per_s: if train_secs > 0.0 {
            trained as f64 / train_secs
        } else {
            0.0
        },
        history,
    })
}

/// A model with its optimiser state, shuffling generator and preallocated buffers:
/// the epoch-level API under [`fit`] (benches and custom loops use it directly).
pub struct Trainer<'m> {
    model: &'m mut Model,
    ws: Workspace<f32>,
    opt: OptState,
    rng: ChaCha8Rng,
    order: Vec<usize>,
    batch_size: usize,
}

impl<'m> Trainer<'m> {
    /// Prepares training of `model` with `cfg`'s optimiser, batch size, chunk size and
    /// shuffling seed.
    pub fn new(model: &'m mut Model, cfg: &TrainConfig) -> Result<Trainer<'m>, TrainError> {
        if cfg.batch_size == 0 || cfg.chunk == 0 {
            return Err(TrainError::Config(
                "batch_size and chunk must be > 0".into(),
            ));
        }
        let ws = model.workspace(cfg.chunk, cfg.batch_size.div_ceil(cfg.chunk))?;
        let opt = OptState::new(cfg.optimizer, model.decay_mask());
        Ok(Trainer {
            model,
            ws,
            opt,
            rng: ChaCha8Rng::seed_from_u64(cfg.seed),
            order: Vec::new(),
            batch_size: cfg.batch_size,
        })
    }

    /// One pass over `data` in shuffled mini-batches at learning rate `lr`; returns the
    /// mean training loss and accuracy (as trained, batch norm in training mode).
    pub fn epoch(&mut self, data: &Dataset, lr: f64) -> Result<(f64, f64), TrainError> {
        let (x, y) = (data.flat(), data.labels());
        if y.is_empty() {
            return Err(TrainError::EmptyTraining);
        }
        self.model.check_data(&data.x, y)?;
        if self.order.len() != y.len() {
            self.order = (0..y.len()).collect();
        }
        self.order.shuffle(&mut self.rng);
        let (mut loss_sum, mut correct) = (0.0, 0);
        for batch in self.order.chunks(self.batch_size) {
            let (loss, c) = self.model.batch_grad(&mut self.ws, x, y, batch, false);
            self.opt.step(&mut self.model.params, &self.ws.grad, lr);
            loss_sum += loss * batch.len() as f64;
            correct += c;
        }
        Ok((loss_sum / y.len() as f64, correct as f64 / y.len() as f64))
    }

    /// The model being trained.
    pub fn model(&self) -> &Model {
        self.model
    }
}
