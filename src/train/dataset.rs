//! Datasets: parsed raw cases ([`RawSet`]), fixed-shape standardised arrays
//! ([`Dataset`]) and the train / validation / test [`Splits`].
//!
//! Pipeline ([`Splits::new`]):
//! 1. Class names: the `.ts` header's `@classLabel` list if present, else the sorted
//!    distinct training labels (numerically sorted if all are numbers). A test label
//!    outside that list is an error.
//! 2. Fixed length `T`: [`SplitOptions::length`] if set, else the training series'
//!    length if all are equal, else the longest training series. Shorter series are
//!    padded **at the end**, longer ones truncated (no mask).
//! 3. Stratified train/validation split: in each class (in class order) the cases are
//!    shuffled with `ChaCha8Rng::seed_from_u64(seed)` and the first
//!    `round(validation_fraction · n_class)` go to validation (at least 1 and at most
//!    `n_class - 1` when the fraction is > 0 and the class has ≥ 2 cases).
//! 4. Per-channel standardisation `(x - mean_c) / std_c` with mean and (population)
//!    std fitted on the training part only, ignoring missing and padded cells
//!    (`std_c = 1` if it is 0). Missing values (`?`) and padding are then set to 0,
//!    i.e. to the training mean of their channel.

use super::csv::{parse_csv, parse_digits, parse_image};
use super::ts::parse_ts;
use ndarray::{Array1, Array2, ArrayD, IxDyn};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::path::Path;
use thiserror::Error;

/// A malformed or unreadable dataset.
#[derive(Debug, Error)]
pub enum DataError {
    /// A syntax or consistency error at `file:line:col`.
    #[error("{file}:{line}:{col}: {msg}")]
    Parse {
        /// File (or display name) of the text.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column (character offset of the offending field).
        col: usize,
        /// What is wrong.
        msg: String,
    },
    /// The file holds no cases.
    #[error("{file}: no data rows")]
    Empty {
        /// File (or display name).
        file: String,
    },
    /// A test label that the training set does not have.
    #[error(
        "{file}:{line}: class `{label}` does not occur in the training set (classes: {classes:?})"
    )]
    UnknownClass {
        /// File of the case.
        file: String,
        /// Line of the case.
        line: usize,
        /// Its label.
        label: String,
        /// Known classes.
        classes: Vec<String>,
    },
    /// Training and test sets do not have the same layout.
    #[error("{file}: {msg}")]
    Mismatch {
        /// File of the second set.
        file: String,
        /// What differs.
        msg: String,
    },
    /// Reading a file failed (the cause is the error's source).
    #[error("cannot read {path}")]
    Io {
        /// The path.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The options are invalid (e.g. a validation fraction outside [0, 1)).
    #[error("invalid dataset options: {0}")]
    Options(String),
    /// The padded samples would need more memory than
    /// [`MAX_TRAINING_BYTES`](super::MAX_TRAINING_BYTES); nothing was allocated.
    #[error("{cases} cases of length {length} × {channels} channels would need about {} MiB once padded: more than the limit of {} MiB (a smaller `length` fits)", bytes / (1 << 20), super::MAX_TRAINING_BYTES >> 20)]
    TooLarge {
        /// Cases (training and test files).
        cases: usize,
        /// Time steps per case after padding/truncation.
        length: usize,
        /// Channels.
        channels: usize,
        /// Estimated bytes (the samples twice: as read and as split).
        bytes: u128,
    },
}

/// One parsed case: values `[len, channels]` time-major (NaN = missing), its label and
/// source line.
#[derive(Debug, Clone, PartialEq)]
pub struct RawCase {
    /// `len * channels` values, time-major.
    pub values: Vec<f32>,
    /// Series length (time steps).
    pub len: usize,
    /// Class label as written.
    pub label: String,
    /// 1-based source line.
    pub line: usize,
}

/// A parsed file: cases of varying length with string labels.
#[derive(Debug, Clone, PartialEq)]
pub struct RawSet {
    /// Display name (path) for messages.
    pub name: String,
    /// Channels per time step.
    pub channels: usize,
    /// The cases in file order.
    pub cases: Vec<RawCase>,
    /// Class names declared in the header (`.ts` `@classLabel`), in order.
    pub classes: Option<Vec<String>>,
    /// Sample shape to use instead of `[T, channels]` (e.g. `[8, 8, 1]` for digits).
    pub shape: Option<Vec<usize>>,
}

/// Which parser a file needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataKind {
    /// UEA/UCR `.ts`.
    Ts,
    /// CSV `features..., label` as `[F, 1]` series.
    Csv,
    /// 8×8 digits CSV as `[8, 8, 1]` images.
    Digits,
    /// Square grey-scale images as CSV rows of `S × S` pixels then the label
    /// (`[S, S, 1]`; e.g. MNIST's 784 pixels → `[28, 28, 1]`).
    Image,
}

impl DataKind {
    /// Guesses from the file name (a `.gz` suffix is ignored): `.ts` → `Ts`, a name
    /// containing `digits` → `Digits`, one containing `mnist` → `Image`, anything else
    /// → `Csv`.
    pub fn from_path(path: &Path) -> DataKind {
        let file = path
            .file_name()
            .map(|f| f.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        let file = file.strip_suffix(".gz").unwrap_or(&file);
        if file.ends_with(".ts") {
            DataKind::Ts
        } else if file.contains("digits") {
            DataKind::Digits
        } else if file.contains("mnist") {
            DataKind::Image
        } else {
            DataKind::Csv
        }
    }

    /// Parses `text` (display name `name`).
    pub fn parse(self, text: &str, name: &str) -> Result<RawSet, DataError> {
        match self {
            DataKind::Ts => parse_ts(text, name),
            DataKind::Csv => parse_csv(text, name),
            DataKind::Digits => parse_digits(text, name),
            DataKind::Image => parse_image(text, name),
        }
    }

    /// Reads and parses a file (gzip-compressed files are decompressed, see
    /// [`decode_text`]).
    pub fn load(self, path: &Path) -> Result<RawSet, DataError> {
        let name = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| DataError::Io {
            path: name.clone(),
            source,
        })?;
        self.parse(&decode_text(bytes, &name)?, &name)
    }
}

/// The text of a data file's bytes: gzip streams (magic `1f 8b`) are decompressed,
/// then the bytes must be UTF-8. `name` names the file in errors.
pub fn decode_text(bytes: Vec<u8>, name: &str) -> Result<String, DataError> {
    let io = |source: std::io::Error| DataError::Io {
        path: name.to_string(),
        source,
    };
    let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::with_capacity(bytes.len() * 4);
        std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(&bytes[..]), &mut out)
            .map_err(io)?;
        out
    } else {
        bytes
    };
    String::from_utf8(bytes).map_err(|e| {
        io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            e.utf8_error(),
        ))
    })
}

/// Fixed-shape, standardised samples with class indices.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Samples, batch-first: `[N, T, C]` or `[N, H, W, C]` (standard layout).
    pub x: ArrayD<f32>,
    /// Class index of each sample.
    pub y: Array1<usize>,
}

impl Dataset {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.y.len()
    }

    /// True without samples.
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }

    /// Shape of one sample.
    pub fn sample_shape(&self) -> &[usize] {
        &self.x.shape()[1..]
    }

    /// The samples as one flat row-major slice.
    pub fn flat(&self) -> &[f32] {
        self.x
            .as_slice()
            .expect("datasets are built in standard layout")
    }

    /// Labels as a slice.
    pub fn labels(&self) -> &[usize] {
        self.y.as_slice().expect("contiguous labels")
    }

    /// The samples flattened to `[N, features]` as a linfa dataset.
    pub fn to_linfa(&self) -> linfa::Dataset<f32, usize, ndarray::Ix1> {
        let n = self.len();
        let f = self.x.len().checked_div(n).unwrap_or(0);
        let records = Array2::from_shape_vec((n, f), self.flat().to_vec()).expect("sizes agree");
        linfa::Dataset::new(records, self.y.clone())
    }
}

/// How to turn raw files into [`Splits`].
#[derive(Debug, Clone, PartialEq)]
pub struct SplitOptions {
    /// Fraction of each class moved from the training file to validation, in `[0, 1)`.
    pub validation_fraction: f64,
    /// Seed of the stratified split.
    pub seed: u64,
    /// Fixed series length (pad/truncate); `None`: see the module docs.
    pub length: Option<usize>,
}

impl Default for SplitOptions {
    fn default() -> Self {
        SplitOptions {
            validation_fraction: 0.2,
            seed: 0,
            length: None,
        }
    }
}

/// Train / validation / test sets with the class names and fitted standardisation.
#[derive(Debug, Clone, PartialEq)]
pub struct Splits {
    /// Training part of the training file.
    pub train: Dataset,
    /// Validation part of the training file (may be empty).
    pub val: Dataset,
    /// Test file, if any.
    pub test: Option<Dataset>,
    /// Class names; label `i` is `classes[i]`.
    pub classes: Vec<String>,
    /// Shape of one sample (`[T, C]` or `[H, W, C]`).
    pub input_shape: Vec<usize>,
    /// Indices (in the training file's case order) of the validation cases, ascending.
    pub val_rows: Vec<usize>,
    /// Per-channel mean subtracted (fitted on `train`), exactly as used:
    /// `x' = ((x as f64 - mean) / std) as f32`.
    pub mean: Vec<f64>,
    /// Per-channel standard deviation divided by (fitted on `train`).
    pub std: Vec<f64>,
}

fn sorted_classes(labels: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = labels.iter().map(|s| s.to_string()).collect();
    v.sort();
    v.dedup();
    if v.iter().all(|s| s.parse::<f64>().is_ok()) {
        v.sort_by(|a, b| {
            a.parse::<f64>()
                .unwrap()
                .total_cmp(&b.parse::<f64>().unwrap())
        });
    }
    v
}

impl Splits {
    /// Number of classes.
    pub fn num_classes(&self) -> usize {
        self.classes.len()
    }

    /// Builds the splits from a training file and an optional test file (see the
    /// module docs for every step).
    pub fn new(
        train: &RawSet,
        test: Option<&RawSet>,
        opts: &SplitOptions,
    ) -> Result<Splits, DataError> {
        if !(0.0..1.0).contains(&opts.validation_fraction) {
            return Err(DataError::Options(format!(
                "validation_fraction {} must be in [0, 1)",
                opts.validation_fraction
            )));
        }
        let classes = match &train.classes {
            Some(c) if !c.is_empty() => c.clone(),
            _ => sorted_classes(
                &train
                    .cases
                    .iter()
                    .map(|c| c.label.as_str())
                    .collect::<Vec<_>>(),
            ),
        };
        let c = train.channels;
        let len = match opts.length {
            Some(l) if l > 0 => l,
            Some(_) => return Err(DataError::Options("length must be > 0".into())),
            None => train.cases.iter().map(|k| k.len).max().unwrap_or(1).max(1),
        };
        let cases = train.cases.len() + test.map_or(0, |t| t.cases.len());
        // f32 samples, held twice (as read, and as split)
        let bytes = cases as u128 * len as u128 * c as u128 * 4 * 2;
        if bytes > super::MAX_TRAINING_BYTES {
            return Err(DataError::TooLarge {
                cases,
                length: len,
                channels: c,
                bytes,
            });
        }
        let shape = match &train.shape {
            Some(s) if s.iter().product::<usize>() == len * c => s.clone(),
            _ => vec![len, c],
        };
        if let Some(t) = test {
            if t.channels != c {
                return Err(DataError::Mismatch {
                    file: t.name.clone(),
                    msg: format!("{} channels, the training file has {c}", t.channels),
                });
            }
        }
        let encode = |set: &RawSet| -> Result<(Vec<f32>, Vec<usize>), DataError> {
            let mut x = vec![f32::NAN; set.cases.len() * len * c];
            let mut y = Vec::with_capacity(set.cases.len());
            for (i, case) in set.cases.iter().enumerate() {
                let label = classes
                    .iter()
                    .position(|k| *k == case.label)
                    .ok_or_else(|| DataError::UnknownClass {
                        file: set.name.clone(),
                        line: case.line,
                        label: case.label.clone(),
                        classes: classes.clone(),
                    })?;
                y.push(label);
                let m = case.len.min(len) * c;
                x[i * len * c..i * len * c + m].copy_from_slice(&case.values[..m]);
            }
            Ok((x, y))
        };
        let (x_all, y_all) = encode(train)?;
        // Stratified split.
        let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
        let mut val_idx = Vec::new();
        let mut train_idx = Vec::new();
        for k in 0..classes.len() {
            let mut idx: Vec<usize> = (0..y_all.len()).filter(|&i| y_all[i] == k).collect();
            idx.shuffle(&mut rng);
            let n = idx.len();
            let mut nv = (opts.validation_fraction * n as f64).round() as usize;
            if opts.validation_fraction > 0.0 && n >= 2 {
                nv = nv.clamp(1, n - 1);
            }
            nv = nv.min(n);
            val_idx.extend_from_slice(&idx[..nv]);
            train_idx.extend_from_slice(&idx[nv..]);
        }
        train_idx.sort_unstable();
        val_idx.sort_unstable();
        // Per-channel statistics on the training part.
        let sample = len * c;
        let mut sum = vec![0f64; c];
        let mut cnt = vec![0usize; c];
        for &i in &train_idx {
            for (j, &v) in x_all[i * sample..(i + 1) * sample].iter().enumerate() {
                if !v.is_nan() {
                    sum[j % c] += v as f64;
                    cnt[j % c] += 1;
                }
            }
        }
        let mean: Vec<f64> = (0..c)
            .map(|k| {
                if cnt[k] > 0 {
                    sum[k] / cnt[k] as f64
                } else {
                    0.0
                }
            })
            .collect();
        let mut sq = vec![0f64; c];
        for &i in &train_idx {
            for (j, &v) in x_all[i * sample..(i + 1) * sample].iter().enumerate() {
                if !v.is_nan() {
                    let d = v as f64 - mean[j % c];
                    sq[j % c] += d * d;
                }
            }
        }
        let std: Vec<f64> = (0..c)
            .map(|k| {
                let s = if cnt[k] > 0 {
                    (sq[k] / cnt[k] as f64).sqrt()
                } else {
                    0.0
                };
                if s > 0.0 {
                    s
                } else {
                    1.0
                }
            })
            .collect();
        let build = |x: &[f32], y: &[usize], idx: &[usize]| -> Dataset {
            let mut out = Vec::with_capacity(idx.len() * sample);
            for &i in idx {
                for (j, &v) in x[i * sample..(i + 1) * sample].iter().enumerate() {
                    let k = j % c;
                    out.push(if v.is_nan() {
                        0.0
                    } else {
                        ((v as f64 - mean[k]) / std[k]) as f32
                    });
                }
            }
            let mut dims = vec![idx.len()];
            dims.extend_from_slice(&shape);
            Dataset {
                x: ArrayD::from_shape_vec(IxDyn(&dims), out).expect("sizes agree"),
                y: idx.iter().map(|&i| y[i]).collect(),
            }
        };
        let test = match test {
            Some(t) => {
                let (xt, yt) = encode(t)?;
                let all: Vec<usize> = (0..yt.len()).collect();
                Some(build(&xt, &yt, &all))
            }
            None => None,
        };
        Ok(Splits {
            train: build(&x_all, &y_all, &train_idx),
            val: build(&x_all, &y_all, &val_idx),
            test,
            classes,
            input_shape: shape,
            val_rows: val_idx.clone(),
            mean,
            std,
        })
    }

    /// Reads a training file and an optional test file of the given kind.
    pub fn load(
        kind: DataKind,
        train: &Path,
        test: Option<&Path>,
        opts: &SplitOptions,
    ) -> Result<Splits, DataError> {
        let tr = kind.load(train)?;
        let te = test.map(|p| kind.load(p)).transpose()?;
        Splits::new(&tr, te.as_ref(), opts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_standardises_and_splits_stratified() {
        let text = "@classLabel true a b\n@data\n1,2,3:a\n3:a\n5,6:b\n7,?:b\n1,1:a\n2,2:b\n";
        let raw = parse_ts(text, "x.ts").unwrap();
        let s = Splits::new(
            &raw,
            None,
            &SplitOptions {
                validation_fraction: 0.34,
                seed: 1,
                length: None,
            },
        )
        .unwrap();
        assert_eq!(s.input_shape, vec![3, 1]);
        assert_eq!(s.val.len(), 2);
        assert_eq!(s.train.len(), 4);
        let mut vy = s.val.labels().to_vec();
        vy.sort();
        assert_eq!(vy, vec![0, 1]);
        // Training values are standardised: mean 0 over non-missing cells, and
        // missing/padded cells are 0.
        let zeros = s.train.flat().iter().filter(|v| **v == 0.0).count();
        assert!(zeros >= 2);
        assert!(s.mean[0] > 0.0);
    }

    #[test]
    fn exact_standardisation_and_end_padding() {
        let raw = parse_ts("@data\n1,2,3:a\n3:b\n", "p.ts").unwrap();
        let opts = SplitOptions {
            validation_fraction: 0.0,
            ..Default::default()
        };
        let s = Splits::new(&raw, None, &opts).unwrap();
        let std = (0.6875f64).sqrt();
        assert_eq!(s.mean, vec![2.25]);
        assert!((s.std[0] - std).abs() < 1e-12);
        let x = s.train.flat();
        let want = [-1.25 / std, -0.25 / std, 0.75 / std, 0.75 / std, 0.0, 0.0];
        for (a, b) in x.iter().zip(want) {
            assert!((*a as f64 - b).abs() < 1e-6, "{x:?}");
        }
        assert_eq!(s.classes, vec!["a", "b"]);
    }

    #[test]
    fn unknown_test_class_is_reported_with_line() {
        let tr = parse_csv("1,a\n2,b\n", "tr.csv").unwrap();
        let te = parse_csv("1,a\n2,c\n", "te.csv").unwrap();
        let e = Splits::new(
            &tr,
            Some(&te),
            &SplitOptions {
                validation_fraction: 0.0,
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("te.csv:2: class `c`"), "{e}");
    }
}
