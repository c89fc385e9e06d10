//! The generation loop: evaluation (parallel, cached), survival, mating, variation,
//! observer callback, checkpoint/resume and a cooperative stop flag.
//!
//! Generation t: the archive A_t and the evaluated offspring P_t are merged and the
//! algorithm's survival picks A_{t+1}; the observer sees it; then (unless t + 1 is the
//! last generation or the stop flag is set) offspring P_{t+1} are bred from A_{t+1}
//! with generators derived from (seed, t + 1, mating index), evaluated, and the whole
//! state is checkpointed. A run of G generations evaluates G × population genomes.

use super::algorithms::{Algorithm, Mating, Member, Strategy};
use super::dominance::{dominates, normalised_violations};
use super::indicators::hypervolume;
use super::individual::Individual;
use super::problem::{Evaluation, Problem};
use super::rng::{derive, Stream};
use super::SearchError;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Run settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    /// Master seed.
    pub seed: u64,
    /// Offspring per generation (N; also the initial population size).
    pub population: usize,
    /// Archive size (N̄; the survivors kept each generation).
    pub archive: usize,
    /// Number of generations (survival steps), ≥ 1.
    pub generations: u64,
    /// Checkpoint file written (atomically, JSON) after every generation.
    pub checkpoint: Option<PathBuf>,
    /// Resume from `checkpoint` when it exists.
    pub resume: bool,
    /// Reference point for the hypervolume history (`None`: no HV is computed).
    pub reference: Option<Vec<f64>>,
    /// Cache evaluations by genome (and store the cache in checkpoints).
    pub cache: bool,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            seed: 0,
            population: 100,
            archive: 100,
            generations: 250,
            checkpoint: None,
            resume: false,
            reference: None,
            cache: true,
        }
    }
}

/// One line of the run history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerationRecord {
    /// Generation index (0-based).
    pub generation: u64,
    /// Genomes evaluated so far (cache hits included).
    pub evaluations: u64,
    /// Hypervolume of the archive's feasible non-dominated members (not monotone).
    pub archive_hv: Option<f64>,
    /// Hypervolume of every feasible non-dominated point seen so far (monotone).
    pub best_hv: Option<f64>,
    /// Feasible members of the archive.
    pub feasible: usize,
    /// Size of the best-so-far set.
    pub best_size: usize,
}

/// What the observer sees after each generation's survival.
#[derive(Debug)]
pub struct Progress<'a, G, I> {
    /// The record just appended to the history.
    pub record: &'a GenerationRecord,
    /// Total generations of the run.
    pub generations: u64,
    /// The archive after survival.
    pub archive: &'a [Individual<G, I>],
    /// The best-so-far feasible non-dominated set.
    pub best_so_far: &'a [Individual<G, I>],
}

/// The outcome of a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound(
    serialize = "G: Serialize, I: Serialize",
    deserialize = "G: serde::de::DeserializeOwned, I: serde::de::DeserializeOwned"
))]
pub struct RunResult<G, I> {
    /// The final archive.
    pub archive: Vec<Individual<G, I>>,
    /// Every feasible non-dominated individual seen (distinct objective vectors).
    pub best_so_far: Vec<Individual<G, I>>,
    /// One record per completed generation.
    pub history: Vec<GenerationRecord>,
    /// Genomes evaluated (cache hits included).
    pub evaluations: u64,
    /// Evaluations answered by the cache.
    pub cache_hits: u64,
    /// True when the stop flag ended the run early.
    pub stopped: bool,
    /// Seconds spent in survival, mating and variation (this process only).
    pub algorithm_seconds: f64,
    /// Seconds spent evaluating (this process only).
    pub evaluation_seconds: f64,
    /// Generations run by this process (less than the total after a resume).
    pub generations_run: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(bound(
    serialize = "G: Serialize, I: Serialize",
    deserialize = "G: serde::de::DeserializeOwned, I: serde::de::DeserializeOwned"
))]
struct State<G, I> {
    format: u32,
    algorithm: Algorithm,
    seed: u64,
    population_size: usize,
    archive_size: usize,
    /// Generation whose survival comes next.
    generation: u64,
    population: Vec<Individual<G, I>>,
    archive: Vec<Individual<G, I>>,
    best: Vec<Individual<G, I>>,
    history: Vec<GenerationRecord>,
    evaluations: u64,
    cache_hits: u64,
    cache: Vec<(G, Evaluation<I>)>,
    /// The problem's own state ([`Problem::save_state`]; absent in older checkpoints).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    problem_state: Option<serde_json::Value>,
}

const FORMAT: u32 = 1;

/// Drives one run of `algorithm` on `problem`.
pub struct Runner<'p, P: Problem> {
    problem: &'p P,
    algorithm: Algorithm,
    config: RunConfig,
    stop: Option<Arc<AtomicBool>>,
    cache: HashMap<P::Genome, Evaluation<P::Info>>,
    eliminate_duplicates: bool,
    track_best: bool,
    strategy: &'static dyn Strategy,
}

/// Rounds of breeding tried to replace duplicate offspring before duplicates are
/// accepted (pymoo's `n_max_iterations`).
pub const DUPLICATE_ROUNDS: usize = 100;

type Ind<P> = Individual<<P as Problem>::Genome, <P as Problem>::Info>;

impl<'p, P: Problem> Runner<'p, P> {
    /// A runner (nothing happens until [`Runner::run`]).
    pub fn new(problem: &'p P, algorithm: Algorithm, config: RunConfig) -> Self {
        Runner {
            problem,
            algorithm,
            config,
            stop: None,
            cache: HashMap::new(),
            eliminate_duplicates: true,
            track_best: true,
            strategy: algorithm.strategy(),
        }
    }

    /// Replaces the algorithm's default strategy by `strategy` (e.g.
    /// `&Spea2::PAPER`, or a variant of your own). The checkpoint still records the
    /// [`Algorithm`] given to [`Runner::new`]; resume with the same strategy.
    pub fn with_strategy(mut self, strategy: &'static dyn Strategy) -> Self {
        self.strategy = strategy;
        self
    }

    /// Duplicate elimination (default on, as pymoo's `eliminate_duplicates=True`): an
    /// offspring genome equal to an archive member's or to an earlier offspring's of the
    /// same generation is discarded and bred again (fresh matings, up to
    /// [`DUPLICATE_ROUNDS`] rounds, after which the remaining slots accept duplicates).
    /// Equality is the genome's `Eq` (bitwise for [`crate::search::RealGenome`]).
    pub fn eliminate_duplicates(mut self, on: bool) -> Self {
        self.eliminate_duplicates = on;
        self
    }

    /// Whether to maintain the best-so-far set (default on). It costs O(k·B) per
    /// generation (k new non-dominated offspring, B the set's size, which reaches the
    /// thousands with 3 objectives); benchmarks of the algorithm itself turn it off, and
    /// then [`Progress::best_so_far`] and [`RunResult::best_so_far`] are empty and
    /// [`GenerationRecord::best_hv`] is `None`.
    pub fn track_best_so_far(mut self, on: bool) -> Self {
        self.track_best = on;
        self
    }

    /// Checks `flag` between generations; when set, the run ends after writing its
    /// checkpoint (e.g. from a Ctrl-C handler).
    pub fn with_stop(mut self, flag: Arc<AtomicBool>) -> Self {
        self.stop = Some(flag);
        self
    }

    fn validate(&self) -> Result<(), SearchError> {
        let c = &self.config;
        if c.population == 0 || c.archive == 0 || c.generations == 0 {
            return Err(SearchError::Config(
                "population, archive and generations must be ≥ 1".into(),
            ));
        }
        if let Some(r) = &c.reference {
            if r.len() != self.problem.num_objectives() {
                return Err(SearchError::Config(format!(
                    "reference point has {} values, the problem {} objectives",
                    r.len(),
                    self.problem.num_objectives()
                )));
            }
        }
        if c.resume && c.checkpoint.is_none() {
            return Err(SearchError::Config("resume needs a checkpoint path".into()));
        }
        Ok(())
    }

    /// Evaluates genomes (cache first, misses in a batch: see
    /// [`Problem::evaluate_batch`]), in order. `archive`: the objective vectors of the
    /// feasible archive members the genomes will compete with.
    fn evaluate(
        &mut self,
        genomes: Vec<P::Genome>,
        archive: &[&[f64]],
        birth: u64,
        hits: &mut u64,
    ) -> Result<Vec<Ind<P>>, SearchError> {
        let problem = self.problem;
        let evals: Vec<Evaluation<P::Info>> = if self.config.cache {
            let mut misses: Vec<&P::Genome> = Vec::new();
            let mut seen = std::collections::HashSet::new();
            for g in &genomes {
                if !self.cache.contains_key(g) && seen.insert(g) {
                    misses.push(g);
                }
            }
            *hits += (genomes.len() - misses.len()) as u64;
            let fresh = problem.evaluate_batch(&misses, archive);
            let pairs: Vec<(&P::Genome, &Evaluation<P::Info>)> =
                misses.iter().copied().zip(&fresh).collect();
            problem.learn(&pairs, false);
            // predicted evaluations are answers for this generation only
            let mut predicted: HashMap<&P::Genome, Evaluation<P::Info>> = HashMap::new();
            for (g, e) in misses.into_iter().zip(fresh) {
                if problem.is_predicted(&e.info) {
                    predicted.insert(g, e);
                } else {
                    self.cache.insert(g.clone(), e);
                }
            }
            genomes
                .iter()
                .map(|g| match predicted.get(g) {
                    Some(e) => e.clone(),
                    None => self.cache[g].clone(),
                })
                .collect()
        } else {
            let all: Vec<&P::Genome> = genomes.iter().collect();
            let fresh = problem.evaluate_batch(&all, archive);
            let pairs: Vec<(&P::Genome, &Evaluation<P::Info>)> =
                all.iter().copied().zip(&fresh).collect();
            problem.learn(&pairs, false);
            fresh
        };
        let m = problem.num_objectives();
        genomes
            .into_iter()
            .zip(evals)
            .map(|(genome, e)| {
                if e.objectives.len() != m || e.objectives.iter().any(|v| v.is_nan()) {
                    return Err(SearchError::Evaluation(format!(
                        "expected {m} non-NaN objectives, got {:?}",
                        e.objectives
                    )));
                }
                if e.violations.iter().any(|v| v.is_nan() || *v < 0.0) {
                    return Err(SearchError::Evaluation(format!(
                        "violations must be ≥ 0, got {:?}",
                        e.violations
                    )));
                }
                Ok(Individual {
                    genome,
                    objectives: e.objectives,
                    violations: e.violations,
                    info: e.info,
                    birth,
                    fitness: 0.0,
                    crowding: 0.0,
                })
            })
            .collect()
    }

    fn fresh_state(&mut self) -> Result<State<P::Genome, P::Info>, SearchError> {
        let c = self.config.clone();
        let mut genomes = self.problem.seed_genomes();
        genomes.truncate(c.population);
        let seeded = genomes.len();
        genomes.extend(
            (seeded..c.population)
                .into_par_iter()
                .map(|i| {
                    let mut rng = derive(c.seed, 0, i as u64, Stream::Init);
                    self.problem.random_genome(&mut rng)
                })
                .collect::<Vec<_>>(),
        );
        let mut hits = 0;
        let population = self.evaluate(genomes, &[], 0, &mut hits)?;
        Ok(State {
            format: FORMAT,
            algorithm: self.algorithm,
            seed: c.seed,
            population_size: c.population,
            archive_size: c.archive,
            generation: 0,
            evaluations: population.len() as u64,
            population,
            archive: Vec::new(),
            best: Vec::new(),
            history: Vec::new(),
            cache_hits: hits,
            cache: Vec::new(),
            problem_state: None,
        })
    }

    fn load(&mut self, path: &std::path::Path) -> Result<State<P::Genome, P::Info>, SearchError> {
        let bytes = std::fs::read(path).map_err(|source| SearchError::CheckpointIo {
            path: path.to_owned(),
            source,
        })?;
        let fmt = |message: String| SearchError::CheckpointFormat {
            path: path.to_owned(),
            message,
        };
        let mut st: State<P::Genome, P::Info> =
            serde_json::from_slice(&bytes).map_err(|e| fmt(e.to_string()))?;
        let c = &self.config;
        if st.format != FORMAT
            || st.algorithm != self.algorithm
            || st.seed != c.seed
            || st.population_size != c.population
            || st.archive_size != c.archive
        {
            return Err(fmt(format!(
                "written by another run (algorithm {}, seed {}, population {}, archive {}; \
                 this run: {}, {}, {}, {})",
                st.algorithm,
                st.seed,
                st.population_size,
                st.archive_size,
                self.algorithm,
                c.seed,
                c.population,
                c.archive
            )));
        }
        self.cache = std::mem::take(&mut st.cache).into_iter().collect();
        if let Some(state) = st.problem_state.take() {
            self.problem.restore_state(state).map_err(fmt)?;
        }
        Ok(st)
    }

    fn save(&self, st: &mut State<P::Genome, P::Info>) -> Result<(), SearchError> {
        let Some(path) = &self.config.checkpoint else {
            return Ok(());
        };
        if self.config.cache {
            st.cache = self
                .cache
                .iter()
                .map(|(g, e)| (g.clone(), e.clone()))
                .collect();
        }
        st.problem_state = self.problem.save_state();
        let bytes = serde_json::to_vec(&st).map_err(|e| SearchError::CheckpointFormat {
            path: path.clone(),
            message: e.to_string(),
        });
        st.cache.clear();
        st.problem_state = None;
        crate::atomic::write_atomic(path, &bytes?).map_err(|source| SearchError::CheckpointIo {
            path: path.clone(),
            source,
        })
    }

    /// Breeds `population` offspring genomes for generation `next` from the archive:
    /// mating selection from one generator (seed, next, batch, Selection), variation of
    /// mating p from its own generator (seed, next, p, Offspring) in parallel; with
    /// duplicate elimination, duplicates are dropped in order and further batches bred
    /// (mating indices continue) until the population is full.
    fn breed(&self, members: &[Member<'_>], archive: &[Ind<P>], next: u64) -> Vec<P::Genome> {
        let c = &self.config;
        let strategy = self.strategy;
        let problem = self.problem;
        let mut out: Vec<P::Genome> = Vec::with_capacity(c.population);
        let mut seen: std::collections::HashSet<P::Genome, FastHash> = if self.eliminate_duplicates
        {
            archive.iter().map(|i| i.genome.clone()).collect()
        } else {
            Default::default()
        };
        let mut first_mating = 0u64;
        let mut round = 0u64;
        while out.len() < c.population {
            let pairs = (c.population - out.len()).div_ceil(2);
            let mut sel = derive(c.seed, next, round, Stream::Selection);
            let matings = strategy.select(members, pairs, &mut sel);
            let make = |(p, mating): (usize, Mating)| {
                let idx = first_mating + p as u64;
                let mut rng = derive(c.seed, next, idx, Stream::Offspring);
                let (mut x, mut y) = match mating {
                    Mating::Crossover(a, b) => {
                        problem.crossover(&archive[a].genome, &archive[b].genome, &mut rng)
                    }
                    Mating::Mutants(a, b) => (archive[a].genome.clone(), archive[b].genome.clone()),
                    Mating::Random => {
                        let x = problem.random_genome(&mut rng);
                        (x, problem.random_genome(&mut rng))
                    }
                };
                problem.mutate(&mut x, &mut rng);
                problem.mutate(&mut y, &mut rng);
                [x, y]
            };
            let batch: Vec<P::Genome> = if problem.parallel() {
                matings
                    .into_par_iter()
                    .enumerate()
                    .flat_map_iter(make)
                    .collect()
            } else {
                matings.into_iter().enumerate().flat_map(make).collect()
            };
            first_mating += pairs as u64;
            round += 1;
            let accept_all = !self.eliminate_duplicates || round as usize >= DUPLICATE_ROUNDS;
            for g in batch {
                if out.len() >= c.population {
                    break;
                }
                if accept_all {
                    out.push(g);
                } else if !seen.contains(&g) {
                    seen.insert(g.clone());
                    out.push(g);
                }
            }
        }
        out
    }

    /// Evaluates the predicted individuals `union[i]`, `i` in `which`, in full (in
    /// parallel), caches and shows the problem the results, and puts them in place.
    fn promote(&mut self, union: &mut [Ind<P>], which: &[usize]) -> Result<(), SearchError> {
        let problem = self.problem;
        let genomes: Vec<&P::Genome> = which.iter().map(|&i| &union[i].genome).collect();
        let evals: Vec<Evaluation<P::Info>> = if problem.parallel() {
            genomes.par_iter().map(|g| problem.evaluate(g)).collect()
        } else {
            genomes.iter().map(|g| problem.evaluate(g)).collect()
        };
        if let Some(e) = evals.iter().find(|e| problem.is_predicted(&e.info)) {
            return Err(SearchError::Evaluation(format!(
                "a full evaluation came back predicted (objectives {:?})",
                e.objectives
            )));
        }
        let pairs: Vec<(&P::Genome, &Evaluation<P::Info>)> =
            genomes.iter().copied().zip(&evals).collect();
        problem.learn(&pairs, true);
        drop(pairs);
        for (&i, e) in which.iter().zip(evals) {
            if self.config.cache {
                self.cache.insert(union[i].genome.clone(), e.clone());
            }
            let ind = &mut union[i];
            ind.objectives = e.objectives;
            ind.violations = e.violations;
            ind.info = e.info;
        }
        Ok(())
    }

    /// Runs to the last generation (or until the stop flag is seen), calling `observer`
    /// after every generation's survival.
    #[allow(clippy::type_complexity)]
    pub fn run(
        mut self,
        observer: &mut dyn FnMut(&Progress<'_, P::Genome, P::Info>),
    ) -> Result<RunResult<P::Genome, P::Info>, SearchError> {
        self.validate()?;
        let c = self.config.clone();
        let strategy = self.strategy;
        let eval_start = Instant::now();
        let mut st = match &c.checkpoint {
            Some(p) if c.resume && p.exists() => self.load(p)?,
            _ => {
                let mut st = self.fresh_state()?;
                self.save(&mut st)?;
                st
            }
        };
        let mut eval_seconds = eval_start.elapsed().as_secs_f64();
        let mut algo_seconds = 0.0;
        let mut generations_run = 0;
        let mut stopped = false;
        loop {
            let t = st.generation;
            let t0 = Instant::now();
            // survival on A_t ∪ P_t
            let mut union: Vec<Ind<P>> = std::mem::take(&mut st.archive);
            let offspring_start = union.len();
            union.append(&mut std::mem::take(&mut st.population));
            let survivors = loop {
                let members = members(&union);
                let survivors = strategy.survive(&members, c.archive);
                drop(members);
                // The promotion rule: a predicted individual that would survive, or
                // join the best-so-far set, is evaluated in full first, and survival
                // runs again (each round evaluates at least one, so it ends).
                let mut promote: Vec<usize> = survivors.iter().map(|s| s.index).collect();
                if self.track_best {
                    promote.extend(best_entrants(&st.best, &union, offspring_start));
                }
                promote.sort_unstable();
                promote.dedup();
                promote.retain(|&i| self.problem.is_predicted(&union[i].info));
                if promote.is_empty() {
                    break survivors;
                }
                self.promote(&mut union, &promote)?;
            };
            if self.track_best {
                update_best(&mut st.best, &union, offspring_start);
            }
            let mut slots: Vec<Option<Ind<P>>> = union.into_iter().map(Some).collect();
            st.archive = survivors
                .iter()
                .map(|s| {
                    let mut ind = slots[s.index].take().expect("survivor chosen once");
                    ind.fitness = s.fitness;
                    ind.crowding = s.crowding;
                    ind
                })
                .collect();
            drop(slots);
            algo_seconds += t0.elapsed().as_secs_f64();
            let record = GenerationRecord {
                generation: t,
                evaluations: st.evaluations,
                archive_hv: c
                    .reference
                    .as_ref()
                    .map(|r| {
                        let pts: Vec<Vec<f64>> = st
                            .archive
                            .iter()
                            .filter(|i| i.feasible())
                            .map(|i| i.objectives.clone())
                            .collect();
                        hypervolume(&pts, r)
                    })
                    .transpose()?,
                best_hv: c
                    .reference
                    .as_ref()
                    .filter(|_| self.track_best)
                    .map(|r| {
                        let pts: Vec<Vec<f64>> =
                            st.best.iter().map(|i| i.objectives.clone()).collect();
                        hypervolume(&pts, r)
                    })
                    .transpose()?,
                feasible: st.archive.iter().filter(|i| i.feasible()).count(),
                best_size: st.best.len(),
            };
            st.history.push(record);
            generations_run += 1;
            observer(&Progress {
                record: st.history.last().expect("just pushed"),
                generations: c.generations,
                archive: &st.archive,
                best_so_far: &st.best,
            });
            if t + 1 >= c.generations {
                break;
            }
            // breed P_{t+1} from A_{t+1}
            let t1 = Instant::now();
            let next = t + 1;
            let members = members(&st.archive);
            let genomes = self.breed(&members, &st.archive, next);
            drop(members);
            algo_seconds += t1.elapsed().as_secs_f64();
            let t2 = Instant::now();
            let mut hits = 0;
            let archive_points: Vec<Vec<f64>> = st
                .archive
                .iter()
                .filter(|i| i.feasible())
                .map(|i| i.objectives.clone())
                .collect();
            let archive_refs: Vec<&[f64]> = archive_points.iter().map(|p| p.as_slice()).collect();
            st.population = self.evaluate(genomes, &archive_refs, next, &mut hits)?;
            eval_seconds += t2.elapsed().as_secs_f64();
            st.cache_hits += hits;
            st.evaluations += st.population.len() as u64;
            st.generation = next;
            self.save(&mut st)?;
            if self.stop.as_ref().is_some_and(|f| f.load(Ordering::SeqCst)) {
                stopped = true;
                break;
            }
        }
        Ok(RunResult {
            archive: st.archive,
            best_so_far: st.best,
            history: st.history,
            evaluations: st.evaluations,
            cache_hits: st.cache_hits,
            stopped,
            algorithm_seconds: algo_seconds,
            evaluation_seconds: eval_seconds,
            generations_run,
        })
    }
}

/// The selection view of `inds`: objectives, violation normalised over `inds`, birth,
/// fitness and crowding.
fn members<G, I>(inds: &[Individual<G, I>]) -> Vec<Member<'_>> {
    let refs: Vec<&Individual<G, I>> = inds.iter().collect();
    let cv = normalised_violations(&refs);
    inds.iter()
        .zip(cv)
        .map(|(ind, violation)| Member {
            objectives: &ind.objectives,
            violation,
            birth: ind.birth,
            fitness: ind.fitness,
            crowding: ind.crowding,
        })
        .collect()
}

/// Indices of the feasible members of `union[first_new..]` (this generation's
/// offspring) that [`update_best`] may add to the non-dominated set `best`: those not
/// dominated by another feasible member of the union, nor dominated by or equal to a
/// member of `best`.
///
/// Only offspring not dominated by another feasible member of the union are tried: a
/// dominated one is dominated by a point that is in `best` or dominated by one of its
/// members (every union member was an offspring once, and `best` only loses points to
/// better ones), so it could not enter.
fn best_entrants<G, I>(
    best: &[Individual<G, I>],
    union: &[Individual<G, I>],
    first_new: usize,
) -> Vec<usize> {
    let feasible: Vec<&Individual<G, I>> = union.iter().filter(|p| p.feasible()).collect();
    (first_new..union.len())
        .filter(|&i| {
            let p = &union[i];
            p.feasible()
                && !feasible
                    .iter()
                    .any(|q| dominates(&q.objectives, &p.objectives))
                && !best.iter().any(|b| {
                    b.objectives == p.objectives || dominates(&b.objectives, &p.objectives)
                })
        })
        .collect()
}

/// Adds the feasible members of `union[first_new..]` (this generation's offspring) to the
/// non-dominated set `best` (points equal in every objective to a member are skipped).
fn update_best<G: Clone, I: Clone>(
    best: &mut Vec<Individual<G, I>>,
    union: &[Individual<G, I>],
    first_new: usize,
) {
    for i in best_entrants(best, union, first_new) {
        let p = &union[i];
        // two offspring with equal objectives: the first one enters
        if best.iter().any(|b| b.objectives == p.objectives) {
            continue;
        }
        best.retain(|b| !dominates(&p.objectives, &b.objectives));
        let mut p = p.clone();
        p.fitness = 0.0;
        p.crowding = 0.0;
        best.push(p);
    }
}

/// A fast, deterministic, non-cryptographic hasher for the duplicate check (genomes are
/// not attacker-controlled): FxHash's rotate–xor–multiply per 64-bit word.
#[derive(Default, Clone, Copy)]
struct FastHash;

impl std::hash::BuildHasher for FastHash {
    type Hasher = FxHasher;
    fn build_hasher(&self) -> FxHasher {
        FxHasher(0)
    }
}

struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(w));
        }
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
}
