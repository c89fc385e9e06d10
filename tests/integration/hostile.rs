//! Integration tests: hostile input files (issue 13). Each case writes a bad file and
//! runs the real binary: exit status 1 and a message that names the file, the line
//! where there is one, and what was expected — never a panic, a hang or a wrong "ok".

use crate::cli_support::{repo, run, stderr};
use std::path::Path;

/// A scenario `name` in `dir` whose training file is `train` (absolute) and whose arrivals are `arrivals`.
fn scenario(dir: &Path, name: &str, train: &Path, arrivals: &str) -> String {
    let text = std::fs::read_to_string(repo("scenarios/quickstart.ron"))
        .unwrap()
        .replace("\"../data/", &format!("\"{}/", repo("data").display()));
    let text = text.replacen(
        &format!("\"{}/MNIST1D/MNIST1D_TRAIN.ts\"", repo("data").display()),
        &format!("{:?}", train.display().to_string()),
        1,
    );
    let start = text.find("arrivals: ").unwrap();
    let end = start + text[start..].find("),").unwrap() + 1;
    let text = format!("{}arrivals: {arrivals}{}", &text[..start], &text[end..]);
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

#[test]
fn bad_input_files_get_located_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let write = |name: &str, text: &str| {
        let p = d.join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let good_train = repo("data/MNIST1D/MNIST1D_TRAIN.ts");
    let ts = std::fs::read_to_string(&good_train).unwrap();
    let data_line = ts.lines().position(|l| l.trim() == "@data").unwrap() + 2;
    let first = ts.lines().nth(data_line - 1).unwrap();
    let with_first = |new_first: &str| {
        ts.lines()
            .enumerate()
            .map(|(i, l)| if i == data_line - 1 { new_first } else { l })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let (v0, rest) = first.split_once(',').unwrap();
    let nan_ts = write("nan.ts", &with_first(&format!("NaN,{rest}")));
    // drop one value of the first dimension only (MNIST-1D has one dimension: add a
    // second, shorter one)
    let (series, label) = first.rsplit_once(':').unwrap();
    let ragged_ts = write(
        "ragged.ts",
        &with_first(&format!("{series}:{v0}:{label}")).replace("@dimensions 1", "@dimensions 2"),
    );
    let empty_trace = write("empty.csv", "time_ms\n");
    let late_trace = write("late.csv", "time_ms\n1\n1e13\n");
    let inf_points = write("inf.csv", "1,2\n-inf,3\n");
    let points = write("points.csv", "1,2\n2,1\n");
    let empty_net = write("empty-net.ron", "Arch(input: [100, 6], layers: [])");
    let standby = |name: &str, standby: &str| {
        write(
            name,
            &format!(
                "Candidate(\n    arch: Arch(input: [40, 1], layers: [Conv1d(filters: 8, kernel: 3), ReLU, GlobalAvgPool, Dense(units: 10)]),\n    cuts: [2],\n    map: [\"h1\", \"h2\"],\n    standby: {standby},\n)\n"
            ),
        )
    };
    let on_primary = standby("on-primary.ron", "[None, Some(\"h2\")]");
    let unknown_standby = standby("unknown-standby.ron", "[Some(\"h9\"), None]");
    let short_standby = standby("short-standby.ron", "[None]");
    let huge_net = write(
        "huge.ron",
        "Arch(input: [4000000000, 4000000000], layers: [Flatten, Dense(units: 10)])",
    );
    let periodic = "Periodic(period_ms: 50.0)";
    let trace = |p: &Path| format!("Trace(file: {:?})", p.display().to_string());
    let cases: Vec<(Vec<String>, String)> = vec![
        (
            vec!["validate".into(), scenario(d, "nan.ron", &nan_ts, periodic)],
            format!("nan.ts:{data_line}:1: missing value `NaN`, but the header declares `@missing false`"),
        ),
        (
            vec!["validate".into(), scenario(d, "ragged.ron", &ragged_ts, periodic)],
            format!("ragged.ts:{data_line}:1: ragged case: dimension 2 has 1 values, dimension 1 has"),
        ),
        (
            vec!["validate".into(), scenario(d, "empty.ron", &good_train, &trace(&empty_trace))],
            "empty.csv: 0 arrival times: expected 1 to 10000000".into(),
        ),
        (
            vec!["validate".into(), scenario(d, "late.ron", &good_train, &trace(&late_trace))],
            "late.csv:3:1: an arrival time must be at most 1000000000000 ms".into(),
        ),
        (
            vec!["hv".into(), inf_points.display().to_string(), "--ref".into(), "5,5".into()],
            "inf.csv:2: value 1 is -inf: expected a finite number".into(),
        ),
        (
            vec!["hv".into(), points.display().to_string(), "--ref".into(), "inf,5".into()],
            "--ref: inf is not a finite number".into(),
        ),
        (
            vec!["cost".into(), empty_net.display().to_string()],
            "empty-net.ron: the network has 0 layers: expected 1 to 4096".into(),
        ),
        (
            vec!["cost".into(), huge_net.display().to_string()],
            "has 16000000000000000000 elements: at most 2147483648 (2^31) are supported".into(),
        ),
        (
            vec![
                "simulate".into(),
                "scenarios/camera-mnist.ron".into(),
                "--candidate".into(),
                repo("models/candidates/camera-front.ron").display().to_string(),
                "--set".into(),
                "devices.h1.flash_bytes=1.5".into(),
            ],
            "invalid override `devices.h1.flash_bytes=1.5`: flash_bytes must be a whole number (got 1.5)".into(),
        ),
        (
            vec![
                "train".into(),
                "--train".into(),
                good_train.display().to_string(),
                "--arch".into(),
                empty_net.display().to_string(),
                "--length".into(),
                "10000000".into(),
            ],
            "cases of length 10000000 × 1 channels would need about".into(),
        ),
        (
            vec![
                "simulate".into(),
                "scenarios/sensor-helpers.ron".into(),
                "--candidate".into(),
                on_primary.display().to_string(),
            ],
            "on-primary.ron:5:21: standby[1] = \"h2\" is the device partition 1 runs on (a standby must be another device)".into(),
        ),
        (
            vec![
                "simulate".into(),
                "scenarios/sensor-helpers.ron".into(),
                "--candidate".into(),
                unknown_standby.display().to_string(),
            ],
            "unknown-standby.ron:5:15: standby[0] = \"h9\" is not a device of the scenario".into(),
        ),
        (
            vec![
                "simulate".into(),
                "scenarios/sensor-helpers.ron".into(),
                "--candidate".into(),
                short_standby.display().to_string(),
            ],
            "short-standby.ron:5:14: standby has 1 entries but the candidate has 2 partitions".into(),
        ),
        (
            vec!["report".into(), d.join("no-such-run").display().to_string()],
            "no-such-run/front.json: No such file or directory (os error 2)".into(),
        ),
    ];
    for (args, want) in cases {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = run(&a);
        assert_eq!(o.status.code(), Some(1), "{a:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(&want),
            "{a:?}: expected {want:?} in {}",
            stderr(&o)
        );
        // an error that shows its cause does not repeat it
        assert!(
            stderr(&o).matches("(os error").count() <= 1,
            "{a:?}: an OS error said twice: {}",
            stderr(&o)
        );
    }
}

/// `hv` on 2,000 points in 10 objectives: the exact computation refuses after its work
/// limit (several seconds) instead of hanging, and off a terminal it says every 2 s
/// that it is still running, so a CI log shows where the time goes.
#[test]
fn a_long_hv_reports_progress_then_refuses() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(10);
    let mut csv = String::new();
    for _ in 0..2000 {
        let x: Vec<f64> = (0..10).map(|_| rng.random_range(0.01..1.0)).collect();
        let s: f64 = x.iter().sum();
        let row: Vec<String> = x.iter().map(|v| format!("{}", v / s)).collect();
        csv += &(row.join(",") + "\n");
    }
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("big.csv");
    std::fs::write(&p, csv).unwrap();
    let o = run(&["hv", p.to_str().unwrap(), "--ref", "1,1,1,1,1,1,1,1,1,1"]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("hv: 2000 points × 10 objectives, exact: running for 2 s"),
        "{err}"
    );
    assert!(
        err.contains("--monte-carlo"),
        "the refusal names the way out: {err}"
    );
}
