//! `distrinas cost`: per-layer params, MACs, flash and SRAM of a network.

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use distrinas::arch::cost::{arch_cost_from, layer_costs};
use distrinas::arch::Arch;
use distrinas::scenario::DType;
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
    /// Network file (`Arch(...)` RON).
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
}

pub fn run(args: CostArgs) -> anyhow::Result<ExitCode> {
    let dtype = match args.dtype {
        DTypeArg::Int8 => DType::Int8,
        DTypeArg::Int16 => DType::Int16,
        DTypeArg::F32 => DType::F32,
    };
    let text = std::fs::read_to_string(&args.arch)
        .with_context(|| format!("cannot read {}", args.arch.display()))?;
    let arch = match Arch::from_ron(&text) {
        Ok(a) => a,
        Err(e) => bail!("{}:{}", args.arch.display(), e),
    };
    let layers =
        layer_costs(&arch, dtype).map_err(|e| anyhow::anyhow!("{}: {e}", args.arch.display()))?;
    let total = arch_cost_from(&arch, &layers, dtype);
    if args.scenario.is_some() || !args.cuts.is_empty() || !args.map.is_empty() {
        bail!(
            "--scenario/--cuts/--map need scenario loading, which is not on this build yet; \
             use the library's `partition::costs`"
        );
    }
    if args.json {
        let ls: Vec<_> = layers
            .iter()
            .map(|l| {
                json!({
                    "name": l.name(), "kind": l.kind, "output_shape": l.output_shape,
                    "params": l.params, "deploy_params": l.deploy_params, "macs": l.macs,
                    "flash_bytes": l.flash_bytes, "output_bytes": l.output_bytes,
                    "scratch_bytes": l.scratch_bytes, "folded": l.folded,
                })
            })
            .collect();
        let out = json!({
            "dtype": format!("{dtype:?}"),
            "layers": ls,
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
    }
    Ok(ExitCode::SUCCESS)
}
