//! `distrinas bench-search`.

use clap::Args;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct BenchSearchArgs {
    /// Input files.
    pub files: Vec<std::path::PathBuf>,
}

pub fn run(_args: BenchSearchArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`bench-search` is not yet implemented")
}
