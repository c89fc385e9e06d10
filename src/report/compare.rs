//! Several runs side by side: hypervolume and IGD on one common normalisation and
//! reference point, evaluations and time to reach a target hypervolume, one
//! convergence plot.

use super::normalise::{non_dominated, Normalisation};
use super::plot::{line_plot, Series};
use super::run::{history_rows, normalised_hv, Run};
use super::{write_file, Indicators, ReportError};
use serde::{Deserialize, Serialize};
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// Figures of one run in a [`Comparison`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunComparison {
    /// Label of the run (its folder as given).
    pub label: String,
    pub algorithm: String,
    pub seed: u64,
    /// Hypervolume of the run's feasible front under the common normalisation.
    pub hypervolume: f64,
    /// IGD of the run's feasible front (normalised) to the non-dominated union of all
    /// runs' feasible fronts (normalised); smaller is better, 0 = covers the union.
    pub igd: f64,
    /// Feasible members of the run's front.
    pub front_size: usize,
    /// Evaluations of the whole run.
    pub evaluations: usize,
    /// Wall-clock seconds of the search (last generation's `elapsed_s`).
    pub elapsed_s: f64,
    /// Evaluations until the best-so-far HV first reached the target (`None`: never).
    pub evaluations_to_target: Option<usize>,
    /// Seconds until the best-so-far HV first reached the target (`None`: never).
    pub seconds_to_target: Option<f64>,
    /// (evaluations, best-so-far HV) per generation under the common normalisation.
    pub convergence: Vec<(usize, f64)>,
}

/// The comparison of several runs of the same objectives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub objective_names: Vec<String>,
    /// Ideal and nadir of the union of every run's feasible front.
    pub normalisation: Normalisation,
    /// Reference point in normalised space (1.1 in every objective).
    pub reference_point: Vec<f64>,
    /// HV a run must reach for `evaluations_to_target` (default: 90% of the best
    /// final HV among the runs).
    pub target_hv: f64,
    /// Size of the non-dominated union of the fronts (IGD's reference front).
    pub reference_front_size: usize,
    pub runs: Vec<RunComparison>,
}

/// Compares `runs` (label, run) on one normalisation: the union of their feasible
/// fronts' ideal and nadir. `target_hv` defaults to 0.9 × the best final HV.
/// Fails when no run is given or the runs' objectives differ.
pub fn compare_runs(
    runs: &[(String, Run)],
    target_hv: Option<f64>,
    ind: &dyn Indicators,
) -> Result<Comparison, ReportError> {
    let first = runs
        .first()
        .ok_or_else(|| ReportError::Incompatible("compare needs at least one run".into()))?;
    let names = first.1.results.objective_names.clone();
    for (label, r) in runs {
        if r.results.objective_names != names {
            return Err(ReportError::Incompatible(format!(
                "{label}: objectives [{}] differ from {}'s [{}]",
                r.results.objective_names.join(", "),
                first.0,
                names.join(", ")
            )));
        }
    }
    let fronts: Vec<Vec<Vec<f64>>> = runs
        .iter()
        .map(|(_, r)| r.results.feasible_points())
        .collect();
    let norm = Normalisation::of_sets(fronts.iter().map(|f| f.as_slice()), names.len());
    let union: Vec<Vec<f64>> = fronts.iter().flatten().cloned().collect();
    let reference_front: Vec<Vec<f64>> = non_dominated(&union)
        .into_iter()
        .map(|i| norm.normalise(&union[i]))
        .collect();
    let mut out = Vec::new();
    let mut times: Vec<Vec<f64>> = Vec::new();
    for ((label, r), front) in runs.iter().zip(&fronts) {
        let hv = normalised_hv(ind, &norm, front);
        let igd = if front.is_empty() || reference_front.is_empty() {
            f64::INFINITY
        } else {
            ind.igd(&norm.normalise_all(front), &reference_front)
        };
        let rows = history_rows(ind, &norm, &r.generations);
        times.push(rows.iter().map(|h| h.elapsed_s).collect());
        out.push(RunComparison {
            label: label.clone(),
            algorithm: r.results.algorithm.clone(),
            seed: r.results.seed,
            hypervolume: hv,
            igd,
            front_size: front.len(),
            evaluations: r.results.evaluations,
            elapsed_s: rows.last().map(|h| h.elapsed_s).unwrap_or(0.0),
            evaluations_to_target: None,
            seconds_to_target: None,
            convergence: rows.iter().map(|h| (h.evaluations, h.best_hv)).collect(),
        });
    }
    let best = out.iter().map(|c| c.hypervolume).fold(0.0, f64::max);
    let target = target_hv.unwrap_or(0.9 * best);
    for (c, t) in out.iter_mut().zip(&times) {
        if let Some(g) = c
            .convergence
            .iter()
            .position(|&(_, hv)| hv >= target && hv > 0.0)
        {
            c.evaluations_to_target = Some(c.convergence[g].0);
            c.seconds_to_target = t.get(g).copied();
        }
    }
    Ok(Comparison {
        objective_names: names,
        reference_point: norm.reference(),
        normalisation: norm,
        target_hv: target,
        reference_front_size: reference_front.len(),
        runs: out,
    })
}

/// The comparison as a Markdown table.
pub fn comparison_table(c: &Comparison) -> String {
    use super::markdown::g4;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| run | algorithm | seed | HV | IGD | front | evaluations | s | evals to HV {} | s to HV {} |\n\
         |---|---|---|---|---|---|---|---|---|---|",
        g4(c.target_hv),
        g4(c.target_hv)
    );
    for r in &c.runs {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.label,
            r.algorithm,
            r.seed,
            g4(r.hypervolume),
            g4(r.igd),
            r.front_size,
            r.evaluations,
            g4(r.elapsed_s),
            r.evaluations_to_target
                .map(|e| e.to_string())
                .unwrap_or_else(|| "–".into()),
            r.seconds_to_target.map(g4).unwrap_or_else(|| "–".into()),
        );
    }
    s
}

/// Writes `compare.json`, `compare.md` and `convergence.svg` (best-so-far HV against
/// evaluations, one line per run) into `dir`. Returns the paths written.
pub fn write_comparison(dir: &Path, c: &Comparison) -> Result<Vec<PathBuf>, ReportError> {
    let mut written = Vec::new();
    let p = dir.join("compare.json");
    let json = serde_json::to_string_pretty(c).map_err(|e| ReportError::Json {
        path: p.clone(),
        source: e,
    })?;
    write_file(&p, (json + "\n").as_bytes())?;
    written.push(p);
    let p = dir.join("compare.md");
    write_file(&p, comparison_table(c).as_bytes())?;
    written.push(p);
    let p = dir.join("convergence.svg");
    let series: Vec<Series> = c
        .runs
        .iter()
        .map(|r| Series {
            label: format!("{} ({})", r.label, r.algorithm),
            points: r
                .convergence
                .iter()
                .map(|&(e, hv)| (e as f64, hv))
                .collect(),
        })
        .collect();
    line_plot(
        &p,
        "best-so-far hypervolume (common normalisation)",
        "evaluations",
        "hypervolume",
        &series,
    )?;
    written.push(p);
    Ok(written)
}
