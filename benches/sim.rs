//! Discrete-event simulator benches: raw engine throughput (events/s) and the replay
//! of a 3-device, 2-partition candidate (the per-candidate cost inside the search).
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use distrinas::network::{Device, Link, Network};
use distrinas::sim::deployment::Deployment;
use distrinas::sim::policy::{Cond, SwitchPolicy};
use distrinas::sim::{
    simulate, simulate_deployment, InferencePlan, Model, Scheduler, SimConfig, SimWorkload,
    Simulation, Stage,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::hint::black_box;

/// Two players, each hit schedules the other 3 ns later.
struct PingPong {
    hits: u64,
}

impl Model for PingPong {
    type Event = u8;
    fn handle(&mut self, player: u8, s: &mut Scheduler<u8>) {
        self.hits += 1;
        s.schedule_in(black_box(3), 1 - player);
    }
}

/// M/M/1 queue (counts only): arrivals and departures with exponential times.
#[derive(Clone, Copy)]
enum Mm1Ev {
    Arrival,
    Departure,
}

struct Mm1 {
    rng: ChaCha8Rng,
    in_system: u64,
    served: u64,
}

fn exp_ns(rng: &mut ChaCha8Rng, mean_ns: f64) -> u64 {
    (-(1.0 - rng.random::<f64>()).ln() * mean_ns) as u64
}

impl Model for Mm1 {
    type Event = Mm1Ev;
    fn handle(&mut self, ev: Mm1Ev, s: &mut Scheduler<Mm1Ev>) {
        match ev {
            Mm1Ev::Arrival => {
                self.in_system += 1;
                s.schedule_in(exp_ns(&mut self.rng, 2000.0), Mm1Ev::Arrival);
                if self.in_system == 1 {
                    s.schedule_in(exp_ns(&mut self.rng, 1000.0), Mm1Ev::Departure);
                }
            }
            Mm1Ev::Departure => {
                self.in_system -= 1;
                self.served += 1;
                if self.in_system > 0 {
                    s.schedule_in(exp_ns(&mut self.rng, 1000.0), Mm1Ev::Departure);
                }
            }
        }
    }
}

/// Handles `n` events of a model.
fn run_events<M: Model>(sim: &mut Simulation<M>, n: u64) {
    for _ in 0..n {
        sim.step();
    }
}

fn engine(c: &mut Criterion) {
    const N: u64 = 1_000_000;
    let mut g = c.benchmark_group("engine");
    g.throughput(Throughput::Elements(N));
    g.bench_function("ping_pong_1M_events", |b| {
        b.iter(|| {
            let mut sim = Simulation::new(PingPong { hits: 0 });
            sim.schedule_at(0, 0).unwrap();
            sim.run_until(3 * (N - 1));
            assert_eq!(sim.model().hits, N);
            black_box(sim.model().hits)
        })
    });
    g.bench_function("mm1_1M_events", |b| {
        b.iter(|| {
            let mut sim = Simulation::new(Mm1 {
                rng: ChaCha8Rng::seed_from_u64(1),
                in_system: 0,
                served: 0,
            });
            sim.schedule_at(0, Mm1Ev::Arrival).unwrap();
            run_events(&mut sim, N);
            black_box(sim.model().served)
        })
    });
    // 1,000 independent ping-pongs: a heap of 1,000 pending events
    g.bench_function("ping_pong_1M_events_heap_1000", |b| {
        b.iter(|| {
            let mut sim = Simulation::new(PingPong { hits: 0 });
            for i in 0..1000u64 {
                sim.schedule_at(i, (i % 2) as u8).unwrap();
            }
            run_events(&mut sim, N);
            black_box(sim.model().hits)
        })
    });
    g.finish();
}

fn device(id: &str, mac_per_s: f64) -> Device {
    Device {
        id: id.into(),
        profile: "bench".into(),
        flash_bytes: 1 << 20,
        sram_bytes: 256 << 10,
        mac_per_s,
        layer_overhead_us: 10.0,
        active_mw: 20.0,
        idle_mw: 1.0,
        tx_mw: 15.0,
        rx_mw: 12.0,
        battery_mj: Some(1e7),
        cores: 1,
        energy_budget_mj: None,
        latency: Default::default(),
    }
}

fn link(a: usize, b: usize, bw: f64, mtu: u32, medium: Option<usize>) -> Link {
    Link {
        a,
        b,
        profile: "bench".into(),
        bandwidth_bps: bw,
        latency_ms: 2.0,
        mtu_bytes: mtu,
        header_bytes: 20,
        loss: 0.01,
        medium,
    }
}

/// wrist –BLE– hub –Wi-Fi– phone; partition 0 on the wrist, 1 on the hub, sink phone.
pub fn replay_setup() -> (Network, InferencePlan, SimWorkload) {
    let net = Network::new(
        vec![
            device("wrist", 2e7),
            device("hub", 1e8),
            device("phone", 1e9),
        ],
        vec![link(0, 1, 1e6, 247, None), link(1, 2, 2e7, 1500, Some(0))],
        vec!["home-wifi".into()],
    );
    let plan = InferencePlan {
        source: 0,
        sink: 2,
        input_bytes: 600,
        stages: vec![
            Stage {
                device: 0,
                compute_ns: 3_000_000,
                output_bytes: 1408,
            },
            Stage {
                device: 1,
                compute_ns: 4_000_000,
                output_bytes: 4,
            },
        ],
    };
    (net, plan, SimWorkload::poisson(50.0, 10_000))
}

/// CPU time of this thread, ns (Linux `/proc/thread-self/schedstat`).
fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

fn replay(c: &mut Criterion) {
    let (net, plan, w) = replay_setup();
    let cfg = SimConfig {
        seed: 42,
        max_latency_ms: Some(100.0),
        ..Default::default()
    };
    let r = simulate(&plan, &net, &w, &[], &cfg).unwrap();
    eprintln!(
        "replay: {} events, p95 {:.3} ms, completed {}",
        r.events_processed, r.latency_ms.p95, r.completed
    );
    // CPU time (not wall time) per replay, robust to a shared machine
    if let Some(t0) = thread_cpu_ns() {
        let n = 200;
        for _ in 0..n {
            black_box(simulate(&plan, &net, &w, &[], &cfg).unwrap());
        }
        if let Some(t1) = thread_cpu_ns() {
            eprintln!(
                "replay: {:.3} ms CPU per 10k-request replay",
                (t1 - t0) as f64 / n as f64 / 1e6
            );
        }
    }
    let mut g = c.benchmark_group("replay");
    g.throughput(Throughput::Elements(10_000));
    g.bench_function("candidate_3dev_2part_10k_requests", |b| {
        b.iter(|| black_box(simulate(&plan, &net, &w, &[], &cfg).unwrap()))
    });
    g.finish();
}

/// One week of periodic requests (10 Hz, 6,048,000 requests) through the replay
/// network without losses, deployed with two members and a battery rule that switches
/// mid-week: fast-forwarded, and event by event.
fn deployment_week(c: &mut Criterion) {
    let (mut net, plan, _) = replay_setup();
    for l in 0..net.links().len() {
        net.edit_link(l, |l| l.loss = 0.0);
    }
    let cheap = InferencePlan {
        stages: vec![Stage {
            device: 0,
            compute_ns: 1_000_000,
            output_bytes: 4,
        }],
        ..plan.clone()
    };
    let plans = [plan, cheap];
    let weights = [vec![20_000, 20_000], vec![8_000]];
    let accuracy = [0.95, 0.9];
    // the wrist uses ≈ 0.17 mJ per request: half of 2,000 J after ≈ 4 days
    net.edit_device(0, |d| d.battery_mj = Some(2e6));
    let policy = SwitchPolicy {
        rules: vec![(Cond::BatteryBelow(0, 0.5), 1)],
        ..SwitchPolicy::fixed(0)
    };
    let dep = Deployment {
        plans: &plans,
        weight_bytes: &weights,
        accuracy: &accuracy,
        policy: &policy,
        horizon_ns: None,
        stop_at_first_death: true,
        sample_every_ns: 3_600_000_000_000,
    };
    let w = SimWorkload::periodic(100_000_000, 6_048_000);
    let run = |no_fast_forward: bool| {
        let cfg = SimConfig {
            seed: 42,
            max_latency_ms: Some(100.0),
            no_fast_forward,
            ..Default::default()
        };
        simulate_deployment(&dep, &net, &w, &[], &cfg).unwrap()
    };
    let (r, d) = run(false);
    eprintln!(
        "deployment week: {} requests, {} events, switches {}, fast-forwarded periods {}",
        r.completed, r.events_processed, d.switches, d.fast_forwarded_periods
    );
    let mut g = c.benchmark_group("deployment_week");
    g.sample_size(10);
    g.throughput(Throughput::Elements(6_048_000));
    g.bench_function("fast_forward", |b| b.iter(|| black_box(run(false))));
    g.bench_function("event_by_event", |b| b.iter(|| black_box(run(true))));
    g.finish();
}

/// The failure cases of a candidate (what `simulate --failures single`, and a search
/// with a `failures:` model, pays per candidate): the camera pipeline of
/// `models/candidates/` on `scenarios/camera-mnist.ron`, nominal + 4 single-device
/// cases of 50 requests each; and the scenario failure model of
/// `scenarios/sensor-helpers.ron` on `helpers-standby.ron` (a partition with a standby:
/// nominal + 2 cases of 100 requests, one of them a failover deployment).
fn failure_cases(c: &mut Criterion) {
    use distrinas::evaluate::failures::{model_cases, single_device_failures, CaseSetting};
    use distrinas::evaluate::whatif::candidate_statics;
    use distrinas::partition::Candidate;
    use distrinas::scenario::Scenario;
    use distrinas::sim::WhatIf;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let setting = |scenario: &str, candidate: &str| {
        let loaded = Scenario::load(root.join(scenario)).unwrap();
        let net = Network::from_scenario(&loaded);
        let text = std::fs::read_to_string(root.join(candidate)).unwrap();
        let cand: Candidate = distrinas::ronfmt::options().from_str(&text).unwrap();
        let sc = &loaded.scenario;
        let (src, sink) = (
            net.device_index(&sc.source).unwrap(),
            net.device_index(&sc.sink).unwrap(),
        );
        let w = SimWorkload::from_scenario(&sc.workload, &loaded.base_dir).unwrap();
        let ev = WhatIf::from_scenario(&sc.events, &net).unwrap();
        let cfg = SimConfig {
            seed: sc.seed,
            max_latency_ms: sc.app.max_latency_ms,
            failover_ns: distrinas::sim::ms_to_ns(sc.failover_detection_ms()),
            ..Default::default()
        };
        (loaded.clone(), net, cand, src, sink, w, ev, cfg)
    };
    let (loaded, net, cand, src, sink, w, ev, cfg) = setting(
        "scenarios/camera-mnist.ron",
        "models/candidates/camera-pipeline.ron",
    );
    let dtype = loaded.scenario.dtype;
    let run = || single_device_failures(&cand, &net, dtype, src, sink, &w, &ev, &cfg).unwrap();
    eprintln!("failure_cases: {} cases", run().len());
    let mut g = c.benchmark_group("failure_cases");
    g.bench_function("camera_pipeline_single_device", |b| {
        b.iter(|| black_box(run()))
    });
    let (loaded, net, cand, src, sink, w, ev, cfg) = setting(
        "scenarios/sensor-helpers.ron",
        "models/candidates/helpers-standby.ron",
    );
    let st = candidate_statics(&cand, &net, loaded.scenario.dtype, src, sink).unwrap();
    let cases = model_cases(loaded.scenario.failures.as_ref().unwrap(), &net, 0);
    let cs = CaseSetting {
        st: &st,
        network: &net,
        source: src,
        sink,
        workload: &w,
        events: &ev,
        config: &cfg,
    };
    let robustness = || {
        let nominal = cs.simulate(&[]).unwrap();
        cs.robustness(&nominal, &cases).unwrap()
    };
    eprintln!(
        "failure_cases: standby availability {}",
        robustness().availability
    );
    g.bench_function("helpers_standby_model", |b| {
        b.iter(|| black_box(robustness()))
    });
    g.finish();
}

criterion_group!(benches, engine, replay, deployment_week, failure_cases);
criterion_main!(benches);
