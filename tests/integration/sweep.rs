//! What-if sweeps from the CLI: a grid point is the `--set` replay at that value, the
//! output does not depend on the thread count, and a 2-D grid has every combination.

use crate::cli_support::{repo, run, stderr, stdout};
use serde_json::Value;
use std::process::Command;

const SCENARIO: &str = "scenarios/camera-mnist.ron";

fn json(o: &std::process::Output) -> Value {
    assert!(o.status.success(), "{}", stderr(o));
    serde_json::from_str(stdout(o).trim()).expect("one JSON object")
}

#[test]
fn a_sweep_point_is_the_set_replay_at_that_value() {
    let out = tempfile::tempdir().unwrap();
    let (front, whole) = (
        repo("models/candidates/camera-front.ron"),
        repo("models/candidates/camera-whole.ron"),
    );
    let o = run(&[
        "simulate",
        SCENARIO,
        "--candidate",
        front.to_str().unwrap(),
        "--candidate",
        whole.to_str().unwrap(),
        "--sweep",
        "links.cam-h1.bandwidth_bps=100000..300000:3",
        "--out",
        out.path().to_str().unwrap(),
        "--json",
    ]);
    let s = json(&o);
    let pts = s["sweep"].as_array().unwrap();
    assert_eq!(pts.len(), 6, "2 candidates × 3 values");
    for p in pts {
        let value = p["value"].as_f64().unwrap();
        let single = json(&run(&[
            "simulate",
            SCENARIO,
            "--candidate",
            p["candidate"].as_str().unwrap(),
            "--set",
            &format!("links.cam-h1.bandwidth_bps={value}"),
            "--json",
        ]));
        let same = |a: &Value, b: &Value| assert_eq!(a.to_string(), b.to_string(), "{p}");
        same(&p["latency_p95_ms"], &single["latency_ms"]["p95"]);
        same(&p["latency_mean_ms"], &single["latency_ms"]["mean"]);
        same(
            &p["energy_mj_per_inference"],
            &single["energy_mj_per_inference"],
        );
        same(&p["deadline_misses"], &single["deadline_misses"]);
        let frac = single["completed"].as_f64().unwrap() / single["requests"].as_f64().unwrap();
        same(&p["completed_fraction"], &Value::from(frac));
    }
    // the whole network on the camera sends only its 10 logits: the camera link's
    // bandwidth changes nothing; the front partition's cut tensor crosses it, so a
    // slower link means a longer latency
    let by = |c: &str| -> Vec<f64> {
        pts.iter()
            .filter(|p| p["candidate"].as_str().unwrap().ends_with(c))
            .map(|p| p["latency_p95_ms"].as_f64().unwrap())
            .collect()
    };
    let (f, w) = (by("camera-front.ron"), by("camera-whole.ron"));
    assert!(f[0] > f[1] && f[1] > f[2], "{f:?}");
    assert!(w[0] == w[1] && w[1] == w[2], "{w:?}");
    for name in ["sweep.json", "sweep.csv", "sweep.svg"] {
        assert!(out.path().join(name).is_file(), "{name}");
    }
    let csv = std::fs::read_to_string(out.path().join("sweep.csv")).unwrap();
    assert!(csv.starts_with("candidate,links.cam-h1.bandwidth_bps,latency_p95_ms,"));
    assert_eq!(csv.lines().count(), 7);
}

#[test]
fn a_two_d_sweep_is_the_same_with_one_and_two_threads() {
    let out = tempfile::tempdir().unwrap();
    let front = repo("models/candidates/camera-front.ron");
    let go = |threads: &str| {
        let o = Command::new(env!("CARGO_BIN_EXE_distrinas"))
            .args([
                "simulate",
                SCENARIO,
                "--candidate",
                front.to_str().unwrap(),
                "--sweep",
                "links.cam-h1.bandwidth_bps=3e4..3e5:3",
                "--sweep",
                "workload.arrivals.period_ms=25..200:4",
                "--log",
                "--out",
                out.path().to_str().unwrap(),
                "--json",
            ])
            .current_dir(repo(""))
            .env("RAYON_NUM_THREADS", threads)
            .output()
            .unwrap();
        stdout(&o)
    };
    let one = go("1");
    assert_eq!(one, go("2"));
    let s: Value = serde_json::from_str(one.trim()).unwrap();
    let pts = s["sweep"].as_array().unwrap();
    assert_eq!(pts.len(), 12);
    let first: Vec<f64> = pts[0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(first, [3e4, 25.0]);
    // geometric grid: 3e4, 3e4·√10, 3e5 on the first axis
    let mid = pts[4]["values"][0].as_f64().unwrap();
    assert!((mid - 3e4 * 10f64.sqrt()).abs() < 1e-6, "{mid}");
    // arrivals every 25 ms outrun the pipeline (a queue builds up, deadlines are
    // missed); every 50 ms they do not; at 30 kb/s the cut tensor goes round over h2,
    // so the three bandwidths give two latencies
    let p95 = |i: usize| pts[i]["latency_p95_ms"].as_f64().unwrap();
    let misses = |i: usize| pts[i]["deadline_misses"].as_u64().unwrap();
    assert!(p95(0) > 400.0 && misses(0) > 0, "{}", pts[0]);
    assert!(p95(1) < 400.0 && misses(1) == 0, "{}", pts[1]);
    assert_eq!(p95(1), p95(5), "30 kb/s and 95 kb/s both reroute over h2");
    assert!(p95(9) < p95(5), "300 kb/s is the faster direct hop");
}

#[test]
fn bad_sweeps_get_clear_errors() {
    let front = repo("models/candidates/camera-front.ron");
    let f = front.to_str().unwrap();
    for (extra, want) in [
        (
            vec!["--sweep", "links.cam-h1.bandwidth_bps=1..2"],
            "missing :N",
        ),
        (
            vec!["--sweep", "links.cam-h1.loss=0..1:3"],
            "links.cam-h1.loss=1: loss must be in [0, 1) (got 1)",
        ),
        (
            vec!["--sweep", "workload.arrivals.rate_hz=1..2:2"],
            "arrivals are Periodic",
        ),
        (
            vec!["--sweep", "devices.nope.mac_per_s=1..2:2"],
            "unknown device `nope`",
        ),
        (
            vec![
                "--sweep",
                "devices.h1.mac_per_s=1..2:2",
                "--sweep",
                "devices.h2.mac_per_s=1..2:2",
                "--sweep",
                "devices.gw.mac_per_s=1..2:2",
            ],
            "at most two --sweep",
        ),
        // issue 13: these saturated the clock, wrote `null` energies, or hung
        (
            vec!["--requests", "1000000000000"],
            "--requests 1000000000000: invalid override `workload.requests=1000000000000`: expected a whole number in 1..=10000000",
        ),
        (
            vec!["--set", "links.cam-h1.latency_ms=1e308"],
            "latency_ms must be at most 1000000000000 ms",
        ),
        (
            vec!["--set", "devices.h1.tx_mw=1e308"],
            "tx_mw must be at most 10000000 mW",
        ),
        (
            vec!["--sweep", "links.cam-h1.latency_ms=1..1e300:2"],
            "latency_ms must be at most",
        ),
    ] {
        let mut args = vec!["simulate", SCENARIO, "--candidate", f];
        args.extend(extra);
        let o = run(&args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(stderr(&o).contains(want), "{args:?}: {}", stderr(&o));
    }
    let o = run(&["simulate", SCENARIO, "--candidate", f, "--candidate", f]);
    assert!(stderr(&o).contains("only with --sweep"), "{}", stderr(&o));
}
