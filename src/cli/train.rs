//! `distrinas train`: train one network on a dataset and print its figures.

use clap::{Args, ValueEnum};
use distrinas::arch::Arch;
use distrinas::train::{
    self, DataKind, Model, Optimizer, Schedule, SplitOptions, Splits, TrainConfig,
};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::process::ExitCode;

/// Dataset file kinds accepted by `--kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    /// UEA/UCR `.ts` time series.
    Ts,
    /// CSV `features..., label` (`[F, 1]` series, reshaped to the arch input if sizes agree).
    Csv,
    /// 8×8 digits CSV as `[8, 8, 1]` images.
    Digits,
    /// Square images, `S × S` pixel columns then the label, as `[S, S, 1]` (MNIST).
    Image,
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Training file (`.ts` or CSV); a stratified validation split is taken from it.
    #[arg(long)]
    pub train: PathBuf,
    /// Test file (same kind and classes).
    #[arg(long)]
    pub test: Option<PathBuf>,
    /// Architecture file (RON `Arch(input: [...], layers: [...])`).
    #[arg(long)]
    pub arch: PathBuf,
    /// Maximum epochs.
    #[arg(long, default_value_t = 100)]
    pub epochs: usize,
    /// Mini-batch size.
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// Seed of the weights, the shuffling and the validation split.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Fraction of the training file held out for validation, per class.
    #[arg(long, default_value_t = 0.2)]
    pub validation_fraction: f64,
    /// Pad (at the end) or truncate every series to this length (default: the longest
    /// training series).
    #[arg(long)]
    pub length: Option<usize>,
    /// Stop after this many epochs without a better validation loss.
    #[arg(long)]
    pub patience: Option<usize>,
    /// Cosine learning-rate decay to this fraction of `--lr` (default: constant).
    #[arg(long)]
    pub cosine: Option<f64>,
    /// Decoupled (AdamW) weight decay.
    #[arg(long, default_value_t = 0.0)]
    pub weight_decay: f64,
    /// File kind (default: from the file name).
    #[arg(long, value_enum)]
    pub kind: Option<KindArg>,
    /// Write the trained weights here.
    #[arg(long)]
    pub save: Option<PathBuf>,
    /// Start from these weights (same architecture).
    #[arg(long)]
    pub load: Option<PathBuf>,
    /// Skip the int8 quantised evaluation.
    #[arg(long)]
    pub no_int8: bool,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: TrainArgs) -> anyhow::Result<ExitCode> {
    match a.threads {
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()?
            .install(|| train(a)),
        None => train(a),
    }
}

fn train(a: TrainArgs) -> anyhow::Result<ExitCode> {
    let arch_text = std::fs::read_to_string(&a.arch)
        .map_err(|e| anyhow::anyhow!("{}: {e}", a.arch.display()))?;
    let arch =
        Arch::from_ron(&arch_text).map_err(|e| anyhow::anyhow!("{}:{e}", a.arch.display()))?;
    let kind = match a.kind {
        Some(KindArg::Ts) => DataKind::Ts,
        Some(KindArg::Csv) => DataKind::Csv,
        Some(KindArg::Digits) => DataKind::Digits,
        Some(KindArg::Image) => DataKind::Image,
        None => DataKind::from_path(&a.train),
    };
    let opts = SplitOptions {
        validation_fraction: a.validation_fraction,
        seed: a.seed,
        length: a.length,
    };
    let splits = Splits::load(kind, &a.train, a.test.as_deref(), &opts)?;
    let mut model = Model::new(&arch, a.seed)?;
    if let Some(w) = &a.load {
        model.load_weights(w)?;
    }
    let cfg = TrainConfig {
        epochs: a.epochs,
        batch_size: a.batch,
        optimizer: match Optimizer::adam(a.lr) {
            Optimizer::Adam {
                beta1, beta2, eps, ..
            } => Optimizer::Adam {
                lr: a.lr,
                beta1,
                beta2,
                eps,
                weight_decay: a.weight_decay,
            },
            o => o,
        },
        schedule: a
            .cosine
            .map_or(Schedule::Constant, |m| Schedule::Cosine { min_factor: m }),
        patience: a.patience,
        restore_best: a.patience.is_some(),
        seed: a.seed,
        quantize: !a.no_int8,
        ..TrainConfig::default()
    };
    eprintln!(
        "train: {} samples, validation {}, test {}, {} classes, input {:?}, {} params",
        splits.train.len(),
        splits.val.len(),
        splits.test.as_ref().map_or(0, |t| t.len()),
        splits.num_classes(),
        splits.input_shape,
        model.num_params()
    );
    let bar = ProgressBar::new(cfg.epochs as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} epochs {elapsed_precise} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let report = train::fit_with(&mut model, &splits, &cfg, &mut |e| {
        let line = format!(
            "epoch {:>4}  loss {:.4}  acc {:.3}  val loss {:.4}  val acc {:.3}  lr {:.2e}",
            e.epoch, e.train_loss, e.train_accuracy, e.val_loss, e.val_accuracy, e.lr
        );
        if bar.is_hidden() {
            eprintln!("{line}");
        } else {
            bar.println(line);
        }
        bar.inc(1);
        std::ops::ControlFlow::Continue(())
    })?;
    bar.finish_and_clear();
    if let Some(w) = &a.save {
        model.save_weights(w)?;
    }
    if a.json {
        let v = serde_json::json!({
            "train_loss": report.train_loss,
            "val_loss": report.val_loss,
            "val_accuracy": report.val_accuracy,
            "test_loss": report.test_loss,
            "test_accuracy": report.test_accuracy,
            "int8_accuracy": report.int8_accuracy,
            "params": report.params,
            "epochs": report.epochs,
            "best_epoch": report.best_epoch,
            "stopped_early": report.stopped_early,
            "train_samples_per_s": report.train_samples_per_s,
            "classes": splits.classes,
        });
        println!("{v}");
    } else {
        println!("params               {}", report.params);
        println!(
            "epochs               {} (best {})",
            report.epochs, report.best_epoch
        );
        println!("train loss           {:.4}", report.train_loss);
        println!(
            "val loss / accuracy  {:.4} / {:.4}",
            report.val_loss, report.val_accuracy
        );
        if let (Some(l), Some(acc)) = (report.test_loss, report.test_accuracy) {
            println!("test loss / accuracy {l:.4} / {acc:.4}");
        }
        if let Some(q) = report.int8_accuracy {
            println!("int8 accuracy        {q:.4}");
        }
        println!("train samples/s      {:.0}", report.train_samples_per_s);
    }
    Ok(ExitCode::SUCCESS)
}
