//! `distrinas cost`: per-layer params, MACs, flash and SRAM of a network.

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use distrinas::arch::cost::{arch_cost_from, layer_costs};
use distrinas::arch::Arch;
use distrinas::partition::{self, check_budgets, Candidate};
use distrinas::scenario::{DType, Scenario};
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;

/// Deployment dtype on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DTypeArg {
    Int8,
    Int16,
    F32,
}

#[derive(Debug, Args)]
pub struct CostArgs {
    /// Network file (`Arch(...)` RON), or a candidate file (`Candidate(arch, cuts,
    /// map)`, e.g. a run's `candidates/<id>.ron`), whose cuts and map are the defaults
    /// of `--cuts` and `--map`.
    pub arch: PathBuf,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
    /// Deployment dtype of weights and activations.
    #[arg(long, value_enum, default_value = "int8")]
    pub dtype: DTypeArg,
    /// Scenario whose devices' budgets the partitions are checked against.
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// Cut points (layer indices), comma separated.
    #[arg(long, value_delimiter = ',')]
    pub cuts: Vec<usize>,
    /// Device id of each partition, comma separated.
    #[arg(long, value_delimiter = ',')]
    pub map: Vec<String>,
    /// Standby device id of each partition, comma separated, `-` for none (its replica
    /// counts in that device's budgets).
    #[arg(long, value_delimiter = ',')]
    pub standby: Vec<String>,
}

pub fn run(args: CostArgs) -> anyhow::Result<ExitCode> {
    let dtype = match args.dtype {
        DTypeArg::Int8 => DType::Int8,
        DTypeArg::Int16 => DType::Int16,
        DTypeArg::F32 => DType::F32,
    };
    let text = std::fs::read_to_string(&args.arch)
        .with_context(|| format!("cannot read {}", args.arch.display()))?;
    // Partitioning given on the command line (a candidate file's own needs no flag).
    let flags = !args.cuts.is_empty() || !args.map.is_empty() || !args.standby.is_empty();
    let (arch, args) = match distrinas::ronfmt::options().from_str::<Candidate>(&text) {
        Ok(c) => {
            // The candidate's partitioning unless the command line gives one.
            let own = args.cuts.is_empty() && args.map.is_empty() && args.standby.is_empty();
            let args = if own {
                CostArgs {
                    cuts: c.cuts,
                    map: c.map,
                    standby: c
                        .standby
                        .into_iter()
                        .map(|s| s.unwrap_or_else(|| "-".into()))
                        .collect(),
                    ..args
                }
            } else {
                args
            };
            (c.arch, args)
        }
        Err(candidate_error) => match Arch::from_ron(&text) {
            Ok(a) => (a, args),
            // A file that says it is a candidate gets the candidate's parse error.
            Err(_) if text.contains("Candidate(") => bail!(
                "{}:{}:{}: {}",
                args.arch.display(),
                candidate_error.span.start.line,
                candidate_error.span.start.col,
                candidate_error.code
            ),
            Err(e) => bail!("{}:{}", args.arch.display(), e),
        },
    };
    let layers =
        layer_costs(&arch, dtype).map_err(|e| anyhow::anyhow!("{}: {e}", args.arch.display()))?;
    let total = arch_cost_from(&arch, &layers, dtype);
    let partitions = match &args.scenario {
        Some(path) => Some(partition_report(&args, path, &arch, dtype)?),
        None if flags => {
            bail!("--cuts, --map and --standby need --scenario (the devices they name)")
        }
        None => None,
    };
    if args.json {
        let ls: Vec<_> = layers
            .iter()
            .map(|l| {
                json!({
                    "name": l.name(), "kind": l.kind, "output_shape": l.output_shape,
                    "params": l.params, "deploy_params": l.deploy_params, "macs": l.macs,
                    "flash_bytes": l.flash_bytes, "output_bytes": l.output_bytes,
                    "scratch_bytes": l.scratch_bytes, "folded": l.folded,
                    "alias_of": l.alias_of,
                })
            })
            .collect();
        let out = json!({
            "dtype": format!("{dtype:?}"),
            "layers": ls,
            "partitions": partitions.as_ref().map(|p| &p.json),
            "total": {
                "params": total.params, "deploy_params": total.deploy_params,
                "macs": total.macs, "flash_bytes": total.flash_bytes,
                "peak_sram_bytes": total.peak_sram_bytes,
                "peak_sram_inplace_bytes": total.peak_sram_inplace_bytes,
                "input_bytes": total.input_bytes, "output_bytes": total.output_bytes,
            },
        });
        println!("{out}");
    } else {
        println!(
            "{:>4}  {:<22} {:<16} {:<16} {:>10} {:>14} {:>10} {:>10}",
            "#", "name", "kind", "output", "params", "MACs", "flash B", "out B"
        );
        for l in &layers {
            println!(
                "{:>4}  {:<22} {:<16} {:<16} {:>10} {:>14} {:>10} {:>10}",
                l.index,
                l.name(),
                l.kind,
                format!("{:?}", l.output_shape),
                l.params,
                l.macs,
                l.flash_bytes,
                l.output_bytes
            );
        }
        println!(
            "total: {} params ({} deployed), {} MACs, {} B flash, peak SRAM {} B ({} B in place), dtype {:?}",
            total.params,
            total.deploy_params,
            total.macs,
            total.flash_bytes,
            total.peak_sram_bytes,
            total.peak_sram_inplace_bytes,
            dtype
        );
        if let Some(p) = &partitions {
            print!("{}", p.table);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Per-partition costs of the network cut at `--cuts` and mapped by `--map` onto a
/// scenario's devices, checked against each device's budget.
struct PartitionReport {
    json: serde_json::Value,
    table: String,
}

fn partition_report(
    args: &CostArgs,
    path: &std::path::Path,
    arch: &Arch,
    dtype: DType,
) -> anyhow::Result<PartitionReport> {
    let loaded = Scenario::load(path)?;
    let network = loaded.network();
    // no cuts: the whole network on the source; cuts need their devices named
    let map = match (args.cuts.len(), args.map.is_empty()) {
        (0, true) => vec![loaded.scenario.source.clone()],
        (n, true) => {
            let ids: Vec<&str> = loaded
                .scenario
                .devices
                .iter()
                .map(|d| d.id.as_str())
                .collect();
            bail!(
                "--cuts gives {} partitions: give --map with {} device ids (devices of {}: {})",
                n + 1,
                n + 1,
                loaded.file,
                ids.join(", ")
            )
        }
        _ => args.map.clone(),
    };
    let candidate = Candidate {
        arch: arch.clone(),
        cuts: args.cuts.clone(),
        map,
        standby: args
            .standby
            .iter()
            .map(|s| (s != "-").then(|| s.clone()))
            .collect(),
    };
    let costs = partition::costs(&candidate, &network, dtype)
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.arch.display()))?;
    let violations = check_budgets(&costs, &network);
    let mut table = format!(
        "\n{:>4}  {:<10} {:<9} {:>12} {:>10} {:>10} {:>12} {:>10} {:>10}\n",
        "part", "device", "layers", "MACs", "flash B", "SRAM B", "compute µs", "in B", "out B"
    );
    let mut parts = Vec::new();
    for p in &costs.partitions {
        let d = &network.devices()[p.device];
        let standby = p.standby.map(|s| network.devices()[s.device].id.as_str());
        table += &format!(
            "{:>4}  {:<10} {:<9} {:>12} {:>10} {:>10} {:>12.1} {:>10} {:>10}\n",
            p.index,
            match standby {
                Some(s) => format!("{}({s})", d.id),
                None => d.id.clone(),
            },
            format!("{}..{}", p.layers.start, p.layers.end),
            p.macs,
            p.flash_bytes,
            p.peak_sram_bytes,
            p.compute_ns as f64 / 1e3,
            p.input_bytes,
            p.output_bytes
        );
        parts.push(json!({
            "index": p.index, "device": d.id, "layers": [p.layers.start, p.layers.end],
            "macs": p.macs, "params": p.params, "flash_bytes": p.flash_bytes,
            "peak_sram_bytes": p.peak_sram_bytes, "receive_bytes": p.receive_bytes,
            "compute_ns": p.compute_ns, "input_bytes": p.input_bytes,
            "output_bytes": p.output_bytes, "standby": standby,
            "flash_budget_bytes": d.flash_bytes, "sram_budget_bytes": d.sram_bytes,
        }));
    }
    for v in &violations {
        table += &format!("over budget: {v}\n");
    }
    if violations.is_empty() {
        table += "every partition fits its device's flash and SRAM budget\n";
    }
    let violations_json: Vec<_> = violations
        .iter()
        .map(|v| {
            json!({
                "device": v.device_id, "resource": v.resource.to_string(),
                "used_bytes": v.used_bytes, "budget_bytes": v.budget_bytes,
                "excess_bytes": v.excess_bytes(),
            })
        })
        .collect();
    Ok(PartitionReport {
        json: json!({
            "scenario": loaded.file, "cuts": costs.cut_bytes.len(), "partitions": parts,
            "cut_bytes": costs.cut_bytes, "violations": violations_json,
        }),
        table,
    })
}
