//! Warm start: networks of earlier runs, or network files, open the initial population
//! with their trained weights. Each network keeps its cuts and device map when every
//! device of the map exists in this scenario; otherwise it starts on the source device
//! and the flash-balancing operator cuts it across as many devices as its flash needs.
//! The search's operators then re-cut and re-map it like any other candidate.

use super::problem::{CandidateProblem, Genome};
use crate::arch::Arch;
use crate::partition::space::{CandidateGenome, NetGenome};
use crate::partition::Candidate;
use crate::train::{weights, Model};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// A network to start from.
#[derive(Debug, Clone, PartialEq)]
pub struct WarmNetwork {
    /// Where it came from (for messages).
    pub source: String,
    pub arch: Arch,
    /// Cut points and device ids it had (empty for a bare network file).
    pub cuts: Vec<usize>,
    pub map: Vec<String>,
    /// Standby device ids it had (empty: none).
    pub standby: Vec<Option<String>>,
    /// The trainer's weight-file bytes, when it was trained.
    pub weights: Option<Vec<u8>>,
}

/// Why a warm start cannot be used.
#[derive(Debug, Error)]
pub enum WarmStartError {
    /// A file or folder cannot be read.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file is not what it should be (front.json, a candidate or network RON).
    #[error("{path}: {message}")]
    Format { path: PathBuf, message: String },
    /// The network is not made of the search space's blocks.
    #[error("{source_name}: the network is not built from the search space's blocks (Conv / Separable / Residual with Same padding, then GlobalAvgPool → [Dense → ReLU] → Dense), so the search cannot vary it")]
    NotInSpace { source_name: String },
    /// The network's input or classes differ from the scenario's dataset.
    #[error("{source_name}: the network takes {input:?} with {classes} classes, the scenario's dataset gives {want_input:?} with {want_classes} classes")]
    Mismatch {
        source_name: String,
        input: Vec<usize>,
        classes: usize,
        want_input: Vec<usize>,
        want_classes: usize,
    },
    /// The weights do not fit the network.
    #[error("{source_name}: {message}")]
    Weights {
        source_name: String,
        message: String,
    },
}

fn read(path: &Path) -> Result<Vec<u8>, WarmStartError> {
    std::fs::read(path).map_err(|source| WarmStartError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn text(path: &Path) -> Result<String, WarmStartError> {
    String::from_utf8(read(path)?).map_err(|e| WarmStartError::Format {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// What a warm start reads of a run folder's `front.json` (the report module writes
/// it; other keys are ignored).
#[derive(Deserialize)]
struct FrontFile {
    front: Vec<FrontEntryFile>,
}

#[derive(Deserialize)]
struct FrontEntryFile {
    id: String,
    feasible: bool,
    candidate_file: String,
}

/// Reads the networks of `path`: a run folder (the feasible members of its
/// `front.json`, or every member when none is feasible, each from `candidates/<id>.ron`
/// with its search-time weights from the run's `.weights/` store, or else the weights
/// of its final training, `candidates/<id>.weights`), or one file holding a
/// `Candidate` or an `Arch` (with `<stem>.weights` beside it when present).
pub fn read_warm_start(path: &Path) -> Result<Vec<WarmNetwork>, WarmStartError> {
    let optional = |p: PathBuf| p.is_file().then(|| read(&p)).transpose();
    if path.is_dir() {
        let front_path = path.join("front.json");
        let front: FrontFile =
            serde_json::from_str(&text(&front_path)?).map_err(|e| WarmStartError::Format {
                path: front_path.clone(),
                message: e.to_string(),
            })?;
        let any_feasible = front.front.iter().any(|m| m.feasible);
        let mut out = Vec::new();
        let store = super::store::WeightStore::on_disk(&path.join(".weights"));
        for m in front.front.iter().filter(|m| m.feasible || !any_feasible) {
            let file = path.join(&m.candidate_file);
            let c = parse_candidate(&file)?;
            // The search-time weights of the run's weight store (keyed by the genome
            // key the id spells): trained as long as the new run trains its own
            // candidates, so the seeds compete on validation loss on equal terms. The
            // final training's weights only when the store lacks them (a seed trained
            // for `final_epochs` would beat every newcomer on ValLoss by training alone).
            let searched =
                m.id.strip_prefix('c')
                    .and_then(|hex| u64::from_str_radix(hex, 16).ok())
                    .and_then(|key| store.get(key))
                    .filter(|model| model.arch() == &c.arch)
                    .map(|model| weights::to_bytes(&model));
            let weights = match searched {
                Some(w) => Some(w),
                None => optional(file.with_extension("weights"))?,
            };
            out.push(WarmNetwork {
                source: file.display().to_string(),
                arch: c.arch,
                cuts: c.cuts,
                map: c.map,
                standby: c.standby,
                weights,
            });
        }
        Ok(out)
    } else {
        let c = parse_candidate(path)?;
        Ok(vec![WarmNetwork {
            source: path.display().to_string(),
            arch: c.arch,
            cuts: c.cuts,
            map: c.map,
            standby: c.standby,
            weights: optional(path.with_extension("weights"))?,
        }])
    }
}

/// A `Candidate` file, or an `Arch` file as a candidate without cuts or map.
fn parse_candidate(path: &Path) -> Result<Candidate, WarmStartError> {
    let t = text(path)?;
    if let Ok(c) = ron::from_str::<Candidate>(&t) {
        return Ok(c);
    }
    let arch = Arch::from_ron(&t).map_err(|e| WarmStartError::Format {
        path: path.to_path_buf(),
        message: format!(
            "{}:{}: not a Candidate or an Arch: {}",
            e.span.start.line, e.span.start.col, e.code
        ),
    })?;
    Ok(Candidate {
        arch,
        cuts: Vec::new(),
        map: Vec::new(),
        standby: Vec::new(),
    })
}

/// Stable key of a weight file in the weight store (FNV-1a of its bytes, tagged so it
/// cannot be mistaken for a genome key by accident).
fn weights_key(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ 0x5741_524d; // "WARM"
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01B3);
    }
    h
}

impl CandidateProblem {
    /// Genomes for `nets` (see the module docs); trained weights go into the weight
    /// store, so each seed's first evaluation starts from them (`child_epochs` of
    /// training). Duplicates are dropped.
    pub fn warm_genomes(&self, nets: &[WarmNetwork]) -> Result<Vec<Genome>, WarmStartError> {
        let space = &self.space;
        let source = self.ctx.source;
        let mut out: Vec<Genome> = Vec::new();
        for (i, w) in nets.iter().enumerate() {
            let (net, classes) =
                NetGenome::from_arch(&w.arch).ok_or_else(|| WarmStartError::NotInSpace {
                    source_name: w.source.clone(),
                })?;
            if w.arch.input != space.input || classes != space.classes {
                return Err(WarmStartError::Mismatch {
                    source_name: w.source.clone(),
                    input: w.arch.input.clone(),
                    classes,
                    want_input: space.input.clone(),
                    want_classes: space.classes,
                });
            }
            let ids: Option<Vec<usize>> = w
                .map
                .iter()
                .map(|id| space.devices.iter().position(|d| d == id))
                .collect();
            let mut rng = ChaCha8Rng::seed_from_u64(super::pipeline::mix(self.ctx.seed ^ i as u64));
            let mut g = match ids {
                Some(map) if !map.is_empty() => CandidateGenome {
                    net,
                    cuts: w.cuts.clone(),
                    map,
                    // unknown ids are dropped; `repair` drops every standby when the
                    // space has none
                    standby: w
                        .standby
                        .iter()
                        .map(|s| {
                            s.as_ref()
                                .and_then(|id| space.devices.iter().position(|d| d == id))
                        })
                        .collect(),
                },
                _ => {
                    let mut g = CandidateGenome {
                        net,
                        cuts: Vec::new(),
                        map: vec![source],
                        standby: Vec::new(),
                    };
                    g.balance(space, &mut rng);
                    g
                }
            };
            g.repair(space);
            let parent = match &w.weights {
                Some(bytes) => {
                    let err = |message: String| WarmStartError::Weights {
                        source_name: w.source.clone(),
                        message,
                    };
                    let mut model = Model::new(&w.arch, 0).map_err(|e| err(e.to_string()))?;
                    weights::from_bytes(&mut model, bytes, &w.source)
                        .map_err(|e| err(e.to_string()))?;
                    let key = weights_key(bytes);
                    // A store that cannot write to disk still holds them in memory.
                    let _ = self.ctx.store.put(key, &model);
                    Some(key)
                }
                None => None,
            };
            let genome = Genome {
                net: g,
                parent,
                crossed: false,
            };
            if !out.contains(&genome) {
                out.push(genome);
            }
        }
        Ok(out)
    }
}
