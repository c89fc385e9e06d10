//! A generic multi-objective search engine: SPEA2, NSGA-II, random search, aging
//! evolution, constrained domination, hypervolume and IGD (see `docs/search.md`).
//!
//! The engine knows nothing of networks or devices: a [`Problem`] supplies genomes,
//! variation and evaluation; an [`Algorithm`] supplies environmental and mating
//! selection; the [`Runner`] drives generations, evaluates in parallel (rayon),
//! caches evaluations by genome, checkpoints every generation and resumes.
//! Every objective is minimised.
//!
//! ```
//! use distrinas::search::{problems::TestProblem, Algorithm, RunConfig, Runner};
//! let problem = TestProblem::zdt1(30);
//! let config = RunConfig { seed: 1, population: 40, archive: 40, generations: 100,
//!                          reference: Some(vec![1.1, 1.1]), ..RunConfig::default() };
//! let result = Runner::new(&problem, Algorithm::Spea2, config).run(&mut |_| {}).unwrap();
//! assert_eq!(result.archive.len(), 40);
//! assert!(result.history.last().unwrap().best_hv.unwrap() > 0.5); // 0.63 with this seed
//! ```

#[allow(clippy::needless_range_loop)]
pub mod algorithms;
#[allow(clippy::needless_range_loop)]
pub mod dominance;
#[allow(clippy::needless_range_loop)]
pub mod indicators;
pub mod individual;
#[allow(clippy::needless_range_loop)]
pub mod operators;
pub mod problem;
#[allow(clippy::needless_range_loop)]
pub mod problems;
pub mod rng;
pub mod runner;

/// docs/search.md's Rust blocks run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../docs/search.md")]
mod search_md {}

pub use algorithms::Algorithm;
pub use individual::Individual;
pub use problem::{Evaluation, Problem, RealGenome};
pub use runner::{GenerationRecord, Progress, RunConfig, RunResult, Runner};

/// Errors of the search engine.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// A configuration value is out of range.
    #[error("invalid search configuration: {0}")]
    Config(String),
    /// Reading or writing a checkpoint failed.
    #[error("checkpoint {path}: {source}")]
    CheckpointIo {
        /// The checkpoint file.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A checkpoint could not be (de)serialised or belongs to another run.
    #[error("checkpoint {path}: {message}")]
    CheckpointFormat {
        /// The checkpoint file.
        path: std::path::PathBuf,
        /// What is wrong.
        message: String,
    },
    /// An indicator was given inconsistent input.
    #[error("indicator: {0}")]
    Indicator(String),
    /// The exact hypervolume would take more than the work limit.
    #[error(
        "the exact hypervolume of {points} points in {objectives} objectives needs more than \
         {budget} limit-set visits and dominance tests (WFG's cost grows exponentially with the objectives); \
         estimate it by Monte Carlo instead (`hv --monte-carlo N`)"
    )]
    HypervolumeTooCostly {
        /// Points that dominate the reference point.
        points: usize,
        /// Objectives.
        objectives: usize,
        /// The work limit that was reached.
        budget: u64,
    },
    /// The problem returned an evaluation of the wrong shape or with NaN values.
    #[error("evaluation: {0}")]
    Evaluation(String),
}
