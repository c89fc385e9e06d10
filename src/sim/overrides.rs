//! `--set` overrides for what-if runs: change one device, link or workload parameter
//! and compare, e.g. `devices.hub.mac_per_s=2e8`, `links.hub-phone.bandwidth_bps=1e6`
//! or `workload.arrivals.period_ms=50`.

use super::SimError;
use crate::network::Network;
use crate::scenario::fields::Fields;
use crate::scenario::limits;
use crate::scenario::{Arrivals, Workload};

/// Workload fields `--set workload.<field>=<value>` accepts.
pub const WORKLOAD_FIELDS: &[&str] = &[
    "arrivals.period_ms",
    "arrivals.rate_hz",
    "jitter_ms",
    "requests",
];

/// What a `--set` override may change: the resolved network and the scenario's
/// workload (resolved into a [`super::SimWorkload`] after the overrides).
#[derive(Debug)]
pub struct WhatIfTarget<'a> {
    /// Devices and links.
    pub network: &'a mut Network,
    /// Arrivals, request count and jitter.
    pub workload: &'a mut Workload,
}

/// Unit of the parameter at a `--set` path (`""` when unknown), for axis labels:
/// the device and link field tables' units, `ms`, `Hz` or `count` for the workload.
pub fn unit_of(path: &str) -> &'static str {
    use crate::scenario::{DeviceProfile, LinkProfile};
    let field = path.rsplit('.').next().unwrap_or("");
    let table = if path.starts_with("devices.") {
        DeviceProfile::FIELDS
    } else if path.starts_with("links.") {
        LinkProfile::FIELDS
    } else {
        return match field {
            "period_ms" | "jitter_ms" => "ms",
            "rate_hz" => "Hz",
            "requests" => "count",
            _ => "",
        };
    };
    table
        .iter()
        .find(|f| f.name == field)
        .map_or("", |f| f.unit)
}

/// Splits `PATH=VALUE` and parses the value as a number.
pub fn parse_set(spec: &str) -> Result<(&str, f64), SimError> {
    let (path, value) = spec
        .split_once('=')
        .ok_or_else(|| bad(spec, "expected PATH=VALUE"))?;
    let value = value.trim();
    let num: f64 = value
        .parse()
        .map_err(|_| bad(spec, format!("`{value}` is not a number")))?;
    Ok((path.trim(), num))
}

/// Applies one `PATH=VALUE` override: `devices.<id>.<field>`, `links.<a>-<b>.<field>`
/// (see [`apply_set`]) or `workload.<field>` ([`WORKLOAD_FIELDS`]).
pub fn apply_override(target: &mut WhatIfTarget<'_>, spec: &str) -> Result<(), SimError> {
    let (path, num) = parse_set(spec)?;
    set_value(target, path, num).map_err(|msg| bad(spec, msg))
}

/// Sets the parameter at `path` to `value` (the `--set` semantics without the string
/// round trip, used by sweeps). The error is the reason, without the path.
pub fn set_value(target: &mut WhatIfTarget<'_>, path: &str, value: f64) -> Result<(), String> {
    match path.strip_prefix("workload.") {
        Some(field) => set_workload(target.workload, field, value),
        None => set_network(target.network, path, value),
    }
}

fn set_workload(w: &mut Workload, field: &str, num: f64) -> Result<(), String> {
    if !num.is_finite() || num < 0.0 {
        return Err("the value must be a finite number >= 0".into());
    }
    let name = field.rsplit('.').next().unwrap_or(field);
    limits::check(name, num)?;
    let before = w.clone();
    set_workload_field(w, field, num)?;
    if let Arrivals::Periodic { period_ms } = w.arrivals {
        if let Err(m) = limits::check_span(w.requests, period_ms) {
            *w = before;
            return Err(m);
        }
    }
    Ok(())
}

fn set_workload_field(w: &mut Workload, field: &str, num: f64) -> Result<(), String> {
    match (field, &mut w.arrivals) {
        ("arrivals.period_ms", Arrivals::Periodic { period_ms }) if num > 0.0 => *period_ms = num,
        ("arrivals.rate_hz", Arrivals::Poisson { rate_hz }) if num > 0.0 => *rate_hz = num,
        ("arrivals.period_ms" | "arrivals.rate_hz", Arrivals::Periodic { .. })
        | ("arrivals.period_ms" | "arrivals.rate_hz", Arrivals::Poisson { .. })
            if num == 0.0 =>
        {
            return Err("must be > 0".into())
        }
        ("arrivals.period_ms", a) | ("arrivals.rate_hz", a) => {
            let kind = match a {
                Arrivals::Periodic { .. } => "Periodic",
                Arrivals::Poisson { .. } => "Poisson",
                Arrivals::Trace { .. } => "Trace",
            };
            return Err(format!(
                "the workload's arrivals are {kind}; period_ms applies to Periodic, rate_hz to Poisson"
            ));
        }
        ("jitter_ms", _) => w.jitter_ms = num,
        ("requests", _)
            if num.fract() == 0.0 && num >= 1.0 && num <= limits::MAX_REQUESTS as f64 =>
        {
            w.requests = num as usize
        }
        ("requests", _) => {
            return Err(format!(
                "expected a whole number in 1..={}",
                limits::MAX_REQUESTS
            ))
        }
        _ => {
            return Err(format!(
                "unknown workload field; expected one of {}",
                WORKLOAD_FIELDS.join(", ")
            ))
        }
    }
    Ok(())
}

fn bad(spec: &str, msg: impl std::fmt::Display) -> SimError {
    SimError::Override(format!("`{spec}`: {msg}"))
}

/// Applies one `path=value` override to `network`. Paths: `devices.<id>.<field>` or
/// `links.<a>-<b>.<field>` (either endpoint order); fields as in the profile files
/// (the device and link tables of [`crate::scenario::fields`], checked as the scenario
/// validation checks them).
pub fn apply_set(network: &mut Network, spec: &str) -> Result<(), SimError> {
    let (path, num) = parse_set(spec)?;
    set_network(network, path, num).map_err(|msg| bad(spec, msg))
}

fn set_network(network: &mut Network, path: &str, num: f64) -> Result<(), String> {
    const WHERE: &str = "expected devices.<id>.<field>, links.<a>-<b>.<field> or workload.<field>";
    let (kind, rest) = path.split_once('.').ok_or(WHERE)?;
    let (name, field) = rest.rsplit_once('.').ok_or("missing .<field>")?;
    match kind {
        "devices" => {
            let i = network
                .device_index(name)
                .ok_or_else(|| format!("unknown device `{name}`"))?;
            network.edit_device(i, |d| d.set(field, num))
        }
        "links" => {
            let ids = |l: &crate::network::Link| {
                (
                    network.devices()[l.a].id.clone(),
                    network.devices()[l.b].id.clone(),
                )
            };
            let i = network
                .links()
                .iter()
                .position(|l| {
                    let (a, b) = ids(l);
                    name == format!("{a}-{b}") || name == format!("{b}-{a}")
                })
                .ok_or_else(|| format!("no link `{name}` (write links.<a>-<b>)"))?;
            network.edit_link(i, |l| {
                let (mtu, header) = (l.mtu_bytes, l.header_bytes);
                l.set(field, num)?;
                if l.mtu_bytes <= l.header_bytes {
                    (l.mtu_bytes, l.header_bytes) = (mtu, header);
                    return Err("mtu_bytes must exceed header_bytes".into());
                }
                Ok(())
            })
        }
        _ => Err(WHERE.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::tests::{device, link};

    /// Axis labels of sweeps name the unit the scenario reference gives each field.
    #[test]
    fn units_of_set_paths() {
        assert_eq!(unit_of("devices.hub.mac_per_s"), "MAC/s");
        assert_eq!(unit_of("devices.hub.battery_mj"), "mJ");
        assert_eq!(unit_of("links.a-b.bandwidth_bps"), "bit/s");
        assert_eq!(unit_of("links.a-b.latency_ms"), "ms");
        assert_eq!(unit_of("workload.arrivals.period_ms"), "ms");
        assert_eq!(unit_of("workload.arrivals.rate_hz"), "Hz");
        assert_eq!(unit_of("devices.hub.nonsense"), "");
    }

    #[test]
    fn sets_device_and_link_fields_and_rejects_bad_paths() {
        let mut net = Network::new(
            vec![device("wrist"), device("hub")],
            vec![link(0, 1, 1e6, 1.0)],
            vec![],
        );
        apply_set(&mut net, "devices.hub.mac_per_s=2e8").unwrap();
        assert_eq!(net.devices()[1].mac_per_s, 2e8);
        apply_set(&mut net, "devices.wrist.cores=2").unwrap();
        assert_eq!(net.devices()[0].cores, 2);
        apply_set(&mut net, "links.hub-wrist.bandwidth_bps=5e5").unwrap();
        assert_eq!(net.links()[0].bandwidth_bps, 5e5);
        apply_set(&mut net, "links.wrist-hub.loss=0.1").unwrap();
        assert_eq!(net.links()[0].loss, 0.1);
        for bad in [
            "devices.hub.mac_per_s",
            "devices.nope.mac_per_s=1",
            "devices.hub.speed=1",
            "links.wrist-phone.loss=0.1",
            "links.wrist-hub.loss=1",
            "devices.hub.cores=1.5",
            "devices.hub.mac_per_s=0",
            "links.wrist-hub.mtu_bytes=10",
            "nodes.hub.x=1",
        ] {
            let e = apply_set(&mut net, bad).unwrap_err().to_string();
            assert!(e.contains(bad.split('=').next().unwrap()), "{bad}: {e}");
        }
    }

    #[test]
    fn sets_workload_fields_by_arrival_kind() {
        let mut net = Network::new(vec![device("wrist")], vec![], vec![]);
        let mut w = Workload {
            arrivals: Arrivals::Periodic { period_ms: 100.0 },
            requests: 10,
            jitter_ms: 0.0,
        };
        let mut t = WhatIfTarget {
            network: &mut net,
            workload: &mut w,
        };
        apply_override(&mut t, "workload.arrivals.period_ms=25").unwrap();
        apply_override(&mut t, "workload.jitter_ms=2.5").unwrap();
        apply_override(&mut t, "workload.requests=400").unwrap();
        apply_override(&mut t, "devices.wrist.idle_mw=0.5").unwrap();
        assert_eq!(t.workload.arrivals, Arrivals::Periodic { period_ms: 25.0 });
        assert_eq!((t.workload.jitter_ms, t.workload.requests), (2.5, 400));
        assert_eq!(t.network.devices()[0].idle_mw, 0.5);
        for (spec, why) in [
            ("workload.arrivals.rate_hz=5", "arrivals are Periodic"),
            ("workload.arrivals.period_ms=0", "must be > 0"),
            ("workload.requests=2.5", "whole number"),
            ("workload.speed=1", "unknown workload field"),
            ("devices.wrist.flash_bytes=1.5", "whole number"),
        ] {
            let e = apply_override(&mut t, spec).unwrap_err().to_string();
            assert!(e.contains(spec) && e.contains(why), "{spec}: {e}");
        }
    }
}
