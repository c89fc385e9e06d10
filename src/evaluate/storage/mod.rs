//! Evaluations leased to worker processes through a database (`docs/scale-out.md`).
//!
//! The generational loop stays in one coordinator (`search --storage URL`); each
//! generation's evaluations become rows of a `task` table, and any number of
//! `distrinas worker --storage URL` processes lease them, evaluate them and write the
//! results back. A lease carries a deadline that the worker's heartbeat pushes forward;
//! a task whose lease ran out (its worker died) is leased again. A result is recorded
//! once per task key (the genome's key: network, parent and cuts; the fidelity of a run
//! is fixed), so an evaluation finished twice counts once. Trained weights travel
//! through the run folder's weight store (`.weights/`, content-addressed, written
//! atomically), which the storage names: workers need the folder (a shared file
//! system on a cluster), not a copy of every weight blob in the database.
//!
//! Two databases implement the same [`Backend`]:
//! - `sqlite:///absolute/path/run.db` or `sqlite://relative/path/run.db`: SQLite,
//!   embedded, no server; for the processes of one machine.
//! - `postgres://user:password@host:port/database` (or `postgresql://`): a PostgreSQL
//!   server; for workers on many machines. Leases are taken with
//!   `FOR UPDATE SKIP LOCKED`, so workers never wait for each other.
//!
//! Once connected, a storage waits out an outage (a busy SQLite file, a PostgreSQL
//! restart) for its timeout before an operation fails.

mod pg;
mod sqlite;

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;
use thiserror::Error;

/// A database error, as a backend reports it.
pub type DbError = Box<dyn std::error::Error + Send + Sync>;

/// A storage problem.
#[derive(Debug, Error)]
pub enum StorageError {
    /// The URL is not one distrinas knows.
    #[error(
        "storage `{0}`: expected sqlite:///absolute/path.db, sqlite://relative/path.db or \
         postgres://user:password@host:port/database"
    )]
    Url(String),
    /// The database could not be reached at all.
    #[error("storage {url}: cannot connect: {source}")]
    Connect {
        /// The storage URL (its password hidden).
        url: String,
        /// The database error.
        source: DbError,
    },
    /// The database failed (gone for longer than the timeout, locked too long, corrupt).
    #[error("storage {url}: {source}")]
    Db {
        /// The storage URL (its password hidden).
        url: String,
        /// The database error.
        source: DbError,
    },
    /// A stored record could not be read back.
    #[error("storage {url}: a stored record is damaged: {msg}")]
    Record {
        /// The storage URL (its password hidden).
        url: String,
        /// What failed.
        msg: String,
    },
}

/// What a worker needs to rebuild the coordinator's problem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSpec {
    /// Absolute path of the scenario file (`None`: the embedded quickstart).
    pub scenario_file: Option<PathBuf>,
    /// SHA-256 of the scenario text and the distrinas version the coordinator runs: a
    /// worker whose scenario file or program differs refuses to evaluate.
    #[serde(default)]
    pub fingerprint: String,
    /// The run's seed.
    pub seed: u64,
    /// `space.max_cuts` as run (the command line may lower it).
    pub max_cuts: usize,
    /// Absolute path of the weight store shared with the workers.
    pub weights_dir: PathBuf,
}

/// The fingerprint of a scenario text under this version of distrinas.
pub fn fingerprint(scenario_text: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(concat!("distrinas ", env!("CARGO_PKG_VERSION"), "\n"));
    h.update(scenario_text.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// A task as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRow {
    /// Task key.
    pub key: String,
    /// `queued`, `leased` or `done`.
    pub state: String,
    /// The last process that leased or finished it.
    pub owner: Option<String>,
    /// Times it was leased.
    pub attempts: u32,
}

/// A leased task.
#[derive(Debug, Clone, PartialEq)]
pub struct Lease {
    /// Task key.
    pub key: String,
    /// The genome, as JSON.
    pub genome: String,
}

/// Task counts by state: `(queued, leased, done, results)`.
pub type Counts = (u64, u64, u64, u64);

/// A database that holds one run's tasks and results. Every method is one
/// transaction; an implementation retries while the database is busy or briefly
/// unreachable, up to the timeout it was opened with.
pub trait Backend: Send + Sync + std::fmt::Debug {
    /// Stores `spec` (JSON) as the run's spec and marks the run unfinished.
    fn register(&self, spec: &str) -> Result<(), DbError>;
    /// The run's spec (JSON) and whether it finished.
    fn run(&self) -> Result<Option<(String, bool)>, DbError>;
    /// Marks the run finished.
    fn finish(&self) -> Result<(), DbError>;
    /// Queues `(key, genome)` tasks in order; a known key is left as is.
    fn enqueue(&self, tasks: &[(String, String)]) -> Result<(), DbError>;
    /// Leases up to `n` tasks to `owner` for `lease`: queued ones and those whose
    /// lease ran out, in queue order.
    fn lease(&self, owner: &str, n: usize, lease: Duration) -> Result<Vec<Lease>, DbError>;
    /// Pushes the deadline of `owner`'s leases of `keys` to now + `lease`.
    fn heartbeat(&self, owner: &str, keys: &[String], lease: Duration) -> Result<(), DbError>;
    /// Records a result unless `key` has one; returns whether it was recorded.
    fn complete(&self, key: &str, worker: &str, evaluation: &str) -> Result<bool, DbError>;
    /// The results of `keys`.
    fn results(&self, keys: &[String]) -> Result<Vec<Option<String>>, DbError>;
    /// Every task in queue order.
    fn tasks(&self) -> Result<Vec<TaskRow>, DbError>;
    /// Task counts by state and the number of results.
    fn counts(&self) -> Result<Counts, DbError>;
    /// Deletes the run, its tasks and its results.
    fn reset(&self) -> Result<(), DbError>;
}

/// How long an operation waits out a busy or unreachable database (default).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// One run's evaluations in a database.
#[derive(Debug)]
pub struct Storage {
    url: String,
    backend: Box<dyn Backend>,
}

/// `url` with the password of a `scheme://user:password@host` URL replaced by `***`.
pub fn redact(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let auth_end = rest.find('/').unwrap_or(rest.len());
        if let Some(at) = rest[..auth_end].rfind('@') {
            if let Some(colon) = rest[..at].find(':') {
                return format!("{scheme}://{}:***{}", &rest[..colon], &rest[at..]);
            }
        }
    }
    url.to_string()
}

impl Storage {
    /// Opens (creating its tables if needed) the storage at `url`, with the default
    /// outage timeout.
    pub fn open(url: &str) -> Result<Storage, StorageError> {
        Self::open_with_timeout(url, DEFAULT_TIMEOUT)
    }

    /// Opens the storage at `url`; once connected, an operation waits out a busy or
    /// unreachable database for up to `timeout` before it fails.
    pub fn open_with_timeout(url: &str, timeout: Duration) -> Result<Storage, StorageError> {
        let shown = redact(url);
        let connect = |source| StorageError::Connect {
            url: shown.clone(),
            source,
        };
        let backend: Box<dyn Backend> = if url.starts_with("sqlite:") {
            let path = Self::path_of(url)?;
            Box::new(sqlite::Sqlite::open(&path, timeout).map_err(connect)?)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Box::new(pg::Postgres::open(url, timeout).map_err(connect)?)
        } else {
            return Err(StorageError::Url(url.to_string()));
        };
        Ok(Storage {
            url: shown,
            backend,
        })
    }

    /// The database file of a `sqlite://` URL.
    pub fn path_of(url: &str) -> Result<PathBuf, StorageError> {
        match url.strip_prefix("sqlite://") {
            Some(p) if !p.is_empty() => Ok(PathBuf::from(p)),
            _ => Err(StorageError::Url(url.to_string())),
        }
    }

    /// The URL, its password hidden.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn db<T>(&self, r: Result<T, DbError>) -> Result<T, StorageError> {
        r.map_err(|source| StorageError::Db {
            url: self.url.clone(),
            source,
        })
    }

    /// Records the run a coordinator starts (or resumes): replaces the spec and marks
    /// the run unfinished. Tasks and results of an earlier start are kept.
    pub fn register(&self, spec: &RunSpec) -> Result<(), StorageError> {
        let json = serde_json::to_string(spec).expect("serialisable");
        self.db(self.backend.register(&json))
    }

    /// The registered run and whether it has finished, if a coordinator registered one.
    pub fn run(&self) -> Result<Option<(RunSpec, bool)>, StorageError> {
        let row = self.db(self.backend.run())?;
        row.map(|(s, f)| {
            serde_json::from_str(&s)
                .map(|spec| (spec, f))
                .map_err(|e| StorageError::Record {
                    url: self.url.clone(),
                    msg: format!("run spec: {e}"),
                })
        })
        .transpose()
    }

    /// Marks the run finished: workers exit once no task is left.
    pub fn finish(&self) -> Result<(), StorageError> {
        self.db(self.backend.finish())
    }

    /// Queues `(key, genome JSON)` tasks; a key queued or finished before is left as is.
    pub fn enqueue(&self, tasks: &[(String, String)]) -> Result<(), StorageError> {
        self.db(self.backend.enqueue(tasks))
    }

    /// Leases up to `n` tasks to `owner` for `lease`: queued ones first (in queue
    /// order), then those whose lease ran out.
    pub fn lease(
        &self,
        owner: &str,
        n: usize,
        lease: Duration,
    ) -> Result<Vec<Lease>, StorageError> {
        self.db(self.backend.lease(owner, n, lease))
    }

    /// Pushes the deadline of `owner`'s leases of `keys` to now + `lease` (a zero
    /// `lease` gives them up: they can be leased again at once).
    pub fn heartbeat(
        &self,
        owner: &str,
        keys: &[String],
        lease: Duration,
    ) -> Result<(), StorageError> {
        self.db(self.backend.heartbeat(owner, keys, lease))
    }

    /// Records the result of task `key`: the first result wins, later ones (a task
    /// finished by two workers after a lease ran out) are ignored. Returns whether this
    /// one was recorded.
    pub fn complete(
        &self,
        key: &str,
        worker: &str,
        evaluation: &str,
    ) -> Result<bool, StorageError> {
        self.db(self.backend.complete(key, worker, evaluation))
    }

    /// The recorded results of `keys` (`None`: not finished yet).
    pub fn results(&self, keys: &[String]) -> Result<Vec<Option<String>>, StorageError> {
        self.db(self.backend.results(keys))
    }

    /// Every task, in queue order.
    pub fn tasks(&self) -> Result<Vec<TaskRow>, StorageError> {
        self.db(self.backend.tasks())
    }

    /// Counts of tasks by state and of results: `(queued, leased, done, results)`.
    pub fn counts(&self) -> Result<Counts, StorageError> {
        self.db(self.backend.counts())
    }

    /// Empties the storage: no run, no task, no result (`search --force`).
    pub fn reset(&self) -> Result<(), StorageError> {
        self.db(self.backend.reset())
    }
}

/// Absolute form of `p` (relative to the current directory).
pub fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            Storage::path_of("sqlite:///tmp/a.db").unwrap(),
            PathBuf::from("/tmp/a.db")
        );
        assert_eq!(
            Storage::path_of("sqlite://runs/a.db").unwrap(),
            PathBuf::from("runs/a.db")
        );
        for bad in ["sqlite://", "postgres://x", "/tmp/a.db"] {
            assert!(
                matches!(Storage::path_of(bad), Err(StorageError::Url(_))),
                "{bad}"
            );
        }
        for bad in ["mysql://h/db", "/tmp/a.db", "sqlite:/tmp/a.db"] {
            assert!(
                matches!(Storage::open(bad), Err(StorageError::Url(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(
            redact("postgres://u:secret@db:5432/runs"),
            "postgres://u:***@db:5432/runs"
        );
        assert_eq!(redact("postgres://u@db/runs"), "postgres://u@db/runs");
        assert_eq!(redact("sqlite:///a/b@c:d.db"), "sqlite:///a/b@c:d.db");
        // an unreachable server: the error names the URL without its password
        let e = Storage::open_with_timeout(
            "postgres://u:secret@127.0.0.1:1/x?connect_timeout=2",
            Duration::from_secs(1),
        )
        .unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, StorageError::Connect { .. }), "{msg}");
        assert!(!msg.contains("secret") && msg.contains("u:***@"), "{msg}");
    }

    #[test]
    fn fingerprints_see_the_text() {
        assert_eq!(fingerprint("a"), fingerprint("a"));
        assert_ne!(fingerprint("a"), fingerprint("a "));
        assert_eq!(fingerprint("").len(), 64);
    }
}
