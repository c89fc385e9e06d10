//! A whole integrated search: build the problem from a scenario, run the engine with
//! checkpoints, keep the per-generation history, retrain the final front.

use super::measure::PartitionFigures;
use super::objectives::objective_name;
use super::pipeline::{mix, CandidateCosts, Context};
use super::problem::{CandidateProblem, Genome, Info};
use super::simulation::arrival_rate_hz;
use super::store::WeightStore;
use super::summary::GenerationRecord;
use super::training::train_candidate;
use crate::network::Network;
use crate::partition::Candidate;
use crate::scenario::{self, DType, LoadedScenario};
use crate::search::{self, Algorithm, Individual, RunConfig, Runner};
use crate::sim::{SimWorkload, WhatIf};
use crate::train::{weights, DataKind, SplitOptions, Splits};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Errors of an integrated search.
#[derive(Debug, thiserror::Error)]
pub enum EvaluateError {
    /// A dataset file cannot be read.
    #[error("dataset: {0}")]
    DataFile(crate::scenario::ScenarioError),
    /// A dataset is malformed or does not fit the options.
    #[error("dataset: {0}")]
    Data(crate::train::DataError),
    /// The scenario's workload or events cannot be simulated.
    #[error("scenario: {0}")]
    Simulation(crate::sim::SimError),
    /// The scenario's search space cannot be built.
    #[error("scenario: {0}")]
    Space(crate::partition::space::SpaceError),
    /// `source` or `sink` names no device (the validation prevents it).
    #[error("scenario: unknown device `{0}`")]
    UnknownDevice(String),
    #[error(transparent)]
    Search(#[from] search::SearchError),
    #[error("warm start: {0}")]
    WarmStart(#[from] super::warm::WarmStartError),
    /// The run folder cannot be used (it holds another run, is locked, or its
    /// fingerprint differs from the scenario's on `--resume`).
    #[error("{0}")]
    RunFolder(String),
    /// The scale-out storage failed.
    #[error("{0}")]
    Storage(#[from] super::storage::StorageError),
    /// A worker could not start.
    #[error("{0}")]
    Config(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Settings of one run (scenario values with command-line overrides applied).
#[derive(Debug, Clone, PartialEq)]
pub struct SearchOptions {
    pub seed: u64,
    pub algorithm: Algorithm,
    pub population: usize,
    pub archive: usize,
    /// Generations (survival steps) including the initial population's.
    pub generations: usize,
    /// Output folder (checkpoint, weight store, history).
    pub out_dir: PathBuf,
    pub resume: bool,
    /// Replace a run already in `out_dir` (without it, such a folder is refused unless
    /// `resume`).
    pub force: bool,
    /// Epochs of final training of each front member (0: none).
    pub final_epochs: usize,
    /// Run folders or network files whose networks open the initial population
    /// (resolved paths; see [`super::warm`]).
    pub warm_start: Vec<PathBuf>,
    /// Storage URL of a scaled-out run (`sqlite://…` or `postgres://…`, `docs/scale-out.md`): each
    /// generation's evaluations are leased to workers through it.
    pub storage: Option<String>,
    /// With `storage`: only external `distrinas worker` processes evaluate.
    pub external_workers: bool,
    /// With `storage`: how long an outage of the storage is waited out.
    pub storage_timeout: std::time::Duration,
}

impl SearchOptions {
    /// The scenario's settings, output in `out_dir` (warm-start paths as written; see
    /// [`SearchOptions::from_loaded`] for resolved ones).
    pub fn from_scenario(s: &scenario::Scenario, out_dir: PathBuf) -> SearchOptions {
        SearchOptions {
            seed: s.seed,
            algorithm: s.search.algorithm,
            population: s.search.population,
            archive: s.search.archive,
            generations: s.search.generations,
            out_dir,
            resume: false,
            force: false,
            final_epochs: s.search.final_epochs,
            warm_start: s.search.warm_start.clone(),
            storage: None,
            external_workers: false,
            storage_timeout: super::storage::DEFAULT_TIMEOUT,
        }
    }

    /// The loaded scenario's settings, with warm-start paths resolved against its
    /// folder.
    pub fn from_loaded(l: &LoadedScenario, out_dir: PathBuf) -> SearchOptions {
        let mut o = SearchOptions::from_scenario(&l.scenario, out_dir);
        o.warm_start = o.warm_start.iter().map(|p| l.resolve(p)).collect();
        o
    }
}

/// Live figures shown after each generation.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveProgress {
    pub generation: usize,
    pub generations: usize,
    pub evaluations: usize,
    /// Best (smallest) value of each objective among feasible candidates so far.
    pub best: Vec<(String, f64)>,
    /// Size of the best-so-far feasible front.
    pub front: usize,
    /// HV of the best-so-far front, normalised to the first front this process saw
    /// (ref 1.1), so it never decreases; `None` past the exact hypervolume's work limit.
    pub hv: Option<f64>,
    /// HV of the current archive's feasible members under the same normalisation (may
    /// dip when truncation drops a point).
    pub archive_hv: Option<f64>,
}

/// One member of the final front.
#[derive(Debug, Clone)]
pub struct FrontEntry {
    pub id: String,
    pub candidate: Candidate,
    pub objectives: Vec<f64>,
    pub feasible: bool,
    /// Σ normalised violations.
    pub violation: f64,
    pub info: Info,
    /// Test accuracy after final training.
    pub test_accuracy: Option<f64>,
    /// int8 test accuracy of the network cut at the candidate's cuts, when final-trained.
    pub int8_test_accuracy: Option<f64>,
    /// Validation accuracy after final training (search-time one when not retrained).
    pub val_accuracy: Option<f64>,
    /// Trained weights (trainer's weight file), when trained.
    pub weights: Option<Vec<u8>>,
}

/// The outcome of a run.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub scenario: String,
    pub seed: u64,
    /// `space.max_cuts` of the run (0: the single-device baseline).
    pub max_cuts: usize,
    pub algorithm: String,
    pub objective_names: Vec<String>,
    pub front: Vec<FrontEntry>,
    pub history: Vec<GenerationRecord>,
    pub generations: usize,
    pub evaluations: usize,
    pub cache_hits: usize,
    pub stopped: bool,
    /// Trained candidates of the checkpoint whose weights were missing from or damaged
    /// in `.weights/` on `--resume`, and were trained again.
    pub weights_retrained: usize,
    /// How many candidates reached each stage of the fidelity ladder.
    pub ladder: super::surrogate::StageCounts,
    /// Front members trained by the final training.
    pub final_trained: usize,
    /// The scenario's device graph (for the placement diagrams).
    pub topology: super::summary::Topology,
}

/// Partition costs from the cost model (the pipeline's cost stage).
pub fn partition_costs(
    c: &Candidate,
    network: &Network,
    dtype: DType,
) -> Result<CandidateCosts, String> {
    let pc = crate::partition::costs(c, network, dtype).map_err(|e| e.to_string())?;
    Ok(CandidateCosts {
        params: pc.partitions.iter().map(|p| p.params).sum(),
        input_bytes: pc.input_bytes,
        partitions: pc
            .partitions
            .iter()
            .map(|p| PartitionFigures {
                device: p.device,
                first_layer: p.layers.start,
                end_layer: p.layers.end,
                flash_bytes: p.flash_bytes,
                peak_sram_bytes: p.peak_sram_bytes,
                macs: p.macs,
                compute_ns: p.compute_ns,
                out_bytes: p.output_bytes,
                standby: p.standby,
            })
            .collect(),
    })
}

/// Loads the scenario's dataset (embedded copies for the embedded quickstart).
pub fn load_splits(loaded: &LoadedScenario, seed: u64) -> Result<Splits, EvaluateError> {
    let d = &loaded.scenario.dataset;
    let kind = DataKind::from(d.kind);
    let read = |p: PathBuf| -> Result<crate::train::RawSet, EvaluateError> {
        let name = p.display().to_string();
        let bytes = loaded.read_data(&p).map_err(EvaluateError::DataFile)?;
        crate::train::decode_text(bytes, &name)
            .and_then(|text| kind.parse(&text, &name))
            .map_err(EvaluateError::Data)
    };
    let train = read(loaded.train_path())?;
    let test = loaded.test_path().map(read).transpose()?;
    Splits::new(
        &train,
        test.as_ref(),
        &SplitOptions {
            validation_fraction: d.validation_fraction,
            seed,
            length: d.length,
        },
    )
    .map_err(EvaluateError::Data)
}

/// Builds the problem of a loaded scenario (weights stored in `store`).
pub fn build_problem(
    loaded: &LoadedScenario,
    seed: u64,
    store: WeightStore,
) -> Result<CandidateProblem, EvaluateError> {
    let s = &loaded.scenario;
    let network = loaded.network();
    let idx = |id: &str| {
        network
            .device_index(id)
            .ok_or_else(|| EvaluateError::UnknownDevice(id.to_string()))
    };
    let (source, sink) = (idx(&s.source)?, idx(&s.sink)?);
    let splits = load_splits(loaded, seed)?;
    let mut workload = SimWorkload::from_scenario(&s.workload, &loaded.base_dir)
        .map_err(EvaluateError::Simulation)?;
    // the ladder's simulation budget
    if let Some(r) = s.search.fidelity.requests {
        workload.requests = r;
    }
    let events = WhatIf::from_scenario(&s.events, &network).map_err(EvaluateError::Simulation)?;
    let rate_hz = arrival_rate_hz(&workload);
    let failure_cases = s.failures.as_ref().map_or_else(Vec::new, |f| {
        super::failures::model_cases(f, &network, super::pipeline::failure_seed(seed))
    });
    let ctx = Context {
        scenario: s.clone(),
        network,
        source,
        sink,
        splits,
        workload,
        events,
        rate_hz,
        objectives: s.search.objectives.clone(),
        seed,
        failure_cases,
        store,
        costs: partition_costs,
    };
    CandidateProblem::new(ctx).map_err(EvaluateError::Space)
}

fn read_history(path: &std::path::Path) -> Vec<GenerationRecord> {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default()
}

/// Runs the search of `loaded` with `opts`, calling `on_generation` after every
/// generation; `stop` ends it after the next checkpoint. Writes `checkpoint.json`,
/// `history.json` and the weight store (`.weights/`) into `opts.out_dir`.
pub fn run_search(
    loaded: &LoadedScenario,
    opts: &SearchOptions,
    on_generation: &mut dyn FnMut(&LiveProgress),
    stop: Arc<AtomicBool>,
) -> Result<Outcome, EvaluateError> {
    let out = &opts.out_dir;
    // refuses a folder holding another run, locks it until this function returns
    let _lock = super::runfolder::prepare(loaded, opts)?;
    let store = WeightStore::on_disk(&out.join(".weights"));
    let mut problem = build_problem(loaded, opts.seed, store)?;
    let mut warm = Vec::new();
    for p in &opts.warm_start {
        warm.extend(super::warm::read_warm_start(p)?);
    }
    problem.seeds = problem.warm_genomes(&warm)?;
    let names: Vec<String> = problem
        .ctx
        .objectives
        .iter()
        .map(|&o| objective_name(o).to_string())
        .collect();
    let checkpoint = out.join("checkpoint.json");
    let history_path = out.join("history.json");
    let mut history: Vec<GenerationRecord> = if opts.resume {
        read_history(&history_path)
    } else {
        Vec::new()
    };
    let offset = history.last().map(|h| h.elapsed_s).unwrap_or(0.0);
    let config = RunConfig {
        seed: opts.seed,
        population: opts.population,
        archive: opts.archive,
        generations: opts.generations as u64,
        checkpoint: Some(checkpoint),
        resume: opts.resume,
        reference: None,
        cache: true,
    };
    if let Some(url) = &opts.storage {
        if loaded.scenario.search.fidelity.surrogate.is_some() {
            return Err(EvaluateError::Config(
                "--storage: a search with a surrogate runs in one process (the surrogate \
                 decides which candidates to train between evaluations)"
                    .into(),
            ));
        }
        let storage = std::sync::Arc::new(super::storage::Storage::open_with_timeout(
            url,
            opts.storage_timeout,
        )?);
        let spec = super::storage::RunSpec {
            scenario_file: (!loaded.embedded)
                .then(|| super::storage::absolute(std::path::Path::new(&loaded.file))),
            fingerprint: super::storage::fingerprint(&loaded.source),
            seed: opts.seed,
            max_cuts: loaded.scenario.space.max_cuts,
            weights_dir: super::storage::absolute(&out.join(".weights")),
        };
        claim_storage(&storage, &spec, opts)?;
        storage.register(&spec)?;
        problem.remote = Some(super::workers::Remote::new(
            storage,
            !opts.external_workers,
            stop.clone(),
        ));
    }
    let problem_ref = &problem;
    let weights_retrained = match &config.checkpoint {
        Some(c) if opts.resume => restore_weights(&problem, c)?,
        _ => 0,
    };
    let start = Instant::now();
    let m = names.len();
    let mut live_hv = LiveHv::default();
    let result = Runner::new(&problem, opts.algorithm, config)
        .with_stop(stop.clone())
        .run(&mut |p| {
            let fidelity = problem_ref.fidelity();
            let best: Vec<Vec<f64>> = p.best_so_far.iter().map(|i| i.objectives.clone()).collect();
            let rec = GenerationRecord {
                generation: p.record.generation as usize,
                evaluations: p.record.evaluations as usize,
                elapsed_s: offset + start.elapsed().as_secs_f64(),
                archive: p
                    .archive
                    .iter()
                    .filter(|i| i.feasible())
                    .map(|i| i.objectives.clone())
                    .collect(),
                best: best.clone(),
                trained: fidelity.counts.trained as usize,
                predicted: fidelity.counts.predicted as usize,
                rank_correlation: fidelity.rank_correlation,
                surrogate_deciding: fidelity.deciding,
            };
            let archive_hv_points = rec.archive.clone();
            history.retain(|h| h.generation < rec.generation);
            history.push(rec);
            if let Ok(s) = serde_json::to_string(&history) {
                let _ = crate::atomic::write_atomic(&history_path, s.as_bytes());
            }
            let hv = live_hv.of(&best, m);
            let archive_hv = live_hv.of(&archive_hv_points, m);
            let mut mins = vec![f64::INFINITY; m];
            for b in &best {
                for j in 0..m {
                    mins[j] = mins[j].min(b[j]);
                }
            }
            on_generation(&LiveProgress {
                generation: p.record.generation as usize,
                generations: p.generations as usize,
                evaluations: p.record.evaluations as usize,
                best: names.iter().cloned().zip(mins).collect(),
                front: best.len(),
                hv,
                archive_hv,
            });
        })?;
    if let Some(remote) = &problem.remote {
        if let Some(e) = remote.take_error() {
            return Err(EvaluateError::RunFolder(format!(
                "{e}; the run stopped after its last full generation, whose checkpoint is in \
                 {}: run the same command with --resume once the storage is back",
                out.display()
            )));
        }
    }
    let final_front: Vec<&Individual<Genome, Info>> = if result.best_so_far.is_empty() {
        // Nothing feasible: show the least-violating archive members.
        let mut v: Vec<&Individual<Genome, Info>> = result.archive.iter().collect();
        v.sort_by(|a, b| a.total_violation().total_cmp(&b.total_violation()));
        // The archive may hold copies of one genome: list each candidate once.
        let mut seen = std::collections::HashSet::new();
        v.retain(|ind| seen.insert(ind.genome.key()));
        v.truncate(5);
        v
    } else {
        result.best_so_far.iter().collect()
    };
    let mut front: Vec<FrontEntry> = final_front
        .iter()
        .map(|ind| FrontEntry {
            id: ind.genome.id(),
            candidate: problem.candidate(&ind.genome),
            objectives: ind.objectives.clone(),
            feasible: ind.feasible(),
            violation: ind.total_violation(),
            info: ind.info.clone(),
            test_accuracy: None,
            int8_test_accuracy: None,
            val_accuracy: ind.info.val_accuracy,
            weights: None,
        })
        .collect();
    // Deterministic order: by the first objective, then the id.
    front.sort_by(|a, b| {
        a.objectives[0]
            .total_cmp(&b.objectives[0])
            .then_with(|| a.id.cmp(&b.id))
    });
    let mut stopped = result.stopped;
    if !stopped && opts.final_epochs > 0 {
        use rayon::prelude::*;
        let ctx = &problem.ctx;
        let keys: Vec<u64> = final_front.iter().map(|i| i.genome.key()).collect();
        let by_id: std::collections::HashMap<String, u64> = final_front
            .iter()
            .map(|i| i.genome.id())
            .zip(keys)
            .collect();
        // Ctrl-C or SIGTERM here stops every training at its next epoch: the checkpoint
        // of the last generation is on disk, and `--resume` runs the final training.
        front.par_iter_mut().for_each(|f| {
            if f.info.stage != "full" || stop.load(Ordering::SeqCst) {
                return;
            }
            let key = by_id[&f.id];
            let parent = ctx.store.get(key);
            if let Ok((model, tf)) = train_candidate(
                &f.candidate.arch,
                &ctx.splits,
                opts.final_epochs,
                mix(ctx.seed ^ key ^ 0xF1A1),
                parent.as_ref(),
                Some(&f.candidate.cuts),
                Some(&stop),
            ) {
                f.test_accuracy = tf.test_accuracy;
                f.int8_test_accuracy = tf.int8_accuracy.filter(|_| ctx.splits.test.is_some());
                f.val_accuracy = Some(tf.val_accuracy);
                f.weights = Some(weights::to_bytes(&model));
            }
        });
        if stop.load(Ordering::SeqCst) {
            // a partly trained front is not reported as final
            stopped = true;
            for f in &mut front {
                f.test_accuracy = None;
                f.int8_test_accuracy = None;
                f.val_accuracy = f.info.val_accuracy;
                f.weights = None;
            }
        }
    }
    let final_trained = front.iter().filter(|f| f.weights.is_some()).count();
    if let Some(remote) = &problem.remote {
        // a stopped run may be resumed: its workers wait for it
        if !stopped {
            remote.finish()?;
        }
    }
    Ok(Outcome {
        scenario: loaded.scenario.name.clone(),
        seed: opts.seed,
        max_cuts: loaded.scenario.space.max_cuts,
        algorithm: opts.algorithm.name().to_string(),
        objective_names: names,
        front,
        history,
        generations: result.history.len(),
        evaluations: result.evaluations as usize,
        cache_hits: result.cache_hits as usize,
        stopped,
        weights_retrained,
        ladder: problem.fidelity().counts,
        final_trained,
        topology: super::placement::topology(
            &problem.ctx.network,
            problem.ctx.source,
            problem.ctx.sink,
        ),
    })
}

/// Checks that `storage` may hold the run `spec`, as the run folder is checked: an
/// empty storage takes any run; one that holds a run is continued with `--resume` (the
/// same run only: its results are this run's evaluations, their weights in its
/// folder) or emptied with `--force`, and refused otherwise.
fn claim_storage(
    storage: &super::storage::Storage,
    spec: &super::storage::RunSpec,
    opts: &SearchOptions,
) -> Result<(), EvaluateError> {
    let Some((held, _)) = storage.run()? else {
        return Ok(());
    };
    let what = |s: &super::storage::RunSpec| {
        format!(
            "{} seed {} into {}",
            s.scenario_file
                .as_ref()
                .map_or("the embedded quickstart".into(), |p| p
                    .display()
                    .to_string()),
            s.seed,
            s.weights_dir.parent().unwrap_or(&s.weights_dir).display()
        )
    };
    if opts.force && !opts.resume {
        storage.reset()?;
        Ok(())
    } else if opts.resume && &held == spec {
        Ok(())
    } else if opts.resume {
        Err(EvaluateError::Config(format!(
            "--storage {}: it holds another run ({}{}), not this one ({}): resume that \
             run, or give this one a new database or file",
            storage.url(),
            what(&held),
            if held.fingerprint != spec.fingerprint {
                ", another scenario text or distrinas version"
            } else {
                ""
            },
            what(spec)
        )))
    } else {
        Err(EvaluateError::Config(format!(
            "--storage {}: it holds a run already ({}): add --resume to continue it, \
             --force to empty the storage and start again, or give a new database or file",
            storage.url(),
            what(&held)
        )))
    }
}

/// Before a resume: every candidate the checkpoint holds as trained (stage `full`)
/// whose weights are missing from the store or damaged is trained again, parents
/// first, with its original seed and parent, so children inherit exactly the weights
/// they would have inherited and the front is the uninterrupted run's. Returns how many
/// were retrained; errors if a retrained candidate's validation loss differs from the
/// checkpoint's (the store cannot be repaired).
fn restore_weights(
    problem: &CandidateProblem,
    checkpoint: &std::path::Path,
) -> Result<usize, EvaluateError> {
    #[derive(serde::Deserialize)]
    struct Cached {
        cache: Vec<(Genome, search::Evaluation<Info>)>,
    }
    // an unreadable checkpoint is the runner's to report
    let Some(cached) = std::fs::read(checkpoint)
        .ok()
        .and_then(|b| serde_json::from_slice::<Cached>(&b).ok())
    else {
        return Ok(0);
    };
    let trained: std::collections::HashMap<u64, (&Genome, &Info)> = cached
        .cache
        .iter()
        .filter(|(_, e)| e.info.stage == "full")
        .map(|(g, e)| (g.key(), (g, &e.info)))
        .collect();
    let mut keys: Vec<u64> = trained.keys().copied().collect();
    keys.sort_unstable();
    let mut retrained = 0;
    for key in keys {
        // the chain of missing ancestors, retrained oldest first
        let mut chain = Vec::new();
        let mut k = Some(key);
        while let Some((g, info)) = k.and_then(|k| trained.get(&k)) {
            if problem.ctx.store.get(g.key()).is_some() {
                break;
            }
            chain.push((*g, *info));
            k = g.parent;
        }
        for (g, info) in chain.into_iter().rev() {
            let again = problem.evaluate_genome(g).figures;
            if again.val_loss != info.val_loss {
                return Err(EvaluateError::RunFolder(format!(
                    "{}: the weights of {} were missing or damaged, and training it again \
                     gave validation loss {:?} instead of the checkpoint's {:?}; start a new \
                     run (another --out, or --force)",
                    checkpoint.display(),
                    g.id(),
                    again.val_loss,
                    info.val_loss
                )));
            }
            retrained += 1;
        }
    }
    Ok(retrained)
}

/// The progress line's hypervolume of the best-so-far front. The normalisation (ideal
/// and nadir) is fixed at the first non-empty front this process sees, reference 1.1,
/// so the value never decreases: the best-so-far set only loses points to better ones.
/// (Normalising each generation to its own front made it go down.)
#[derive(Debug, Default)]
struct LiveHv {
    /// `(ideal, range)` per objective, once fixed.
    norm: Option<(Vec<f64>, Vec<f64>)>,
}

impl LiveHv {
    /// The HV of `points`; `None` past the exact hypervolume's work limit.
    fn of(&mut self, points: &[Vec<f64>], m: usize) -> Option<f64> {
        if points.is_empty() {
            return Some(0.0);
        }
        let (lo, range) = self.norm.get_or_insert_with(|| {
            let mut lo = vec![f64::INFINITY; m];
            let mut hi = vec![f64::NEG_INFINITY; m];
            for p in points {
                for j in 0..m {
                    lo[j] = lo[j].min(p[j]);
                    hi[j] = hi[j].max(p[j]);
                }
            }
            let range = (0..m)
                .map(|j| if hi[j] > lo[j] { hi[j] - lo[j] } else { 1.0 })
                .collect();
            (lo, range)
        });
        let norm: Vec<Vec<f64>> = points
            .iter()
            .map(|p| (0..m).map(|j| (p[j] - lo[j]) / range[j]).collect())
            .collect();
        search::indicators::hypervolume(&norm, &vec![1.1; m]).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::LiveHv;

    #[test]
    fn the_progress_hypervolume_never_decreases() {
        // generation 1: one point; generation 2: a point that dominates it and widens
        // the front. Each normalised to its own front, the HV fell from 1.21 to 0.21
        // (one point at the ideal corner, then two points at opposite corners).
        let g1 = vec![vec![2.0, 2.0]];
        let g2 = vec![vec![0.0, 2.0], vec![2.0, 0.0]];
        let mut live = LiveHv::default();
        let a = live.of(&g1, 2).unwrap();
        let b = live.of(&g2, 2).unwrap();
        // by hand, normalised to g1 (ideal (2, 2), unit ranges): (0, 0) alone gives
        // 1.1² = 1.21; g2 normalised to g1 is (-2, 0) and (0, -2): 3.1·1.1 + 1.1·2 = 5.61
        assert!((a - 1.21).abs() < 1e-12, "{a}");
        assert!((b - 5.61).abs() < 1e-12, "{b}");
        let mut fresh = LiveHv::default();
        assert!(
            fresh.of(&g2, 2).unwrap() < a,
            "per-generation normalisation goes down"
        );
    }
}
