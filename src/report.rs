//! Run outputs: front tables (CSV/JSON), history of the hypervolume, SVG plots,
//! `report.md`, and the side-by-side comparison of several runs.
//!
//! A run folder holds (see `docs/quickstart.md` and `docs/objectives.md`):
//!
//! | file | content |
//! |---|---|
//! | `front.json` | [`RunResults`]: the best-so-far feasible front with objectives, constraint slack, per-partition costs, device map; hypervolume; generations; evaluations |
//! | `front.csv` | the same front, one row per candidate |
//! | `history.json` | [`GenerationRecord`] per generation: raw objective vectors of the archive and of the best-so-far front |
//! | `history.csv` | per generation: evaluations, elapsed seconds, archive HV and best-so-far HV in the run's normalised space |
//! | `plots/*.svg` | pairwise front scatter, HV convergence, per-device bars of the knee candidate |
//! | `report.md` | a human summary |
//!
//! `front.json` is deterministic (no timings, no paths that depend on the machine):
//! the same seed gives the same bytes whatever the thread count. Timings go to
//! `history.csv`/`history.json` and `run.json`.
//!
//! Hypervolume and IGD come from an [`Indicators`] implementation (the search engine's
//! exact ones, see [`crate::search`]), so the report code holds no indicator of its own.
//!
//! ```
//! use distrinas::report::{Normalisation};
//! let front = vec![vec![1.0, 10.0], vec![3.0, 4.0]];
//! let n = Normalisation::of_points(&front, 2);
//! assert_eq!(n.normalise(&[2.0, 7.0]), vec![0.5, 0.5]);
//! ```

mod adapt;
mod compare;
mod html;
mod markdown;
mod normalise;
mod outcome;
mod placement;
mod plot;
mod run;
mod sweep;
mod table;

pub use adapt::{adapt_csv, write_adapt};
pub use compare::{
    compare_runs, comparison_table, distribution_figures, group_summaries, run_mode,
    write_comparison, Comparison, DistributionFigures, GroupSummary, MemberFigures, RunComparison,
    Target,
};
pub use markdown::significant;
pub use normalise::{knee_index, non_dominated, Normalisation, REFERENCE_POINT};
pub use outcome::{run_from_outcome, write_candidates};
pub use placement::{placement_svg, Placement};
pub use run::{
    ConstraintSlack, DeviceSummary, FailureCase, FrontMember, GenerationRecord, HistoryRow,
    LinkLoad, PartitionSummary, Run, RunInfo, RunResults, Topology, TopologyDevice, TopologyLink,
};
pub use sweep::{sweep_csv, write_sweep};
pub use table::{front_csv, history_csv, parse_history_csv};

use std::path::{Path, PathBuf};

/// Exact quality indicators of point sets, all objectives minimised.
///
/// Implemented by the search engine's indicators; the report module only calls it.
pub trait Indicators {
    /// Hypervolume dominated by `points` and bounded by `reference` (points not strictly
    /// better than the reference in every objective contribute nothing).
    fn hypervolume(&self, points: &[Vec<f64>], reference: &[f64]) -> f64;
    /// Inverted generational distance of `points` to `reference_front` (mean Euclidean
    /// distance from each reference point to its nearest point of `points`).
    fn igd(&self, points: &[Vec<f64>], reference_front: &[Vec<f64>]) -> f64;
}

/// The search engine's exact indicators ([`crate::search::indicators`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct ExactIndicators;

impl Indicators for ExactIndicators {
    /// Exact; past the exact computation's work limit (many objectives and points) a
    /// seeded Monte Carlo estimate of 10^6 samples (standard error ≤ 0.0005 of the box
    /// volume), so the same run gives the same bytes. Invalid input (a NaN, a point of
    /// the wrong dimension, which the report's callers filter out) gives NaN, never 0.
    fn hypervolume(&self, points: &[Vec<f64>], reference: &[f64]) -> f64 {
        use crate::search::{indicators, SearchError};
        match indicators::hypervolume(points, reference) {
            Ok(v) => v,
            Err(SearchError::HypervolumeTooCostly { .. }) => {
                indicators::hypervolume_monte_carlo(points, reference, 1_000_000, 0)
                    .map_or(f64::NAN, |(v, _)| v)
            }
            Err(_) => f64::NAN,
        }
    }
    fn igd(&self, points: &[Vec<f64>], reference_front: &[Vec<f64>]) -> f64 {
        crate::search::indicators::igd(points, reference_front).unwrap_or(f64::INFINITY)
    }
}

/// Errors of reading or writing run outputs.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A JSON file could not be parsed or produced.
    #[error("{path}: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// A plot could not be drawn.
    #[error("{path}: cannot draw plot: {message}")]
    Plot { path: PathBuf, message: String },
    /// Runs that cannot be compared (different objectives, none given, ...).
    #[error("{0}")]
    Incompatible(String),
}

impl ReportError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        ReportError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Writes `bytes` to `path` with [`crate::atomic::write_atomic`], mapping the error.
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    crate::atomic::write_atomic(path, bytes).map_err(|e| ReportError::io(path, e))
}

/// Writes every table, plot and `report.md` of `run` into `dir` (which need not exist):
/// `front.json`, `front.csv`, `history.json`, `history.csv`, `plots/*.svg`, `report.md`,
/// and `run.json` when `run.info` is set. Returns the paths written.
pub fn write_run(dir: &Path, run: &Run) -> Result<Vec<PathBuf>, ReportError> {
    let mut written = Vec::new();
    let mut put = |name: &str, bytes: Vec<u8>| -> Result<(), ReportError> {
        let p = dir.join(name);
        write_file(&p, &bytes)?;
        written.push(p);
        Ok(())
    };
    put("front.json", run.results.to_json_pretty().into_bytes())?;
    put("front.csv", front_csv(&run.results).into_bytes())?;
    let hist = serde_json::to_string_pretty(&run.generations).map_err(|e| ReportError::Json {
        path: dir.join("history.json"),
        source: e,
    })?;
    put("history.json", (hist + "\n").into_bytes())?;
    put("history.csv", history_csv(&run.history).into_bytes())?;
    if let Some(info) = &run.info {
        let s = serde_json::to_string_pretty(info).map_err(|e| ReportError::Json {
            path: dir.join("run.json"),
            source: e,
        })?;
        put("run.json", (s + "\n").into_bytes())?;
    }
    put("report.md", markdown::report_md(run).into_bytes())?;
    let plots = plot::write_run_plots(&dir.join("plots"), run)?;
    let mut inline = Vec::new();
    for p in &plots {
        let svg = std::fs::read_to_string(p).map_err(|e| ReportError::io(p, e))?;
        inline.push((plot_caption(p), svg));
    }
    written.extend(plots);
    written.extend(write_placements(&dir.join("plots").join("placement"), run)?);
    let p = dir.join("report.html");
    write_file(&p, html::report_html(run, &inline).as_bytes())?;
    written.push(p);
    Ok(written)
}

/// Caption of a plot of [`plot::write_run_plots`] in `report.html`, from its file name.
fn plot_caption(path: &Path) -> String {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    match stem {
        "convergence" => "Hypervolume of the best-so-far front and of the current archive \
                          against evaluations (normalised to the final feasible front)."
            .into(),
        "knee_devices" => "Knee candidate: load and energy per device.".into(),
        _ => match stem
            .strip_prefix("front_")
            .and_then(|s| s.split_once("_vs_"))
        {
            Some((y, x)) => format!("Front: {y} against {x}."),
            None => stem.to_string(),
        },
    }
}

/// Title of a member's placement diagram: its id and objective values with units.
pub(crate) fn member_title(r: &RunResults, m: &FrontMember) -> String {
    let values: Vec<String> = r
        .objective_names
        .iter()
        .map(|n| {
            let v = m.objectives.get(n).copied().unwrap_or(f64::NAN);
            let unit = plot::objective_unit(n);
            format!("{n} {} {unit}", significant(v, 4))
                .trim_end()
                .to_string()
        })
        .collect();
    format!("{}: {}", m.id, values.join(" · "))
}

/// Writes `<id>.svg`, the placement diagram of every front member, into `dir` (when
/// the run records its topology), and removes diagrams of members no longer in the
/// front.
fn write_placements(dir: &Path, run: &Run) -> Result<Vec<PathBuf>, ReportError> {
    let mut written = Vec::new();
    let Some(t) = &run.results.topology else {
        return Ok(written);
    };
    for m in &run.results.front {
        let p = dir.join(format!("{}.svg", m.id));
        let title = member_title(&run.results, m);
        write_file(&p, placement_svg(&m.placement(t, &title)).as_bytes())?;
        written.push(p);
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "svg") && !written.contains(&p) {
                std::fs::remove_file(&p).map_err(|e| ReportError::io(&p, e))?;
            }
        }
    }
    Ok(written)
}

/// Reads a run folder written by [`write_run`] (`front.json`, `history.json`, and
/// `history.csv`/`run.json` when present). Hypervolumes are those stored in the files;
/// [`Run::finalise`] recomputes them.
pub fn load_run(dir: &Path) -> Result<Run, ReportError> {
    let read = |name: &str| -> Result<(PathBuf, String), ReportError> {
        let p = dir.join(name);
        let s = std::fs::read_to_string(&p).map_err(|e| ReportError::io(&p, e))?;
        Ok((p, s))
    };
    let (p, s) = read("front.json")?;
    let results: RunResults =
        serde_json::from_str(&s).map_err(|e| ReportError::Json { path: p, source: e })?;
    let (p, s) = read("history.json")?;
    let generations: Vec<GenerationRecord> =
        serde_json::from_str(&s).map_err(|e| ReportError::Json { path: p, source: e })?;
    let info = match read("run.json") {
        Ok((p, s)) => {
            Some(serde_json::from_str(&s).map_err(|e| ReportError::Json { path: p, source: e })?)
        }
        Err(_) => None,
    };
    let history = match read("history.csv") {
        Ok((_, s)) => parse_history_csv(&s),
        Err(_) => Vec::new(),
    };
    Ok(Run {
        results,
        generations,
        history,
        info,
    })
}

/// Reloads a run folder, recomputes its hypervolumes with `ind` and rewrites every table,
/// plot and `report.md`. Returns the reloaded run.
pub fn regenerate(dir: &Path, ind: &dyn Indicators) -> Result<Run, ReportError> {
    let mut run = load_run(dir)?;
    run.finalise(ind);
    write_run(dir, &run)?;
    Ok(run)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Stand-in indicators for plumbing tests: "HV" = number of points handed over,
    /// "IGD" = number of reference points (the real ones are tested in `search`).
    pub(crate) struct Count;
    impl Indicators for Count {
        fn hypervolume(&self, points: &[Vec<f64>], reference: &[f64]) -> f64 {
            assert!(points
                .iter()
                .all(|p| p.iter().zip(reference).all(|(v, r)| v < r)));
            points.len() as f64
        }
        fn igd(&self, _points: &[Vec<f64>], reference_front: &[Vec<f64>]) -> f64 {
            reference_front.len() as f64
        }
    }

    pub(crate) fn member(id: &str, loss: f64, lat: f64, feasible: bool) -> FrontMember {
        FrontMember {
            id: id.into(),
            objectives: [("ValLoss".to_string(), loss), ("LatencyP95".into(), lat)]
                .into_iter()
                .collect(),
            feasible,
            violation: if feasible { 0.0 } else { 0.5 },
            cuts: vec![2],
            map: vec!["wrist".into(), "hub".into()],
            layers: 5,
            params: 100,
            partitions: vec![PartitionSummary {
                device: "wrist".into(),
                first_layer: 0,
                end_layer: 2,
                flash_bytes: 10,
                peak_sram_bytes: 20,
                macs: 30,
                compute_ms: 0.5,
                out_bytes: 40,
                layer_kinds: vec![],
                standby: None,
            }],
            devices: vec![
                DeviceSummary {
                    id: "wrist".into(),
                    busy_fraction: 0.25,
                    energy_mj_per_inference: 0.5,
                    idle_mj_per_inference: 3.0,
                    lifetime_s: Some(3600.0),
                },
                DeviceSummary {
                    id: "hub".into(),
                    busy_fraction: 0.5,
                    energy_mj_per_inference: 1.5,
                    idle_mj_per_inference: 4.0,
                    lifetime_s: None,
                },
            ],
            candidate_file: format!("candidates/{id}.ron"),
            ..Default::default()
        }
    }

    pub(crate) fn sample_run() -> Run {
        Run {
            results: RunResults {
                scenario: "tiny".into(),
                seed: 7,
                algorithm: "spea2".into(),
                objective_names: vec!["ValLoss".into(), "LatencyP95".into()],
                front: vec![
                    member("a", 0.2, 30.0, true),
                    member("b", 0.5, 10.0, true),
                    member("c", 1.0, 5.0, true),
                    member("d", 0.1, 1.0, false),
                ],
                generations: 2,
                evaluations: 16,
                ..Default::default()
            },
            generations: vec![
                GenerationRecord {
                    generation: 0,
                    evaluations: 8,
                    elapsed_s: 0.5,
                    archive: vec![vec![0.5, 10.0], vec![2.0, 40.0]],
                    best: vec![vec![0.5, 10.0], vec![2.0, 40.0]],
                    ..Default::default()
                },
                GenerationRecord {
                    generation: 1,
                    evaluations: 16,
                    elapsed_s: 1.0,
                    archive: vec![vec![0.2, 30.0], vec![1.0, 5.0]],
                    best: vec![vec![0.2, 30.0], vec![0.5, 10.0], vec![1.0, 5.0]],
                    ..Default::default()
                },
            ],
            history: vec![],
            info: Some(RunInfo {
                out_dir: "runs/tiny-7".into(),
                scenario_file: Some("scenarios/tiny.ron".into()),
                elapsed_s: 1.25,
                threads: 2,
                cache_hits: 3,
                interrupted: false,
            }),
        }
    }

    #[test]
    fn finalise_normalises_on_feasible_front() {
        let mut run = sample_run();
        run.finalise(&Count);
        let n = &run.results.normalisation;
        assert_eq!(n.ideal, vec![0.2, 5.0]);
        assert_eq!(n.nadir, vec![1.0, 30.0]);
        assert_eq!(run.results.hypervolume, 3.0);
        // Generation 0: (2.0, 40.0) lies outside the reference box and is dropped.
        assert_eq!(run.history[0].archive_hv, 1.0);
        assert_eq!(run.history[0].best_hv, 1.0);
        assert_eq!(run.history[1].best_hv, 3.0);
        assert_eq!(run.history[1].archive_hv, 2.0);
        // Knee: a → (0, 1), b → (0.375, 0.2), c → (1, 0): b is closest to the ideal.
        assert_eq!(run.results.knee(), Some(1));
    }

    #[test]
    fn writes_and_reloads_a_run_folder() {
        let dir = tempfile::tempdir().unwrap();
        let mut run = sample_run();
        run.finalise(&Count);
        let written = write_run(dir.path(), &run).unwrap();
        for f in [
            "front.json",
            "front.csv",
            "history.json",
            "history.csv",
            "run.json",
            "report.md",
            "plots/convergence.svg",
            "plots/knee_devices.svg",
            "plots/front_LatencyP95_vs_ValLoss.svg",
        ] {
            assert!(written.contains(&dir.path().join(f)), "{f} not written");
            let text = std::fs::read_to_string(dir.path().join(f)).unwrap();
            assert!(!text.is_empty(), "{f} is empty");
            if f.ends_with(".svg") {
                assert!(text.contains("<svg"), "{f} is not SVG");
            }
        }
        let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
        assert!(md.contains("## Knee candidate `b`"), "{md}");
        assert!(md.contains("distrinas simulate scenarios/tiny.ron --candidate"));
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join("front.json")).unwrap())
                .unwrap();
        assert_eq!(json["front"][1]["id"], "b");
        assert_eq!(json["front"][1]["objectives"]["LatencyP95"], 10.0);
        assert_eq!(json["front"][3]["feasible"], false);
        assert_eq!(json["hypervolume"], 3.0);
        assert_eq!(json["generations"], 2);
        assert_eq!(json["evaluations"], 16);
        let back = load_run(dir.path()).unwrap();
        assert_eq!(back.results, run.results);
        assert_eq!(back.generations, run.generations);
        assert_eq!(back.info, run.info);
        assert_eq!(back.history, run.history);
        let again = regenerate(dir.path(), &Count).unwrap();
        assert_eq!(again.results, run.results);
    }

    #[test]
    fn search_json_adds_out_dir() {
        let run = sample_run();
        let v = run.results.to_json_value("runs/x", 2.5);
        assert_eq!(v["out_dir"], "runs/x");
        assert_eq!(v["elapsed_s"], 2.5);
        assert_eq!(v["scenario"], "tiny");
    }

    #[test]
    fn compares_on_a_common_normalisation() {
        let mut a = sample_run();
        a.finalise(&Count);
        let mut b = sample_run();
        b.results.algorithm = "random".into();
        b.results.front = vec![member("z", 2.2, 45.0, true)];
        b.generations[1].best = vec![vec![2.2, 45.0]];
        b.finalise(&Count);
        let runs = vec![("A".to_string(), a), ("B".to_string(), b)];
        let c = compare_runs(&runs, Target::default(), &Count).unwrap();
        assert_eq!(c.normalisation.ideal, vec![0.2, 5.0]);
        assert_eq!(c.normalisation.nadir, vec![2.2, 45.0]);
        // Reference front: a, b, c (z is dominated).
        assert_eq!(c.reference_front_size, 3);
        assert_eq!(c.runs[0].hypervolume, 3.0);
        // z normalises to (1, 1): inside the 1.1 box.
        assert_eq!(c.runs[1].hypervolume, 1.0);
        assert_eq!(c.target_hv, 0.9 * 3.0);
        assert_eq!(c.runs[0].evaluations_to_target, Some(16));
        assert_eq!(c.runs[0].seconds_to_target, Some(1.0));
        assert_eq!(c.runs[1].evaluations_to_target, None);
        assert_eq!(c.runs[0].convergence, vec![(8, 2.0), (16, 3.0)]);
        let dir = tempfile::tempdir().unwrap();
        let loaded: Vec<Run> = runs.iter().map(|(_, r)| r.clone()).collect();
        write_comparison(dir.path(), &c, &loaded).unwrap();
        let html = std::fs::read_to_string(dir.path().join("compare.html")).unwrap();
        assert_eq!(html.matches("<tr data-detail=").count(), 2, "{html}");
        assert!(std::fs::read_to_string(dir.path().join("convergence.svg"))
            .unwrap()
            .contains("<svg"));
        let md = std::fs::read_to_string(dir.path().join("compare.md")).unwrap();
        assert!(md.contains("| B | random | 7 | 1 |"), "{md}");
    }

    #[test]
    fn compare_rejects_different_objectives() {
        let a = sample_run();
        let mut b = sample_run();
        b.results.objective_names = vec!["Error".into()];
        let e = compare_runs(
            &[("A".into(), a), ("B".into(), b)],
            Target::default(),
            &Count,
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("B: objectives [Error] differ from A's"),
            "{e}"
        );
        assert!(compare_runs(&[], Target::default(), &Count).is_err());
    }
}
