//! Placement diagrams: an SVG of the device graph showing which layers run on which
//! device (with their flash and peak SRAM), what crosses each link (payload bytes per
//! inference and utilisation), and the idle devices and unused links greyed out.
//!
//! The layout is layered from the routes: a device's column is its hop distance from
//! the source device (devices the source cannot reach come last); within a column,
//! devices follow the mean row of their neighbours in the previous column (one
//! barycentre pass, ties in the scenario's order). Everything is computed from the
//! run's data with fixed-precision formatting, so the same run gives the same bytes.

use super::run::{DeviceSummary, FrontMember, LinkLoad, PartitionSummary, Topology};
use std::collections::VecDeque;
use std::fmt::Write;

/// Partition colours (the plots' Okabe–Ito palette).
const PARTITION_COLOURS: [&str; 7] = [
    "#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000",
];

/// Box width, gap between columns, gap between boxes in a column, margin, px.
const BOX_W: f64 = 240.0;
const COL_GAP: f64 = 210.0;
const ROW_GAP: f64 = 36.0;
const MARGIN: f64 = 24.0;
const LINE: f64 = 15.0;
const TITLE_H: f64 = 48.0;
const LEGEND_H: f64 = 44.0;
/// A white outline under link labels, so lines crossing them stay readable.
const HALO: &str = r#"stroke="white" stroke-width="4" paint-order="stroke""#;

/// What one placement diagram shows.
#[derive(Debug, Clone, Copy)]
pub struct Placement<'a> {
    /// Title line (e.g. the member's id and its objectives).
    pub title: &'a str,
    /// The device graph.
    pub topology: &'a Topology,
    /// The candidate's partitions, in order.
    pub partitions: &'a [PartitionSummary],
    /// What each used link carries.
    pub links: &'a [LinkLoad],
    /// Simulated device load (may be empty: busy fractions are then not shown).
    pub devices: &'a [DeviceSummary],
}

impl FrontMember {
    /// The placement diagram's input for this member on `topology`.
    pub fn placement<'a>(&'a self, topology: &'a Topology, title: &'a str) -> Placement<'a> {
        Placement {
            title,
            topology,
            partitions: &self.partitions,
            links: &self.links,
            devices: &self.devices,
        }
    }
}

/// Escapes text for SVG/HTML content and attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

/// Bytes in B, KiB or MiB (microcontroller memories are sized in binary units).
pub(crate) fn bytes(n: u64) -> String {
    if n < 1024 {
        format!("{n} B")
    } else if n < 1 << 20 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else if n < 1 << 30 {
        format!("{:.2} MiB", n as f64 / f64::from(1u32 << 20))
    } else {
        format!("{:.2} GiB", n as f64 / f64::from(1u32 << 30))
    }
}

/// The layers of a partition, first–last inclusive (`13` for one layer).
pub(crate) fn layer_range(p: &PartitionSummary) -> String {
    let last = p.end_layer.saturating_sub(1);
    if last <= p.first_layer {
        p.first_layer.to_string()
    } else {
        format!("{}–{last}", p.first_layer)
    }
}

/// Layer kinds of a partition, consecutive repeats folded (`Conv1d ×2, ReLU`), cut
/// to fit a box line.
fn kinds_line(kinds: &[String]) -> String {
    let mut parts: Vec<(String, usize)> = Vec::new();
    for k in kinds {
        match parts.last_mut() {
            Some((last, n)) if last == k => *n += 1,
            _ => parts.push((k.clone(), 1)),
        }
    }
    let mut s = parts
        .iter()
        .map(|(k, n)| {
            if *n > 1 {
                format!("{k} ×{n}")
            } else {
                k.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    const MAX: usize = 34;
    if s.chars().count() > MAX {
        s = s.chars().take(MAX - 1).collect::<String>() + "…";
    }
    s
}

/// Column of every device: hop distance from `source`, unreachable devices one
/// column past the farthest.
fn columns(t: &Topology) -> Vec<usize> {
    let n = t.devices.len();
    let index = |id: &str| t.devices.iter().position(|d| d.id == id);
    let mut adj: Vec<Vec<usize>> = vec![Vec::new(); n];
    for l in &t.links {
        if let (Some(a), Some(b)) = (index(&l.a), index(&l.b)) {
            adj[a].push(b);
            adj[b].push(a);
        }
    }
    let mut col = vec![usize::MAX; n];
    if let Some(s) = index(&t.source) {
        col[s] = 0;
        let mut q = VecDeque::from([s]);
        while let Some(d) = q.pop_front() {
            for &e in &adj[d] {
                if col[e] == usize::MAX {
                    col[e] = col[d] + 1;
                    q.push_back(e);
                }
            }
        }
    }
    let far = col
        .iter()
        .filter(|&&c| c != usize::MAX)
        .max()
        .map_or(0, |m| m + 1);
    for c in &mut col {
        if *c == usize::MAX {
            *c = far;
        }
    }
    // squeeze empty columns out (only the unreachable column can leave a gap)
    let mut used: Vec<usize> = col.clone();
    used.sort_unstable();
    used.dedup();
    col.iter()
        .map(|c| used.iter().position(|u| u == c).unwrap_or(0))
        .collect()
}

/// Placed box of a device.
struct Placed {
    x: f64,
    y: f64,
    h: f64,
}

/// Lines of text inside a device box (after the two header lines).
fn body_lines(p: &Placement, d: usize) -> Vec<(Option<usize>, String)> {
    let id = &p.topology.devices[d].id;
    let mut lines = Vec::new();
    for (i, part) in p.partitions.iter().enumerate() {
        if &part.device != id {
            continue;
        }
        let layers = layer_range(part);
        let noun = if layers.contains('–') {
            "layers"
        } else {
            "layer"
        };
        lines.push((Some(i), format!("P{} · {noun} {layers}", i + 1)));
        if !part.layer_kinds.is_empty() {
            lines.push((Some(i), kinds_line(&part.layer_kinds)));
        }
        lines.push((
            Some(i),
            format!(
                "flash {} · SRAM {}",
                bytes(part.flash_bytes),
                bytes(part.peak_sram_bytes)
            ),
        ));
    }
    for (i, part) in p.partitions.iter().enumerate() {
        if part.standby.as_ref() == Some(id) {
            lines.push((
                Some(i),
                format!(
                    "P{} standby replica · flash {}",
                    i + 1,
                    bytes(part.flash_bytes)
                ),
            ));
        }
    }
    if lines.is_empty() {
        let t = p.topology;
        let what = match (*id == t.source, *id == t.sink) {
            (true, true) => "no partition: sends inputs, receives outputs",
            (true, false) => "no partition: sends the inputs",
            (false, true) => "no partition: receives the outputs",
            (false, false) if relays(p, id) => "no partition: relays messages",
            (false, false) => "idle",
        };
        lines.push((None, what.into()));
    }
    lines
}

/// `true` when device `id` is an end of a link that carries the candidate's messages
/// (a relay on its routes, or an end of its transfers).
fn relays(p: &Placement, id: &str) -> bool {
    p.topology.links.iter().any(|l| {
        (l.a == id || l.b == id)
            && p.links
                .iter()
                .any(|x| x.link == l.id && x.bytes_per_inference > 0)
    })
}

/// The placement diagram of `p` as an SVG document.
pub fn placement_svg(p: &Placement) -> String {
    let t = p.topology;
    let n = t.devices.len();
    let col = columns(t);
    let ncols = col.iter().max().map_or(1, |m| m + 1);
    let index = |id: &str| t.devices.iter().position(|d| d.id == id);
    let bodies: Vec<Vec<(Option<usize>, String)>> = (0..n).map(|d| body_lines(p, d)).collect();
    let heights: Vec<f64> = bodies
        .iter()
        .map(|b| 3.0 * LINE + 14.0 + b.len() as f64 * LINE + 10.0)
        .collect();
    // order within columns: barycentre of neighbours in the previous column
    let mut order: Vec<Vec<usize>> = vec![Vec::new(); ncols];
    for d in 0..n {
        order[col[d]].push(d);
    }
    for c in 1..ncols {
        let rank = |e: usize| order[c - 1].iter().position(|&x| x == e);
        let mut keyed: Vec<(f64, usize)> = order[c]
            .iter()
            .map(|&d| {
                let ranks: Vec<f64> = t
                    .links
                    .iter()
                    .filter_map(|l| {
                        let (a, b) = (index(&l.a)?, index(&l.b)?);
                        let other = if a == d {
                            b
                        } else if b == d {
                            a
                        } else {
                            return None;
                        };
                        rank(other).map(|r| r as f64)
                    })
                    .collect();
                let key = if ranks.is_empty() {
                    f64::INFINITY
                } else {
                    ranks.iter().sum::<f64>() / ranks.len() as f64
                };
                (key, d)
            })
            .collect();
        keyed.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
        order[c] = keyed.into_iter().map(|(_, d)| d).collect();
    }
    let col_h: Vec<f64> = order
        .iter()
        .map(|o| {
            o.iter().map(|&d| heights[d]).sum::<f64>() + ROW_GAP * o.len().saturating_sub(1) as f64
        })
        .collect();
    let body_h = col_h.iter().copied().fold(0.0, f64::max);
    let width = 2.0 * MARGIN + ncols as f64 * BOX_W + (ncols.saturating_sub(1)) as f64 * COL_GAP;
    // same-column links bow out to the right of their column
    let bows = t
        .links
        .iter()
        .any(|l| matches!((index(&l.a), index(&l.b)), (Some(a), Some(b)) if col[a] == col[b]));
    let width = (width + if bows { 150.0 } else { 0.0 }).max(720.0);
    let height = TITLE_H + body_h + LEGEND_H + MARGIN;
    let mut placed: Vec<Placed> = (0..n)
        .map(|_| Placed {
            x: 0.0,
            y: 0.0,
            h: 0.0,
        })
        .collect();
    for (c, o) in order.iter().enumerate() {
        let mut y = TITLE_H + (body_h - col_h[c]) / 2.0;
        for &d in o {
            placed[d] = Placed {
                x: MARGIN + c as f64 * (BOX_W + COL_GAP),
                y,
                h: heights[d],
            };
            y += heights[d] + ROW_GAP;
        }
    }
    let used_device = |d: usize| {
        let id = &t.devices[d].id;
        p.partitions
            .iter()
            .any(|q| &q.device == id || q.standby.as_ref() == Some(id))
            || *id == t.source
            || *id == t.sink
            || relays(p, id)
    };
    let load = |id: &str| p.links.iter().find(|l| l.link == id);

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{MARGIN}" y="24" font-size="15" font-weight="bold">{}</text>"#,
        escape(p.title)
    );
    // links first, under the boxes
    for l in &t.links {
        let (Some(a), Some(b)) = (index(&l.a), index(&l.b)) else {
            continue;
        };
        let (pa, pb) = if col[a] <= col[b] { (a, b) } else { (b, a) };
        let (u, v) = (&placed[pa], &placed[pb]);
        let (y1, y2) = (u.y + u.h / 2.0, v.y + v.h / 2.0);
        let carried = load(&l.id);
        let active = carried.is_some_and(|c| c.bytes_per_inference > 0);
        let style = if active {
            r##"stroke="#333" stroke-width="2.5""##
        } else {
            r##"stroke="#bbb" stroke-width="1.2" stroke-dasharray="5 4""##
        };
        let (lx, ly);
        if col[pa] == col[pb] {
            // same column: a bow on the right of the boxes
            let x = u.x + BOX_W;
            let bow = x + 70.0;
            let _ = writeln!(
                s,
                r#"<path d="M{x:.1},{y1:.1} C{bow:.1},{y1:.1} {bow:.1},{y2:.1} {x:.1},{y2:.1}" fill="none" {style}/>"#
            );
            lx = x + 56.0;
            ly = (y1 + y2) / 2.0;
        } else {
            let (x1, x2) = (u.x + BOX_W, v.x);
            let _ = writeln!(
                s,
                r#"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" {style}/>"#
            );
            lx = (x1 + x2) / 2.0;
            ly = (y1 + y2) / 2.0;
        }
        let grey = if active { "#555" } else { "#aaa" };
        let _ = writeln!(
            s,
            r#"<text x="{lx:.1}" y="{:.1}" text-anchor="middle" fill="{grey}" font-size="11" {HALO}>{} · {:.0} kb/s</text>"#,
            ly - 6.0,
            escape(&l.profile),
            l.bandwidth_bps / 1e3
        );
        if let Some(c) = carried {
            let util = c
                .utilisation
                .map(|u| format!(" · {:.1} % busy", 100.0 * u))
                .unwrap_or_default();
            let _ = writeln!(
                s,
                r#"<text x="{lx:.1}" y="{:.1}" text-anchor="middle" font-weight="bold" fill="{}" {HALO}>{} per inference{}</text>"#,
                ly + 9.0,
                if active { "#000" } else { "#aaa" },
                bytes(c.bytes_per_inference),
                util
            );
        }
    }
    // device boxes
    for d in 0..n {
        let dev = &t.devices[d];
        let q = &placed[d];
        let used = used_device(d);
        let (fill, stroke, ink) = if used {
            ("white", "#333", "#000")
        } else {
            ("#f2f2f2", "#bbb", "#999")
        };
        let _ = writeln!(s, r#"<g id="device-{}">"#, escape(&dev.id));
        let _ = writeln!(
            s,
            r#"<rect x="{:.1}" y="{:.1}" width="{BOX_W}" height="{:.1}" rx="6" fill="{fill}" stroke="{stroke}" stroke-width="1.5"/>"#,
            q.x, q.y, q.h
        );
        let mut role = Vec::new();
        if dev.id == t.source {
            role.push("source");
        }
        if dev.id == t.sink {
            role.push("sink");
        }
        let role = if role.is_empty() {
            String::new()
        } else {
            format!(" ({})", role.join(", "))
        };
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" font-weight="bold" fill="{ink}">{}{}</text>"#,
            q.x + 8.0,
            q.y + LINE + 2.0,
            escape(&dev.id),
            role
        );
        let busy = p
            .devices
            .iter()
            .find(|x| x.id == dev.id)
            .filter(|_| used)
            .map(|x| format!(" · {:.1} % busy", 100.0 * x.busy_fraction))
            .unwrap_or_default();
        let grey = if used { "#555" } else { "#aaa" };
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" font-size="11" fill="{grey}">{}{}</text>"#,
            q.x + 8.0,
            q.y + 2.0 * LINE + 2.0,
            escape(&dev.profile),
            busy
        );
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" font-size="11" fill="{grey}">has {} flash · {} SRAM</text>"#,
            q.x + 8.0,
            q.y + 3.0 * LINE + 2.0,
            bytes(dev.flash_bytes),
            bytes(dev.sram_bytes),
        );
        let mut y = q.y + 3.0 * LINE + 14.0;
        for (k, (part, text)) in bodies[d].iter().enumerate() {
            if let Some(i) = part {
                let first = k == 0 || bodies[d][k - 1].0 != *part;
                if first {
                    let lines = bodies[d].iter().filter(|(x, _)| x == part).count() as f64;
                    let colour = PARTITION_COLOURS[i % PARTITION_COLOURS.len()];
                    let _ = writeln!(
                        s,
                        r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" rx="3" fill="{colour}" fill-opacity="0.12" stroke="{colour}"/>"#,
                        q.x + 5.0,
                        y - 2.0,
                        BOX_W - 10.0,
                        lines * LINE + 4.0
                    );
                }
            }
            let weight = if part.is_some() && (k == 0 || bodies[d][k - 1].0 != *part) {
                r#" font-weight="bold""#
            } else {
                ""
            };
            let _ = writeln!(
                s,
                r#"<text x="{:.1}" y="{:.1}" fill="{ink}"{weight}>{}</text>"#,
                q.x + 11.0,
                y + LINE - 4.0,
                escape(text)
            );
            y += LINE;
        }
        s.push_str("</g>\n");
    }
    let _ = writeln!(
        s,
        r##"<text x="{MARGIN}" y="{:.1}" font-size="11" fill="#555">Columns: hops from the source. Link labels: medium, bandwidth; payload bytes per inference on the nominal routes, busy fraction of the simulated horizon.</text>"##,
        height - MARGIN - 12.0
    );
    let _ = writeln!(
        s,
        r##"<text x="{MARGIN}" y="{:.1}" font-size="11" fill="#555">Grey: idle devices and unused links. P1, P2, …: partitions in inference order.{}</text>"##,
        height - MARGIN + 4.0,
        if p.partitions.iter().any(|q| q.standby.is_some()) {
            " A standby replica runs its partition while the partition's device is down."
        } else {
            ""
        }
    );
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_kinds_fold_and_long_lines_are_cut() {
        let k = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            kinds_line(&k(&["Conv1d", "Conv1d", "ReLU"])),
            "Conv1d ×2, ReLU"
        );
        let long = kinds_line(&k(&[
            "DepthwiseConv2d",
            "BatchNorm",
            "ReLU6",
            "GlobalAvgPool",
            "Dense",
        ]));
        assert_eq!(long.chars().count(), 34);
        assert!(long.ends_with('…'));
    }

    #[test]
    fn bytes_use_binary_units() {
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(3 * 1024 * 1024), "3.00 MiB");
        assert_eq!(bytes(1 << 30), "1.00 GiB");
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(escape(r#"a<b>&"c'"#), "a&lt;b&gt;&amp;&quot;c&#39;");
    }

    /// A device that only forwards the candidate's messages is in use, not idle; a
    /// device off every route is idle (grey).
    #[test]
    fn relays_are_not_idle() {
        use crate::report::{TopologyDevice, TopologyLink};
        let dev = |id: &str| TopologyDevice {
            id: id.into(),
            profile: "p".into(),
            flash_bytes: 1024,
            sram_bytes: 1024,
        };
        let link = |a: &str, b: &str| TopologyLink {
            id: format!("{a}-{b}"),
            a: a.into(),
            b: b.into(),
            profile: "l".into(),
            bandwidth_bps: 1e6,
        };
        let t = Topology {
            devices: vec![dev("s"), dev("r"), dev("t"), dev("x")],
            links: vec![link("s", "r"), link("r", "t"), link("r", "x")],
            source: "s".into(),
            sink: "t".into(),
        };
        let part = |device: &str| PartitionSummary {
            device: device.into(),
            end_layer: 1,
            ..Default::default()
        };
        let load = |l: &str| LinkLoad {
            link: l.into(),
            bytes_per_inference: 8,
            utilisation: None,
        };
        let svg = placement_svg(&Placement {
            title: "t",
            topology: &t,
            partitions: &[part("s"), part("t")],
            links: &[load("s-r"), load("r-t")],
            devices: &[],
        });
        let group = |id: &str| {
            let g = svg
                .split(&format!(r#"<g id="device-{id}">"#))
                .nth(1)
                .unwrap();
            g[..g.find("</g>").unwrap()].to_string()
        };
        assert!(group("r").contains(">no partition: relays messages<"));
        assert!(group("r").contains(r#"fill="white""#));
        assert!(group("x").contains(">idle<") && group("x").contains(r##"fill="#f2f2f2""##));
    }
}
