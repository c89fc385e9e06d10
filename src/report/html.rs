//! Self-contained HTML pages: `report.html` of a run and `compare.html` of several.
//!
//! A page holds everything inline (CSS, script, SVG), loads nothing from the network
//! and opens from a file or an e-mail attachment. Tables of class `sortable` sort by a
//! column when its heading is clicked (again: the other way); a row with
//! `data-detail` shows the detail section of that id when clicked (placement diagram,
//! partitions, constraint slack, what-if command). Deep links do the same clicks:
//! `report.html#sort=LatencyP95` (`#sort=LatencyP95:desc`), `#member=<id>`, joined by
//! `&`. A script error is shown at the top of the page and marks `<body
//! data-script-errors>`.

use super::compare::Comparison;
use super::markdown::{failure_rows, g4, g6, FAILURE_HEAD};
use super::placement::{bytes, escape, layer_range, placement_svg};
use super::plot::objective_unit;
use super::run::{FrontMember, Run};
use std::fmt::Write;

const STYLE: &str = r#"
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1500px; padding: 0 1em; color: #111; }
.scroll { overflow-x: auto; }
.plots { display: grid; grid-template-columns: repeat(auto-fill, minmax(600px, 1fr)); gap: 0 1.5em; }
h1 { font-size: 1.5em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.92em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: right; white-space: nowrap; }
th:first-child, td:first-child, td.text, th.text { text-align: left; }
table.sortable th { cursor: pointer; background: #f4f4f4; user-select: none; }
table.sortable th[aria-sort=ascending]::after { content: " \25B2"; }
table.sortable th[aria-sort=descending]::after { content: " \25BC"; }
tr[data-detail] { cursor: pointer; }
tr[data-detail]:hover { background: #f0f6fb; }
tr.selected { background: #dbeaf6 !important; }
tr.infeasible td { color: #a33; }
table.kv th { text-align: left; background: #f8f8f8; }
.detail { border: 1px solid #ccd; border-radius: 6px; padding: 0.4em 1em 1em; margin-top: 1em; }
.detail svg, figure svg { max-width: 100%; height: auto; }
figure { margin: 1em 0; } figcaption { color: #555; font-size: 0.9em; }
pre { background: #f6f6f6; padding: 0.6em; overflow-x: auto; }
#script-errors { background: #fee; color: #900; }
.note { color: #555; }
"#;

const SCRIPT: &str = r#"
(function () {
  var errors = document.getElementById('script-errors');
  window.addEventListener('error', function (e) {
    errors.hidden = false;
    errors.textContent += (e.message || 'script error') + '\n';
    document.body.setAttribute('data-script-errors', 'yes');
  });
  function cellKey(row, i, numeric) {
    var c = row.cells[i];
    var v = c.hasAttribute('data-value') ? c.getAttribute('data-value') : c.textContent;
    if (!numeric) return v;
    var x = parseFloat(v);
    return isNaN(x) ? Infinity : x;
  }
  function sortTable(table, i) {
    var th = table.tHead.rows[0].cells[i];
    var ascending = th.getAttribute('aria-sort') !== 'ascending';
    var numeric = th.getAttribute('data-type') === 'number';
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellKey(a, i, numeric), y = cellKey(b, i, numeric);
      var c = numeric ? (x < y ? -1 : x > y ? 1 : 0) : String(x).localeCompare(String(y));
      if (!ascending) c = -c;
      return c !== 0 ? c : Number(a.getAttribute('data-index')) - Number(b.getAttribute('data-index'));
    });
    rows.forEach(function (r) { body.appendChild(r); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) { h.removeAttribute('aria-sort'); });
    th.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
  }
  function showDetail(id) {
    document.querySelectorAll('.detail').forEach(function (d) { d.hidden = d.id !== 'detail-' + id; });
    document.querySelectorAll('tr[data-detail]').forEach(function (r) {
      r.classList.toggle('selected', r.getAttribute('data-detail') === id);
    });
  }
  document.querySelectorAll('table.sortable').forEach(function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, i) {
      th.addEventListener('click', function () { sortTable(table, i); });
    });
    Array.prototype.forEach.call(table.tBodies[0].rows, function (r, k) {
      r.setAttribute('data-index', String(k));
      if (r.hasAttribute('data-detail')) {
        r.addEventListener('click', function () { showDetail(r.getAttribute('data-detail')); });
      }
    });
  });
  var first = document.querySelector('tr[data-detail].default') || document.querySelector('tr[data-detail]');
  if (first) showDetail(first.getAttribute('data-detail'));
  decodeURIComponent(location.hash.slice(1)).split('&').forEach(function (kv) {
    var eq = kv.indexOf('=');
    if (eq < 0) return;
    var k = kv.slice(0, eq), v = kv.slice(eq + 1);
    if (k === 'sort') {
      var parts = v.split(':');
      var th = document.querySelector('table.sortable th[data-key="' + parts[0] + '"]');
      if (th) { th.click(); if (parts[1] === 'desc') th.click(); }
    } else if (k === 'member') {
      var row = document.querySelector('tr[data-detail="' + v + '"]');
      if (row) row.click();
    }
  });
})();
"#;

/// A column of a sortable table.
pub(crate) struct Column {
    /// Key for `#sort=<key>` deep links.
    pub key: String,
    /// Heading text.
    pub label: String,
    /// Sorted as numbers (else as text).
    pub numeric: bool,
}

/// A cell: its text and, for numeric columns, the exact value it sorts by.
pub(crate) struct Cell {
    pub text: String,
    pub value: Option<f64>,
}

impl Cell {
    fn text(s: impl Into<String>) -> Cell {
        Cell {
            text: s.into(),
            value: None,
        }
    }
    fn number(v: f64, text: String) -> Cell {
        Cell {
            text,
            value: Some(v),
        }
    }
    fn opt(v: Option<f64>, f: impl Fn(f64) -> String) -> Cell {
        match v {
            Some(v) => Cell::number(v, f(v)),
            None => Cell::text("–"),
        }
    }
}

/// A row: its cells, the detail id it opens (if any) and extra classes.
pub(crate) struct Row {
    pub cells: Vec<Cell>,
    pub detail: Option<String>,
    pub class: &'static str,
}

/// A sortable table.
pub(crate) fn sortable_table(id: &str, columns: &[Column], rows: &[Row]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<table class="sortable" id="{}"><thead><tr>"#,
        escape(id)
    );
    for c in columns {
        let _ = write!(
            s,
            r#"<th data-key="{}" data-type="{}"{}>{}</th>"#,
            escape(&c.key),
            if c.numeric { "number" } else { "text" },
            if c.numeric { "" } else { r#" class="text""# },
            escape(&c.label)
        );
    }
    s.push_str("</tr></thead>\n<tbody>\n");
    for r in rows {
        s.push_str("<tr");
        if let Some(d) = &r.detail {
            let _ = write!(s, r#" data-detail="{}""#, escape(d));
        }
        if !r.class.is_empty() {
            let _ = write!(s, r#" class="{}""#, r.class);
        }
        s.push('>');
        for (c, col) in r.cells.iter().zip(columns) {
            let value = c
                .value
                .map(|v| format!(r#" data-value="{v:e}""#))
                .unwrap_or_default();
            let class = if col.numeric { "" } else { r#" class="text""# };
            let _ = write!(s, "<td{value}{class}>{}</td>", escape(&c.text));
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</tbody></table></div>\n");
    s
}

/// A two-column table of settings.
fn key_values(pairs: &[(&str, String)]) -> String {
    let mut s = String::from("<table class=\"kv\">\n");
    for (k, v) in pairs {
        let _ = writeln!(
            s,
            "<tr><th>{}</th><td class=\"text\">{}</td></tr>",
            escape(k),
            escape(v)
        );
    }
    s.push_str("</table>\n");
    s
}

/// A plain (not sortable) table.
fn plain_table(head: &[&str], rows: &[Vec<String>]) -> String {
    let mut s = String::from("<table><thead><tr>");
    for h in head {
        let _ = write!(s, "<th>{}</th>", escape(h));
    }
    s.push_str("</tr></thead><tbody>\n");
    for r in rows {
        s.push_str("<tr>");
        for c in r {
            let _ = write!(s, "<td>{}</td>", escape(c));
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</tbody></table>\n");
    s
}

/// An SVG file's text without its XML declaration, to inline in HTML.
pub(crate) fn inline_svg(svg: &str) -> &str {
    match svg.find("<svg") {
        Some(i) => &svg[i..],
        None => svg,
    }
}

/// A whole page around `body`.
fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <pre id=\"script-errors\" hidden></pre>\n{body}<script>{SCRIPT}</script>\n</body>\n</html>\n",
        escape(title)
    )
}

/// Heading of an objective column: name and unit.
fn objective_label(name: &str) -> String {
    match objective_unit(name) {
        "" => name.to_string(),
        u => format!("{name} ({u})"),
    }
}

/// The what-if command of a member of the run in `dir`.
pub(crate) fn what_if_command(run: &Run, m: &FrontMember) -> String {
    let scenario = run
        .info
        .as_ref()
        .and_then(|i| i.scenario_file.clone())
        .unwrap_or_else(|| "scenarios/quickstart.ron".into());
    let dir = run
        .info
        .as_ref()
        .map(|i| i.out_dir.clone())
        .unwrap_or_else(|| "<run folder>".into());
    format!(
        "distrinas simulate {scenario} --candidate {dir}/{} --placement {}-placement.svg",
        m.candidate_file, m.id
    )
}

/// The detail section of one member: placement diagram, partitions, links,
/// constraint slack and what-if command.
fn member_detail(run: &Run, m: &FrontMember) -> String {
    let r = &run.results;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<section class="detail" id="detail-{}" hidden>"#,
        escape(&m.id)
    );
    let title = super::member_title(r, m);
    let _ = writeln!(
        s,
        "<h3>Member <code>{}</code>{}</h3>",
        escape(&m.id),
        if m.feasible { "" } else { " (infeasible)" }
    );
    if let Some(t) = &r.topology {
        s.push_str(&placement_svg(&m.placement(t, &title)));
    } else {
        s.push_str("<p class=\"note\">No placement diagram: this run folder records no topology (written by an older version).</p>\n");
    }
    s.push_str("<h4>Partitions</h4>\n");
    let rows: Vec<Vec<String>> = m
        .partitions
        .iter()
        .enumerate()
        .map(|(i, p)| {
            vec![
                format!("P{}", i + 1),
                p.device_label(),
                layer_range(p),
                p.layer_kinds.join(", "),
                bytes(p.flash_bytes),
                bytes(p.peak_sram_bytes),
                p.macs.to_string(),
                g4(p.compute_ms),
                bytes(p.out_bytes),
            ]
        })
        .collect();
    s.push_str(&plain_table(
        &[
            "partition",
            "device",
            "layers",
            "kinds",
            "flash",
            "peak SRAM",
            "MACs",
            "compute ms",
            "output",
        ],
        &rows,
    ));
    if !m.links.is_empty() {
        s.push_str("<h4>Links</h4>\n");
        let rows: Vec<Vec<String>> = m
            .links
            .iter()
            .map(|l| {
                vec![
                    l.link.clone(),
                    l.bytes_per_inference.to_string(),
                    l.utilisation
                        .map(|u| format!("{:.2} %", 100.0 * u))
                        .unwrap_or_else(|| "–".into()),
                ]
            })
            .collect();
        s.push_str(&plain_table(
            &["link", "payload bytes per inference", "busy"],
            &rows,
        ));
    }
    if !m.failure_cases.is_empty() {
        s.push_str("<h4>Failure cases</h4>\n");
        s.push_str(&plain_table(&FAILURE_HEAD, &failure_rows(m)));
    }
    if !m.constraints.is_empty() {
        s.push_str("<h4>Constraint slack</h4>\n");
        let rows: Vec<Vec<String>> = m
            .constraints
            .iter()
            .map(|c| vec![c.name.clone(), g4(c.value), g4(c.limit), g4(c.slack)])
            .collect();
        s.push_str(&plain_table(
            &["constraint", "value", "limit", "slack"],
            &rows,
        ));
    }
    let _ = writeln!(
        s,
        "<h4>What-if</h4>\n<pre>{}</pre>\n</section>",
        escape(&what_if_command(run, m))
    );
    s
}

/// `report.html` of `run`, with `plots` (caption, SVG text) inline.
pub(crate) fn report_html(run: &Run, plots: &[(String, String)]) -> String {
    let r = &run.results;
    let mut b = String::new();
    let _ = writeln!(
        b,
        "<h1>Run <code>{}</code> · seed {} · {}</h1>",
        escape(&r.scenario),
        r.seed,
        escape(&r.algorithm)
    );
    let feasible = r.front.iter().filter(|m| m.feasible).count();
    let mut settings = vec![
        ("scenario", r.scenario.clone()),
        ("seed", r.seed.to_string()),
        ("algorithm", r.algorithm.clone()),
        (
            "max cuts",
            r.max_cuts
                .map(|c| c.to_string())
                .unwrap_or_else(|| "–".into()),
        ),
        (
            "objectives (all minimised)",
            r.objective_names
                .iter()
                .map(|n| objective_label(n))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        ("generations", r.generations.to_string()),
        ("evaluations", r.evaluations.to_string()),
        (
            "front",
            format!("{} members, {feasible} feasible", r.front.len()),
        ),
        (
            "hypervolume",
            format!(
                "{} (normalised to the feasible front's ideal and nadir, reference 1.1)",
                g6(r.hypervolume)
            ),
        ),
    ];
    if let Some(i) = &run.info {
        settings.push((
            "scenario file",
            i.scenario_file
                .clone()
                .unwrap_or_else(|| "embedded quickstart".into()),
        ));
        settings.push((
            "wall clock",
            format!("{} s on {} thread(s)", g4(i.elapsed_s), i.threads),
        ));
        if i.interrupted {
            settings.push(("interrupted", "yes: `--resume` continues".into()));
        }
    }
    b.push_str("<h2>Settings</h2>\n");
    b.push_str(&key_values(&settings));
    if let Some(l) = &r.ladder {
        b.push_str(
            "<h2>Fidelity ladder</h2>\n<p class=\"note\">Candidates that reached each stage \
             (cache hits not counted; docs/fidelity.md).</p>\n",
        );
        let rows: Vec<Vec<String>> = l
            .stages()
            .into_iter()
            .map(|(stage, n)| vec![stage.to_string(), n])
            .collect();
        b.push_str(&plain_table(&["stage", "candidates"], &rows));
    }

    b.push_str(&format!(
        "<h2>{}</h2>\n<p class=\"note\">Click a column heading to sort (again to reverse); \
         click a member for its placement diagram, partitions and constraint slack.</p>\n",
        if feasible > 0 {
            "Feasible front"
        } else {
            "Least-violating candidates (none feasible)"
        }
    ));
    let mut columns = vec![Column {
        key: "id".into(),
        label: "id".into(),
        numeric: false,
    }];
    for n in &r.objective_names {
        columns.push(Column {
            key: n.clone(),
            label: objective_label(n),
            numeric: true,
        });
    }
    let with_failures = r.front.iter().any(|m| !m.failure_cases.is_empty());
    if with_failures {
        columns.push(Column {
            key: "availability".into(),
            label: "availability".into(),
            numeric: true,
        });
    }
    for (key, label, numeric) in [
        ("devices", "devices", true),
        ("map", "map", false),
        ("params", "params", true),
        ("violation", "violation", true),
        ("val_accuracy", "val acc", true),
        ("test_accuracy", "test acc", true),
    ] {
        columns.push(Column {
            key: key.into(),
            label: label.into(),
            numeric,
        });
    }
    let knee = r.knee();
    let rows: Vec<Row> = r
        .front
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let mut cells = vec![Cell::text(&m.id)];
            cells.extend(
                m.values(&r.objective_names)
                    .into_iter()
                    .map(|v| Cell::number(v, g6(v))),
            );
            if with_failures {
                cells.push(Cell::opt(m.availability(), |v| {
                    format!("{:.2} %", 100.0 * v)
                }));
            }
            cells.push(Cell::number(
                m.partitions_count() as f64,
                m.partitions_count().to_string(),
            ));
            cells.push(Cell::text(m.placement_label(" → ")));
            cells.push(Cell::number(m.params as f64, m.params.to_string()));
            cells.push(Cell::number(m.violation, g4(m.violation)));
            cells.push(Cell::opt(m.val_accuracy, |v| format!("{:.3}", v)));
            cells.push(Cell::opt(m.test_accuracy, |v| format!("{:.3}", v)));
            Row {
                cells,
                detail: Some(m.id.clone()),
                class: match (Some(i) == knee, m.feasible) {
                    (true, true) => "default",
                    (true, false) => "default infeasible",
                    (false, true) => "",
                    (false, false) => "infeasible",
                },
            }
        })
        .collect();
    b.push_str(&sortable_table("front", &columns, &rows));
    if let Some(k) = knee {
        let _ = writeln!(
            b,
            "<p class=\"note\">Shown first: the knee candidate <code>{}</code> (closest to the ideal point).</p>",
            escape(&r.front[k].id)
        );
    }
    for m in &r.front {
        b.push_str(&member_detail(run, m));
    }
    b.push_str("<h2>Plots</h2>\n<div class=\"plots\">\n");
    for (caption, svg) in plots {
        let _ = writeln!(
            b,
            "<figure>\n{}<figcaption>{}</figcaption>\n</figure>",
            inline_svg(svg),
            escape(caption)
        );
    }
    b.push_str("</div>\n");
    page(
        &format!("distrinas run {} (seed {})", r.scenario, r.seed),
        &b,
    )
}

/// `compare.html` of a comparison: the runs table (sortable; a click shows the run's
/// knee placement), the groups, and the convergence plot inline.
pub(crate) fn compare_html(c: &Comparison, runs: &[Run], convergence_svg: &str) -> String {
    let mut b = String::new();
    let _ = writeln!(b, "<h1>Comparison of {} runs</h1>", c.runs.len());
    b.push_str(&key_values(&[
        (
            "objectives (all minimised)",
            c.objective_names
                .iter()
                .map(|n| objective_label(n))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        (
            "normalisation",
            "ideal and nadir of the union of every run's feasible front; reference 1.1".into(),
        ),
        ("target hypervolume", g6(c.target_hv)),
        (
            "reference front (IGD)",
            format!("{} points", c.reference_front_size),
        ),
    ]));
    b.push_str("<h2>Runs</h2>\n<p class=\"note\">Click a column heading to sort; click a run for its knee candidate's placement.</p>\n");
    let col = |key: &str, label: &str, numeric: bool| Column {
        key: key.into(),
        label: label.into(),
        numeric,
    };
    let columns = [
        col("run", "run", false),
        col("algorithm", "algorithm", false),
        col("mode", "mode", false),
        col("seed", "seed", true),
        col("hypervolume", "HV", true),
        col("igd", "IGD", true),
        col("front", "front", true),
        col("evaluations", "evaluations", true),
        col("seconds", "s", true),
        col("evaluations_to_target", "evals to target", true),
        col("seconds_to_target", "s to target", true),
        col("best_test_accuracy", "best test acc", true),
        col("max_devices", "most devices", true),
    ];
    let rows: Vec<Row> = c
        .runs
        .iter()
        .enumerate()
        .map(|(i, x)| Row {
            cells: vec![
                Cell::text(&x.label),
                Cell::text(&x.algorithm),
                Cell::text(&x.mode),
                Cell::number(x.seed as f64, x.seed.to_string()),
                Cell::number(x.hypervolume, g6(x.hypervolume)),
                Cell::number(x.igd, g4(x.igd)),
                Cell::number(x.front_size as f64, x.front_size.to_string()),
                Cell::number(x.evaluations as f64, x.evaluations.to_string()),
                Cell::number(x.elapsed_s, g4(x.elapsed_s)),
                Cell::opt(x.evaluations_to_target.map(|e| e as f64), |e| {
                    format!("{e:.0}")
                }),
                Cell::opt(x.seconds_to_target, g4),
                Cell::opt(x.distribution.best_test_accuracy, |v| format!("{v:.3}")),
                Cell::number(
                    x.distribution.max_devices as f64,
                    x.distribution.max_devices.to_string(),
                ),
            ],
            detail: Some(format!("run{i}")),
            class: "",
        })
        .collect();
    b.push_str(&sortable_table("runs", &columns, &rows));
    for (i, (x, run)) in c.runs.iter().zip(runs).enumerate() {
        let _ = writeln!(
            b,
            r#"<section class="detail" id="detail-run{i}" hidden><h3>{}</h3>"#,
            escape(&x.label)
        );
        let r = &run.results;
        match (r.knee(), &r.topology) {
            (Some(k), Some(t)) => {
                let m = &r.front[k];
                let title = format!("knee of {}: {}", x.label, super::member_title(r, m));
                b.push_str(&placement_svg(&m.placement(t, &title)));
            }
            _ => b.push_str("<p class=\"note\">No placement diagram (empty front, or a run folder without topology).</p>\n"),
        }
        b.push_str("</section>\n");
    }
    if !c.groups.is_empty() {
        b.push_str("<h2>Groups</h2>\n");
        let rows: Vec<Vec<String>> = c
            .groups
            .iter()
            .map(|g| {
                let opt = |v: Option<f64>| v.map(g4).unwrap_or_else(|| "–".into());
                vec![
                    g.algorithm.clone(),
                    g.mode.clone(),
                    g.runs.to_string(),
                    g4(g.hypervolume),
                    g4(g.igd),
                    opt(g.best_test_accuracy),
                    opt(g.latency_p95_ms),
                    opt(g.energy_mj_per_inference),
                    g4(g.split_members),
                    g.max_devices.to_string(),
                ]
            })
            .collect();
        b.push_str(&plain_table(
            &[
                "algorithm",
                "mode",
                "runs",
                "mean HV",
                "mean IGD",
                "mean best test acc",
                "mean p95 latency ms",
                "mean energy mJ",
                "mean split members",
                "most devices",
            ],
            &rows,
        ));
    }
    b.push_str("<h2>Convergence</h2>\n<figure>\n");
    b.push_str(inline_svg(convergence_svg));
    b.push_str("<figcaption>Best-so-far hypervolume of each run on the common normalisation.</figcaption>\n</figure>\n");
    page(
        &format!("distrinas comparison of {} runs", c.runs.len()),
        &b,
    )
}
