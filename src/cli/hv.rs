//! `distrinas hv`.

use clap::Args;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct HvArgs {
    /// Input files.
    pub files: Vec<std::path::PathBuf>,
}

pub fn run(_args: HvArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`hv` is not yet implemented")
}
