//! Several runs side by side: hypervolume and IGD on one common normalisation and
//! reference point, evaluations and time to reach a target hypervolume, one
//! convergence plot.

use super::normalise::{non_dominated, Normalisation};
use super::plot::{line_plot, Series};
use super::run::{history_rows, normalised_hv, FrontMember, Run, RunResults};
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
    /// Candidates trained at search time (`history.json`'s last generation).
    pub trainings: usize,
    /// Candidates trained until the best-so-far HV first reached the target.
    pub trainings_to_target: Option<usize>,
    /// Best-so-far HV at the search time of the quickest run (`hv_at_seconds`): the
    /// last generation finished by then.
    pub hv_at_equal_time: f64,
    /// Mean of the surrogate's rank correlation over the generations that have one
    /// (`None`: no surrogate).
    pub mean_rank_correlation: Option<f64>,
    /// (evaluations, best-so-far HV) per generation under the common normalisation.
    pub convergence: Vec<(usize, f64)>,
    /// `single-device` (`space.max_cuts: 0`) or `distributed`.
    pub mode: String,
    /// What the run's feasible front says about distribution.
    pub distribution: DistributionFigures,
}

/// Distribution figures of one run's feasible front.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DistributionFigures {
    /// Best test accuracy (after final training) of a feasible member.
    pub best_test_accuracy: Option<f64>,
    /// That member (ties: the lower `EnergyPerInference`, then the id).
    pub most_accurate: Option<MemberFigures>,
    /// Feasible members cut across at least two devices.
    pub split_members: usize,
    /// Feasible members on one device.
    pub single_members: usize,
    /// Most devices any feasible member is cut across.
    pub max_devices: usize,
    /// For each constraint kind (`flash`, `sram`, `max_latency_ms`, `min_accuracy`,
    /// `link`, `energy`, ...), the feasible members whose tightest constraint (least
    /// slack relative to its limit) is of that kind: which constraint binds.
    pub tightest: std::collections::BTreeMap<String, usize>,
}

/// The kind of a member's tightest constraint (smallest slack / |limit|; `valid`
/// ignored), e.g. `flash` for `flash:ankle`.
pub fn tightest_constraint(m: &FrontMember) -> Option<String> {
    m.constraints
        .iter()
        .filter(|c| c.name != "valid" && c.limit != 0.0)
        .map(|c| (c.slack / c.limit.abs(), c))
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c.name.split(':').next().unwrap_or(&c.name).to_string())
}

/// Deployment figures of one front member.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MemberFigures {
    pub id: String,
    /// Device of each partition.
    pub map: Vec<String>,
    pub params: u64,
    pub test_accuracy: Option<f64>,
    pub latency_p95_ms: Option<f64>,
    pub energy_mj_per_inference: Option<f64>,
}

/// Mean figures of the runs of one (algorithm, mode) group.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct GroupSummary {
    pub algorithm: String,
    pub mode: String,
    pub runs: usize,
    /// Means over the group's runs (`None` when no run has the figure).
    pub hypervolume: f64,
    pub igd: f64,
    pub best_test_accuracy: Option<f64>,
    /// Smallest and largest best test accuracy among the runs.
    pub best_test_accuracy_range: Option<(f64, f64)>,
    pub latency_p95_ms: Option<f64>,
    pub energy_mj_per_inference: Option<f64>,
    pub split_members: f64,
    pub front_size: f64,
    /// Most devices any feasible member of any run is cut across.
    pub max_devices: usize,
    pub evaluations: f64,
    pub elapsed_s: f64,
}

/// The distribution figures of a run's feasible front.
pub fn distribution_figures(r: &RunResults) -> DistributionFigures {
    let feasible: Vec<&FrontMember> = r.front.iter().filter(|m| m.feasible).collect();
    let most = feasible
        .iter()
        .filter(|m| m.test_accuracy.is_some())
        .max_by(|a, b| {
            let e = |m: &FrontMember| m.energy_mj_per_inference.unwrap_or(f64::INFINITY);
            a.test_accuracy
                .partial_cmp(&b.test_accuracy)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then_with(|| e(b).total_cmp(&e(a)))
                .then_with(|| b.id.cmp(&a.id))
        });
    let split = feasible.iter().filter(|m| m.partitions_count() > 1).count();
    DistributionFigures {
        best_test_accuracy: most.and_then(|m| m.test_accuracy),
        most_accurate: most.map(|m| MemberFigures {
            id: m.id.clone(),
            map: m.map.clone(),
            params: m.params,
            test_accuracy: m.test_accuracy,
            latency_p95_ms: m.latency_p95_ms,
            energy_mj_per_inference: m.energy_mj_per_inference,
        }),
        split_members: split,
        single_members: feasible.len() - split,
        max_devices: feasible
            .iter()
            .map(|m| m.partitions_count())
            .max()
            .unwrap_or(0),
        tightest: feasible.iter().filter_map(|m| tightest_constraint(m)).fold(
            Default::default(),
            |mut acc, k| {
                *acc.entry(k).or_insert(0) += 1;
                acc
            },
        ),
    }
}

/// `single-device` when the run's space allowed no cut, else `distributed`.
pub fn run_mode(r: &RunResults) -> &'static str {
    if r.max_cuts == Some(0) {
        "single-device"
    } else {
        "distributed"
    }
}

fn mean(v: impl Iterator<Item = f64>) -> Option<f64> {
    let (mut s, mut n) = (0.0, 0usize);
    for x in v {
        s += x;
        n += 1;
    }
    (n > 0).then(|| s / n as f64)
}

/// Groups runs by (algorithm, mode), in order of first appearance.
pub fn group_summaries(runs: &[RunComparison]) -> Vec<GroupSummary> {
    let mut keys: Vec<(String, String)> = Vec::new();
    for r in runs {
        let k = (r.algorithm.clone(), r.mode.clone());
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    keys.into_iter()
        .map(|(algorithm, mode)| {
            let g: Vec<&RunComparison> = runs
                .iter()
                .filter(|r| r.algorithm == algorithm && r.mode == mode)
                .collect();
            let accs: Vec<f64> = g
                .iter()
                .filter_map(|r| r.distribution.best_test_accuracy)
                .collect();
            let best = |f: fn(&MemberFigures) -> Option<f64>| {
                mean(
                    g.iter()
                        .filter_map(|r| r.distribution.most_accurate.as_ref().and_then(f)),
                )
            };
            GroupSummary {
                runs: g.len(),
                hypervolume: mean(g.iter().map(|r| r.hypervolume)).unwrap_or(0.0),
                igd: mean(g.iter().map(|r| r.igd)).unwrap_or(f64::INFINITY),
                best_test_accuracy: mean(accs.iter().copied()),
                best_test_accuracy_range: (!accs.is_empty()).then(|| {
                    (
                        accs.iter().copied().fold(f64::INFINITY, f64::min),
                        accs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                    )
                }),
                latency_p95_ms: best(|m| m.latency_p95_ms),
                energy_mj_per_inference: best(|m| m.energy_mj_per_inference),
                split_members: mean(g.iter().map(|r| r.distribution.split_members as f64))
                    .unwrap_or(0.0),
                front_size: mean(g.iter().map(|r| r.front_size as f64)).unwrap_or(0.0),
                max_devices: g
                    .iter()
                    .map(|r| r.distribution.max_devices)
                    .max()
                    .unwrap_or(0),
                evaluations: mean(g.iter().map(|r| r.evaluations as f64)).unwrap_or(0.0),
                elapsed_s: mean(g.iter().map(|r| r.elapsed_s)).unwrap_or(0.0),
                algorithm,
                mode,
            }
        })
        .collect()
}

/// The comparison of several runs of the same objectives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub objective_names: Vec<String>,
    /// Ideal and nadir of the union of every run's feasible front.
    pub normalisation: Normalisation,
    /// Reference point in normalised space (1.1 in every objective).
    pub reference_point: Vec<f64>,
    /// Search seconds of the quickest run: where `hv_at_equal_time` is read.
    pub equal_time_s: f64,
    /// HV a run must reach for `evaluations_to_target` (default: 90% of the best
    /// final HV among the runs).
    pub target_hv: f64,
    /// Size of the non-dominated union of the fronts (IGD's reference front).
    pub reference_front_size: usize,
    pub runs: Vec<RunComparison>,
    /// Means per (algorithm, mode) group of runs.
    pub groups: Vec<GroupSummary>,
}

/// The hypervolume a run must reach for `evaluations_to_target` (on the common
/// normalisation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// This fraction of the best final hypervolume among the runs (the default: 0.9).
    BestFraction(f64),
    /// A given hypervolume.
    Value(f64),
    /// The final hypervolume of run `i` (e.g. a cold start, to time a warm start).
    RunFinal(usize),
}

impl Default for Target {
    fn default() -> Self {
        Target::BestFraction(0.9)
    }
}

/// Compares `runs` (label, run) on one normalisation: the union of their feasible
/// fronts' ideal and nadir. The target hypervolume of `evaluations_to_target`: see
/// [`Target`].
/// Fails when no run is given or the runs' objectives differ.
pub fn compare_runs(
    runs: &[(String, Run)],
    target: Target,
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
    let mut trained: Vec<Vec<usize>> = Vec::new();
    for ((label, r), front) in runs.iter().zip(&fronts) {
        let hv = normalised_hv(ind, &norm, front);
        let igd = if front.is_empty() || reference_front.is_empty() {
            f64::INFINITY
        } else {
            ind.igd(&norm.normalise_all(front), &reference_front)
        };
        let rows = history_rows(ind, &norm, &r.generations);
        times.push(rows.iter().map(|h| h.elapsed_s).collect());
        trained.push(rows.iter().map(|h| h.trained).collect());
        let correlations: Vec<f64> = rows.iter().filter_map(|h| h.rank_correlation).collect();
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
            trainings: rows.last().map_or(0, |h| h.trained),
            trainings_to_target: None,
            hv_at_equal_time: 0.0,
            mean_rank_correlation: (!correlations.is_empty())
                .then(|| correlations.iter().sum::<f64>() / correlations.len() as f64),
            convergence: rows.iter().map(|h| (h.evaluations, h.best_hv)).collect(),
            mode: run_mode(&r.results).to_string(),
            distribution: distribution_figures(&r.results),
        });
    }
    let best = out.iter().map(|c| c.hypervolume).fold(0.0, f64::max);
    let target = match target {
        Target::BestFraction(f) => f * best,
        Target::Value(v) => v,
        Target::RunFinal(i) => out.get(i).map(|c| c.hypervolume).ok_or_else(|| {
            ReportError::Incompatible(format!("no run {i} to take the target from"))
        })?,
    };
    let equal_time_s = out
        .iter()
        .map(|c| c.elapsed_s)
        .fold(f64::INFINITY, f64::min);
    for ((c, t), n) in out.iter_mut().zip(&times).zip(&trained) {
        if let Some(g) = c
            .convergence
            .iter()
            .position(|&(_, hv)| hv >= target && hv > 0.0)
        {
            c.evaluations_to_target = Some(c.convergence[g].0);
            c.seconds_to_target = t.get(g).copied();
            c.trainings_to_target = n.get(g).copied();
        }
        c.hv_at_equal_time = hv_at_seconds(&c.convergence, t, equal_time_s);
    }
    Ok(Comparison {
        objective_names: names,
        reference_point: norm.reference(),
        normalisation: norm,
        target_hv: target,
        equal_time_s: if equal_time_s.is_finite() {
            equal_time_s
        } else {
            0.0
        },
        reference_front_size: reference_front.len(),
        groups: group_summaries(&out),
        runs: out,
    })
}

/// The best-so-far HV of the last generation finished within `seconds` (`convergence`
/// and `times` per generation; 0 when none was).
pub fn hv_at_seconds(convergence: &[(usize, f64)], times: &[f64], seconds: f64) -> f64 {
    convergence
        .iter()
        .zip(times)
        .take_while(|(_, &t)| t <= seconds + 1e-9)
        .last()
        .map_or(0.0, |((_, hv), _)| *hv)
}

/// The comparison as a Markdown table.
pub fn comparison_table(c: &Comparison) -> String {
    use super::markdown::g4;
    let count = |v: Option<usize>| v.map_or_else(|| "–".to_string(), |e| e.to_string());
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
            count(r.evaluations_to_target),
            r.seconds_to_target.map(g4).unwrap_or_else(|| "–".into()),
        );
    }
    let pct = |a: Option<f64>| a.map(|a| format!("{:.1}", 100.0 * a)).unwrap_or("–".into());
    let opt = |v: Option<f64>| v.map(g4).unwrap_or_else(|| "–".into());
    let _ = writeln!(
        s,
        "\n| run | trainings | trainings to HV {} | HV at {} s | surrogate rank correlation (mean) |\n\
         |---|---|---|---|---|",
        g4(c.target_hv),
        g4(c.equal_time_s)
    );
    for r in &c.runs {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} |",
            r.label,
            r.trainings,
            count(r.trainings_to_target),
            g4(r.hv_at_equal_time),
            opt(r.mean_rank_correlation),
        );
    }
    let _ = writeln!(
        s,
        "\n| run | mode | best test acc % | its map | its p95 ms | its mJ/inference | split members | max devices | tightest constraint (members) |\n\
         |---|---|---|---|---|---|---|---|---|"
    );
    for r in &c.runs {
        let d = &r.distribution;
        let m = d.most_accurate.as_ref();
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} of {} | {} | {} |",
            r.label,
            r.mode,
            pct(d.best_test_accuracy),
            m.map(|m| m.map.join(">")).unwrap_or_else(|| "–".into()),
            opt(m.and_then(|m| m.latency_p95_ms)),
            opt(m.and_then(|m| m.energy_mj_per_inference)),
            d.split_members,
            d.split_members + d.single_members,
            d.max_devices,
            d.tightest
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect::<Vec<_>>()
                .join(", "),
        );
    }
    let _ = writeln!(
        s,
        "\n| algorithm | mode | runs | mean HV | mean IGD | best test acc % (mean, min–max) | p95 ms of the most accurate | mJ/inference of the most accurate | split members | front | max devices |\n\
         |---|---|---|---|---|---|---|---|---|---|---|"
    );
    for g in &c.groups {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {}{} | {} | {} | {:.1} | {:.1} | {} |",
            g.algorithm,
            g.mode,
            g.runs,
            g4(g.hypervolume),
            g4(g.igd),
            pct(g.best_test_accuracy),
            g.best_test_accuracy_range
                .map(|(a, b)| format!(" ({:.1}–{:.1})", 100.0 * a, 100.0 * b))
                .unwrap_or_default(),
            opt(g.latency_p95_ms),
            opt(g.energy_mj_per_inference),
            g.split_members,
            g.front_size,
            g.max_devices,
        );
    }
    s
}

/// Writes `compare.json`, `compare.md`, `convergence.svg` (best-so-far HV against
/// evaluations, one line per run) and `compare.html` (the same, with each run's knee
/// placement; `runs` in the order of `c.runs`) into `dir`. Returns the paths written.
pub fn write_comparison(
    dir: &Path,
    c: &Comparison,
    runs: &[Run],
) -> Result<Vec<PathBuf>, ReportError> {
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
    let svg = std::fs::read_to_string(&p).map_err(|e| ReportError::io(&p, e))?;
    written.push(p);
    let p = dir.join("compare.html");
    write_file(&p, super::html::compare_html(c, runs, &svg).as_bytes())?;
    written.push(p);
    Ok(written)
}

#[cfg(test)]
mod equal_time_tests {
    use super::hv_at_seconds;

    /// Generations ending at 1, 2 and 3 s with best-so-far HV 0.1, 0.5, 0.7: at 2.5 s
    /// the second generation is the last finished; before 1 s none is.
    #[test]
    fn the_hv_at_a_time_is_the_last_finished_generations() {
        let conv = [(10, 0.1), (20, 0.5), (30, 0.7)];
        let times = [1.0, 2.0, 3.0];
        assert_eq!(hv_at_seconds(&conv, &times, 2.5), 0.5);
        assert_eq!(hv_at_seconds(&conv, &times, 3.0), 0.7);
        assert_eq!(hv_at_seconds(&conv, &times, 0.5), 0.0);
    }
}
