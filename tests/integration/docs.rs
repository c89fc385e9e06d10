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
            &[
                "--generations",
                "1",
                "--population",
                "4",
                "--threads",
                "2",
                "--final-epochs",
                "0",
            ],
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

// ---------------------------------------------------------------------------------
// The commands of the docs pages, run as written.

/// One command of a doc page: its 1-based line and its arguments after `distrinas`.
#[derive(Debug, Clone, PartialEq)]
struct DocCommand {
    line: usize,
    args: Vec<String>,
}

/// Splits a shell command line into words: single and double quotes, backslash
/// escapes outside single quotes, `#` comments outside quotes.
fn split_shell(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for d in chars.by_ref() {
                    if d == '\'' {
                        break;
                    }
                    cur.push(d);
                }
            }
            '"' => {
                in_word = true;
                while let Some(d) = chars.next() {
                    match d {
                        '"' => break,
                        '\\' => {
                            if let Some(e) = chars.next() {
                                cur.push(e);
                            }
                        }
                        _ => cur.push(d),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(e) = chars.next() {
                    cur.push(e);
                }
            }
            '#' if !in_word => break,
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

/// The `distrinas` commands of the ```sh and ```console blocks of a Markdown page, in
/// order. In `sh` blocks every line starting with `distrinas ` (or
/// `cargo run --release -- `) is a command; in `console` blocks, the same after a
/// `$ ` prompt (the other lines are output). A line ending with `\` continues on the
/// next one.
fn doc_commands(md: &str) -> Vec<DocCommand> {
    let mut out = Vec::new();
    let mut block: Option<&str> = None;
    let mut pending: Option<(usize, String)> = None;
    for (i, line) in md.lines().enumerate() {
        let t = line.trim_end();
        if let Some(rest) = t.trim_start().strip_prefix("```") {
            block = match block {
                Some(_) => None,
                None => Some(match rest.trim() {
                    "sh" | "bash" | "shell" => "sh",
                    "console" => "console",
                    _ => "other",
                }),
            };
            continue;
        }
        let Some(kind) = block else { continue };
        if let Some((n, mut acc)) = pending.take() {
            acc.push(' ');
            acc.push_str(t.trim_start().trim_end_matches('\\'));
            if t.ends_with('\\') {
                pending = Some((n, acc));
            } else {
                out.push(DocCommand {
                    line: n,
                    args: split_shell(&acc),
                });
            }
            continue;
        }
        let line = t.trim_start();
        let line = match kind {
            "sh" => Some(line),
            "console" => line.strip_prefix("$ "),
            _ => None,
        };
        let cmd = line.and_then(|l| {
            l.strip_prefix("distrinas ")
                .or_else(|| l.strip_prefix("cargo run --release -- "))
        });
        let Some(cmd) = cmd else { continue };
        if let Some(c) = cmd.strip_suffix('\\') {
            pending = Some((i + 1, c.to_string()));
        } else {
            out.push(DocCommand {
                line: i + 1,
                args: split_shell(cmd),
            });
        }
    }
    out
}

/// A scratch folder holding links to the repository's `scenarios`, `models`, `data`
/// and `tests` (so the docs' relative paths work and run folders land in it).
fn scratch() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for d in ["scenarios", "models", "data", "tests"] {
        std::os::unix::fs::symlink(repo(d), dir.path().join(d)).unwrap();
    }
    dir
}

/// A `.../candidates/c<16 hex>.ron` argument naming a candidate this run did not find
/// (the doc shows the figures of the run it was written with) is replaced by the knee
/// candidate of the same run folder, so the command still runs.
fn resolve_candidate(cwd: &Path, arg: &str) -> String {
    let p = Path::new(arg);
    let is_candidate = p.extension().is_some_and(|e| e == "ron")
        && p.parent()
            .and_then(|d| d.file_name())
            .is_some_and(|n| n == "candidates");
    if !is_candidate || cwd.join(p).exists() {
        return arg.to_string();
    }
    let run_dir = p.parent().unwrap().parent().unwrap();
    let run = distrinas::report::load_run(&cwd.join(run_dir))
        .unwrap_or_else(|e| panic!("{arg}: no such candidate and no run folder: {e}"));
    let knee = &run.results.front[run.results.knee().unwrap()].id;
    eprintln!("note: {arg} is not in this run (the doc is out of date?); using the knee {knee}");
    run_dir
        .join("candidates")
        .join(format!("{knee}.ron"))
        .display()
        .to_string()
}

/// Runs every command of `page` (relative to the repository root) in `cwd`, in order;
/// each must succeed, and with `--json` print exactly one JSON object.
fn run_page(page: &str, cwd: &Path) -> Vec<(DocCommand, std::process::Output)> {
    let md = std::fs::read_to_string(repo(page)).unwrap();
    let cmds = doc_commands(&md);
    assert!(!cmds.is_empty(), "{page} has no commands");
    let mut outs = Vec::new();
    for c in cmds {
        let args: Vec<String> = c.args.iter().map(|a| resolve_candidate(cwd, a)).collect();
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = crate::cli_support::run_in(cwd, &refs);
        assert!(
            o.status.success(),
            "{page}:{}: distrinas {} failed:\n{}",
            c.line,
            args.join(" "),
            stderr(&o)
        );
        if args.iter().any(|a| a == "--json") {
            let v: Value = serde_json::from_str(stdout(&o).trim()).unwrap_or_else(|e| {
                panic!(
                    "{page}:{}: --json output is not one JSON object: {e}",
                    c.line
                )
            });
            assert!(v.is_object(), "{page}:{}", c.line);
        }
        outs.push((c, o));
    }
    outs
}

#[test]
fn doc_command_extraction() {
    let md = "text\n```sh\ndistrinas search --out 'runs/a b' # comment\ncargo test\n\
              distrinas simulate x.ron --event \"DeviceDown(device: \\\"hub\\\", at_ms: 1.0)\" \\\n  --json\n```\n\
              ```console\n$ distrinas hv p.csv --ref 1,1\nhypervolume 1\n$ cargo run --release -- report r\n```\n\
              ```text\ndistrinas search [SCENARIO]\n```\n";
    let c = doc_commands(md);
    assert_eq!(c.len(), 4, "{c:?}");
    assert_eq!(c[3].args, ["report", "r"]);
    assert_eq!(c[0].line, 3);
    assert_eq!(c[0].args, ["search", "--out", "runs/a b"]);
    assert_eq!(
        c[1].args,
        [
            "simulate",
            "x.ron",
            "--event",
            "DeviceDown(device: \"hub\", at_ms: 1.0)",
            "--json"
        ]
    );
    assert_eq!(c[2].args, ["hv", "p.csv", "--ref", "1,1"]);
    assert_eq!(split_shell("a 'b # c' d#e"), ["a", "b # c", "d#e"]);
}

/// The subcommands `distrinas --help` lists, and the long flags of each.
fn cli_surface() -> Vec<(String, Vec<String>)> {
    let help = stdout(&run(&["--help"]));
    let cmds: Vec<String> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .filter(|c| c != "help")
        .collect();
    assert!(cmds.len() >= 10, "{help}");
    cmds.into_iter()
        .map(|c| {
            let h = stdout(&run(&[&c, "--help"]));
            let mut flags: Vec<String> = h
                .split(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '-'))
                .filter(|w| w.starts_with("--") && w.len() > 2)
                .map(str::to_string)
                .filter(|f| f != "--help" && f != "--version")
                .collect();
            flags.sort();
            flags.dedup();
            (c, flags)
        })
        .collect()
}

#[test]
fn cli_md_lists_every_command_and_flag() {
    let md = std::fs::read_to_string(repo("docs/cli.md")).unwrap();
    let mut missing = Vec::new();
    for (cmd, flags) in cli_surface() {
        let head = format!("## `distrinas {cmd}`");
        let Some(start) = md.find(&head) else {
            missing.push(format!("no section `{head}`"));
            continue;
        };
        let body = &md[start + head.len()..];
        let section = &body[..body.find("\n## ").unwrap_or(body.len())];
        for f in flags {
            if !section.contains(&format!("`{f}")) && !section.contains(&format!(" {f} ")) {
                missing.push(format!("{cmd} {f}"));
            }
        }
        // Every command has at least one example that the next test runs.
        let examples = doc_commands(section);
        if !examples.iter().any(|c| c.args.first() == Some(&cmd)) {
            missing.push(format!("{cmd}: no example"));
        }
    }
    assert!(
        missing.is_empty(),
        "docs/cli.md is out of date: {missing:?}"
    );
}

#[test]
fn cli_md_commands_run() {
    let dir = scratch();
    let outs = run_page("docs/cli.md", dir.path());
    let find = |cmd: &str| {
        outs.iter()
            .find(|(c, _)| c.args.first().map(String::as_str) == Some(cmd))
            .map(|(_, o)| stdout(o))
            .unwrap()
    };
    assert!(find("hv").contains("hypervolume 0.0310000000"));
    assert!(dir.path().join("runs/star/front.json").is_file());
    assert!(dir
        .path()
        .join("runs/compare-star/convergence.svg")
        .is_file());
    assert!(dir.path().join("multihop.dot").is_file());
    assert!(dir.path().join("har-s.dnw").is_file());
    let trace = std::fs::read_to_string(dir.path().join("trace.csv")).unwrap();
    assert!(trace.lines().count() > 100, "{trace}");
    // The resumed run continued to 5 generations.
    let resumed = outs
        .iter()
        .find(|(c, _)| c.args.iter().any(|a| a == "--resume"))
        .map(|(_, o)| stdout(o))
        .unwrap();
    let v: Value = serde_json::from_str(resumed.trim()).unwrap();
    assert_eq!(v["generations"], 5);
    assert_eq!(v["evaluations"], 40);
}

#[test]
fn quickstart_md_commands_run() {
    let dir = scratch();
    let outs = run_page("docs/quickstart.md", dir.path());
    let cwd = dir.path();
    // `cargo run --release -- search` wrote the default run folder.
    let run_dir = cwd.join("runs/quickstart-1");
    for f in [
        "front.json",
        "front.csv",
        "history.csv",
        "report.md",
        "plots/convergence.svg",
        "plots/knee_devices.svg",
        "plots/front_EnergyPerInference_vs_ValLoss.svg",
    ] {
        assert!(run_dir.join(f).is_file(), "{f}");
    }
    let run = distrinas::report::load_run(&run_dir).unwrap();
    assert_eq!(run.results.generations, 30);
    assert_eq!(run.results.evaluations, 720);
    assert!(
        run.results.front.len() >= 5,
        "the quickstart front has ≥ 5 members"
    );
    // The what-ifs: unchanged replay equals the search; the chest failure drops
    // requests; the slower link slows them down.
    let sims: Vec<String> = outs
        .iter()
        .filter(|(c, _)| c.args[0] == "simulate")
        .map(|(_, o)| stdout(o))
        .collect();
    assert_eq!(sims.len(), 4);
    let row = |text: &str, metric: &str| -> Vec<String> {
        let line = text
            .lines()
            .find(|l| l.starts_with(metric))
            .unwrap_or_else(|| panic!("no {metric} row in {text}"));
        line[metric.len()..]
            .split_whitespace()
            .map(str::to_string)
            .collect()
    };
    let same = row(&sims[0], "completed (requests)");
    assert_eq!(same[0], same[1]);
    assert_eq!(row(&sims[0], "latency mean (ms)")[2], "0.0000");
    let down = row(&sims[1], "completed (requests)");
    assert_eq!(down[0], "100");
    assert!(down[1].parse::<u32>().unwrap() < 100, "{down:?}");
    let slow = row(&sims[2], "latency mean (ms)");
    assert!(slow[2].starts_with('+'), "{slow:?}");
    let v: Value = serde_json::from_str(sims[3].trim()).unwrap();
    assert_eq!(
        v["comparison"]["candidate"].as_str().unwrap(),
        run.results.front[run.results.knee().unwrap()].id
    );
    assert!(v["dropped"].as_u64().unwrap() > 0);
    assert!(cwd.join("runs/compare/convergence.svg").is_file());
    assert!(cwd.join("runs/compare/compare.html").is_file());
    // The placement diagram shown on the page is the one the run writes.
    let shown = std::fs::read(repo("docs/img/placement-ce0a94c4619b07794.svg")).unwrap();
    let written = std::fs::read(run_dir.join("plots/placement/ce0a94c4619b07794.svg")).unwrap();
    assert!(
        shown == written,
        "docs/img/placement-ce0a94c4619b07794.svg is out of date"
    );
    assert!(run_dir.join("report.html").is_file());
    // --placement of the slow-link replay: (160 + 7) B × 8 / 50 kb/s = 26.7 ms of every
    // 100 ms on the ankle-hip link.
    let slow = std::fs::read_to_string(cwd.join("slow-link.svg")).unwrap();
    let label = slow
        .split(">160 B per inference · ")
        .nth(1)
        .expect("the ankle-hip label");
    let busy: f64 = label[..label.find(" %").unwrap()].parse().unwrap();
    assert!((26.0..27.5).contains(&busy), "{busy}");
    // docs/adaptation.md works on this run folder
    adaptation_page(cwd, &run.results);
}

fn adaptation_page(cwd: &Path, front: &distrinas::report::RunResults) {
    let outs = run_page("docs/adaptation.md", cwd);
    let adapts = outs.iter().filter(|(c, _)| c.args[0] == "adapt").count();
    assert_eq!(adapts, 4);
    let dir = cwd.join("runs/quickstart-1/adapt");
    for f in ["adapt.json", "adapt.csv", "adapt.svg", "policy.ron"] {
        assert!(dir.join(f).is_file(), "{f}");
    }
    let read = |p: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(cwd.join(p)).unwrap()).unwrap()
    };
    let v = read("runs/quickstart-1/adapt/adapt.json");
    let statics = v["static"].as_array().unwrap();
    let feasible = front.front.iter().filter(|f| f.feasible).count();
    assert_eq!(statics.len(), feasible);
    let f = |x: &Value, k: &str| x[k].as_f64().unwrap_or_else(|| panic!("{k} in {x}"));
    for st in statics {
        // a static deployment's mean accuracy is its member's test accuracy
        assert!((f(st, "mean_accuracy") - f(st, "accuracy")).abs() < 1e-12);
        assert_eq!(st["switches"], 0);
        // its lifetime agrees with the search's extrapolation from 100 requests
        // (front.json: the shortest device lifetime) to 1 %
        let m = front.front.iter().find(|m| m.id == st["id"]).unwrap();
        let search_life = m
            .devices
            .iter()
            .filter_map(|d| d.lifetime_s)
            .fold(f64::INFINITY, f64::min);
        let rel = f(st, "lifetime_s") / search_life - 1.0;
        assert!(rel.abs() < 0.01, "{}: {rel}", m.id);
    }
    // the issue's target: ≥ 20 % longer than the most accurate static member, mean
    // accuracy within 2 points of it
    let best = statics
        .iter()
        .find(|s| s["id"] == v["most_accurate"])
        .unwrap();
    let p = &v["policy"];
    assert!(f(p, "lifetime_s") >= 1.2 * f(best, "lifetime_s"), "{p}");
    let drop = f(best, "accuracy") - f(p, "mean_accuracy");
    assert!((0.0..=0.02).contains(&drop), "{drop}");
    assert_eq!(p["switches"], 1);
    let per: u64 = p["completed_per_member"]
        .as_object()
        .unwrap()
        .values()
        .map(|x| x.as_u64().unwrap())
        .sum();
    assert_eq!(per, p["completed"].as_u64().unwrap());
    let svg = std::fs::read_to_string(dir.join("adapt.svg")).unwrap();
    assert!(svg.contains("battery left") && svg.contains("ankle"));
    // a tight budget: the mix beats every static member as accurate by > 20 %
    let tight = read("runs/quickstart-1/adapt-0.5/adapt.json");
    assert!(f(&tight["gain"], "lifetime_pct_vs_best_static_as_accurate") > 20.0);
    // the hand-written three-phase policy switches twice and loses to a static member
    let three = read("runs/quickstart-1/adapt-three-phase/adapt.json");
    assert_eq!(three["policy"]["switches"], 2);
    assert!(f(&three["gain"], "lifetime_pct_vs_best_static_as_accurate") < 0.0);
    // `--json` prints the object it writes
    let json_run = outs
        .iter()
        .find(|(c, _)| c.args[0] == "adapt" && c.args.iter().any(|a| a == "--json"))
        .unwrap();
    let printed: Value = serde_json::from_str(stdout(&json_run.1).trim()).unwrap();
    assert_eq!(printed, read("runs/quickstart-1/adapt-json/adapt.json"));
    // the replayed policy switches once and stops when the ankle's battery is empty
    let replay = outs
        .iter()
        .find(|(c, _)| c.args.iter().any(|a| a == "--policy") && c.args[0] == "simulate")
        .unwrap();
    let text = stdout(&replay.1);
    assert!(text.contains("switches 1 (aborted 0)"), "{text}");
    assert!(text.contains("battery of ankle empty"), "{text}");
}

#[test]
fn completed_constraint_is_the_fraction_of_requests_that_reach_the_sink() {
    let sc = "tests/fixtures/docs/whatif-completed.ron";
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let v = search(sc, &out, &[]);
    let m = &v["front"][0];
    let c = m["constraints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "completed")
        .unwrap_or_else(|| panic!("no completed constraint: {m}"));
    assert_eq!(c["limit"], 0.9);
    // The sink fails after 6 s of ~12 s: the replay (the search's own simulation)
    // completes the same requests, and the constraint's value is their fraction.
    let id = m["id"].as_str().unwrap();
    let r = simulate(sc, &out.join(format!("candidates/{id}.ron")), &[]);
    let done = r["completed"].as_f64().unwrap();
    assert!(done > 0.0 && done < 60.0 * 0.9, "{done}");
    assert_eq!(c["value"].as_f64().unwrap(), done / 60.0);
    assert!((c["slack"].as_f64().unwrap() - (done / 60.0 - 0.9)).abs() < 1e-12);
    // It is the only violated constraint: violation = 1 − value / limit.
    assert_eq!(m["feasible"], false);
    let want = 1.0 - done / 60.0 / 0.9;
    assert!(
        (m["violation"].as_f64().unwrap() - want).abs() < 1e-12,
        "{m}"
    );
    // A value outside [0, 1] is a validation error naming the field.
    let bad = dir.path().join("bad.ron");
    let text = std::fs::read_to_string(repo(sc))
        .unwrap()
        .replace("min_completed: 0.9", "min_completed: 1.5")
        .replace("../../../data", &repo("data").display().to_string());
    std::fs::write(&bad, text).unwrap();
    let o = run(&["validate", &bad.display().to_string()]);
    assert_eq!(o.status.code(), Some(1));
    let err = stdout(&o) + &stderr(&o);
    assert!(
        err.contains("app.min_completed must be in [0, 1] (got 1.5)"),
        "{err}"
    );
}

/// The ```ron blocks of a Markdown page.
fn ron_blocks(md: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    for line in md.lines() {
        match (&mut cur, line.trim_start().strip_prefix("```")) {
            (None, Some("ron")) => cur = Some(String::new()),
            (Some(_), Some(_)) => out.push(cur.take().unwrap()),
            (Some(c), None) => {
                c.push_str(line);
                c.push('\n');
            }
            _ => {}
        }
    }
    out
}

#[test]
fn objectives_md_names_every_objective_and_constraint() {
    let md = std::fs::read_to_string(repo("docs/objectives.md")).unwrap();
    // Every variant of `Objective` (read from its source, so a new one cannot be
    // forgotten) has a row, and its row name is the name front.json uses.
    let schema = std::fs::read_to_string(repo("src/scenario/schema.rs")).unwrap();
    let body = schema
        .split("pub enum Objective {")
        .nth(1)
        .unwrap()
        .split('}')
        .next()
        .unwrap();
    let variants: Vec<&str> = body
        .lines()
        .map(|l| l.trim().trim_end_matches(','))
        .filter(|l| !l.is_empty() && !l.starts_with("//"))
        .collect();
    assert_eq!(variants.len(), 13, "{variants:?}");
    for v in &variants {
        assert!(
            md.contains(&format!("| `{v}` |")),
            "objectives.md: no row for {v}"
        );
        let o: distrinas::scenario::Objective = ron::from_str(v).unwrap();
        assert_eq!(distrinas::evaluate::objectives::objective_name(o), *v);
    }
    // Every constraint a search reports has a row (by its name before `:`).
    let dir = tempfile::tempdir().unwrap();
    let v = search(
        "tests/fixtures/docs/whatif-completed.ron",
        &dir.path().join("run"),
        &["--generations", "1"],
    );
    let names: Vec<String> = v["front"][0]["constraints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    for prefix in [
        "flash",
        "sram",
        "link",
        "min_accuracy",
        "max_latency_ms",
        "completed",
        "valid",
    ] {
        assert!(
            names.iter().any(|n| n.split(':').next() == Some(prefix)),
            "{prefix} not reported: {names:?}"
        );
    }
    for n in &names {
        let row = match n.split_once(':') {
            Some((p, _)) => format!("| `{p}:<"),
            None => format!("| `{n}` "),
        };
        assert!(
            md.contains(&row),
            "objectives.md: no row for constraint {n}"
        );
    }
    // The RON examples are valid: the objectives list, and the app/events fragment in
    // a scenario with a hub.
    let blocks = ron_blocks(&md);
    assert_eq!(blocks.len(), 2);
    let fixture = std::fs::read_to_string(repo(WHATIF))
        .unwrap()
        .replace("../../../data", &repo("data").display().to_string());
    let objectives_line = fixture
        .lines()
        .find(|l| l.trim_start().starts_with("objectives:"))
        .unwrap();
    let first = blocks[0]
        .trim()
        .trim_start_matches("search: (")
        .trim_end_matches(')');
    let with_objectives = fixture.replace(objectives_line, &format!("        {first},"));
    let app_line = fixture
        .lines()
        .find(|l| l.trim_start().starts_with("app:"))
        .unwrap();
    let with_app = fixture.replace(app_line, &blocks[1]);
    for (i, text) in [with_objectives, with_app].iter().enumerate() {
        let p = dir.path().join(format!("block{i}.ron"));
        std::fs::write(&p, text).unwrap();
        let o = run(&["validate", &p.display().to_string()]);
        assert!(
            o.status.success(),
            "block {i}: {}{}",
            stdout(&o),
            stderr(&o)
        );
    }
}

#[test]
fn variants_md_commands_run() {
    let dir = scratch();
    let outs = run_page("docs/variants.md", dir.path());
    let cwd = dir.path();
    let searches = outs.iter().filter(|(c, _)| c.args[0] == "search").count();
    assert_eq!(searches, 4);
    for run in [
        "star-spea2-1",
        "star-spea2-2",
        "star-random-1",
        "star-random-2",
    ] {
        let v: Value = serde_json::from_str(
            &std::fs::read_to_string(cwd.join("runs").join(run).join("front.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(v["evaluations"], 24, "{run}");
        // --final-epochs 0: no final training, so no test accuracy.
        assert!(v["front"][0]["test_accuracy"].is_null(), "{run}");
    }
    let cmp: Value = serde_json::from_str(
        &std::fs::read_to_string(cwd.join("runs/star-compare/compare.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(cmp["target_hv"], 0.5);
    let runs = cmp["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 4);
    for r in runs {
        let hv = r["hypervolume"].as_f64().unwrap();
        assert!((0.0..=1.1f64.powi(4)).contains(&hv), "{r}");
        assert_eq!(r["convergence"].as_array().unwrap().len(), 4, "{r}");
    }
    assert!(cwd.join("runs/star-compare/convergence.svg").is_file());
    let bench = outs
        .iter()
        .find(|(c, _)| c.args.iter().any(|a| a == "dtlz2"))
        .map(|(_, o)| stdout(o))
        .unwrap();
    let v: Value = serde_json::from_str(bench.trim()).unwrap();
    assert_eq!(v["problem"], "dtlz2");
    assert_eq!(v["seeds"].as_array().unwrap().len(), 2);
}

/// The what-if commands of docs/distribution.md run as written, and print the figures
/// its table quotes (the closed-form check of those figures is
/// `distribution::flagships::a_pipeline_keeps_up_where_one_device_queues`).
#[test]
fn distribution_md_commands_run() {
    let dir = scratch();
    let outs = run_page("docs/distribution.md", dir.path());
    assert_eq!(outs.len(), 5, "two cost and three simulate commands");
    let out = |i: usize| stdout(&outs[i].1);
    assert!(out(0).contains("29598.0"), "{}", out(0));
    assert!(out(1).contains("every partition fits"), "{}", out(1));
    for (i, served, p95) in [
        (2, "33.703/s", "913.213"),
        (3, "25.614/s", "2696.013"),
        (4, "39.524/s", "85.180"),
    ] {
        assert!(out(i).contains(served), "{}", out(i));
        assert!(out(i).contains(&format!("p95 {p95}")), "{}", out(i));
    }
}

/// The device and link field tables of docs/scenarios.md are the code's tables
/// (`scenario::fields`), row for row and in order.
#[test]
fn scenario_field_tables_are_generated_from_the_code() {
    use distrinas::scenario::fields::Fields;
    use distrinas::scenario::{DeviceProfile, LinkProfile};
    let md = std::fs::read_to_string(repo("docs/scenarios.md")).unwrap();
    for fields in [DeviceProfile::FIELDS, LinkProfile::FIELDS] {
        let mut at = 0;
        for f in fields {
            let row = f.markdown_row();
            let found = md[at..]
                .find(&row)
                .unwrap_or_else(|| panic!("docs/scenarios.md lacks (or misorders) the row\n{row}"));
            at += found + row.len();
        }
    }
}

/// docs/calibration.md: the synthetic measurements give back the coefficients that
/// made them (the table of `scripts/synthetic_calibration.py`), the written profile
/// loads, and its fitted model times layers in the cost model.
#[test]
fn calibration_md_commands_run() {
    let dir = scratch();
    let outs = run_page("docs/calibration.md", dir.path());
    assert_eq!(outs.len(), 7);
    published_latencies(&outs[2..]);
    let v: Value = serde_json::from_str(stdout(&outs[1].1).trim()).unwrap();
    let truth = [
        ("Conv2d", 30.0, 62.5, 1.5),
        ("DepthwiseConv2d", 25.0, 110.0, 3.0),
        ("Dense", 15.0, 58.0, 1.0),
        ("ReLU", 5.0, 0.0, 4.0),
        ("MaxPool2d", 8.0, 0.0, 6.0),
    ];
    for (kind, o, m, b) in truth {
        let c = &v["coefficients"][kind];
        let f = |k: &str| c[k].as_f64().unwrap();
        assert!((f("overhead_us") - o).abs() < 5.0, "{kind}: {c}");
        assert!((f("ns_per_mac") - m).abs() <= 5e-4 * m, "{kind}: {c}");
        assert!((f("ns_per_byte") - b).abs() < 0.25, "{kind}: {c}");
        // the page's table shows the fit to one decimal
        let shown = format!("{:.4}", f("ns_per_mac"));
        assert!(stdout(&outs[0].1).contains(&shown), "{kind}: {shown}");
    }
    let text = std::fs::read_to_string(dir.path().join("nrf52840-calibrated.ron")).unwrap();
    let p = distrinas::scenario::profiles::parse_device_profile("p.ron", &text).unwrap();
    assert_eq!(p.latency.len(), 5);
    assert!(p.sources.last().unwrap().contains("100 measured layers"));
}

/// The published-latency commands of docs/calibration.md: TinyEngine relative (rows),
/// TinyEngine absolute, X-CUBE-AI and CMSIS-NN relative (JSON), MLPerf Tiny (rows).
fn published_latencies(outs: &[(DocCommand, std::process::Output)]) {
    // (MACs, published µs) of TinyEngine on the STM32H743, copied from the source
    // table (tinyengine README L152-L163, mcunet README model zoo), not from the CSV
    let tinyengine = [
        (6_000_000u64, 27_000.0),
        (11_600_000, 51_000.0),
        (55_800_000, 234_000.0),
        (6_400_000, 25_000.0),
        (12_800_000, 56_000.0),
        (67_300_000, 280_000.0),
        (81_800_000, 336_000.0),
        (125_900_000, 463_000.0),
        (38_300_000, 176_000.0),
    ];
    // held-out predictions from the --rows table: within 18 % of the published figure
    let rows = |text: &str| -> Vec<(u64, f64, f64)> {
        text.lines()
            .filter(|l| l.split_whitespace().nth(1) == Some("Network"))
            .map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (
                    f[2].parse().unwrap(),
                    f[4].parse().unwrap(),
                    f[6].parse().unwrap(),
                )
            })
            .collect()
    };
    let te = rows(&stdout(&outs[0].1));
    assert_eq!(te.len(), 9);
    for ((macs, published), (m, measured, held_out)) in tinyengine.iter().zip(&te) {
        assert_eq!((macs, published), (m, measured));
        assert!(
            (held_out - published).abs() < 0.18 * published,
            "{m}: {held_out}"
        );
    }
    // coefficients against a closed-form weighted 2 × 2 solve done separately:
    // minimise Σ((a + b·x)/y − 1)² over the nine rows → a = 1055.8 µs, b = 4.1098 ns
    let head = stdout(&outs[0].1);
    assert!(head.contains("1055.819      4.1098"), "{head}");
    assert!(head.contains("leave-one-out 7.3%"), "{head}");
    // the absolute loss leaves the small networks far off
    assert!(stdout(&outs[1].1).contains("leave-one-out 19.0%"));
    let json = |i: usize| -> Value { serde_json::from_str(stdout(&outs[i].1).trim()).unwrap() };
    let (xc, cm) = (json(2), json(3));
    assert_eq!(xc["loss"], "Relative");
    assert!(
        xc["coefficients"].as_object().unwrap().is_empty(),
        "no layer kinds"
    );
    let ns = |v: &Value| v["network"]["coefficients"]["ns_per_mac"].as_f64().unwrap();
    assert!((ns(&xc) - 4.7177).abs() < 1e-3 && (ns(&cm) - 8.73).abs() < 5e-3);
    for v in [&xc, &cm] {
        assert!(v["loo_relative_error"].as_f64().unwrap() < 0.08, "{v}");
        assert_eq!(
            v["predictions"].as_array().unwrap().len(),
            v["rows"].as_u64().unwrap() as usize
        );
    }
    // CMSIS-NN against the stm32f746 profile's 124 M MAC/s (CMSIS-NN paper): within 10 %
    assert!((ns(&cm) / (1e9 / 124.0e6) - 1.0).abs() < 0.1);
    // MLPerf Tiny: four architectures, MACs alone do not predict them
    let ml = rows(&stdout(&outs[4].1));
    let worst = ml
        .iter()
        .map(|(_, y, p)| (p - y).abs() / y)
        .fold(0.0, f64::max);
    assert!(worst > 1.0, "{ml:?}");
}

/// docs/fidelity.md: the demo search runs; its ladder adds up and matches the page;
/// the page's `search:` block parses.
#[test]
fn fidelity_md_commands_run() {
    let dir = scratch();
    let outs = run_page("docs/fidelity.md", dir.path());
    assert_eq!(outs.len(), 1);
    let v: Value = serde_json::from_str(stdout(&outs[0].1).trim()).unwrap();
    let l = &v["ladder"];
    let n = |k: &str| l[k].as_u64().unwrap();
    assert_eq!(n("costed"), 128, "8 generations of 16");
    assert_eq!(n("costed"), n("simulated") + n("skipped") + n("invalid"));
    assert_eq!(
        n("simulated") + n("promoted"),
        n("trained") + n("inherited") + n("predicted")
    );
    // the figures the page quotes
    assert_eq!((n("trained"), n("predicted"), n("promoted")), (73, 9, 4));
    assert_eq!(n("skipped"), 40);
    let hist = std::fs::read_to_string(dir.path().join("runs/fidelity-demo/history.csv")).unwrap();
    let first_rho = hist
        .lines()
        .skip(1)
        .find(|l| !l.ends_with(','))
        .map(|l| l.split(',').next().unwrap().to_string());
    assert_eq!(first_rho.as_deref(), Some("4"), "{hist}");
    // the scenario block of the page
    let md = std::fs::read_to_string(repo("docs/fidelity.md")).unwrap();
    let block = md
        .split("```ron\n")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    let body = block
        .trim()
        .strip_prefix("search:")
        .unwrap()
        .trim()
        .trim_end_matches(',');
    let s: distrinas::scenario::SearchSettings =
        distrinas::scenario::ron_options().from_str(body).unwrap();
    assert_eq!(s.fidelity.surrogate.unwrap().min_rank_correlation, 0.7);
}

/// docs/robustness.md: the commands run, and the figures the page quotes hold.
#[test]
fn robustness_md_commands_run() {
    let dir = scratch();
    let outs = run_page("docs/robustness.md", dir.path());
    assert_eq!(outs.len(), 9);
    // the row of device `id` in a --failures table: (completed %, note)
    let row = |text: &str, id: &str| -> (String, bool) {
        let start = text.find("failure cases").expect("the failure table");
        let line = text[start..]
            .lines()
            .find(|l| l.split_whitespace().next() == Some(id))
            .unwrap_or_else(|| panic!("no row {id} in {text}"));
        let f: Vec<&str> = line.split_whitespace().collect();
        (f[1].to_string(), line.contains("as nominal"))
    };
    let whole = stdout(&outs[0].1);
    assert_eq!(row(&whole, "cam"), ("0.0%".into(), false));
    assert_eq!(
        row(&whole, "h1"),
        ("100.0%".into(), false),
        "rerouted over h2"
    );
    assert_eq!(row(&whole, "h2"), ("100.0%".into(), true));
    assert_eq!(row(&whole, "gw"), ("0.0%".into(), false));
    let pipeline = stdout(&outs[1].1);
    for id in ["cam", "h1", "h2", "gw"] {
        assert_eq!(row(&pipeline, id), ("0.0%".into(), false), "{id}");
    }
    let v: Value = serde_json::from_str(stdout(&outs[2].1).trim()).unwrap();
    let cases = v["failure_cases"].as_array().unwrap();
    let got: Vec<(String, f64, bool)> = cases
        .iter()
        .map(|c| {
            (
                c["down"][0].as_str().unwrap().to_string(),
                c["completed_fraction"].as_f64().unwrap(),
                c["simulated"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("cam".to_string(), 0.0, true),
            ("h1".to_string(), 0.0, true),
            ("h2".to_string(), 1.0, false),
            ("gw".to_string(), 0.0, true),
        ]
    );
    assert!(cases[0]["latency_p95_ms"].is_null());

    // The two searches: every member's availability, recomputed from its failure
    // cases, is the page's hand value for where its partitions run (r1 down 20 %, r2
    // 1 %: none 0.792, r1 0.198, r2 0.008).
    let mut counts = Vec::new();
    for run_dir in ["runs/sensor-relay", "runs/sensor-relay-robust"] {
        let v: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join(run_dir).join("front.json")).unwrap(),
        )
        .unwrap();
        let mut on = [0usize; 3]; // on r1, on r2 only, on no relay
        for m in v["front"].as_array().unwrap() {
            let map: Vec<&str> = m["map"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_str().unwrap())
                .collect();
            let (r1, r2) = (map.contains(&"r1"), map.contains(&"r2"));
            let want = match (r1, r2) {
                (false, false) => 0.998,
                (false, true) => 0.990,
                (true, false) => 0.800,
                (true, true) => 0.792,
            };
            on[if r1 {
                0
            } else if r2 {
                1
            } else {
                2
            }] += 1;
            let cases = m["failure_cases"].as_array().unwrap();
            assert_eq!(cases.len(), 3, "{run_dir}");
            let got: f64 = cases
                .iter()
                .map(|c| {
                    c["probability"].as_f64().unwrap() * c["on_time_fraction"].as_f64().unwrap()
                })
                .sum();
            assert!((got - want).abs() < 1e-9, "{run_dir} {map:?}: {got}");
            if let Some(a) = m["objectives"].get("Availability") {
                assert!((a.as_f64().unwrap() + want).abs() < 1e-9, "negated");
            }
        }
        counts.push(on);
    }
    assert_eq!(
        counts,
        [[7, 2, 2], [5, 0, 2]],
        "the page's table of the fronts"
    );

    // Standby replicas: h1 alone completes nothing when h1 is down; with its standby
    // on h2 the requests after the 300 ms detection complete (97 of 100).
    assert_eq!(row(&stdout(&outs[5].1), "h1"), ("0.0%".into(), false));
    assert_eq!(row(&stdout(&outs[6].1), "h1"), ("97.0%".into(), false));
    assert_eq!(row(&stdout(&outs[6].1), "h2"), ("100.0%".into(), true));

    // The two searches of sensor-helpers: every member's availability is the page's
    // rule (none 0.9405, h1 down 0.0495, h2 down 0.0095; a helper's case completes
    // everything when it runs no partition, 97 % when each of its partitions has a
    // standby, nothing otherwise), and the fronts hold what the page's table says.
    let mut best = Vec::new();
    let mut classes = Vec::new();
    for run_dir in ["runs/sensor-helpers", "runs/sensor-helpers-robust"] {
        let v: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join(run_dir).join("front.json")).unwrap(),
        )
        .unwrap();
        let mut tally: std::collections::BTreeMap<String, usize> = Default::default();
        let mut top: f64 = 0.0;
        for m in v["front"].as_array().unwrap() {
            let ids = |k: &str| -> Vec<Option<String>> {
                m[k].as_array()
                    .map(|a| a.iter().map(|d| d.as_str().map(String::from)).collect())
                    .unwrap_or_default()
            };
            let (map, standby) = (ids("map"), ids("standby"));
            let completes = |helper: &str| -> f64 {
                let mut any = false;
                let mut all_standby = true;
                for (i, _) in map
                    .iter()
                    .enumerate()
                    .filter(|(_, d)| d.as_deref() == Some(helper))
                {
                    any = true;
                    all_standby &= standby.get(i).is_some_and(Option::is_some);
                }
                match (any, all_standby) {
                    (false, _) => 1.0,
                    (true, true) => 0.97,
                    (true, false) => 0.0,
                }
            };
            let want = 0.9405 + 0.0495 * completes("h1") + 0.0095 * completes("h2");
            let cases = m["failure_cases"].as_array().unwrap();
            let got: f64 = cases
                .iter()
                .map(|c| {
                    c["probability"].as_f64().unwrap() * c["on_time_fraction"].as_f64().unwrap()
                })
                .sum();
            assert!(
                (got - want).abs() < 1e-9,
                "{run_dir} {map:?} {standby:?}: {got}"
            );
            top = top.max(got);
            let mut label: Vec<String> = map
                .iter()
                .enumerate()
                .map(|(i, d)| {
                    let d = d.clone().unwrap_or_default();
                    match standby.get(i).cloned().flatten() {
                        Some(s) => format!("{d}({s})"),
                        None => d,
                    }
                })
                .collect();
            label.sort();
            label.dedup();
            *tally.entry(label.join(",")).or_default() += 1;
        }
        best.push(top);
        classes.push(tally);
    }
    let count = |run: usize, k: &str| classes[run].get(k).copied().unwrap_or(0);
    let table: Vec<[usize; 5]> = (0..2)
        .map(|r| {
            [
                count(r, "h1"),
                count(r, "h2"),
                count(r, "h1,h2"),
                count(r, "h1(h2)"),
                count(r, "h2(h1)"),
            ]
        })
        .collect();
    assert_eq!(
        table,
        [[11, 2, 0, 0, 0], [8, 14, 2, 8, 6]],
        "the page's table of the fronts: {classes:?}"
    );
    assert!(
        (best[0] - 0.99).abs() < 1e-9 && (best[1] - 0.999215).abs() < 1e-9,
        "{best:?}"
    );
}

/// docs/export.md: the walk-through runs, its exported code builds with `cc` and the
/// harness prints what the page quotes; the export's table is the page's.
#[test]
fn export_md_commands_run() {
    let dir = scratch();
    let outs = run_page("docs/export.md", dir.path());
    assert_eq!(outs.len(), 2);
    let md = std::fs::read_to_string(repo("docs/export.md")).unwrap();
    let quoted = |start: &str| -> String {
        let block = md
            .split("```text\n")
            .find(|b| b.starts_with(start))
            .unwrap();
        block.split("```").next().unwrap().to_string()
    };
    assert_eq!(stdout(&outs[1].1), quoted("exported "));
    let c = dir.path().join("runs/export-demo/c");
    let make = std::process::Command::new("make")
        .arg("-s")
        .arg("-C")
        .arg(&c)
        .output()
        .unwrap();
    assert!(
        make.status.success(),
        "{}",
        String::from_utf8_lossy(&make.stderr)
    );
    let h = std::process::Command::new(c.join("harness"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&h.stdout), quoted("{\"accuracy\""));
    // the header excerpt is the exported partition 1's
    let header = std::fs::read_to_string(c.join("partition_1.h")).unwrap();
    for line in quoted("#define DN_P1_ARENA_BYTES").lines() {
        assert!(header.contains(line), "partition_1.h lacks `{line}`");
    }
}

/// The `distrinas` command lines of the `deploy/` examples: `distrinas …` lines of the
/// Slurm scripts, and the `command: [...]` / `args: [...]` lists (JSON-style flow
/// sequences) of the compose and Kubernetes files whose first word is a subcommand.
fn deploy_commands() -> Vec<(String, Vec<String>)> {
    let mut found = Vec::new();
    let mut files = Vec::new();
    let mut dirs = vec![repo("deploy")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                files.push(p);
            }
        }
    }
    files.sort();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        for line in text.lines().map(str::trim) {
            let args: Vec<String> = if let Some(rest) = line.strip_prefix("distrinas ") {
                split_shell(rest)
            } else if let Some(list) = ["command: ", "args: "]
                .iter()
                .find_map(|k| line.strip_prefix(k).filter(|l| l.starts_with('[')))
            {
                serde_json::from_str(list).unwrap_or_default()
            } else {
                continue;
            };
            if matches!(args.first().map(String::as_str), Some("search" | "worker")) {
                found.push((name.clone(), args));
            }
        }
    }
    found
}

/// The deploy examples' commands parse with the real CLI and get as far as opening
/// their storage (given an unknown URL here, and a scratch `--out`).
#[test]
fn deploy_commands_use_real_flags() {
    let cmds = deploy_commands();
    let files: std::collections::BTreeSet<&str> = cmds.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(
        files.into_iter().collect::<Vec<_>>(),
        [
            "coordinator.sbatch",
            "distrinas.yaml",
            "docker-compose.yml",
            "workers.sbatch"
        ]
    );
    assert_eq!(cmds.len(), 6, "{cmds:?}");
    let dir = scratch();
    for (file, args) in &cmds {
        let mut a: Vec<String> = Vec::new();
        let mut it = args.iter();
        while let Some(w) = it.next() {
            match w.as_str() {
                "--storage" => {
                    it.next();
                    a.extend(["--storage".into(), "mysql://deploy-test/db".into()]);
                }
                "--out" => {
                    it.next();
                    a.extend(["--out".into(), dir.path().join(file).display().to_string()]);
                }
                // ${NAME:-default}: the default, if any
                w if w.starts_with("${") => {
                    let d = w.trim_end_matches('}').split(":-").nth(1).unwrap_or("");
                    if !d.is_empty() {
                        a.push(d.into());
                    }
                }
                w => a.push(w.into()),
            }
        }
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        let o = run(&refs);
        let err = stderr(&o);
        assert!(
            o.status.code() != Some(2) && err.contains("storage `mysql://deploy-test/db`"),
            "{file}: {args:?}: {err}"
        );
    }
}

/// scale-out.md's first example: the coordinator (`--workers external`, given small
/// settings here) and a worker started beside it finish the run together.
#[test]
fn scale_out_md_example_runs() {
    let md = std::fs::read_to_string(repo("docs/scale-out.md")).unwrap();
    let cmds = doc_commands(&md);
    let (search, worker) = (&cmds[0].args, &cmds[1].args);
    assert_eq!(
        (search[0].as_str(), worker[0].as_str()),
        ("search", "worker")
    );
    assert!(search.iter().any(|a| a == "external"), "{search:?}");
    let dir = scratch();
    let mut a = search.clone();
    a.extend(
        [
            "--population",
            "8",
            "--generations",
            "2",
            "--final-epochs",
            "0",
        ]
        .map(String::from),
    );
    let coordinator = std::process::Command::new(env!("CARGO_BIN_EXE_distrinas"))
        .args(&a)
        .current_dir(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let refs: Vec<&str> = worker.iter().map(String::as_str).collect();
    let w = super::cli_support::run_in(dir.path(), &refs);
    let c = coordinator.wait_with_output().unwrap();
    assert!(c.status.success(), "{}", String::from_utf8_lossy(&c.stderr));
    assert!(w.status.success(), "{}", stderr(&w));
    assert!(stderr(&w).contains("worker: ") && dir.path().join("runs/so/front.json").is_file());
    // the worker did every evaluation: 8 + 8 candidates at most
    let n: usize = stderr(&w)
        .lines()
        .find_map(|l| {
            l.strip_prefix("worker: ")?
                .strip_suffix(" evaluations")?
                .parse()
                .ok()
        })
        .unwrap();
    assert!((1..=16).contains(&n), "{n}");
}
