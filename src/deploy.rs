//! Deployment export: a run's candidate as per-partition int8 C code that reproduces
//! the integer evaluation ([`crate::train::quant::QNet`]) bit for bit, with a static
//! memory plan per partition checked against the cost model (`docs/export.md`).
//!
//! [`export`] writes into a folder: `dn_kernels.c/.h`, `partition_<k>.c/.h`,
//! `model.h`, `harness.c`, `Makefile`, the candidate's test set (`test.ts` or
//! `test.csv`, in the scenario's dataset format), `expected_logits.bin` (the Rust
//! integer evaluation's logits on it, case after case) and `manifest.json`.

pub mod cgen;
pub mod plan;

use crate::evaluate::run::{load_splits, EvaluateError};
use crate::network::Network;
use crate::partition::{costs, Candidate, PartitionError};
use crate::scenario::{DType, DatasetKind, LoadedScenario};
use crate::train::quant::QNet;
use crate::train::{weights, DataKind, Model, TrainError};
use cgen::{DataFormat, ModelInfo};
use serde::Serialize;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Why a candidate could not be exported.
#[derive(Debug, Error)]
pub enum ExportError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The candidate has no trained weights beside it.
    #[error(
        "{path}: the candidate's trained weights are missing (only front members that the \
         final training trained have `candidates/<id>.weights`; run the search with \
         `final_epochs` > 0)"
    )]
    MissingWeights {
        /// The expected weights file.
        path: PathBuf,
    },
    /// The weights file does not hold this candidate's network.
    #[error("{path}: {source}")]
    Weights {
        /// The weights file.
        path: PathBuf,
        /// What did not match.
        source: TrainError,
    },
    /// The candidate does not belong to the run's scenario.
    #[error("the candidate does not match the run's scenario: {0}")]
    Mismatch(String),
    /// The candidate cannot be placed on the scenario's network.
    #[error("the candidate cannot be placed on the scenario's network: {0}")]
    Partition(#[from] PartitionError),
    /// The dataset could not be loaded.
    #[error(transparent)]
    Evaluate(#[from] EvaluateError),
    /// Quantisation or evaluation failed.
    #[error(transparent)]
    Train(#[from] TrainError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ExportError + '_ {
    move |source| ExportError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// One tensor of a message.
#[derive(Debug, Clone, Serialize)]
pub struct MessageTensor {
    /// Tensor index (`t`: output of layer `t - 1`; `0`: the input).
    pub tensor: usize,
    /// Byte offset in the message.
    pub offset: usize,
    /// Bytes (int8 elements).
    pub bytes: usize,
    /// Shape (channel-last).
    pub shape: Vec<usize>,
    /// `real = scale · (q - zero_point)`.
    pub scale: f64,
    /// Zero point.
    pub zero_point: i32,
}

/// A message between partitions (or the input from the source, the logits to the sink).
#[derive(Debug, Clone, Serialize)]
pub struct Message {
    /// Sending partition (`None`: the source device's sensor).
    pub from_partition: Option<usize>,
    /// Receiving partition (`None`: the sink).
    pub to_partition: Option<usize>,
    /// Sending device.
    pub from: String,
    /// Receiving device.
    pub to: String,
    /// Devices the message visits, in order (one device: no radio).
    pub route: Vec<String>,
    /// Message bytes.
    pub bytes: usize,
    /// The tensors, back to back.
    pub tensors: Vec<MessageTensor>,
}

/// One partition in the manifest, with its memory figures.
#[derive(Debug, Clone, Serialize)]
pub struct PartitionManifest {
    /// Partition index.
    pub index: usize,
    /// Device id.
    pub device: String,
    /// Layers `[start, end)`.
    pub layers: [usize; 2],
    /// Source and header.
    pub files: [String; 2],
    /// Kernels it calls (C function `dn_<kernel>_s8`), step by step.
    pub kernels: Vec<String>,
    /// Static arena bytes (`max(cost model peak SRAM, planned bytes)`).
    pub arena_bytes: usize,
    /// Bytes the memory plan uses.
    pub planned_bytes: usize,
    /// The cost model's peak SRAM of the partition (int8), bytes.
    pub cost_model_sram_bytes: u64,
    /// The same with ReLU/ReLU6/BatchNorm in place.
    pub cost_model_sram_inplace_bytes: u64,
    /// The cost model's flash of the partition (int8), bytes.
    pub cost_model_flash_bytes: u64,
    /// int8 weights + int32 biases + per-channel multipliers and shifts, bytes.
    pub parameter_bytes: u64,
    /// Incoming message bytes.
    pub rx_bytes: usize,
    /// Outgoing message bytes.
    pub tx_bytes: usize,
}

/// `manifest.json`: what was exported and how it maps onto the devices.
#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    /// Candidate id (the candidate file's stem).
    pub candidate: String,
    /// Scenario name.
    pub scenario: String,
    /// Source device (where inputs arise) and sink (where the result goes).
    pub source: String,
    /// Sink device.
    pub sink: String,
    /// Layer indices where partitions start.
    pub cuts: Vec<usize>,
    /// The partitions.
    pub partitions: Vec<PartitionManifest>,
    /// Input, cut and output messages in order.
    pub messages: Vec<Message>,
    /// The exported test set (file name in the folder) and its cases.
    pub test_file: String,
    /// Cases in the test file.
    pub test_samples: usize,
    /// Accuracy of the Rust integer evaluation on the test file.
    pub int8_accuracy: f64,
    /// Which split the test file holds: `test` (the scenario's test file) or
    /// `validation` (no test file: the held-out split).
    pub test_split: String,
}

/// Everything needed to export one candidate.
pub struct ExportRequest<'a> {
    /// Candidate id.
    pub id: &'a str,
    /// The candidate.
    pub candidate: &'a Candidate,
    /// Its trained weights file.
    pub weights: &'a Path,
    /// The run's scenario.
    pub loaded: &'a LoadedScenario,
    /// The run's seed (the dataset split depends on it).
    pub seed: u64,
}

/// Loads the weights of `req` into a model of the candidate's network.
fn load_model(req: &ExportRequest) -> Result<Model, ExportError> {
    if !req.weights.is_file() {
        return Err(ExportError::MissingWeights {
            path: req.weights.to_path_buf(),
        });
    }
    let mut model = Model::new(&req.candidate.arch, 0)?;
    let bytes = std::fs::read(req.weights).map_err(io(req.weights))?;
    weights::from_bytes(&mut model, &bytes, &req.weights.display().to_string()).map_err(
        |source| ExportError::Weights {
            path: req.weights.to_path_buf(),
            source,
        },
    )?;
    Ok(model)
}

/// Writes `bytes` to `dir/name` atomically.
fn write(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), ExportError> {
    let path = dir.join(name);
    crate::atomic::write_atomic(&path, bytes).map_err(io(&path))
}

/// The test cases as a file of the scenario's dataset format: the scenario's test
/// file (decompressed), else the validation cases of the training file.
fn test_file_text(
    req: &ExportRequest,
    kind: DataKind,
    val_rows: &[usize],
) -> Result<(String, &'static str), ExportError> {
    let read = |p: PathBuf| -> Result<String, ExportError> {
        let name = p.display().to_string();
        let bytes = req
            .loaded
            .read_data(&p)
            .map_err(|e| ExportError::Evaluate(EvaluateError::DataFile(e)))?;
        crate::train::decode_text(bytes, &name)
            .map_err(|e| ExportError::Evaluate(EvaluateError::Data(e)))
    };
    if let Some(t) = req.loaded.test_path() {
        return Ok((read(t)?, "test"));
    }
    // No test file: the validation cases as written in the training file (after its
    // `.ts` header).
    let name = req.loaded.train_path().display().to_string();
    let text = read(req.loaded.train_path())?;
    let raw = kind
        .parse(&text, &name)
        .map_err(|e| ExportError::Evaluate(EvaluateError::Data(e)))?;
    let lines: Vec<&str> = text.lines().collect();
    let mut out = String::new();
    if kind == DataKind::Ts {
        for line in &lines {
            out.push_str(line);
            out.push('\n');
            if line.trim().to_ascii_lowercase().starts_with("@data") {
                break;
            }
        }
    }
    for &i in val_rows {
        out.push_str(lines[raw.cases[i].line - 1]);
        out.push('\n');
    }
    Ok((out, "validation"))
}

/// Exports `req` into `out` (created if needed); returns the manifest (also written).
pub fn export(req: &ExportRequest, out: &Path) -> Result<Manifest, ExportError> {
    let network = Network::from_scenario(req.loaded);
    req.candidate.validate(&network)?;
    let model = load_model(req)?;
    let splits = load_splits(req.loaded, req.seed)?;
    let arch = &req.candidate.arch;
    if splits.input_shape != arch.input {
        return Err(ExportError::Mismatch(format!(
            "the network's input is {:?} but the scenario's dataset gives samples of {:?}",
            arch.input, splits.input_shape
        )));
    }
    if model.num_classes() != splits.num_classes() {
        return Err(ExportError::Mismatch(format!(
            "the network outputs {} logits but the scenario's dataset has {} classes",
            model.num_classes(),
            splits.num_classes()
        )));
    }
    let cuts = &req.candidate.cuts;
    let net = QNet::build(&model, &splits.train, cuts)?;
    let pc = costs(req.candidate, &network, DType::Int8)?;
    let targets: Vec<usize> = pc
        .partitions
        .iter()
        .map(|p| p.peak_sram_bytes as usize)
        .collect();
    let plans = plan::plan(&net, cuts, &targets);
    let d = &req.loaded.scenario.dataset;
    let kind = DataKind::from(d.kind);
    let format = match d.kind {
        DatasetKind::Ts => DataFormat::Ts,
        _ => DataFormat::Csv,
    };
    let test_file = match format {
        DataFormat::Ts => "test.ts",
        DataFormat::Csv => "test.csv",
    };
    let (test_text, test_split) = test_file_text(req, kind, &splits.val_rows)?;
    let target = match test_split {
        "test" => splits
            .test
            .as_ref()
            .expect("a test file gives a test split"),
        _ => &splits.val,
    };
    let logits = net.predict(target);
    let int8_accuracy = net.accuracy(target)?;
    std::fs::create_dir_all(out).map_err(io(out))?;
    let info = ModelInfo {
        length: splits.input_shape.iter().product::<usize>() / splits.mean.len(),
        channels: splits.mean.len(),
        classes: &splits.classes,
        mean: &splits.mean,
        std: &splits.std,
        format,
        test_file,
    };
    let mut partitions = Vec::new();
    for (p, cost) in plans.iter().zip(&pc.partitions) {
        let arena = p.used_bytes.max(cost.peak_sram_bytes as usize);
        let k = p.index;
        write(
            out,
            &format!("partition_{k}.h"),
            cgen::partition_header(&net, p, arena).as_bytes(),
        )?;
        write(
            out,
            &format!("partition_{k}.c"),
            cgen::partition_source(&net, p, arena).as_bytes(),
        )?;
        partitions.push(PartitionManifest {
            index: k,
            device: req.candidate.map[k].clone(),
            layers: [p.layers.start, p.layers.end],
            files: [format!("partition_{k}.c"), format!("partition_{k}.h")],
            kernels: net.steps[p.steps.clone()]
                .iter()
                .map(|s| s.kernel.name().to_string())
                .collect(),
            arena_bytes: arena,
            planned_bytes: p.used_bytes,
            cost_model_sram_bytes: cost.peak_sram_bytes,
            cost_model_sram_inplace_bytes: cost.peak_sram_inplace_bytes,
            cost_model_flash_bytes: cost.flash_bytes,
            parameter_bytes: net.steps[p.steps.clone()]
                .iter()
                .map(|s| s.kernel.parameter_bytes())
                .sum(),
            rx_bytes: p.rx_bytes(),
            tx_bytes: p.tx_bytes(),
        });
    }
    write(out, "dn_kernels.h", cgen::KERNELS_H.as_bytes())?;
    write(out, "dn_kernels.c", cgen::KERNELS_C.as_bytes())?;
    write(
        out,
        "model.h",
        cgen::model_header(&net, &plans, &info).as_bytes(),
    )?;
    write(out, "harness.c", cgen::harness(&plans).as_bytes())?;
    write(out, "Makefile", cgen::makefile(&plans).as_bytes())?;
    write(out, test_file, test_text.as_bytes())?;
    let logit_bytes: Vec<u8> = logits.iter().map(|&v| v as u8).collect();
    write(out, "expected_logits.bin", &logit_bytes)?;
    let sc = &req.loaded.scenario;
    let manifest = Manifest {
        candidate: req.id.to_string(),
        scenario: sc.name.clone(),
        source: sc.source.clone(),
        sink: sc.sink.clone(),
        cuts: cuts.clone(),
        partitions,
        messages: messages(&net, &plans, req.candidate, &network, &sc.source, &sc.sink),
        test_file: test_file.to_string(),
        test_samples: target.len(),
        int8_accuracy,
        test_split: test_split.to_string(),
    };
    let json = serde_json::to_string_pretty(&manifest).expect("serialisable") + "\n";
    write(out, "manifest.json", json.as_bytes())?;
    Ok(manifest)
}

/// The route of a message between two devices, as device ids.
fn route_ids(network: &Network, from: &str, to: &str, bytes: usize) -> Vec<String> {
    let ids = |d: usize| network.devices()[d].id.clone();
    let (Some(a), Some(b)) = (network.device_index(from), network.device_index(to)) else {
        return vec![from.to_string(), to.to_string()];
    };
    match network.route(a, b, bytes as u64) {
        Some(r) if !r.hops.is_empty() => std::iter::once(ids(a))
            .chain(r.hops.iter().map(|h| ids(h.to)))
            .collect(),
        _ => vec![ids(a)],
    }
}

fn messages(
    net: &QNet,
    plans: &[plan::PartitionPlan],
    cand: &Candidate,
    network: &Network,
    source: &str,
    sink: &str,
) -> Vec<Message> {
    let shapes = net.arch().shapes().unwrap_or_default();
    let tensors = |slots: &[plan::Slot]| {
        let mut at = 0;
        slots
            .iter()
            .map(|s| {
                let c = net.codes[s.tensor].expect("materialised");
                let t = MessageTensor {
                    tensor: s.tensor,
                    offset: at,
                    bytes: s.bytes,
                    shape: if s.tensor == 0 {
                        net.arch().input.clone()
                    } else {
                        shapes[s.tensor - 1].clone()
                    },
                    scale: c.scale,
                    zero_point: c.zero,
                };
                at += s.bytes;
                t
            })
            .collect::<Vec<_>>()
    };
    let mut out = Vec::new();
    let first = &plans[0];
    let msg = |from_p, to_p, from: &str, to: &str, slots: &[plan::Slot]| {
        let bytes = slots.iter().map(|s| s.bytes).sum();
        Message {
            from_partition: from_p,
            to_partition: to_p,
            from: from.to_string(),
            to: to.to_string(),
            route: route_ids(network, from, to, bytes),
            bytes,
            tensors: tensors(slots),
        }
    };
    out.push(msg(None, Some(0), source, &cand.map[0], &first.incoming));
    for w in plans.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        out.push(msg(
            Some(a.index),
            Some(b.index),
            &cand.map[a.index],
            &cand.map[b.index],
            &a.outgoing,
        ));
    }
    let last = plans.last().expect("one partition at least");
    out.push(msg(
        Some(last.index),
        None,
        &cand.map[last.index],
        sink,
        &last.outgoing,
    ));
    out
}
