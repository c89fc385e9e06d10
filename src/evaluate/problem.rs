//! The candidate problem on the search engine's [`Problem`] trait.

use super::pipeline::{ron_key, Context, Evaluated, Screening, Stage};
use super::summary::{ConstraintSlack, DeviceSummary, LinkLoad, PartitionSummary};
use super::surrogate::{dominated_beyond, features, Known, StageCounts, Surrogate};
use crate::partition::space::{CandidateGenome, SpaceContext, SpaceError};
use crate::partition::Candidate;
use crate::search::{Evaluation, Problem};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::hash::{Hash, Hasher};
use std::sync::Mutex;

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
        super::pipeline::ron_key(&(&self.net, self.parent))
    }

    /// Candidate id used in file names: `c` + 16 hex digits of the key.
    pub fn id(&self) -> String {
        format!("c{:016x}", self.key())
    }
}

/// What the engine keeps of an evaluation (and the report shows).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Info {
    /// `full`, `predicted`, `skipped` or `invalid`.
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
    /// The surrogate's validation loss and accuracy for the candidate before it was
    /// trained (or instead: stage `predicted`); absent without a surrogate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicted_val_loss: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicted_val_accuracy: Option<f64>,
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
    /// The surrogate's settings (`search.fidelity.surrogate`; `None`: train all).
    surrogate_settings: Option<crate::scenario::SurrogateSettings>,
    /// The stage counts, and the surrogate's samples and models.
    surrogate: Mutex<Surrogate>,
    /// Where evaluations go in a scaled-out run (`None`: evaluated here).
    pub remote: Option<super::workers::Remote>,
}

/// What the fidelity ladder did so far (see [`CandidateProblem::fidelity`]).
#[derive(Debug, Clone, PartialEq)]
pub struct FidelityStatus {
    /// Cumulative stage counts.
    pub counts: StageCounts,
    /// The surrogate's rank correlation after the latest generation.
    pub rank_correlation: Option<f64>,
    /// Whether the surrogate decided during the latest generation.
    pub deciding: bool,
}

/// What the training stage does with a screened candidate.
enum Plan {
    /// Finished at the cheap stages (invalid or skipped).
    Finished,
    /// Trained, with the surrogate's prediction if there was one.
    Train(Option<(f64, f64)>),
    /// Given the surrogate's loss and accuracy.
    Predict(f64, f64),
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
        let settings = s.fidelity.surrogate.clone();
        let surrogate = Surrogate::new(
            settings.as_ref().map(|x| x.model).unwrap_or_default(),
            settings.as_ref().map_or(1.0, |x| x.min_rank_correlation),
            s.population,
        );
        let mut p = CandidateProblem {
            train_epochs: s.train_epochs,
            child_epochs: s.child_epochs,
            skip_margin: s.skip_margin,
            seeds: Vec::new(),
            space,
            ctx,
            constraints: 0,
            surrogate_settings: settings,
            surrogate: Mutex::new(surrogate),
            remote: None,
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
                Stage::Predicted => "predicted",
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
            predicted_val_loss: None,
            predicted_val_accuracy: None,
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

impl CandidateProblem {
    fn lock(&self) -> std::sync::MutexGuard<'_, Surrogate> {
        // a panic elsewhere cannot leave the counts half-updated: use them anyway
        self.surrogate.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The stage counts so far and the surrogate's latest rank correlation.
    pub fn fidelity(&self) -> FidelityStatus {
        let s = self.lock();
        FidelityStatus {
            counts: s.state.counts.clone(),
            rank_correlation: s.state.correlations.last().copied().flatten(),
            deciding: s.state.deciding.last().copied().unwrap_or(false),
        }
    }

    /// The objective and accuracy margins of the surrogate: `margin` root-mean-square
    /// errors on `ValLoss` and `Error`, nothing on the measured objectives.
    fn margins(&self, margin: f64, rmse_loss: f64, rmse_accuracy: f64) -> Vec<f64> {
        use crate::scenario::Objective;
        self.ctx
            .objectives
            .iter()
            .map(|o| match o {
                Objective::ValLoss => margin * rmse_loss,
                Objective::Error => margin * rmse_accuracy,
                _ => 0.0,
            })
            .collect()
    }

    /// The evaluation the engine keeps of a pipeline result.
    fn evaluation(
        &self,
        c: &Candidate,
        e: &Evaluated,
        prediction: Option<(f64, f64)>,
    ) -> Evaluation<Info> {
        let mut info = self.info(c, e);
        if let Some((l, a)) = prediction {
            info.predicted_val_loss = Some(l);
            info.predicted_val_accuracy = Some(a.clamp(0.0, 1.0));
        }
        Evaluation {
            objectives: e.objectives.clone(),
            violations: e.violations(),
            info,
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
        self.evaluation(&c, &e, None)
    }

    /// With a surrogate: the cheap stages for every genome (in parallel); then, in
    /// order, the surrogate's prediction for each genome to train, and (while its rank
    /// correlation is high enough) a predicted evaluation instead of training for those
    /// an archive member dominates beyond the margin, or that break a constraint
    /// training cannot mend, and for those past the `promote` fraction; then the
    /// trainings (in parallel).
    fn evaluate_batch(&self, genomes: &[&Genome], archive: &[&[f64]]) -> Vec<Evaluation<Info>> {
        use rayon::prelude::*;
        let Some(settings) = &self.surrogate_settings else {
            if let Some(remote) = &self.remote {
                return remote.evaluate(self, genomes);
            }
            return genomes.par_iter().map(|g| self.evaluate(g)).collect();
        };
        let cands: Vec<Candidate> = genomes.par_iter().map(|g| self.candidate(g)).collect();
        let screened: Vec<Screening> = genomes
            .par_iter()
            .zip(&cands)
            .map(|(g, c)| self.ctx.screen(c, g.key(), self.skip_margin))
            .collect();
        let mut sur = self.lock();
        let verdict = sur.verdict();
        let deciding = verdict.as_ref().is_some_and(|v| v.deciding);
        let delta = verdict.as_ref().map_or_else(Vec::new, |v| {
            self.margins(settings.margin, v.rmse_loss, v.rmse_accuracy)
        });
        let classes = self.ctx.splits.num_classes();
        let mut plans: Vec<Plan> = Vec::with_capacity(genomes.len());
        let mut contenders: Vec<(f64, u64, usize)> = Vec::new();
        for (i, (g, s)) in genomes.iter().zip(&screened).enumerate() {
            let Screening::Passed(s) = s else {
                plans.push(Plan::Finished);
                continue;
            };
            let parent = g.parent.and_then(|p| sur.known(p));
            let arch_key = ron_key(&cands[i].arch);
            let (Some(v), false) = (&verdict, parent.is_some_and(|k| k.arch_key == arch_key))
            else {
                // no surrogate yet, or a network that takes its parent's weights over
                plans.push(Plan::Train(None));
                continue;
            };
            let epochs = if parent.is_some() {
                self.child_epochs
            } else {
                self.train_epochs
            };
            let macs = s.statics.partitions.iter().map(|p| p.macs).sum();
            let x = features(
                &g.net.net,
                s.params,
                macs,
                cands[i].arch.layers.len(),
                parent,
                epochs,
                classes,
            );
            let (loss, acc) = v.fitted.predict(&x);
            if !deciding {
                plans.push(Plan::Train(Some((loss, acc))));
                continue;
            }
            let e = self.ctx.predicted(g.key(), (**s).clone(), loss, acc);
            let unmendable = e
                .constraints
                .iter()
                .any(|c| c.name != "min_accuracy" && c.violation() > 0.0);
            if (unmendable && !archive.is_empty())
                || dominated_beyond(&e.objectives, &delta, archive)
            {
                plans.push(Plan::Predict(loss, acc));
            } else {
                contenders.push((loss, g.key(), i));
                plans.push(Plan::Train(Some((loss, acc))));
            }
        }
        // the promote fraction: the best predicted losses are trained
        let cap = (settings.promote * contenders.len() as f64).ceil() as usize;
        contenders.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        for &(_, _, i) in &contenders[cap.min(contenders.len())..] {
            if let Plan::Train(Some((l, a))) = plans[i] {
                plans[i] = Plan::Predict(l, a);
            }
        }
        sur.state.deciding_now = deciding;
        drop(sur);
        genomes
            .par_iter()
            .zip(&cands)
            .zip(screened)
            .zip(plans)
            .map(|(((g, c), screening), plan)| {
                let key = g.key();
                match (screening, plan) {
                    (Screening::Finished(e), _) => self.evaluation(c, &e, None),
                    (Screening::Passed(s), Plan::Predict(l, a)) => {
                        let e = self.ctx.predicted(key, *s, l, a);
                        self.evaluation(c, &e, Some((l, a)))
                    }
                    (Screening::Passed(s), plan) => {
                        let prediction = match plan {
                            Plan::Train(p) => p,
                            // not planned so (the plans follow the screenings): train
                            _ => None,
                        };
                        let e = self.ctx.train(
                            c,
                            key,
                            g.parent,
                            self.train_epochs,
                            self.child_epochs,
                            *s,
                        );
                        self.evaluation(c, &e, prediction)
                    }
                }
            })
            .collect()
    }

    fn is_predicted(&self, info: &Info) -> bool {
        info.stage == "predicted"
    }

    fn learn(&self, evaluated: &[(&Genome, &Evaluation<Info>)], promoted: bool) {
        let mut sur = self.lock();
        let classes = self.ctx.splits.num_classes();
        for (g, e) in evaluated {
            let info = &e.info;
            let key = g.key();
            let counts = &mut sur.state.counts;
            if promoted {
                counts.promoted += 1;
            } else {
                counts.costed += 1;
                match info.stage.as_str() {
                    "invalid" => counts.invalid += 1,
                    "skipped" => counts.skipped += 1,
                    _ => counts.simulated += 1,
                }
            }
            if info.stage == "predicted" {
                sur.record_predicted(
                    key,
                    info.val_loss.unwrap_or(f64::NAN),
                    info.val_accuracy.unwrap_or(f64::NAN),
                );
                continue;
            }
            let (Some(val_loss), Some(val_accuracy), "full") =
                (info.val_loss, info.val_accuracy, info.stage.as_str())
            else {
                continue;
            };
            let parent = g.parent.and_then(|p| sur.known(p)).cloned();
            let known = Known {
                val_loss,
                val_accuracy,
                epochs_total: info.epochs + parent.as_ref().map_or(0, |p| p.epochs_total),
                blocks: g.net.net.blocks.len(),
                arch_key: ron_key(&self.candidate(g).arch),
            };
            if info.epochs == 0 {
                sur.record_inherited(key, known);
                continue;
            }
            let macs = info.partitions.iter().map(|p| p.macs).sum();
            let x = features(
                &g.net.net,
                info.params,
                macs,
                info.layers,
                parent.as_ref(),
                info.epochs,
                classes,
            );
            let prediction = info.predicted_val_loss.zip(info.predicted_val_accuracy);
            sur.record_trained(key, x, known, prediction);
        }
        if self.surrogate_settings.is_some() {
            sur.refit();
        }
        if !promoted {
            let deciding = std::mem::take(&mut sur.state.deciding_now);
            sur.end_generation(deciding);
        }
    }

    fn save_state(&self) -> Option<serde_json::Value> {
        serde_json::to_value(&self.lock().state).ok()
    }

    fn restore_state(&self, state: serde_json::Value) -> Result<(), String> {
        let st = serde_json::from_value(state).map_err(|e| format!("surrogate state: {e}"))?;
        self.lock().restore(st);
        Ok(())
    }
}
