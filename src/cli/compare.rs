//! `distrinas compare DIR DIR...`: several runs side by side on one normalisation.

use clap::Args;
use distrinas::report;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Run folders written by `distrinas search` (same objectives).
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// Hypervolume to reach for "evaluations / seconds to target" (default: 90% of the
    /// best final hypervolume among the runs, on the common normalisation).
    #[arg(long)]
    pub target_hv: Option<f64>,
    /// Folder for `compare.json`, `compare.md` and `convergence.svg`.
    #[arg(long, default_value = "runs/compare")]
    pub out: PathBuf,
    /// Print one JSON object (the comparison) on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: CompareArgs) -> anyhow::Result<ExitCode> {
    let mut runs = Vec::new();
    for d in &args.dirs {
        runs.push((d.display().to_string(), report::load_run(d)?));
    }
    let c = report::compare_runs(&runs, args.target_hv, &report::ExactIndicators)?;
    report::write_comparison(&args.out, &c)?;
    if args.json {
        println!("{}", serde_json::to_string(&c)?);
    } else {
        print!("{}", report::comparison_table(&c));
        eprintln!(
            "wrote {}/compare.json, compare.md, convergence.svg",
            args.out.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
