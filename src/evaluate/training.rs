//! The training stage: a short training run of a candidate network, inheriting the
//! weights of its parent where layers match (piecemeal training).

use crate::arch::Arch;
use crate::scenario::DatasetKind;
use crate::train::{self, DataKind, Model, Optimizer, Splits, TrainConfig};

/// Learning rate of search-time training (Adam). Short runs (a few to tens of epochs
/// on tens to hundreds of samples) need a larger step than the trainer's default 1e-3.
pub const SEARCH_LR: f64 = 3e-3;

/// Mini-batch size of search-time training.
pub const SEARCH_BATCH: usize = 16;

/// Figures of one candidate's training run.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainFigures {
    /// Validation loss (mean softmax cross-entropy) after training.
    pub val_loss: f64,
    /// Validation accuracy after training (fraction).
    pub val_accuracy: f64,
    /// Test accuracy (fraction), when a test set exists and it was asked for.
    pub test_accuracy: Option<f64>,
    /// Accuracy of the int8-quantised network, when asked for.
    pub int8_accuracy: Option<f64>,
    /// Epochs run.
    pub epochs: usize,
    /// Layers whose weights came from the parent.
    pub inherited_layers: usize,
    /// Trainable parameters.
    pub params: usize,
}

impl From<DatasetKind> for DataKind {
    fn from(k: DatasetKind) -> DataKind {
        match k {
            DatasetKind::Ts => DataKind::Ts,
            DatasetKind::Csv => DataKind::Csv,
            DatasetKind::Digits => DataKind::Digits,
            DatasetKind::Image => DataKind::Image,
        }
    }
}

/// Trains `arch` for `epochs` epochs from a fresh initialisation (seeded by `seed`),
/// after copying the weights of every matching layer of `parent`. The final training
/// (`final_cuts` set) also measures the test accuracy and the int8 accuracy of the
/// network cut at `final_cuts` ([`train::quant::QNet`], on the test set, else the
/// validation set, else the training set). Returns the trained model and its figures, or
/// [`train::TrainError::Interrupted`] once `stop` is set.
pub fn train_candidate(
    arch: &Arch,
    splits: &Splits,
    epochs: usize,
    seed: u64,
    parent: Option<&Model>,
    final_cuts: Option<&[usize]>,
    stop: Option<&std::sync::atomic::AtomicBool>,
) -> Result<(Model, TrainFigures), train::TrainError> {
    let mut model = Model::new(arch, seed)?;
    let inherited_layers = parent.map(|p| model.inherit_from(p).len()).unwrap_or(0);
    let cfg = TrainConfig {
        epochs,
        batch_size: SEARCH_BATCH,
        optimizer: Optimizer::adam(SEARCH_LR),
        seed,
        quantize: false,
        ..TrainConfig::default()
    };
    let report = match stop {
        Some(stop) => train::fit_until(&mut model, splits, &cfg, stop)?,
        None => train::fit(&mut model, splits, &cfg)?,
    };
    let figures = TrainFigures {
        val_loss: report.val_loss,
        val_accuracy: report.val_accuracy,
        test_accuracy: final_cuts.and(report.test_accuracy),
        int8_accuracy: match final_cuts {
            Some(cuts) => {
                let target = splits.test.as_ref().unwrap_or(if splits.val.is_empty() {
                    &splits.train
                } else {
                    &splits.val
                });
                Some(train::quant::QNet::build(&model, &splits.train, cuts)?.accuracy(target)?)
            }
            None => None,
        },
        epochs: report.epochs,
        inherited_layers,
        params: report.params,
    };
    Ok((model, figures))
}
