//! A surrogate of validation loss and accuracy, fitted online on the candidates the
//! search has trained, so that candidates it predicts to be dominated are not trained
//! (see `docs/fidelity.md`).
//!
//! Features of a candidate ([`features`]): its size, MACs, depth, block kinds,
//! channels, its parent's validation loss and accuracy, the epochs its parent's weights
//! carry, and the epochs it will train. Two linear models share them, one for the loss
//! and one for the accuracy, fitted on standardised features by ridge regression or
//! ordinary least squares, both solved by `linfa-linear`. The surrogate decides only while
//! its Spearman rank correlation on the latest trained candidates is high enough.

use crate::partition::space::NetGenome;
use crate::scenario::{BlockKind, PoolKind, SurrogateModel};
use linfa::prelude::*;
use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Number of features of a candidate.
pub const FEATURES: usize = 17;

/// Trained candidates needed before the surrogate is fitted: two per coefficient.
pub const MIN_SAMPLES: usize = 2 * (FEATURES + 1);

/// Pairs (prediction, outcome) needed before the rank correlation may let the
/// surrogate decide.
pub const MIN_PAIRS: usize = 8;

/// L2 penalty of the ridge model (on standardised features; `linfa-elasticnet`'s
/// objective `‖y − Xw‖² / 2n + penalty · ‖w‖² / 2`).
pub const RIDGE_PENALTY: f64 = 0.1;

/// What the surrogate knows of a trained candidate, to describe its children.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Known {
    pub val_loss: f64,
    pub val_accuracy: f64,
    /// Epochs of training its weights carry (its own plus its ancestors').
    pub epochs_total: usize,
    /// Blocks of its network.
    pub blocks: usize,
    /// [`super::pipeline::ron_key`] of its network (a child with the same network
    /// takes the trained weights over, untrained).
    pub arch_key: u64,
}

/// The features of a candidate network (see the module documentation): `params`
/// trainable parameters, `macs` multiply-accumulates, `layers` layers, `parent` what is
/// known of the parent whose weights it inherits, `epochs` the epochs it will train,
/// `classes` the dataset's classes (for the loss and accuracy of a network with no
/// parent: `ln K` and `1/K`, those of a uniform guess).
pub fn features(
    net: &NetGenome,
    params: u64,
    macs: u64,
    layers: usize,
    parent: Option<&Known>,
    epochs: usize,
    classes: usize,
) -> Vec<f64> {
    let count = |k: BlockKind| net.blocks.iter().filter(|b| b.kind == k).count() as f64;
    let channels: usize = net.blocks.iter().map(|b| b.channels).sum();
    let widest = net.blocks.iter().map(|b| b.channels).max().unwrap_or(0);
    let pools = net
        .blocks
        .iter()
        .filter(|b| b.pool != PoolKind::None)
        .count();
    let strided = net.blocks.iter().filter(|b| b.stride > 1).count();
    let k = classes.max(2) as f64;
    let ln1 = |x: f64| (1.0 + x).ln();
    let (has, loss, acc, carried, depth_change) = match parent {
        Some(p) => (
            1.0,
            p.val_loss,
            p.val_accuracy,
            p.epochs_total as f64,
            (net.blocks.len() as f64 - p.blocks as f64).abs(),
        ),
        None => (0.0, k.ln(), 1.0 / k, 0.0, 0.0),
    };
    vec![
        ln1(params as f64),
        ln1(macs as f64),
        layers as f64,
        count(BlockKind::Conv),
        count(BlockKind::Separable),
        count(BlockKind::Residual),
        ln1(channels as f64),
        ln1(widest as f64),
        ln1(net.dense_units as f64),
        pools as f64,
        strided as f64,
        has,
        loss,
        acc,
        ln1(carried),
        epochs as f64,
        depth_change,
    ]
}

/// A linear model on standardised features: `intercept + Σ w_j (x_j − mean_j) / scale_j`.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearFit {
    mean: Vec<f64>,
    scale: Vec<f64>,
    weights: Vec<f64>,
    intercept: f64,
}

impl LinearFit {
    /// Fits `model` to rows `x` and targets `y`; `None` when there are fewer than
    /// [`MIN_SAMPLES`] rows or the solver fails.
    pub fn fit(model: SurrogateModel, x: &[Vec<f64>], y: &[f64]) -> Option<LinearFit> {
        let n = x.len();
        if n < MIN_SAMPLES || y.len() != n {
            return None;
        }
        let d = x[0].len();
        let mut mean = vec![0.0; d];
        for r in x {
            for j in 0..d {
                mean[j] += r[j] / n as f64;
            }
        }
        let mut scale = vec![0.0; d];
        for r in x {
            for j in 0..d {
                scale[j] += (r[j] - mean[j]).powi(2) / n as f64;
            }
        }
        // a constant feature gets scale 1 (its standardised value is 0)
        let scale: Vec<f64> = scale
            .iter()
            .map(|v| if v.sqrt() > 1e-12 { v.sqrt() } else { 1.0 })
            .collect();
        let z = Array2::from_shape_fn((n, d), |(i, j)| (x[i][j] - mean[j]) / scale[j]);
        let t = Array1::from_vec(y.to_vec());
        let (weights, intercept) = match model {
            SurrogateModel::Ridge => ridge(&z, &t)?,
            SurrogateModel::Linear => {
                let data = Dataset::new(z, t);
                let fit = linfa_linear::LinearRegression::new().fit(&data).ok()?;
                (fit.params().to_vec(), fit.intercept())
            }
        };
        if weights.iter().chain([&intercept]).any(|w| !w.is_finite()) {
            return None;
        }
        Some(LinearFit {
            mean,
            scale,
            weights,
            intercept,
        })
    }

    /// The model's value at `x`.
    pub fn predict(&self, x: &[f64]) -> f64 {
        self.intercept
            + x.iter()
                .zip(&self.mean)
                .zip(&self.scale)
                .zip(&self.weights)
                .map(|(((x, m), s), w)| w * (x - m) / s)
                .sum::<f64>()
    }
}

/// Ridge regression on standardised features `z` (columns of mean 0): minimises
/// `‖y − b − z·w‖² / 2n + RIDGE_PENALTY · ‖w‖² / 2` (`linfa-elasticnet`'s ridge
/// objective, intercept not penalised). Solved exactly as ordinary least squares
/// (`linfa-linear`) of `y − ȳ` on `z` stacked over `√(n·penalty)·I` against zeros; the
/// intercept is `ȳ`. A unit test checks it against `linfa-elasticnet`'s coordinate
/// descent, which takes over 100 times as long (docs/performance.md).
fn ridge(z: &Array2<f64>, y: &Array1<f64>) -> Option<(Vec<f64>, f64)> {
    let (n, d) = z.dim();
    let mean = y.sum() / n as f64;
    let root = (n as f64 * RIDGE_PENALTY).sqrt();
    let x = Array2::from_shape_fn((n + d, d), |(i, j)| {
        if i < n {
            z[[i, j]]
        } else if i - n == j {
            root
        } else {
            0.0
        }
    });
    let t = Array1::from_shape_fn(n + d, |i| if i < n { y[i] - mean } else { 0.0 });
    let fit = linfa_linear::LinearRegression::new()
        .with_intercept(false)
        .fit(&Dataset::new(x, t))
        .ok()?;
    Some((fit.params().to_vec(), mean))
}

/// Spearman's rank correlation of paired samples (average ranks for ties); `None`
/// with fewer than 3 pairs or when one side is constant.
pub fn spearman(a: &[f64], b: &[f64]) -> Option<f64> {
    if a.len() != b.len() || a.len() < 3 {
        return None;
    }
    let (ra, rb) = (ranks(a), ranks(b));
    let n = a.len() as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in ra.iter().zip(&rb) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma).powi(2);
        sbb += (y - mb).powi(2);
    }
    (saa > 0.0 && sbb > 0.0).then(|| sab / (saa * sbb).sqrt())
}

/// 1-based ranks, ties sharing their average rank.
fn ranks(v: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by(|&i, &j| v[i].total_cmp(&v[j]));
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && v[order[j + 1]] == v[order[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            r[k] = avg;
        }
        i = j + 1;
    }
    r
}

/// How many candidates reached each stage of the fidelity ladder.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageCounts {
    /// Candidates evaluated (cost model), cache hits not included.
    pub costed: u64,
    /// Invalid (no shape, no route, simulation or training error).
    pub invalid: u64,
    /// Over a memory budget by more than `skip_margin`: not simulated.
    pub skipped: u64,
    /// Simulated.
    pub simulated: u64,
    /// Trained at search time (promoted ones included).
    pub trained: u64,
    /// Networks equal to their parent's: its weights are taken over, not trained.
    pub inherited: u64,
    /// Given predicted loss and accuracy instead of being trained.
    pub predicted: u64,
    /// Predicted, then trained because they would have entered the archive or the
    /// best-so-far front.
    pub promoted: u64,
}

/// A sample of the surrogate: features and the measured loss and accuracy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Sample {
    x: Vec<f64>,
    val_loss: f64,
    val_accuracy: f64,
}

/// A prediction and what training then measured.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct Pair {
    predicted_loss: f64,
    loss: f64,
    predicted_accuracy: f64,
    accuracy: f64,
}

/// The two fitted models.
#[derive(Debug, Clone, PartialEq)]
pub struct Fitted {
    pub loss: LinearFit,
    pub accuracy: LinearFit,
}

impl Fitted {
    /// Predicted (validation loss ≥ 0, validation accuracy in [0, 1]) at `x`.
    pub fn predict(&self, x: &[f64]) -> (f64, f64) {
        (
            self.loss.predict(x).max(0.0),
            self.accuracy.predict(x).clamp(0.0, 1.0),
        )
    }
}

/// What the surrogate tells the screening of a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub fitted: Fitted,
    /// Whether it may decide which candidates are trained (its rank correlation is
    /// high enough).
    pub deciding: bool,
    /// Root-mean-square errors of its recent loss and accuracy predictions.
    pub rmse_loss: f64,
    pub rmse_accuracy: f64,
}

/// Everything the surrogate learns during a run (kept in checkpoints).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SurrogateState {
    samples: Vec<Sample>,
    /// Trained candidates by genome key.
    known: BTreeMap<u64, Known>,
    /// Predictions of the predicted candidates, by genome key (for promotions).
    pending: BTreeMap<u64, (f64, f64)>,
    pairs: Vec<Pair>,
    /// Cumulative stage counts.
    pub counts: StageCounts,
    /// Rank correlation after each generation (the window's, `None` before there are
    /// enough pairs).
    pub correlations: Vec<Option<f64>>,
    /// Whether the surrogate decided during each generation.
    pub deciding: Vec<bool>,
    /// Whether it decides for the batch being evaluated.
    #[serde(skip)]
    pub deciding_now: bool,
    #[serde(skip)]
    fitted: Option<Fitted>,
}

/// The surrogate's settings and state.
#[derive(Debug, Clone)]
pub struct Surrogate {
    pub model: SurrogateModel,
    /// Threshold of the rank correlation.
    pub min_rank_correlation: f64,
    /// Pairs in the window of the rank correlation and the errors.
    pub window: usize,
    pub state: SurrogateState,
}

impl Surrogate {
    pub fn new(model: SurrogateModel, min_rank_correlation: f64, window: usize) -> Surrogate {
        Surrogate {
            model,
            min_rank_correlation,
            window: window.max(MIN_PAIRS),
            state: SurrogateState::default(),
        }
    }

    /// What is known of a trained candidate.
    pub fn known(&self, key: u64) -> Option<&Known> {
        self.state.known.get(&key)
    }

    fn window(&self) -> &[Pair] {
        let p = &self.state.pairs;
        &p[p.len().saturating_sub(self.window)..]
    }

    /// The window's rank correlation of predicted and measured loss.
    pub fn rank_correlation(&self) -> Option<f64> {
        let w = self.window();
        if w.len() < MIN_PAIRS {
            return None;
        }
        let a: Vec<f64> = w.iter().map(|p| p.predicted_loss).collect();
        let b: Vec<f64> = w.iter().map(|p| p.loss).collect();
        spearman(&a, &b)
    }

    /// The verdict for the next batch (`None`: not fitted yet).
    pub fn verdict(&self) -> Option<Verdict> {
        let fitted = self.state.fitted.clone()?;
        let w = self.window();
        let rms = |f: &dyn Fn(&Pair) -> f64| {
            if w.is_empty() {
                f64::INFINITY
            } else {
                (w.iter().map(|p| f(p).powi(2)).sum::<f64>() / w.len() as f64).sqrt()
            }
        };
        let deciding = self
            .rank_correlation()
            .is_some_and(|r| r >= self.min_rank_correlation);
        Some(Verdict {
            fitted,
            deciding,
            rmse_loss: rms(&|p| p.predicted_loss - p.loss),
            rmse_accuracy: rms(&|p| p.predicted_accuracy - p.accuracy),
        })
    }

    /// Records a predicted candidate (stage `predicted`).
    pub fn record_predicted(&mut self, key: u64, loss: f64, accuracy: f64) {
        self.state.counts.predicted += 1;
        self.state.pending.insert(key, (loss, accuracy));
    }

    /// Records a trained candidate: `x` its features, `prediction` the surrogate's
    /// prediction before training (if any; a promoted candidate's is looked up).
    pub fn record_trained(
        &mut self,
        key: u64,
        x: Vec<f64>,
        known: Known,
        prediction: Option<(f64, f64)>,
    ) {
        self.state.counts.trained += 1;
        let prediction = prediction.or_else(|| self.state.pending.remove(&key));
        if let Some((pl, pa)) = prediction {
            self.state.pairs.push(Pair {
                predicted_loss: pl,
                loss: known.val_loss,
                predicted_accuracy: pa,
                accuracy: known.val_accuracy,
            });
        }
        self.state.samples.push(Sample {
            x,
            val_loss: known.val_loss,
            val_accuracy: known.val_accuracy,
        });
        self.state.known.insert(key, known);
    }

    /// Records a candidate that took its parent's trained network over.
    pub fn record_inherited(&mut self, key: u64, known: Known) {
        self.state.counts.inherited += 1;
        self.state.known.insert(key, known);
    }

    /// Refits both models on every sample (in the order they came).
    pub fn refit(&mut self) {
        let x: Vec<Vec<f64>> = self.state.samples.iter().map(|s| s.x.clone()).collect();
        let loss: Vec<f64> = self.state.samples.iter().map(|s| s.val_loss).collect();
        let acc: Vec<f64> = self.state.samples.iter().map(|s| s.val_accuracy).collect();
        self.state.fitted = LinearFit::fit(self.model, &x, &loss)
            .zip(LinearFit::fit(self.model, &x, &acc))
            .map(|(loss, accuracy)| Fitted { loss, accuracy });
    }

    /// Closes a generation: logs the rank correlation and whether the surrogate
    /// decided.
    pub fn end_generation(&mut self, deciding: bool) {
        let r = self.rank_correlation();
        self.state.correlations.push(r);
        self.state.deciding.push(deciding);
    }

    /// Replaces the state (on resume) and refits.
    pub fn restore(&mut self, state: SurrogateState) {
        self.state = state;
        self.refit();
    }
}

/// Whether some archive point dominates `p` once the predicted objectives are
/// improved by `delta` (`delta[k]` is 0 for the objectives that were measured):
/// `a_k ≤ p_k − δ_k` for every k, strictly for one.
pub fn dominated_beyond(p: &[f64], delta: &[f64], archive: &[&[f64]]) -> bool {
    archive.iter().any(|a| {
        let mut strict = false;
        for k in 0..p.len() {
            let q = p[k] - delta[k];
            if a[k] > q {
                return false;
            }
            strict |= a[k] < q;
        }
        strict
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ranks by hand: a = (1, 2, 3, 4, 5), b = (2, 1, 4, 3, 5) → d = (−1, 1, −1, 1, 0),
    /// Σd² = 4, ρ = 1 − 6·4 / (5·24) = 0.8.
    #[test]
    fn spearman_of_a_hand_example() {
        let r = spearman(&[10.0, 20.0, 30.0, 40.0, 50.0], &[0.2, 0.1, 0.4, 0.3, 0.5]).unwrap();
        assert!((r - 0.8).abs() < 1e-12, "{r}");
        // reversed order: −1
        let r = spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]).unwrap();
        assert!((r + 1.0).abs() < 1e-12);
        assert_eq!(spearman(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]), None);
    }

    /// Ties: a = (1, 2, 2, 3) has ranks (1, 2.5, 2.5, 4); b = (1, 2, 3, 4). Pearson of
    /// the ranks: deviations (−1.5, 0, 0, 1.5) and (−1.5, −0.5, 0.5, 1.5): Σxy = 4.5,
    /// Σx² = 4.5, Σy² = 5 → ρ = 4.5 / √22.5 = 0.9486832980505138.
    #[test]
    fn spearman_averages_tied_ranks() {
        let r = spearman(&[1.0, 2.0, 2.0, 3.0], &[1.0, 2.0, 3.0, 4.0]).unwrap();
        assert!((r - 0.948_683_298_050_513_8).abs() < 1e-12, "{r}");
    }

    /// A target that is exactly linear in the features is recovered by both models
    /// (ridge shrinks a little: within 2 %).
    #[test]
    fn both_models_recover_a_linear_target() {
        let x: Vec<Vec<f64>> = (0..60)
            .map(|i| {
                let i = i as f64;
                vec![i, (i * 7.0) % 11.0, (i * 3.0) % 5.0]
            })
            .collect();
        let y: Vec<f64> = x
            .iter()
            .map(|r| 2.0 + 0.5 * r[0] - r[1] + 3.0 * r[2])
            .collect();
        let probe = [30.0, 4.0, 2.0];
        let want = 2.0 + 15.0 - 4.0 + 6.0;
        let ols = LinearFit::fit(SurrogateModel::Linear, &x, &y).unwrap();
        assert!((ols.predict(&probe) - want).abs() < 1e-6);
        let ridge = LinearFit::fit(SurrogateModel::Ridge, &x, &y).unwrap();
        assert!((ridge.predict(&probe) - want).abs() < 0.02 * want);
        assert!(LinearFit::fit(SurrogateModel::Linear, &x[..10], &y[..10]).is_none());
    }

    /// The exact ridge solution equals `linfa-elasticnet`'s ridge (coordinate descent,
    /// an independent solver) on correlated features, to its tolerance.
    #[test]
    fn ridge_equals_linfa_elasticnet() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        let n = 80;
        let x: Vec<Vec<f64>> = (0..n)
            .map(|_| {
                let a: f64 = rng.random();
                vec![a, a + 0.1 * rng.random::<f64>(), rng.random(), 3.0]
            })
            .collect();
        let y: Vec<f64> = x
            .iter()
            .map(|r| 1.0 + 2.0 * r[0] - r[2] + 0.05 * rng.random::<f64>())
            .collect();
        let ours = LinearFit::fit(SurrogateModel::Ridge, &x, &y).unwrap();
        let z = Array2::from_shape_fn((n, 4), |(i, j)| (x[i][j] - ours.mean[j]) / ours.scale[j]);
        let theirs = linfa_elasticnet::ElasticNet::ridge()
            .penalty(RIDGE_PENALTY)
            .tolerance(1e-10)
            .max_iterations(100_000)
            .fit(&Dataset::new(z, Array1::from_vec(y.clone())))
            .unwrap();
        for (a, b) in ours.weights.iter().zip(theirs.hyperplane()) {
            assert!(
                (a - b).abs() < 1e-6,
                "{:?} vs {}",
                ours.weights,
                theirs.hyperplane()
            );
        }
        assert!((ours.intercept - theirs.intercept()).abs() < 1e-6);
        // the penalty shrinks: not the least-squares weights
        let ols = LinearFit::fit(SurrogateModel::Linear, &x, &y).unwrap();
        assert!(ours
            .weights
            .iter()
            .zip(&ols.weights)
            .any(|(a, b)| (a - b).abs() > 1e-2));
    }

    /// (1, 1) dominates (2, 2) by a margin of 0.5 on the first objective, not by 1.5;
    /// an equal point does not dominate.
    #[test]
    fn dominance_beyond_a_margin() {
        let a: &[f64] = &[1.0, 1.0];
        assert!(dominated_beyond(&[2.0, 2.0], &[0.5, 0.0], &[a]));
        assert!(!dominated_beyond(&[2.0, 2.0], &[1.5, 0.0], &[a]));
        assert!(!dominated_beyond(&[1.0, 1.0], &[0.0, 0.0], &[a]));
        assert!(dominated_beyond(&[1.0, 2.0], &[0.0, 0.0], &[a]));
    }
}
