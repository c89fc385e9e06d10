//! `distrinas hv`: exact hypervolume (and IGD/IGD+) of a point set.

use anyhow::{bail, Context};
use clap::Args;
use distrinas::search::indicators::{hypervolume, hypervolume_monte_carlo, igd, igd_plus};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct HvArgs {
    /// CSV file, one point per row (objectives minimised), optional header line.
    pub points: PathBuf,
    /// Reference point, comma-separated (e.g. 1.1,1.1).
    #[arg(
        long = "ref",
        value_delimiter = ',',
        required = true,
        allow_hyphen_values = true
    )]
    pub reference: Vec<f64>,
    /// Reference front (same CSV format) for IGD and IGD+.
    #[arg(long)]
    pub reference_front: Option<PathBuf>,
    /// Estimate the hypervolume from N uniform samples instead of computing it exactly
    /// (for many objectives and points, where the exact value is refused past its work
    /// limit); prints the estimate and its standard error.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1_000_000_000))]
    pub monte_carlo: Option<u64>,
    /// Seed of the Monte Carlo samples.
    #[arg(long, default_value_t = 0, requires = "monte_carlo")]
    pub seed: u64,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Reads a CSV of points: comma/whitespace separated numbers; a first line that does not
/// parse is a header; blank lines and `#` comments are skipped.
fn read_points(path: &Path) -> anyhow::Result<Vec<Vec<f64>>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut pts: Vec<Vec<f64>> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = t
            .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .collect();
        let parsed: Result<Vec<f64>, _> = fields.iter().map(|f| f.parse::<f64>()).collect();
        match parsed {
            Ok(p) => {
                if let Some(first) = pts.first() {
                    if first.len() != p.len() {
                        bail!(
                            "{}:{}: {} values, expected {} like the first point",
                            path.display(),
                            i + 1,
                            p.len(),
                            first.len()
                        );
                    }
                }
                if let Some(c) = p.iter().position(|v| !v.is_finite()) {
                    bail!(
                        "{}:{}: value {} is {}: expected a finite number",
                        path.display(),
                        i + 1,
                        c + 1,
                        p[c]
                    );
                }
                pts.push(p);
            }
            Err(e) if pts.is_empty() && i == 0 => {
                let _ = e; // header line
            }
            Err(e) => {
                let col = fields
                    .iter()
                    .position(|f| f.parse::<f64>().is_err())
                    .unwrap_or(0);
                bail!(
                    "{}:{}: field {} ({:?}) is not a number: {e}",
                    path.display(),
                    i + 1,
                    col + 1,
                    fields[col]
                );
            }
        }
    }
    if pts.is_empty() {
        bail!("{}: no points", path.display());
    }
    Ok(pts)
}

pub fn run(args: HvArgs) -> anyhow::Result<ExitCode> {
    let pts = read_points(&args.points)?;
    if let Some(v) = args.reference.iter().find(|v| !v.is_finite()) {
        bail!("--ref: {v} is not a finite number");
    }
    if pts[0].len() != args.reference.len() {
        bail!(
            "{}: points have {} objectives but --ref has {} values",
            args.points.display(),
            pts[0].len(),
            args.reference.len()
        );
    }
    let progress = super::progress::Progress::new(
        &format!(
            "hv: {} points × {} objectives, {}",
            pts.len(),
            args.reference.len(),
            if args.monte_carlo.is_some() {
                "Monte Carlo"
            } else {
                "exact"
            }
        ),
        None,
    );
    let value = match args.monte_carlo {
        Some(n) => hypervolume_monte_carlo(&pts, &args.reference, n, args.seed)
            .map(|(v, se)| (v, Some(se))),
        None => hypervolume(&pts, &args.reference).map(|v| (v, None)),
    };
    progress.finish();
    let (hv, standard_error) = value?;
    let (mut ig, mut igp) = (None, None);
    if let Some(f) = &args.reference_front {
        let front = read_points(f)?;
        ig = Some(igd(&pts, &front)?);
        igp = Some(igd_plus(&pts, &front)?);
    }
    if args.json {
        println!(
            "{}",
            serde_json::json!({"points": pts.len(), "objectives": args.reference.len(),
                "hv": hv, "hv_standard_error": standard_error, "igd": ig, "igd_plus": igp})
        );
    } else {
        println!("points      {}", pts.len());
        match standard_error {
            Some(se) => println!(
                "hypervolume {hv:.10} ± {se:.2e} (Monte Carlo, {} samples, seed {})",
                args.monte_carlo.unwrap_or(0),
                args.seed
            ),
            None => println!("hypervolume {hv:.10}"),
        }
        if let (Some(a), Some(b)) = (ig, igp) {
            println!("IGD         {a:.10}");
            println!("IGD+        {b:.10}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
