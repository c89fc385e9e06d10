//! `distrinas calibrate`: a device's per-layer latency model fitted to measurements.

use anyhow::{bail, Context};
use clap::Args;
use distrinas::calibrate::{fit, parse_csv, Calibration, FitLoss};
use distrinas::scenario::profiles::{
    device_profile_names, parse_device_profile, shipped_device_profile,
};
use distrinas::scenario::DeviceProfile;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `calibrate`.
#[derive(Debug, Args)]
pub struct CalibrateArgs {
    /// Measurements CSV: `kind,macs,in_bytes,out_bytes,latency_us`, one measured layer
    /// per row.
    pub measurements: PathBuf,
    /// Device profile to calibrate: a shipped name (`nrf52840`, ...) or a profile RON
    /// file.
    #[arg(long)]
    pub device: String,
    /// Write the calibrated profile here (RON, written atomically).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// What the least squares minimise: `absolute` errors (default) or `relative`
    /// ones (each row divided by its latency).
    #[arg(long, value_enum, default_value = "absolute")]
    pub loss: LossArg,
    /// Also print every row: measured, fitted, and predicted with the row held out.
    #[arg(long)]
    pub rows: bool,
    /// Print one JSON object (`coefficients` by kind, and the fit's figures).
    #[arg(long)]
    pub json: bool,
}

/// `--loss`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LossArg {
    Absolute,
    Relative,
}

fn load_profile(device: &str) -> anyhow::Result<DeviceProfile> {
    if device.ends_with(".ron") {
        let text =
            std::fs::read_to_string(device).with_context(|| format!("cannot read {device}"))?;
        return Ok(parse_device_profile(device, &text)?);
    }
    match shipped_device_profile(device) {
        Some(p) => Ok(p),
        None => bail!(
            "--device {device:?}: unknown device profile (known: {}, or a path ending in .ron)",
            device_profile_names().join(", ")
        ),
    }
}

fn pct(x: Option<f64>) -> String {
    x.map_or("–".into(), |x| format!("{:.1}%", 100.0 * x))
}

fn table(c: &Calibration) -> String {
    let mut s = format!(
        "{:<16} {:>5} {:>12} {:>11} {:>12} {:>8} {:>9} {:>9}\n",
        "kind", "rows", "overhead µs", "ns/MAC", "ns/byte", "R²", "rel err", "LOO err"
    );
    for (k, f) in &c.kinds {
        let co = &f.coefficients;
        s += &format!(
            "{:<16} {:>5} {:>12.3} {:>11.4} {:>12.4} {:>8} {:>9} {:>9}\n",
            k,
            f.rows,
            co.overhead_us,
            co.ns_per_mac,
            co.ns_per_byte,
            f.r2.map_or("–".into(), |r| format!("{r:.4}")),
            pct(Some(f.mean_relative_error)),
            pct(f.loo_relative_error)
        );
    }
    s += &format!(
        "all rows: R² {}, mean relative error {}, leave-one-out {}\n",
        c.r2.map_or("–".into(), |r| format!("{r:.4}")),
        pct(Some(c.mean_relative_error)),
        pct(c.loo_relative_error)
    );
    s
}

fn row_table(c: &Calibration) -> String {
    let mut s = format!(
        "{:>5} {:<16} {:>12} {:>8} {:>13} {:>13} {:>13} {:>8}\n",
        "line", "kind", "MACs", "bytes", "measured µs", "fitted µs", "held out µs", "error"
    );
    for r in &c.rows {
        s += &format!(
            "{:>5} {:<16} {:>12} {:>8} {:>13.1} {:>13.1} {:>13} {:>8}\n",
            r.line,
            r.kind,
            r.macs,
            r.bytes,
            r.latency_us,
            r.fitted_us,
            r.loo_us.map_or("–".into(), |u| format!("{u:.1}")),
            pct(r.loo_us.map(|u| (u - r.latency_us) / r.latency_us)),
        );
    }
    s
}

/// Runs `calibrate`.
pub fn run(args: CalibrateArgs) -> anyhow::Result<ExitCode> {
    let file = args.measurements.display().to_string();
    let text = std::fs::read_to_string(&args.measurements)
        .with_context(|| format!("cannot read {file}"))?;
    let rows = parse_csv(&text, &file)?;
    let mut profile = load_profile(&args.device)?;
    let loss = match args.loss {
        LossArg::Absolute => FitLoss::Absolute,
        LossArg::Relative => FitLoss::Relative,
    };
    let c = fit(&rows, loss)?;
    if let Some(out) = &args.out {
        profile.latency = c.latency();
        if let Some(n) = c.network().filter(|n| n.coefficients.ns_per_mac > 0.0) {
            // whole networks: the two-term model's MAC rate (the per-inference
            // overhead has no place in a per-layer model: it is reported only)
            profile.mac_per_s = 1e9 / n.coefficients.ns_per_mac;
        }
        profile.sources.push(format!(
            "latency: fitted by `distrinas calibrate` to {} measured layers of {file} (R² {}, mean relative error {}, leave-one-out {})",
            rows.len(),
            c.r2.map_or("–".into(), |r| format!("{r:.4}")),
            pct(Some(c.mean_relative_error)),
            pct(c.loo_relative_error)
        ));
        let pretty = ron::ser::PrettyConfig::new().struct_names(true);
        let body = ron::ser::to_string_pretty(&profile, pretty)?;
        let text = format!(
            "// Calibrated from {file} by `distrinas calibrate` (docs/calibration.md).\n{body}\n"
        );
        // what is written must load back as a profile
        parse_device_profile(&out.display().to_string(), &text)?;
        distrinas::atomic::write_atomic(out, text.as_bytes())
            .with_context(|| format!("cannot write {}", out.display()))?;
    }
    if args.json {
        let out = serde_json::json!({
            "measurements": file,
            "rows": rows.len(),
            "loss": loss,
            "coefficients": c.latency(),
            "network": c.network(),
            "predictions": c.rows,
            "kinds": c.kinds,
            "r2": c.r2,
            "mean_relative_error": c.mean_relative_error,
            "loo_relative_error": c.loo_relative_error,
            "profile": args.out.as_ref().map(|p| p.display().to_string()),
        });
        println!("{out}");
    } else {
        print!("{}", table(&c));
        if args.rows {
            print!("{}", row_table(&c));
        }
        if let Some(out) = &args.out {
            println!("calibrated profile written to {}", out.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
