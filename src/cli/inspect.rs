//! `distrinas inspect`: devices (budgets), links, routes from the source, Graphviz.

use anyhow::Context;
use clap::Args;
use distrinas::network::Network;
use distrinas::scenario::{LoadedScenario, Scenario};
use std::path::PathBuf;
use std::process::ExitCode;

/// Message size of the route table, bytes.
const ROUTE_BYTES: u64 = 1024;

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Scenario file (default: the embedded quickstart).
    pub file: Option<PathBuf>,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Also write the topology as a Graphviz file.
    #[arg(long, value_name = "FILE")]
    pub dot: Option<PathBuf>,
}

pub fn run(args: InspectArgs) -> anyhow::Result<ExitCode> {
    let loaded = match &args.file {
        Some(f) => match Scenario::load(f) {
            Ok(l) => l,
            Err(e) => {
                for line in e.lines() {
                    eprintln!("{line}");
                }
                return Ok(ExitCode::from(1));
            }
        },
        None => Scenario::embedded_quickstart(),
    };
    let net = loaded.network();
    if let Some(dot) = &args.dot {
        distrinas::atomic::write_atomic(dot, net.to_dot(&loaded.scenario.name).as_bytes())
            .with_context(|| format!("writing {}", dot.display()))?;
        eprintln!("wrote {}", dot.display());
    }
    if args.json {
        println!("{}", json(&loaded, &net));
    } else {
        print!("{}", table(&loaded, &net));
    }
    Ok(ExitCode::SUCCESS)
}

fn routes(
    loaded: &LoadedScenario,
    net: &Network,
) -> Vec<(usize, Option<distrinas::network::Route>)> {
    let src = net.device_index(&loaded.scenario.source).unwrap_or(0);
    (0..net.devices().len())
        .map(|d| (d, net.route(src, d, ROUTE_BYTES)))
        .collect()
}

fn path_of(net: &Network, src: usize, r: &distrinas::network::Route) -> Vec<String> {
    std::iter::once(src)
        .chain(r.hops.iter().map(|h| h.to))
        .map(|d| net.devices()[d].id.clone())
        .collect()
}

fn kib(b: u64) -> String {
    if b >= 1 << 20 && b.is_multiple_of(1 << 20) {
        format!("{} MiB", b >> 20)
    } else {
        format!("{} KiB", b as f64 / 1024.0)
    }
}

fn table(loaded: &LoadedScenario, net: &Network) -> String {
    use std::fmt::Write;
    let s = &loaded.scenario;
    let mut o = String::new();
    let _ = writeln!(o, "scenario {} ({})", s.name, loaded.file);
    let _ = writeln!(o, "source {} → sink {}\n", s.source, s.sink);
    let _ = writeln!(
        o,
        "{:<10} {:<10} {:>10} {:>10} {:>10} {:>5} {:>10} {:>9} {:>8} {:>8} {:>12}",
        "device",
        "profile",
        "flash",
        "sram",
        "MMAC/s",
        "cores",
        "active mW",
        "idle mW",
        "tx mW",
        "rx mW",
        "battery J"
    );
    for d in net.devices() {
        let _ = writeln!(
            o,
            "{:<10} {:<10} {:>10} {:>10} {:>10.1} {:>5} {:>10.2} {:>9.4} {:>8.1} {:>8.1} {:>12}",
            d.id,
            d.profile,
            kib(d.flash_bytes),
            kib(d.sram_bytes),
            d.mac_per_s / 1e6,
            d.cores,
            d.active_mw,
            d.idle_mw,
            d.tx_mw,
            d.rx_mw,
            d.battery_mj
                .map_or("mains".to_string(), |b| format!("{:.0}", b / 1000.0)),
        );
    }
    let _ = writeln!(
        o,
        "\n{:<20} {:<11} {:>12} {:>11} {:>5} {:>6} {:>6} {:<12}",
        "link", "profile", "kb/s", "latency ms", "MTU", "header", "loss", "medium"
    );
    for l in net.links() {
        let _ = writeln!(
            o,
            "{:<20} {:<11} {:>12.1} {:>11.2} {:>5} {:>6} {:>6.3} {:<12}",
            format!("{}–{}", net.devices()[l.a].id, net.devices()[l.b].id),
            l.profile,
            l.bandwidth_bps / 1e3,
            l.latency_ms,
            l.mtu_bytes,
            l.header_bytes,
            l.loss,
            l.medium.map_or("-".to_string(), |m| net.media()[m].clone()),
        );
    }
    let _ = writeln!(
        o,
        "\nroutes from {} (1 KiB message, idle network)",
        s.source
    );
    let _ = writeln!(o, "{:<10} {:>4} {:>12}  path", "to", "hops", "latency ms");
    let src = net.device_index(&s.source).unwrap_or(0);
    for (d, r) in routes(loaded, net) {
        match r {
            Some(r) => {
                let _ = writeln!(
                    o,
                    "{:<10} {:>4} {:>12.3}  {}",
                    net.devices()[d].id,
                    r.hops.len(),
                    r.latency_ns as f64 / 1e6,
                    path_of(net, src, &r).join(" → ")
                );
            }
            None => {
                let _ = writeln!(
                    o,
                    "{:<10} {:>4} {:>12}  unreachable",
                    net.devices()[d].id,
                    "-",
                    "-"
                );
            }
        }
    }
    o
}

fn json(loaded: &LoadedScenario, net: &Network) -> serde_json::Value {
    use serde_json::json;
    let src = net.device_index(&loaded.scenario.source).unwrap_or(0);
    let devices: Vec<_> = net
        .devices()
        .iter()
        .map(|d| {
            json!({"id": d.id, "profile": d.profile, "flash_bytes": d.flash_bytes,
                   "sram_bytes": d.sram_bytes, "mac_per_s": d.mac_per_s,
                   "layer_overhead_us": d.layer_overhead_us, "active_mw": d.active_mw,
                   "idle_mw": d.idle_mw, "tx_mw": d.tx_mw, "rx_mw": d.rx_mw,
                   "battery_mj": d.battery_mj, "cores": d.cores,
                   "energy_budget_mj": d.energy_budget_mj})
        })
        .collect();
    let links: Vec<_> = net
        .links()
        .iter()
        .map(|l| {
            json!({"a": net.devices()[l.a].id, "b": net.devices()[l.b].id, "profile": l.profile,
                   "bandwidth_bps": l.bandwidth_bps, "latency_ms": l.latency_ms,
                   "mtu_bytes": l.mtu_bytes, "header_bytes": l.header_bytes, "loss": l.loss,
                   "medium": l.medium.map(|m| net.media()[m].clone())})
        })
        .collect();
    let routes: Vec<_> = routes(loaded, net)
        .into_iter()
        .map(|(d, r)| match r {
            Some(r) => json!({"to": net.devices()[d].id, "reachable": true, "hops": r.hops.len(),
                              "path": path_of(net, src, &r),
                              "latency_ms": r.latency_ns as f64 / 1e6}),
            None => json!({"to": net.devices()[d].id, "reachable": false}),
        })
        .collect();
    json!({"scenario": loaded.scenario.name, "file": loaded.file,
           "source": loaded.scenario.source, "sink": loaded.scenario.sink,
           "route_bytes": ROUTE_BYTES, "devices": devices, "links": links, "routes": routes})
}
