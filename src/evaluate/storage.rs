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
//! Storage URLs: `sqlite:///absolute/path/run.db` or `sqlite://relative/path/run.db`
//! (SQLite, embedded, no server).

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use thiserror::Error;

/// A storage problem.
#[derive(Debug, Error)]
pub enum StorageError {
    /// The URL is not one distrinas knows.
    #[error("storage `{0}`: expected sqlite:///absolute/path.db or sqlite://relative/path.db")]
    Url(String),
    /// The database failed (gone, locked too long, corrupt).
    #[error("storage {url}: {source}")]
    Db {
        /// The storage URL.
        url: String,
        /// The database error.
        source: rusqlite::Error,
    },
    /// A stored record could not be read back.
    #[error("storage {url}: a stored record is damaged: {msg}")]
    Record {
        /// The storage URL.
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
    /// The run's seed.
    pub seed: u64,
    /// `space.max_cuts` as run (the command line may lower it).
    pub max_cuts: usize,
    /// Absolute path of the weight store shared with the workers.
    pub weights_dir: PathBuf,
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

/// A SQLite-backed storage of one run's evaluations.
#[derive(Debug)]
pub struct Storage {
    url: String,
    conn: Mutex<Connection>,
}

/// Seconds since the Unix epoch.
fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS run (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    spec TEXT NOT NULL,
    finished INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS task (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    genome TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued',
    owner TEXT,
    lease_until REAL,
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS task_state ON task (state, seq);
CREATE TABLE IF NOT EXISTS result (
    key TEXT PRIMARY KEY,
    evaluation TEXT NOT NULL,
    worker TEXT NOT NULL,
    finished_at REAL NOT NULL
);
";

/// How long an operation waits for a busy database before it fails.
const BUSY_WAIT: Duration = Duration::from_secs(60);

/// `true` for SQLite's "busy"/"locked" errors, which are retried.
fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(f.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

impl Storage {
    /// Opens (creating if needed) the storage at `url`.
    pub fn open(url: &str) -> Result<Storage, StorageError> {
        let path = Self::path_of(url)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = std::fs::create_dir_all(dir);
        }
        let conn = Connection::open(&path).map_err(|source| StorageError::Db {
            url: url.to_string(),
            source,
        })?;
        let s = Storage {
            url: url.to_string(),
            conn: Mutex::new(conn),
        };
        s.with(|c| {
            c.busy_timeout(Duration::from_secs(5))?;
            let mode: String = c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
            if !mode.eq_ignore_ascii_case("wal") {
                c.pragma_update(None, "journal_mode", "WAL")?;
            }
            c.pragma_update(None, "synchronous", "NORMAL")?;
            c.execute_batch(SCHEMA)
        })?;
        Ok(s)
    }

    /// The database file of a `sqlite://` URL.
    pub fn path_of(url: &str) -> Result<PathBuf, StorageError> {
        match url.strip_prefix("sqlite://") {
            Some(p) if !p.is_empty() => Ok(PathBuf::from(p)),
            _ => Err(StorageError::Url(url.to_string())),
        }
    }

    /// The URL as given.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Runs `f` on the connection, again while the database is busy (another process
    /// writing), for up to [`BUSY_WAIT`]; a transaction `f` opened is rolled back
    /// before each retry.
    fn with<T>(
        &self,
        mut f: impl FnMut(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StorageError> {
        let start = Instant::now();
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            match f(&mut conn) {
                Err(e) if is_busy(&e) && start.elapsed() < BUSY_WAIT => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                r => {
                    return r.map_err(|source| StorageError::Db {
                        url: self.url.clone(),
                        source,
                    })
                }
            }
        }
    }

    /// Records the run a coordinator starts (or resumes): replaces the spec and marks
    /// the run unfinished. Tasks and results of an earlier start are kept.
    pub fn register(&self, spec: &RunSpec) -> Result<(), StorageError> {
        let json = serde_json::to_string(spec).expect("serialisable");
        self.with(|c| {
            c.execute(
                "INSERT INTO run (id, spec, finished) VALUES (1, ?1, 0)
                 ON CONFLICT (id) DO UPDATE SET spec = ?1, finished = 0",
                params![json],
            )
        })?;
        Ok(())
    }

    /// The registered run and whether it has finished, if a coordinator registered one.
    pub fn run(&self) -> Result<Option<(RunSpec, bool)>, StorageError> {
        let row: Option<(String, i64)> = self.with(|c| {
            c.query_row("SELECT spec, finished FROM run WHERE id = 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
        })?;
        row.map(|(s, f)| {
            serde_json::from_str(&s)
                .map(|spec| (spec, f != 0))
                .map_err(|e| StorageError::Record {
                    url: self.url.clone(),
                    msg: format!("run spec: {e}"),
                })
        })
        .transpose()
    }

    /// Marks the run finished: workers exit once no task is left.
    pub fn finish(&self) -> Result<(), StorageError> {
        self.with(|c| c.execute("UPDATE run SET finished = 1 WHERE id = 1", []))?;
        Ok(())
    }

    /// Queues `(key, genome JSON)` tasks; a key queued or finished before is left as is.
    pub fn enqueue(&self, tasks: &[(String, String)]) -> Result<(), StorageError> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            {
                let mut st =
                    tx.prepare("INSERT OR IGNORE INTO task (key, genome) VALUES (?1, ?2)")?;
                for (k, g) in tasks {
                    st.execute(params![k, g])?;
                }
            }
            tx.commit()
        })
    }

    /// Leases up to `n` tasks to `owner` for `lease`: queued ones first (in queue
    /// order), then those whose lease ran out.
    pub fn lease(
        &self,
        owner: &str,
        n: usize,
        lease: Duration,
    ) -> Result<Vec<Lease>, StorageError> {
        self.with(|c| {
            let t = now();
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let picked: Vec<(i64, String, String)> = {
                let mut st = tx.prepare(
                    "SELECT seq, key, genome FROM task
                     WHERE state = 'queued' OR (state = 'leased' AND lease_until < ?1)
                     ORDER BY seq LIMIT ?2",
                )?;
                let rows = st.query_map(params![t, n as i64], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?;
                rows.collect::<Result<_, _>>()?
            };
            for (seq, _, _) in &picked {
                tx.execute(
                    "UPDATE task SET state = 'leased', owner = ?1, lease_until = ?2,
                     attempts = attempts + 1 WHERE seq = ?3",
                    params![owner, t + lease.as_secs_f64(), seq],
                )?;
            }
            tx.commit()?;
            Ok(picked
                .into_iter()
                .map(|(_, key, genome)| Lease { key, genome })
                .collect())
        })
    }

    /// Pushes the deadline of `owner`'s leases of `keys` to now + `lease`.
    pub fn heartbeat(
        &self,
        owner: &str,
        keys: &[String],
        lease: Duration,
    ) -> Result<(), StorageError> {
        let until = now() + lease.as_secs_f64();
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            for k in keys {
                tx.execute(
                    "UPDATE task SET lease_until = ?1 WHERE key = ?2 AND owner = ?3 AND state = 'leased'",
                    params![until, k, owner],
                )?;
            }
            tx.commit()
        })
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
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let n = tx.execute(
                "INSERT OR IGNORE INTO result (key, evaluation, worker, finished_at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![key, evaluation, worker, now()],
            )?;
            if n == 1 {
                tx.execute(
                    "UPDATE task SET state = 'done', owner = ?2 WHERE key = ?1",
                    params![key, worker],
                )?;
            }
            tx.commit()?;
            Ok(n == 1)
        })
    }

    /// The recorded results of `keys` (`None`: not finished yet).
    pub fn results(&self, keys: &[String]) -> Result<Vec<Option<String>>, StorageError> {
        self.with(|c| {
            let mut st = c.prepare_cached("SELECT evaluation FROM result WHERE key = ?1")?;
            keys.iter()
                .map(|k| st.query_row(params![k], |r| r.get(0)).optional())
                .collect()
        })
    }

    /// Every task, in queue order.
    pub fn tasks(&self) -> Result<Vec<TaskRow>, StorageError> {
        self.with(|c| {
            let mut st = c.prepare("SELECT key, state, owner, attempts FROM task ORDER BY seq")?;
            let rows = st.query_map([], |r| {
                Ok(TaskRow {
                    key: r.get(0)?,
                    state: r.get(1)?,
                    owner: r.get(2)?,
                    attempts: r.get(3)?,
                })
            })?;
            rows.collect()
        })
    }

    /// Counts of tasks by state and of results: `(queued, leased, done, results)`.
    pub fn counts(&self) -> Result<(u64, u64, u64, u64), StorageError> {
        self.with(|c| {
            let count = |sql: &str| {
                c.query_row(sql, [], |r| r.get::<_, i64>(0))
                    .map(|v| v as u64)
            };
            Ok((
                count("SELECT count(*) FROM task WHERE state = 'queued'")?,
                count("SELECT count(*) FROM task WHERE state = 'leased'")?,
                count("SELECT count(*) FROM task WHERE state = 'done'")?,
                count("SELECT count(*) FROM result")?,
            ))
        })
    }
}

/// Absolute form of `p` (relative to the current directory).
pub fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open() -> (tempfile::TempDir, Storage) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("run.db").display());
        let s = Storage::open(&url).unwrap();
        (dir, s)
    }

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
    }

    #[test]
    fn leases_expire_and_results_count_once() {
        let (_d, s) = open();
        assert_eq!(s.run().unwrap(), None);
        let spec = RunSpec {
            scenario_file: None,
            seed: 3,
            max_cuts: 2,
            weights_dir: PathBuf::from("/w"),
        };
        s.register(&spec).unwrap();
        assert_eq!(s.run().unwrap(), Some((spec, false)));
        let tasks: Vec<(String, String)> =
            (0..3).map(|i| (format!("k{i}"), format!("g{i}"))).collect();
        s.enqueue(&tasks).unwrap();
        s.enqueue(&tasks[..1]).unwrap(); // queued twice: once
        let long = Duration::from_secs(60);
        let a = s.lease("a", 2, long).unwrap();
        assert_eq!(
            a.iter().map(|l| l.key.as_str()).collect::<Vec<_>>(),
            ["k0", "k1"]
        );
        let b = s.lease("b", 5, long).unwrap();
        assert_eq!(b.len(), 1, "k0 and k1 are leased to a");
        assert_eq!(s.counts().unwrap(), (0, 3, 0, 0));
        // a lease that ran out is leased again
        let c = s.lease("c", 5, Duration::ZERO).unwrap();
        assert!(c.is_empty());
        s.with(|c| c.execute("UPDATE task SET lease_until = 0 WHERE key = 'k1'", []))
            .unwrap();
        let c = s.lease("c", 5, long).unwrap();
        assert_eq!(c[0].key, "k1");
        // both a and c finish k1: one result
        assert!(s.complete("k1", "c", "{\"x\":1}").unwrap());
        assert!(!s.complete("k1", "a", "{\"x\":2}").unwrap());
        assert_eq!(
            s.results(&["k1".into(), "k0".into()]).unwrap(),
            vec![Some("{\"x\":1}".to_string()), None]
        );
        assert_eq!(s.counts().unwrap(), (0, 2, 1, 1));
        s.finish().unwrap();
        assert!(s.run().unwrap().unwrap().1);
    }
}
