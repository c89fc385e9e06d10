//! Run folders that cannot be lost or mixed: `search` refuses a folder that already
//! holds a run unless asked to continue it (`--resume`) or replace it (`--force`); a
//! lock file (`.lock`, holding the process id) keeps a second search out of a folder
//! in use; and `fingerprint.json` records what the run's results depend on (scenario
//! sections, resolved device and link profiles, dataset and trace bytes, run settings),
//! so that `--resume` refuses a changed scenario and names the first difference.
//! See `docs/search.md`, "Run folders".

use super::run::{EvaluateError, SearchOptions};
use crate::scenario::{Arrivals, LoadedScenario};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// File of the run's fingerprint in the run folder.
pub const FINGERPRINT_FILE: &str = "fingerprint.json";

/// File of the lock in the run folder.
pub const LOCK_FILE: &str = ".lock";

/// Files and folders of a run that `--force` removes before starting afresh.
const RUN_FILES: [&str; 11] = [
    "checkpoint.json",
    "history.json",
    "history.csv",
    FINGERPRINT_FILE,
    "front.json",
    "front.csv",
    "report.md",
    "run.json",
    "plots",
    "candidates",
    ".weights",
];

/// The lock of a run folder, released (its file removed) when dropped.
#[derive(Debug)]
pub struct RunLock {
    path: PathBuf,
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> EvaluateError + '_ {
    move |source| EvaluateError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// `true` when process `pid` runs (Linux: `/proc/<pid>` exists; elsewhere every
/// recorded process is taken as running, and a stale lock must be removed by hand).
fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new("/proc").join(pid.to_string()).exists()
    } else {
        true
    }
}

/// Takes the lock of `dir`: creates `.lock` with this process's id. A lock left by a
/// process that no longer runs is taken over.
pub fn lock(dir: &Path) -> Result<RunLock, EvaluateError> {
    let path = dir.join(LOCK_FILE);
    let me = std::process::id();
    for _ in 0..2 {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut f) => {
                use std::io::Write;
                writeln!(f, "{me}").map_err(io(&path))?;
                return Ok(RunLock { path });
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                match text.trim().parse::<u32>() {
                    Ok(pid) if pid != me && process_alive(pid) => {
                        return Err(EvaluateError::RunFolder(format!(
                            "{}: another search (process {pid}) is writing this run folder; wait for it, stop it, or choose another --out",
                            dir.display()
                        )));
                    }
                    // stale (or unreadable): take it over
                    _ => std::fs::remove_file(&path).map_err(io(&path))?,
                }
            }
            Err(e) => return Err(io(&path)(e)),
        }
    }
    Err(EvaluateError::RunFolder(format!(
        "{}: cannot take the lock {LOCK_FILE}",
        dir.display()
    )))
}

/// What a run's results depend on, section by section, each as a SHA-256 of its
/// JSON (or of the file bytes), in the order the first difference is looked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Fingerprint {
    /// `(section, sha256 hex)` pairs.
    pub sections: Vec<(String, String)>,
}

fn digest(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn digest_of<T: Serialize + ?Sized>(v: &T) -> String {
    digest(serde_json::to_string(v).unwrap_or_default().as_bytes())
}

impl Fingerprint {
    /// The fingerprint of `loaded` run with `opts`. Generations and final epochs are
    /// left out: a resumed run may be extended or finished differently.
    pub fn of(loaded: &LoadedScenario, opts: &SearchOptions) -> Result<Fingerprint, EvaluateError> {
        let s = &loaded.scenario;
        let data = |p: PathBuf| {
            loaded
                .read_data(&p)
                .map(|b| digest(&b))
                .map_err(EvaluateError::DataFile)
        };
        let mut search = s.search.clone();
        search.generations = 0;
        search.final_epochs = 0;
        search.warm_start.clear();
        let mut sections = vec![
            ("objectives".to_string(), digest_of(&s.search.objectives)),
            // the files by their bytes below, not their paths: a moved run resumes
            (
                "dataset".into(),
                digest_of(&(
                    &s.dataset.kind,
                    s.dataset.validation_fraction,
                    s.dataset.length,
                )),
            ),
            ("dataset train file".into(), data(loaded.train_path())?),
        ];
        if let Some(t) = loaded.test_path() {
            sections.push(("dataset test file".into(), data(t)?));
        }
        sections.extend([
            ("devices".to_string(), digest_of(&s.devices)),
            ("device profiles".into(), digest_of(&loaded.device_profiles)),
            ("links".into(), digest_of(&s.links)),
            ("link profiles".into(), digest_of(&loaded.link_profiles)),
            ("source and sink".into(), digest_of(&(&s.source, &s.sink))),
            ("app".into(), digest_of(&s.app)),
            ("workload".into(), digest_of(&s.workload)),
        ]);
        if let Arrivals::Trace { file } = &s.workload.arrivals {
            sections.push(("workload trace file".into(), data(loaded.resolve(file))?));
        }
        sections.extend([
            ("space".to_string(), digest_of(&s.space)),
            ("search settings".into(), digest_of(&search)),
            ("events".into(), digest_of(&s.events)),
            ("dtype".into(), digest_of(&s.dtype)),
            (
                "run settings (seed, algorithm, population, archive)".into(),
                digest_of(&format!(
                    "{} {:?} {} {}",
                    opts.seed, opts.algorithm, opts.population, opts.archive
                )),
            ),
        ]);
        if let Some(f) = &s.failures {
            // only when present, so run folders of scenarios without one keep their
            // fingerprint
            sections.push(("failures".into(), digest_of(f)));
        }
        Ok(Fingerprint { sections })
    }

    /// The first section where `self` (the run's) and `now` differ.
    pub fn first_difference<'a>(&'a self, now: &'a Fingerprint) -> Option<&'a str> {
        self.sections
            .iter()
            .find(|(k, v)| {
                now.sections
                    .iter()
                    .find(|(k2, _)| k2 == k)
                    .is_none_or(|(_, v2)| v2 != v)
            })
            .or_else(|| {
                now.sections
                    .iter()
                    .find(|(k, _)| !self.sections.iter().any(|(k2, _)| k2 == k))
            })
            .map(|(k, _)| k.as_str())
    }
}

/// Makes `opts.out_dir` ready for a search and locks it: refuses a folder holding a
/// run unless `opts.resume` (the fingerprint must match) or `opts.force` (the old run's
/// files are removed); writes the fingerprint of a new run.
pub fn prepare(loaded: &LoadedScenario, opts: &SearchOptions) -> Result<RunLock, EvaluateError> {
    let out = &opts.out_dir;
    std::fs::create_dir_all(out).map_err(io(out))?;
    let lock = lock(out)?;
    let now = Fingerprint::of(loaded, opts)?;
    let fp_path = out.join(FINGERPRINT_FILE);
    let held = ["checkpoint.json", "front.json"]
        .into_iter()
        .find(|f| out.join(f).exists());
    if opts.resume {
        if let Ok(text) = std::fs::read_to_string(&fp_path) {
            let run: Fingerprint = serde_json::from_str(&text).map_err(|e| {
                EvaluateError::RunFolder(format!(
                    "{}: {e}: the fingerprint is corrupt; use --force to start afresh",
                    fp_path.display()
                ))
            })?;
            if let Some(section) = run.first_difference(&now) {
                return Err(EvaluateError::RunFolder(format!(
                    "{}: cannot --resume: the {section} changed since the run was checkpointed (first difference); start a new run (another --out, or --force to replace this one)",
                    out.display()
                )));
            }
            return Ok(lock);
        }
    } else if let Some(f) = held {
        if !opts.force {
            return Err(EvaluateError::RunFolder(format!(
                "{}: already holds a run ({f}); --resume continues it, --force replaces it",
                out.display()
            )));
        }
        for f in RUN_FILES {
            let p = out.join(f);
            let r = if p.is_dir() {
                std::fs::remove_dir_all(&p)
            } else {
                std::fs::remove_file(&p)
            };
            match r {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(&p)(e)),
                _ => {}
            }
        }
    }
    let text = serde_json::to_string_pretty(&now).unwrap_or_default();
    crate::atomic::write_atomic(&fp_path, text.as_bytes()).map_err(io(&fp_path))?;
    Ok(lock)
}
