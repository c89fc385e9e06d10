//! `distrinas adapt` from the command line: thread-count independence, the policy it
//! writes replays to the same figures, and located errors for bad policies.

use crate::cli_support::{repo, stderr, stdout};
use std::path::Path;
use std::process::{Command, Output};

fn distrinas(args: &[&str], threads: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_distrinas"))
        .args(args)
        .current_dir(repo(""))
        .env("RAYON_NUM_THREADS", threads)
        .output()
        .unwrap()
}

fn star_run(dir: &Path) -> String {
    let out = dir.join("star").display().to_string();
    let o = distrinas(
        &[
            "search",
            "scenarios/star.ron",
            "--generations",
            "2",
            "--population",
            "8",
            "--final-epochs",
            "1",
            "--out",
            &out,
        ],
        "2",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    out
}

#[test]
fn adapt_output_does_not_depend_on_threads_and_its_policy_replays() {
    let dir = tempfile::tempdir().unwrap();
    let run = star_run(dir.path());
    // a small battery on s1 so deployments end within the horizon
    let adapt = |out: &str, threads: &str, extra: &[&str]| {
        let mut args = vec![
            "adapt",
            &run,
            "--scenario",
            "scenarios/star.ron",
            "--set",
            "devices.s1.battery_mj=2000",
            "--out",
            out,
        ];
        args.extend_from_slice(extra);
        let o = distrinas(&args, threads);
        assert!(o.status.success(), "{}", stderr(&o));
        o
    };
    let (a, b) = (
        dir.path().join("a").display().to_string(),
        dir.path().join("b").display().to_string(),
    );
    adapt(&a, "1", &[]);
    adapt(&b, "2", &[]);
    let read = |d: &str, f: &str| std::fs::read(Path::new(d).join(f)).unwrap();
    assert_eq!(read(&a, "adapt.json"), read(&b, "adapt.json"));
    assert_eq!(read(&a, "adapt.csv"), read(&b, "adapt.csv"));
    let v: serde_json::Value = serde_json::from_slice(&read(&a, "adapt.json")).unwrap();
    assert!(v["policy"]["lifetime_s"].as_f64().unwrap() > 0.0, "{v}");
    // the written policy.ron, given back with --policy, deploys the same thing
    let c = dir.path().join("c").display().to_string();
    let pol = Path::new(&a).join("policy.ron").display().to_string();
    adapt(&c, "2", &["--policy", &pol]);
    let w: serde_json::Value = serde_json::from_slice(&read(&c, "adapt.json")).unwrap();
    for k in [
        "lifetime_s",
        "completed",
        "switches",
        "mean_accuracy",
        "energy_mj",
    ] {
        assert_eq!(v["policy"][k], w["policy"][k], "{k}");
    }
    assert_eq!(v["static"], w["static"]);
}

#[test]
fn bad_policies_and_runs_get_located_errors() {
    let dir = tempfile::tempdir().unwrap();
    let run = star_run(dir.path());
    let pol = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    let adapt = |extra: &[&str]| {
        let mut args = vec!["adapt", &run, "--scenario", "scenarios/star.ron"];
        args.extend_from_slice(extra);
        let o = distrinas(&args, "2");
        assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
        stderr(&o)
    };
    let syntax = pol(
        "syntax.ron",
        "(members: [\n  (name: \"a\" candidate: \"x\")], start: \"a\")",
    );
    let e = adapt(&["--policy", &syntax]);
    assert!(e.contains("syntax.ron:2:14"), "{e}");
    let unknown = pol(
        "unknown.ron",
        "(members: [(name: \"a\", candidate: \"x\")], start: \"b\")",
    );
    assert!(adapt(&["--policy", &unknown]).contains("unknown member `b`"));
    let device = pol(
        "device.ron",
        "(members: [(name: \"a\", candidate: \"x\")], start: \"a\",
          rules: [(when: BatteryBelow(device: \"nowhere\", percent: 10.0), use: \"a\")])",
    );
    assert!(adapt(&["--policy", &device]).contains("unknown device `nowhere`"));
    let no_acc = pol(
        "noacc.ron",
        "(members: [(name: \"a\", candidate: \"../elsewhere/c.ron\")], start: \"a\")",
    );
    assert!(adapt(&["--policy", &no_acc]).contains("has no accuracy"));
    assert!(adapt(&["--horizon-h", "0"]).contains("--horizon-h"));
    let o = distrinas(&["adapt", &dir.path().display().to_string()], "2");
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("front.json"), "{}", stderr(&o));
}
