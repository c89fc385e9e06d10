//! `distrinas export` round trip: every member of a shipped scenario's front is
//! exported, compiled with the system's C compiler (`cc`, through the exported
//! Makefile) and run by its harness on the scenario's test set. The C partitions'
//! logits must equal the Rust integer evaluation's byte for byte, and the C accuracy
//! the `int8_test_accuracy` that the search's final training put in front.json
//! (docs/export.md).

use super::cli_support::{repo, run, stderr, stdout};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Cases in a data file, counted independently of distrinas: `.ts` lines after `@data`,
/// CSV rows (gzip-decompressed with the system's `gzip`).
fn cases_in(file: &str) -> usize {
    let path = repo(file);
    let text = if file.ends_with(".gz") {
        let o = Command::new("gzip").arg("-dc").arg(&path).output().unwrap();
        String::from_utf8(o.stdout).unwrap()
    } else {
        std::fs::read_to_string(&path).unwrap()
    };
    let mut lines = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'));
    if file.ends_with(".ts") {
        lines
            .by_ref()
            .find(|l| l.trim().eq_ignore_ascii_case("@data"));
    }
    lines.count()
}

/// `size` (Berkeley format) of an object: text + data (flash) and bss (SRAM).
fn size_of(obj: &Path) -> (u64, u64) {
    let o = Command::new("size")
        .arg(obj)
        .output()
        .expect("binutils `size` runs");
    let text = String::from_utf8_lossy(&o.stdout);
    let row: Vec<u64> = text
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .take(3)
        .map(|v| v.parse().unwrap())
        .collect();
    (row[0] + row[1], row[2])
}

/// Searches `scenario` briefly (with its final training) and round-trips every
/// front member; returns how many members had more than one partition.
fn round_trip(scenario: &str, test_file: &str, args: &[&str]) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let runp = dir.path().join("run");
    let run_dir = runp.display().to_string();
    let mut a = vec!["search", scenario, "--seed", "1", "--out", &run_dir];
    a.extend_from_slice(args);
    let o = run(&a);
    assert!(o.status.success(), "{}", stderr(&o));
    let front = json(&runp.join("front.json"));
    let members = front["front"].as_array().unwrap();
    assert!(!members.is_empty());
    let samples = cases_in(test_file);
    let mut distributed = 0;
    for m in members {
        let file = m["candidate_file"].as_str().unwrap();
        let id = Path::new(file).file_stem().unwrap().to_str().unwrap();
        let out = dir.path().join(format!("x-{id}"));
        let o = run(&[
            "export",
            runp.join(file).to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let make = Command::new("make")
            .arg("-s")
            .arg("-C")
            .arg(&out)
            .output()
            .expect("make runs");
        assert!(
            make.status.success(),
            "make: {}",
            String::from_utf8_lossy(&make.stderr)
        );
        let logits = out.join("c_logits.bin");
        let h = Command::new(out.join("harness"))
            .arg("--logits")
            .arg(&logits)
            .output()
            .unwrap();
        assert!(h.status.success(), "{}", String::from_utf8_lossy(&h.stderr));
        let report: Value = serde_json::from_slice(&h.stdout).unwrap();
        // logits: bit for bit
        let c = std::fs::read(&logits).unwrap();
        let rust = std::fs::read(out.join("expected_logits.bin")).unwrap();
        assert_eq!(report["samples"].as_u64().unwrap() as usize, samples);
        assert_eq!(c.len(), samples * 10, "{id}: 10 logits per case");
        assert!(
            c == rust,
            "{id}: C logits differ from the Rust int8 evaluation"
        );
        // accuracy: exactly the final training's int8 figure
        let acc = report["accuracy"].as_f64().unwrap();
        assert_eq!(Some(acc), m["int8_test_accuracy"].as_f64(), "{id}");
        assert!(acc > 0.3, "{id}: int8 accuracy {acc}");
        // memory: the arena is the cost model's peak SRAM, and the plan fits in it
        let manifest = json(&out.join("manifest.json"));
        let parts = manifest["partitions"].as_array().unwrap();
        assert_eq!(parts.len(), m["map"].as_array().unwrap().len());
        if parts.len() > 1 {
            distributed += 1;
        }
        for (p, cost) in parts.iter().zip(m["partitions"].as_array().unwrap()) {
            let arena = p["arena_bytes"].as_u64().unwrap();
            assert_eq!(
                arena,
                cost["peak_sram_bytes"].as_u64().unwrap(),
                "{id}: {p}"
            );
            assert!(p["planned_bytes"].as_u64().unwrap() <= arena, "{id}: {p}");
            // the object's .bss is the arena; its flash holds at least the parameters
            let obj = out.join(format!("partition_{}.o", p["index"]));
            let (flash, bss) = size_of(&obj);
            assert_eq!(bss, arena, "{id}: {}", obj.display());
            assert!(flash >= p["parameter_bytes"].as_u64().unwrap(), "{id}: {p}");
        }
        // messages: what each partition sends is the cost model's `out_bytes`
        let msgs = manifest["messages"].as_array().unwrap();
        for (i, cost) in m["partitions"].as_array().unwrap().iter().enumerate() {
            assert_eq!(msgs[i + 1]["bytes"], cost["out_bytes"], "{id}: message {i}");
        }
    }
    distributed
}

/// The quickstart (MNIST-1D, 1000 test series) reduced to 4 generations of 12.
#[test]
fn quickstart_front_round_trips_through_cc() {
    let distributed = round_trip(
        "scenarios/quickstart.ron",
        "data/MNIST1D/MNIST1D_TEST.ts",
        &[
            "--population",
            "12",
            "--generations",
            "4",
            "--final-epochs",
            "8",
        ],
    );
    assert!(distributed >= 1, "no member of the front is cut");
}

/// camera-mnist (MNIST-5k 28×28 images, 1000 test images from a gzip file) reduced to
/// 2 generations of 8.
#[test]
fn camera_mnist_front_round_trips_through_cc() {
    round_trip(
        "scenarios/camera-mnist.ron",
        "data/mnist/mnist_5k_test.csv.gz",
        &[
            "--population",
            "8",
            "--generations",
            "2",
            "--final-epochs",
            "2",
        ],
    );
}

/// The harness reads any file of the scenario's dataset kind; `export` refuses a
/// candidate without weights and a scenario that is not the run's.
#[test]
fn export_errors_and_the_harness_on_another_file() {
    let dir = tempfile::tempdir().unwrap();
    let runp = dir.path().join("run");
    let o = run(&[
        "search",
        "scenarios/quickstart.ron",
        "--out",
        runp.to_str().unwrap(),
        "--population",
        "8",
        "--generations",
        "2",
        "--final-epochs",
        "2",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = dir.path().join("x");
    // a run folder exports its knee member
    let o = run(&[
        "export",
        runp.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("int8 accuracy on test.ts (1000 test cases)"));
    assert!(Command::new("make")
        .arg("-s")
        .arg("-C")
        .arg(&out)
        .status()
        .unwrap()
        .success());
    // the training file: 4000 series (the harness counts them itself)
    let h = Command::new(out.join("harness"))
        .arg(repo("data/MNIST1D/MNIST1D_TRAIN.ts"))
        .output()
        .unwrap();
    let r: Value = serde_json::from_slice(&h.stdout).unwrap();
    assert_eq!(
        r["samples"].as_u64().unwrap() as usize,
        cases_in("data/MNIST1D/MNIST1D_TRAIN.ts")
    );
    // a malformed file: the line and what is wrong
    let bad = dir.path().join("bad.ts");
    std::fs::write(&bad, "@classLabel true 0 1\n@data\n1,2,x:0\n").unwrap();
    let h = Command::new(out.join("harness"))
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!h.status.success());
    let e = String::from_utf8_lossy(&h.stderr);
    assert!(e.contains("bad.ts:3: not a number: x"), "{e}");
    // a scenario that is not the run's
    let front = json(&runp.join("front.json"));
    let file = front["front"][0]["candidate_file"].as_str().unwrap();
    let cand = runp.join(file);
    let o = run(&[
        "export",
        cand.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--scenario",
        "scenarios/camera-mnist.ron",
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("the candidate does not match the run's scenario: its dataset"),
        "{}",
        stderr(&o)
    );
    // missing weights
    std::fs::remove_file(cand.with_extension("weights")).unwrap();
    let o = run(&[
        "export",
        cand.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("the candidate's trained weights are missing"),
        "{}",
        stderr(&o)
    );
}
