//! `distrinas compare`.

use clap::Args;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Input files.
    pub files: Vec<std::path::PathBuf>,
}

pub fn run(_args: CompareArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`compare` is not yet implemented")
}
