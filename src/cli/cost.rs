//! `distrinas cost`.

use clap::Args;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct CostArgs {
    /// Input files.
    pub files: Vec<std::path::PathBuf>,
}

pub fn run(_args: CostArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`cost` is not yet implemented")
}
