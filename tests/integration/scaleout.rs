//! Scaled-out searches (`search --storage sqlite://…`, `distrinas worker`): the front
//! is the same bytes as a local run's with 2 workers, when a worker is killed with
//! SIGKILL mid-evaluation, and when the coordinator is killed and resumed
//! (docs/scale-out.md).

use super::cli_support::{root, run, stderr};
use distrinas::evaluate::storage::Storage;
use std::path::Path;
use std::process::{Child, Command, Stdio};
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

fn local_front(dir: &Path) -> Vec<u8> {
    let out = dir.join("local");
    let mut a = vec!["search", "--out", out.to_str().unwrap()];
    a.extend(ARGS);
    let o = run(&a);
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::read(out.join("front.json")).unwrap()
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

fn worker(url: &str) -> Child {
    spawn(&[
        "worker",
        "--storage",
        url,
        "--threads",
        "1",
        "--lease-seconds",
        "2",
    ])
}

fn coordinator(url: &str, out: &Path, resume: bool) -> Child {
    let mut a = vec![
        "search",
        "--out",
        out.to_str().unwrap(),
        "--storage",
        url,
        "--workers",
        "external",
    ];
    a.extend(ARGS);
    if resume {
        a.push("--resume");
    }
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

#[test]
fn two_workers_give_the_local_front() {
    let dir = tempfile::tempdir().unwrap();
    let local = local_front(dir.path());
    let url = format!("sqlite://{}", dir.path().join("run.db").display());
    let workers = [worker(&url), worker(&url)];
    let out = dir.path().join("remote");
    wait_ok(coordinator(&url, &out, false));
    for w in workers {
        wait_ok(w); // the workers exit once the run is finished
    }
    assert!(std::fs::read(out.join("front.json")).unwrap() == local);
    // every task finished once, by a worker
    let s = Storage::open(&url).unwrap();
    let tasks = s.tasks().unwrap();
    assert!(!tasks.is_empty());
    assert!(tasks
        .iter()
        .all(|t| t.state == "done" && t.owner.as_deref().unwrap().starts_with("worker-")));
    let (q, l, d, r) = s.counts().unwrap();
    assert_eq!((q, l, d), (0, 0, r));
}

#[test]
fn killed_workers_and_coordinator_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let local = local_front(dir.path());
    let url = format!("sqlite://{}", dir.path().join("run.db").display());
    let out = dir.path().join("remote");
    let mut workers: Vec<Child> = (0..4).map(|_| worker(&url)).collect();
    let c = coordinator(&url, &out, false);
    let db = Storage::open(&url).unwrap();
    // SIGKILL a worker that holds a lease (mid-evaluation)
    let mut victim = None;
    wait_for("a leased task", || {
        let tasks = db.tasks().unwrap_or_default();
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
    wait_ok(coordinator(&url, &out, true));
    for w in workers {
        wait_ok(w);
    }
    assert!(std::fs::read(out.join("front.json")).unwrap() == local);
    let tasks = db.tasks().unwrap();
    assert!(tasks.iter().all(|t| t.state == "done"));
    assert!(
        tasks.iter().any(|t| t.attempts >= 2),
        "the killed worker's task was leased again"
    );
    let (_, _, done, results) = db.counts().unwrap();
    assert_eq!(done, results, "one result per task");
}

#[test]
fn a_bad_storage_url_is_refused() {
    let o = run(&["worker", "--storage", "postgres://x"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("expected sqlite:///absolute/path.db"),
        "{}",
        stderr(&o)
    );
}
