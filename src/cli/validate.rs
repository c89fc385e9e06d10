//! `distrinas validate`: schema and semantic checks of scenario files.

use clap::Args;
use distrinas::evaluate::run::load_splits;
use distrinas::scenario::{LoadedScenario, Scenario};
use distrinas::sim::SimWorkload;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Scenario files to check (every error of every file is reported).
    #[arg(required = true)]
    pub files: Vec<std::path::PathBuf>,
    /// Print one JSON object `{"files": [{"file", "valid", "errors": [...]}], "valid"}`.
    #[arg(long)]
    pub json: bool,
}

/// Errors of the files a valid scenario names: its datasets are parsed (as a search
/// would: same split seed) and its arrival trace is read.
fn data_errors(loaded: &LoadedScenario) -> Vec<String> {
    let mut errors = Vec::new();
    if let Err(e) = load_splits(loaded, loaded.scenario.seed) {
        errors.push(format!("{}: {e}", loaded.file));
    }
    if let Err(e) = SimWorkload::from_scenario(&loaded.scenario.workload, &loaded.base_dir) {
        errors.push(format!("{}: {e}", loaded.file));
    }
    errors
}

/// Exit status 0 when every file is valid, 1 otherwise (clap exits 2 on usage errors).
pub fn run(args: ValidateArgs) -> anyhow::Result<ExitCode> {
    let mut all_ok = true;
    let mut report = Vec::new();
    for f in &args.files {
        let (ok, errors) = match Scenario::load(f) {
            Ok(loaded) => {
                let data = data_errors(&loaded);
                (data.is_empty(), data)
            }
            Err(e) => (false, e.lines()),
        };
        all_ok &= ok;
        if !args.json {
            if ok {
                println!("{}: ok", f.display());
            } else {
                for line in &errors {
                    eprintln!("{line}");
                }
            }
        }
        report.push(serde_json::json!({
            "file": f.display().to_string(), "valid": ok, "errors": errors,
        }));
    }
    if args.json {
        println!(
            "{}",
            serde_json::json!({ "files": report, "valid": all_ok })
        );
    } else if !all_ok {
        let bad = report.iter().filter(|r| r["valid"] == false).count();
        eprintln!("{bad} of {} file(s) invalid", args.files.len());
    }
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
