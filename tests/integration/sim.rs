//! Integration tests: the discrete-event simulator against closed forms.

use distrinas::network::{Device, Link, Network};
use distrinas::sim::{
    simulate, simulate_traced, ArrivalProcess, Change, InferencePlan, ServiceTime, SimConfig,
    SimWorkload, Stage, WhatIf,
};

fn device(id: &str) -> Device {
    Device {
        id: id.into(),
        profile: "test".into(),
        flash_bytes: 1 << 20,
        sram_bytes: 256 << 10,
        mac_per_s: 1e8,
        layer_overhead_us: 10.0,
        active_mw: 20.0,
        idle_mw: 1.0,
        tx_mw: 15.0,
        rx_mw: 12.0,
        battery_mj: None,
        cores: 1,
        energy_budget_mj: None,
        latency: Default::default(),
    }
}

/// 1 Mb/s (8000 ns per byte), 1 ms hop latency, 80 payload + 20 header bytes per packet.
fn link(a: usize, b: usize) -> Link {
    Link {
        a,
        b,
        profile: "test".into(),
        bandwidth_bps: 1e6,
        latency_ms: 1.0,
        mtu_bytes: 100,
        header_bytes: 20,
        loss: 0.0,
        medium: None,
    }
}

fn single_device_plan(compute_ns: u64) -> (Network, InferencePlan) {
    let net = Network::new(vec![device("cpu")], vec![], vec![]);
    let plan = InferencePlan {
        source: 0,
        sink: 0,
        input_bytes: 0,
        stages: vec![Stage {
            device: 0,
            compute_ns,
            output_bytes: 0,
        }],
    };
    (net, plan)
}

fn cfg(seed: u64) -> SimConfig {
    SimConfig {
        seed,
        ..Default::default()
    }
}

#[test]
fn md1_mean_latency_matches_pollaczek_khinchine() {
    let mu = 1000.0; // 1 ms service
    let (net, plan) = single_device_plan(1_000_000);
    for rho in [0.5, 0.8] {
        let w = SimWorkload::poisson(rho * mu, 200_000);
        let r = simulate(&plan, &net, &w, &[], &cfg(7)).unwrap();
        let expect_ms = (rho / (2.0 * mu * (1.0 - rho)) + 1.0 / mu) * 1e3;
        let err = (r.latency_ms.mean - expect_ms).abs() / expect_ms;
        eprintln!(
            "M/D/1 rho={rho}: mean {} ms, formula {expect_ms} ms, rel err {err:.4}",
            r.latency_ms.mean
        );
        assert!(
            err < 0.02,
            "rho {rho}: {} vs {expect_ms}",
            r.latency_ms.mean
        );
        assert_eq!(r.completed, 200_000);
        assert_eq!(r.dropped, 0);
        // utilisation of the server = rho
        let busy = r.devices["cpu"].busy_fraction;
        assert!((busy - rho).abs() < 0.01, "busy {busy}");
    }
}

#[test]
fn mm1_mean_latency_with_exponential_service() {
    let mu = 1000.0;
    let (net, plan) = single_device_plan(1_000_000);
    for rho in [0.5, 0.8] {
        let w = SimWorkload::poisson(rho * mu, 1_000_000);
        let c = SimConfig {
            seed: 11,
            service: ServiceTime::Exponential,
            ..Default::default()
        };
        let r = simulate(&plan, &net, &w, &[], &c).unwrap();
        let expect_ms = 1.0 / (mu - rho * mu) * 1e3;
        let err = (r.latency_ms.mean - expect_ms).abs() / expect_ms;
        eprintln!(
            "M/M/1 rho={rho}: mean {} ms, formula {expect_ms} ms, rel err {err:.4}",
            r.latency_ms.mean
        );
        assert!(
            err < 0.02,
            "rho {rho}: {} vs {expect_ms}",
            r.latency_ms.mean
        );
        // sojourn time of M/M/1 is exponential with rate mu - lambda: p95 = -ln(0.05)/(mu-lambda)
        let p95 = -(0.05f64).ln() * expect_ms;
        assert!(
            (r.latency_ms.p95 - p95).abs() / p95 < 0.03,
            "p95 {} vs {p95}",
            r.latency_ms.p95
        );
    }
}

/// Airtime of one hop, computed from the definition: ceil(b / payload) packets, each
/// with a 20-byte header, 8000 ns per byte at 1 Mb/s.
fn hop_ns(bytes: u64) -> u64 {
    let packets = bytes.div_ceil(80).max(1);
    (bytes + packets * 20) * 8000 + 1_000_000
}

#[test]
fn idle_chains_give_exact_latency() {
    // two devices: a computes, b computes, result back to a
    let net2 = Network::new(vec![device("a"), device("b")], vec![link(0, 1)], vec![]);
    let plan2 = InferencePlan {
        source: 0,
        sink: 0,
        input_bytes: 600,
        stages: vec![
            Stage {
                device: 0,
                compute_ns: 1_234_567,
                output_bytes: 333,
            },
            Stage {
                device: 1,
                compute_ns: 765_432,
                output_bytes: 4,
            },
        ],
    };
    let want2 = 1_234_567 + hop_ns(333) + 765_432 + hop_ns(4);
    // three devices in a line: input a→b, cut b→c, output c→b→a (two hops)
    let net3 = Network::new(
        vec![device("a"), device("b"), device("c")],
        vec![link(0, 1), link(1, 2)],
        vec![],
    );
    let plan3 = InferencePlan {
        source: 0,
        sink: 0,
        input_bytes: 1000,
        stages: vec![
            Stage {
                device: 1,
                compute_ns: 2_000_001,
                output_bytes: 160,
            },
            Stage {
                device: 1,
                compute_ns: 3,
                output_bytes: 161,
            },
            Stage {
                device: 2,
                compute_ns: 500_000,
                output_bytes: 0,
            },
        ],
    };
    let want3 = hop_ns(1000) + 2_000_001 + 3 + hop_ns(161) + 500_000 + 2 * hop_ns(0);
    for (net, plan, want) in [(net2, plan2, want2), (net3, plan3, want3)] {
        let w = SimWorkload::periodic(50_000_000, 20);
        let r = simulate(&plan, &net, &w, &[], &cfg(1)).unwrap();
        assert_eq!(r.completed, 20);
        let want_ms = want as f64 / 1e6;
        assert_eq!(r.latency_ms.max, want_ms);
        assert_eq!(r.latency_ms.p50, want_ms);
        assert!((r.latency_ms.mean - want_ms).abs() < 1e-12);
        // the last request completes exactly at 19 periods + latency
        assert_eq!(r.horizon_s, (19 * 50_000_000 + want) as f64 * 1e-9);
    }
}

/// Request i: `bytes` from a to b, zero compute on b, `bytes` back to a. All arrive
/// at time 0. Returns the horizon (ns).
fn ping_pong_horizon(net: &Network, n: usize) -> f64 {
    let plan = InferencePlan {
        source: 0,
        sink: 0,
        input_bytes: 800,
        stages: vec![Stage {
            device: 1,
            compute_ns: 0,
            output_bytes: 800,
        }],
    };
    let w = SimWorkload {
        arrivals: ArrivalProcess::Trace {
            times_ns: vec![0; n],
        },
        requests: n,
        jitter_ns: 0,
    };
    let r = simulate(&plan, net, &w, &[], &cfg(3)).unwrap();
    assert_eq!(r.completed, n as u64);
    (r.horizon_s * 1e9).round()
}

#[test]
fn shared_medium_halves_throughput_full_duplex_does_not() {
    let n = 100;
    let air = (800 + 10 * 20) * 8000; // 10 packets
    let lat = 1_000_000;
    let duplex = Network::new(vec![device("a"), device("b")], vec![link(0, 1)], vec![]);
    let mut l = link(0, 1);
    l.medium = Some(0);
    let shared = Network::new(vec![device("a"), device("b")], vec![l], vec!["air".into()]);
    // full duplex: inputs back to back, each output sent while the next input is in the air
    assert_eq!(
        ping_pong_horizon(&duplex, n),
        (n as u64 * air + air + 2 * lat) as f64
    );
    // shared medium: one frame in the air at a time, FIFO: all inputs, then all outputs
    assert_eq!(
        ping_pong_horizon(&shared, n),
        (2 * n as u64 * air + lat) as f64
    );

    // two different links on one medium: a→hub→b relays halve throughput too
    let star = |medium: bool| {
        let mut l1 = link(0, 1);
        let mut l2 = link(1, 2);
        if medium {
            l1.medium = Some(0);
            l2.medium = Some(0);
        }
        Network::new(
            vec![device("a"), device("hub"), device("b")],
            vec![l1, l2],
            if medium { vec!["air".into()] } else { vec![] },
        )
    };
    let plan = InferencePlan {
        source: 0,
        sink: 2,
        input_bytes: 0,
        stages: vec![Stage {
            device: 0,
            compute_ns: 0,
            output_bytes: 800,
        }],
    };
    let w = SimWorkload {
        arrivals: ArrivalProcess::Trace {
            times_ns: vec![0; n],
        },
        requests: n,
        jitter_ns: 0,
    };
    let sep = simulate(&plan, &star(false), &w, &[], &cfg(3)).unwrap();
    let med = simulate(&plan, &star(true), &w, &[], &cfg(3)).unwrap();
    let ratio = sep.throughput_per_s / med.throughput_per_s;
    assert!((ratio - 2.0).abs() < 0.05, "ratio {ratio}");
    assert!((sep.links["a-hub"].utilisation - 1.0).abs() < 0.05);
}

#[test]
fn energy_is_conserved_term_by_term() {
    let mut devs = vec![device("a"), device("b"), device("c")];
    devs[1].cores = 2;
    devs[1].battery_mj = Some(5000.0);
    devs[2].battery_mj = Some(1e6);
    devs[2].active_mw = 300.0;
    let net = Network::new(devs.clone(), vec![link(0, 1), link(1, 2)], vec![]);
    let plan = InferencePlan {
        source: 0,
        sink: 2,
        input_bytes: 300,
        stages: vec![
            Stage {
                device: 1,
                compute_ns: 7_000_000,
                output_bytes: 90,
            },
            Stage {
                device: 2,
                compute_ns: 1_500_000,
                output_bytes: 8,
            },
        ],
    };
    let w = SimWorkload::poisson(150.0, 5_000);
    let r = simulate(&plan, &net, &w, &[], &cfg(5)).unwrap();
    assert_eq!(r.completed, 5_000);
    let n = r.completed as f64;
    let h = r.horizon_s;
    let s = |ns: u64| ns as f64 * 1e-9;
    let a_in = s(hop_ns(300) - 1_000_000); // airtimes
    let cut = s(hop_ns(90) - 1_000_000);
    // per device: (busy core-seconds, tx seconds, rx seconds)
    let usage = [
        (0.0, n * a_in, 0.0),
        (n * 0.007, n * cut, n * a_in),
        (n * 0.0015, 0.0, n * cut),
    ];
    let mut total = 0.0;
    for (d, (busy, tx, rx)) in devs.iter().zip(usage) {
        let idle = (h - busy / d.cores as f64 - tx - rx).max(0.0);
        let e = d.active_mw * busy + d.tx_mw * tx + d.rx_mw * rx + d.idle_mw * idle;
        let got = r.devices[&d.id].energy_mj;
        assert!(
            (got - e).abs() < 1e-9 * e.max(1.0),
            "{}: {got} vs {e}",
            d.id
        );
        total += e;
    }
    assert!((r.energy_mj - total).abs() < 1e-9 * total);
    assert!((r.energy_mj_per_inference.unwrap() - total / n).abs() < 1e-12 * total);
    // lifetime: battery / mean power; the hub dies first
    let hub = &r.devices["b"];
    assert!((hub.lifetime_s.unwrap() - 5000.0 * h / hub.energy_mj).abs() < 1e-6);
    assert_eq!(r.first_to_die.as_deref(), Some("b"));
    assert_eq!(r.network_lifetime_s, hub.lifetime_s);
    assert_eq!(r.devices["a"].lifetime_s, None);
}

#[test]
fn same_seed_same_bytes_different_seed_differs() {
    let mut l = link(0, 1);
    l.loss = 0.1;
    let net = Network::new(
        vec![device("a"), device("b"), device("c")],
        vec![l, link(1, 2)],
        vec![],
    );
    let plan = InferencePlan {
        source: 0,
        sink: 2,
        input_bytes: 500,
        stages: vec![Stage {
            device: 1,
            compute_ns: 2_000_000,
            output_bytes: 50,
        }],
    };
    let mut w = SimWorkload::poisson(200.0, 3_000);
    w.jitter_ns = 500_000;
    let ev = [WhatIf {
        at_ns: 3_000_000_000,
        change: Change::LinkBandwidth(1, 0.5),
    }];
    let run = |seed| {
        simulate(&plan, &net, &w, &ev, &cfg(seed))
            .unwrap()
            .to_json()
    };
    let a = run(9);
    assert_eq!(a, run(9));
    assert_ne!(a, run(10));
    let r: serde_json::Value = serde_json::from_str(&a).unwrap();
    for key in ["mean", "p50", "p95", "p99", "max"] {
        assert!(r["latency_ms"][key].is_number(), "{key}");
    }
    for key in [
        "completed",
        "dropped",
        "deadline_misses",
        "throughput_per_s",
        "energy_mj_per_inference",
        "events_processed",
    ] {
        assert!(r[key].is_number(), "{key}");
    }
    assert!(r["devices"]["b"]["busy_fraction"].is_number());
    assert!(r["devices"]["b"]["energy_mj"].is_number());
    assert!(r["devices"]["b"].get("lifetime_s").is_some());
    assert!(r["links"]["a-b"]["bytes"].is_number());
    assert!(r["links"]["a-b"]["utilisation"].is_number());
    // losses were retransmitted: more packets than the loss-free 7 per message
    assert!(r["links"]["a-b"]["retransmissions"].as_u64().unwrap() > 0);
}

#[test]
fn what_if_failures_drop_or_reroute() {
    // a - b - c with a slower direct a - c backup link
    let mut slow = link(0, 2);
    slow.bandwidth_bps = 1e5;
    let net = Network::new(
        vec![device("a"), device("b"), device("c")],
        vec![link(0, 1), link(1, 2), slow],
        vec![],
    );
    let plan = InferencePlan {
        source: 0,
        sink: 2,
        input_bytes: 0,
        stages: vec![Stage {
            device: 0,
            compute_ns: 1_000_000,
            output_bytes: 160,
        }],
    };
    let w = SimWorkload::periodic(100_000_000, 100); // 10 s
    let base = simulate(&plan, &net, &w, &[], &cfg(1)).unwrap();
    assert_eq!(base.completed, 100);
    assert_eq!(base.links["a-c"].bytes, 0);
    // b fails at 5 s: traffic reroutes over the slow direct link; nothing is lost
    // (at 5 s the network is idle between requests)
    let down = [WhatIf {
        at_ns: 5_050_000_000,
        change: Change::DeviceDown(1),
    }];
    let r = simulate(&plan, &net, &w, &down, &cfg(1)).unwrap();
    assert_eq!(r.completed, 100);
    assert_eq!(r.links["a-c"].messages, 49);
    let direct_ms = (1_000_000 + (160 + 2 * 20) * 80_000 + 1_000_000) as f64 / 1e6;
    assert_eq!(r.latency_ms.max, direct_ms);
    // the link a-c also fails: requests after 5 s have no route and are dropped
    let both = [
        down[0],
        WhatIf {
            at_ns: 5_060_000_000,
            change: Change::LinkDown(2),
        },
        WhatIf {
            at_ns: 8_050_000_000,
            change: Change::DeviceUp(1),
        },
    ];
    let r = simulate(&plan, &net, &w, &both, &cfg(1)).unwrap();
    assert_eq!(r.dropped, 30); // requests 51..=80
    assert_eq!(r.completed, 70);
    // the source itself fails while computing request 10: it is dropped, the device
    // is refunded the unexecuted compute time
    let src = [
        WhatIf {
            at_ns: 1_000_500_000,
            change: Change::DeviceDown(0),
        },
        WhatIf {
            at_ns: 1_000_600_000,
            change: Change::DeviceUp(0),
        },
    ];
    let r = simulate(&plan, &net, &w, &src, &cfg(1)).unwrap();
    assert_eq!((r.completed, r.dropped), (99, 1));
    assert_eq!(r.devices["a"].busy_ns, 99 * 1_000_000 + 500_000);
    // halving the bandwidth of b-c after 5 s lengthens that hop's airtime twofold
    let bw = [WhatIf {
        at_ns: 5_050_000_000,
        change: Change::LinkBandwidth(1, 0.5),
    }];
    let r = simulate(&plan, &net, &w, &bw, &cfg(1)).unwrap();
    let fast = base.latency_ms.max;
    assert!((r.latency_ms.max - (fast + 200.0 * 8000.0 / 1e6)).abs() < 1e-9);
}

#[test]
fn trace_lists_every_step_of_a_request() {
    let net = Network::new(vec![device("a"), device("b")], vec![link(0, 1)], vec![]);
    let plan = InferencePlan {
        source: 0,
        sink: 1,
        input_bytes: 10,
        stages: vec![Stage {
            device: 0,
            compute_ns: 5,
            output_bytes: 10,
        }],
    };
    let c = SimConfig {
        trace: true,
        ..cfg(1)
    };
    let (_, t) = simulate_traced(
        &plan,
        &net,
        &SimWorkload::periodic(1_000_000_000, 2),
        &[],
        &c,
    )
    .unwrap();
    let csv = distrinas::sim::trace_csv(&t, &net);
    let first: Vec<&str> = csv.lines().take(7).collect();
    assert_eq!(
        first,
        [
            "time_ns,request,event,device,link",
            "0,0,Arrive,a,",
            "0,0,ComputeStart,a,",
            "5,0,ComputeEnd,a,",
            "5,0,TxStart,a,a-b",
            "240005,0,TxEnd,a,a-b",
            "1240005,0,HopArrive,b,a-b",
        ]
    );
    assert_eq!(csv.lines().count(), 1 + 2 * 7);
}

#[test]
fn every_ron_block_of_the_guide_parses() {
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/simulation.md"),
    )
    .unwrap();
    let blocks: Vec<&str> = doc
        .split("```ron\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap())
        .collect();
    assert_eq!(blocks.len(), 2);
    let w: distrinas::scenario::Workload = ron::from_str(blocks[0]).unwrap();
    assert_eq!(w.requests, 1000);
    let ev: Vec<distrinas::scenario::Event> = ron::from_str(blocks[1]).unwrap();
    assert_eq!(ev.len(), 5);
}

#[test]
fn plan_from_candidate_uses_partition_costs() {
    use distrinas::partition::{costs, Candidate};
    use distrinas::scenario::DType;
    let net = Network::new(
        vec![device("wrist"), device("hub"), device("phone")],
        vec![link(0, 1), link(1, 2)],
        vec![],
    );
    let arch = distrinas::arch::Arch::from_ron(
        "Arch(input: [100, 6], layers: [Conv1d(filters: 16, kernel: 5), ReLU,
         MaxPool1d(size: 2), Conv1d(filters: 32, kernel: 5), ReLU, GlobalAvgPool,
         Dense(units: 4)])",
    )
    .unwrap();
    let cand = Candidate {
        arch,
        cuts: vec![3],
        map: vec!["wrist".into(), "hub".into()],
        standby: Vec::new(),
    };
    let c = costs(&cand, &net, DType::Int8).unwrap();
    let plan = InferencePlan::from_candidate(&cand, &net, DType::Int8, 0, 2).unwrap();
    assert_eq!(plan.input_bytes, 600);
    assert_eq!(plan.stages.len(), 2);
    assert_eq!(plan.stages[0].compute_ns, c.partitions[0].compute_ns);
    assert_eq!(plan.stages[0].output_bytes, c.cut_bytes[0]);
    assert_eq!(plan.stages[1].output_bytes, 4);
    // idle network: latency = compute + cut hop + output hop
    let r = simulate(
        &plan,
        &net,
        &SimWorkload::periodic(1_000_000_000, 3),
        &[],
        &cfg(1),
    )
    .unwrap();
    let want = c.total_compute_ns() + hop_ns(c.cut_bytes[0]) + hop_ns(4);
    assert_eq!(r.latency_ms.max, want as f64 / 1e6);
}

#[test]
fn simulate_cli_json_is_reproducible_and_what_if_changes_it() {
    use crate::cli_support::{repo, run, stderr, stdout};
    let dir = tempfile::tempdir().unwrap();
    let cand = dir.path().join("c.ron");
    std::fs::write(
        &cand,
        r#"Candidate(arch: Arch(input: [100, 6], layers: [
            Conv1d(filters: 16, kernel: 5), ReLU, MaxPool1d(size: 2),
            Conv1d(filters: 32, kernel: 5), ReLU, GlobalAvgPool, Dense(units: 4)]),
           cuts: [3], map: ["wrist", "hub"])"#,
    )
    .unwrap();
    let sc = repo("scenarios/wearable.ron");
    let args = |extra: &[&str]| {
        let mut a = vec![
            "simulate",
            sc.to_str().unwrap(),
            "--candidate",
            cand.to_str().unwrap(),
            "--json",
            "--requests",
            "300",
        ];
        a.extend_from_slice(extra);
        let o = run(&a);
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o)
    };
    let a = args(&[]);
    assert_eq!(a, args(&[]));
    let r: serde_json::Value = serde_json::from_str(a.trim()).unwrap();
    assert_eq!(r["completed"].as_u64(), Some(300));
    assert!(r["latency_ms"]["p95"].as_f64().unwrap() > 0.0);
    assert!(r["links"]["wrist-hub"]["bytes"].as_u64().unwrap() > 0);
    // a slower hub makes the mean latency longer
    let slow: serde_json::Value =
        serde_json::from_str(args(&["--set", "devices.hub.mac_per_s=1e6"]).trim()).unwrap();
    assert!(slow["latency_ms"]["mean"].as_f64() > r["latency_ms"]["mean"].as_f64());
    // the hub fails: requests are dropped
    let down: serde_json::Value = serde_json::from_str(
        args(&["--event", r#"DeviceDown(device: "hub", at_ms: 10000.0)"#]).trim(),
    )
    .unwrap();
    assert!(down["dropped"].as_u64().unwrap() > 0);
    // human-readable table
    let o = run(&[
        "simulate",
        sc.to_str().unwrap(),
        "--candidate",
        cand.to_str().unwrap(),
        "--requests",
        "20",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("latency ms"));
}

/// Issue 13: a FIFO → LIFO mutant of the device queues was caught only by one p95
/// figure. Read the order from a trace instead: under a load where hundreds of requests
/// wait (Poisson 2000/s against a ~40 ms pipeline), every device starts its partitions
/// in request order (requests are numbered in arrival order, and each device receives
/// them in that order on a one-route pipeline).
#[test]
fn queues_serve_in_arrival_order_read_from_a_trace() {
    use crate::cli_support::{repo, run, stderr, stdout};
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace.csv");
    let o = run(&[
        "simulate",
        "scenarios/camera-mnist.ron",
        "--candidate",
        repo("models/candidates/camera-front.ron").to_str().unwrap(),
        "--requests",
        "300",
        "--arrivals",
        "Poisson(rate_hz: 2000.0)",
        "--exponential-service",
        "--json",
        "--trace",
        trace.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    let max_queue = r["devices"]["cam"]["max_queue"].as_u64().unwrap();
    assert!(
        max_queue > 100,
        "the test needs queueing (max queue {max_queue})"
    );
    let text = std::fs::read_to_string(&trace).unwrap();
    let mut starts: std::collections::BTreeMap<String, Vec<(u64, u64)>> = Default::default();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        if f[2] == "ComputeStart" {
            starts
                .entry(f[3].to_string())
                .or_default()
                .push((f[0].parse().unwrap(), f[1].parse().unwrap()));
        }
    }
    assert_eq!(starts.len(), 3, "{:?}", starts.keys());
    for (device, mut v) in starts {
        assert_eq!(v.len(), 300, "{device}");
        v.sort();
        let order: Vec<u64> = v.iter().map(|&(_, q)| q).collect();
        assert_eq!(
            order,
            (0..300).collect::<Vec<u64>>(),
            "{device} is not FIFO"
        );
    }
}
