//! `distrinas report DIR`: regenerate the tables, plots, placement diagrams, `report.md`
//! and `report.html` of a run folder.

use clap::Args;
use distrinas::report;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Run folder written by `distrinas search` (holds `front.json` and `history.json`).
    pub dir: PathBuf,
    /// Print one JSON object (the run's `front.json` plus `out_dir`) on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: ReportArgs) -> anyhow::Result<ExitCode> {
    let run = report::regenerate(&args.dir, &report::ExactIndicators)?;
    let dir = args.dir.display().to_string();
    if args.json {
        let elapsed = run.info.as_ref().map(|i| i.elapsed_s).unwrap_or(0.0);
        println!("{}", run.results.to_json_value(&dir, elapsed));
    } else {
        let r = &run.results;
        println!(
            "{dir}: {} front members ({} feasible), hypervolume {:.6}, {} generations, {} evaluations",
            r.front.len(),
            r.front.iter().filter(|m| m.feasible).count(),
            r.hypervolume,
            r.generations,
            r.evaluations
        );
        println!("rewrote front.csv, front.json, history.csv, plots/*.svg, plots/placement/*.svg, report.md, report.html");
    }
    Ok(ExitCode::SUCCESS)
}
