//! SVG plots (plotters' SVG backend): pairwise front scatter, hypervolume convergence,
//! per-device bars of the knee candidate, and the convergence of several runs.

use super::run::Run;
use super::{write_file, ReportError};
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// Width and height of every plot, pixels.
const SIZE: (u32, u32) = (720, 480);

/// Colours of successive series (colour-blind-safe Okabe–Ito palette).
const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(240, 228, 66),
    RGBColor(0, 0, 0),
];

/// A series colour by index.
pub(crate) fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Axis range covering `values` with 5% padding (a unit range around a constant).
fn range(values: impl IntoIterator<Item = f64>) -> std::ops::Range<f64> {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.into_iter().filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return 0.0..1.0;
    }
    let pad = if hi > lo {
        (hi - lo) * 0.05
    } else {
        lo.abs().max(1.0) * 0.5
    };
    (lo - pad)..(hi + pad)
}

fn plot_err(path: &Path) -> impl Fn(String) -> ReportError + '_ {
    move |message| ReportError::Plot {
        path: path.to_path_buf(),
        message,
    }
}

/// Renders into an SVG string with `draw`, then writes it atomically to `path`.
fn render(
    path: &Path,
    draw: impl FnOnce(&DrawingArea<SVGBackend, plotters::coord::Shift>) -> Result<(), String>,
) -> Result<(), ReportError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE)
            .map_err(|e| plot_err(path)(e.to_string()))?;
        draw(&root).map_err(plot_err(path))?;
        root.present().map_err(|e| plot_err(path)(e.to_string()))?;
    }
    write_file(path, svg.as_bytes())
}

/// A labelled 2-D line series.
pub(crate) struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
}

/// A line plot of several series (one colour each) with a legend.
pub(crate) fn line_plot(
    path: &Path,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    series: &[Series],
) -> Result<(), ReportError> {
    let xr = range(series.iter().flat_map(|s| s.points.iter().map(|p| p.0)));
    let yr = range(
        series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .chain([0.0]),
    );
    render(path, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(xr, yr)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .draw()
            .map_err(|e| e.to_string())?;
        // Series that lie on top of each other stay distinct: every other series is
        // dashed (drawn over the solid one before it) with hollow markers.
        for (i, s) in series.iter().enumerate() {
            let c = colour(i);
            let dashed = i % 2 == 1;
            let drawn = if dashed {
                chart.draw_series(DashedLineSeries::new(
                    s.points.iter().copied(),
                    6,
                    4,
                    c.stroke_width(2),
                ))
            } else {
                chart.draw_series(LineSeries::new(s.points.iter().copied(), c.stroke_width(2)))
            };
            drawn
                .map_err(|e| e.to_string())?
                .label(s.label.clone())
                .legend(move |(x, y)| {
                    if dashed {
                        PathElement::new(vec![(x, y), (x + 7, y)], c.stroke_width(2))
                    } else {
                        PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2))
                    }
                });
            if dashed {
                chart
                    .draw_series(
                        s.points
                            .iter()
                            .map(|&p| Circle::new(p, 4, c.stroke_width(1))),
                    )
                    .map_err(|e| e.to_string())?;
            } else {
                chart
                    .draw_series(s.points.iter().map(|&p| Circle::new(p, 2, c.filled())))
                    .map_err(|e| e.to_string())?;
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(|e| e.to_string())?;
        Ok(())
    })
}

/// One panel of [`panels_plot`]: a y axis, line series and an optional horizontal
/// reference line (e.g. the application's latency limit).
pub(crate) struct Panel {
    pub y_desc: String,
    pub series: Vec<Series>,
    pub hline: Option<(f64, String)>,
    /// Names of the integer y values 0, 1, ... (a categorical axis), if any.
    pub y_names: Option<Vec<String>>,
}

/// Short decimal label of an axis value.
fn tick(v: f64) -> String {
    let a = v.abs();
    if a != 0.0 && !(1e-3..1e5).contains(&a) {
        format!("{v:.1e}")
    } else {
        let s = format!("{v:.4}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        if s == "-0" {
            "0".into()
        } else {
            s.to_string()
        }
    }
}

/// Panels stacked vertically over one shared x axis (log10 when `log_x`, labelled with
/// the values themselves); one colour per series index, the same in every panel.
pub(crate) fn panels_plot(
    path: &Path,
    title: &str,
    x_desc: &str,
    log_x: bool,
    panels: &[Panel],
) -> Result<(), ReportError> {
    let fx = |x: f64| if log_x { x.log10() } else { x };
    let xr = range(panels.iter().flat_map(|p| {
        p.series
            .iter()
            .flat_map(|s| s.points.iter().map(|q| fx(q.0)))
    }));
    let height = 60 + 260 * panels.len().max(1) as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (SIZE.0, height)).into_drawing_area();
        let draw = || -> Result<(), String> {
            root.fill(&WHITE).map_err(|e| e.to_string())?;
            let root = root
                .titled(title, ("sans-serif", 20))
                .map_err(|e| e.to_string())?;
            let areas = root.split_evenly((panels.len().max(1), 1));
            for (area, panel) in areas.iter().zip(panels) {
                let yr = range(
                    panel
                        .series
                        .iter()
                        .flat_map(|s| s.points.iter().map(|p| p.1))
                        .chain(panel.hline.as_ref().map(|h| h.0))
                        .chain([0.0]),
                );
                let mut chart = ChartBuilder::on(area)
                    .margin(10)
                    .x_label_area_size(36)
                    .y_label_area_size(70)
                    .build_cartesian_2d(xr.clone(), yr)
                    .map_err(|e| e.to_string())?;
                let xfmt = |v: &f64| tick(if log_x { 10f64.powf(*v) } else { *v });
                let yfmt = |v: &f64| match &panel.y_names {
                    Some(names) if (v - v.round()).abs() < 1e-9 && *v >= 0.0 => {
                        names.get(v.round() as usize).cloned().unwrap_or_default()
                    }
                    Some(_) => String::new(),
                    None => tick(*v),
                };
                chart
                    .configure_mesh()
                    .x_desc(x_desc)
                    .y_desc(panel.y_desc.as_str())
                    .x_label_formatter(&xfmt)
                    .y_label_formatter(&yfmt)
                    .draw()
                    .map_err(|e| e.to_string())?;
                if let Some((y, label)) = &panel.hline {
                    let (x0, x1) = (xr.start, xr.end);
                    chart
                        .draw_series(DashedLineSeries::new(
                            [(x0, *y), (x1, *y)],
                            6,
                            4,
                            BLACK.stroke_width(1),
                        ))
                        .map_err(|e| e.to_string())?
                        .label(label.clone())
                        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK));
                }
                for (i, s) in panel.series.iter().enumerate() {
                    let c = colour(i);
                    let pts: Vec<(f64, f64)> = s
                        .points
                        .iter()
                        .filter(|p| p.1.is_finite())
                        .map(|p| (fx(p.0), p.1))
                        .collect();
                    chart
                        .draw_series(LineSeries::new(pts.iter().copied(), c.stroke_width(2)))
                        .map_err(|e| e.to_string())?
                        .label(s.label.clone())
                        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c));
                    if pts.len() <= 200 {
                        chart
                            .draw_series(pts.iter().map(|&p| Circle::new(p, 2, c.filled())))
                            .map_err(|e| e.to_string())?;
                    }
                }
                chart
                    .configure_series_labels()
                    .position(SeriesLabelPosition::UpperRight)
                    .background_style(WHITE.mix(0.85))
                    .border_style(BLACK)
                    .draw()
                    .map_err(|e| e.to_string())?;
            }
            root.present().map_err(|e| e.to_string())
        };
        draw().map_err(plot_err(path))?;
    }
    write_file(path, svg.as_bytes())
}

/// Unit of an objective's values (see `docs/objectives.md`).
pub(crate) fn objective_unit(name: &str) -> &'static str {
    match name {
        "ValLoss" => "nats",
        "Error" => "fraction",
        "LatencyMean" | "LatencyP95" => "ms",
        "EnergyPerInference" | "MaxDeviceEnergy" => "mJ",
        "ExchangedBytes" | "TotalFlash" | "MaxSram" => "bytes",
        "Hops" => "count",
        "Lifetime" => "−s, negated",
        "Availability" => "−fraction, negated",
        "ExpectedLatencyUnderFailure" => "ms",
        _ => "",
    }
}

/// An axis of a scatter plot: its label (objective and unit) and its scale.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Axis {
    pub label: String,
    /// `Some(floor)`: log scale, values ≤ 0 drawn at `floor`.
    pub log_floor: Option<f64>,
}

impl Axis {
    /// The axis of objective `name` over `values`: logarithmic when its positive
    /// values span more than two decades (zeros, e.g. the bytes of a single-device
    /// candidate, then sit at the floor, half the smallest positive value).
    pub fn of(name: &str, values: &[f64]) -> Axis {
        let pos: Vec<f64> = values
            .iter()
            .copied()
            .filter(|v| v.is_finite() && *v > 0.0)
            .collect();
        let lo = pos.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = pos.iter().copied().fold(0.0, f64::max);
        let no_negatives = values.iter().all(|v| !v.is_finite() || *v >= 0.0);
        let unit = objective_unit(name);
        let unit = if unit.is_empty() {
            String::new()
        } else {
            format!(" ({unit}")
        };
        if no_negatives && lo.is_finite() && hi / lo > 100.0 {
            let floor = lo / 2.0;
            let zeros = values.iter().any(|v| *v <= 0.0);
            let note = if zeros {
                ", log; 0 at the floor"
            } else {
                ", log"
            };
            let label = if unit.is_empty() {
                format!(
                    "{name} (log{})",
                    if zeros { "; 0 at the floor" } else { "" }
                )
            } else {
                format!("{name}{unit}{note})")
            };
            Axis {
                label,
                log_floor: Some(floor),
            }
        } else {
            Axis {
                label: if unit.is_empty() {
                    name.to_string()
                } else {
                    format!("{name}{unit})")
                },
                log_floor: None,
            }
        }
    }

    fn place(&self, v: f64) -> f64 {
        match self.log_floor {
            Some(f) if v <= 0.0 => f,
            _ => v,
        }
    }

    /// The log range covering the placed values (a decade of padding each side).
    fn log_range(&self, values: &[f64]) -> std::ops::Range<f64> {
        let placed: Vec<f64> = values.iter().map(|&v| self.place(v)).collect();
        let lo = placed.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = placed.iter().copied().fold(0.0, f64::max);
        (lo / 1.5)..(hi * 1.5)
    }
}

/// Scatter of one pair of objectives: the members (blue) and the knee (red, larger).
/// `feasible` false: the members are the least-violating candidates (nothing was
/// feasible), which the title and legend say, and no knee is drawn.
fn scatter(
    path: &Path,
    (x_name, y_name): (&str, &str),
    points: &[(f64, f64)],
    knee: Option<(f64, f64)>,
    feasible: bool,
) -> Result<(), ReportError> {
    let xs: Vec<f64> = points.iter().map(|p| p.0).collect();
    let ys: Vec<f64> = points.iter().map(|p| p.1).collect();
    let (ax, ay) = (Axis::of(x_name, &xs), Axis::of(y_name, &ys));
    let what = if feasible {
        "feasible front"
    } else {
        "least-violating candidates (none feasible)"
    };
    let title = format!("{what}: {y_name} vs {x_name}");
    let placed: Vec<(f64, f64)> = points
        .iter()
        .map(|&(x, y)| (ax.place(x), ay.place(y)))
        .collect();
    let knee = knee
        .filter(|_| feasible)
        .map(|(x, y)| (ax.place(x), ay.place(y)));
    let legend = if feasible { "front" } else { "least-violating" };
    let style = ScatterStyle {
        title: &title,
        x_desc: &ax.label,
        y_desc: &ay.label,
        legend,
        points: &placed,
        knee,
    };
    render(path, |root| match (ax.log_floor, ay.log_floor) {
        (None, None) => style.draw(root, range(xs.iter().copied()), range(ys.iter().copied())),
        (Some(_), None) => style.draw(
            root,
            ax.log_range(&xs).log_scale(),
            range(ys.iter().copied()),
        ),
        (None, Some(_)) => style.draw(
            root,
            range(xs.iter().copied()),
            ay.log_range(&ys).log_scale(),
        ),
        (Some(_), Some(_)) => style.draw(
            root,
            ax.log_range(&xs).log_scale(),
            ay.log_range(&ys).log_scale(),
        ),
    })
}

/// What a scatter plot shows, whatever its axes' scales.
struct ScatterStyle<'a> {
    title: &'a str,
    x_desc: &'a str,
    y_desc: &'a str,
    legend: &'a str,
    points: &'a [(f64, f64)],
    knee: Option<(f64, f64)>,
}

impl ScatterStyle<'_> {
    fn draw<X, Y>(
        &self,
        root: &DrawingArea<SVGBackend, plotters::coord::Shift>,
        xr: X,
        yr: Y,
    ) -> Result<(), String>
    where
        X: plotters::coord::ranged1d::AsRangedCoord<Value = f64>,
        Y: plotters::coord::ranged1d::AsRangedCoord<Value = f64>,
        X::CoordDescType: plotters::coord::ranged1d::ValueFormatter<f64>,
        Y::CoordDescType: plotters::coord::ranged1d::ValueFormatter<f64>,
    {
        let mut chart = ChartBuilder::on(root)
            .caption(self.title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(xr, yr)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc(self.x_desc)
            .y_desc(self.y_desc)
            .x_label_formatter(&|v| tick(*v))
            .y_label_formatter(&|v| tick(*v))
            .draw()
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(
                self.points
                    .iter()
                    .map(|&p| Circle::new(p, 4, colour(0).filled())),
            )
            .map_err(|e| e.to_string())?
            .label(self.legend)
            .legend(|(x, y)| Circle::new((x + 10, y), 4, colour(0).filled()));
        if let Some(k) = self.knee {
            chart
                .draw_series(std::iter::once(Circle::new(
                    k,
                    7,
                    colour(1).stroke_width(3),
                )))
                .map_err(|e| e.to_string())?
                .label("knee")
                .legend(|(x, y)| Circle::new((x + 10, y), 6, colour(1).stroke_width(3)));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(|e| e.to_string())?;
        Ok(())
    }
}

/// Two bar panels side by side: one value per named item in each.
fn bars(
    path: &Path,
    names: &[String],
    panels: [(&str, Vec<f64>); 2],
    title: &str,
) -> Result<(), ReportError> {
    render(path, |root| {
        let root = root
            .titled(title, ("sans-serif", 20))
            .map_err(|e| e.to_string())?;
        let (left, right) = root.split_horizontally(SIZE.0 / 2);
        for (area, (desc, values)) in [left, right].iter().zip(panels.iter()) {
            let n = names.len().max(1) as u32;
            let top = values
                .iter()
                .copied()
                .filter(|v| v.is_finite())
                .fold(0.0, f64::max);
            let top = if top > 0.0 { top * 1.1 } else { 1.0 };
            let mut chart = ChartBuilder::on(area)
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(70)
                // `a..b` segmented has a slot per value of a..=b: n - 1 ends the last bar
                .build_cartesian_2d((0u32..n - 1).into_segmented(), 0.0..top)
                .map_err(|e| e.to_string())?;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .y_desc(*desc)
                .x_label_formatter(&|v| match v {
                    SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => {
                        names.get(*i as usize).cloned().unwrap_or_default()
                    }
                    SegmentValue::Last => String::new(),
                })
                .draw()
                .map_err(|e| e.to_string())?;
            // one series per bar: a histogram of several bars keeps them in a HashMap,
            // whose order (and so the SVG's bytes) changes from run to run
            for (i, v) in values.iter().enumerate() {
                chart
                    .draw_series(
                        Histogram::vertical(&chart)
                            .style(colour(0).filled())
                            .margin(10)
                            .data([(i as u32, if v.is_finite() { *v } else { 0.0 })]),
                    )
                    .map_err(|e| e.to_string())?;
            }
        }
        Ok(())
    })
}

/// File-name-safe version of an objective name.
fn slug(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// Writes the plots of one run into `dir`: `front_<A>_vs_<B>.svg` for every pair of
/// objectives, `convergence.svg` (archive and best-so-far HV against evaluations) and
/// `knee_devices.svg` (busy fraction and energy per inference of each device for the
/// knee candidate; per-partition compute time and flash when it was not simulated).
pub(crate) fn write_run_plots(dir: &Path, run: &Run) -> Result<Vec<PathBuf>, ReportError> {
    let r = &run.results;
    let mut written = Vec::new();
    let feasible: Vec<Vec<f64>> = r.feasible_points();
    let any_feasible = !feasible.is_empty();
    let shown: Vec<Vec<f64>> = if feasible.is_empty() {
        r.front
            .iter()
            .map(|m| m.values(&r.objective_names))
            .collect()
    } else {
        feasible
    };
    let knee = r.knee().map(|k| r.front[k].values(&r.objective_names));
    let names = &r.objective_names;
    for a in 0..names.len() {
        for b in a + 1..names.len() {
            let p = dir.join(format!(
                "front_{}_vs_{}.svg",
                slug(&names[b]),
                slug(&names[a])
            ));
            let pts: Vec<(f64, f64)> = shown.iter().map(|v| (v[a], v[b])).collect();
            scatter(
                &p,
                (&names[a], &names[b]),
                &pts,
                knee.as_ref().map(|k| (k[a], k[b])),
                any_feasible,
            )?;
            written.push(p);
        }
    }
    let p = dir.join("convergence.svg");
    let series = vec![
        Series {
            label: "best-so-far front".into(),
            points: run
                .history
                .iter()
                .map(|h| (h.evaluations as f64, h.best_hv))
                .collect(),
        },
        Series {
            label: "current archive".into(),
            points: run
                .history
                .iter()
                .map(|h| (h.evaluations as f64, h.archive_hv))
                .collect(),
        },
    ];
    line_plot(
        &p,
        "hypervolume (normalised, ref 1.1)",
        "evaluations",
        "hypervolume",
        &series,
    )?;
    written.push(p);
    if let Some(k) = r.knee() {
        let m = &r.front[k];
        let p = dir.join("knee_devices.svg");
        if m.devices.is_empty() {
            let names: Vec<String> = m
                .partitions
                .iter()
                .enumerate()
                .map(|(i, p)| format!("{i}:{}", p.device))
                .collect();
            bars(
                &p,
                &names,
                [
                    (
                        "compute ms",
                        m.partitions.iter().map(|p| p.compute_ms).collect(),
                    ),
                    (
                        "flash bytes",
                        m.partitions.iter().map(|p| p.flash_bytes as f64).collect(),
                    ),
                ],
                &format!("knee {}: partitions", m.id),
            )?;
        } else {
            let names: Vec<String> = m.devices.iter().map(|d| d.id.clone()).collect();
            bars(
                &p,
                &names,
                [
                    (
                        "busy fraction",
                        m.devices.iter().map(|d| d.busy_fraction).collect(),
                    ),
                    (
                        "inference energy mJ / inference",
                        m.devices
                            .iter()
                            .map(|d| d.energy_mj_per_inference)
                            .collect(),
                    ),
                ],
                &format!("knee {}: device load and energy", m.id),
            )?;
        }
        written.push(p);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svg(draw: impl FnOnce(&Path) -> Result<(), ReportError>) -> String {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("p.svg");
        draw(&p).unwrap();
        std::fs::read_to_string(p).unwrap()
    }

    /// `(x, width)` of every rectangle filled with series colour 0.
    fn bars_of(svg: &str) -> Vec<(f64, f64)> {
        svg.split("<rect ")
            .skip(1)
            .filter(|r| r.contains("fill=\"#0072B2\""))
            .map(|r| {
                let num = |k: &str| -> f64 {
                    let i = r.find(&format!("{k}=\"")).unwrap() + k.len() + 2;
                    r[i..].split('"').next().unwrap().parse().unwrap()
                };
                (num("x"), num("width"))
            })
            .collect()
    }

    #[test]
    fn axes_carry_units_and_go_logarithmic_past_two_decades() {
        let a = Axis::of("LatencyP95", &[5.0, 12.0]);
        assert_eq!((a.label.as_str(), a.log_floor), ("LatencyP95 (ms)", None));
        let a = Axis::of("ExchangedBytes", &[0.0, 100.0, 5000.0, 200_000.0]);
        assert_eq!(a.label, "ExchangedBytes (bytes, log; 0 at the floor)");
        assert_eq!(a.log_floor, Some(50.0));
        // exactly two decades stay linear; negatives (Lifetime) never go log
        assert_eq!(Axis::of("TotalFlash", &[10.0, 1000.0]).log_floor, None);
        assert_eq!(Axis::of("Lifetime", &[-1e6, -10.0]).log_floor, None);
        assert_eq!(
            Axis::of("Lifetime", &[-1e6]).label,
            "Lifetime (−s, negated)"
        );
        assert_eq!(Axis::of("ValLoss", &[1.0]).label, "ValLoss (nats)");
    }

    #[test]
    fn an_infeasible_front_is_called_what_it_is_and_has_no_knee() {
        let pts = [(1.0, 3.0), (2.0, 1.0)];
        let s = svg(|p| scatter(p, ("ValLoss", "LatencyP95"), &pts, Some((1.0, 3.0)), false));
        assert!(s.contains("least-violating candidates (none feasible): LatencyP95 vs ValLoss"));
        assert!(
            !s.contains(">knee<") && !s.contains("knee\n"),
            "no knee among infeasible points"
        );
        let s = svg(|p| scatter(p, ("ValLoss", "LatencyP95"), &pts, Some((1.0, 3.0)), true));
        assert!(s.contains("feasible front: LatencyP95 vs ValLoss") && s.contains("knee"));
    }

    #[test]
    fn bars_fill_their_panel_without_an_empty_slot() {
        let names = vec!["wrist".to_string(), "hub".to_string()];
        let s = svg(|p| {
            bars(
                p,
                &names,
                [("a", vec![1.0, 2.0]), ("b", vec![3.0, 4.0])],
                "t",
            )
        });
        let left: Vec<(f64, f64)> = bars_of(&s).into_iter().filter(|b| b.0 < 360.0).collect();
        assert_eq!(left.len(), 2);
        // two slots in a ~265 px panel: each bar ~110 px wide (three slots: ~68)
        assert!(left.iter().all(|b| b.1 > 100.0), "{left:?}");
    }

    #[test]
    fn overlapping_series_are_told_apart() {
        let pts: Vec<(f64, f64)> = (0..5).map(|i| (i as f64, 1.0)).collect();
        let series = [
            Series {
                label: "best".into(),
                points: pts.clone(),
            },
            Series {
                label: "archive".into(),
                points: pts,
            },
        ];
        let s = svg(|p| line_plot(p, "t", "x", "y", &series));
        let strokes = |c: &str| {
            s.split("<polyline ")
                .filter(|l| l.contains(&format!("stroke=\"{c}\"")))
                .count()
        };
        // the first series is one solid polyline (+ its legend), the second dashes
        assert!(strokes("#0072B2") <= 2, "{}", strokes("#0072B2"));
        assert!(strokes("#D55E00") >= 5, "{}", strokes("#D55E00"));
    }
}
