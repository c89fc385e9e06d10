//! Simulated scale-out: how close to linear a scaled-out search's coordination gets
//! with many workers. The coordinator and `--workers` worker processes (this program,
//! started again with `--worker`) run the protocol of `search --storage` and
//! `distrinas worker` (`distrinas::evaluate::workers::{dispatch, serve}`: leases,
//! heartbeats, polls, results) through a real storage, but each evaluation is a sleep
//! of `--seconds`. Each generation queues `--tasks` tasks (default: one per worker) and
//! waits for all of them, as the generational search does. The efficiency is the ideal
//! time (generations × ⌈tasks / workers⌉ × seconds) over the measured wall time, from
//! the first task queued to the last result read; the workers' start-up is not counted.
//!
//! ```text
//! cargo run --release --example scaleout_sim -- --storage sqlite:///tmp/sim.db --workers 32
//! ```
//! The storage must be empty (a new SQLite file, or a new PostgreSQL database). Prints
//! one JSON object. docs/performance.md has the measured table.

use clap::Parser;
use distrinas::evaluate::storage::{RunSpec, Storage};
use distrinas::evaluate::workers::{dispatch, serve, TaskEvaluator};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

#[derive(Debug, Parser)]
struct Args {
    /// An empty storage: `sqlite:///path.db` or `postgres://…/database`.
    #[arg(long)]
    storage: String,
    /// Worker processes.
    #[arg(long, default_value_t = 8)]
    workers: usize,
    /// Seconds each evaluation sleeps.
    #[arg(long, default_value_t = 1.0)]
    seconds: f64,
    /// Generations.
    #[arg(long, default_value_t = 10)]
    generations: usize,
    /// Tasks per generation (default: one per worker).
    #[arg(long)]
    tasks: Option<usize>,
    /// Run as a worker (started by the coordinator).
    #[arg(long, hide = true)]
    worker: bool,
}

/// An evaluation that takes a fixed time.
struct Sleep(Duration);

impl TaskEvaluator for Sleep {
    fn evaluate_task(&self, _key: &str, genome: &str) -> Result<String, String> {
        std::thread::sleep(self.0);
        Ok(genome.to_string())
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        args.seconds >= 0.0 && args.seconds.is_finite(),
        "--seconds must be >= 0"
    );
    let seconds = Duration::from_secs_f64(args.seconds);
    let storage = Storage::open(&args.storage)?;
    if args.worker {
        println!("ready");
        std::io::stdout().flush()?;
        let stop = AtomicBool::new(false);
        serve(&storage, &Sleep(seconds), 1, Duration::from_secs(30), &stop)?;
        return Ok(());
    }
    anyhow::ensure!(args.workers > 0, "--workers must be > 0");
    anyhow::ensure!(
        storage.counts()? == (0, 0, 0, 0),
        "{}: the storage holds tasks already; give an empty one",
        storage.url()
    );
    storage.register(&RunSpec {
        scenario_file: None,
        fingerprint: String::new(),
        seed: 0,
        max_cuts: 0,
        weights_dir: std::env::temp_dir(),
    })?;
    let exe = std::env::current_exe()?;
    let mut children = Vec::new();
    for _ in 0..args.workers {
        children.push(
            Command::new(&exe)
                .args(["--worker", "--storage", &args.storage])
                .args(["--seconds", &args.seconds.to_string()])
                .stdout(Stdio::piped())
                .spawn()?,
        );
    }
    for c in &mut children {
        let mut line = String::new();
        BufReader::new(c.stdout.as_mut().expect("piped")).read_line(&mut line)?;
        anyhow::ensure!(line.trim() == "ready", "a worker failed to start");
    }
    let tasks = args.tasks.unwrap_or(args.workers);
    let start = Instant::now();
    let mut slowest = 0f64;
    for g in 0..args.generations {
        let t = Instant::now();
        let batch: Vec<(String, String)> = (0..tasks)
            .map(|i| (format!("g{g:05}-t{i:06}"), format!("{g}/{i}")))
            .collect();
        let results = dispatch(&storage, &batch, None)?;
        anyhow::ensure!(
            results.iter().zip(&batch).all(|(r, (_, g))| r == g),
            "a result does not match its task"
        );
        slowest = slowest.max(t.elapsed().as_secs_f64());
    }
    let wall = start.elapsed().as_secs_f64();
    storage.finish()?;
    for c in children {
        let o = c.wait_with_output()?;
        anyhow::ensure!(o.status.success(), "a worker failed");
    }
    let ideal = (args.generations * tasks.div_ceil(args.workers)) as f64 * args.seconds;
    println!(
        "{}",
        serde_json::json!({
            "storage": storage.url().split("://").next(),
            "workers": args.workers,
            "tasks_per_generation": tasks,
            "seconds": args.seconds,
            "generations": args.generations,
            "wall_s": wall,
            "ideal_s": ideal,
            "slowest_generation_s": slowest,
            "efficiency": ideal / wall,
        })
    );
    Ok(())
}
