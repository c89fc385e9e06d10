//! CSV tables: `front.csv` and `history.csv`.

use super::run::{HistoryRow, RunResults};
use std::fmt::Write;

/// Quotes a CSV field when it holds a comma, quote or line break (RFC 4180).
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Shortest round-tripping decimal of a float (`{}` formatting), empty for `None`.
fn num(v: Option<f64>) -> String {
    v.map(|x| format!("{x}")).unwrap_or_default()
}

fn join<T: ToString>(v: impl IntoIterator<Item = T>) -> String {
    v.into_iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(";")
}

/// `front.csv`: one row per front member. Columns: `id, feasible, violation`, one column
/// per objective (search order), `params, layers, val_accuracy, test_accuracy, cuts, map`
/// (`;`-separated), per-partition `flash_bytes, peak_sram_bytes, macs, compute_ms`
/// (`;`-separated, one value per partition), then one `slack:<constraint>` column per
/// constraint of the first member, and `availability` (expected on-time share under
/// the failure model) when the run has one.
pub fn front_csv(r: &RunResults) -> String {
    let with_failures = r.front.iter().any(|m| !m.failure_cases.is_empty());
    let constraint_names: Vec<String> = r
        .front
        .first()
        .map(|m| m.constraints.iter().map(|c| c.name.clone()).collect())
        .unwrap_or_default();
    let mut header = vec!["id".to_string(), "feasible".into(), "violation".into()];
    header.extend(r.objective_names.iter().cloned());
    header.extend(
        [
            "params",
            "layers",
            "val_accuracy",
            "test_accuracy",
            "cuts",
            "map",
            "flash_bytes",
            "peak_sram_bytes",
            "macs",
            "compute_ms",
        ]
        .map(String::from),
    );
    header.extend(constraint_names.iter().map(|n| format!("slack:{n}")));
    if with_failures {
        header.push("availability".into());
    }
    let mut out = header
        .iter()
        .map(|h| field(h))
        .collect::<Vec<_>>()
        .join(",");
    out.push('\n');
    for m in &r.front {
        let mut row = vec![field(&m.id), m.feasible.to_string(), num(Some(m.violation))];
        row.extend(
            m.values(&r.objective_names)
                .into_iter()
                .map(|v| num(Some(v))),
        );
        row.push(m.params.to_string());
        row.push(m.layers.to_string());
        row.push(num(m.val_accuracy));
        row.push(num(m.test_accuracy));
        row.push(join(&m.cuts));
        row.push(field(&m.placement_label(";")));
        row.push(join(m.partitions.iter().map(|p| p.flash_bytes)));
        row.push(join(m.partitions.iter().map(|p| p.peak_sram_bytes)));
        row.push(join(m.partitions.iter().map(|p| p.macs)));
        row.push(join(m.partitions.iter().map(|p| p.compute_ms)));
        for n in &constraint_names {
            let s = m.constraints.iter().find(|c| &c.name == n).map(|c| c.slack);
            row.push(num(s));
        }
        if with_failures {
            row.push(num(m.availability()));
        }
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
}

/// `history.csv`: `generation,evaluations,elapsed_s,archive_hv,best_hv,front_size,
/// trained,predicted,rank_correlation` (`rank_correlation` empty when there is none).
pub fn history_csv(rows: &[HistoryRow]) -> String {
    let mut out = String::from(
        "generation,evaluations,elapsed_s,archive_hv,best_hv,front_size,trained,predicted,rank_correlation\n",
    );
    for h in rows {
        let _ = writeln!(
            out,
            "{},{},{:.3},{},{},{},{},{},{}",
            h.generation,
            h.evaluations,
            h.elapsed_s,
            h.archive_hv,
            h.best_hv,
            h.front_size,
            h.trained,
            h.predicted,
            h.rank_correlation.map_or(String::new(), |r| r.to_string())
        );
    }
    out
}

/// Parses a `history.csv` written by [`history_csv`]; malformed rows are skipped.
pub fn parse_history_csv(text: &str) -> Vec<HistoryRow> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            if f.len() < 6 {
                return None;
            }
            Some(HistoryRow {
                generation: f[0].trim().parse().ok()?,
                evaluations: f[1].trim().parse().ok()?,
                elapsed_s: f[2].trim().parse().ok()?,
                archive_hv: f[3].trim().parse().ok()?,
                best_hv: f[4].trim().parse().ok()?,
                front_size: f[5].trim().parse().ok()?,
                // columns of later versions: absent in older files
                trained: f.get(6).and_then(|x| x.trim().parse().ok()).unwrap_or(0),
                predicted: f.get(7).and_then(|x| x.trim().parse().ok()).unwrap_or(0),
                rank_correlation: f.get(8).and_then(|x| x.trim().parse().ok()),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{ConstraintSlack, FrontMember, PartitionSummary};

    fn member() -> FrontMember {
        FrontMember {
            id: "c01".into(),
            objectives: [("ValLoss".to_string(), 0.25), ("LatencyP95".into(), 12.5)]
                .into_iter()
                .collect(),
            feasible: true,
            violation: 0.0,
            constraints: vec![ConstraintSlack {
                name: "flash:wrist".into(),
                value: 1000.0,
                limit: 4000.0,
                slack: 3000.0,
            }],
            cuts: vec![3],
            map: vec!["wrist".into(), "hub,2".into()],
            layers: 7,
            params: 3220,
            partitions: vec![
                PartitionSummary {
                    device: "wrist".into(),
                    first_layer: 0,
                    end_layer: 3,
                    flash_bytes: 1000,
                    peak_sram_bytes: 900,
                    macs: 40000,
                    compute_ms: 0.5,
                    out_bytes: 800,
                    layer_kinds: vec![],
                    standby: None,
                },
                PartitionSummary {
                    device: "hub,2".into(),
                    first_layer: 3,
                    end_layer: 7,
                    flash_bytes: 2000,
                    peak_sram_bytes: 1900,
                    macs: 80000,
                    compute_ms: 0.25,
                    out_bytes: 4,
                    layer_kinds: vec![],
                    standby: None,
                },
            ],
            devices: vec![],
            val_accuracy: Some(0.9),
            test_accuracy: None,
            int8_test_accuracy: None,
            candidate_file: "candidates/c01.ron".into(),
            ..Default::default()
        }
    }

    #[test]
    fn front_csv_columns() {
        let r = RunResults {
            objective_names: vec!["ValLoss".into(), "LatencyP95".into()],
            front: vec![member()],
            ..Default::default()
        };
        let csv = front_csv(&r);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines[0],
            "id,feasible,violation,ValLoss,LatencyP95,params,layers,val_accuracy,\
             test_accuracy,cuts,map,flash_bytes,peak_sram_bytes,macs,compute_ms,\
             slack:flash:wrist"
        );
        assert_eq!(
            lines[1],
            "c01,true,0,0.25,12.5,3220,7,0.9,,3,\"wrist;hub,2\",1000;2000,900;1900,\
             40000;80000,0.5;0.25,3000"
        );
    }

    /// Failure cases add an `availability` column: by hand 0.72 × 1 + 0.08 × 0.5 +
    /// 0.18 × 0 = 0.76.
    #[test]
    fn front_csv_adds_availability_with_a_failure_model() {
        use crate::report::FailureCase;
        let case = |p: f64, on_time: f64| FailureCase {
            probability: Some(p),
            on_time_fraction: on_time,
            ..Default::default()
        };
        let mut m = member();
        m.failure_cases = vec![case(0.72, 1.0), case(0.08, 0.5), case(0.18, 0.0)];
        let r = RunResults {
            objective_names: vec!["ValLoss".into(), "LatencyP95".into()],
            front: vec![m],
            ..Default::default()
        };
        let csv = front_csv(&r);
        let lines: Vec<&str> = csv.lines().collect();
        assert!(lines[0].ends_with(",slack:flash:wrist,availability"));
        let last: f64 = lines[1].rsplit(',').next().unwrap().parse().unwrap();
        assert!((last - 0.76).abs() < 1e-12, "{last}");
    }

    #[test]
    fn history_round_trip() {
        let rows = vec![
            HistoryRow {
                generation: 0,
                evaluations: 8,
                elapsed_s: 1.5,
                archive_hv: 0.5,
                best_hv: 0.5,
                front_size: 3,
                trained: 8,
                predicted: 0,
                rank_correlation: None,
            },
            HistoryRow {
                generation: 1,
                evaluations: 16,
                elapsed_s: 2.25,
                archive_hv: 0.625,
                best_hv: 0.75,
                front_size: 4,
                trained: 13,
                predicted: 3,
                rank_correlation: Some(0.8125),
            },
        ];
        let text = history_csv(&rows);
        assert!(text.starts_with("generation,evaluations,elapsed_s,archive_hv,best_hv"));
        assert_eq!(parse_history_csv(&text), rows);
    }
}
