//! `distrinas search [SCENARIO]`: the integrated search of networks × partitions ×
//! device maps, with progress on stderr and every output in the run folder.

use anyhow::Context as _;
use clap::Args;
use distrinas::evaluate::run::{run_search, SearchOptions};
use distrinas::evaluate::storage::DEFAULT_TIMEOUT;
use distrinas::report::{self, RunInfo};
use distrinas::scenario::{limits, Scenario, SurrogateModel};
use distrinas::search::Algorithm;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Scenario file (default: the embedded quickstart).
    pub scenario: Option<PathBuf>,
    /// Output folder (default: runs/<scenario>-<seed>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Master seed (default: the scenario's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Generations (default: the scenario's `search.generations`).
    #[arg(long)]
    pub generations: Option<usize>,
    /// Individuals evaluated per generation (default: `search.population`).
    #[arg(long)]
    pub population: Option<usize>,
    /// Search algorithm (default: `search.algorithm`).
    #[arg(long, value_enum)]
    pub algorithm: Option<Algorithm>,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Training epochs of each final front member, for its test accuracy (default:
    /// `search.final_epochs`; 0 skips final training, e.g. when only comparing HV).
    #[arg(long)]
    pub final_epochs: Option<usize>,
    /// Restrict every candidate to one device (no cuts): the single-device NAS
    /// baseline, as `space.max_cuts: 0` in the scenario. The default output folder
    /// becomes `runs/<scenario>-single-<seed>`.
    #[arg(long)]
    pub single_device: bool,
    /// Spare the training of candidates a surrogate predicts to be dominated, as
    /// `search.fidelity.surrogate: ()` (the scenario's own settings when it has some).
    /// The default output folder becomes `runs/<scenario>-surrogate-<seed>`.
    #[arg(long)]
    pub surrogate: bool,
    /// The surrogate's model (implies `--surrogate`; default `ridge`).
    #[arg(long, value_enum, value_name = "MODEL")]
    pub surrogate_model: Option<SurrogateArg>,
    /// Open the initial population with these networks and their trained weights: a
    /// run folder (its feasible front) or a network / candidate RON file (weights from
    /// `<stem>.weights` beside it). Repeatable; adds to `search.warm_start`.
    #[arg(long, value_name = "RUN_DIR|NET.ron")]
    pub warm_start: Vec<PathBuf>,
    /// Continue the run checkpointed in the output folder (refused if the scenario or
    /// its datasets changed since).
    #[arg(long, conflicts_with = "force")]
    pub resume: bool,
    /// Replace the run already in the output folder (without it, such a folder is
    /// refused).
    #[arg(long)]
    pub force: bool,
    /// Print one JSON object (front.json plus out_dir and elapsed_s) on stdout.
    #[arg(long)]
    pub json: bool,
    /// Lease each generation's evaluations to `distrinas worker` processes through this
    /// storage (`sqlite:///path/run.db` or `postgres://user:password@host/db`); the run
    /// folder is written as usual.
    #[arg(long, value_name = "URL")]
    pub storage: Option<String>,
    /// With `--storage`: seconds a storage outage is waited out before the run stops
    /// (resumable with `--resume`).
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_TIMEOUT.as_secs_f64(), requires = "storage")]
    pub storage_timeout: f64,
    /// With `--storage`: `local` evaluates here too, `external` only coordinates.
    #[arg(long, value_enum, default_value = "local", requires = "storage")]
    pub workers: WorkersArg,
}

/// Who evaluates a `--storage` run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum WorkersArg {
    /// This process and any workers.
    Local,
    /// Only `distrinas worker` processes.
    External,
}

/// The surrogate model of `--surrogate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SurrogateArg {
    /// Ridge regression.
    Ridge,
    /// Ordinary least squares (`linfa-linear`).
    Linear,
}

pub fn run(args: SearchArgs) -> anyhow::Result<ExitCode> {
    let start = Instant::now();
    let mut loaded = match &args.scenario {
        Some(p) => Scenario::load(p)?,
        None => Scenario::embedded_quickstart(),
    };
    if args.single_device {
        loaded.scenario.space.max_cuts = 0;
    }
    let surrogate = args.surrogate || args.surrogate_model.is_some();
    if surrogate {
        let s = &mut loaded.scenario;
        if !s.search.trains_for_objectives() && s.app.min_accuracy.is_none() {
            anyhow::bail!(
                "--surrogate: no objective or constraint of {} depends on training (ValLoss, \
                 Error or app.min_accuracy), so there is nothing to predict",
                s.name
            );
        }
        let settings = s
            .search
            .fidelity
            .surrogate
            .get_or_insert_with(Default::default);
        match args.surrogate_model {
            Some(SurrogateArg::Ridge) => settings.model = SurrogateModel::Ridge,
            Some(SurrogateArg::Linear) => settings.model = SurrogateModel::Linear,
            None => {}
        }
    }
    let s = &loaded.scenario;
    let seed = args.seed.unwrap_or(s.seed);
    let mode = match (args.single_device, surrogate) {
        (true, true) => "-single-surrogate",
        (true, false) => "-single",
        (false, true) => "-surrogate",
        (false, false) => "",
    };
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("runs/{}{mode}-{seed}", s.name)));
    let mut opts = SearchOptions::from_loaded(&loaded, out.clone());
    opts.warm_start.extend(args.warm_start.iter().cloned());
    opts.seed = seed;
    opts.resume = args.resume;
    opts.force = args.force;
    opts.storage = args.storage.clone();
    if !(args.storage_timeout >= 0.0 && args.storage_timeout.is_finite()) {
        anyhow::bail!(
            "--storage-timeout must be >= 0, not {}",
            args.storage_timeout
        );
    }
    opts.storage_timeout = Duration::from_secs_f64(args.storage_timeout);
    opts.external_workers = args.workers == WorkersArg::External;
    // the flags obey the scenario's bounds
    for (flag, x, range) in [
        ("--population", args.population, limits::POPULATION),
        ("--generations", args.generations, limits::GENERATIONS),
        ("--final-epochs", args.final_epochs, limits::EPOCHS),
    ] {
        if let Some(x) = x {
            limits::check_count(flag, x, range).map_err(anyhow::Error::msg)?;
        }
    }
    if let Some(g) = args.generations {
        opts.generations = g;
    }
    if let Some(e) = args.final_epochs {
        opts.final_epochs = e;
    }
    if let Some(p) = args.population {
        opts.population = p;
        opts.archive = p;
    }
    if let Some(a) = args.algorithm {
        opts.algorithm = a;
    }
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("cannot start the worker threads")?;
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        // A second handler cannot be installed (e.g. in tests); Ctrl-C then kills.
        // SIGINT, SIGTERM and SIGHUP: the first stops after the current generation's
        // checkpoint (or at the next epoch of the final training); a second one exits
        // at once (every file is written atomically, so none is left half-written).
        let _ = ctrlc::set_handler(move || {
            if stop.swap(true, Ordering::SeqCst) {
                eprintln!("\nstopped (second signal); resume with --resume");
                std::process::exit(130);
            }
            eprintln!(
                "\nstopping after the current generation's checkpoint, or at the next epoch \
                 of the final training (a second Ctrl-C exits now)..."
            );
        });
    }
    let pb =
        ProgressBar::with_draw_target(Some(opts.generations as u64), ProgressDrawTarget::stderr());
    pb.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] gen {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb.set_message(format!(
        "{} {}: evaluating the initial population",
        s.name, opts.algorithm
    ));
    let plain = !std::io::stderr().is_terminal();
    let mut last_line: Option<Instant> = None;
    let outcome = pool.install(|| {
        run_search(
            &loaded,
            &opts,
            &mut |p| {
                let best: Vec<String> = p
                    .best
                    .iter()
                    .filter(|(_, v)| v.is_finite())
                    .map(|(n, v)| format!("{n} {v:.4}"))
                    .collect();
                pb.set_position(p.generation as u64 + 1);
                let hv = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.4}"));
                let line = format!(
                    "{} evals, front {}, HV best-so-far {} (archive {}){}{}",
                    p.evaluations,
                    p.front,
                    hv(p.hv),
                    hv(p.archive_hv),
                    if best.is_empty() { "" } else { " | best: " },
                    best.join(", ")
                );
                // off a terminal (CI logs, nohup) the bar is hidden: one plain line per
                // generation instead, at most every 2 s, and always the last one
                let last = p.generation + 1 >= p.generations;
                if plain && (last || last_line.is_none_or(|t| t.elapsed().as_secs_f64() >= 2.0)) {
                    eprintln!("gen {}/{}: {line}", p.generation + 1, p.generations);
                    last_line = Some(Instant::now());
                }
                pb.set_message(line);
            },
            stop.clone(),
        )
    })?;
    pb.finish_and_clear();
    if outcome.weights_retrained > 0 {
        eprintln!(
            "note: {} trained candidate(s) had missing or damaged weights in {}; trained \
             them again with their original seeds and parents (the front is unchanged)",
            outcome.weights_retrained,
            out.join(".weights").display()
        );
    }
    let elapsed = start.elapsed().as_secs_f64();
    let info = RunInfo {
        out_dir: out.display().to_string(),
        scenario_file: args.scenario.as_ref().map(|p| p.display().to_string()),
        elapsed_s: elapsed,
        threads,
        cache_hits: outcome.cache_hits,
        interrupted: outcome.stopped,
    };
    let mut run = report::run_from_outcome(&outcome, Some(info));
    run.finalise(&report::ExactIndicators);
    report::write_run(&out, &run)?;
    report::write_candidates(&out, &outcome)?;
    let r = &run.results;
    if args.json {
        println!("{}", r.to_json_value(&out.display().to_string(), elapsed));
    } else {
        let feasible = r.front.iter().filter(|m| m.feasible).count();
        println!(
            "{}: {} generations, {} evaluations in {:.1} s on {threads} thread(s){}",
            r.scenario,
            r.generations,
            r.evaluations,
            elapsed,
            if outcome.stopped {
                " (stopped; --resume continues)"
            } else {
                ""
            }
        );
        println!(
            "front: {} candidates ({feasible} feasible), hypervolume {:.4}",
            r.front.len(),
            r.hypervolume
        );
        let mut head = vec!["id".to_string()];
        head.extend(r.objective_names.iter().cloned());
        head.extend(["map".to_string(), "test acc".to_string()]);
        println!("{}", head.join("\t"));
        for m in &r.front {
            let mut row = vec![m.id.clone()];
            row.extend(
                m.values(&r.objective_names)
                    .iter()
                    .map(|&v| report::significant(v, 6)),
            );
            row.push(m.placement_label(">"));
            row.push(
                m.test_accuracy
                    .map(|a| format!("{a:.3}"))
                    .unwrap_or("-".into()),
            );
            println!("{}", row.join("\t"));
        }
        println!(
            "outputs in {} (report.html, report.md, front.csv, plots/)",
            out.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
