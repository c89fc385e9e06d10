//! From a search [`Outcome`] to the report's [`Run`], and the candidate files.

use super::run::{FrontMember, Run, RunInfo, RunResults};
use super::{write_file, ReportError};
use crate::evaluate::run::Outcome;
use crate::evaluate::simulation::sim_seed;
use crate::evaluate::whatif::SearchRecord;
use std::path::{Path, PathBuf};

/// The report's view of a search outcome (hypervolumes are filled by
/// [`Run::finalise`]).
pub fn run_from_outcome(o: &Outcome, info: Option<RunInfo>) -> Run {
    let front = o
        .front
        .iter()
        .map(|f| FrontMember {
            id: f.id.clone(),
            objectives: o
                .objective_names
                .iter()
                .cloned()
                .zip(f.objectives.iter().copied())
                .collect(),
            feasible: f.feasible,
            violation: f.violation,
            constraints: f.info.constraints.clone(),
            cuts: f.candidate.cuts.clone(),
            map: f.candidate.map.clone(),
            standby: f.candidate.standby.clone(),
            layers: f.info.layers,
            params: f.info.params,
            partitions: f.info.partitions.clone(),
            devices: f.info.devices.clone(),
            links: f.info.links.clone(),
            failure_cases: f.info.failure_cases.clone(),
            val_accuracy: f.val_accuracy,
            test_accuracy: f.test_accuracy,
            int8_test_accuracy: f.int8_test_accuracy,
            latency_p95_ms: f.info.at_search.as_ref().and_then(|a| a.latency_p95_ms),
            energy_mj_per_inference: f
                .info
                .at_search
                .as_ref()
                .and_then(|a| a.energy_mj_per_inference),
            candidate_file: format!("candidates/{}.ron", f.id),
        })
        .collect();
    Run {
        results: RunResults {
            scenario: o.scenario.clone(),
            seed: o.seed,
            algorithm: o.algorithm.clone(),
            max_cuts: Some(o.max_cuts),
            objective_names: o.objective_names.clone(),
            front,
            generations: o.generations,
            evaluations: o.evaluations,
            topology: Some(o.topology.clone()),
            ladder: Some(super::run::Ladder {
                counts: o.ladder.clone(),
                final_trained: o.final_trained,
            }),
            ..Default::default()
        },
        generations: o.history.clone(),
        history: Vec::new(),
        info,
    }
}

/// Writes `candidates/<id>.ron` (a `Candidate`, input of `simulate --candidate`),
/// `candidates/<id>.search.json` (its search-time figures, a
/// [`SearchRecord`], when it was simulated) and, when trained,
/// `candidates/<id>.weights` for every front member.
pub fn write_candidates(dir: &Path, o: &Outcome) -> Result<Vec<PathBuf>, ReportError> {
    let mut written = Vec::new();
    for f in &o.front {
        let p = dir.join("candidates").join(format!("{}.ron", f.id));
        let text = ron::ser::to_string_pretty(&f.candidate, ron::ser::PrettyConfig::default())
            .map_err(|e| ReportError::Incompatible(format!("{}: {e}", p.display())))?;
        write_file(&p, (text + "\n").as_bytes())?;
        written.push(p);
        if let Some(figures) = &f.info.at_search {
            let record = SearchRecord {
                id: f.id.clone(),
                scenario: o.scenario.clone(),
                seed: o.seed,
                sim_seed: sim_seed(o.seed),
                objectives: o
                    .objective_names
                    .iter()
                    .cloned()
                    .zip(f.objectives.iter().copied())
                    .collect(),
                feasible: f.feasible,
                figures: figures.clone(),
            };
            let p = SearchRecord::path_for(&dir.join("candidates").join(format!("{}.ron", f.id)));
            write_file(&p, record.to_json_pretty().as_bytes())?;
            written.push(p);
        }
        if let Some(w) = &f.weights {
            let p = dir.join("candidates").join(format!("{}.weights", f.id));
            write_file(&p, w)?;
            written.push(p);
        }
    }
    remove_stale(&dir.join("candidates"), &written)?;
    Ok(written)
}

/// Removes the candidate files (`.ron`, `.json`, `.weights`) of `folder` that are not
/// in `kept`: members of an earlier front of the run (a resumed run's front may differ)
/// must not be mistaken for members of this one. Other files are left alone.
fn remove_stale(folder: &Path, kept: &[PathBuf]) -> Result<(), ReportError> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Ok(());
    };
    for e in entries.flatten() {
        let p = e.path();
        let ours = p
            .extension()
            .is_some_and(|x| x == "ron" || x == "json" || x == "weights");
        if ours && p.is_file() && !kept.contains(&p) {
            std::fs::remove_file(&p).map_err(|source| ReportError::Io {
                path: p.clone(),
                source,
            })?;
        }
    }
    Ok(())
}
