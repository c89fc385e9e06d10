//! `distrinas search`.

use clap::Args;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Input files.
    pub files: Vec<std::path::PathBuf>,
}

pub fn run(_args: SearchArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`search` is not yet implemented")
}
