//! The SQLite [`Backend`]: one database file, shared by the processes of one machine
//! (WAL journal; writers take the file's lock with `BEGIN IMMEDIATE`).

use super::{Backend, Counts, DbError, Lease, TaskRow};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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

/// `true` for SQLite's "busy"/"locked" errors, which are retried.
fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(f.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// A SQLite database file.
#[derive(Debug)]
pub(super) struct Sqlite {
    conn: Mutex<Connection>,
    timeout: Duration,
}

impl Sqlite {
    /// Opens (creating) the database at `path`.
    pub(super) fn open(path: &Path, timeout: Duration) -> Result<Sqlite, DbError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = std::fs::create_dir_all(dir);
        }
        let s = Sqlite {
            conn: Mutex::new(Connection::open(path)?),
            timeout,
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

    /// Runs `f` on the connection, again while the database is busy (another process
    /// writing), for up to the timeout; a transaction `f` opened is rolled back before
    /// each retry.
    fn with<T>(
        &self,
        mut f: impl FnMut(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T, DbError> {
        let start = Instant::now();
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            match f(&mut conn) {
                Err(e) if is_busy(&e) && start.elapsed() < self.timeout => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                Err(e) if is_busy(&e) => {
                    return Err(format!(
                        "{e} (still busy after {:.0} s: --storage-timeout)",
                        self.timeout.as_secs_f64()
                    )
                    .into())
                }
                r => return r.map_err(Into::into),
            }
        }
    }

    /// Runs `f` in an immediate (write-locking) transaction.
    fn write<T>(
        &self,
        mut f: impl FnMut(&rusqlite::Transaction) -> rusqlite::Result<T>,
    ) -> Result<T, DbError> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let v = f(&tx)?;
            tx.commit()?;
            Ok(v)
        })
    }
}

impl Backend for Sqlite {
    fn register(&self, spec: &str) -> Result<(), DbError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO run (id, spec, finished) VALUES (1, ?1, 0)
                 ON CONFLICT (id) DO UPDATE SET spec = ?1, finished = 0",
                params![spec],
            )
        })
        .map(drop)
    }

    fn run(&self) -> Result<Option<(String, bool)>, DbError> {
        self.with(|c| {
            c.query_row("SELECT spec, finished FROM run WHERE id = 1", [], |r| {
                Ok((r.get(0)?, r.get::<_, i64>(1)? != 0))
            })
            .optional()
        })
    }

    fn finish(&self) -> Result<(), DbError> {
        self.write(|tx| tx.execute("UPDATE run SET finished = 1 WHERE id = 1", []))
            .map(drop)
    }

    fn enqueue(&self, tasks: &[(String, String)]) -> Result<(), DbError> {
        self.write(|tx| {
            let mut st = tx.prepare("INSERT OR IGNORE INTO task (key, genome) VALUES (?1, ?2)")?;
            for (k, g) in tasks {
                st.execute(params![k, g])?;
            }
            Ok(())
        })
    }

    fn lease(&self, owner: &str, n: usize, lease: Duration) -> Result<Vec<Lease>, DbError> {
        const LEASABLE: &str = "state = 'queued' OR (state = 'leased' AND lease_until < ?1)";
        let t = now();
        // Idle workers poll: look without the write lock first.
        let any: bool = self.with(|c| {
            c.query_row(
                &format!("SELECT EXISTS (SELECT 1 FROM task WHERE {LEASABLE})"),
                params![t],
                |r| r.get(0),
            )
        })?;
        if !any {
            return Ok(Vec::new());
        }
        self.write(|tx| {
            let picked: Vec<(i64, String, String)> = {
                let mut st = tx.prepare(&format!(
                    "SELECT seq, key, genome FROM task WHERE {LEASABLE} ORDER BY seq LIMIT ?2"
                ))?;
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
            Ok(picked
                .into_iter()
                .map(|(_, key, genome)| Lease { key, genome })
                .collect())
        })
    }

    fn heartbeat(&self, owner: &str, keys: &[String], lease: Duration) -> Result<(), DbError> {
        let until = now() + lease.as_secs_f64();
        self.write(|tx| {
            for k in keys {
                tx.execute(
                    "UPDATE task SET lease_until = ?1
                     WHERE key = ?2 AND owner = ?3 AND state = 'leased'",
                    params![until, k, owner],
                )?;
            }
            Ok(())
        })
    }

    fn complete(&self, key: &str, worker: &str, evaluation: &str) -> Result<bool, DbError> {
        self.write(|tx| {
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
            Ok(n == 1)
        })
    }

    fn results(&self, keys: &[String]) -> Result<Vec<Option<String>>, DbError> {
        self.with(|c| {
            let mut st = c.prepare_cached("SELECT evaluation FROM result WHERE key = ?1")?;
            keys.iter()
                .map(|k| st.query_row(params![k], |r| r.get(0)).optional())
                .collect()
        })
    }

    fn tasks(&self) -> Result<Vec<TaskRow>, DbError> {
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

    fn reset(&self) -> Result<(), DbError> {
        self.write(|tx| tx.execute_batch("DELETE FROM result; DELETE FROM task; DELETE FROM run;"))
    }

    fn counts(&self) -> Result<Counts, DbError> {
        self.with(|c| {
            c.query_row(
                "SELECT (SELECT count(*) FROM task WHERE state = 'queued'),
                        (SELECT count(*) FROM task WHERE state = 'leased'),
                        (SELECT count(*) FROM task WHERE state = 'done'),
                        (SELECT count(*) FROM result)",
                [],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)? as u64,
                        r.get::<_, i64>(1)? as u64,
                        r.get::<_, i64>(2)? as u64,
                        r.get::<_, i64>(3)? as u64,
                    ))
                },
            )
        })
    }
}
