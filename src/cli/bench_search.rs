//! `distrinas bench-search`: run an algorithm on a standard test problem over several
//! seeds; per seed: hypervolume, IGD and milliseconds per generation.

use anyhow::{anyhow, bail};
use clap::Args;
use distrinas::search::algorithms::spea2::Spea2;
use distrinas::search::indicators::{hypervolume, igd};
use distrinas::search::problems::TestProblem;
use distrinas::search::{Algorithm, RunConfig, Runner};
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct BenchSearchArgs {
    /// Problem: zdt1..4, zdt6, dtlz1..7, bnh, tnk.
    #[arg(long, default_value = "zdt1")]
    pub problem: String,
    /// Algorithm.
    #[arg(long, value_enum, ignore_case = true, default_value_t = Algorithm::Spea2)]
    pub algorithm: Algorithm,
    /// Offspring per generation.
    #[arg(long, default_value_t = 100)]
    pub pop: usize,
    /// Archive size (default: = pop).
    #[arg(long)]
    pub archive: Option<usize>,
    /// Generations.
    #[arg(long, default_value_t = 250)]
    pub generations: u64,
    /// Number of seeds (1..=seeds).
    #[arg(long, default_value_t = 5)]
    pub seeds: u64,
    /// Variables (default per problem: ZDT1-3 30, ZDT4/6 10, DTLZ M+k-1).
    #[arg(long)]
    pub vars: Option<usize>,
    /// Objectives for DTLZ (default 3).
    #[arg(long)]
    pub objectives: Option<usize>,
    /// Reference point value in every objective.
    #[arg(long, default_value_t = 1.1)]
    pub ref_value: f64,
    /// Keep duplicate offspring (default: eliminated and bred again, as pymoo does).
    #[arg(long)]
    pub keep_duplicates: bool,
    /// Maintain the best-so-far set every generation (costs time; off by default, the
    /// scores use the final archive).
    #[arg(long)]
    pub track_best: bool,
    /// SPEA2 with the paper's mating only (no boundary preference in tournaments).
    #[arg(long)]
    pub paper_mating: bool,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: BenchSearchArgs) -> anyhow::Result<ExitCode> {
    let problem = TestProblem::by_name(&a.problem, a.vars, a.objectives).ok_or_else(|| {
        anyhow!(
            "unknown problem {:?} (expected one of {})",
            a.problem,
            TestProblem::NAMES.join(", ")
        )
    })?;
    let alg = a.algorithm;
    if a.seeds == 0 {
        bail!("--seeds must be ≥ 1");
    }
    let m = problem.objectives;
    let reference = vec![a.ref_value; m];
    let truth = problem.true_front(1000);
    let mut rows = Vec::new();
    for seed in 1..=a.seeds {
        let cfg = RunConfig {
            seed,
            population: a.pop,
            archive: a.archive.unwrap_or(a.pop),
            generations: a.generations,
            cache: false,
            ..RunConfig::default()
        };
        let bar = indicatif::ProgressBar::new(a.generations);
        bar.set_style(
            indicatif::ProgressStyle::with_template("seed {msg} [{bar:30}] {pos}/{len}")?
                .progress_chars("=> "),
        );
        bar.set_message(seed.to_string());
        let start = std::time::Instant::now();
        let r = Runner::new(&problem, alg, cfg)
            .eliminate_duplicates(!a.keep_duplicates)
            .track_best_so_far(a.track_best)
            .with_strategy(if a.paper_mating && alg == Algorithm::Spea2 {
                &Spea2::PAPER
            } else {
                alg.strategy()
            })
            .run(&mut |p| bar.set_position(p.record.generation + 1))?;
        let wall = start.elapsed().as_secs_f64();
        bar.finish_and_clear();
        let front: Vec<Vec<f64>> = r
            .archive
            .iter()
            .filter(|i| i.feasible())
            .map(|i| i.objectives.clone())
            .collect();
        let hv = hypervolume(&front, &reference)?;
        let ig = match (&truth, front.is_empty()) {
            (Some(t), false) => Some(igd(&front, t)?),
            _ => None,
        };
        let ms = 1e3 * wall / a.generations as f64;
        let ms_alg = 1e3 * r.algorithm_seconds / a.generations as f64;
        rows.push((seed, hv, ig, ms, ms_alg));
    }
    let mut hvs: Vec<f64> = rows.iter().map(|r| r.1).collect();
    hvs.sort_by(f64::total_cmp);
    let median = hvs[hvs.len() / 2];
    if a.json {
        let per: Vec<_> = rows
            .iter()
            .map(|(s, hv, ig, ms, msa)| {
                serde_json::json!({"seed": s, "hv": hv, "igd": ig, "ms_per_generation": ms,
                                   "algorithm_ms_per_generation": msa})
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({"problem": a.problem, "algorithm": alg.name(), "pop": a.pop,
                "generations": a.generations, "reference": reference, "median_hv": median,
                "seeds": per})
        );
    } else {
        println!(
            "{} on {} (pop {}, {} generations, ref {})",
            alg.name(),
            a.problem,
            a.pop,
            a.generations,
            a.ref_value
        );
        println!("seed  HV            IGD           ms/gen   (selection+variation ms/gen)");
        for (s, hv, ig, ms, msa) in &rows {
            let ig = ig.map_or("-".to_string(), |v| format!("{v:.8}"));
            println!("{s:<5} {hv:.8}  {ig:<12}  {ms:7.3}  ({msa:.3})");
        }
        println!("median HV {median:.8}");
    }
    Ok(ExitCode::SUCCESS)
}
