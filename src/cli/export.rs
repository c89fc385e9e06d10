//! `distrinas export`: a run's candidate as per-partition int8 C code, a host harness
//! and a manifest (`docs/export.md`).

use anyhow::{bail, Context};
use clap::Args;
use distrinas::deploy::{export, ExportError, ExportRequest};
use distrinas::evaluate::run::SearchOptions;
use distrinas::evaluate::runfolder::{Fingerprint, FINGERPRINT_FILE};
use distrinas::partition::Candidate;
use distrinas::report::RunResults;
use distrinas::scenario::Scenario;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Sections of a run's fingerprint that an export depends on.
const EXPORT_SECTIONS: [&str; 7] = [
    "dataset",
    "dataset train file",
    "dataset test file",
    "devices",
    "device profiles",
    "links",
    "link profiles",
];

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Candidate file of a run folder (`RUN/candidates/<id>.ron`, its trained weights
    /// `<id>.weights` beside it), or a run folder (its knee candidate).
    pub candidate: PathBuf,
    /// Output folder (created; files in it are replaced).
    #[arg(long)]
    pub out: PathBuf,
    /// The run's scenario file (default: `scenario_file` of the run's `run.json`, or the
    /// embedded quickstart when it has none).
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// Print the manifest as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let cand_path = super::candidate_file(&args.candidate)?;
    let candidate: Candidate = super::read_ron(&cand_path, "")?;
    let id = cand_path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    // RUN/candidates/<id>.ron → RUN
    let run_dir = cand_path
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let front_path = run_dir.join("front.json");
    if !front_path.is_file() {
        bail!(
            "{}: not in a run folder (no {} two levels up); export takes RUN/candidates/<id>.ron",
            cand_path.display(),
            front_path.display()
        );
    }
    let front: RunResults = super::read_json(&front_path)?;
    let scenario_file = match &args.scenario {
        Some(p) => Some(p.clone()),
        None => {
            let info: serde_json::Value = super::read_json(&run_dir.join("run.json"))
                .context("the run's run.json names its scenario; or pass --scenario")?;
            info.get("scenario_file")
                .and_then(|v| v.as_str())
                .map(PathBuf::from)
        }
    };
    let loaded = match &scenario_file {
        Some(p) => Scenario::load(p).with_context(|| {
            format!(
                "the run's scenario {} (from run.json; pass --scenario if it moved)",
                p.display()
            )
        })?,
        None => Scenario::embedded_quickstart(),
    };
    // The scenario must be the run's: dataset, devices and links as fingerprinted.
    let recorded: Fingerprint = super::read_json(&run_dir.join(FINGERPRINT_FILE))?;
    let mut opts = SearchOptions::from_loaded(&loaded, run_dir.clone());
    opts.seed = front.seed;
    let now = Fingerprint::of(&loaded, &opts)?;
    let pick = |f: &Fingerprint| Fingerprint {
        sections: f
            .sections
            .iter()
            .filter(|(k, _)| EXPORT_SECTIONS.contains(&k.as_str()))
            .cloned()
            .collect(),
    };
    if let Some(section) = pick(&recorded).first_difference(&pick(&now)) {
        return Err(ExportError::Mismatch(format!(
            "its {section} differs from the one the run {} was made with",
            run_dir.display()
        ))
        .into());
    }
    let weights = cand_path.with_extension("weights");
    let req = ExportRequest {
        id: &id,
        candidate: &candidate,
        weights: &weights,
        loaded: &loaded,
        seed: front.seed,
    };
    let manifest =
        export(&req, &args.out).with_context(|| format!("exporting {}", cand_path.display()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&manifest)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "exported {} ({} partition(s)) to {}",
        id,
        manifest.partitions.len(),
        args.out.display()
    );
    println!(
        "{:<10} {:<10} {:>8} {:>10} {:>10} {:>10} {:>10}",
        "partition", "device", "layers", "arena B", "planned B", "params B", "flash B*"
    );
    for p in &manifest.partitions {
        println!(
            "{:<10} {:<10} {:>8} {:>10} {:>10} {:>10} {:>10}",
            p.index,
            p.device,
            format!("{}..{}", p.layers[0], p.layers[1]),
            p.arena_bytes,
            p.planned_bytes,
            p.parameter_bytes,
            p.cost_model_flash_bytes
        );
    }
    println!("* flash of the cost model; arena = max(cost model peak SRAM, plan)");
    for m in &manifest.messages {
        let from = m
            .from_partition
            .map_or(format!("input at {}", m.from), |k| format!("partition {k}"));
        let to = m
            .to_partition
            .map_or(format!("sink {}", m.to), |k| format!("partition {k}"));
        let way = if m.route.len() > 1 {
            format!("via {}", m.route.join(" > "))
        } else {
            format!("on {}, no radio", m.from)
        };
        println!("{from} -> {to}: {} B {way}", m.bytes);
    }
    let front_int8 = front
        .front
        .iter()
        .find(|m| m.candidate_file == format!("candidates/{id}.ron"))
        .and_then(|m| m.int8_test_accuracy);
    println!(
        "int8 accuracy on {} ({} {} cases): {:.4}{}",
        manifest.test_file,
        manifest.test_samples,
        manifest.test_split,
        manifest.int8_accuracy,
        front_int8.map_or(String::new(), |a| format!(" (front.json: {a:.4})"))
    );
    println!(
        "build and check: make -C {0} && {0}/harness",
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
