//! Where a candidate's partitions run and what crosses each link: the data of the
//! placement diagrams (`report`), built from the static figures and the simulation.

use super::measure::StaticFigures;
use super::objectives::SimFigures;
use super::summary::{
    DeviceSummary, LinkLoad, PartitionSummary, Topology, TopologyDevice, TopologyLink,
};
use crate::network::Network;
use crate::partition::Candidate;

/// Link id `"<a>-<b>"` of link `l` (device ids in the scenario's order), as in the
/// simulator's report.
pub fn link_id(net: &Network, l: usize) -> String {
    let link = &net.links()[l];
    format!("{}-{}", net.devices()[link.a].id, net.devices()[link.b].id)
}

/// The device graph of `net` with requests arriving at `source` and outputs going
/// to `sink` (device indices).
pub fn topology(net: &Network, source: usize, sink: usize) -> Topology {
    Topology {
        devices: net
            .devices()
            .iter()
            .map(|d| TopologyDevice {
                id: d.id.clone(),
                profile: d.profile.clone(),
                flash_bytes: d.flash_bytes,
                sram_bytes: d.sram_bytes,
            })
            .collect(),
        links: (0..net.links().len())
            .map(|l| {
                let link = &net.links()[l];
                TopologyLink {
                    id: link_id(net, l),
                    a: net.devices()[link.a].id.clone(),
                    b: net.devices()[link.b].id.clone(),
                    profile: link.profile.clone(),
                    bandwidth_bps: link.bandwidth_bps,
                }
            })
            .collect(),
        source: net.devices()[source].id.clone(),
        sink: net.devices()[sink].id.clone(),
    }
}

/// The partitions of `c` with their costs (`st`) and the kinds of their layers.
pub fn partition_summaries(
    c: &Candidate,
    st: &StaticFigures,
    net: &Network,
) -> Vec<PartitionSummary> {
    st.partitions
        .iter()
        .map(|p| PartitionSummary {
            device: net.devices()[p.device].id.clone(),
            first_layer: p.first_layer,
            end_layer: p.end_layer,
            flash_bytes: p.flash_bytes,
            peak_sram_bytes: p.peak_sram_bytes,
            macs: p.macs,
            compute_ms: p.compute_ns as f64 / 1e6,
            out_bytes: p.out_bytes,
            layer_kinds: c
                .arch
                .layers
                .get(p.first_layer..p.end_layer)
                .unwrap_or_default()
                .iter()
                .map(|l| l.kind().to_string())
                .collect(),
            standby: p.standby.map(|s| net.devices()[s.device].id.clone()),
        })
        .collect()
}

/// Simulated load and energy of every device.
pub fn device_summaries(sim: &SimFigures) -> Vec<DeviceSummary> {
    sim.devices
        .iter()
        .map(|d| DeviceSummary {
            id: d.id.clone(),
            busy_fraction: d.busy_fraction,
            energy_mj_per_inference: d.energy_mj_per_inference,
            idle_mj_per_inference: d.idle_mj_per_inference,
            lifetime_s: d.lifetime_s,
        })
        .collect()
}

/// Every link that carries a message of the candidate on the nominal routes (`st`)
/// or was busy in the simulation (`utilisation`, in the network's link order; `None`
/// when not simulated), in the network's link order.
pub fn link_loads(st: &StaticFigures, net: &Network, utilisation: Option<&[f64]>) -> Vec<LinkLoad> {
    let mut bytes = vec![0u64; net.links().len()];
    for t in &st.transfers {
        for h in &t.hops {
            bytes[h.link] += t.bytes;
        }
    }
    (0..net.links().len())
        .filter_map(|l| {
            let u = utilisation.map(|u| u.get(l).copied().unwrap_or(0.0));
            (bytes[l] > 0 || u.is_some_and(|u| u > 0.0)).then(|| LinkLoad {
                link: link_id(net, l),
                bytes_per_inference: bytes[l],
                utilisation: u,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::measure::{static_figures, PartitionFigures};
    use crate::network::tests::{device, link};

    fn part(device: usize, out_bytes: u64) -> PartitionFigures {
        PartitionFigures {
            device,
            first_layer: 0,
            end_layer: 1,
            flash_bytes: 1,
            peak_sram_bytes: 1,
            macs: 1,
            compute_ns: 1,
            out_bytes,
            standby: None,
        }
    }

    /// Chain s - r - h - k (k unused). Input (600 B) from s to the first partition on
    /// h crosses s-r and r-h; the cut tensor (40 B) goes back from h to the second
    /// partition on r over r-h; the output (10 B) from r to the sink s over s-r. By
    /// hand: s-r carries 600 + 10 = 610 B, r-h 600 + 40 = 640 B, h-k nothing.
    #[test]
    fn loads_sum_every_message_over_its_route() {
        let net = Network::new(
            vec![device("s"), device("r"), device("h"), device("k")],
            vec![
                link(0, 1, 1e6, 1.0),
                link(1, 2, 1e6, 1.0),
                link(2, 3, 1e6, 1.0),
            ],
            vec![],
        );
        let st = static_figures(vec![part(2, 40), part(1, 10)], 600, &net, 0, 0);
        let loads = link_loads(&st, &net, None);
        let got: Vec<(&str, u64)> = loads
            .iter()
            .map(|l| (l.link.as_str(), l.bytes_per_inference))
            .collect();
        assert_eq!(got, [("s-r", 610), ("r-h", 640)]);
        assert!(loads.iter().all(|l| l.utilisation.is_none()));
        // a link busy in the simulation but off the nominal routes is kept
        let loads = link_loads(&st, &net, Some(&[0.5, 0.25, 0.125]));
        assert_eq!(loads.len(), 3);
        assert_eq!(loads[2].link, "h-k");
        assert_eq!(loads[2].bytes_per_inference, 0);
        assert_eq!(loads[2].utilisation, Some(0.125));
        let t = topology(&net, 0, 3);
        assert_eq!((t.source.as_str(), t.sink.as_str()), ("s", "k"));
        assert_eq!(t.links[1].id, "r-h");
    }
}
