//! The device network: a petgraph graph of devices (nodes) and links (edges),
//! link timing (packetisation, airtime, per-hop latency), shared media and
//! least-latency routing. What-if events change its state over time.

use crate::scenario::LoadedScenario;
use petgraph::graph::{NodeIndex, UnGraph};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Mutex;

use crate::{table_copy, table_fields_impl, table_plain_struct};

crate::device_table!(table_plain_struct! {
    /// A device with its profile resolved (scenario overrides applied); the figures are
    /// the device table's (`scenario::fields`).
    #[derive(Debug, Clone, PartialEq)]
    struct Device {
        head {
            /// Id from the scenario.
            pub id: String,
            /// Name of the profile it was built from.
            pub profile: String,
        }
        tail {
            /// Energy budget per inference, mJ (constraint).
            pub energy_budget_mj: Option<f64>,
            /// Fitted per-layer latency by layer kind (empty: the two-term model).
            pub latency: std::collections::BTreeMap<String, crate::scenario::LayerLatency>,
        }
    }
});

crate::device_table!(table_fields_impl! { Device; });

crate::link_table!(table_plain_struct! {
    /// A link with its profile resolved. Endpoints are device indices; the figures are
    /// the link table's (`scenario::fields`).
    #[derive(Debug, Clone, PartialEq)]
    struct Link {
        head {
            /// One end (device index).
            pub a: usize,
            /// The other end.
            pub b: usize,
            /// Name of the profile it was built from.
            pub profile: String,
        }
        tail {
            /// Index into [`Network::media`] when the link shares a medium.
            pub medium: Option<usize>,
        }
    }
});

crate::link_table!(table_fields_impl! { Link; });

impl Link {
    /// Payload bytes per packet (`mtu - header`, at least 1).
    pub fn payload_per_packet(&self) -> u64 {
        (self.mtu_bytes.saturating_sub(self.header_bytes) as u64).max(1)
    }

    /// Packets needed for a message of `bytes` (at least one, even for 0 bytes).
    pub fn packets(&self, bytes: u64) -> u64 {
        bytes.div_ceil(self.payload_per_packet()).max(1)
    }

    /// Bytes on the wire for a message: payload + one header per packet.
    pub fn wire_bytes(&self, bytes: u64) -> u64 {
        bytes + self.packets(bytes) * self.header_bytes as u64
    }

    /// Transmitter busy time for `wire_bytes` at `bandwidth_bps × factor`, in ns,
    /// rounded up: `ceil(wire_bytes × 8 × 1e9 / bandwidth)`.
    pub fn airtime_ns_wire(&self, wire_bytes: u64, factor: f64) -> u64 {
        let bw = self.bandwidth_bps * factor;
        ((wire_bytes as f64 * 8.0 * 1e9) / bw).ceil() as u64
    }

    /// Transmitter busy time of a whole message without losses, in ns.
    pub fn airtime_ns(&self, bytes: u64, factor: f64) -> u64 {
        self.airtime_ns_wire(self.wire_bytes(bytes), factor)
    }

    /// Per-hop latency in ns.
    pub fn latency_ns(&self) -> u64 {
        (self.latency_ms * 1e6).round() as u64
    }

    /// The endpoint opposite `device`.
    pub fn other(&self, device: usize) -> usize {
        if device == self.a {
            self.b
        } else {
            self.a
        }
    }
}

/// One hop of a route: link `link` traversed from device `from` to device `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Hop {
    pub link: usize,
    pub from: usize,
    pub to: usize,
}

/// A route and its loss-free latency for the message size it was computed for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub hops: Vec<Hop>,
    /// Σ (airtime + hop latency), ns, on an idle network.
    pub latency_ns: u64,
}

/// Key of the route cache: (from, to, message bytes).
type RouteKey = (usize, usize, u64);

/// The topology with its current state (which devices/links are up, bandwidth factors).
///
/// Routes are cached per (from, to, bytes); every `set_*` method clears the cache, so a
/// cached route always reflects the current state. The cache sits behind a `Mutex`, so a
/// `&Network` can be shared between threads.
#[derive(Debug)]
pub struct Network {
    devices: Vec<Device>,
    links: Vec<Link>,
    /// Names of shared media.
    media: Vec<String>,
    graph: UnGraph<usize, usize>,
    device_up: Vec<bool>,
    link_up: Vec<bool>,
    bandwidth_factor: Vec<f64>,
    routes: Mutex<HashMap<RouteKey, Option<Route>>>,
}

impl Clone for Network {
    fn clone(&self) -> Self {
        Network {
            devices: self.devices.clone(),
            links: self.links.clone(),
            media: self.media.clone(),
            graph: self.graph.clone(),
            device_up: self.device_up.clone(),
            link_up: self.link_up.clone(),
            bandwidth_factor: self.bandwidth_factor.clone(),
            routes: Mutex::new(self.route_cache().clone()),
        }
    }
}

impl LoadedScenario {
    /// The scenario's network with every device and link up (see
    /// [`Network::from_scenario`]).
    pub fn network(&self) -> Network {
        Network::from_scenario(self)
    }
}

impl Network {
    /// Builds the graph. Link endpoints must be valid device indices (the scenario
    /// validator guarantees it).
    pub fn new(devices: Vec<Device>, links: Vec<Link>, media: Vec<String>) -> Self {
        let mut graph = UnGraph::with_capacity(devices.len(), links.len());
        for i in 0..devices.len() {
            graph.add_node(i);
        }
        for (i, l) in links.iter().enumerate() {
            graph.add_edge(NodeIndex::new(l.a), NodeIndex::new(l.b), i);
        }
        let (nd, nl) = (devices.len(), links.len());
        Network {
            devices,
            links,
            media,
            graph,
            device_up: vec![true; nd],
            link_up: vec![true; nl],
            bandwidth_factor: vec![1.0; nl],
            routes: Mutex::new(HashMap::new()),
        }
    }

    /// Builds the network of a loaded (validated) scenario: devices in scenario order
    /// with their resolved profiles, links in scenario order; links that name the same
    /// `medium` share one transmitter index into [`Network::media`] (media are numbered
    /// in order of first appearance).
    pub fn from_scenario(loaded: &LoadedScenario) -> Network {
        let s = &loaded.scenario;
        let devices: Vec<Device> = s
            .devices
            .iter()
            .zip(&loaded.device_profiles)
            .map(|(d, p)| {
                crate::device_table!(table_copy! {
                    p => Device {
                        id: d.id.clone(),
                        profile: d.profile.clone(),
                        energy_budget_mj: d.energy_budget_mj,
                        latency: p.latency.clone(),
                    };
                })
            })
            .collect();
        let index = |id: &str| devices.iter().position(|d| d.id == id);
        let mut media: Vec<String> = Vec::new();
        let mut links = Vec::with_capacity(s.links.len());
        for (l, p) in s.links.iter().zip(&loaded.link_profiles) {
            let (Some(a), Some(b)) = (index(&l.a), index(&l.b)) else {
                continue; // impossible after validation
            };
            let medium = p
                .medium
                .as_ref()
                .map(|m| match media.iter().position(|x| x == m) {
                    Some(i) => i,
                    None => {
                        media.push(m.clone());
                        media.len() - 1
                    }
                });
            links.push(crate::link_table!(table_copy! {
                p => Link {
                    a,
                    b,
                    profile: l.profile.clone(),
                    medium,
                };
            }));
        }
        Network::new(devices, links, media)
    }

    fn route_cache(&self) -> std::sync::MutexGuard<'_, HashMap<RouteKey, Option<Route>>> {
        // A poisoned cache only means another thread panicked mid-insert; the map is
        // still a valid cache.
        self.routes.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn invalidate_routes(&self) {
        self.route_cache().clear();
    }

    /// The topology as a Graphviz `graph` (devices as nodes labelled with profile,
    /// links as edges labelled with profile and effective kb/s; links on a shared medium
    /// are dashed and name it).
    pub fn to_dot(&self, name: &str) -> String {
        use std::fmt::Write;
        let q = |s: &str| {
            let e = s
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            format!("\"{e}\"")
        };
        let mut o = String::new();
        let _ = writeln!(o, "graph {} {{", q(name));
        let _ = writeln!(o, "  node [shape=box];");
        for d in &self.devices {
            let label = format!("{}\n{}", d.id, d.profile);
            let _ = writeln!(o, "  {} [label={}];", q(&d.id), q(&label));
        }
        for l in &self.links {
            let mut label = format!("{} {:.0} kb/s", l.profile, l.bandwidth_bps / 1e3);
            let mut style = String::new();
            if let Some(m) = l.medium {
                label.push_str(&format!(" [{}]", self.media[m]));
                style = ", style=dashed".into();
            }
            let _ = writeln!(
                o,
                "  {} -- {} [label={}{}];",
                q(&self.devices[l.a].id),
                q(&self.devices[l.b].id),
                q(&label),
                style
            );
        }
        o.push_str("}\n");
        o
    }

    /// The devices, in scenario order (index = device index everywhere).
    pub fn devices(&self) -> &[Device] {
        &self.devices
    }

    /// The links, in scenario order (index = link index everywhere).
    pub fn links(&self) -> &[Link] {
        &self.links
    }

    /// Names of the shared media ([`Link::medium`] indexes them).
    pub fn media(&self) -> &[String] {
        &self.media
    }

    /// Changes device `d`'s figures (a what-if override); cached routes are dropped.
    pub fn edit_device<R>(&mut self, d: usize, edit: impl FnOnce(&mut Device) -> R) -> R {
        let r = edit(&mut self.devices[d]);
        self.invalidate_routes();
        r
    }

    /// Changes link `l`'s figures (bandwidth, latency, loss, ...); cached routes are
    /// dropped. The link keeps its endpoints and medium: the topology is fixed once the
    /// network is built.
    pub fn edit_link<R>(&mut self, l: usize, edit: impl FnOnce(&mut Link) -> R) -> R {
        let (a, b, medium) = (self.links[l].a, self.links[l].b, self.links[l].medium);
        let r = edit(&mut self.links[l]);
        let link = &mut self.links[l];
        (link.a, link.b, link.medium) = (a, b, medium);
        self.invalidate_routes();
        r
    }

    /// Number of cached routes (for tests and diagnostics).
    pub fn cached_routes(&self) -> usize {
        self.route_cache().len()
    }

    /// Links sharing medium `m` (indices into [`Network::links`]).
    pub fn links_on_medium(&self, m: usize) -> Vec<usize> {
        (0..self.links.len())
            .filter(|&i| self.links[i].medium == Some(m))
            .collect()
    }

    /// Transmitter index of a link traversed from `from`: links on a shared medium use
    /// the medium's transmitter (`links.len() * 2 + medium`), other links have one
    /// transmitter per direction (`2 * link + (from == b)`). Total transmitters:
    /// [`Network::transmitters`].
    pub fn transmitter(&self, link: usize, from: usize) -> usize {
        let l = &self.links[link];
        match l.medium {
            Some(m) => self.links.len() * 2 + m,
            None => 2 * link + usize::from(from == l.b),
        }
    }

    /// Number of transmitter indices ([`Network::transmitter`] is below it).
    pub fn transmitters(&self) -> usize {
        self.links.len() * 2 + self.media.len()
    }

    /// Index of the device with this id.
    pub fn device_index(&self, id: &str) -> Option<usize> {
        self.devices.iter().position(|d| d.id == id)
    }

    /// Index of the link between two devices (either direction).
    pub fn link_between(&self, a: usize, b: usize) -> Option<usize> {
        self.links
            .iter()
            .position(|l| (l.a == a && l.b == b) || (l.a == b && l.b == a))
    }

    /// The underlying petgraph graph (node weight = device index, edge weight = link index).
    pub fn graph(&self) -> &UnGraph<usize, usize> {
        &self.graph
    }

    pub fn is_device_up(&self, d: usize) -> bool {
        self.device_up[d]
    }
    pub fn is_link_up(&self, l: usize) -> bool {
        self.link_up[l]
    }
    pub fn bandwidth_factor(&self, l: usize) -> f64 {
        self.bandwidth_factor[l]
    }
    pub fn set_device_up(&mut self, d: usize, up: bool) {
        if self.device_up[d] != up {
            self.device_up[d] = up;
            self.invalidate_routes();
        }
    }
    pub fn set_link_up(&mut self, l: usize, up: bool) {
        if self.link_up[l] != up {
            self.link_up[l] = up;
            self.invalidate_routes();
        }
    }
    pub fn set_bandwidth_factor(&mut self, l: usize, factor: f64) {
        if self.bandwidth_factor[l] != factor {
            self.bandwidth_factor[l] = factor;
            self.invalidate_routes();
        }
    }

    /// Least-latency route for a message of `bytes` from `from` to `to` over the
    /// devices and links that are currently up, cost per hop = airtime + hop latency.
    /// Ties are broken by the lower device index, so routes are deterministic.
    /// `from == to` gives an empty route; `None` when `to` is unreachable or either
    /// endpoint is down.
    /// Results are cached per (from, to, bytes) until the state changes.
    pub fn route(&self, from: usize, to: usize, bytes: u64) -> Option<Route> {
        if let Some(r) = self.route_cache().get(&(from, to, bytes)) {
            return r.clone();
        }
        let r = self.compute_route(from, to, bytes);
        self.route_cache().insert((from, to, bytes), r.clone());
        r
    }

    fn compute_route(&self, from: usize, to: usize, bytes: u64) -> Option<Route> {
        if from >= self.devices.len() || to >= self.devices.len() {
            return None;
        }
        if !self.device_up[from] || !self.device_up[to] {
            return None;
        }
        let n = self.devices.len();
        let mut dist = vec![u64::MAX; n];
        let mut prev: Vec<Option<Hop>> = vec![None; n];
        let mut heap = BinaryHeap::new();
        dist[from] = 0;
        heap.push(Reverse((0u64, from)));
        while let Some(Reverse((d, u))) = heap.pop() {
            if d > dist[u] {
                continue;
            }
            if u == to {
                break;
            }
            for e in self.graph.edges(NodeIndex::new(u)) {
                let li = *e.weight();
                let link = &self.links[li];
                let v = link.other(u);
                if !self.link_up[li] || !self.device_up[v] {
                    continue;
                }
                let nd = d + link.airtime_ns(bytes, self.bandwidth_factor[li]) + link.latency_ns();
                if nd < dist[v] || (nd == dist[v] && prev[v].is_some_and(|p| u < p.from)) {
                    dist[v] = nd;
                    prev[v] = Some(Hop {
                        link: li,
                        from: u,
                        to: v,
                    });
                    heap.push(Reverse((nd, v)));
                }
            }
        }
        if dist[to] == u64::MAX {
            return None;
        }
        let mut hops = Vec::new();
        let mut at = to;
        while at != from {
            let h = prev[at]?;
            hops.push(h);
            at = h.from;
        }
        hops.reverse();
        Some(Route {
            hops,
            latency_ns: dist[to],
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn device(id: &str) -> Device {
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
            rx_mw: 15.0,
            battery_mj: None,
            cores: 1,
            energy_budget_mj: None,
            latency: Default::default(),
        }
    }

    pub(crate) fn link(a: usize, b: usize, bw: f64, lat_ms: f64) -> Link {
        Link {
            a,
            b,
            profile: "test".into(),
            bandwidth_bps: bw,
            latency_ms: lat_ms,
            mtu_bytes: 100,
            header_bytes: 20,
            loss: 0.0,
            medium: None,
        }
    }

    #[test]
    fn packetisation_and_airtime() {
        let l = link(0, 1, 1e6, 1.0);
        assert_eq!(l.packets(0), 1);
        assert_eq!(l.packets(80), 1);
        assert_eq!(l.packets(81), 2);
        assert_eq!(l.wire_bytes(160), 200);
        // 200 bytes = 1600 bits at 1 Mb/s = 1.6 ms
        assert_eq!(l.airtime_ns(160, 1.0), 1_600_000);
        assert_eq!(l.airtime_ns(160, 0.5), 3_200_000);
    }

    #[test]
    fn least_latency_route_prefers_fast_two_hop_path() {
        // 0 -slow- 2 direct, or 0 - 1 - 2 fast
        let net = Network::new(
            vec![device("a"), device("b"), device("c")],
            vec![
                link(0, 2, 1e4, 1.0),
                link(0, 1, 1e7, 1.0),
                link(1, 2, 1e7, 1.0),
            ],
            vec![],
        );
        let r = net.route(0, 2, 1000).unwrap();
        assert_eq!(r.hops.len(), 2);
        let small = net.route(0, 2, 1).unwrap();
        // 1 byte: direct = 21*8/1e4 s = 16.8 ms + 1 ms; via b = 2 * (0.0168 + 1) ms
        assert_eq!(small.hops.len(), 2);
        let mut down = net.clone();
        down.set_device_up(1, false);
        assert_eq!(down.route(0, 2, 1000).unwrap().hops.len(), 1);
        down.set_link_up(0, false);
        assert!(down.route(0, 2, 1000).is_none());
    }

    /// a - b - c at 1 ms per hop, and a slower direct a - c (5 ms); all 1 Mb/s
    fn triangle() -> Network {
        Network::new(
            vec![device("a"), device("b"), device("c")],
            vec![
                link(0, 1, 1e6, 1.0),
                link(1, 2, 1e6, 1.0),
                link(0, 2, 1e6, 5.0),
            ],
            vec![],
        )
    }

    #[test]
    fn route_cache_is_invalidated_by_state_changes() {
        let mut net = triangle();
        let r = net.route(0, 2, 100).unwrap();
        // 100 B = 2 packets of ≤ 80 B + 20 B header = 140 B on the wire;
        // 2 hops: 2 × (140 B × 8 / 1e6 b/s + 1 ms) = 2 × 2.12 ms
        assert_eq!((r.hops.len(), r.latency_ns), (2, 4_240_000));
        assert_eq!(net.cached_routes(), 1);
        assert_eq!(net.route(0, 2, 100).unwrap(), r);
        assert_eq!(net.cached_routes(), 1);
        net.set_bandwidth_factor(0, 0.01);
        assert_eq!(net.cached_routes(), 0);
        // slow first hop (112 ms): the direct link wins (1.12 + 5 ms)
        let d = net.route(0, 2, 100).unwrap();
        assert_eq!((d.hops.len(), d.latency_ns), (1, 6_120_000));
        net.set_link_up(2, false);
        assert_eq!(net.route(0, 2, 100).unwrap().hops.len(), 2);
        net.set_device_up(1, false);
        assert!(net.route(0, 2, 100).is_none());
        assert!(net.route(0, 7, 100).is_none());
    }

    #[test]
    fn editing_a_link_or_device_drops_the_cached_routes() {
        let mut net = triangle();
        // 2 hops of 1.12 ms airtime + 1 ms each (as above)
        assert_eq!(net.route(0, 2, 100).unwrap().latency_ns, 4_240_000);
        // the direct link becomes faster than the two hops: 1.12 + 0.5 ms
        net.edit_link(2, |l| l.latency_ms = 0.5);
        let r = net.route(0, 2, 100).unwrap();
        assert_eq!((r.hops.len(), r.latency_ns), (1, 1_620_000));
        // an edit cannot move a link: the topology stays
        net.edit_link(2, |l| (l.a, l.b) = (1, 1));
        assert_eq!((net.links()[2].a, net.links()[2].b), (0, 2));
        net.route(0, 2, 100);
        net.edit_device(1, |d| d.mac_per_s = 1.0);
        assert_eq!(net.cached_routes(), 0);
    }

    #[test]
    fn transmitters_per_direction_and_per_medium() {
        let mut l1 = link(0, 1, 1e6, 1.0);
        let mut l2 = link(2, 1, 1e6, 1.0);
        l1.medium = Some(0);
        l2.medium = Some(0);
        let net = Network::new(
            vec![device("a"), device("b"), device("c")],
            vec![l1, l2, link(1, 2, 1e6, 1.0)],
            vec!["air".into()],
        );
        assert_eq!(net.transmitters(), 7);
        assert_eq!(net.transmitter(0, 0), 6);
        assert_eq!(net.transmitter(1, 1), 6);
        assert_eq!(net.transmitter(2, 1), 4);
        assert_eq!(net.transmitter(2, 2), 5);
        assert_eq!(net.links_on_medium(0), vec![0, 1]);
    }
}
