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
    #[arg(long, conflicts_with = "target_from")]
    pub target_hv: Option<f64>,
    /// Take the target hypervolume from this run's final front (one of DIRS, e.g. a
    /// cold start when timing a warm start).
    #[arg(long, value_name = "DIR")]
    pub target_from: Option<PathBuf>,
    /// Folder for `compare.json`, `compare.md`, `convergence.svg` and `compare.html`.
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
    let target = match (&args.target_from, args.target_hv) {
        (Some(dir), _) => {
            report::Target::RunFinal(args.dirs.iter().position(|d| d == dir).ok_or_else(|| {
                anyhow::anyhow!(
                    "--target-from {} is not one of the compared runs",
                    dir.display()
                )
            })?)
        }
        (None, Some(v)) => report::Target::Value(v),
        (None, None) => report::Target::default(),
    };
    let c = report::compare_runs(&runs, target, &report::ExactIndicators)?;
    let loaded: Vec<report::Run> = runs.into_iter().map(|(_, r)| r).collect();
    report::write_comparison(&args.out, &c, &loaded)?;
    if args.json {
        println!("{}", serde_json::to_string(&c)?);
    } else {
        print!("{}", report::comparison_table(&c));
        eprintln!(
            "wrote {}/compare.json, compare.md, convergence.svg, compare.html",
            args.out.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
