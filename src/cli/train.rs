//! `distrinas train`.

use clap::Args;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Input files.
    pub files: Vec<std::path::PathBuf>,
}

pub fn run(_args: TrainArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`train` is not yet implemented")
}
