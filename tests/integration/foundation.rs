//! Integration tests: foundation (scenario loading, validation messages with
//! line:column, profiles, network construction, `validate` and `inspect`).

use crate::cli_support::{repo, run, stderr, stdout};
use distrinas::network::Network;
use distrinas::scenario::{Scenario, ScenarioError, SpanIndex};
use rand::{Rng, SeedableRng};

/// A valid scenario; tests break one thing at a time. Line numbers matter: the
/// expected messages below point into this text.
const BASE: &str = r#"Scenario(
    name: "t",
    dataset: (kind: Ts, train: "../data/BasicMotions/BasicMotions_TRAIN.ts"),
    devices: [
        (id: "a", profile: "nrf52840"),
        (id: "b", profile: "esp32s3"),
        (id: "c", profile: "rpi4"),
    ],
    links: [
        (a: "a", b: "b", profile: "ble-1m"),
        (a: "b", b: "c", profile: "wifi"),
    ],
    source: "a",
    sink: "c",
    workload: (arrivals: Periodic(period_ms: 100.0), requests: 10),
    events: [DeviceDown(device: "b", at_ms: 10.0)],
)"#;

fn load(text: &str) -> Result<distrinas::scenario::LoadedScenario, ScenarioError> {
    Scenario::from_text(text, "t.ron", &repo("scenarios"))
}

/// All error lines of a variant of BASE with `from` replaced by `to` (once).
fn errors(from: &str, to: &str) -> Vec<String> {
    assert!(BASE.contains(from), "BASE does not contain {from:?}");
    let text = BASE.replacen(from, to, 1);
    match load(&text) {
        Ok(_) => panic!("{from:?} -> {to:?} should be invalid"),
        Err(e) => e.lines(),
    }
}

fn assert_error(from: &str, to: &str, expected: &str) {
    let e = errors(from, to);
    assert!(
        e.iter().any(|l| l == expected),
        "expected {expected:?} among {e:#?}"
    );
}

#[test]
fn base_scenario_is_valid() {
    let l = load(BASE).unwrap();
    assert_eq!(l.device_profiles.len(), 3);
    assert_eq!(l.link_profiles[0].bandwidth_bps, 300_000.0);
}

#[test]
fn parse_error_has_line_and_column() {
    let e = errors("    sink: \"c\",", "    sink: \"c\"");
    assert_eq!(e, vec!["t.ron:15:5: Expected comma".to_string()]);
}

#[test]
fn unknown_field_has_line_and_column() {
    let e = errors(
        "(id: \"c\", profile: \"rpi4\")",
        "(id: \"c\", profile: \"rpi4\", ram: 3)",
    );
    assert_eq!(e.len(), 1);
    assert!(
        e[0].starts_with("t.ron:7:36: Unexpected field named `ram` in `DeviceSpec`"),
        "{e:?}"
    );
}

#[test]
fn duplicate_device_id() {
    assert_error(
        "(id: \"c\", profile: \"rpi4\")",
        "(id: \"a\", profile: \"rpi4\")",
        "t.ron:7:14: duplicate device id \"a\" (first defined at 5:14)",
    );
}

#[test]
fn link_to_unknown_device() {
    let e = errors("(a: \"b\", b: \"c\"", "(a: \"b\", b: \"x\"");
    assert_eq!(
        e[0],
        "t.ron:11:21: link 1: unknown device \"x\" (known: a, b, c)"
    );
    // c is now isolated: the sink is unreachable too.
    assert_eq!(
        e[1],
        "t.ron:14:11: sink \"c\" is unreachable from source \"a\" (no path of links)"
    );
}

#[test]
fn self_loop() {
    assert_error(
        "(a: \"b\", b: \"c\"",
        "(a: \"b\", b: \"b\"",
        "t.ron:11:21: link 1: self-loop: both ends are \"b\"",
    );
}

#[test]
fn duplicate_link() {
    assert_error(
        "(a: \"b\", b: \"c\", profile: \"wifi\"),",
        "(a: \"b\", b: \"c\", profile: \"wifi\"), (a: \"c\", b: \"b\", profile: \"wifi\"),",
        "t.ron:11:56: link 2: duplicate link between \"c\" and \"b\" (link 1)",
    );
}

#[test]
fn unknown_device_profile_lists_known_ones() {
    assert_error(
        "profile: \"esp32s3\"",
        "profile: \"esp32\"",
        "t.ron:6:28: device \"b\": unknown device profile \"esp32\" (known: esp32s3, nrf52832, nrf52840, rp2040, rpi4, stm32f746, stm32l432kc, or a path ending in .ron)",
    );
}

#[test]
fn unknown_link_profile_lists_known_ones() {
    assert_error(
        "profile: \"wifi\"",
        "profile: \"wlan\"",
        "t.ron:11:35: link 1: unknown link profile \"wlan\" (known: 802.15.4, ble, ble-1m, ble-2m, ethernet, ieee802154, lora-sf7, wifi, or a path ending in .ron)",
    );
}

#[test]
fn non_positive_numbers() {
    assert_error(
        "profile: \"wifi\")",
        "profile: \"wifi\", bandwidth_bps: 0.0)",
        "t.ron:11:58: link 1: bandwidth_bps must be > 0 (got 0)",
    );
    assert_error(
        "profile: \"esp32s3\")",
        "profile: \"esp32s3\", sram_bytes: 0)",
        "t.ron:6:51: device \"b\": sram_bytes must be > 0 (got 0)",
    );
    assert_error(
        "profile: \"esp32s3\")",
        "profile: \"esp32s3\", mac_per_s: -1.0)",
        "t.ron:6:50: device \"b\": mac_per_s must be > 0 (got -1)",
    );
    assert_error(
        "profile: \"wifi\")",
        "profile: \"wifi\", mtu_bytes: 40)",
        "t.ron:11:54: link 1: mtu_bytes must be greater than header_bytes (got 40 <= 40)",
    );
    assert_error(
        "period_ms: 100.0",
        "period_ms: 0.0",
        "t.ron:15:46: workload period_ms must be > 0 (got 0)",
    );
}

/// Values the nanosecond clock or the energy sums cannot hold (issue 13: 1e308 ms
/// saturated the clock and made candidates "feasible"; 1e308 mW wrote `null` into
/// front.json). Each is rejected with its line and the bound it breaks.
#[test]
fn values_beyond_the_clock_and_energy_bounds_are_rejected() {
    let cases = [
        // (from, to, line, expected fragment)
        (
            "profile: \"wifi\")",
            "profile: \"wifi\", latency_ms: 1e308)",
            11,
            "link 1: latency_ms must be at most 1000000000000 ms",
        ),
        (
            "profile: \"wifi\")",
            "profile: \"wifi\", bandwidth_bps: 0.5)",
            11,
            "link 1: bandwidth_bps must be at least 1 (got 0.5)",
        ),
        (
            "period_ms: 100.0",
            "period_ms: 1e308",
            15,
            "workload period_ms must be at most 1000000000000 ms",
        ),
        // 10 requests × 2e11 ms = 2e12 ms > 1e12 ms, though each period is fine
        (
            "period_ms: 100.0",
            "period_ms: 2e11",
            15,
            "requests × period_ms = 2e12 ms exceeds",
        ),
        (
            "profile: \"esp32s3\")",
            "profile: \"esp32s3\", tx_mw: 1e308)",
            6,
            "device \"b\": tx_mw must be at most 10000000 mW (10 kW) (got 1e308)",
        ),
        (
            "profile: \"esp32s3\")",
            "profile: \"esp32s3\", battery_mj: 1e300)",
            6,
            "battery_mj must be at most",
        ),
        (
            "at_ms: 10.0",
            "at_ms: 1e13",
            16,
            "event 0: at_ms must be at most 1000000000000 ms",
        ),
        (
            "requests: 10",
            "requests: 10000001",
            15,
            "must be in 1..=10000000",
        ),
    ];
    for (from, to, line, fragment) in cases {
        let e = errors(from, to);
        assert!(
            e.iter()
                .any(|l| l.starts_with(&format!("t.ron:{line}:")) && l.contains(fragment)),
            "{to:?}: expected line {line} with {fragment:?} among {e:#?}"
        );
    }
}

#[test]
fn source_or_sink_missing() {
    assert_error(
        "source: \"a\"",
        "source: \"\"",
        "t.ron:13:13: source: unknown device \"\" (known: a, b, c)",
    );
    assert_error(
        "sink: \"c\"",
        "sink: \"phone\"",
        "t.ron:14:11: sink: unknown device \"phone\" (known: a, b, c)",
    );
    let e = errors("    source: \"a\",\n", "");
    assert_eq!(e.len(), 1);
    assert!(e[0].starts_with("t.ron:"), "{e:?}");
    assert!(e[0].contains("source"), "{e:?}");
}

#[test]
fn sink_unreachable() {
    let e = errors("        (a: \"b\", b: \"c\", profile: \"wifi\"),\n", "");
    assert_eq!(
        e,
        vec!["t.ron:13:11: sink \"c\" is unreachable from source \"a\" (no path of links)"]
    );
}

#[test]
fn events_naming_unknown_things_or_negative_times() {
    assert_error(
        "DeviceDown(device: \"b\", at_ms: 10.0)",
        "DeviceDown(device: \"z\", at_ms: 10.0)",
        "t.ron:16:33: event 0: unknown device \"z\" (known: a, b, c)",
    );
    assert_error(
        "DeviceDown(device: \"b\", at_ms: 10.0)",
        "DeviceDown(device: \"b\", at_ms: -5.0)",
        "t.ron:16:45: event 0: at_ms must be >= 0 (got -5)",
    );
    assert_error(
        "DeviceDown(device: \"b\", at_ms: 10.0)",
        "LinkDown(a: \"a\", b: \"c\", at_ms: 1.0)",
        "t.ron:16:34: event 0: no link between \"a\" and \"c\"",
    );
    assert_error(
        "DeviceDown(device: \"b\", at_ms: 10.0)",
        "LinkBandwidth(a: \"a\", b: \"b\", factor: 0.0, at_ms: 1.0)",
        "t.ron:16:52: event 0: factor must be > 0 (got 0)",
    );
}

#[test]
fn dataset_files_missing() {
    assert_error(
        "BasicMotions_TRAIN.ts\"",
        "BasicMotions_TRAIN.tsx\"",
        "t.ron:3:32: dataset train file \"../data/BasicMotions/BasicMotions_TRAIN.tsx\" not found (relative paths resolve against the scenario's folder)",
    );
}

#[test]
fn search_sizes_out_of_range() {
    assert_error(
        "    source: \"a\",",
        "    search: (population: 1, generations: 0),\n    source: \"a\",",
        "t.ron:13:26: search.population must be in 2..=100000 (got 1)",
    );
    assert_error(
        "    source: \"a\",",
        "    search: (population: 1, generations: 0),\n    source: \"a\",",
        "t.ron:13:42: search.generations must be in 1..=1000000 (got 0)",
    );
    assert_error(
        "    source: \"a\",",
        "    space: (min_blocks: 5, max_blocks: 2),\n    source: \"a\",",
        "t.ron:13:25: space.min_blocks must be in 1..=2 (got 5)",
    );
}

#[test]
fn every_error_of_a_file_is_reported() {
    let text = BASE
        .replacen("profile: \"esp32s3\"", "profile: \"esp32\"", 1)
        .replacen("source: \"a\"", "source: \"q\"", 1)
        .replacen("at_ms: 10.0", "at_ms: -1.0", 1);
    let e = load(&text).unwrap_err().lines();
    assert_eq!(e.len(), 3, "{e:#?}");
}

#[test]
fn profile_from_a_ron_file_and_its_parse_errors() {
    let dir = tempfile::tempdir().unwrap();
    let prof = dir.path().join("tiny.ron");
    std::fs::write(
        &prof,
        "DeviceProfile(flash_bytes: 1000, sram_bytes: 500, mac_per_s: 1e6,\n layer_overhead_us: 1.0, active_mw: 1.0, idle_mw: 0.1, tx_mw: 1.0, rx_mw: 1.0)",
    )
    .unwrap();
    let text = BASE.replacen(
        "profile: \"nrf52840\"",
        &format!("profile: {:?}", prof.display().to_string()),
        1,
    );
    let l = load(&text).unwrap();
    assert_eq!(l.device_profiles[0].sram_bytes, 500);
    assert_eq!(l.network().devices()[0].mac_per_s, 1e6);

    std::fs::write(&prof, "DeviceProfile(\n  flash_bytes: -3)").unwrap();
    let e = load(&text).unwrap_err().lines();
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with(&format!("{}:2:17: ", prof.display())),
        "{e:?}"
    );
    let missing = BASE.replacen("profile: \"nrf52840\"", "profile: \"nope/tiny.ron\"", 1);
    let e = load(&missing).unwrap_err().lines();
    assert!(
        e[0].starts_with("t.ron:5:28: device \"a\": cannot read profile file \"nope/tiny.ron\": "),
        "{e:?}"
    );
}

#[test]
fn load_reports_unreadable_file() {
    let e = Scenario::load("no/such/file.ron").unwrap_err();
    assert!(matches!(e, ScenarioError::Io { .. }));
    assert!(
        e.to_string().starts_with("no/such/file.ron: cannot read: "),
        "{e}"
    );
}

#[test]
fn embedded_quickstart_matches_the_file_and_reads_embedded_data() {
    let q = Scenario::embedded_quickstart();
    let disk = Scenario::load(repo("scenarios/quickstart.ron")).unwrap();
    assert_eq!(q.scenario, disk.scenario);
    assert!(q.embedded && !disk.embedded);
    let train_disk = disk.read_data(&disk.train_path()).unwrap();
    assert_eq!(q.read_data(&q.train_path()).unwrap(), train_disk);
    let test = q.read_data(&q.test_path().unwrap()).unwrap();
    assert!(String::from_utf8_lossy(&test).contains("@problemName MNIST1D"));
    assert_eq!(q.scenario.source, "ankle");
}

#[test]
fn network_from_scenario_shares_media() {
    let star = Scenario::load(repo("scenarios/star.ron")).unwrap();
    let net = Network::from_scenario(&star);
    assert_eq!(net.devices().len(), 6);
    assert_eq!(net.media(), vec!["channel-15".to_string()]);
    assert_eq!(net.links_on_medium(0), vec![0, 1, 2, 3]);
    let t: Vec<usize> = (0..4)
        .map(|l| net.transmitter(l, net.links()[l].a))
        .collect();
    assert!(t.iter().all(|&x| x == t[0]));
    assert_ne!(net.transmitter(4, net.links()[4].a), t[0]);
    let q = Scenario::load(repo("scenarios/wearable.ron"))
        .unwrap()
        .network();
    assert_eq!(q.media(), vec!["home-wifi".to_string()]);
    assert_eq!(q.devices()[0].sram_bytes, 262_144);
}

#[test]
fn multihop_route_has_four_hops_with_exact_latency() {
    let l = Scenario::load(repo("scenarios/multihop.ron")).unwrap();
    let net = l.network();
    let r = net.route(0, 4, 1024).unwrap();
    assert_eq!(r.hops.len(), 4);
    // 1024 B in ceil(1024/104) = 10 frames of 23 B header: 1254 B × 8 / 100 kb/s
    // = 100.32 ms + 4 ms per hop.
    assert_eq!(r.latency_ns, 4 * 104_320_000);
}

#[test]
fn whatif_events_change_routes() {
    let l = Scenario::load(repo("scenarios/whatif-failure.ron")).unwrap();
    let mut net = l.network();
    let (w, h, p) = (0, 1, 2);
    assert_eq!(net.route(w, p, 1024).unwrap().hops.len(), 2);
    net.set_device_up(h, false);
    let r = net.route(w, p, 1024).unwrap();
    assert_eq!(r.hops.len(), 1);
    assert_eq!(r.hops[0].link, 2);
    net.set_device_up(h, true);
    assert_eq!(net.route(w, p, 1024).unwrap().hops.len(), 2);
}

#[test]
fn span_index_points_at_values() {
    let ix = SpanIndex::build(BASE);
    assert_eq!(ix.exact("devices[2].profile"), Some((7, 28)));
    assert_eq!(ix.exact("links[0].b"), Some((10, 21)));
    assert_eq!(ix.exact("events[0].at_ms"), Some((16, 45)));
}

fn example_scenarios() -> Vec<(String, String)> {
    let mut v: Vec<_> = std::fs::read_dir(repo("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ron"))
        .map(|p| {
            (
                p.display().to_string(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    assert!(v.len() >= 5);
    v
}

#[test]
fn no_panic_on_truncated_or_mutated_scenarios() {
    const SPECIAL: &[char] = &[
        '(', ')', '[', ']', '{', '}', ',', ':', '"', '\'', '/', '*', '#', '-', '.', '0', '9', 'e',
        'x', ' ', '\n', 'r', 'é', '\\',
    ];
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(20261123);
    let base = repo("scenarios");
    let mut variants = 0;
    for (name, text) in example_scenarios() {
        let chars: Vec<char> = text.chars().collect();
        // Truncations.
        for k in (0..chars.len()).step_by((chars.len() / 200).max(1)) {
            let t: String = chars[..k].iter().collect();
            let _ = Scenario::from_text(&t, &name, &base);
            variants += 1;
        }
        // Mutations: replace, insert or delete 1-3 characters.
        for _ in 0..500 {
            let mut c = chars.clone();
            for _ in 0..rng.random_range(1..=3) {
                let i = rng.random_range(0..c.len());
                match rng.random_range(0..4) {
                    0 => c[i] = SPECIAL[rng.random_range(0..SPECIAL.len())],
                    1 => c.insert(i, SPECIAL[rng.random_range(0..SPECIAL.len())]),
                    2 => {
                        c.remove(i);
                    }
                    _ => c[i] = char::from(rng.random_range(32u8..127)),
                }
            }
            let t: String = c.iter().collect();
            let _ = SpanIndex::build(&t);
            if let Ok(l) = Scenario::from_text(&t, &name, &base) {
                let net = l.network();
                let _ = net.route(0, net.devices().len() - 1, 1024);
            }
            variants += 1;
        }
    }
    assert!(variants > 3000, "{variants}");
}

#[test]
fn cli_validate_examples_exit_zero() {
    let mut args = vec!["validate".to_string()];
    for (name, _) in example_scenarios() {
        args.push(name);
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = run(&refs);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o).lines().filter(|l| l.ends_with(": ok")).count(),
        refs.len() - 1
    );
}

#[test]
fn cli_validate_reports_every_file_and_exits_one() {
    let dir = tempfile::tempdir().unwrap();
    let data = repo("data/BasicMotions/BasicMotions_TRAIN.ts")
        .display()
        .to_string();
    let good = BASE.replacen("../data/BasicMotions/BasicMotions_TRAIN.ts", &data, 1);
    let bad1 = good.replacen("sink: \"c\"", "sink: \"zz\"", 1);
    let bad2 = good.replacen("    sink: \"c\",", "    sink: \"c\"", 1);
    for (n, t) in [
        ("good.ron", &good),
        ("bad1.ron", &bad1),
        ("bad2.ron", &bad2),
    ] {
        std::fs::write(dir.path().join(n), t).unwrap();
    }
    let o = crate::cli_support::run_in(
        dir.path(),
        &["validate", "good.ron", "bad1.ron", "bad2.ron"],
    );
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("bad1.ron:14:11: sink: unknown device \"zz\" (known: a, b, c)"),
        "{err}"
    );
    assert!(err.contains("bad2.ron:15:5: Expected comma"), "{err}");
    assert!(stdout(&o).contains("good.ron: ok"));
    let o = crate::cli_support::run_in(dir.path(), &["validate", "--json", "good.ron", "bad1.ron"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["valid"], false);
    assert_eq!(v["files"][0]["valid"], true);
    assert_eq!(v["files"][1]["errors"].as_array().unwrap().len(), 1);
    // Usage error: no file.
    assert_eq!(run(&["validate"]).status.code(), Some(2));
}

#[test]
fn cli_inspect_multihop_shows_four_hops() {
    let o = run(&["inspect", "scenarios/multihop.ron"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let far = out
        .lines()
        .find(|l| l.starts_with("n4 ") && l.contains("→"))
        .unwrap_or_else(|| panic!("{out}"));
    let cols: Vec<&str> = far.split_whitespace().collect();
    assert_eq!(cols[1], "4", "{far}");
    assert_eq!(cols[2], "417.280", "{far}");
    assert!(far.ends_with("n0 → n1 → n2 → n3 → n4"), "{far}");
}

#[test]
fn cli_inspect_json_and_dot() {
    let dir = tempfile::tempdir().unwrap();
    let dot = dir.path().join("star.dot");
    let o = run(&[
        "inspect",
        "scenarios/star.ron",
        "--json",
        "--dot",
        dot.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["devices"].as_array().unwrap().len(), 6);
    assert_eq!(v["links"][0]["medium"], "channel-15");
    let server = v["routes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["to"] == "server")
        .unwrap();
    assert_eq!(server["hops"], 2);
    assert_eq!(
        server["path"],
        serde_json::json!(["s1", "gateway", "server"])
    );
    let text = std::fs::read_to_string(&dot).unwrap();
    assert!(text.starts_with("graph \"star\" {"));
    assert_eq!(text.matches(" -- ").count(), 5);
    assert_eq!(text.matches("style=dashed").count(), 4);
    // Without a file: the embedded quickstart, from any folder.
    let o = crate::cli_support::run_in(dir.path(), &["inspect"]);
    assert!(stdout(&o).contains("scenario quickstart"), "{}", stderr(&o));
}

/// ```ron blocks of a markdown page.
fn ron_blocks(md: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    for line in md.lines() {
        match (&mut cur, line.trim_start()) {
            (None, l) if l.starts_with("```ron") => cur = Some(String::new()),
            (Some(_), l) if l.starts_with("```") => out.push(cur.take().unwrap()),
            (Some(b), _) => {
                b.push_str(line);
                b.push('\n');
            }
            _ => {}
        }
    }
    out
}

#[test]
fn every_ron_example_in_scenarios_doc_parses() {
    use distrinas::scenario::{profiles, Event};
    let md = std::fs::read_to_string(repo("docs/scenarios.md")).unwrap();
    let blocks = ron_blocks(&md);
    assert!(blocks.len() >= 4, "{}", blocks.len());
    let mut scenarios = 0;
    for b in &blocks {
        let body = b
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let head = body.trim_start();
        if head.starts_with("Scenario(") {
            // Paths in the doc resolve like a file in scenarios/.
            let l = Scenario::from_text(b, "docs/scenarios.md", &repo("scenarios"))
                .unwrap_or_else(|e| panic!("{e}\n{b}"));
            assert_eq!(l.network().devices().len(), 3);
            scenarios += 1;
        } else if head.starts_with("DeviceProfile(") {
            profiles::parse_device_profile("doc", b).unwrap_or_else(|e| panic!("{e}\n{b}"));
        } else if head.starts_with("LinkProfile(") {
            profiles::parse_link_profile("doc", b).unwrap_or_else(|e| panic!("{e}\n{b}"));
        } else if head.starts_with('[') {
            let v: Vec<Event> = distrinas::scenario::ron_options()
                .from_str(b)
                .unwrap_or_else(|e| panic!("{e}\n{b}"));
            assert_eq!(v.len(), 5);
        } else if let Some(rest) = head.strip_prefix("failures:") {
            let f: distrinas::scenario::Failures = distrinas::scenario::ron_options()
                .from_str(rest.trim().trim_end_matches(','))
                .unwrap_or_else(|e| panic!("{e}\n{b}"));
            // by hand: p_down 0.2; MTTR / (MTBF + MTTR) = 10 / 1000
            let p: Vec<f64> = f.devices.iter().map(|d| d.probability()).collect();
            assert_eq!(p, [0.2, 0.01]);
            assert_eq!(f.links[0].probability(), 0.05);
            assert_eq!(f.cases.map(|c| c.len()), Some(4));
            assert_eq!(f.failover.detection_ms(), 300.0);
        } else if head.starts_with('(') {
            // search.fidelity
            let f: distrinas::scenario::Fidelity = distrinas::scenario::ron_options()
                .from_str(b)
                .unwrap_or_else(|e| panic!("{e}\n{b}"));
            assert_eq!(f.requests, Some(100));
            assert_eq!(
                f.surrogate,
                Some(distrinas::scenario::SurrogateSettings::default())
            );
        } else if let Some(rest) = head.strip_prefix("latency:") {
            let m: std::collections::BTreeMap<String, distrinas::scenario::LayerLatency> =
                distrinas::scenario::ron_options()
                    .from_str(rest.trim().trim_end_matches(','))
                    .unwrap_or_else(|e| panic!("{e}\n{b}"));
            // 32 µs + 62.5 ns × 1000 MACs + 1.34 ns × 100 bytes = 94,634 ns
            assert_eq!(m["Conv2d"].time_ns(1000, 100), 94_634);
        } else {
            panic!("unrecognised ron block:\n{b}");
        }
    }
    assert_eq!(scenarios, 1);
}

#[test]
fn scenarios_doc_documents_every_schema_field_and_variant() {
    let md = std::fs::read_to_string(repo("docs/scenarios.md")).unwrap();
    let schema = std::fs::read_to_string(repo("src/scenario/schema.rs")).unwrap();
    let mut missing = Vec::new();
    let mut checked = 0;
    let mut in_enum = false;
    for line in schema.lines() {
        let t = line.trim_start();
        if t.starts_with("pub enum ") {
            in_enum = true;
        } else if t.starts_with("pub struct ")
            || t.starts_with("impl ")
            || t == "}" && !line.starts_with(' ')
        {
            in_enum = false;
        }
        if t.starts_with("//") || t.starts_with('#') {
            continue;
        }
        // Fields (struct fields and struct-variant fields): `name: Type`.
        let f = t.strip_prefix("pub ").unwrap_or(t);
        if let Some((name, _)) = f.split_once(": ") {
            if !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                && !t.starts_with("pub fn")
            {
                checked += 1;
                if !md.contains(&format!("`{name}`")) && !md.contains(&format!("{name}:")) {
                    missing.push(name.to_string());
                }
            }
        }
        // Enum variants: `Name,` or `Name {` at enum-body indentation.
        if in_enum && line.starts_with("    ") && !line.starts_with("     ") {
            let v: String = t
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            if v.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                && t.len() > v.len()
                && (t[v.len()..].starts_with(',') || t[v.len()..].starts_with(" {"))
            {
                checked += 1;
                if !md.contains(&format!("`{v}`"))
                    && !md.contains(&format!("{v}("))
                    && !md.contains(&format!("{v},"))
                {
                    missing.push(v);
                }
            }
        }
    }
    assert!(
        checked > 80,
        "only {checked} schema names found: is the parser stale?"
    );
    assert!(
        missing.is_empty(),
        "undocumented in docs/scenarios.md: {missing:?}"
    );
}

/// Issue 13: inputs that sized allocations past any machine (a 1.2 M-device scenario,
/// `--population 1000000000`, `space.kernels: [4096]`) are refused with the bound or
/// the estimate, before the allocation.
#[test]
fn sizes_past_the_limits_are_refused_before_allocation() {
    // 10 001 devices: one past the limit, reported at `devices`
    let many: String = (0..10_001)
        .map(|i| format!("(id: \"d{i}\", profile: \"rpi4\"),"))
        .collect();
    let e = errors(
        "(id: \"a\", profile: \"nrf52840\"),",
        &format!("(id: \"a\", profile: \"nrf52840\"),{many}"),
    );
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with("t.ron:4:")
            && e[0].ends_with("devices: 10004 entries, at most 10000 are supported"),
        "{e:?}"
    );

    let o = run(&["search", "--population", "1000000000"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("--population must be in 2..=100000 (got 1000000000)"),
        "{}",
        stderr(&o)
    );

    // the quickstart's space with 4096-wide kernels: the largest network would need
    // more than 4 GiB to train
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(repo("scenarios/quickstart.ron"))
        .unwrap()
        .replace("kernels: [3, 5]", "kernels: [4096]")
        .replace("\"../data/", &format!("\"{}/", repo("data").display()));
    let sc = dir.path().join("wide.ron");
    std::fs::write(&sc, text).unwrap();
    let out = dir.path().join("run");
    let o = run(&[
        "search",
        sc.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--generations",
        "1",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("the largest network of the space would need about")
            && stderr(&o).contains("MiB to train, more than the limit of 4096 MiB"),
        "{}",
        stderr(&o)
    );
}

/// A bad failure model is refused at the line and column of the culprit.
#[test]
fn failure_model_errors_are_located() {
    let at = "    events: [DeviceDown(device: \"b\", at_ms: 10.0)],";
    let with = |failures: &str| format!("{at}\n    failures: {failures},");
    assert_error(
        at,
        &with(r#"(devices: [(id: "x", p_down: 0.1)])"#),
        r#"t.ron:17:31: failures.devices[0]: unknown device "x" (known: a, b, c)"#,
    );
    assert_error(
        at,
        &with(r#"(devices: [(id: "b", p_down: 1.0)])"#),
        "t.ron:17:44: failures.devices[0]: p_down must be in [0, 1) (got 1)",
    );
    assert_error(
        at,
        &with(r#"(devices: [(id: "b", mtbf_h: 10.0)])"#),
        "t.ron:17:26: failures.devices[0]: expected either p_down, or both mtbf_h and mttr_h",
    );
    assert_error(
        at,
        &with(r#"(links: [(a: "a", b: "c", p_down: 0.1)])"#),
        r#"t.ron:17:36: failures.links[0]: no link between "a" and "c""#,
    );
    assert_error(
        at,
        &with(r#"(devices: [(id: "b", p_down: 0.1)], cases: [["c"]])"#),
        r#"t.ron:17:60: failures.cases[0]: "c" is not in failures.devices or failures.links (what has no failure probability is never down)"#,
    );
    assert_error(
        at,
        &with(
            r#"(devices: [(id: "b", p_down: 0.1)], failover: Heartbeat(period_ms: 100.0, missed: 0))"#,
        ),
        "t.ron:17:97: failures.failover: missed must be at least 1 heartbeat",
    );
    assert_error(
        at,
        &with(r#"(devices: [(id: "b", p_down: 0.1)], failover: Timeout(ms: 0.0))"#),
        "t.ron:17:73: failures.failover: ms must be > 0 (got 0)",
    );
    assert_error(
        at,
        &with(r#"(devices: [(id: "b", p_down: 0.1)], sample: 0)"#),
        "t.ron:17:59: failures.sample must be in 1..=1000000 (got 0)",
    );
    assert_error(
        at,
        &with(r#"(devices: [(id: "b", p_down: 0.1)], cases: [["b"]], sample: 10)"#),
        "t.ron:17:75: failures: give either cases or sample, not both",
    );
    // a link named in either order, and Availability with a model, are fine
    let ok = BASE.replacen(
        at,
        &with(r#"(links: [(a: "c", b: "b", p_down: 0.1)], cases: [["b-c"]])"#),
        1,
    );
    load(&ok).unwrap();
    assert_error(
        "    events:",
        "    search: (objectives: [ValLoss, Availability]),\n    events:",
        "t.ron:16:36: search.objectives: Availability needs a failure model: add `failures: (devices: [(id: \"...\", p_down: 0.05)])`",
    );
}

/// A profile's fitted latency model is used only with non-negative coefficients: a
/// profile file with a negative one is refused, naming the device, kind and field.
#[test]
fn a_negative_fitted_latency_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let prof = |ns_per_mac: &str| {
        let text = std::fs::read_to_string(repo("models/devices/nrf52840.ron"))
            .unwrap()
            .trim_end()
            .trim_end_matches(')')
            .to_string()
            + &format!(
                "    latency: {{\"Dense\": LayerLatency(overhead_us: 5.0, ns_per_mac: {ns_per_mac}, ns_per_byte: 0.0)}},\n)\n"
            );
        std::fs::write(dir.path().join("cal.ron"), text).unwrap();
    };
    let text = BASE
        .replacen("profile: \"nrf52840\"", "profile: \"cal.ron\"", 1)
        .replace("\"../data/", &format!("\"{}/", repo("data").display()));
    prof("60.0");
    let l = Scenario::from_text(&text, "t.ron", dir.path()).unwrap();
    assert_eq!(l.network().devices()[0].latency["Dense"].ns_per_mac, 60.0);
    prof("-1.0");
    let e = Scenario::from_text(&text, "t.ron", dir.path())
        .unwrap_err()
        .lines();
    assert!(
        e.iter()
            .any(|l| l
                .ends_with("device \"a\": latency[\"Dense\"].ns_per_mac must be >= 0 (got -1)")),
        "{e:#?}"
    );
}

/// Bad fidelity-ladder settings are refused at the culprit (columns counted by hand).
#[test]
fn fidelity_errors_are_located() {
    let at = "    events:";
    let with = |search: &str| format!("    search: {search},\n    events:");
    assert_error(
        at,
        &with("(fidelity: (requests: 0))"),
        "t.ron:16:35: search.fidelity.requests must be >= 1 (or None: workload.requests)",
    );
    assert_error(
        at,
        &with("(fidelity: (surrogate: (promote: 1.5)))"),
        "t.ron:16:46: search.fidelity.surrogate.promote must be in (0, 1] (got 1.5)",
    );
    assert_error(
        at,
        &with("(objectives: [LatencyP95], fidelity: (surrogate: ()))"),
        "t.ron:16:62: search.fidelity.surrogate: no objective or constraint depends on training (ValLoss, Error or app.min_accuracy), so there is nothing to predict",
    );
    let ok = BASE.replacen(
        at,
        &with("(fidelity: (requests: 20, surrogate: (model: Linear, margin: 0.5)))"),
        1,
    );
    let s = load(&ok).unwrap().scenario.search.fidelity;
    assert_eq!(s.requests, Some(20));
    let sg = s.surrogate.unwrap();
    assert_eq!(sg.model, distrinas::scenario::SurrogateModel::Linear);
    assert_eq!(
        (sg.margin, sg.min_rank_correlation, sg.promote),
        (0.5, 0.7, 1.0)
    );
}
