//! The two sides of a scaled-out search (`docs/scale-out.md`): the coordinator's
//! [`Remote`] turns each generation's evaluations into tasks of a [`Storage`] and waits
//! for their results (evaluating some itself unless the workers are external), and
//! [`work`] is the loop of a `distrinas worker` process. Both evaluate with the same
//! problem (`run::build_problem` on the run's scenario and seed), so a result does not
//! depend on who computed it: the front is the same bytes as a local run's.

use super::problem::{CandidateProblem, Genome, Info};
use super::run::{build_problem, EvaluateError};
use super::storage::{fingerprint, Lease, RunSpec, Storage, StorageError};
use super::store::WeightStore;
use crate::scenario::Scenario;
use crate::search::{Evaluation, Problem};
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a worker's lease lasts without a heartbeat (default).
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);
/// How often the coordinator and idle workers look at the storage.
const POLL: Duration = Duration::from_millis(10);

/// A name for this process in the storage (`host-pid`).
pub fn owner_name(role: &str) -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "host".into());
    format!("{role}-{host}-{}", std::process::id())
}

/// The task key of a genome (its key; the fidelity is fixed per run).
pub fn task_key(g: &Genome) -> String {
    format!("{:016x}", g.key())
}

/// What a worker does with a leased task: its genome (JSON) in, its evaluation
/// (JSON) out. The search's problem is one; `examples/scaleout_sim.rs` measures the
/// protocol with one that sleeps.
pub trait TaskEvaluator: Sync {
    /// Evaluates the task `key` with genome `genome`.
    fn evaluate_task(&self, key: &str, genome: &str) -> Result<String, String>;
}

impl TaskEvaluator for CandidateProblem {
    fn evaluate_task(&self, key: &str, genome: &str) -> Result<String, String> {
        let g: Genome = serde_json::from_str(genome).map_err(|e| format!("task {key}: {e}"))?;
        Ok(serde_json::to_string(&self.evaluate(&g)).expect("serialisable"))
    }
}

/// Evaluates `leases` in parallel (in the current rayon pool), keeping the leases
/// alive with a heartbeat, and records each result.
fn evaluate_leases(
    evaluator: &dyn TaskEvaluator,
    storage: &Storage,
    owner: &str,
    leases: &[Lease],
    lease: Duration,
) -> Result<(), StorageError> {
    let keys: Vec<String> = leases.iter().map(|l| l.key.clone()).collect();
    let (finished, wait) = std::sync::mpsc::channel::<()>();
    std::thread::scope(|s| {
        // the heartbeat: wakes every third of the lease, and at once when the batch ends
        s.spawn(move || {
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = wait.recv_timeout(lease / 3)
            {
                // a failed heartbeat only risks a second evaluation of the task
                let _ = storage.heartbeat(owner, &keys, lease);
            }
        });
        let r = leases
            .par_iter()
            .map(|l| {
                let json = evaluator.evaluate_task(&l.key, &l.genome).map_err(|msg| {
                    StorageError::Record {
                        url: storage.url().to_string(),
                        msg,
                    }
                })?;
                storage.complete(&l.key, owner, &json).map(|_| ())
            })
            .collect::<Result<Vec<()>, _>>();
        drop(finished);
        r.map(|_| ())
    })
}

/// The coordinator's half of the protocol: queues `tasks` (`(key, genome JSON)`, keys
/// distinct) and waits for their results, in order. With `local`, this process
/// evaluates tasks too, as many at a time as its rayon pool has threads.
pub fn dispatch(
    storage: &Storage,
    tasks: &[(String, String)],
    local: Option<(&dyn TaskEvaluator, &str)>,
) -> Result<Vec<String>, StorageError> {
    storage.enqueue(tasks)?;
    let keys: Vec<String> = tasks.iter().map(|t| t.0.clone()).collect();
    let threads = rayon::current_num_threads().max(1);
    let mut results: Vec<Option<String>> = vec![None; keys.len()];
    loop {
        let missing: Vec<usize> = (0..keys.len()).filter(|&i| results[i].is_none()).collect();
        if missing.is_empty() {
            return Ok(results
                .into_iter()
                .map(|r| r.expect("all finished"))
                .collect());
        }
        let want: Vec<String> = missing.iter().map(|&i| keys[i].clone()).collect();
        for (i, r) in missing.iter().zip(storage.results(&want)?) {
            results[*i] = r;
        }
        if results.iter().all(Option::is_some) {
            continue;
        }
        if let Some((evaluator, owner)) = local {
            let leases = storage.lease(owner, threads, DEFAULT_LEASE)?;
            if !leases.is_empty() {
                evaluate_leases(evaluator, storage, owner, &leases, DEFAULT_LEASE)?;
                continue;
            }
        }
        std::thread::sleep(POLL);
    }
}

/// The coordinator's side: where a generation's evaluations go.
#[derive(Debug)]
pub struct Remote {
    storage: Arc<Storage>,
    /// Evaluate tasks in this process too (`--workers local`, the default).
    local: bool,
    owner: String,
    /// The first storage error: the run stops after the current generation.
    failed: Mutex<Option<StorageError>>,
    stop: Arc<AtomicBool>,
}

impl Remote {
    /// Dispatch through `storage`; `local` also evaluates here; a storage error sets
    /// `stop` (the run ends after the generation with its checkpoint).
    pub fn new(storage: Arc<Storage>, local: bool, stop: Arc<AtomicBool>) -> Remote {
        Remote {
            storage,
            local,
            owner: owner_name("coordinator"),
            failed: Mutex::new(None),
            stop,
        }
    }

    /// Marks the run finished in the storage: idle workers exit.
    pub fn finish(&self) -> Result<(), StorageError> {
        self.storage.finish()
    }

    /// The storage error that stopped the run, if any.
    pub fn take_error(&self) -> Option<StorageError> {
        self.failed.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    /// Evaluates `genomes` through the storage. On a storage error the batch is
    /// evaluated here instead (the same results), the error is kept and the run is
    /// asked to stop.
    pub fn evaluate(
        &self,
        problem: &CandidateProblem,
        genomes: &[&Genome],
    ) -> Vec<Evaluation<Info>> {
        match self.try_evaluate(problem, genomes) {
            Ok(v) => v,
            Err(e) => {
                let mut f = self.failed.lock().unwrap_or_else(|p| p.into_inner());
                f.get_or_insert(e);
                self.stop.store(true, Ordering::SeqCst);
                genomes.par_iter().map(|g| problem.evaluate(g)).collect()
            }
        }
    }

    fn try_evaluate(
        &self,
        problem: &CandidateProblem,
        genomes: &[&Genome],
    ) -> Result<Vec<Evaluation<Info>>, StorageError> {
        let keys: Vec<String> = genomes.iter().map(|g| task_key(g)).collect();
        // each distinct key once, in first-seen order
        let mut slot: std::collections::HashMap<&str, usize> = Default::default();
        let mut tasks: Vec<(String, String)> = Vec::new();
        for (k, g) in keys.iter().zip(genomes) {
            slot.entry(k.as_str()).or_insert_with(|| {
                tasks.push((k.clone(), serde_json::to_string(g).expect("serialisable")));
                tasks.len() - 1
            });
        }
        let local = self
            .local
            .then_some((problem as &dyn TaskEvaluator, self.owner.as_str()));
        let results = dispatch(&self.storage, &tasks, local)?;
        keys.iter()
            .map(|k| {
                serde_json::from_str(&results[slot[k.as_str()]]).map_err(|e| StorageError::Record {
                    url: self.storage.url().to_string(),
                    msg: format!("result {k}: {e}"),
                })
            })
            .collect()
    }
}

/// What a worker did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkStats {
    /// Tasks evaluated (including any that another worker also finished).
    pub evaluated: usize,
}

/// Rebuilds the coordinator's problem from the run spec.
fn problem_of(spec: &RunSpec) -> Result<CandidateProblem, EvaluateError> {
    let mut loaded = match &spec.scenario_file {
        Some(p) => Scenario::load(p)
            .map_err(|e| EvaluateError::Config(format!("the run's scenario: {e}")))?,
        None => Scenario::embedded_quickstart(),
    };
    let mine = fingerprint(&loaded.source);
    if !spec.fingerprint.is_empty() && mine != spec.fingerprint {
        return Err(EvaluateError::Config(format!(
            "the run's scenario {} differs from the one its coordinator runs (the file \
             changed since the run started, or this is another version of distrinas: \
             fingerprint {} here, {} in the storage); evaluating it would mix two problems",
            loaded.file,
            &mine[..12],
            &spec.fingerprint[..spec.fingerprint.len().min(12)]
        )));
    }
    loaded.scenario.space.max_cuts = spec.max_cuts;
    build_problem(&loaded, spec.seed, WeightStore::on_disk(&spec.weights_dir))
}

/// A worker's loop: waits for a coordinator to register a run in `storage`, rebuilds
/// its problem, and [`serve`]s it.
pub fn work(
    storage: &Storage,
    threads: usize,
    lease: Duration,
    stop: &AtomicBool,
) -> Result<WorkStats, EvaluateError> {
    let spec = loop {
        if stop.load(Ordering::SeqCst) {
            return Ok(WorkStats::default());
        }
        match storage.run().map_err(EvaluateError::Storage)? {
            Some((spec, _)) => break spec,
            None => std::thread::sleep(POLL * 4),
        }
    };
    let problem = problem_of(&spec)?;
    serve(storage, &problem, threads, lease, stop)
}

/// The worker's half of the protocol: leases up to `threads` tasks at a time and
/// evaluates them with `evaluator` (`threads` at once), until the run is finished and
/// no task is left, or `stop` is set.
pub fn serve(
    storage: &Storage,
    evaluator: &dyn TaskEvaluator,
    threads: usize,
    lease: Duration,
    stop: &AtomicBool,
) -> Result<WorkStats, EvaluateError> {
    let owner = owner_name("worker");
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()
        .map_err(|e| EvaluateError::Config(e.to_string()))?;
    let mut stats = WorkStats::default();
    // the run this worker serves: if the storage is given another one (`search
    // --force`), tasks leased from now on are not its problem's
    let serving = storage.run()?.map(|(spec, _)| spec);
    while !stop.load(Ordering::SeqCst) {
        let leases = storage.lease(&owner, threads.max(1), lease)?;
        let run = storage.run()?;
        if run.as_ref().map(|(spec, _)| spec) != serving.as_ref() {
            // give the leases up: a worker of the new run evaluates them
            let keys: Vec<String> = leases.into_iter().map(|l| l.key).collect();
            let _ = storage.heartbeat(&owner, &keys, Duration::ZERO);
            return Err(EvaluateError::Config(format!(
                "{}: another run started in this storage (search --force) after this \
                 worker started; start the worker again to serve it",
                storage.url()
            )));
        }
        if leases.is_empty() {
            match run {
                Some((_, true)) => break,
                _ => std::thread::sleep(POLL),
            }
            continue;
        }
        pool.install(|| evaluate_leases(evaluator, storage, &owner, &leases, lease))?;
        stats.evaluated += leases.len();
    }
    Ok(stats)
}
