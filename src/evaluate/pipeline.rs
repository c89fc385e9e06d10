//! The evaluation pipeline of one candidate, cheapest stage first:
//! partition costs → budget check (skip) → simulation → training → objectives and
//! constraints.

use super::measure::{
    link_constraints, memory_constraints, static_figures, Bound, Constraint, PartitionFigures,
    StaticFigures,
};
use super::objectives::{objective_value, Figures, SimFigures, SIM_PENALTY};
use super::store::WeightStore;
use super::training::{train_candidate, TrainFigures};
use crate::network::Network;
use crate::partition::Candidate;
use crate::scenario::{DType, Objective, Scenario};
use crate::sim::{SimConfig, SimWorkload, WhatIf};
use crate::train::Splits;

/// Partition costs of a candidate as the pipeline needs them.
#[derive(Debug, Clone, PartialEq)]
pub struct CandidateCosts {
    /// Per partition, in execution order.
    pub partitions: Vec<PartitionFigures>,
    /// Bytes of the input tensor (deployment dtype).
    pub input_bytes: u64,
    /// Trainable parameters of the whole network.
    pub params: u64,
}

/// Computes the partition costs of a candidate on a network (the cost model's entry
/// point); an `Err` marks the candidate invalid.
pub type CostFn = fn(&Candidate, &Network, DType) -> Result<CandidateCosts, String>;

/// How far a candidate went through the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Costs could not be computed (shape error, unknown device, no route).
    Invalid,
    /// Memory over budget by more than `skip_margin`: not simulated, not trained.
    Skipped,
    /// Simulated and trained.
    Full,
    /// Simulated; validation loss and accuracy predicted by the surrogate, not trained
    /// (see `docs/fidelity.md`).
    Predicted,
}

/// A candidate that passed the cost, budget and simulation stages: what the training
/// (or prediction) stage starts from.
#[derive(Debug, Clone, PartialEq)]
pub struct Screened {
    pub statics: StaticFigures,
    pub sim: SimFigures,
    /// Trainable parameters.
    pub params: u64,
}

/// The outcome of the cheap stages: finished (invalid or skipped), or on to training.
#[derive(Debug, Clone, PartialEq)]
pub enum Screening {
    Finished(Box<Evaluated>),
    Passed(Box<Screened>),
}

/// The result of evaluating one candidate.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluated {
    /// Genome key (stable hash of the candidate).
    pub key: u64,
    /// Objective values in the scenario's order (minimised).
    pub objectives: Vec<f64>,
    /// Every constraint, in a fixed order for all candidates of a scenario.
    pub constraints: Vec<Constraint>,
    /// Σ of the normalised violations (0 = feasible).
    pub violation: f64,
    pub stage: Stage,
    pub figures: Figures,
    /// Trainable parameters.
    pub params: u64,
    /// Search-time training figures (`None` unless `stage == Full`).
    pub train: Option<TrainFigures>,
    /// Why the candidate is invalid.
    pub note: Option<String>,
}

impl Evaluated {
    /// `true` when every constraint holds.
    pub fn feasible(&self) -> bool {
        self.violation == 0.0
    }

    /// Normalised violation of each constraint, in order.
    pub fn violations(&self) -> Vec<f64> {
        self.constraints.iter().map(|c| c.violation()).collect()
    }
}

/// Everything the pipeline needs, shared (read-only) by every worker thread.
pub struct Context {
    pub scenario: Scenario,
    pub network: Network,
    /// Device indices of `scenario.source` and `scenario.sink`.
    pub source: usize,
    pub sink: usize,
    pub splits: Splits,
    pub workload: SimWorkload,
    pub events: Vec<WhatIf>,
    /// Mean arrival rate of the workload, requests per second.
    pub rate_hz: f64,
    /// Objectives in order (from `scenario.search.objectives`).
    pub objectives: Vec<Objective>,
    /// Master seed.
    pub seed: u64,
    /// The cases of the scenario's failure model with their probabilities, the same
    /// for every candidate (`failures::model_cases`; empty without a model).
    pub failure_cases: Vec<(Vec<super::failures::Down>, f64)>,
    pub store: WeightStore,
    pub costs: CostFn,
}

/// The figures of a parent's trained network taken over unchanged by a child with the
/// same network (no training; validation loss and accuracy measured again).
fn same_network(
    model: crate::train::Model,
    splits: &Splits,
) -> Result<(crate::train::Model, TrainFigures), crate::train::TrainError> {
    let (val_loss, val_accuracy) = model.evaluate(&splits.val.x, splits.val.labels())?;
    // Every layer with weights is the parent's (the count `inherit_from` reports).
    let inherited_layers = model.clone().inherit_from(&model).len();
    let figures = TrainFigures {
        val_loss,
        val_accuracy,
        test_accuracy: None,
        int8_accuracy: None,
        epochs: 0,
        inherited_layers,
        params: model.num_params(),
    };
    Ok((model, figures))
}

/// SplitMix64 finaliser: a well-mixed 64-bit function of `x`.
pub fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Seed of the sampled failure states of a run with master seed `master` (the same
/// draws for every candidate of the run).
pub fn failure_seed(master: u64) -> u64 {
    mix(master ^ 0x4641_494c)
}

/// Stable 64-bit key of a value: FNV-1a of its RON text (the same across runs,
/// platforms and Rust versions).
pub fn ron_key<T: serde::Serialize + ?Sized>(value: &T) -> u64 {
    let text = ron::to_string(value).unwrap_or_default();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01B3);
    }
    h
}

/// Stable 64-bit key of a candidate ([`ron_key`] of it).
pub fn candidate_key(c: &Candidate) -> u64 {
    ron_key(c)
}

impl Context {
    /// Constraints that do not depend on the stage run: memory and link load.
    fn static_constraints(&self, st: &StaticFigures) -> Vec<Constraint> {
        let mut c = memory_constraints(st, &self.network);
        c.extend(link_constraints(st, &self.network, self.rate_hz));
        c
    }

    /// Constraints from the simulation and training (fixed order: per-device energy
    /// budgets, `min_accuracy`, `max_latency_ms`, `completed`).
    fn dynamic_constraints(
        &self,
        sim: Option<&SimFigures>,
        val_accuracy: Option<f64>,
    ) -> Vec<Constraint> {
        let mut c = Vec::new();
        for (i, d) in self.network.devices().iter().enumerate() {
            if let Some(budget) = d.energy_budget_mj {
                let v = sim
                    .and_then(|s| s.devices.get(i).map(|x| x.energy_mj_per_inference))
                    .unwrap_or(SIM_PENALTY);
                c.push(Constraint::at_most(format!("energy:{}", d.id), v, budget));
            }
        }
        if let Some(min) = self.scenario.app.min_accuracy {
            c.push(Constraint {
                name: "min_accuracy".into(),
                value: val_accuracy.unwrap_or(0.0),
                limit: min,
                bound: Bound::AtLeast,
            });
        }
        if let Some(max) = self.scenario.app.max_latency_ms {
            let v = sim.map(|s| s.latency_p95_ms).unwrap_or(SIM_PENALTY);
            c.push(Constraint::at_most("max_latency_ms", v, max));
        }
        if let Some(min) = self.scenario.app.min_completed {
            // Fraction of the simulated requests that reached the sink (0 when the
            // candidate was not simulated).
            let v = sim
                .map(|s| s.completed as f64 / s.requests.max(1) as f64)
                .unwrap_or(0.0);
            c.push(Constraint {
                name: "completed".into(),
                value: v,
                limit: min,
                bound: Bound::AtLeast,
            });
        }
        c
    }

    fn finish(
        &self,
        key: u64,
        stage: Stage,
        figures: Figures,
        params: u64,
        train: Option<TrainFigures>,
        note: Option<String>,
    ) -> Evaluated {
        let mut constraints = self.static_constraints(&figures.statics);
        constraints.extend(self.dynamic_constraints(figures.sim.as_ref(), figures.val_accuracy));
        constraints.push(Constraint::at_most(
            "valid",
            if stage == Stage::Invalid { 1.0 } else { 0.0 },
            0.0,
        ));
        let violation: f64 = constraints.iter().map(|c| c.violation()).sum();
        let objectives = self
            .objectives
            .iter()
            .map(|&o| objective_value(o, &figures))
            .collect();
        Evaluated {
            key,
            objectives,
            constraints,
            violation,
            stage,
            figures,
            params,
            train,
            note,
        }
    }

    /// The cheap stages of the pipeline on `candidate` (key `key`): costs, budget check
    /// (`skip_margin`), simulation.
    pub fn screen(&self, candidate: &Candidate, key: u64, skip_margin: f64) -> Screening {
        let classes = self.splits.num_classes();
        let empty = |st: StaticFigures| Figures {
            statics: st,
            sim: None,
            val_loss: None,
            val_accuracy: None,
            classes,
        };
        let done = |stage, figures, params, note| {
            Screening::Finished(Box::new(
                self.finish(key, stage, figures, params, None, note),
            ))
        };
        let costs = match (self.costs)(candidate, &self.network, self.scenario.dtype) {
            Ok(c) => c,
            Err(e) => {
                let st = static_figures(Vec::new(), 0, &self.network, self.source, self.sink);
                return done(Stage::Invalid, empty(st), 0, Some(e));
            }
        };
        let params = costs.params;
        let st = static_figures(
            costs.partitions,
            costs.input_bytes,
            &self.network,
            self.source,
            self.sink,
        );
        if st.unreachable {
            let note = Some("a transfer has no route".to_string());
            return done(Stage::Invalid, empty(st), params, note);
        }
        let over = memory_constraints(&st, &self.network)
            .iter()
            .map(|c| c.violation())
            .fold(0.0, f64::max);
        if over > skip_margin {
            return done(Stage::Skipped, empty(st), params, None);
        }
        let cfg = SimConfig {
            seed: super::simulation::sim_seed(self.seed),
            max_latency_ms: self.scenario.app.max_latency_ms,
            failover_ns: crate::sim::ms_to_ns(self.scenario.failover_detection_ms()),
            ..SimConfig::default()
        };
        let setting = super::failures::CaseSetting {
            st: &st,
            network: &self.network,
            source: self.source,
            sink: self.sink,
            workload: &self.workload,
            events: &self.events,
            config: &cfg,
        };
        let sim = setting.simulate(&[]).and_then(|mut f| {
            if self.scenario.failures.is_some() {
                f.robustness = Some(setting.robustness(&f, &self.failure_cases)?);
            }
            Ok(f)
        });
        match sim {
            Ok(sim) => Screening::Passed(Box::new(Screened {
                statics: st,
                sim,
                params,
            })),
            Err(e) => {
                let note = Some(format!("simulation: {e}"));
                done(Stage::Invalid, empty(st), params, note)
            }
        }
    }

    /// The evaluation of a screened candidate whose validation loss and accuracy are
    /// predicted, not measured (stage [`Stage::Predicted`]).
    pub fn predicted(&self, key: u64, s: Screened, val_loss: f64, val_accuracy: f64) -> Evaluated {
        let figures = Figures {
            statics: s.statics,
            sim: Some(s.sim),
            val_loss: Some(val_loss),
            val_accuracy: Some(val_accuracy.clamp(0.0, 1.0)),
            classes: self.splits.num_classes(),
        };
        self.finish(key, Stage::Predicted, figures, s.params, None, None)
    }

    /// Runs the pipeline on `candidate` (key `key`): costs, budget check, simulation,
    /// training — `child_epochs` epochs starting from the stored weights of `parent`
    /// when they exist, `train_epochs` from scratch otherwise. Trained weights are
    /// stored under `key`. Never panics; problems make the candidate invalid (the last
    /// constraint, `valid`, is then violated) or skipped.
    pub fn evaluate(
        &self,
        candidate: &Candidate,
        key: u64,
        parent: Option<u64>,
        train_epochs: usize,
        child_epochs: usize,
        skip_margin: f64,
    ) -> Evaluated {
        match self.screen(candidate, key, skip_margin) {
            Screening::Finished(e) => *e,
            Screening::Passed(s) => {
                self.train(candidate, key, parent, train_epochs, child_epochs, *s)
            }
        }
    }

    /// The training stage of a screened candidate: `child_epochs` epochs from the
    /// stored weights of `parent` when they exist, `train_epochs` from scratch
    /// otherwise; the weights are stored under `key`.
    pub fn train(
        &self,
        candidate: &Candidate,
        key: u64,
        parent: Option<u64>,
        train_epochs: usize,
        child_epochs: usize,
        screened: Screened,
    ) -> Evaluated {
        let classes = self.splits.num_classes();
        let Screened {
            statics: st,
            sim,
            params,
        } = screened;
        let parent_model = parent.and_then(|p| self.store.get(p));
        let epochs = if parent_model.is_some() {
            child_epochs
        } else {
            train_epochs
        };
        let seed = mix(self.seed ^ key);
        let trained = match parent_model {
            // Only the cuts or the map changed: the network is its parent's, trained as
            // far as the parent was. Training it again would give every re-cut or
            // re-mapped child free epochs that a new network does not get.
            Some(m) if m.arch() == &candidate.arch => same_network(m, &self.splits),
            _ => train_candidate(
                &candidate.arch,
                &self.splits,
                epochs,
                seed,
                parent_model.as_ref(),
                None,
                None,
            ),
        };
        let (model, tf) = match trained {
            Ok(x) => x,
            Err(e) => {
                let note = Some(format!("training: {e}"));
                let f = Figures {
                    statics: st,
                    sim: Some(sim),
                    val_loss: None,
                    val_accuracy: None,
                    classes,
                };
                return self.finish(key, Stage::Invalid, f, params, None, note);
            }
        };
        // A store that cannot write to disk still holds the weights in memory.
        let _ = self.store.put(key, &model);
        let figures = Figures {
            statics: st,
            sim: Some(sim),
            val_loss: Some(tf.val_loss),
            val_accuracy: Some(tf.val_accuracy),
            classes,
        };
        self.finish(key, Stage::Full, figures, params, Some(tf), None)
    }
}
