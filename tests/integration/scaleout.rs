//! Scaled-out searches (`search --storage URL`, `distrinas worker`) on both storages,
//! SQLite (a file) and PostgreSQL (the real server `scripts/postgres-test-server.sh`
//! starts; `.ci/run` runs it): the lease protocol, and the front is the same bytes as
//! a local run's with 2 workers, when a worker is killed with SIGKILL mid-evaluation,
//! when the coordinator is killed and resumed, and when the database goes away
//! mid-run (docs/scale-out.md). Without a PostgreSQL server the PostgreSQL tests fail,
//! saying how to start one.

use super::cli_support::{root, run, stderr};
use distrinas::evaluate::storage::{fingerprint, RunSpec, Storage};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const ARGS: [&str; 9] = [
    "scenarios/quickstart.ron",
    "--population",
    "12",
    "--generations",
    "6",
    "--final-epochs",
    "2",
    "--seed",
    "1",
];

/// front.json of the local (one-process) run of [`ARGS`], computed once.
fn local_front() -> &'static [u8] {
    static FRONT: OnceLock<Vec<u8>> = OnceLock::new();
    FRONT.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("local");
        let mut a = vec!["search", "--out", out.to_str().unwrap()];
        a.extend(ARGS);
        let o = run(&a);
        assert!(o.status.success(), "{}", stderr(&o));
        std::fs::read(out.join("front.json")).unwrap()
    })
}

/// The server's administration URL (a role that may create databases).
fn pg_admin_url() -> String {
    std::env::var("DISTRINAS_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://distrinas:distrinas@127.0.0.1:5432/postgres".into())
}

fn pg_admin() -> postgres::Client {
    let url = pg_admin_url();
    postgres::Client::connect(&url, postgres::NoTls).unwrap_or_else(|e| {
        panic!(
            "the PostgreSQL tests need a server at {url} (DISTRINAS_TEST_POSTGRES): start \
             one with scripts/postgres-test-server.sh, as the README's set-up says: {e}"
        )
    })
}

/// A run's database: a SQLite file, or a fresh PostgreSQL database dropped at the end.
struct Db {
    url: String,
    pg_name: Option<String>,
    _dir: tempfile::TempDir,
}

impl Db {
    fn sqlite() -> Db {
        let dir = tempfile::tempdir().unwrap();
        Db {
            url: format!("sqlite://{}", dir.path().join("run.db").display()),
            pg_name: None,
            _dir: dir,
        }
    }

    fn postgres(test: &str) -> Db {
        let name = format!("distrinas_{test}_{}", std::process::id());
        let mut admin = pg_admin();
        for sql in [
            format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            format!("CREATE DATABASE {name}"),
        ] {
            admin.batch_execute(&sql).unwrap();
        }
        let admin_url = pg_admin_url();
        let base = admin_url.rsplit_once('/').unwrap().0;
        Db {
            url: format!("{base}/{name}"),
            pg_name: Some(name),
            _dir: tempfile::tempdir().unwrap(),
        }
    }

    /// The run folder.
    fn out(&self) -> PathBuf {
        self._dir.path().join("run")
    }

    /// Takes the PostgreSQL database away (`allow`: false; its sessions are ended) or
    /// brings it back.
    fn allow_connections(&self, allow: bool) {
        let name = self.pg_name.as_deref().unwrap();
        let mut admin = pg_admin();
        admin
            .batch_execute(&format!(
                "ALTER DATABASE {name} WITH ALLOW_CONNECTIONS {allow}"
            ))
            .unwrap();
        if !allow {
            admin
                .execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
                    &[&name],
                )
                .unwrap();
        }
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Some(name) = &self.pg_name {
            if let Ok(mut admin) = postgres::Client::connect(&pg_admin_url(), postgres::NoTls) {
                let _ =
                    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_distrinas"))
        .args(args)
        .current_dir(root())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn worker(url: &str, extra: &[&str]) -> Child {
    let mut a = vec![
        "worker",
        "--storage",
        url,
        "--threads",
        "1",
        "--lease-seconds",
        "2",
    ];
    a.extend(extra);
    spawn(&a)
}

fn coordinator(url: &str, out: &Path, extra: &[&str]) -> Child {
    let mut a = vec!["search", "--out", out.to_str().unwrap(), "--storage", url];
    a.extend(ARGS);
    a.extend(extra);
    spawn(&a)
}

fn wait_ok(c: Child) {
    let o = c.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Waits until `cond` holds (or fails after a minute).
fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let t = Instant::now();
    while !cond() {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn kill9(pid: u32) {
    assert!(Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap()
        .success());
}

/// The lease protocol, by hand: order, expiry, one result per key, and disjoint leases
/// for concurrent workers.
fn lease_protocol(db: &Db) {
    let s = Storage::open(&db.url).unwrap();
    assert_eq!(s.run().unwrap(), None);
    let spec = RunSpec {
        scenario_file: None,
        fingerprint: "f".into(),
        seed: 3,
        max_cuts: 2,
        weights_dir: PathBuf::from("/w"),
    };
    s.register(&spec).unwrap();
    assert_eq!(s.run().unwrap(), Some((spec, false)));
    let tasks: Vec<(String, String)> = (0..3).map(|i| (format!("k{i}"), format!("g{i}"))).collect();
    s.enqueue(&tasks).unwrap();
    s.enqueue(&tasks[..1]).unwrap(); // queued twice: once
    let long = Duration::from_secs(60);
    let a = s.lease("a", 2, long).unwrap();
    let keys = |l: &[distrinas::evaluate::storage::Lease]| {
        l.iter().map(|l| l.key.clone()).collect::<Vec<_>>()
    };
    assert_eq!(keys(&a), ["k0", "k1"]);
    assert_eq!(a[1].genome, "g1");
    assert_eq!(keys(&s.lease("b", 5, long).unwrap()), ["k2"]);
    assert_eq!(s.counts().unwrap(), (0, 3, 0, 0));
    assert!(s.lease("c", 5, long).unwrap().is_empty(), "all leased");
    // b's heartbeat does not touch a's lease; a's zero-length heartbeat gives k1 up
    s.heartbeat("b", &["k1".into()], Duration::ZERO).unwrap();
    assert!(s.lease("c", 5, long).unwrap().is_empty());
    s.heartbeat("a", &["k1".into()], Duration::ZERO).unwrap();
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(keys(&s.lease("c", 5, long).unwrap()), ["k1"]);
    // both a and c finish k1: one result, the first
    assert!(s.complete("k1", "c", "{\"x\":1}").unwrap());
    assert!(!s.complete("k1", "a", "{\"x\":2}").unwrap());
    assert_eq!(
        s.results(&["k1".into(), "k0".into()]).unwrap(),
        vec![Some("{\"x\":1}".to_string()), None]
    );
    assert_eq!(s.counts().unwrap(), (0, 2, 1, 1));
    let t = s.tasks().unwrap();
    assert_eq!((t[1].state.as_str(), t[1].attempts), ("done", 2));
    assert_eq!(t[1].owner.as_deref(), Some("c"));
    s.finish().unwrap();
    assert!(s.run().unwrap().unwrap().1);
    // 6 workers, each its own connection, lease 300 tasks 7 at a time: each task once
    let many: Vec<(String, String)> = (0..300).map(|i| (format!("m{i:03}"), "g".into())).collect();
    s.enqueue(&many).unwrap();
    let leased: Vec<Vec<String>> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..6)
            .map(|w| {
                let url = db.url.clone();
                sc.spawn(move || {
                    let s = Storage::open(&url).unwrap();
                    let mut got = Vec::new();
                    loop {
                        let l = s.lease(&format!("w{w}"), 7, long).unwrap();
                        if l.is_empty() {
                            break got;
                        }
                        got.extend(l.into_iter().map(|l| l.key));
                    }
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let all: Vec<&String> = leased.iter().flatten().collect();
    let distinct: HashSet<&String> = all.iter().copied().collect();
    assert_eq!(all.len(), 300, "every task leased once");
    assert_eq!(distinct.len(), 300);
}

#[test]
fn sqlite_lease_protocol() {
    lease_protocol(&Db::sqlite());
}

#[test]
fn postgres_lease_protocol() {
    lease_protocol(&Db::postgres("protocol"));
}

fn two_workers_give_the_local_front(db: &Db) {
    let workers = [worker(&db.url, &[]), worker(&db.url, &[])];
    let out = db.out();
    wait_ok(coordinator(&db.url, &out, &["--workers", "external"]));
    for w in workers {
        wait_ok(w); // the workers exit once the run is finished
    }
    assert!(std::fs::read(out.join("front.json")).unwrap() == local_front());
    // every task finished once, by a worker
    let s = Storage::open(&db.url).unwrap();
    let tasks = s.tasks().unwrap();
    assert!(!tasks.is_empty());
    assert!(tasks
        .iter()
        .all(|t| t.state == "done" && t.owner.as_deref().unwrap().starts_with("worker-")));
    let (q, l, d, r) = s.counts().unwrap();
    assert_eq!((q, l, d), (0, 0, r));
}

#[test]
fn sqlite_two_workers_give_the_local_front() {
    two_workers_give_the_local_front(&Db::sqlite());
}

#[test]
fn postgres_two_workers_give_the_local_front() {
    two_workers_give_the_local_front(&Db::postgres("two_workers"));
}

fn killed_workers_and_coordinator_lose_nothing(db: &Db) {
    let out = db.out();
    let external = ["--workers", "external"];
    let mut workers: Vec<Child> = (0..4).map(|_| worker(&db.url, &[])).collect();
    let c = coordinator(&db.url, &out, &external);
    let s = Storage::open(&db.url).unwrap();
    // SIGKILL a worker that holds a lease (mid-evaluation)
    let mut victim = None;
    wait_for("a leased task", || {
        let tasks = s.tasks().unwrap_or_default();
        victim = tasks.iter().find(|t| t.state == "leased").and_then(|t| {
            let pid: u32 = t.owner.as_deref()?.rsplit('-').next()?.parse().ok()?;
            workers.iter().position(|w| w.id() == pid)
        });
        victim.is_some()
    });
    let v = workers.remove(victim.unwrap());
    kill9(v.id());
    let _ = v.wait_with_output();
    // then SIGKILL the coordinator once a generation is checkpointed
    wait_for("a checkpoint", || out.join("checkpoint.json").exists());
    kill9(c.id());
    let _ = c.wait_with_output();
    // resume the coordinator: it finishes with the local front
    wait_ok(coordinator(
        &db.url,
        &out,
        &["--workers", "external", "--resume"],
    ));
    for w in workers {
        wait_ok(w);
    }
    assert!(std::fs::read(out.join("front.json")).unwrap() == local_front());
    let tasks = s.tasks().unwrap();
    assert!(tasks.iter().all(|t| t.state == "done"));
    assert!(
        tasks.iter().any(|t| t.attempts >= 2),
        "the killed worker's task was leased again"
    );
    let (_, _, done, results) = s.counts().unwrap();
    assert_eq!(done, results, "one result per task");
}

#[test]
fn sqlite_killed_workers_and_coordinator_lose_nothing() {
    killed_workers_and_coordinator_lose_nothing(&Db::sqlite());
}

#[test]
fn postgres_killed_workers_and_coordinator_lose_nothing() {
    killed_workers_and_coordinator_lose_nothing(&Db::postgres("kill"));
}

/// The database goes away after the first generation: the coordinator and the worker
/// wait it out for their timeout, then stop with a clear error; the coordinator's
/// checkpoint resumes, once the database is back, to the local run's front.
#[test]
fn postgres_going_away_stops_the_run_resumably() {
    let db = Db::postgres("gone");
    let out = db.out();
    let timeout = ["--storage-timeout", "1"];
    let w = worker(&db.url, &timeout);
    let c = coordinator(&db.url, &out, &timeout);
    wait_for("a checkpoint", || out.join("checkpoint.json").exists());
    db.allow_connections(false);
    let o = c.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "the run went on without its storage");
    assert!(
        err.contains("run the same command with --resume")
            && err.contains("still failing after 1 s of retries")
            && err.contains("distrinas:***@")
            && !err.contains("panicked"),
        "{err}"
    );
    assert!(!out.join("front.json").exists());
    let w = w.wait_with_output().unwrap();
    let werr = String::from_utf8_lossy(&w.stderr);
    assert!(
        !w.status.success() && werr.contains("storage postgres://") && !werr.contains("panicked"),
        "{werr}"
    );
    // back: resumes from the checkpoint to the uninterrupted front
    db.allow_connections(true);
    wait_ok(coordinator(&db.url, &out, &["--resume"]));
    assert!(std::fs::read(out.join("front.json")).unwrap() == local_front());
}

/// A restart-length outage (2 s, under the timeout) is waited out: coordinator and
/// worker reconnect, and the run ends as if nothing happened.
#[test]
fn postgres_short_outage_is_waited_out() {
    let db = Db::postgres("outage");
    let out = db.out();
    let w = worker(&db.url, &[]);
    let c = coordinator(&db.url, &out, &["--workers", "external"]);
    wait_for("a checkpoint", || out.join("checkpoint.json").exists());
    db.allow_connections(false);
    std::thread::sleep(Duration::from_secs(2));
    db.allow_connections(true);
    wait_ok(c);
    wait_ok(w);
    assert!(std::fs::read(out.join("front.json")).unwrap() == local_front());
}

#[test]
fn a_worker_refuses_a_changed_scenario() {
    let db = Db::sqlite();
    let file = root().join("scenarios/quickstart.ron");
    let text = std::fs::read_to_string(&file).unwrap();
    let s = Storage::open(&db.url).unwrap();
    let mut spec = RunSpec {
        scenario_file: Some(file.clone()),
        fingerprint: fingerprint(&text),
        seed: 1,
        max_cuts: 2,
        weights_dir: db._dir.path().join("w"),
    };
    s.register(&spec).unwrap();
    s.finish().unwrap();
    // the same file: the worker starts, finds nothing to do and exits
    let o = run(&["worker", "--storage", &db.url]);
    assert!(o.status.success(), "{}", stderr(&o));
    // the file changed since the coordinator registered the run (a worker sees the
    // file as it is now; the storage keeps the coordinator's fingerprint)
    spec.fingerprint = fingerprint(&format!("{text}\n"));
    s.register(&spec).unwrap();
    s.finish().unwrap();
    let o = run(&["worker", "--storage", &db.url]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("differs from the one its coordinator runs"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn bad_storage_urls_are_refused() {
    let o = run(&["worker", "--storage", "mysql://x/y"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("expected sqlite:///absolute/path.db")
            && stderr(&o).contains("postgres://"),
        "{}",
        stderr(&o)
    );
    // a wrong password: refused at once, and not printed
    let url = pg_admin_url().replace("distrinas:distrinas@", "distrinas:wrong-pw@");
    let o = run(&["worker", "--storage", &url]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("cannot connect") && !e.contains("wrong-pw"),
        "{e}"
    );
}

/// A storage holds one run, as a run folder does: another run into it is refused
/// (its results would be taken for the new run's), `--resume` continues only the run it
/// holds, and `--force` empties it.
#[test]
fn a_storage_holds_one_run() {
    let db = Db::sqlite();
    let search = |out: &str, extra: &[&str]| {
        let out = db.out().join(out);
        let mut a = vec![
            "search",
            "scenarios/quickstart.ron",
            "--out",
            out.to_str().unwrap(),
            "--storage",
            &db.url,
            "--population",
            "4",
            "--generations",
            "1",
            "--final-epochs",
            "0",
        ];
        a.extend(extra);
        let a: Vec<String> = a.into_iter().map(String::from).collect();
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        run(&refs)
    };
    let o = search("a", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = search("b", &[]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("it holds a run already"),
        "{}",
        stderr(&o)
    );
    let o = search("b", &["--seed", "2", "--force"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // run a's folder resumes, but the storage now holds run b
    let o = search("a", &["--resume"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("it holds another run"),
        "{}",
        stderr(&o)
    );
    let s = Storage::open(&db.url).unwrap();
    let (spec, finished) = s.run().unwrap().unwrap();
    assert_eq!((spec.seed, finished), (2, true));
    assert!(spec.weights_dir.ends_with("run/b/.weights"));
    assert!(s.tasks().unwrap().len() <= 4, "only run b's evaluations");
}

/// A worker stops serving when another run replaces its run in the storage (`search
/// --force` while it runs): the new run's tasks are not its problem's.
#[test]
fn a_worker_stops_when_its_run_is_replaced() {
    use distrinas::evaluate::workers::{serve, TaskEvaluator};
    struct Echo;
    impl TaskEvaluator for Echo {
        fn evaluate_task(&self, _key: &str, genome: &str) -> Result<String, String> {
            Ok(genome.to_string())
        }
    }
    let db = Db::sqlite();
    let s = Storage::open(&db.url).unwrap();
    let spec = |seed| RunSpec {
        scenario_file: None,
        fingerprint: "f".into(),
        seed,
        max_cuts: 1,
        weights_dir: PathBuf::from("/w"),
    };
    s.register(&spec(1)).unwrap();
    s.enqueue(&[("a".into(), "ga".into())]).unwrap();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let r = std::thread::scope(|sc| {
        let h = sc.spawn(|| serve(&s, &Echo, 1, Duration::from_secs(30), &stop));
        wait_for("task a done", || {
            s.results(&["a".into()]).unwrap()[0].is_some()
        });
        s.reset().unwrap();
        s.register(&spec(2)).unwrap();
        s.enqueue(&[("b".into(), "gb".into())]).unwrap();
        h.join().unwrap()
    });
    let e = r.unwrap_err().to_string();
    assert!(e.contains("another run started in this storage"), "{e}");
    assert_eq!(
        s.results(&["b".into()]).unwrap(),
        vec![None],
        "b left to the new run's workers"
    );
}
