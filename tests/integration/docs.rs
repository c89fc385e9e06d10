//! Integration tests of the user guide: the what-if comparison of `simulate
//! --candidate`, every example scenario under `search`, and the commands of the docs.

use crate::cli_support::{repo, run, stderr, stdout};
use serde_json::Value;
use std::path::Path;

const WHATIF: &str = "tests/fixtures/docs/whatif.ron";

fn json_of(args: &[&str]) -> Value {
    let o = run(args);
    assert!(
        o.status.success(),
        "distrinas {} failed: {}",
        args.join(" "),
        stderr(&o)
    );
    serde_json::from_str(stdout(&o).trim()).unwrap_or_else(|e| {
        panic!(
            "distrinas {}: not one JSON object ({e}): {}",
            args.join(" "),
            stdout(&o)
        )
    })
}

fn search(scenario: &str, out: &Path, extra: &[&str]) -> Value {
    let out_s = out.display().to_string();
    let mut args = vec!["search", scenario, "--out", &out_s, "--json"];
    args.extend_from_slice(extra);
    json_of(&args)
}

fn simulate(scenario: &str, candidate: &Path, extra: &[&str]) -> Value {
    let c = candidate.display().to_string();
    let mut args = vec!["simulate", scenario, "--candidate", &c, "--json"];
    args.extend_from_slice(extra);
    json_of(&args)
}

fn row<'a>(cmp: &'a Value, metric: &str) -> &'a Value {
    cmp["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["metric"] == metric)
        .unwrap_or_else(|| panic!("no row {metric} in {cmp}"))
}

#[test]
fn whatif_replays_the_search_figures_exactly_and_a_failure_changes_them() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let front = search(WHATIF, &out, &["--threads", "2"]);
    let members = front["front"].as_array().unwrap();
    assert!(!members.is_empty());
    for m in members {
        let id = m["id"].as_str().unwrap();
        let cand = out.join(format!("candidates/{id}.ron"));
        assert!(out.join(format!("candidates/{id}.search.json")).is_file());
        // No override: the replay is the search-time simulation, bit for bit.
        let r = simulate(WHATIF, &cand, &[]);
        let cmp = &r["comparison"];
        assert_eq!(cmp["candidate"], id);
        assert_eq!(cmp["scenario"], "whatif");
        assert_eq!(cmp["now"], cmp["at_search"], "{cmp}");
        for row in cmp["rows"].as_array().unwrap() {
            if !row["at_search"].is_null() {
                assert_eq!(row["change"], 0.0, "{row}");
            }
        }
        // ... and it reproduces the objectives of front.json exactly.
        let obj = &m["objectives"];
        assert_eq!(r["latency_ms"]["mean"], obj["LatencyMean"], "{m}");
        // EnergyPerInference is the inference energy (compute + radio, no idle): the
        // comparison's energy row, not the simulator's total with idle power.
        assert_eq!(
            row(cmp, "energy/inference")["now"],
            obj["EnergyPerInference"],
            "{m}"
        );
        assert!(r["energy_mj_per_inference"].as_f64() > obj["EnergyPerInference"].as_f64());
        assert_eq!(
            row(cmp, "exchanged bytes")["now"].as_f64(),
            obj["ExchangedBytes"].as_f64()
        );
        assert_eq!(r["completed"], 60);
        assert_eq!(row(cmp, "completed")["at_search"], 60.0);
        // The equality is not a coincidence of a seed-free run: another seed gives
        // other Poisson arrivals and other latencies.
        let other = simulate(WHATIF, &cand, &["--seed", "1"]);
        assert_ne!(
            other["latency_ms"]["mean"], r["latency_ms"]["mean"],
            "Poisson arrivals and losses depend on the seed"
        );
        // The gateway (the sink) fails after 3 s: the later requests are dropped.
        let down = simulate(
            WHATIF,
            &cand,
            &["--event", r#"DeviceDown(device: "gateway", at_ms: 3000.0)"#],
        );
        let c = &down["comparison"];
        let done = row(c, "completed");
        let now = done["now"].as_f64().unwrap();
        assert!(now > 0.0 && now < 60.0, "{c}");
        assert_eq!(done["change"].as_f64().unwrap(), now - 60.0);
        assert!((done["change_pct"].as_f64().unwrap() - 100.0 * (now - 60.0) / 60.0).abs() < 1e-9);
        assert_eq!(row(c, "dropped")["now"].as_f64().unwrap(), 60.0 - now);
        assert_eq!(down["dropped"].as_f64().unwrap(), 60.0 - now);
        // A slower BLE link: latency grows, nothing is lost.
        let slow = simulate(
            WHATIF,
            &cand,
            &["--set", "links.wrist-hub.bandwidth_bps=100000"],
        );
        let lat = row(&slow["comparison"], "latency mean");
        assert!(lat["change"].as_f64().unwrap() > 0.0, "{lat}");
        assert_eq!(slow["completed"], 60);
    }
    // A run folder stands for its knee candidate.
    let run_dir = distrinas::report::load_run(&out).unwrap();
    let knee = &run_dir.results.front[run_dir.results.knee().unwrap()].id;
    let r = simulate(WHATIF, &out, &[]);
    assert_eq!(&r["comparison"]["candidate"], knee);
    // The human-readable table.
    let cand = out.join(format!("candidates/{knee}.ron"));
    let o = run(&[
        "simulate",
        WHATIF,
        "--candidate",
        &cand.display().to_string(),
        "--event",
        r#"DeviceDown(device: "gateway", at_ms: 3000.0)"#,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("at search"), "{text}");
    let completed = text
        .lines()
        .find(|l| l.starts_with("completed (requests)"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(completed.contains("60"), "{completed}");
    // A hand-written candidate has no search-time figures: comparison is null.
    let hand = dir.path().join("hand.ron");
    std::fs::copy(&cand, &hand).unwrap();
    assert!(simulate(WHATIF, &hand, &[])["comparison"].is_null());
}

#[test]
fn every_example_scenario_searches_with_tiny_settings() {
    let dir = tempfile::tempdir().unwrap();
    let mut names: Vec<String> = std::fs::read_dir(repo("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ron"))
        .map(|p| p.display().to_string())
        .collect();
    names.sort();
    assert!(names.len() >= 5, "{names:?}");
    for sc in &names {
        let out = dir.path().join(Path::new(sc).file_stem().unwrap());
        let v = search(
            sc,
            &out,
            &["--generations", "1", "--population", "4", "--threads", "2"],
        );
        let front = v["front"].as_array().unwrap();
        assert!(!front.is_empty(), "{sc}: empty front");
        assert_eq!(v["generations"], 1, "{sc}");
        assert_eq!(v["evaluations"], 4, "{sc}");
        let disk: Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("front.json")).unwrap())
                .unwrap();
        assert_eq!(disk["front"], v["front"], "{sc}");
        for m in front {
            let id = m["id"].as_str().unwrap();
            assert!(out.join(format!("candidates/{id}.ron")).is_file(), "{sc}");
        }
    }
}
