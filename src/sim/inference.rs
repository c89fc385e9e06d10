//! The inference model on top of the engine: requests arrive at the source, the input
//! tensor travels to the first partition's device, each partition runs on its device's
//! FIFO server (`cores` servers), each cut tensor travels hop by hop
//! (store-and-forward, FIFO per transmitter) and the output travels to the sink.
//!
//! Semantics are those of `DESIGN.md` ("Discrete-event simulation"), detailed in
//! `docs/simulation.md`.

use super::deployment::{Deployment, DeploymentReport};
use super::energy::{device_energy, lifetime_s};
use super::engine::{Model, Scheduler, Simulation, Time};
pub use super::link::MAX_RETRANSMISSIONS;
use super::link::{self, LinkAcc, LinkModel, PacketLoss, TxCur, TxState};
use super::policy::{DuringSwitch, SwitchPolicy};
use super::report::{DeviceReport, LatencyRecorder, LinkReport, SimReport};
use super::trace::{TraceKind, TraceRecord};
use super::workload::{ArrivalProcess, Change, SimWorkload, WhatIf};
use super::SimError;
use crate::network::{Hop, Network};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, VecDeque};

/// One partition of a plan: where it runs, how long it computes and what it sends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stage {
    /// Device index (into `Network::devices`) the partition runs on.
    pub device: usize,
    /// Compute time on that device, ns (Σ of its layer times).
    pub compute_ns: u64,
    /// Bytes of its output tensor (the cut tensor, or the result for the last stage).
    pub output_bytes: u64,
}

/// What one inference request does, in device indices, nanoseconds and bytes.
///
/// The input (`input_bytes`) travels from `source` to `stages[0].device`; stage `i`'s
/// output travels to `stages[i+1].device` (free when it is the same device); the last
/// stage's output travels to `sink`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InferencePlan {
    /// Device where requests arrive (index).
    pub source: usize,
    /// Device where results must arrive (index).
    pub sink: usize,
    /// Bytes of the input tensor.
    pub input_bytes: u64,
    /// Partitions in execution order (at least one).
    pub stages: Vec<Stage>,
}

impl InferencePlan {
    /// Checks the device indices against a network of `devices` devices.
    pub fn validate(&self, devices: usize) -> Result<(), SimError> {
        if self.stages.is_empty() {
            return Err(SimError::EmptyPlan);
        }
        let idx = [self.source, self.sink]
            .into_iter()
            .chain(self.stages.iter().map(|s| s.device));
        for index in idx {
            if index >= devices {
                return Err(SimError::DeviceIndex { index, devices });
            }
        }
        Ok(())
    }

    /// Total bytes moved between different devices per request (input, cuts, output),
    /// counting each transfer once whatever its number of hops.
    pub fn exchanged_bytes(&self) -> u64 {
        compile(self)
            .iter()
            .map(|s| match *s {
                StepKind::Transfer { bytes, .. } => bytes,
                StepKind::Compute { .. } => 0,
            })
            .sum()
    }
}

/// Service-time distribution of partitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ServiceTime {
    /// Exactly the stage's `compute_ns` (the design's model).
    #[default]
    Fixed,
    /// Exponential with mean `compute_ns` (for M/M/c validation and sensitivity).
    Exponential,
}

/// Settings of one simulation run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SimConfig {
    /// Seed of every random draw (arrivals, jitter, service times, losses each use
    /// their own ChaCha8 stream, so changing one does not shift the others).
    pub seed: u64,
    /// Deadline for `deadline_misses`, ms (`app.max_latency_ms`).
    pub max_latency_ms: Option<f64>,
    /// Service-time distribution.
    pub service: ServiceTime,
    /// Record a per-request trace.
    pub trace: bool,
    /// Step through every request even where fast-forward would apply
    /// ([`super::deployment`]); the figures are the same either way.
    pub no_fast_forward: bool,
    /// Time from a device failure to the failover of its partitions to their standbys,
    /// ns (`failures.failover` of the scenario; used by the evaluation's failover
    /// deployments, see `evaluate::simulation`).
    pub failover_ns: Time,
}

/// Runs `workload` through `plan` on `network` (its current state is the initial
/// state) with what-if `events`, and reports.
pub fn simulate(
    plan: &InferencePlan,
    network: &Network,
    workload: &SimWorkload,
    events: &[WhatIf],
    config: &SimConfig,
) -> Result<SimReport, SimError> {
    let cfg = SimConfig {
        trace: false,
        ..config.clone()
    };
    simulate_traced(plan, network, workload, events, &cfg).map(|(r, _)| r)
}

/// Like [`simulate`], also returning the per-request trace (empty unless
/// `config.trace`).
pub fn simulate_traced(
    plan: &InferencePlan,
    network: &Network,
    workload: &SimWorkload,
    events: &[WhatIf],
    config: &SimConfig,
) -> Result<(SimReport, Vec<TraceRecord>), SimError> {
    let policy = SwitchPolicy::fixed(0);
    let dep = Deployment {
        plans: std::slice::from_ref(plan),
        weight_bytes: &[],
        accuracy: &[],
        policy: &policy,
        horizon_ns: None,
        stop_at_first_death: false,
        sample_every_ns: 0,
    };
    run(&dep, network, workload, events, config, false).map(|(r, t, _)| (r, t))
}

/// Simulates `plans[policy.start]` with `policy` switching to the other plans, whose
/// partitions are already on their devices (switches write nothing and take no time),
/// recording the trace when `config.trace`: a candidate whose partitions fail over to
/// standby devices. Batteries are not checked, as in [`simulate`].
pub fn simulate_failover(
    plans: &[InferencePlan],
    policy: &SwitchPolicy,
    network: &Network,
    workload: &SimWorkload,
    events: &[WhatIf],
    config: &SimConfig,
) -> Result<(SimReport, Vec<TraceRecord>), SimError> {
    let weight_bytes: Vec<Vec<u64>> = plans.iter().map(|p| vec![0; p.stages.len()]).collect();
    let accuracy = vec![0.0; plans.len()];
    let dep = Deployment {
        plans,
        weight_bytes: &weight_bytes,
        accuracy: &accuracy,
        policy,
        horizon_ns: None,
        stop_at_first_death: false,
        sample_every_ns: 0,
    };
    run(&dep, network, workload, events, config, true).map(|(r, t, _)| (r, t))
}

/// Simulates a deployment of several members under a switching policy (see
/// [`super::deployment`] and [`super::policy`]); the trace is not recorded.
pub fn simulate_deployment(
    dep: &Deployment,
    network: &Network,
    workload: &SimWorkload,
    events: &[WhatIf],
    config: &SimConfig,
) -> Result<(SimReport, DeploymentReport), SimError> {
    let cfg = SimConfig {
        trace: false,
        ..config.clone()
    };
    run(dep, network, workload, events, &cfg, true).map(|(r, _, d)| (r, d))
}

fn validate(
    dep: &Deployment,
    network: &Network,
    workload: &SimWorkload,
    events: &[WhatIf],
    deploy: bool,
) -> Result<(), SimError> {
    let n = dep.plans.len();
    if n == 0 {
        return Err(SimError::EmptyPlan);
    }
    for p in dep.plans {
        p.validate(network.devices().len())?;
    }
    if deploy {
        let lens_ok = dep.accuracy.len() == n
            && dep.weight_bytes.len() == n
            && dep
                .weight_bytes
                .iter()
                .zip(dep.plans)
                .all(|(w, p)| w.len() == p.stages.len());
        if !lens_ok {
            return Err(SimError::Policy(
                "every member needs a plan, an accuracy and one weight size per stage".into(),
            ));
        }
    }
    let pol = dep.policy;
    let bad_member = std::iter::once(pol.start)
        .chain(pol.rules.iter().map(|r| r.1))
        .any(|m| m >= n);
    if bad_member
        || pol
            .weights_from
            .is_some_and(|d| d >= network.devices().len())
    {
        return Err(SimError::Policy(
            "member or device index out of range".into(),
        ));
    }
    if !pol.rules.is_empty() && !deploy {
        return Err(SimError::Policy(
            "rules need a deployment simulation".into(),
        ));
    }
    workload.validate()?;
    for l in network.links() {
        let ok =
            (0.0..1.0).contains(&l.loss) && l.bandwidth_bps.is_finite() && l.bandwidth_bps > 0.0;
        if !ok {
            return Err(SimError::InvalidLink(format!(
                "{}-{}: loss must be in [0, 1) and bandwidth_bps > 0",
                network.devices()[l.a].id,
                network.devices()[l.b].id
            )));
        }
    }
    for e in events {
        let (i, n) = match e.change {
            Change::DeviceDown(d) | Change::DeviceUp(d) => (d, network.devices().len()),
            Change::LinkDown(l) | Change::LinkUp(l) | Change::LinkBandwidth(l, _) => {
                (l, network.links().len())
            }
        };
        if i >= n {
            return Err(SimError::InvalidEvent(format!("index {i} out of range")));
        }
    }
    Ok(())
}

/// The simulation of every entry point: plain replays are one-member deployments
/// without batteries checked (`deploy` false).
fn run(
    dep: &Deployment,
    network: &Network,
    workload: &SimWorkload,
    events: &[WhatIf],
    config: &SimConfig,
    deploy: bool,
) -> Result<(SimReport, Vec<TraceRecord>, DeploymentReport), SimError> {
    validate(dep, network, workload, events, deploy)?;
    let model = InferenceModel::new(dep, network.clone(), workload, events, config, deploy);
    let mut sim = Simulation::new(model);
    let target = sim.model().target;
    for (i, e) in events.iter().enumerate() {
        sim.schedule_at(e.at_ns, Ev::Change(i as u32))
            .expect("clock at 0");
    }
    if let Some(h) = dep.horizon_ns {
        sim.schedule_at(h, Ev::End).expect("clock at 0");
    }
    if target > 0 {
        let first = sim.model_mut().next_base_time();
        let j = sim.model().jitter_ns;
        sim.model_mut().next_base = first;
        sim.schedule_at(first.saturating_sub(j), Ev::Gen)
            .expect("clock at 0");
        sim.run();
    }
    let horizon = if target > 0 { sim.now() } else { 0 };
    let mut model = sim.into_model();
    let processed = sim_processed(&model, horizon);
    let trace = model.trace.take().unwrap_or_default();
    let deployment = model.finish(horizon);
    Ok((model.report(horizon, processed), trace, deployment))
}

fn sim_processed(model: &InferenceModel, _horizon: Time) -> u64 {
    model.handled + model.ff.skipped_events
}

/// One step of a request, compiled from the plan.
#[derive(Debug, Clone, Copy)]
enum StepKind {
    Compute { device: u32, ns: u64 },
    Transfer { from: u32, to: u32, bytes: u64 },
}

/// Steps of a job of `ns` on `device` whose `bytes` of input are on `from`: the
/// transfer (when `from` is another device), then the compute.
fn push_stage(steps: &mut Vec<StepKind>, from: usize, device: usize, bytes: u64, ns: u64) {
    if from != device {
        steps.push(StepKind::Transfer {
            from: from as u32,
            to: device as u32,
            bytes,
        });
    }
    steps.push(StepKind::Compute {
        device: device as u32,
        ns,
    });
}

fn compile(plan: &InferencePlan) -> Vec<StepKind> {
    let mut steps = Vec::new();
    let mut at = plan.source;
    let mut bytes = plan.input_bytes;
    for s in &plan.stages {
        push_stage(&mut steps, at, s.device, bytes, s.compute_ns);
        at = s.device;
        bytes = s.output_bytes;
    }
    if plan.sink != at {
        steps.push(StepKind::Transfer {
            from: at as u32,
            to: plan.sink as u32,
            bytes,
        });
    }
    steps
}

/// Events of the inference model (16 bytes, stored inline in the event list).
#[derive(Debug, Clone, Copy)]
enum Ev {
    /// Generate the next arrival (at its base time minus the maximum jitter).
    Gen,
    /// A (jittered) arrival.
    Arrive,
    /// A partition finished on `dev`'s core `core`, started in device epoch `epoch`.
    ComputeDone { dev: u32, core: u32, epoch: u32 },
    /// Transmitter `tx` finished the message it started as its frame number `seq`
    /// (stale when that frame was aborted by a failure meanwhile).
    TxDone { tx: u32, seq: u32 },
    /// Request slot `req` reached the end of its current hop; `epoch` of the receiver.
    HopArrive { req: u32, epoch: u32 },
    /// What-if event number `i`.
    Change(u32),
    /// The deployment's horizon.
    End,
}

#[derive(Debug, Clone, Copy)]
struct Req {
    arrival: Time,
    id: u64,
    step: u32,
    route: u32,
    hop: u32,
    /// Plan index: a member (`< members`) or a weight write of a switch.
    plan: u32,
}

/// A plan's steps in the step arena: `first..end`.
#[derive(Debug, Clone, Copy)]
struct PlanRange {
    first: u32,
    end: u32,
}

#[derive(Debug, Default)]
struct DevState {
    queue: VecDeque<u32>,
    /// Request in service per core.
    cores: Vec<Option<u32>>,
    /// End time of the service per core.
    ends: Vec<Time>,
    epoch: u32,
    busy_ns: u64,
    tx_ns: u64,
    rx_ns: u64,
    jobs: u64,
    max_queue: usize,
}

const NO_ROUTE: u32 = u32::MAX;
const UNKNOWN: u32 = u32::MAX - 1;

struct InferenceModel {
    net: Network,
    /// Steps of every plan (members, then weight writes), concatenated.
    steps: Vec<StepKind>,
    plans: Vec<PlanRange>,
    /// Number of member plans (the first `members` of `plans`).
    members: usize,
    events: Vec<WhatIf>,
    service: ServiceTime,
    // arrivals
    arrivals: ArrivalProcess,
    target: usize,
    generated: usize,
    arrived: usize,
    next_base: Time,
    poisson_t_s: f64,
    jitter_ns: Time,
    rng_arrival: ChaCha8Rng,
    rng_jitter: ChaCha8Rng,
    rng_service: ChaCha8Rng,
    rng_loss: ChaCha8Rng,
    // requests
    reqs: Vec<Req>,
    free: Vec<u32>,
    in_flight: usize,
    // resources
    devs: Vec<DevState>,
    txs: Vec<TxState>,
    /// How messages cross links (packets, losses, airtime).
    link_model: Box<dyn LinkModel>,
    link_acc: Vec<LinkAcc>,
    // routes: arena + cache indexed by step × devices + from
    routes: Vec<Vec<Hop>>,
    route_cache: Vec<u32>,
    // results
    latencies: LatencyRecorder,
    deadline_ns: Option<f64>,
    completed: u64,
    dropped: u64,
    deadline_misses: u64,
    trace: Option<Vec<TraceRecord>>,
    /// Events handled.
    handled: u64,
    /// Latency of the last completed request, ns.
    last_latency: u64,
    completed_per_member: Vec<u64>,
    /// When each device last went down (0 for a device down from the start).
    down_since: Vec<Time>,
    ad: adaptive::Adaptive,
    ff: fastforward::FastForward,
}

mod adaptive;
mod fastforward;

fn stream(seed: u64, s: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(s);
    r
}

/// Exponential sample with the given mean (any unit), from a uniform in [0, 1).
#[inline]
fn exp_sample(rng: &mut ChaCha8Rng, mean: f64) -> f64 {
    -(1.0 - rng.random::<f64>()).ln() * mean
}

impl InferenceModel {
    fn new(
        dep: &Deployment,
        net: Network,
        workload: &SimWorkload,
        events: &[WhatIf],
        config: &SimConfig,
        deploy: bool,
    ) -> Self {
        let mut steps = Vec::new();
        let mut plans = Vec::new();
        let mut push = |st: Vec<StepKind>, steps: &mut Vec<StepKind>| {
            let first = steps.len() as u32;
            steps.extend(st);
            plans.push(PlanRange {
                first,
                end: steps.len() as u32,
            });
        };
        for p in dep.plans {
            push(compile(p), &mut steps);
        }
        let members = dep.plans.len();
        // weight writes of each member's partitions
        let mut switch_plans = vec![Vec::new(); members];
        let pol = dep.policy;
        for (m, (p, w)) in dep.plans.iter().zip(dep.weight_bytes).enumerate() {
            for (stage, &bytes) in p.stages.iter().zip(w) {
                if bytes == 0 {
                    continue;
                }
                let mut st = Vec::new();
                let write_ns = (bytes as f64 / pol.flash_write_bps * 1e9).round() as u64;
                let from = pol.weights_from.unwrap_or(stage.device);
                push_stage(&mut st, from, stage.device, bytes, write_ns);
                let index = members + switch_plans.iter().map(Vec::len).sum::<usize>();
                switch_plans[m].push(index as u32);
                push(st, &mut steps);
            }
        }
        let target = match &workload.arrivals {
            ArrivalProcess::Trace { times_ns } => workload.requests.min(times_ns.len()),
            _ => workload.requests,
        };
        let devs = net
            .devices()
            .iter()
            .map(|d| DevState {
                cores: vec![None; d.cores.max(1) as usize],
                ends: vec![0; d.cores.max(1) as usize],
                ..Default::default()
            })
            .collect();
        let ad = adaptive::Adaptive::new(dep, switch_plans, &net, deploy);
        let ff = fastforward::FastForward::new(
            workload,
            events,
            &dep.policy.down_delays(),
            config,
            &net,
            dep.horizon_ns,
        );
        InferenceModel {
            txs: link::transmitters(&net),
            link_model: Box::new(PacketLoss),
            link_acc: vec![LinkAcc::default(); net.links().len()],
            routes: Vec::new(),
            route_cache: vec![UNKNOWN; steps.len() * net.devices().len()],
            devs,
            steps,
            plans,
            members,
            events: events.to_vec(),
            service: config.service,
            arrivals: workload.arrivals.clone(),
            target,
            generated: 0,
            arrived: 0,
            next_base: 0,
            poisson_t_s: 0.0,
            jitter_ns: workload.jitter_ns,
            rng_arrival: stream(config.seed, 1),
            rng_jitter: stream(config.seed, 2),
            rng_service: stream(config.seed, 3),
            rng_loss: stream(config.seed, 4),
            reqs: Vec::new(),
            free: Vec::new(),
            in_flight: 0,
            latencies: LatencyRecorder::new(),
            deadline_ns: config.max_latency_ms.map(|ms| ms * 1e6),
            completed: 0,
            dropped: 0,
            deadline_misses: 0,
            trace: config.trace.then(Vec::new),
            handled: 0,
            last_latency: 0,
            completed_per_member: vec![0; members],
            down_since: vec![0; net.devices().len()],
            ad,
            ff,
            net,
        }
    }

    /// Base (unjittered) time of arrival number `self.generated`.
    fn next_base_time(&mut self) -> Time {
        let k = self.generated;
        match &self.arrivals {
            ArrivalProcess::Periodic { period_ns } => (k as u64).saturating_mul(*period_ns),
            ArrivalProcess::Poisson { rate_hz } => {
                let rate = *rate_hz;
                self.poisson_t_s += exp_sample(&mut self.rng_arrival, 1.0 / rate);
                (self.poisson_t_s * 1e9).round() as Time
            }
            ArrivalProcess::Trace { times_ns } => times_ns[k],
        }
    }

    #[inline]
    fn log(
        &mut self,
        time: Time,
        req: u32,
        kind: TraceKind,
        device: Option<u32>,
        link: Option<u32>,
    ) {
        if let Some(t) = &mut self.trace {
            t.push(TraceRecord {
                time_ns: time,
                request: self.reqs[req as usize].id,
                kind,
                device,
                link,
            });
        }
    }

    fn tx_of(&self, hop: Hop) -> usize {
        self.net.transmitter(hop.link, hop.from)
    }

    fn route_for(&mut self, step: usize, from: usize) -> Option<u32> {
        let key = step * self.net.devices().len() + from;
        let cached = self.route_cache[key];
        if cached == NO_ROUTE {
            return None;
        }
        if cached != UNKNOWN {
            return Some(cached);
        }
        let StepKind::Transfer { to, bytes, .. } = self.steps[step] else {
            unreachable!("routes are only asked for transfer steps")
        };
        let id = match self.net.route(from, to as usize, bytes) {
            Some(r) => {
                self.routes.push(r.hops);
                (self.routes.len() - 1) as u32
            }
            None => NO_ROUTE,
        };
        self.route_cache[key] = id;
        (id != NO_ROUTE).then_some(id)
    }

    fn topology_changed(&mut self) {
        self.route_cache.fill(UNKNOWN);
    }

    fn check_done(&mut self, s: &mut Scheduler<Ev>) {
        if self.in_flight == 0 && self.arrived == self.target {
            s.stop();
        }
    }

    fn drop_req(&mut self, r: u32, device: Option<u32>, link: Option<u32>, s: &mut Scheduler<Ev>) {
        self.log(s.now(), r, TraceKind::Drop, device, link);
        self.in_flight -= 1;
        self.free.push(r);
        let q = self.reqs[r as usize];
        if (q.plan as usize) < self.members {
            self.dropped += 1;
            self.ad.outcome(true);
        } else {
            self.switch_part_lost(q.id, s);
        }
        self.check_done(s);
    }

    fn complete(&mut self, r: u32, s: &mut Scheduler<Ev>) {
        let now = s.now();
        let q = self.reqs[r as usize];
        self.in_flight -= 1;
        self.free.push(r);
        if q.plan as usize >= self.members {
            self.switch_part_done(q.id, s);
            self.check_done(s);
            return;
        }
        let lat = now - q.arrival;
        self.log(
            now,
            r,
            TraceKind::Complete,
            Some(self.plan_sink(q.plan)),
            None,
        );
        self.latencies.record(lat);
        self.last_latency = lat;
        let miss = self.deadline_ns.is_some_and(|d| lat as f64 > d);
        if miss {
            self.deadline_misses += 1;
        }
        self.ad.outcome(miss);
        self.completed += 1;
        self.completed_per_member[q.plan as usize] += 1;
        self.check_done(s);
    }

    /// Device where plan `p`'s last step ends.
    fn plan_sink(&self, p: u32) -> u32 {
        match self.steps[self.plans[p as usize].end as usize - 1] {
            StepKind::Transfer { to, .. } => to,
            StepKind::Compute { device, .. } => device,
        }
    }

    /// Device where plan `p`'s first step starts.
    fn plan_source(&self, p: u32) -> u32 {
        match self.steps[self.plans[p as usize].first as usize] {
            StepKind::Transfer { from, .. } => from,
            StepKind::Compute { device, .. } => device,
        }
    }

    /// A request slot for a new request of plan `plan`.
    fn alloc(&mut self, arrival: Time, id: u64, plan: u32) -> u32 {
        let req = Req {
            arrival,
            id,
            step: self.plans[plan as usize].first,
            route: 0,
            hop: 0,
            plan,
        };
        self.in_flight += 1;
        match self.free.pop() {
            Some(r) => {
                self.reqs[r as usize] = req;
                r
            }
            None => {
                self.reqs.push(req);
                (self.reqs.len() - 1) as u32
            }
        }
    }

    fn arrive(&mut self, s: &mut Scheduler<Ev>) {
        let now = s.now();
        if self.ad.deploy {
            if self.battery_died(now, s) {
                return;
            }
            self.sample_if_due(now);
        }
        if !self.ad.policy.rules.is_empty() {
            self.consider_switch(now, s);
        }
        let plan = self.ad.active as u32;
        let r = self.alloc(now, self.arrived as u64, plan);
        self.arrived += 1;
        let src = self.plan_source(plan);
        self.log(now, r, TraceKind::Arrive, Some(src), None);
        if self.ad.switching.is_some() {
            match self.ad.policy.during_switch {
                DuringSwitch::Queue => self.ad.held.push(r),
                DuringSwitch::Drop => self.drop_req(r, Some(src), None, s),
            }
            return;
        }
        self.begin_step(r, s);
    }

    /// Starts the request's current step (completing it when all steps are done).
    fn begin_step(&mut self, r: u32, s: &mut Scheduler<Ev>) {
        let q = self.reqs[r as usize];
        let step = q.step as usize;
        if step == self.plans[q.plan as usize].end as usize {
            self.complete(r, s);
            return;
        }
        match self.steps[step] {
            StepKind::Compute { device, ns } => self.enqueue_compute(r, device, ns, s),
            StepKind::Transfer { from, .. } => match self.route_for(step, from as usize) {
                None => self.drop_req(r, Some(from), None, s),
                Some(route) => {
                    let q = &mut self.reqs[r as usize];
                    q.route = route;
                    q.hop = 0;
                    self.start_hop(r, s);
                }
            },
        }
    }

    fn current_hop(&self, r: u32) -> Hop {
        let q = &self.reqs[r as usize];
        self.routes[q.route as usize][q.hop as usize]
    }

    fn hop_usable(&self, h: Hop) -> bool {
        self.net.is_link_up(h.link) && self.net.is_device_up(h.from) && self.net.is_device_up(h.to)
    }

    /// Queues the request's current hop on its transmitter, rerouting from the hop's
    /// sender when the hop became unusable.
    fn start_hop(&mut self, r: u32, s: &mut Scheduler<Ev>) {
        let mut hop = self.current_hop(r);
        if !self.hop_usable(hop) {
            let step = self.reqs[r as usize].step as usize;
            let rerouted = if self.net.is_device_up(hop.from) {
                self.route_for(step, hop.from)
            } else {
                None
            };
            match rerouted {
                None => return self.drop_req(r, Some(hop.from as u32), Some(hop.link as u32), s),
                Some(route) => {
                    let q = &mut self.reqs[r as usize];
                    q.route = route;
                    q.hop = 0;
                    hop = self.current_hop(r);
                }
            }
        }
        let tx = self.tx_of(hop);
        let t = &mut self.txs[tx];
        t.queue.push_back(r);
        if t.current.is_none() {
            self.pump(tx, s);
        } else {
            t.max_queue = t.max_queue.max(t.queue.len());
        }
    }

    /// Starts the next valid message on an idle transmitter.
    fn pump(&mut self, tx: usize, s: &mut Scheduler<Ev>) {
        while self.txs[tx].current.is_none() {
            let Some(r) = self.txs[tx].queue.pop_front() else {
                return;
            };
            let hop = self.current_hop(r);
            if !self.hop_usable(hop) {
                self.start_hop(r, s); // reroute or drop
                continue;
            }
            self.transmit(tx, r, hop, s);
        }
    }

    fn transmit(&mut self, tx: usize, r: u32, hop: Hop, s: &mut Scheduler<Ev>) {
        let step = self.reqs[r as usize].step as usize;
        let StepKind::Transfer { bytes, .. } = self.steps[step] else {
            unreachable!("hops belong to transfer steps")
        };
        let sent = self.link_model.send(
            &self.net.links()[hop.link],
            bytes,
            self.net.bandwidth_factor(hop.link),
            &mut self.rng_loss,
        );
        self.link_acc[hop.link].record(bytes, &sent);
        let (air, lost) = (sent.airtime_ns, sent.lost);
        self.devs[hop.from].tx_ns += air;
        self.devs[hop.to].rx_ns += air;
        let t = &mut self.txs[tx];
        t.busy_ns += air;
        let seq = t.seq;
        t.seq = t.seq.wrapping_add(1);
        t.current = Some(TxCur {
            req: r,
            link: hop.link as u32,
            from: hop.from as u32,
            to: hop.to as u32,
            seq,
            end: s.now() + air,
            lost,
        });
        self.log(
            s.now(),
            r,
            TraceKind::TxStart,
            Some(hop.from as u32),
            Some(hop.link as u32),
        );
        s.schedule_in(air, Ev::TxDone { tx: tx as u32, seq });
    }

    fn tx_done(&mut self, tx: usize, seq: u32, s: &mut Scheduler<Ev>) {
        if self.txs[tx].current.is_none_or(|c| c.seq != seq) {
            return; // the frame was aborted by a failure; it was dropped then
        }
        let c = self.txs[tx]
            .current
            .take()
            .expect("a transmitter finishes what it sent");
        let (l, f, t) = (c.link as usize, c.from as usize, c.to as usize);
        // a failure of the link or of either end aborts the frame at once (`abort_frames`),
        // so a frame that reaches its end went through
        debug_assert!(
            self.net.is_link_up(l) && self.net.is_device_up(f) && self.net.is_device_up(t)
        );
        if c.lost {
            self.drop_req(c.req, Some(c.from), Some(c.link), s);
            return self.pump(tx, s);
        }
        self.log(s.now(), c.req, TraceKind::TxEnd, Some(c.from), Some(c.link));
        let lat = self.net.links()[l].latency_ns();
        s.schedule_in(
            lat,
            Ev::HopArrive {
                req: c.req,
                epoch: self.devs[t].epoch,
            },
        );
        self.pump(tx, s);
    }

    /// Aborts, at the current time, every frame in the air that `hit` selects: the
    /// request is dropped now, the unsent rest of the frame (scheduled end − now) is
    /// taken back from the sender's tx time, the receiver's rx time, the link's airtime
    /// and the transmitter's busy time, and the transmitter starts its next message.
    /// The frame's `TxDone`, already scheduled, is then stale and ignored.
    fn abort_frames(&mut self, hit: impl Fn(&TxCur) -> bool, s: &mut Scheduler<Ev>) {
        let now = s.now();
        let mut freed = Vec::new();
        for tx in 0..self.txs.len() {
            let Some(c) = self.txs[tx].current.filter(&hit) else {
                continue;
            };
            self.txs[tx].current = None;
            let unsent = c.end - now; // `now ≤ end`: the TxDone has not fired yet
            self.txs[tx].busy_ns -= unsent;
            self.link_acc[c.link as usize].airtime_ns -= unsent;
            self.devs[c.from as usize].tx_ns -= unsent;
            self.devs[c.to as usize].rx_ns -= unsent;
            self.drop_req(c.req, Some(c.from), Some(c.link), s);
            freed.push(tx);
        }
        for tx in freed {
            self.pump(tx, s);
        }
    }

    fn hop_arrive(&mut self, r: u32, epoch: u32, s: &mut Scheduler<Ev>) {
        let hop = self.current_hop(r);
        if !self.net.is_device_up(hop.to) || self.devs[hop.to].epoch != epoch {
            return self.drop_req(r, Some(hop.to as u32), Some(hop.link as u32), s);
        }
        self.log(
            s.now(),
            r,
            TraceKind::HopArrive,
            Some(hop.to as u32),
            Some(hop.link as u32),
        );
        let q = &mut self.reqs[r as usize];
        q.hop += 1;
        if (q.hop as usize) < self.routes[q.route as usize].len() {
            self.start_hop(r, s);
        } else {
            q.step += 1;
            self.begin_step(r, s);
        }
    }

    fn enqueue_compute(&mut self, r: u32, device: u32, ns: u64, s: &mut Scheduler<Ev>) {
        let d = device as usize;
        if !self.net.is_device_up(d) {
            return self.drop_req(r, Some(device), None, s);
        }
        match self.devs[d].cores.iter().position(Option::is_none) {
            Some(core) => self.start_compute(d, core, r, ns, s),
            None => {
                let dev = &mut self.devs[d];
                dev.queue.push_back(r);
                dev.max_queue = dev.max_queue.max(dev.queue.len());
            }
        }
    }

    fn start_compute(
        &mut self,
        d: usize,
        core: usize,
        r: u32,
        mean_ns: u64,
        s: &mut Scheduler<Ev>,
    ) {
        let ns = match self.service {
            ServiceTime::Fixed => mean_ns,
            ServiceTime::Exponential => {
                exp_sample(&mut self.rng_service, mean_ns as f64).round() as u64
            }
        };
        let dev = &mut self.devs[d];
        dev.busy_ns += ns;
        dev.cores[core] = Some(r);
        dev.ends[core] = s.now() + ns;
        let epoch = dev.epoch;
        self.log(s.now(), r, TraceKind::ComputeStart, Some(d as u32), None);
        s.schedule_in(
            ns,
            Ev::ComputeDone {
                dev: d as u32,
                core: core as u32,
                epoch,
            },
        );
    }

    fn compute_done(&mut self, d: usize, core: usize, epoch: u32, s: &mut Scheduler<Ev>) {
        if self.devs[d].epoch != epoch {
            return; // the device failed meanwhile; the request was dropped then
        }
        let r = self.devs[d].cores[core]
            .take()
            .expect("a core finishes what it started");
        self.devs[d].jobs += 1;
        self.log(s.now(), r, TraceKind::ComputeEnd, Some(d as u32), None);
        if let Some(next) = self.devs[d].queue.pop_front() {
            let step = self.reqs[next as usize].step as usize;
            let StepKind::Compute { ns, .. } = self.steps[step] else {
                unreachable!("compute queues hold compute steps")
            };
            self.start_compute(d, core, next, ns, s);
        }
        self.reqs[r as usize].step += 1;
        self.begin_step(r, s);
    }

    fn apply(&mut self, change: Change, s: &mut Scheduler<Ev>) {
        self.ff.changes += 1;
        // routes are invalidated before the aborted transmitters start their queued
        // messages, so those are rerouted around the failure
        match change {
            Change::DeviceDown(d) => {
                if !self.net.is_device_up(d) {
                    return;
                }
                self.net.set_device_up(d, false);
                self.topology_changed();
                let now = s.now();
                self.down_since[d] = now;
                let dev = &mut self.devs[d];
                dev.epoch += 1;
                let mut lost: Vec<u32> = Vec::new();
                for (c, end) in dev.cores.iter_mut().zip(&dev.ends) {
                    if let Some(r) = c.take() {
                        dev.busy_ns -= end - now; // the rest of the service never ran
                        lost.push(r);
                    }
                }
                lost.extend(dev.queue.drain(..));
                for r in lost {
                    self.drop_req(r, Some(d as u32), None, s);
                }
                let d = d as u32;
                self.abort_frames(|c| c.from == d || c.to == d, s);
            }
            Change::DeviceUp(d) => {
                self.net.set_device_up(d, true);
                self.topology_changed();
            }
            Change::LinkDown(l) => {
                if self.net.is_link_up(l) {
                    self.net.set_link_up(l, false);
                    self.topology_changed();
                    let l = l as u32;
                    self.abort_frames(|c| c.link == l, s);
                }
            }
            Change::LinkUp(l) => {
                self.net.set_link_up(l, true);
                self.topology_changed();
            }
            Change::LinkBandwidth(l, f) => {
                self.net.set_bandwidth_factor(l, f);
                self.topology_changed();
            }
        }
    }

    fn gen(&mut self, s: &mut Scheduler<Ev>) {
        if self.ff.eligible && self.fast_forward(s) {
            return;
        }
        let base = self.next_base;
        self.generated += 1;
        if self.jitter_ns == 0 {
            self.arrive(s);
        } else {
            let j = self.jitter_ns;
            let shift = self.rng_jitter.random_range(0..=2 * j);
            let at = (base + shift).saturating_sub(j);
            s.schedule_at(at, Ev::Arrive)
                .expect("arrivals are generated at least the maximum jitter ahead");
        }
        if self.generated < self.target {
            self.next_base = self.next_base_time().max(base);
            s.schedule_at(self.next_base.saturating_sub(self.jitter_ns), Ev::Gen)
                .expect("base times are non-decreasing");
        }
    }

    fn report(&mut self, horizon: Time, events_processed: u64) -> SimReport {
        let h_s = horizon as f64 * 1e-9;
        let frac = |ns: u64, n: f64| {
            if horizon == 0 {
                0.0
            } else {
                ns as f64 / (n * horizon as f64)
            }
        };
        let mut devices = BTreeMap::new();
        let mut energy_total = 0.0;
        let mut first: Option<(f64, String)> = None;
        for (d, st) in self.net.devices().iter().zip(&self.devs) {
            let e = device_energy(d, st.busy_ns, st.tx_ns, st.rx_ns, horizon);
            energy_total += e.total_mj;
            let life = lifetime_s(d.battery_mj, e.total_mj, horizon);
            if let Some(l) = life {
                if first.as_ref().is_none_or(|(f, _)| l < *f) {
                    first = Some((l, d.id.clone()));
                }
            }
            devices.insert(
                d.id.clone(),
                DeviceReport {
                    busy_fraction: frac(st.busy_ns, d.cores.max(1) as f64),
                    energy_mj: e.total_mj,
                    lifetime_s: life,
                    energy: e,
                    busy_ns: st.busy_ns,
                    tx_ns: st.tx_ns,
                    rx_ns: st.rx_ns,
                    jobs: st.jobs,
                    max_queue: st.max_queue,
                },
            );
        }
        let mut links = BTreeMap::new();
        for (i, (l, acc)) in self.net.links().iter().zip(&self.link_acc).enumerate() {
            let txs = link::link_transmitters(&self.net, &self.txs, i);
            let busy = txs.iter().map(|t| t.busy_ns).max().unwrap_or(0);
            links.insert(
                format!(
                    "{}-{}",
                    self.net.devices()[l.a].id,
                    self.net.devices()[l.b].id
                ),
                LinkReport {
                    bytes: acc.bytes,
                    wire_bytes: acc.wire_bytes,
                    utilisation: frac(busy, 1.0),
                    messages: acc.messages,
                    packets: acc.packets,
                    retransmissions: acc.retransmissions,
                    airtime_ns: acc.airtime_ns,
                    max_queue: txs.iter().map(|t| t.max_queue).max().unwrap_or(0),
                },
            );
        }
        SimReport {
            latency_ms: self.latencies.summary(),
            percentile_method: if self.latencies.is_exact() {
                "exact nearest-rank"
            } else {
                "hdr nearest-rank"
            },
            requests: self.target as u64,
            completed: self.completed,
            dropped: self.dropped,
            deadline_misses: self.deadline_misses,
            throughput_per_s: if horizon == 0 {
                0.0
            } else {
                self.completed as f64 / h_s
            },
            energy_mj_per_inference: (self.completed > 0)
                .then(|| energy_total / self.completed as f64),
            energy_mj: energy_total,
            network_lifetime_s: first.as_ref().map(|f| f.0),
            first_to_die: first.map(|f| f.1),
            horizon_s: h_s,
            devices,
            links,
            events_processed,
        }
    }
}

impl Model for InferenceModel {
    type Event = Ev;

    fn handle(&mut self, event: Ev, s: &mut Scheduler<Ev>) {
        self.handled += 1;
        match event {
            Ev::Gen => self.gen(s),
            Ev::Arrive => self.arrive(s),
            Ev::ComputeDone { dev, core, epoch } => {
                self.compute_done(dev as usize, core as usize, epoch, s)
            }
            Ev::TxDone { tx, seq } => self.tx_done(tx as usize, seq, s),
            Ev::HopArrive { req, epoch } => self.hop_arrive(req, epoch, s),
            Ev::Change(i) => {
                let c = self.events[i as usize].change;
                self.apply(c, s);
            }
            Ev::End => s.stop(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compile_skips_same_device_cuts_and_counts_exchanged_bytes() {
        let st = |device, output_bytes| Stage {
            device,
            compute_ns: 1,
            output_bytes,
        };
        let plan = InferencePlan {
            source: 0,
            sink: 2,
            input_bytes: 600,
            stages: vec![st(0, 100), st(0, 50), st(1, 4)],
        };
        // input stays on 0, the 0→0 cut is free, 50 bytes go 0→1, 4 bytes 1→2
        assert_eq!(plan.exchanged_bytes(), 54);
        let kinds: Vec<bool> = compile(&plan)
            .iter()
            .map(|s| matches!(s, StepKind::Transfer { .. }))
            .collect();
        assert_eq!(kinds, [false, false, true, false, true]);
        assert!(matches!(
            plan.validate(2),
            Err(SimError::DeviceIndex {
                index: 2,
                devices: 2
            })
        ));
        let empty = InferencePlan {
            stages: vec![],
            ..plan
        };
        assert!(matches!(empty.validate(3), Err(SimError::EmptyPlan)));
    }

    /// A failure during a transmission aborts the frame at the event time: the request
    /// is dropped then, only the airtime actually sent is charged (sender tx, receiver
    /// rx, link airtime), the stale end of transmission is ignored and the transmitter
    /// starts its next message at once.
    #[test]
    fn failure_aborts_the_frame_in_the_air_at_the_event_time() {
        use crate::network::tests::{device, link};
        // chain a - b - c, both links on one shared medium (one transmitter), 1 Mb/s
        // (8000 ns per byte), 1 ms hop latency, 80 payload + 20 header bytes per packet
        let mut ab = link(0, 1, 1e6, 1.0);
        let mut bc = link(1, 2, 1e6, 1.0);
        ab.medium = Some(0);
        bc.medium = Some(0);
        let net = Network::new(
            vec![device("a"), device("b"), device("c")],
            vec![ab, bc],
            vec!["air".into()],
        );
        // input (0 bytes) a → b, compute 40 µs on b, 990-byte output b → c (sink)
        let plan = InferencePlan {
            source: 0,
            sink: 2,
            input_bytes: 0,
            stages: vec![Stage {
                device: 1,
                compute_ns: 40_000,
                output_bytes: 990,
            }],
        };
        // airtimes by hand: 0 bytes = 1 packet = 20 wire bytes → 160 µs;
        // 990 bytes = ceil(990/80) = 13 packets, 990 + 13 × 20 = 1250 wire bytes → 10 ms
        let small = 160_000;
        let big = 10_000_000;
        // request 0 (t = 0): a→b 0..0.16 ms, arrives at b 1.16 ms, computes until
        // 1.2 ms, b→c in the air 1.2..11.2 ms. Request 1 (t = 2 ms) queues its a→b hop
        // on the busy medium. The failure hits at 5.2 ms, 4 ms into request 0's frame.
        let fail = 5_200_000;
        let sent = fail - 1_200_000; // 4 ms
        let w = SimWorkload::periodic(2_000_000, 2);
        let config = SimConfig {
            trace: true,
            ..Default::default()
        };
        let at = |at_ns, change| WhatIf { at_ns, change };
        let cases = [
            // the link b-c fails, and is back before request 1 needs it
            [
                at(fail, Change::LinkDown(1)),
                at(6_000_000, Change::LinkUp(1)),
            ],
            // the receiver c fails, and is back before request 1 needs it
            [
                at(fail, Change::DeviceDown(2)),
                at(6_000_000, Change::DeviceUp(2)),
            ],
        ];
        for events in cases {
            let (r, t) = simulate_traced(&plan, &net, &w, &events, &config).unwrap();
            let ctx = format!("{:?}", events[0].change);
            assert_eq!((r.completed, r.dropped), (1, 1), "{ctx}");
            let of = |req: u64| -> Vec<(u64, TraceKind)> {
                t.iter()
                    .filter(|x| x.request == req)
                    .map(|x| (x.time_ns, x.kind))
                    .collect()
            };
            // request 0 is dropped at the event time; its stale end (11.2 ms) is ignored
            assert_eq!(
                of(0).last(),
                Some(&(fail, TraceKind::Drop)),
                "{ctx}: {:?}",
                of(0)
            );
            assert!(t.iter().all(|x| x.time_ns != 1_200_000 + big), "{ctx}");
            // request 1's a→b starts on the freed medium at the event time; it then goes
            // on normally: arrives at b 1 ms after its 160 µs, 40 µs compute, 10 ms b→c
            // and 1 ms latency
            let tx1 = fail;
            let done = tx1 + small + 1_000_000 + 40_000 + big + 1_000_000;
            assert_eq!(
                of(1),
                [
                    (2_000_000, TraceKind::Arrive),
                    (tx1, TraceKind::TxStart),
                    (tx1 + small, TraceKind::TxEnd),
                    (tx1 + small + 1_000_000, TraceKind::HopArrive),
                    (tx1 + small + 1_000_000, TraceKind::ComputeStart),
                    (tx1 + small + 1_040_000, TraceKind::ComputeEnd),
                    (tx1 + small + 1_040_000, TraceKind::TxStart),
                    (tx1 + small + 1_040_000 + big, TraceKind::TxEnd),
                    (done, TraceKind::HopArrive),
                    (done, TraceKind::Complete),
                ],
                "{ctx}"
            );
            assert_eq!(r.latency_ms.max, (done - 2_000_000) as f64 / 1e6, "{ctx}");
            // only the 4 ms actually sent of the aborted frame are charged
            let dev = |id: &str| (r.devices[id].tx_ns, r.devices[id].rx_ns);
            assert_eq!(dev("a"), (2 * small, 0), "{ctx}");
            assert_eq!(dev("b"), (sent + big, 2 * small), "{ctx}");
            assert_eq!(dev("c"), (0, sent + big), "{ctx}");
            assert_eq!(r.links["a-b"].airtime_ns, 2 * small, "{ctx}");
            assert_eq!(r.links["b-c"].airtime_ns, sent + big, "{ctx}");
            // bytes and messages count what was attempted
            assert_eq!(r.links["b-c"].messages, 2, "{ctx}");
            assert_eq!(r.links["b-c"].bytes, 2 * 990, "{ctx}");
            // the medium was busy 2 × 160 µs + 4 ms + 10 ms of the horizon
            let busy = (2 * small + sent + big) as f64 / done as f64;
            let u = r.links["b-c"].utilisation;
            assert!((u - busy).abs() < 1e-12, "{ctx}: {u} vs {busy}");
        }
    }

    #[test]
    fn retransmissions_follow_the_truncated_geometric_law() {
        use crate::network::tests::{device, link};
        // one 50-byte message per request (one packet of 70 wire bytes), loss p:
        // a packet is retransmitted until it gets through or has been retransmitted
        // R = MAX_RETRANSMISSIONS times, so per message
        //   E[retransmissions] = Σ_{k=1..R} p^k,   P(dropped) = p^(R+1).
        let run = |p: f64, n: usize| {
            let mut l = link(0, 1, 1e6, 1.0);
            l.loss = p;
            let net = Network::new(vec![device("a"), device("b")], vec![l], vec![]);
            let plan = InferencePlan {
                source: 0,
                sink: 1,
                input_bytes: 0,
                stages: vec![Stage {
                    device: 0,
                    compute_ns: 1_000,
                    output_bytes: 50,
                }],
            };
            let w = SimWorkload::periodic(10_000_000, n);
            let cfg = SimConfig {
                seed: 11,
                ..Default::default()
            };
            simulate(&plan, &net, &w, &[], &cfg).unwrap()
        };
        let r_max = MAX_RETRANSMISSIONS as i32;
        let n = 200_000;
        let r = run(0.5, n);
        let retx = r.links["a-b"].retransmissions as f64 / n as f64;
        let expect: f64 = (1..=r_max).map(|k| 0.5f64.powi(k)).sum();
        assert!((retx - expect).abs() < 0.012, "{retx} vs {expect}");
        let dropped = r.dropped as f64 / n as f64;
        let p_drop = 0.5f64.powi(r_max + 1);
        assert!((dropped - p_drop).abs() < 6e-4, "{dropped} vs {p_drop}");
        // a link that loses (almost) everything: every message is given up after
        // R + 1 attempts of 70 wire bytes, and the run ends (no endless retrying)
        let r = run(0.999_999_99, 10);
        assert_eq!((r.completed, r.dropped), (0, 10));
        let k = &r.links["a-b"];
        assert_eq!(k.packets, 10 * (MAX_RETRANSMISSIONS + 1));
        assert_eq!(k.retransmissions, 10 * MAX_RETRANSMISSIONS);
        assert_eq!(k.wire_bytes, 10 * (MAX_RETRANSMISSIONS + 1) * 70);
    }
}
