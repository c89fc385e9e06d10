//! Subcommands: one file each, holding its clap arguments and a `run` function.

mod adapt;
mod bench_search;
mod calibrate;
mod compare;
mod cost;
mod export;
mod hv;
mod inspect;
mod progress;
mod report;
mod search;
mod simulate;
mod train;
mod validate;
mod worker;

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::path::Path;
use std::process::ExitCode;

/// Reads a RON file in distrinas' dialect; a syntax error reads `file:line:col: what`
/// followed by `hint` (when not empty).
pub(crate) fn read_ron<T: serde::de::DeserializeOwned>(
    path: &Path,
    hint: &str,
) -> anyhow::Result<T> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    distrinas::ronfmt::options().from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "{}:{}:{}: {}{hint}",
            path.display(),
            e.span.start.line,
            e.span.start.col,
            e.code
        )
    })
}

/// The candidate file `path`, or the knee candidate of the run folder `path`.
pub(crate) fn candidate_file(path: &Path) -> anyhow::Result<std::path::PathBuf> {
    if !path.is_dir() {
        return Ok(path.to_path_buf());
    }
    let front = path.join("front.json");
    let run: distrinas::report::RunResults = read_json(&front).with_context(|| {
        format!(
            "{} is a folder without a readable front.json",
            path.display()
        )
    })?;
    let Some(k) = run.knee() else {
        anyhow::bail!("{}: the front is empty", front.display());
    };
    Ok(path.join(&run.front[k].candidate_file))
}

/// Reads a JSON file; a syntax error reads `file:line:col: what`.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> anyhow::Result<T> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}:{}:{}: {e}", path.display(), e.line(), e.column()))
}

/// Search tiny neural networks, their partitions and device mappings.
#[derive(Debug, Parser)]
#[command(name = "distrinas", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the multi-objective search (embedded quickstart without a scenario).
    Search(search::SearchArgs),
    /// What-if replay of one candidate under a scenario's workload and events.
    Simulate(simulate::SimulateArgs),
    /// Deploy a run's front with a switching policy until the first battery dies,
    /// side by side with every static member.
    Adapt(adapt::AdaptArgs),
    /// Check scenario files (schema and semantics).
    Validate(validate::ValidateArgs),
    /// Show a scenario's devices, links, routes and budgets.
    Inspect(inspect::InspectArgs),
    /// Per-layer params, MACs, flash and SRAM of a network (and its partitions).
    Cost(cost::CostArgs),
    /// Evaluate the leased candidates of a `search --storage` run.
    Worker(worker::WorkerArgs),
    /// Write a run's candidate as per-partition int8 C code with a host harness.
    Export(export::ExportArgs),
    /// Fit a device's per-layer latency model to measured layers.
    Calibrate(calibrate::CalibrateArgs),
    /// Train one network on a dataset.
    Train(Box<train::TrainArgs>),
    /// Regenerate tables and plots of a run folder.
    Report(report::ReportArgs),
    /// Compare runs side by side (HV, IGD, convergence).
    Compare(compare::CompareArgs),
    /// Exact hypervolume (and IGD/IGD+) of a point set.
    Hv(hv::HvArgs),
    /// Benchmark search algorithms on standard test problems.
    BenchSearch(bench_search::BenchSearchArgs),
}

/// Runs one subcommand.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Search(a) => search::run(a),
        Command::Simulate(a) => simulate::run(a),
        Command::Adapt(a) => adapt::run(a),
        Command::Validate(a) => validate::run(a),
        Command::Inspect(a) => inspect::run(a),
        Command::Cost(a) => cost::run(a),
        Command::Export(a) => export::run(a),
        Command::Worker(a) => worker::run(a),
        Command::Calibrate(a) => calibrate::run(a),
        Command::Train(a) => train::run(*a),
        Command::Report(a) => report::run(a),
        Command::Compare(a) => compare::run(a),
        Command::Hv(a) => hv::run(a),
        Command::BenchSearch(a) => bench_search::run(a),
    }
}
