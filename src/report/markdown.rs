//! `report.md`: a human summary of a run.

use super::run::Run;
use std::fmt::Write;

/// A float with 4 significant digits (plain notation between 1e-3 and 1e6).
pub(crate) fn g4(v: f64) -> String {
    significant(v, 4)
}

/// A float with `digits` significant digits (≥ 1): plain notation between 1e-3 and
/// 1e6 with trailing zeros dropped, scientific outside.
pub fn significant(v: f64, digits: usize) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    if v == 0.0 {
        return "0".into();
    }
    let digits = digits.max(1);
    let a = v.abs();
    if !(1e-3..1e6).contains(&a) {
        let d = digits - 1;
        return format!("{v:.d$e}");
    }
    let decimals = (digits as i32 - 1 - a.log10().floor() as i32).max(0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Objective values in tables: 6 significant digits, so that a validation loss on
/// hundreds of samples shows the differences that rank candidates.
pub(crate) fn g6(v: f64) -> String {
    significant(v, 6)
}

fn opt(v: Option<f64>) -> String {
    v.map(g4).unwrap_or_else(|| "–".into())
}

/// Columns of a member's failure-case table.
pub(crate) const FAILURE_HEAD: [&str; 6] = [
    "devices down",
    "probability",
    "completed",
    "on time",
    "p95 ms",
    "mJ/inference",
];

/// Rows of a member's failure-case table (`FAILURE_HEAD` columns).
pub(crate) fn failure_rows(m: &super::run::FrontMember) -> Vec<Vec<String>> {
    m.failure_cases
        .iter()
        .map(|c| {
            vec![
                if c.down.is_empty() {
                    "none".to_string()
                } else {
                    c.down.join(" + ")
                },
                opt(c.probability),
                format!("{:.1} %", 100.0 * c.completed_fraction),
                format!("{:.1} %", 100.0 * c.on_time_fraction),
                opt(c.latency_p95_ms),
                opt(c.energy_mj_per_inference),
            ]
        })
        .collect()
}

/// The Markdown summary of `run`.
pub(crate) fn report_md(run: &Run) -> String {
    let r = &run.results;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Run `{}` (seed {}, {})\n",
        r.scenario, r.seed, r.algorithm
    );
    let feasible = r.front.iter().filter(|m| m.feasible).count();
    let _ = writeln!(
        s,
        "- generations: {}, evaluations: {}\n- front: {} candidates ({} feasible)\n\
         - hypervolume of the feasible front: {} (normalised to the front's ideal/nadir, \
         reference point 1.1)",
        r.generations,
        r.evaluations,
        r.front.len(),
        feasible,
        g4(r.hypervolume)
    );
    if let Some(info) = &run.info {
        let _ = writeln!(
            s,
            "- wall-clock: {} s on {} thread(s){}",
            g4(info.elapsed_s),
            info.threads,
            if info.interrupted {
                " (interrupted; `--resume` continues)"
            } else {
                ""
            }
        );
    }
    let _ = writeln!(
        s,
        "\nObjectives (all minimised, see docs/objectives.md): {}.\n",
        r.objective_names.join(", ")
    );

    if let Some(l) = &r.ladder {
        let _ = writeln!(
            s,
            "## Fidelity ladder\n\nCandidates that reached each stage (cache hits not \
             counted; see docs/fidelity.md).\n\n| stage | candidates |\n|---|---|"
        );
        for (stage, n) in l.stages() {
            let _ = writeln!(s, "| {stage} | {n} |");
        }
        s.push('\n');
    }
    let _ = writeln!(s, "## Front\n");
    let mut head = vec!["id".to_string(), "feasible".into()];
    head.extend(r.objective_names.iter().cloned());
    head.extend(["params", "cuts", "map", "val acc", "test acc"].map(String::from));
    let _ = writeln!(s, "| {} |", head.join(" | "));
    let _ = writeln!(s, "|{}", "---|".repeat(head.len()));
    for m in &r.front {
        let mut row = vec![
            format!("`{}`", m.id),
            if m.feasible { "yes" } else { "no" }.into(),
        ];
        row.extend(m.values(&r.objective_names).into_iter().map(g6));
        row.push(m.params.to_string());
        row.push(format!("{:?}", m.cuts));
        row.push(m.placement_label(" → "));
        row.push(opt(m.val_accuracy));
        row.push(opt(m.test_accuracy));
        let _ = writeln!(s, "| {} |", row.join(" | "));
    }

    if r.front.iter().any(|m| !m.failure_cases.is_empty()) {
        let _ = writeln!(
            s,
            "\n## Failure cases\n\nEach member simulated with the devices of each case of the \
             scenario's `failures:` down for the whole horizon (`docs/robustness.md`).\n"
        );
        for m in &r.front {
            let _ = writeln!(s, "`{}`:\n", m.id);
            let _ = writeln!(s, "| {} |", FAILURE_HEAD.join(" | "));
            let _ = writeln!(s, "|{}", "---|".repeat(FAILURE_HEAD.len()));
            for row in failure_rows(m) {
                let _ = writeln!(s, "| {} |", row.join(" | "));
            }
            s.push('\n');
        }
    }

    if let Some(k) = r.knee() {
        let m = &r.front[k];
        let _ = writeln!(
            s,
            "\n## Knee candidate `{}`\n\nThe front member closest to the ideal point in \
             normalised objective space. File: `{}`.\n",
            m.id, m.candidate_file
        );
        if r.topology.is_some() {
            let _ = writeln!(
                s,
                "![placement of the knee candidate](plots/placement/{}.svg)\n\n\
                 Every member's placement diagram is in `plots/placement/`; `report.html` \
                 shows them with a sortable front table.\n",
                m.id
            );
        }
        let _ = writeln!(
            s,
            "| partition | device | layers | flash B | peak SRAM B | MACs | compute ms | out B |\n\
             |---|---|---|---|---|---|---|---|"
        );
        for (i, p) in m.partitions.iter().enumerate() {
            let _ = writeln!(
                s,
                "| {i} | {} | {}..{} | {} | {} | {} | {} | {} |",
                p.device_label(),
                p.first_layer,
                p.end_layer,
                p.flash_bytes,
                p.peak_sram_bytes,
                p.macs,
                g4(p.compute_ms),
                p.out_bytes
            );
        }
        if !m.devices.is_empty() {
            let _ = writeln!(
                s,
                "\n| device | busy fraction | inference energy mJ/inference | idle energy mJ/inference | lifetime s |\n\
                 |---|---|---|---|---|"
            );
            for d in &m.devices {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {} |",
                    d.id,
                    g4(d.busy_fraction),
                    g4(d.energy_mj_per_inference),
                    g4(d.idle_mj_per_inference),
                    opt(d.lifetime_s)
                );
            }
        }
        if !m.constraints.is_empty() {
            let _ = writeln!(
                s,
                "\n| constraint | value | limit | slack |\n|---|---|---|---|"
            );
            for c in &m.constraints {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} |",
                    c.name,
                    g4(c.value),
                    g4(c.limit),
                    g4(c.slack)
                );
            }
        }
        let scenario = run
            .info
            .as_ref()
            .and_then(|i| i.scenario_file.clone())
            .unwrap_or_else(|| "scenarios/quickstart.ron".into());
        let _ = writeln!(
            s,
            "\n## What-if\n\nReplay the knee candidate (edit the scenario's `events:` or use \
             the overrides of `simulate` to change conditions):\n\n```sh\n\
             distrinas simulate {scenario} --candidate <run folder>/{}\n```",
            m.candidate_file
        );
    }

    let _ = writeln!(s, "\n## Plots\n");
    let _ = writeln!(s, "![hypervolume convergence](plots/convergence.svg)\n");
    if r.knee().is_some() {
        let _ = writeln!(s, "![knee candidate per device](plots/knee_devices.svg)\n");
    }
    let names = &r.objective_names;
    for a in 0..names.len() {
        for b in a + 1..names.len() {
            let f = |x: &str| -> String {
                x.chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                    .collect()
            };
            let _ = writeln!(
                s,
                "![{} vs {}](plots/front_{}_vs_{}.svg)\n",
                names[b],
                names[a],
                f(&names[b]),
                f(&names[a])
            );
        }
    }
    if !run.history.is_empty() {
        let _ = writeln!(
            s,
            "## History\n\n| generation | evaluations | elapsed s | archive HV | best-so-far HV | front size | trained | predicted | rank correlation |\n\
             |---|---|---|---|---|---|---|---|---|"
        );
        for h in &run.history {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                h.generation,
                h.evaluations,
                g4(h.elapsed_s),
                g4(h.archive_hv),
                g4(h.best_hv),
                h.front_size,
                h.trained,
                h.predicted,
                opt(h.rank_correlation)
            );
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::{g4, significant};

    #[test]
    fn four_significant_digits() {
        assert_eq!(g4(0.0), "0");
        assert_eq!(g4(1234.5678), "1235");
        assert_eq!(g4(12.5), "12.5");
        assert_eq!(g4(0.012346), "0.01235");
        assert_eq!(g4(-3.0), "-3");
        assert_eq!(g4(2.5e7), "2.500e7");
        assert_eq!(significant(0.123456789, 6), "0.123457");
        assert_eq!(significant(17.2487, 6), "17.2487");
        assert_eq!(significant(2.5e7, 2), "2.5e7");
    }
}
