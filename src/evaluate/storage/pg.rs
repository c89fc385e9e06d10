//! The PostgreSQL [`Backend`]: a server shared by workers on many machines. Leases are
//! taken with `FOR UPDATE SKIP LOCKED` (concurrent workers take different rows and
//! never wait for each other), results are inserted with `ON CONFLICT DO NOTHING`, and
//! every deadline is computed with the server's clock, so workers' clocks need not
//! agree.

use super::{Backend, Counts, DbError, Lease, TaskRow};
use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{Client, Config, NoTls, Row, Statement};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The server's clock, in seconds since the Unix epoch.
const NOW: &str = "extract(epoch from clock_timestamp())::float8";

/// The tables; created under an advisory lock, since `CREATE TABLE IF NOT EXISTS`
/// run by two sessions at once can fail.
const SCHEMA: &str = "
BEGIN;
SELECT pg_advisory_xact_lock(7316843100518);
CREATE TABLE IF NOT EXISTS run (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    spec TEXT NOT NULL,
    finished BOOLEAN NOT NULL DEFAULT false
);
CREATE TABLE IF NOT EXISTS task (
    seq BIGSERIAL PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    genome TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued',
    owner TEXT,
    lease_until DOUBLE PRECISION,
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS task_state ON task (state, seq);
CREATE TABLE IF NOT EXISTS result (
    key TEXT PRIMARY KEY,
    evaluation TEXT NOT NULL,
    worker TEXT NOT NULL,
    finished_at DOUBLE PRECISION NOT NULL
);
COMMIT;
";

/// A PostgreSQL database, reconnected after an outage.
pub(super) struct Postgres {
    config: Config,
    conn: Mutex<Option<Conn>>,
    timeout: Duration,
}

/// A connection and the statements prepared on it (each statement is parsed and
/// planned by the server once per connection, not once per call).
struct Conn {
    client: Client,
    prepared: HashMap<String, Statement>,
}

impl Conn {
    /// `sql`, prepared on this connection.
    fn stmt(&mut self, sql: &str) -> Result<Statement, postgres::Error> {
        if let Some(s) = self.prepared.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql)?;
        self.prepared.insert(sql.to_string(), s.clone());
        Ok(s)
    }

    fn execute(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, postgres::Error> {
        let s = self.stmt(sql)?;
        self.client.execute(&s, params)
    }

    fn query(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, postgres::Error> {
        let s = self.stmt(sql)?;
        self.client.query(&s, params)
    }
}

/// Whether `e` may pass: the connection broke, the server is restarting or refuses
/// connections for now, or a transaction lost a race.
fn transient(e: &postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    match e.code() {
        // no SQLSTATE: an I/O error (connection refused, reset)
        None => true,
        Some(c) => {
            c.code().starts_with("08")
                || [
                    SqlState::ADMIN_SHUTDOWN,
                    SqlState::CRASH_SHUTDOWN,
                    SqlState::CANNOT_CONNECT_NOW,
                    SqlState::T_R_SERIALIZATION_FAILURE,
                    SqlState::T_R_DEADLOCK_DETECTED,
                    SqlState::TOO_MANY_CONNECTIONS,
                    // "database is not currently accepting connections"
                    SqlState::OBJECT_NOT_IN_PREREQUISITE_STATE,
                ]
                .contains(c)
        }
    }
}

impl std::fmt::Debug for Postgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Postgres")
            .field("hosts", &self.config.get_hosts())
            .field("port", &self.config.get_ports())
            .field("dbname", &self.config.get_dbname())
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl Postgres {
    /// Connects to the database of `url` and creates the tables. The first
    /// connection is not retried: a wrong URL fails at once.
    pub(super) fn open(url: &str, timeout: Duration) -> Result<Postgres, DbError> {
        let mut config: Config = url.parse()?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(timeout.clamp(Duration::from_secs(1), Duration::from_secs(10)));
        }
        let mut client = config.connect(NoTls)?;
        client.batch_execute(SCHEMA)?;
        Ok(Postgres {
            config,
            conn: Mutex::new(Some(Conn {
                client,
                prepared: HashMap::new(),
            })),
            timeout,
        })
    }

    /// Runs `f` on the connection; after a transient error, reconnects and runs it
    /// again, for up to the timeout. `f` runs whole transactions, so a failed attempt
    /// leaves nothing behind.
    fn with<T>(
        &self,
        mut f: impl FnMut(&mut Conn) -> Result<T, postgres::Error>,
    ) -> Result<T, DbError> {
        let start = Instant::now();
        let mut slot = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            let r = match slot.as_mut() {
                Some(c) if !c.client.is_closed() => f(c),
                _ => match self.config.connect(NoTls) {
                    Ok(client) => f(slot.insert(Conn {
                        client,
                        prepared: HashMap::new(),
                    })),
                    Err(e) => Err(e),
                },
            };
            match r {
                Ok(v) => return Ok(v),
                Err(e) if transient(&e) => {
                    if start.elapsed() >= self.timeout {
                        return Err(format!(
                            "{e} (still failing after {:.0} s of retries: --storage-timeout)",
                            self.timeout.as_secs_f64()
                        )
                        .into());
                    }
                    *slot = None;
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}

impl Backend for Postgres {
    fn register(&self, spec: &str) -> Result<(), DbError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO run (id, spec, finished) VALUES (1, $1, false)
                 ON CONFLICT (id) DO UPDATE SET spec = EXCLUDED.spec, finished = false",
                &[&spec],
            )
        })
        .map(drop)
    }

    fn run(&self) -> Result<Option<(String, bool)>, DbError> {
        self.with(|c| {
            c.query("SELECT spec, finished FROM run WHERE id = 1", &[])
                .map(|r| r.first().map(|r| (r.get(0), r.get(1))))
        })
    }

    fn finish(&self) -> Result<(), DbError> {
        self.with(|c| c.execute("UPDATE run SET finished = true WHERE id = 1", &[]))
            .map(drop)
    }

    fn enqueue(&self, tasks: &[(String, String)]) -> Result<(), DbError> {
        let keys: Vec<&str> = tasks.iter().map(|t| t.0.as_str()).collect();
        let genomes: Vec<&str> = tasks.iter().map(|t| t.1.as_str()).collect();
        self.with(|c| {
            c.execute(
                "INSERT INTO task (key, genome)
                 SELECT k, g FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS t (k, g, i)
                 ORDER BY i
                 ON CONFLICT (key) DO NOTHING",
                &[&keys, &genomes],
            )
        })
        .map(drop)
    }

    fn lease(&self, owner: &str, n: usize, lease: Duration) -> Result<Vec<Lease>, DbError> {
        let sql = format!(
            "UPDATE task SET state = 'leased', owner = $1, lease_until = {NOW} + $2,
                 attempts = attempts + 1
             WHERE seq IN (
                 SELECT seq FROM task
                 WHERE state = 'queued' OR (state = 'leased' AND lease_until < {NOW})
                 ORDER BY seq LIMIT $3
                 FOR UPDATE SKIP LOCKED)
             RETURNING seq, key, genome"
        );
        let mut rows: Vec<(i64, String, String)> = self.with(|c| {
            c.query(&sql, &[&owner, &lease.as_secs_f64(), &(n as i64)])
                .map(|rows| {
                    rows.iter()
                        .map(|r| (r.get(0), r.get(1), r.get(2)))
                        .collect()
                })
        })?;
        rows.sort_by_key(|r| r.0);
        Ok(rows
            .into_iter()
            .map(|(_, key, genome)| Lease { key, genome })
            .collect())
    }

    fn heartbeat(&self, owner: &str, keys: &[String], lease: Duration) -> Result<(), DbError> {
        let sql = format!(
            "UPDATE task SET lease_until = {NOW} + $1
             WHERE key = ANY($2) AND owner = $3 AND state = 'leased'"
        );
        self.with(|c| c.execute(&sql, &[&lease.as_secs_f64(), &keys, &owner]))
            .map(drop)
    }

    fn complete(&self, key: &str, worker: &str, evaluation: &str) -> Result<bool, DbError> {
        // one statement, so one transaction: the task is marked done only with the
        // result this call recorded
        let sql = format!(
            "WITH recorded AS (
                 INSERT INTO result (key, evaluation, worker, finished_at)
                 VALUES ($1, $2, $3, {NOW}) ON CONFLICT (key) DO NOTHING
                 RETURNING key),
             marked AS (
                 UPDATE task SET state = 'done', owner = $3
                 WHERE key IN (SELECT key FROM recorded))
             SELECT count(*) FROM recorded"
        );
        self.with(|c| {
            c.query(&sql, &[&key, &evaluation, &worker])
                .map(|r| r[0].get::<_, i64>(0) == 1)
        })
    }

    fn results(&self, keys: &[String]) -> Result<Vec<Option<String>>, DbError> {
        let mut found: HashMap<String, String> = self.with(|c| {
            c.query(
                "SELECT key, evaluation FROM result WHERE key = ANY($1)",
                &[&keys],
            )
            .map(|rows| rows.iter().map(|r| (r.get(0), r.get(1))).collect())
        })?;
        Ok(keys.iter().map(|k| found.remove(k)).collect())
    }

    fn tasks(&self) -> Result<Vec<TaskRow>, DbError> {
        self.with(|c| {
            c.query(
                "SELECT key, state, owner, attempts FROM task ORDER BY seq",
                &[],
            )
            .map(|rows| {
                rows.iter()
                    .map(|r| TaskRow {
                        key: r.get(0),
                        state: r.get(1),
                        owner: r.get(2),
                        attempts: r.get::<_, i32>(3) as u32,
                    })
                    .collect()
            })
        })
    }

    fn reset(&self) -> Result<(), DbError> {
        self.with(|c| c.client.batch_execute("TRUNCATE result, task, run"))
    }

    fn counts(&self) -> Result<Counts, DbError> {
        self.with(|c| {
            c.client
                .query_one(
                    "SELECT (SELECT count(*) FROM task WHERE state = 'queued'),
                        (SELECT count(*) FROM task WHERE state = 'leased'),
                        (SELECT count(*) FROM task WHERE state = 'done'),
                        (SELECT count(*) FROM result)",
                    &[],
                )
                .map(|r| {
                    let n = |i: usize| r.get::<_, i64>(i) as u64;
                    (n(0), n(1), n(2), n(3))
                })
        })
    }
}
