//! Integration tests: the integrated search end to end through the real binary on a
//! tiny scenario (seconds): outputs, determinism across thread counts, resume.

use crate::cli_support::{repo, run, stderr, stdout};
use std::path::Path;

const TINY: &str = "tests/fixtures/integrated/tiny.ron";

fn search(out: &Path, extra: &[&str]) -> serde_json::Value {
    let out_s = out.display().to_string();
    let mut args = vec!["search", TINY, "--out", &out_s, "--json"];
    args.extend_from_slice(extra);
    let o = run(&args);
    assert!(o.status.success(), "search failed: {}", stderr(&o));
    serde_json::from_str(&stdout(&o)).expect("search --json prints one JSON object")
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn search_end_to_end_writes_every_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let v = search(&out, &["--threads", "2"]);
    for key in [
        "front",
        "hypervolume",
        "generations",
        "evaluations",
        "out_dir",
    ] {
        assert!(v.get(key).is_some(), "missing key {key} in {v}");
    }
    assert_eq!(v["generations"], 4);
    assert_eq!(v["evaluations"], 24);
    let front = v["front"].as_array().unwrap();
    assert!(!front.is_empty());
    let names = ["ValLoss", "LatencyP95", "ExchangedBytes"];
    for m in front {
        for n in names {
            assert!(m["objectives"][n].as_f64().unwrap().is_finite(), "{m}");
        }
        assert!(m["feasible"].is_boolean());
        assert!(!m["partitions"].as_array().unwrap().is_empty());
        assert_eq!(
            m["map"].as_array().unwrap().len(),
            m["cuts"].as_array().unwrap().len() + 1
        );
    }
    assert!(v["hypervolume"].as_f64().unwrap() > 0.0);
    for f in [
        "front.json",
        "front.csv",
        "history.csv",
        "history.json",
        "report.md",
        "run.json",
        "plots/convergence.svg",
        "plots/knee_devices.svg",
        "plots/front_LatencyP95_vs_ValLoss.svg",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    // front.json on disk = the JSON printed, without out_dir/elapsed_s.
    let disk: serde_json::Value = serde_json::from_str(&read(&out.join("front.json"))).unwrap();
    assert_eq!(disk["front"], v["front"]);
    // Best-so-far HV never decreases and bounds the archive's HV (the archive's
    // feasible members are among the points seen); one row per generation.
    let hist = read(&out.join("history.csv"));
    assert!(hist.starts_with(
        "generation,evaluations,elapsed_s,archive_hv,best_hv,front_size,trained,predicted,rank_correlation\n"
    ));
    // without a surrogate nothing is predicted, and trainings only accumulate
    let trained: Vec<u64> = hist
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(6).unwrap().parse().unwrap())
        .collect();
    assert!(trained.windows(2).all(|w| w[0] <= w[1]), "{hist}");
    assert!(hist.lines().skip(1).all(|l| l.ends_with(",0,")), "{hist}");
    let col = |i: usize| -> Vec<f64> {
        hist.lines()
            .skip(1)
            .map(|l| l.split(',').nth(i).unwrap().parse().unwrap())
            .collect()
    };
    let (archive, best) = (col(3), col(4));
    assert_eq!(best.len(), 4);
    assert!(best.windows(2).all(|w| w[1] >= w[0]), "{hist}");
    assert!(
        archive.iter().zip(&best).all(|(a, b)| *a <= b + 1e-12),
        "{hist}"
    );
    assert!((best[3] - v["hypervolume"].as_f64().unwrap()).abs() < 1e-9);
    // Every front member has a candidate file loadable as a Candidate, and trained
    // weights when it was trained.
    for m in front {
        let id = m["id"].as_str().unwrap();
        let c = read(&out.join(format!("candidates/{id}.ron")));
        let cand: distrinas::partition::Candidate = ron::from_str(&c).unwrap();
        assert_eq!(cand.map.len(), cand.cuts.len() + 1);
        if m["test_accuracy"].is_number() {
            assert!(out.join(format!("candidates/{id}.weights")).is_file());
        }
    }
    // `report DIR` is byte-stable: it rewrites every output exactly as `search` wrote
    // it (a deleted plot included), and again on a second call.
    let outputs = |out: &Path| -> Vec<(String, Vec<u8>)> {
        let mut files = Vec::new();
        for sub in ["", "plots", "plots/placement"] {
            for e in std::fs::read_dir(out.join(sub)).unwrap() {
                let p = e.unwrap().path();
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                let kept = name.ends_with(".svg")
                    || [
                        "front.json",
                        "front.csv",
                        "history.json",
                        "history.csv",
                        "report.md",
                        "report.html",
                        "run.json",
                    ]
                    .contains(&name.as_str());
                if p.is_file() && kept {
                    files.push((format!("{sub}/{name}"), std::fs::read(&p).unwrap()));
                }
            }
        }
        files.sort();
        files
    };
    let before = outputs(&out);
    assert!(
        before.len() >= 10,
        "{:?}",
        before.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    std::fs::remove_file(out.join("plots/convergence.svg")).unwrap();
    for _ in 0..2 {
        let o = run(&["report", &out.display().to_string()]);
        assert!(o.status.success(), "{}", stderr(&o));
        let after = outputs(&out);
        assert_eq!(after.len(), before.len());
        for (a, b) in after.iter().zip(&before) {
            assert!(a == b, "report rewrote {} differently", a.0);
        }
    }
}

#[test]
fn same_seed_same_front_with_one_and_two_threads() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("t1"), dir.path().join("t2"));
    search(&a, &["--threads", "1", "--seed", "3"]);
    search(&b, &["--threads", "2", "--seed", "3"]);
    assert_eq!(read(&a.join("front.json")), read(&b.join("front.json")));
}

#[test]
fn resumed_run_gives_the_uninterrupted_front() {
    let dir = tempfile::tempdir().unwrap();
    let (full, cut) = (dir.path().join("full"), dir.path().join("cut"));
    search(&full, &["--generations", "5"]);
    // An interrupted run: it stopped after its 3rd generation's checkpoint.
    search(&cut, &["--generations", "3"]);
    search(&cut, &["--generations", "5", "--resume"]);
    assert_eq!(
        read(&full.join("front.json")),
        read(&cut.join("front.json"))
    );
    let hist = read(&cut.join("history.csv"));
    assert_eq!(hist.lines().count(), 6, "{hist}");
}

#[test]
fn compare_two_runs() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    search(&a, &["--algorithm", "spea2"]);
    search(&b, &["--algorithm", "random"]);
    let out = dir.path().join("cmp");
    let o = run(&[
        "compare",
        &a.display().to_string(),
        &b.display().to_string(),
        "--out",
        &out.display().to_string(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let c: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let runs = c["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[1]["algorithm"], "random");
    for r in runs {
        let hv = r["hypervolume"].as_f64().unwrap();
        assert!(hv > 0.0 && hv <= 1.1f64.powi(3) + 1e-12, "{r}");
    }
    assert!(out.join("convergence.svg").is_file());
    let _ = repo(TINY);
}

/// With no feasible candidate, the front lists the least-violating ones (at most 5),
/// each once, marked infeasible. (The archive copies that once listed a candidate twice
/// were seen on another scenario; this one, seeds 1–15, does not produce them, so this
/// test covers the infeasible path, not that regression.)
#[test]
fn infeasible_run_lists_each_least_violating_candidate_once() {
    let dir = tempfile::tempdir().unwrap();
    // The tiny scenario with a latency requirement (10 µs) no candidate can meet.
    let data = repo("data").display().to_string();
    let scenario = read(&repo(TINY))
        .replace("max_latency_ms: 500.0", "max_latency_ms: 0.01")
        .replace("../../../data", &data);
    assert!(scenario.contains("max_latency_ms: 0.01"));
    let path = dir.path().join("infeasible.ron");
    std::fs::write(&path, scenario).unwrap();
    let path = path.display().to_string();
    let out = dir.path().join("run").display().to_string();
    let o = run(&[
        "search",
        &path,
        "--out",
        &out,
        "--json",
        "--final-epochs",
        "0",
    ]);
    assert!(o.status.success(), "search failed: {}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let front = v["front"].as_array().unwrap();
    assert!((1..=5).contains(&front.len()), "{} members", front.len());
    let mut ids: Vec<&str> = front.iter().map(|m| m["id"].as_str().unwrap()).collect();
    for m in front {
        assert_eq!(m["feasible"], false, "{m}");
    }
    ids.sort_unstable();
    let n = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), n, "a candidate is listed twice: {front:?}");
}

/// Issue 13: a run folder cannot be lost or mixed. A second search into it is refused
/// unless `--resume` or `--force`; a live lock keeps a search out, a stale one is taken
/// over; `--resume` after the scenario changed (objectives — which made SPEA2 index out
/// of bounds — or a device field) is refused with the first difference.
#[test]
fn run_folders_are_refused_locked_and_fingerprinted() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let out_s = out.display().to_string();
    let attempt = |scenario: &str, extra: &[&str]| {
        let mut args = vec!["search", scenario, "--out", &out_s];
        args.extend_from_slice(extra);
        if !extra.contains(&"--generations") {
            args.extend(["--generations", "2"]);
        }
        run(&args)
    };
    let first = attempt(TINY, &[]);
    assert!(first.status.success(), "{}", stderr(&first));
    let front = read(&out.join("front.json"));
    assert!(
        !out.join(".lock").exists(),
        "the lock is released at the end"
    );

    // overwriting is refused, and the run is untouched
    let o = attempt(TINY, &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains(
            "already holds a run (checkpoint.json); --resume continues it, --force replaces it"
        ),
        "{}",
        stderr(&o)
    );
    assert_eq!(read(&out.join("front.json")), front);

    // a live process's lock (this test's) keeps the search out
    std::fs::write(out.join(".lock"), format!("{}\n", std::process::id())).unwrap();
    let o = attempt(TINY, &["--resume"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains(&format!(
            "another search (process {}) is writing this run folder",
            std::process::id()
        )),
        "{}",
        stderr(&o)
    );
    // a dead one's (pids never reach 2^31 - 1 on Linux) is taken over
    std::fs::write(out.join(".lock"), "2147483646\n").unwrap();
    // a stale member file of an earlier front goes; a user's note stays
    let (stale, note) = (
        out.join("candidates/c0000000000000000.ron"),
        out.join("candidates/notes.txt"),
    );
    std::fs::write(&stale, "Candidate()").unwrap();
    std::fs::write(&note, "mine").unwrap();
    let o = attempt(TINY, &["--resume", "--generations", "3"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stale.exists() && note.exists());

    // the scenario changes: --resume names the first difference
    let text = read(&repo(TINY));
    for (from, to, section) in [
        (
            "objectives: [",
            "objectives: [EnergyPerInference, ",
            "objectives",
        ),
        ("seed:", "seed: 1, //", "run settings"),
    ] {
        assert!(text.contains(from), "{from}");
        let changed = dir.path().join("changed.ron");
        let t = text
            .replacen(from, to, 1)
            .replace("\"../../../", &format!("\"{}/", repo("").display()));
        std::fs::write(&changed, t).unwrap();
        let o = attempt(
            changed.to_str().unwrap(),
            &["--resume", "--generations", "4"],
        );
        assert_eq!(o.status.code(), Some(1), "{section}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(&format!("cannot --resume: the {section}")),
            "{section}: {}",
            stderr(&o)
        );
    }

    // --force replaces the run: the same front as the first run
    let o = attempt(TINY, &["--force"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(read(&out.join("front.json")), front);
}

/// SIGTERM during the final training stops the search at the next epoch with its
/// checkpoint; `--resume` then runs the final training and gives the front an
/// uninterrupted run gives.
#[cfg(unix)]
#[test]
fn sigterm_in_the_final_training_stops_cleanly_and_resumes() {
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let out_s = out.display().to_string();
    // 2 generations, then a final training far too long to finish before the signal
    let child = Command::new(env!("CARGO_BIN_EXE_distrinas"))
        .args(["search", TINY, "--out", &out_s, "--generations", "2"])
        .args(["--final-epochs", "100000", "--threads", "1"])
        .current_dir(repo(""))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    // history.json holds generation 1 (the last) once the final training has begun
    loop {
        let done = std::fs::read_to_string(out.join("history.json"))
            .ok()
            .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
            .and_then(|v| v.as_array().map(|a| a.iter().any(|r| r["generation"] == 1)))
            .unwrap_or(false);
        if done {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the search never reached its last generation"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: sends a signal to our own child process, whose pid we hold.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let signalled = Instant::now();
    let o = child.wait_with_output().unwrap();
    assert!(
        signalled.elapsed() < Duration::from_secs(5),
        "the final training did not stop at its next epoch"
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("stopping after"), "{}", stderr(&o));
    let run_json: serde_json::Value = serde_json::from_str(&read(&out.join("run.json"))).unwrap();
    assert_eq!(run_json["interrupted"], true);
    let front: serde_json::Value = serde_json::from_str(&read(&out.join("front.json"))).unwrap();
    let members = front["front"].as_array().unwrap();
    assert!(!members.is_empty());
    assert!(
        members.iter().all(|m| m["test_accuracy"].is_null()),
        "an interrupted final training reports no test figures"
    );

    // --resume runs the final training (with a reasonable epoch count now)
    let resumed = search(&out, &["--resume", "--generations", "2"]);
    let fresh = search(&dir.path().join("fresh"), &["--generations", "2"]);
    assert!(resumed["front"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["test_accuracy"].is_number()));
    assert_eq!(resumed["front"], fresh["front"]);
}

/// A deleted or damaged weight store is detected on `--resume`: the trained candidates
/// are trained again (same seeds and parents), so children inherit the same weights and
/// the front is the uninterrupted run's.
#[test]
fn missing_or_damaged_weights_are_retrained_on_resume() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    search(&out, &["--generations", "2", "--final-epochs", "0"]);
    let store = out.join(".weights");
    let mut files: Vec<_> = std::fs::read_dir(&store)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 4, "{files:?}");
    // half deleted, the other half with one weight byte flipped
    for (i, f) in files.iter().enumerate() {
        if i % 2 == 0 {
            std::fs::remove_file(f).unwrap();
        } else {
            let mut b = std::fs::read(f).unwrap();
            let mid = b.len() - 50;
            b[mid] ^= 0x10;
            std::fs::write(f, b).unwrap();
        }
    }
    let out_s = out.display().to_string();
    let o = run(&[
        "search",
        TINY,
        "--out",
        &out_s,
        "--json",
        "--resume",
        "--generations",
        "4",
        "--final-epochs",
        "0",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!(
            "note: {} trained candidate(s) had missing or damaged weights",
            files.len()
        )),
        "{}",
        stderr(&o)
    );
    let resumed: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let fresh = search(
        &dir.path().join("fresh"),
        &["--generations", "4", "--final-epochs", "0"],
    );
    assert_eq!(resumed["front"], fresh["front"]);
}

/// Off a terminal (the test's pipe), `search` prints plain progress lines on stderr,
/// at least the first and the last generation's.
#[test]
fn progress_is_printed_off_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run").display().to_string();
    let o = run(&["search", TINY, "--out", &out, "--generations", "3"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("gen ")).collect();
    assert!(
        lines
            .first()
            .is_some_and(|l| l.starts_with("gen 1/3: 6 evals")),
        "{lines:?}"
    );
    assert!(
        lines
            .last()
            .is_some_and(|l| l.starts_with("gen 3/3: 18 evals")),
        "{lines:?}"
    );
    // both hypervolumes, labelled; the archive's feasible members lie in the region the
    // best-so-far front dominates, so its HV can never exceed the best-so-far one
    for l in &lines {
        let num = |after: &str| -> f64 {
            let t = l.split(after).nth(1).unwrap_or_else(|| panic!("{l}"));
            t[..t.find([' ', ')']).unwrap()].parse().unwrap()
        };
        let (best, archive) = (num("HV best-so-far "), num("(archive "));
        assert!(archive <= best + 1e-9, "{l}");
    }
}

/// The surrogate on (`tiny-surrogate.ron`): it predicts some candidates instead of
/// training them; the front holds only trained ones (each has a final test accuracy);
/// one and two threads give the same bytes, and so does a run stopped and resumed
/// (the surrogate's samples travel in the checkpoint).
#[test]
fn surrogate_runs_are_deterministic_and_fronts_are_trained() {
    const SUR: &str = "tests/fixtures/integrated/tiny-surrogate.ron";
    let dir = tempfile::tempdir().unwrap();
    let go = |out: &Path, extra: &[&str]| {
        let out_s = out.display().to_string();
        let mut args = vec!["search", SUR, "--out", &out_s, "--json"];
        args.extend_from_slice(extra);
        let o = run(&args);
        assert!(o.status.success(), "search failed: {}", stderr(&o));
        serde_json::from_str::<serde_json::Value>(&stdout(&o)).unwrap()
    };
    let (a, b, c) = (
        dir.path().join("t1"),
        dir.path().join("t2"),
        dir.path().join("cut"),
    );
    let v = go(&a, &["--threads", "1"]);
    go(&b, &["--threads", "2"]);
    assert_eq!(read(&a.join("front.json")), read(&b.join("front.json")));
    go(&c, &["--generations", "7", "--threads", "2"]);
    go(&c, &["--resume", "--threads", "2"]);
    assert_eq!(read(&a.join("front.json")), read(&c.join("front.json")));

    let ladder = &v["ladder"];
    let n = |k: &str| ladder[k].as_u64().unwrap();
    assert!(n("predicted") > 0, "the surrogate never decided: {ladder}");
    // every simulated candidate was trained, took its parent's network, or was predicted
    assert_eq!(
        n("simulated") + n("promoted"),
        n("trained") + n("inherited") + n("predicted"),
        "{ladder}"
    );
    assert_eq!(n("costed"), n("simulated") + n("invalid") + n("skipped"));
    for m in v["front"].as_array().unwrap() {
        assert!(m["test_accuracy"].is_number(), "untrained front member {m}");
        // the ladder's simulation budget: 20 of the workload's 50 requests
        let rec = read(&a.join(format!(
            "candidates/{}.search.json",
            m["id"].as_str().unwrap()
        )));
        let rec: serde_json::Value = serde_json::from_str(&rec).unwrap();
        assert_eq!(rec["figures"]["requests"], 20, "{rec}");
    }
    // both reports show the ladder
    let md = read(&a.join("report.md"));
    let row = format!(
        "| predicted by the surrogate, not trained | {} |",
        n("predicted") - n("promoted")
    );
    assert!(md.contains(&row), "{md}");
    assert!(read(&a.join("report.html")).contains("<h2>Fidelity ladder</h2>"));
    // history.csv logs the rank correlation once the surrogate has one
    let hist = read(&a.join("history.csv"));
    assert!(hist
        .lines()
        .next()
        .unwrap()
        .ends_with(",trained,predicted,rank_correlation"));
    let last: Vec<&str> = hist.lines().last().unwrap().split(',').collect();
    let rho: f64 = last[8]
        .parse()
        .expect("a rank correlation in the last generation");
    assert!((-1.0..=1.0).contains(&rho));
    assert_eq!(last[7].parse::<u64>().unwrap(), n("predicted"));
}
