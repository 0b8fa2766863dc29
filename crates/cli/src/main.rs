//! The `ferrocodex` binary: parses the command line and hands each command to its module in
//! `cmd/`. Usage errors exit with status 2 (clap's), failures with status 1.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod runtime;

mod cmd {
    pub mod bench;
    pub mod complete;
    pub mod eval;
    pub mod generate;
    pub mod info;
    pub mod pull;
    pub mod keys;
    pub mod review;
    pub mod serve;
}

/// ferrocodex: a self-hosted Codex. Writes, completes and reviews code with a local model.
#[derive(Parser, Debug)]
#[command(name = "ferrocodex", version, propagate_version = true)]
struct Cli {
    #[command(flatten)]
    global: GlobalOpts,
    #[command(subcommand)]
    command: Command,
}

/// Options every command accepts.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct GlobalOpts {
    /// GGUF model file to run [default: the default model, fetched into the cache on first use]
    #[arg(long, global = true, env = "FERROCODEX_MODEL", value_name = "PATH")]
    pub model: Option<PathBuf>,
    /// Worker threads [default: one per core]
    #[arg(long, global = true, value_name = "N", value_parser = parse_threads)]
    pub threads: Option<usize>,
}

fn parse_threads(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!(
            "{s:?} is not a number of threads; give a whole number of at least 1"
        )),
    }
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Continue a prompt with the model, streaming the text (greedy by default)
    Complete(cmd::complete::CompleteArgs),
    /// Turn a request in plain English into code and print just the code
    Generate(cmd::generate::GenerateArgs),
    /// Measure prefill and decode speed, warm load time and peak memory
    Bench(cmd::bench::BenchArgs),
    /// Fetch the default model into the cache and verify it (done automatically on first use)
    Pull(cmd::pull::PullArgs),
    /// Describe a model file: architecture, sizes, quantization, tokenizer
    Info(cmd::info::InfoArgs),
    /// Review Python files for bugs: wrong calls, type mismatches, unbound names (exit 1 on findings)
    Review(cmd::review::ReviewArgs),
    /// Serve the OpenAI-compatible API (completions, chat, models, metrics) over HTTP
    Serve(cmd::serve::ServeArgs),
    /// Create, list and revoke the API keys of `serve`, with their usage
    Keys(cmd::keys::KeysArgs),
    /// HumanEval: generate samples, run them in a sandbox, report pass@k (or score a samples file)
    Eval(cmd::eval::EvalArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let result = match cli.command {
        Command::Complete(args) => cmd::complete::run(args, &cli.global),
        Command::Generate(args) => cmd::generate::run(args, &cli.global),
        Command::Bench(args) => cmd::bench::run(args, &cli.global),
        Command::Pull(args) => cmd::pull::run(args, &cli.global),
        Command::Info(args) => cmd::info::run(args, &cli.global),
        Command::Review(args) => cmd::review::run(args, &cli.global),
        Command::Serve(args) => cmd::serve::run(args, &cli.global),
        Command::Keys(args) => cmd::keys::run(args, &cli.global),
        Command::Eval(args) => cmd::eval::run(args, &cli.global),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr; `RUST_LOG` chooses how much (warnings by default).
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
