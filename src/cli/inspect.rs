//! `distrinas inspect`.

use clap::Args;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Input files.
    pub files: Vec<std::path::PathBuf>,
}

pub fn run(_args: InspectArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`inspect` is not yet implemented")
}
