//! Plain data types of a run's results, as stored in the run folder.

use super::normalise::{knee_index, Normalisation, REFERENCE_POINT};
use super::Indicators;
pub use crate::evaluate::failures::FailureCase;
pub use crate::evaluate::summary::{
    ConstraintSlack, DeviceSummary, GenerationRecord, LinkLoad, PartitionSummary, Topology,
    TopologyDevice, TopologyLink,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A whole run as the report module sees it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Run {
    /// The deterministic results (`front.json`).
    pub results: RunResults,
    /// Raw objective vectors per generation (`history.json`).
    pub generations: Vec<GenerationRecord>,
    /// Hypervolumes per generation (`history.csv`), filled by [`Run::finalise`].
    pub history: Vec<HistoryRow>,
    /// Machine-dependent facts (`run.json`): timings, threads, output folder.
    pub info: Option<RunInfo>,
}

/// The deterministic part of a run's results: `front.json`.
///
/// Contains no timings and no machine-dependent paths, so the same seed gives the same
/// bytes whatever the thread count.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RunResults {
    /// Scenario name.
    pub scenario: String,
    /// Master seed of the run.
    pub seed: u64,
    /// Search algorithm (`spea2`, `nsga2`, `random`, `aging`).
    pub algorithm: String,
    /// `space.max_cuts` of the run: 0 is the single-device baseline (`search
    /// --single-device`). `None` in files of older versions.
    #[serde(default)]
    pub max_cuts: Option<usize>,
    /// Objective names in search order (`ValLoss`, `LatencyP95`, ...); every member's
    /// `objectives` map has these keys.
    pub objective_names: Vec<String>,
    /// The best-so-far front: every feasible non-dominated candidate seen by the search
    /// (when no candidate is feasible: the least-violating ones, `feasible: false`).
    pub front: Vec<FrontMember>,
    /// Hypervolume of the feasible front in its own normalised space (ideal → 0,
    /// nadir → 1, reference point 1.1 in every objective).
    pub hypervolume: f64,
    /// Generations run.
    pub generations: usize,
    /// Candidate evaluations run (cache hits not counted).
    pub evaluations: usize,
    /// Normalisation of the hypervolume (the feasible front's ideal and nadir).
    pub normalisation: Normalisation,
    /// Reference point of the hypervolume in normalised space.
    pub reference_point: Vec<f64>,
    /// The scenario's device graph, for the placement diagrams (`None` in files of
    /// older versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topology: Option<Topology>,
    /// How many candidates reached each stage (`None` in files of older versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ladder: Option<Ladder>,
}

/// One candidate of the front.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FrontMember {
    /// Stable id (`c` + 16 hex digits of the genome hash); file stem in `candidates/`.
    pub id: String,
    /// Objective values by name, all minimised, in the units of `docs/objectives.md`
    /// (`Lifetime` is negated).
    pub objectives: BTreeMap<String, f64>,
    /// `true` when every constraint holds.
    pub feasible: bool,
    /// Total normalised constraint violation (0 when feasible).
    pub violation: f64,
    /// Every constraint with its value, limit and slack.
    pub constraints: Vec<ConstraintSlack>,
    /// Cut points (layer indices).
    pub cuts: Vec<usize>,
    /// Device id per partition.
    pub map: Vec<String>,
    /// Standby device id per partition (empty: no standby anywhere).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub standby: Vec<Option<String>>,
    /// Layers of the network.
    pub layers: usize,
    /// Trainable parameters of the network.
    pub params: u64,
    /// Per-partition costs.
    pub partitions: Vec<PartitionSummary>,
    /// Per-device simulated load and energy (empty when not simulated).
    pub devices: Vec<DeviceSummary>,
    /// What each used link carries: cut-tensor bytes per inference and utilisation.
    #[serde(default)]
    pub links: Vec<LinkLoad>,
    /// The scenario's failure cases (`failures:`), the no-failure case first: devices
    /// down, probability, completed and on-time fractions, p95 latency, energy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failure_cases: Vec<FailureCase>,
    /// Validation accuracy after search-time training (fraction).
    pub val_accuracy: Option<f64>,
    /// Test accuracy after final training (fraction).
    pub test_accuracy: Option<f64>,
    /// Test accuracy of the final-trained network quantised to int8 and cut at `cuts`,
    /// by the integer-only evaluation that the exported C code reproduces bit for bit
    /// (`docs/export.md`); `None` when not final-trained or without a test set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub int8_test_accuracy: Option<f64>,
    /// Simulated p95 end-to-end latency at search time, ms (whatever the objectives).
    #[serde(default)]
    pub latency_p95_ms: Option<f64>,
    /// Simulated inference energy per request at search time (compute + radio, the
    /// `EnergyPerInference` definition), mJ.
    #[serde(default)]
    pub energy_mj_per_inference: Option<f64>,
    /// Candidate file, relative to the run folder (`candidates/<id>.ron`).
    pub candidate_file: String,
}

/// One row of `history.csv`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct HistoryRow {
    pub generation: usize,
    pub evaluations: usize,
    /// Wall-clock seconds since the start of the search.
    pub elapsed_s: f64,
    /// HV of the current archive's feasible members (may dip under SPEA2 truncation).
    pub archive_hv: f64,
    /// HV of the best-so-far feasible front (non-decreasing).
    pub best_hv: f64,
    /// Size of the best-so-far feasible front.
    pub front_size: usize,
    /// Candidates trained so far.
    pub trained: usize,
    /// Candidates given the surrogate's predictions instead of training so far.
    pub predicted: usize,
    /// The surrogate's Spearman rank correlation after the generation (`None`: no
    /// surrogate, or too few trained candidates with a prediction yet).
    pub rank_correlation: Option<f64>,
}

/// How many candidates reached each stage of the fidelity ladder (`front.json`; see
/// `docs/fidelity.md`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Ladder {
    #[serde(flatten)]
    pub counts: crate::evaluate::surrogate::StageCounts,
    /// Front members trained by the final training.
    pub final_trained: usize,
}

/// Machine-dependent facts of a run (`run.json`, not compared between runs).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RunInfo {
    /// Output folder as given.
    pub out_dir: String,
    /// Scenario file (`None`: the embedded quickstart).
    pub scenario_file: Option<String>,
    /// Wall-clock seconds of the whole run (search + final training + outputs).
    pub elapsed_s: f64,
    /// Worker threads.
    pub threads: usize,
    /// Evaluations answered from the genome cache.
    pub cache_hits: usize,
    /// `true` when the run was stopped early (Ctrl-C, SIGTERM, SIGHUP) after a
    /// checkpoint, or during the final training (the front then has no test figures).
    pub interrupted: bool,
}

impl Ladder {
    /// (stage, candidates) in ladder order, as the reports show them.
    pub fn stages(&self) -> Vec<(&'static str, String)> {
        let c = &self.counts;
        vec![
            ("cost model", c.costed.to_string()),
            (
                "invalid / over budget (not simulated)",
                format!("{} / {}", c.invalid, c.skipped),
            ),
            ("simulated", c.simulated.to_string()),
            ("trained at search time", c.trained.to_string()),
            (
                "took the parent's trained network over",
                c.inherited.to_string(),
            ),
            (
                "predicted by the surrogate, not trained",
                c.predicted.saturating_sub(c.promoted).to_string(),
            ),
            (
                "predicted, then trained (would have entered the archive or front)",
                c.promoted.to_string(),
            ),
            (
                "final training of the front",
                self.final_trained.to_string(),
            ),
        ]
    }
}

impl FrontMember {
    /// Number of partitions (devices the network is cut across; consecutive
    /// partitions never share a device).
    pub fn partitions_count(&self) -> usize {
        self.cuts.len() + 1
    }

    /// The devices of the partitions joined by `sep`, each standby in brackets after
    /// its partition's device: `tag > h1(h2)` with `sep` `" > "`.
    pub fn placement_label(&self, sep: &str) -> String {
        self.map
            .iter()
            .enumerate()
            .map(
                |(i, d)| match self.standby.get(i).and_then(Option::as_ref) {
                    Some(s) => format!("{d}({s})"),
                    None => d.clone(),
                },
            )
            .collect::<Vec<_>>()
            .join(sep)
    }

    /// Expected share of requests completed on time under the scenario's failure
    /// model: Σ probability × on-time fraction over its failure cases (`None` without
    /// a failure model).
    pub fn availability(&self) -> Option<f64> {
        (!self.failure_cases.is_empty()).then(|| {
            self.failure_cases
                .iter()
                .map(|c| c.probability.unwrap_or(0.0) * c.on_time_fraction)
                .sum()
        })
    }

    /// Objective values in `names` order (NaN for a missing name).
    pub fn values(&self, names: &[String]) -> Vec<f64> {
        names
            .iter()
            .map(|n| self.objectives.get(n).copied().unwrap_or(f64::NAN))
            .collect()
    }
}

impl RunResults {
    /// Objective vectors of the feasible members, in `objective_names` order.
    pub fn feasible_points(&self) -> Vec<Vec<f64>> {
        self.front
            .iter()
            .filter(|m| m.feasible)
            .map(|m| m.values(&self.objective_names))
            .collect()
    }

    /// Index into `front` of the knee candidate of the feasible front (see
    /// [`knee_index`]), or of the first member when none is feasible.
    pub fn knee(&self) -> Option<usize> {
        let idx: Vec<usize> = (0..self.front.len())
            .filter(|&i| self.front[i].feasible)
            .collect();
        if idx.is_empty() {
            return if self.front.is_empty() { None } else { Some(0) };
        }
        let pts: Vec<Vec<f64>> = idx
            .iter()
            .map(|&i| self.front[i].values(&self.objective_names))
            .collect();
        knee_index(&pts).map(|k| idx[k])
    }

    /// `front.json`: pretty JSON with a trailing newline.
    pub fn to_json_pretty(&self) -> String {
        // RunResults holds only strings, integers, finite floats and maps with string
        // keys, which serde_json always serialises.
        let mut s = serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".into());
        s.push('\n');
        s
    }

    /// The `search --json` object: `front.json` plus `out_dir` and `elapsed_s`.
    pub fn to_json_value(&self, out_dir: &str, elapsed_s: f64) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        if let serde_json::Value::Object(o) = &mut v {
            o.insert("out_dir".into(), out_dir.into());
            o.insert("elapsed_s".into(), elapsed_s.into());
        }
        v
    }
}

/// HV of `points` under `norm` with the standard reference point; points outside the
/// reference box are dropped before calling the indicator.
pub(crate) fn normalised_hv(
    ind: &dyn Indicators,
    norm: &Normalisation,
    points: &[Vec<f64>],
) -> f64 {
    if points.is_empty() {
        return 0.0;
    }
    let r = norm.reference();
    let inside: Vec<Vec<f64>> = norm
        .normalise_all(points)
        .into_iter()
        .filter(|p| p.iter().all(|v| v.is_finite() && *v < REFERENCE_POINT))
        .collect();
    if inside.is_empty() {
        0.0
    } else {
        ind.hypervolume(&inside, &r)
    }
}

impl Run {
    /// Computes the normalisation (the feasible front's ideal and nadir), the front's
    /// hypervolume and every `history.csv` row (archive and best-so-far HV per
    /// generation, all under that one normalisation, so `best_hv` is non-decreasing).
    pub fn finalise(&mut self, ind: &dyn Indicators) {
        let m = self.results.objective_names.len();
        let pts = self.results.feasible_points();
        let norm = Normalisation::of_points(&pts, m);
        self.results.hypervolume = normalised_hv(ind, &norm, &pts);
        self.results.reference_point = norm.reference();
        self.history = history_rows(ind, &norm, &self.generations);
        self.results.normalisation = norm;
    }
}

/// `history.csv` rows of `generations` under `norm`.
pub(crate) fn history_rows(
    ind: &dyn Indicators,
    norm: &Normalisation,
    generations: &[GenerationRecord],
) -> Vec<HistoryRow> {
    generations
        .iter()
        .map(|g| HistoryRow {
            generation: g.generation,
            evaluations: g.evaluations,
            elapsed_s: g.elapsed_s,
            archive_hv: normalised_hv(ind, norm, &g.archive),
            best_hv: normalised_hv(ind, norm, &g.best),
            front_size: g.best.len(),
            trained: g.trained,
            predicted: g.predicted,
            rank_correlation: g.rank_correlation,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::ExactIndicators;

    /// Generation 1's archive lost (1, 0) to truncation while the best-so-far front
    /// gained (0.5, 0.5). Normalised to [0, 1]², reference 1.1: generation 0 has
    /// HV 1 × 0.1 + 0.1 × 1.1 = 0.21; generation 1's archive only (0, 1), 1.1 × 0.1 =
    /// 0.11 (a dip); the best-so-far front 0.5 × 0.1 + 0.5 × 0.6 + 0.1 × 1.1 = 0.46.
    #[test]
    fn archive_hv_may_dip_best_hv_does_not() {
        let rec = |generation, archive: Vec<Vec<f64>>, best: Vec<Vec<f64>>| GenerationRecord {
            generation,
            evaluations: 10 * (generation + 1),
            elapsed_s: 0.0,
            archive,
            best,
            ..Default::default()
        };
        let both = vec![vec![0.0, 1.0], vec![1.0, 0.0]];
        let gens = vec![
            rec(0, both.clone(), both.clone()),
            rec(
                1,
                vec![vec![0.0, 1.0]],
                vec![vec![0.0, 1.0], vec![1.0, 0.0], vec![0.5, 0.5]],
            ),
        ];
        let norm = Normalisation::of_points(&gens[1].best, 2);
        let rows = history_rows(&ExactIndicators, &norm, &gens);
        assert!((rows[0].archive_hv - 0.21).abs() < 1e-12);
        assert!((rows[0].best_hv - 0.21).abs() < 1e-12);
        assert!((rows[1].archive_hv - 0.11).abs() < 1e-12);
        assert!((rows[1].best_hv - 0.46).abs() < 1e-12);
        assert_eq!((rows[0].front_size, rows[1].front_size), (2, 3));
    }
}
