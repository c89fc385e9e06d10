//! `--set` overrides for what-if runs: change one device or link parameter of a
//! resolved [`Network`] and compare, e.g. `devices.hub.mac_per_s=2e8` or
//! `links.hub-phone.bandwidth_bps=1e6`.

use super::SimError;
use crate::network::Network;

/// Device fields `--set devices.<id>.<field>=<value>` accepts.
pub const DEVICE_FIELDS: &[&str] = &[
    "flash_bytes",
    "sram_bytes",
    "mac_per_s",
    "layer_overhead_us",
    "active_mw",
    "idle_mw",
    "tx_mw",
    "rx_mw",
    "battery_mj",
    "cores",
];

/// Link fields `--set links.<a>-<b>.<field>=<value>` accepts.
pub const LINK_FIELDS: &[&str] = &[
    "bandwidth_bps",
    "latency_ms",
    "mtu_bytes",
    "header_bytes",
    "loss",
];

fn bad(spec: &str, msg: impl std::fmt::Display) -> SimError {
    SimError::Override(format!("`{spec}`: {msg}"))
}

/// Applies one `path=value` override to `network`. Paths: `devices.<id>.<field>` or
/// `links.<a>-<b>.<field>` (either endpoint order); fields as in the profile files
/// ([`DEVICE_FIELDS`], [`LINK_FIELDS`]).
pub fn apply_set(network: &mut Network, spec: &str) -> Result<(), SimError> {
    let (path, value) = spec
        .split_once('=')
        .ok_or_else(|| bad(spec, "expected PATH=VALUE"))?;
    let value = value.trim();
    let num: f64 = value
        .parse()
        .map_err(|_| bad(spec, format!("`{value}` is not a number")))?;
    if !num.is_finite() || num < 0.0 {
        return Err(bad(spec, "the value must be a finite number >= 0"));
    }
    let int = || {
        if num.fract() == 0.0 && num <= u32::MAX as f64 {
            Ok(num as u64)
        } else {
            Err(bad(spec, "expected a whole number"))
        }
    };
    let (kind, rest) = path.trim().split_once('.').ok_or_else(|| {
        bad(
            spec,
            "expected devices.<id>.<field> or links.<a>-<b>.<field>",
        )
    })?;
    let (name, field) = rest
        .rsplit_once('.')
        .ok_or_else(|| bad(spec, "missing .<field>"))?;
    match kind {
        "devices" => {
            let i = network
                .device_index(name)
                .ok_or_else(|| bad(spec, format!("unknown device `{name}`")))?;
            let d = &mut network.devices[i];
            match field {
                "flash_bytes" => d.flash_bytes = num as u64,
                "sram_bytes" => d.sram_bytes = num as u64,
                "mac_per_s" if num > 0.0 => d.mac_per_s = num,
                "layer_overhead_us" => d.layer_overhead_us = num,
                "active_mw" => d.active_mw = num,
                "idle_mw" => d.idle_mw = num,
                "tx_mw" => d.tx_mw = num,
                "rx_mw" => d.rx_mw = num,
                "battery_mj" => d.battery_mj = Some(num),
                "cores" if num >= 1.0 => d.cores = int()? as u32,
                "mac_per_s" | "cores" => return Err(bad(spec, "must be > 0")),
                _ => {
                    return Err(bad(
                        spec,
                        format!(
                            "unknown device field; expected one of {}",
                            DEVICE_FIELDS.join(", ")
                        ),
                    ))
                }
            }
        }
        "links" => {
            let ids = |l: &crate::network::Link| {
                (
                    network.devices[l.a].id.clone(),
                    network.devices[l.b].id.clone(),
                )
            };
            let i = network
                .links
                .iter()
                .position(|l| {
                    let (a, b) = ids(l);
                    name == format!("{a}-{b}") || name == format!("{b}-{a}")
                })
                .ok_or_else(|| bad(spec, format!("no link `{name}` (write links.<a>-<b>)")))?;
            let l = &mut network.links[i];
            match field {
                "bandwidth_bps" if num > 0.0 => l.bandwidth_bps = num,
                "latency_ms" => l.latency_ms = num,
                "mtu_bytes" => l.mtu_bytes = int()? as u32,
                "header_bytes" => l.header_bytes = int()? as u32,
                "loss" if num < 1.0 => l.loss = num,
                "bandwidth_bps" => return Err(bad(spec, "must be > 0")),
                "loss" => return Err(bad(spec, "must be in [0, 1)")),
                _ => {
                    return Err(bad(
                        spec,
                        format!(
                            "unknown link field; expected one of {}",
                            LINK_FIELDS.join(", ")
                        ),
                    ))
                }
            }
            if l.mtu_bytes <= l.header_bytes {
                return Err(bad(spec, "mtu_bytes must exceed header_bytes"));
            }
        }
        _ => {
            return Err(bad(
                spec,
                "expected devices.<id>.<field> or links.<a>-<b>.<field>",
            ))
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::tests::{device, link};

    #[test]
    fn sets_device_and_link_fields_and_rejects_bad_paths() {
        let mut net = Network::new(
            vec![device("wrist"), device("hub")],
            vec![link(0, 1, 1e6, 1.0)],
            vec![],
        );
        apply_set(&mut net, "devices.hub.mac_per_s=2e8").unwrap();
        assert_eq!(net.devices[1].mac_per_s, 2e8);
        apply_set(&mut net, "devices.wrist.cores=2").unwrap();
        assert_eq!(net.devices[0].cores, 2);
        apply_set(&mut net, "links.hub-wrist.bandwidth_bps=5e5").unwrap();
        assert_eq!(net.links[0].bandwidth_bps, 5e5);
        apply_set(&mut net, "links.wrist-hub.loss=0.1").unwrap();
        assert_eq!(net.links[0].loss, 0.1);
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
}
