//! `distrinas report`.

use clap::Args;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Input files.
    pub files: Vec<std::path::PathBuf>,
}

pub fn run(_args: ReportArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`report` is not yet implemented")
}
