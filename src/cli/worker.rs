//! `distrinas worker`: evaluates the leased candidates of a scaled-out search
//! (`docs/scale-out.md`).

use clap::Args;
use distrinas::evaluate::storage::{Storage, DEFAULT_TIMEOUT};
use distrinas::evaluate::workers::{work, DEFAULT_LEASE};
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// The run's storage (`sqlite:///path/run.db` or `postgres://user:password@host/db`),
    /// as given to `search --storage`.
    #[arg(long, value_name = "URL")]
    pub storage: String,
    /// Candidates evaluated at once (default: the number of cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Seconds a lease lasts without a heartbeat; a task whose worker died is leased
    /// again after this.
    #[arg(long, default_value_t = DEFAULT_LEASE.as_secs_f64())]
    pub lease_seconds: f64,
    /// Seconds a storage outage is waited out before the worker gives up.
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_TIMEOUT.as_secs_f64())]
    pub storage_timeout: f64,
}

pub fn run(args: WorkerArgs) -> anyhow::Result<ExitCode> {
    if !(args.lease_seconds > 0.0 && args.lease_seconds.is_finite()) {
        anyhow::bail!("--lease-seconds must be > 0, not {}", args.lease_seconds);
    }
    if !(args.storage_timeout >= 0.0 && args.storage_timeout.is_finite()) {
        anyhow::bail!(
            "--storage-timeout must be >= 0, not {}",
            args.storage_timeout
        );
    }
    let storage =
        Storage::open_with_timeout(&args.storage, Duration::from_secs_f64(args.storage_timeout))?;
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    eprintln!(
        "worker: {} threads on {} (waiting for its coordinator if it has not started)",
        threads,
        storage.url()
    );
    // A worker stopped at any moment loses nothing: its leases run out and another
    // worker (or the coordinator) evaluates those tasks again.
    let stop = Arc::new(AtomicBool::new(false));
    let stats = work(
        &storage,
        threads,
        Duration::from_secs_f64(args.lease_seconds),
        &stop,
    )?;
    eprintln!("worker: {} evaluations", stats.evaluated);
    Ok(ExitCode::SUCCESS)
}
