//! Semantic checks of a parsed scenario. Every problem becomes a [`Diagnostic`] at the
//! line and column of the offending value (found with the [`SpanIndex`]).

use super::error::{Diagnostic, ScenarioError};
use super::fields::Fields;
use super::load::LoadedScenario;
use super::profiles;
use super::schema::{Arrivals, DeviceProfile, Event, Failover, LinkProfile, Objective};
use super::span::SpanIndex;
use std::collections::{HashMap, HashSet, VecDeque};
use std::path::Path;

struct Ctx<'a> {
    file: &'a str,
    spans: SpanIndex,
    errors: Vec<Diagnostic>,
}

impl Ctx<'_> {
    fn err(&mut self, path: &str, message: String) {
        let (line, col) = self.spans.get(path);
        self.errors.push(Diagnostic {
            file: self.file.to_string(),
            line,
            col,
            message,
        });
    }

    fn pos(&self, path: &str) -> String {
        let (l, c) = self.spans.get(path);
        format!("{l}:{c}")
    }

    /// `x > 0` and finite.
    fn positive(&mut self, path: &str, what: &str, field: &str, x: f64) {
        if !(x > 0.0 && x.is_finite()) {
            self.err(path, format!("{what}{field} must be > 0 (got {x})"));
        }
    }

    /// `x >= 0` and finite.
    fn non_negative(&mut self, path: &str, what: &str, field: &str, x: f64) {
        if !(x >= 0.0 && x.is_finite()) {
            self.err(path, format!("{what}{field} must be >= 0 (got {x})"));
        }
    }

    /// A failure probability: `p_down` in [0, 1), or `mtbf_h` > 0 with `mttr_h` >= 0.
    fn downtime(
        &mut self,
        path: &str,
        what: &str,
        p_down: Option<f64>,
        mtbf_h: Option<f64>,
        mttr_h: Option<f64>,
    ) {
        match (p_down, mtbf_h, mttr_h) {
            (Some(x), None, None) => {
                if !(x.is_finite() && (0.0..1.0).contains(&x)) {
                    self.err(
                        &format!("{path}.p_down"),
                        format!("{what}p_down must be in [0, 1) (got {x})"),
                    );
                }
            }
            (None, Some(f), Some(r)) => {
                self.positive(&format!("{path}.mtbf_h"), what, "mtbf_h", f);
                self.non_negative(&format!("{path}.mttr_h"), what, "mttr_h", r);
            }
            _ => self.err(
                path,
                format!("{what}expected either p_down, or both mtbf_h and mttr_h"),
            ),
        }
    }

    /// The bounds of [`super::limits::check`] (a non-finite value is reported by the
    /// sign checks).
    fn limit(&mut self, path: &str, what: &str, field: &str, x: f64) {
        if x.is_finite() {
            if let Err(m) = super::limits::check(field, x) {
                self.err(path, format!("{what}{m}"));
            }
        }
    }

    fn range(&mut self, path: &str, field: &str, x: usize, lo: usize, hi: usize) {
        if x < lo || x > hi {
            self.err(path, format!("{field} must be in {lo}..={hi} (got {x})"));
        }
    }
}

fn known(ids: &[&str]) -> String {
    ids.join(", ")
}

/// Runs every check. Returns the problems and, for the devices and links whose profile
/// resolved, the resolved profiles (complete only when there are no problems).
pub(crate) fn check(l: &LoadedScenario) -> (Vec<Diagnostic>, Vec<DeviceProfile>, Vec<LinkProfile>) {
    let s = &l.scenario;
    let mut cx = Ctx {
        file: &l.file,
        spans: SpanIndex::build(&l.source),
        errors: Vec::new(),
    };

    if s.name.trim().is_empty() || s.name.contains(['/', '\\']) {
        cx.err(
            "name",
            format!(
                "name must be non-empty and contain no path separator (got {:?})",
                s.name
            ),
        );
    }

    // Sizes first: a scenario past them is refused before anything is sized by it.
    for (path, n, max) in [
        ("devices", s.devices.len(), super::limits::MAX_DEVICES),
        ("links", s.links.len(), super::limits::MAX_LINKS),
        ("events", s.events.len(), super::limits::MAX_EVENTS),
    ] {
        if n > max {
            cx.err(
                path,
                format!("{path}: {n} entries, at most {max} are supported"),
            );
        }
    }
    if !cx.errors.is_empty() {
        return (cx.errors, Vec::new(), Vec::new());
    }

    // Devices.
    let mut first: HashMap<&str, usize> = HashMap::new();
    let mut device_profiles = Vec::new();
    if s.devices.is_empty() {
        cx.err("devices", "devices: at least one device is required".into());
    }
    for (i, d) in s.devices.iter().enumerate() {
        let p = format!("devices[{i}]");
        if d.id.trim().is_empty() {
            cx.err(&format!("{p}.id"), "device id must be non-empty".into());
        } else if let Some(&j) = first.get(d.id.as_str()) {
            let at = cx.pos(&format!("devices[{j}].id"));
            cx.err(
                &format!("{p}.id"),
                format!("duplicate device id {:?} (first defined at {at})", d.id),
            );
        } else {
            first.insert(&d.id, i);
        }
        let what = format!("device {:?}: ", d.id);
        let Some(mut prof) = resolve_device_profile(l, &mut cx, &p, &d.profile, &what) else {
            continue;
        };
        // the device table (`fields`) drives the merge and the checks
        prof.apply_overrides(d);
        for (f, m) in prof.problems() {
            cx.err(&format!("{p}.{f}"), format!("{what}{m}"));
        }
        for (kind, m) in &prof.latency {
            for (f, x) in [
                ("overhead_us", m.overhead_us),
                ("ns_per_mac", m.ns_per_mac),
                ("ns_per_byte", m.ns_per_byte),
            ] {
                let field = format!("latency[{kind:?}].{f}");
                cx.non_negative(&format!("{p}.profile"), &what, &field, x);
            }
        }
        if let Some(b) = d.energy_budget_mj {
            let f = "energy_budget_mj";
            cx.positive(&format!("{p}.{f}"), &what, f, b);
            cx.limit(&format!("{p}.{f}"), &what, f, b);
        }
        device_profiles.push(prof);
    }
    let ids: Vec<&str> = s.devices.iter().map(|d| d.id.as_str()).collect();
    let index: HashMap<&str, usize> = first.iter().map(|(k, v)| (*k, *v)).collect();

    // Links.
    let mut link_profiles = Vec::new();
    let mut pairs: HashMap<(usize, usize), usize> = HashMap::new();
    for (i, k) in s.links.iter().enumerate() {
        let p = format!("links[{i}]");
        let what = format!("link {i}: ");
        let a = index.get(k.a.as_str()).copied();
        let b = index.get(k.b.as_str()).copied();
        for (end, id, found) in [("a", &k.a, a), ("b", &k.b, b)] {
            if found.is_none() {
                cx.err(
                    &format!("{p}.{end}"),
                    format!("{what}unknown device {id:?} (known: {})", known(&ids)),
                );
            }
        }
        if k.a == k.b {
            cx.err(
                &format!("{p}.b"),
                format!("{what}self-loop: both ends are {:?}", k.a),
            );
        } else if let (Some(a), Some(b)) = (a, b) {
            let key = (a.min(b), a.max(b));
            if let Some(j) = pairs.get(&key) {
                cx.err(
                    &format!("{p}.b"),
                    format!(
                        "{what}duplicate link between {:?} and {:?} (link {j})",
                        k.a, k.b
                    ),
                );
            } else {
                pairs.insert(key, i);
            }
        }
        let Some(mut prof) = resolve_link_profile(l, &mut cx, &p, &k.profile, &what) else {
            continue;
        };
        // the link table (`fields`) drives the merge and the checks
        prof.apply_overrides(k);
        if k.medium.is_some() {
            prof.medium = k.medium.clone();
        }
        for (f, m) in prof.problems() {
            cx.err(&format!("{p}.{f}"), format!("{what}{m}"));
        }
        if prof.mtu_bytes <= prof.header_bytes {
            cx.err(
                &format!("{p}.mtu_bytes"),
                format!(
                    "{what}mtu_bytes must be greater than header_bytes (got {} <= {})",
                    prof.mtu_bytes, prof.header_bytes
                ),
            );
        }
        if prof.medium.as_deref().is_some_and(|m| m.trim().is_empty()) {
            cx.err(
                &format!("{p}.medium"),
                format!("{what}medium name must be non-empty"),
            );
        }
        link_profiles.push(prof);
    }

    // Source and sink.
    let src = index.get(s.source.as_str()).copied();
    let snk = index.get(s.sink.as_str()).copied();
    if src.is_none() {
        cx.err(
            "source",
            format!(
                "source: unknown device {:?} (known: {})",
                s.source,
                known(&ids)
            ),
        );
    }
    if snk.is_none() {
        cx.err(
            "sink",
            format!("sink: unknown device {:?} (known: {})", s.sink, known(&ids)),
        );
    }
    if let (Some(a), Some(b)) = (src, snk) {
        if !reachable(s.devices.len(), &pairs, a, b) {
            cx.err(
                "sink",
                format!(
                    "sink {:?} is unreachable from source {:?} (no path of links)",
                    s.sink, s.source
                ),
            );
        }
    }

    // Dataset.
    let ds = &s.dataset;
    for (field, file) in [("train", Some(&ds.train)), ("test", ds.test.as_ref())] {
        if let Some(f) = file {
            if !l.data_exists(&l.resolve(f)) {
                cx.err(
                    &format!("dataset.{field}"),
                    format!(
                        "dataset {field} file {:?} not found (relative paths resolve against the scenario's folder)",
                        f.display().to_string()
                    ),
                );
            }
        }
    }
    if !(ds.validation_fraction > 0.0 && ds.validation_fraction < 1.0) {
        cx.err(
            "dataset.validation_fraction",
            format!(
                "dataset.validation_fraction must be in (0, 1) (got {})",
                ds.validation_fraction
            ),
        );
    }
    if ds.length == Some(0) {
        cx.err(
            "dataset.length",
            "dataset.length must be > 0 (got 0)".into(),
        );
    }

    // App requirements.
    if let Some(a) = s.app.min_accuracy {
        if !(0.0..=1.0).contains(&a) {
            cx.err(
                "app.min_accuracy",
                format!("app.min_accuracy must be in [0, 1] (got {a})"),
            );
        }
    }
    if let Some(m) = s.app.max_latency_ms {
        cx.positive("app.max_latency_ms", "", "app.max_latency_ms", m);
        cx.limit("app.max_latency_ms", "app.", "max_latency_ms", m);
    }
    if let Some(a) = s.app.min_completed {
        if !(0.0..=1.0).contains(&a) {
            cx.err(
                "app.min_completed",
                format!("app.min_completed must be in [0, 1] (got {a})"),
            );
        }
    }

    // Workload.
    let w = &s.workload;
    match &w.arrivals {
        Arrivals::Periodic { period_ms } => {
            let path = "workload.arrivals.period_ms";
            cx.positive(path, "", "workload period_ms", *period_ms);
            cx.limit(path, "workload ", "period_ms", *period_ms);
            if let Err(m) = super::limits::check_span(w.requests, *period_ms) {
                cx.err(path, format!("workload: {m}"));
            }
        }
        Arrivals::Poisson { rate_hz } => {
            let path = "workload.arrivals.rate_hz";
            cx.positive(path, "", "workload rate_hz", *rate_hz);
            cx.limit(path, "workload ", "rate_hz", *rate_hz);
        }
        Arrivals::Trace { file } => {
            if !l.data_exists(&l.resolve(file)) {
                cx.err(
                    "workload.arrivals.file",
                    format!(
                        "workload trace file {:?} not found (relative paths resolve against the scenario's folder)",
                        file.display().to_string()
                    ),
                );
            }
        }
    }
    cx.range(
        "workload.requests",
        "workload.requests",
        w.requests,
        1,
        super::limits::MAX_REQUESTS,
    );
    cx.non_negative("workload.jitter_ms", "", "workload.jitter_ms", w.jitter_ms);
    cx.limit("workload.jitter_ms", "workload ", "jitter_ms", w.jitter_ms);

    // Search space and settings.
    let sp = &s.space;
    cx.range("space.max_blocks", "space.max_blocks", sp.max_blocks, 1, 32);
    cx.range(
        "space.min_blocks",
        "space.min_blocks",
        sp.min_blocks,
        1,
        sp.max_blocks.max(1),
    );
    cx.range("space.max_cuts", "space.max_cuts", sp.max_cuts, 0, 16);
    for (f, empty) in [
        ("block_kinds", sp.block_kinds.is_empty()),
        ("channels", sp.channels.is_empty()),
        ("kernels", sp.kernels.is_empty()),
        ("strides", sp.strides.is_empty()),
        ("pooling", sp.pooling.is_empty()),
        ("dense_units", sp.dense_units.is_empty()),
    ] {
        if empty {
            cx.err(
                &format!("space.{f}"),
                format!("space.{f} must not be empty"),
            );
        }
    }
    for (f, v) in [
        ("channels", &sp.channels),
        ("kernels", &sp.kernels),
        ("strides", &sp.strides),
    ] {
        for (j, &x) in v.iter().enumerate() {
            cx.range(
                &format!("space.{f}[{j}]"),
                &format!("space.{f}[{j}]"),
                x,
                1,
                4096,
            );
        }
    }
    let se = &s.search;
    use super::limits::{EPOCHS, GENERATIONS, POPULATION};
    for (field, x, range) in [
        ("search.population", se.population, POPULATION),
        ("search.archive", se.archive, 1..=*POPULATION.end()),
        ("search.generations", se.generations, GENERATIONS),
        ("search.train_epochs", se.train_epochs, 1..=*EPOCHS.end()),
        ("search.child_epochs", se.child_epochs, EPOCHS),
        ("search.final_epochs", se.final_epochs, EPOCHS),
    ] {
        cx.range(field, field, x, *range.start(), *range.end());
    }
    cx.non_negative(
        "search.skip_margin",
        "",
        "search.skip_margin",
        se.skip_margin,
    );
    if se.fidelity.requests == Some(0) {
        cx.err(
            "search.fidelity.requests",
            "search.fidelity.requests must be >= 1 (or None: workload.requests)".into(),
        );
    }
    if let Some(sg) = &se.fidelity.surrogate {
        let p = "search.fidelity.surrogate";
        if !(-1.0..=1.0).contains(&sg.min_rank_correlation) {
            cx.err(
                &format!("{p}.min_rank_correlation"),
                format!(
                    "{p}.min_rank_correlation must be in [-1, 1] (got {})",
                    sg.min_rank_correlation
                ),
            );
        }
        cx.non_negative(
            &format!("{p}.margin"),
            "",
            &format!("{p}.margin"),
            sg.margin,
        );
        if !(sg.promote > 0.0 && sg.promote <= 1.0) {
            cx.err(
                &format!("{p}.promote"),
                format!("{p}.promote must be in (0, 1] (got {})", sg.promote),
            );
        }
        if !se.trains_for_objectives() && s.app.min_accuracy.is_none() {
            cx.err(
                p,
                format!("{p}: no objective or constraint depends on training (ValLoss, Error or app.min_accuracy), so there is nothing to predict"),
            );
        }
    }
    if se.objectives.is_empty() {
        cx.err(
            "search.objectives",
            "search.objectives must not be empty".into(),
        );
    }
    let mut seen = HashSet::new();
    for (j, o) in se.objectives.iter().enumerate() {
        if !seen.insert(*o) {
            cx.err(
                &format!("search.objectives[{j}]"),
                format!("search.objectives: {o:?} is listed twice"),
            );
        }
    }

    // Failure model.
    let needs_failures = se.objectives.iter().position(|o| {
        matches!(
            o,
            Objective::Availability | Objective::ExpectedLatencyUnderFailure
        )
    });
    match (&s.failures, needs_failures) {
        (None, Some(j)) => cx.err(
            &format!("search.objectives[{j}]"),
            format!(
                "search.objectives: {:?} needs a failure model: add `failures: (devices: [(id: \"...\", p_down: 0.05)])`",
                se.objectives[j]
            ),
        ),
        (Some(f), _) => {
            let mut listed: HashSet<String> = HashSet::new();
            for (i, d) in f.devices.iter().enumerate() {
                let p = format!("failures.devices[{i}]");
                let what = format!("failures.devices[{i}]: ");
                if !index.contains_key(d.id.as_str()) {
                    cx.err(
                        &format!("{p}.id"),
                        format!("{what}unknown device {:?} (known: {})", d.id, known(&ids)),
                    );
                }
                if !listed.insert(d.id.clone()) {
                    cx.err(&format!("{p}.id"), format!("{what}{:?} is listed twice", d.id));
                }
                cx.downtime(&p, &what, d.p_down, d.mtbf_h, d.mttr_h);
            }
            for (i, l) in f.links.iter().enumerate() {
                let p = format!("failures.links[{i}]");
                let what = format!("failures.links[{i}]: ");
                match (index.get(l.a.as_str()), index.get(l.b.as_str())) {
                    (Some(&x), Some(&y)) if pairs.contains_key(&(x.min(y), x.max(y))) => {
                        let (a, b) = if x <= y { (&l.a, &l.b) } else { (&l.b, &l.a) };
                        if !listed.insert(format!("{a}-{b}")) {
                            cx.err(&format!("{p}.b"), format!("{what}the link {a}-{b} is listed twice"));
                        }
                    }
                    _ => cx.err(
                        &format!("{p}.b"),
                        format!("{what}no link between {:?} and {:?}", l.a, l.b),
                    ),
                }
                cx.downtime(&p, &what, l.p_down, l.mtbf_h, l.mttr_h);
            }
            if let Some(n) = f.sample {
                if f.cases.is_some() {
                    cx.err(
                        "failures.sample",
                        "failures: give either cases or sample, not both".into(),
                    );
                }
                if !(1..=1_000_000).contains(&n) {
                    cx.err(
                        "failures.sample",
                        format!("failures.sample must be in 1..=1000000 (got {n})"),
                    );
                }
            }
            match f.failover {
                Failover::Timeout { ms } => {
                    cx.positive("failures.failover.ms", "failures.failover: ", "ms", ms)
                }
                Failover::Heartbeat { period_ms, missed } => {
                    cx.positive(
                        "failures.failover.period_ms",
                        "failures.failover: ",
                        "period_ms",
                        period_ms,
                    );
                    if missed == 0 {
                        cx.err(
                            "failures.failover.missed",
                            "failures.failover: missed must be at least 1 heartbeat".into(),
                        );
                    }
                }
            }
            // a link is named `a-b` in either order
            let named = |name: &str| -> bool {
                listed.contains(name)
                    || name.split_once('-').is_some_and(|(a, b)| listed.contains(&format!("{b}-{a}")))
            };
            for (k, case) in f.cases.iter().flatten().enumerate() {
                for (m, id) in case.iter().enumerate() {
                    if !named(id) {
                        cx.err(
                            &format!("failures.cases[{k}][{m}]"),
                            format!(
                                "failures.cases[{k}]: {id:?} is not in failures.devices or failures.links (what has no failure probability is never down)"
                            ),
                        );
                    }
                }
            }
        }
        (None, None) => {}
    }

    // Events.
    for (i, e) in s.events.iter().enumerate() {
        let p = format!("events[{i}]");
        let what = format!("event {i}: ");
        cx.non_negative(&format!("{p}.at_ms"), &what, "at_ms", e.at_ms());
        cx.limit(&format!("{p}.at_ms"), &what, "at_ms", e.at_ms());
        match e {
            Event::DeviceDown { device, .. } | Event::DeviceUp { device, .. } => {
                if !index.contains_key(device.as_str()) {
                    cx.err(
                        &format!("{p}.device"),
                        format!("{what}unknown device {device:?} (known: {})", known(&ids)),
                    );
                }
            }
            Event::LinkDown { a, b, .. }
            | Event::LinkUp { a, b, .. }
            | Event::LinkBandwidth { a, b, .. } => {
                let (ia, ib) = (index.get(a.as_str()), index.get(b.as_str()));
                for (end, id, found) in [("a", a, ia), ("b", b, ib)] {
                    if found.is_none() {
                        cx.err(
                            &format!("{p}.{end}"),
                            format!("{what}unknown device {id:?} (known: {})", known(&ids)),
                        );
                    }
                }
                if let (Some(&x), Some(&y)) = (ia, ib) {
                    if !pairs.contains_key(&(x.min(y), x.max(y))) {
                        cx.err(
                            &format!("{p}.b"),
                            format!("{what}no link between {a:?} and {b:?}"),
                        );
                    }
                }
                if let Event::LinkBandwidth { factor, .. } = e {
                    cx.positive(&format!("{p}.factor"), &what, "factor", *factor);
                }
            }
        }
    }

    (cx.errors, device_profiles, link_profiles)
}

fn reachable(n: usize, pairs: &HashMap<(usize, usize), usize>, a: usize, b: usize) -> bool {
    let mut adj = vec![Vec::new(); n];
    for &(x, y) in pairs.keys() {
        adj[x].push(y);
        adj[y].push(x);
    }
    let mut seen = vec![false; n];
    let mut q = VecDeque::from([a]);
    seen[a] = true;
    while let Some(u) = q.pop_front() {
        if u == b {
            return true;
        }
        for &v in &adj[u] {
            if !seen[v] {
                seen[v] = true;
                q.push_back(v);
            }
        }
    }
    false
}

fn is_path_profile(name: &str) -> bool {
    name.ends_with(".ron")
}

fn read_profile_file(
    l: &LoadedScenario,
    cx: &mut Ctx,
    path: &str,
    name: &str,
    what: &str,
) -> Option<(String, String)> {
    let resolved = l.resolve(Path::new(name));
    match std::fs::read_to_string(&resolved) {
        Ok(t) => Some((resolved.display().to_string(), t)),
        Err(e) => {
            cx.err(
                &format!("{path}.profile"),
                format!("{what}cannot read profile file {name:?}: {e}"),
            );
            None
        }
    }
}

fn push_parse_error(cx: &mut Ctx, e: ScenarioError) {
    cx.errors.extend(e.diagnostics());
}

fn resolve_device_profile(
    l: &LoadedScenario,
    cx: &mut Ctx,
    path: &str,
    name: &str,
    what: &str,
) -> Option<DeviceProfile> {
    if is_path_profile(name) {
        let (file, text) = read_profile_file(l, cx, path, name, what)?;
        return profiles::parse_device_profile(&file, &text)
            .map_err(|e| push_parse_error(cx, e))
            .ok();
    }
    let p = profiles::shipped_device_profile(name);
    if p.is_none() {
        cx.err(
            &format!("{path}.profile"),
            format!(
                "{what}unknown device profile {name:?} (known: {}, or a path ending in .ron)",
                known(&profiles::device_profile_names())
            ),
        );
    }
    p
}

fn resolve_link_profile(
    l: &LoadedScenario,
    cx: &mut Ctx,
    path: &str,
    name: &str,
    what: &str,
) -> Option<LinkProfile> {
    if is_path_profile(name) {
        let (file, text) = read_profile_file(l, cx, path, name, what)?;
        return profiles::parse_link_profile(&file, &text)
            .map_err(|e| push_parse_error(cx, e))
            .ok();
    }
    let p = profiles::shipped_link_profile(name);
    if p.is_none() {
        let mut names = profiles::link_profile_names();
        names.extend(profiles::LINK_ALIASES.iter().map(|(a, _)| *a));
        names.sort_unstable();
        cx.err(
            &format!("{path}.profile"),
            format!(
                "{what}unknown link profile {name:?} (known: {}, or a path ending in .ron)",
                known(&names)
            ),
        );
    }
    p
}
