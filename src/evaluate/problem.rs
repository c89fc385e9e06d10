//! The candidate problem on the search engine's [`Problem`] trait.

use super::pipeline::{Context, Evaluated, Stage};
use super::summary::{ConstraintSlack, DeviceSummary, LinkLoad, PartitionSummary};
use crate::partition::space::{CandidateGenome, SpaceContext, SpaceError};
use crate::partition::Candidate;
use crate::search::{Evaluation, Problem};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::hash::{Hash, Hasher};

/// A search genome: the candidate genome ([`CandidateGenome`]: network blocks, layer
/// cuts, device indices) plus the key of the parent whose trained weights the child
/// inherits.
///
/// Equality and hashing use `net` and `parent` (the trained weights depend on both);
/// `crossed` only tells `mutate` that `crossover` already set the parent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Genome {
    pub net: CandidateGenome,
    /// Key of the parent genome (`None`: trained from scratch).
    pub parent: Option<u64>,
    #[serde(default)]
    pub crossed: bool,
}

impl PartialEq for Genome {
    fn eq(&self, o: &Self) -> bool {
        self.net == o.net && self.parent == o.parent
    }
}
impl Eq for Genome {}
impl Hash for Genome {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.net.hash(h);
        self.parent.hash(h);
    }
}

impl Genome {
    /// Stable 64-bit key: FNV-1a of the RON text of `(net, parent)`.
    pub fn key(&self) -> u64 {
        let text = ron::to_string(&(&self.net, self.parent)).unwrap_or_default();
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in text.bytes() {
            h ^= b as u64;
            h = h.wrapping_mul(0x0000_0100_0000_01B3);
        }
        h
    }

    /// Candidate id used in file names: `c` + 16 hex digits of the key.
    pub fn id(&self) -> String {
        format!("c{:016x}", self.key())
    }
}

/// What the engine keeps of an evaluation (and the report shows).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Info {
    /// `full`, `skipped` or `invalid`.
    pub stage: String,
    /// Why the candidate is invalid.
    pub note: Option<String>,
    pub params: u64,
    pub layers: usize,
    pub constraints: Vec<ConstraintSlack>,
    pub partitions: Vec<PartitionSummary>,
    pub devices: Vec<DeviceSummary>,
    /// What each link carries (absent in checkpoints of older versions).
    #[serde(default)]
    pub links: Vec<LinkLoad>,
    /// Cases of the scenario's failure model (empty without one).
    #[serde(default)]
    pub failure_cases: Vec<super::failures::FailureCase>,
    pub val_loss: Option<f64>,
    pub val_accuracy: Option<f64>,
    /// Epochs of search-time training and layers inherited from the parent.
    pub epochs: usize,
    pub inherited_layers: usize,
    /// Simulated figures, for the what-if comparison of `simulate --candidate`
    /// (`None` when not simulated; absent in checkpoints of older versions).
    #[serde(default)]
    pub at_search: Option<super::whatif::WhatIfFigures>,
}

/// The network × partition × mapping problem of a scenario.
pub struct CandidateProblem {
    pub ctx: Context,
    /// Search space, input shape, classes and topology of the operators.
    pub space: SpaceContext,
    pub train_epochs: usize,
    pub child_epochs: usize,
    pub skip_margin: f64,
    /// Genomes that open the initial population (warm start, see [`super::warm`]).
    pub seeds: Vec<Genome>,
    constraints: usize,
}

impl CandidateProblem {
    /// The problem of `ctx` (objectives, constraints and space from its scenario); an
    /// error when the scenario's space cannot be sampled.
    pub fn new(ctx: Context) -> Result<CandidateProblem, SpaceError> {
        let space = SpaceContext::from_network(
            ctx.scenario.space.clone(),
            ctx.splits.input_shape.clone(),
            ctx.splits.num_classes(),
            &ctx.network,
            ctx.scenario.dtype,
        )?;
        // the space's largest network must be trainable within the memory limit
        for arch in space.largest_networks() {
            match crate::train::training_bytes(
                &arch,
                crate::train::TrainConfig::default().chunk,
                super::training::SEARCH_BATCH,
            ) {
                Err(crate::train::TrainError::Shape(e)) => return Err(SpaceError::Largest(e)),
                Ok(bytes) if bytes > crate::train::MAX_TRAINING_BYTES => {
                    return Err(SpaceError::TooLarge {
                        bytes,
                        limit: crate::train::MAX_TRAINING_BYTES,
                    })
                }
                _ => {}
            }
        }
        let s = &ctx.scenario.search;
        let mut p = CandidateProblem {
            train_epochs: s.train_epochs,
            child_epochs: s.child_epochs,
            skip_margin: s.skip_margin,
            seeds: Vec::new(),
            space,
            ctx,
            constraints: 0,
        };
        // The constraint list is the same for every candidate: count it once on a
        // candidate that is never simulated.
        let g = CandidateGenome::random(&p.space, &mut ChaCha8Rng::seed_from_u64(0));
        let c = p.candidate(&Genome {
            net: g,
            parent: None,
            crossed: false,
        });
        p.constraints = p.ctx.evaluate(&c, 0, None, 0, 0, -1.0).constraints.len();
        Ok(p)
    }

    /// The candidate (network, layer cuts, device ids) of a genome.
    pub fn candidate(&self, g: &Genome) -> Candidate {
        g.net.to_candidate(&self.space)
    }

    /// Evaluates a genome through the pipeline.
    pub fn evaluate_genome(&self, g: &Genome) -> Evaluated {
        let c = self.candidate(g);
        self.ctx.evaluate(
            &c,
            g.key(),
            g.parent,
            self.train_epochs,
            self.child_epochs,
            self.skip_margin,
        )
    }

    /// The summaries of an evaluation.
    pub fn info(&self, c: &Candidate, e: &Evaluated) -> Info {
        let net = &self.ctx.network;
        Info {
            stage: match e.stage {
                Stage::Full => "full",
                Stage::Skipped => "skipped",
                Stage::Invalid => "invalid",
            }
            .into(),
            note: e.note.clone(),
            params: e.params,
            layers: c.arch.layers.len(),
            constraints: e
                .constraints
                .iter()
                .map(|k| ConstraintSlack {
                    name: k.name.clone(),
                    value: k.value,
                    limit: k.limit,
                    slack: k.slack(),
                })
                .collect(),
            partitions: super::placement::partition_summaries(c, &e.figures.statics, net),
            failure_cases: e
                .figures
                .sim
                .as_ref()
                .and_then(|s| s.robustness.as_ref())
                .map(|r| r.cases.clone())
                .unwrap_or_default(),
            links: super::placement::link_loads(
                &e.figures.statics,
                net,
                e.figures
                    .sim
                    .as_ref()
                    .map(|s| s.link_utilisation.as_slice()),
            ),
            devices: e
                .figures
                .sim
                .as_ref()
                .map(super::placement::device_summaries)
                .unwrap_or_default(),
            val_loss: e.figures.val_loss,
            val_accuracy: e.figures.val_accuracy,
            epochs: e.train.as_ref().map(|t| t.epochs).unwrap_or(0),
            inherited_layers: e.train.as_ref().map(|t| t.inherited_layers).unwrap_or(0),
            at_search: e
                .figures
                .sim
                .as_ref()
                .map(|s| super::whatif::WhatIfFigures::new(s, &e.figures.statics)),
        }
    }
}

impl Problem for CandidateProblem {
    type Genome = Genome;
    type Info = Info;

    fn num_objectives(&self) -> usize {
        self.ctx.objectives.len()
    }

    fn num_constraints(&self) -> usize {
        self.constraints
    }

    fn random_genome(&self, rng: &mut ChaCha8Rng) -> Genome {
        Genome {
            net: CandidateGenome::random(&self.space, rng),
            parent: None,
            crossed: false,
        }
    }

    fn seed_genomes(&self) -> Vec<Genome> {
        self.seeds.clone()
    }

    fn crossover(&self, a: &Genome, b: &Genome, rng: &mut ChaCha8Rng) -> (Genome, Genome) {
        let x = CandidateGenome::crossover(&a.net, &b.net, &self.space, rng);
        let y = CandidateGenome::crossover(&b.net, &a.net, &self.space, rng);
        (
            Genome {
                net: x,
                parent: Some(a.key()),
                crossed: true,
            },
            Genome {
                net: y,
                parent: Some(b.key()),
                crossed: true,
            },
        )
    }

    fn mutate(&self, g: &mut Genome, rng: &mut ChaCha8Rng) {
        if !g.crossed {
            g.parent = Some(g.key());
        }
        g.crossed = false;
        g.net.mutate(&self.space, rng);
    }

    fn evaluate(&self, g: &Genome) -> Evaluation<Info> {
        let c = self.candidate(g);
        let e = self.evaluate_genome(g);
        Evaluation {
            objectives: e.objectives.clone(),
            violations: e.violations(),
            info: self.info(&c, &e),
        }
    }
}
