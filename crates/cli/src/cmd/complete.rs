//! `ferrocodex complete`: stream the model's continuation of a prompt.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use ferrocodex_generate::{generate, GenerateRequest, SamplingParams};

use crate::runtime::load_model;
use crate::GlobalOpts;

#[derive(clap::Args, Debug)]
pub struct CompleteArgs {
    /// The prompt text; `-` reads it from standard input.
    pub prompt: Option<String>,
    /// Read the prompt from this file.
    #[arg(short = 'f', long = "file", conflicts_with = "prompt")]
    pub file: Option<PathBuf>,
    /// Most tokens to generate.
    #[arg(long, default_value_t = 128)]
    pub max_tokens: usize,
    /// Sampling temperature; 0 is greedy.
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f32,
    /// Nucleus sampling: keep the most likely tokens up to this total probability.
    #[arg(long, default_value_t = 1.0)]
    pub top_p: f32,
    /// Keep only the k most likely tokens (0 = off).
    #[arg(long, default_value_t = 0)]
    pub top_k: usize,
    /// Random seed; the same seed gives the same output.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Stop when the output reaches this text (repeatable, up to 4); it is not printed.
    #[arg(long)]
    pub stop: Vec<String>,
    /// Print only the continuation, not the prompt before it.
    #[arg(long)]
    pub no_prompt: bool,
}

pub fn read_prompt(prompt: Option<&str>, file: Option<&PathBuf>) -> anyhow::Result<String> {
    match (prompt, file) {
        (_, Some(f)) => std::fs::read_to_string(f).with_context(|| format!("cannot read the prompt file {}", f.display())),
        (Some("-"), None) => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .context("cannot read the prompt from standard input")?;
            Ok(s)
        }
        (Some(p), None) => Ok(p.to_string()),
        (None, None) => bail!("give a prompt: `ferrocodex complete \"def fibonacci(n):\"`, `-f FILE`, or `-` for standard input"),
    }
}

pub fn run(args: CompleteArgs, global: &GlobalOpts) -> anyhow::Result<()> {
    let prompt = read_prompt(args.prompt.as_deref(), args.file.as_ref())?;
    if prompt.is_empty() {
        bail!("the prompt is empty");
    }
    let model = load_model(global.model.as_deref(), global.threads)?;
    let ids = model.tokenizer().encode(&prompt, model.tokenizer().add_bos())?;
    let req = GenerateRequest {
        prompt: ids,
        max_tokens: args.max_tokens,
        sampling: SamplingParams {
            temperature: args.temperature,
            top_p: args.top_p,
            top_k: args.top_k,
            seed: args.seed,
        },
        stop: args.stop.clone(),
    };
    let mut out = std::io::stdout().lock();
    if !args.no_prompt {
        write!(out, "{prompt}")?;
        out.flush()?;
    }
    let t0 = Instant::now();
    let done = generate(&model, &req, &mut |text| {
        // A closed pipe (e.g. `| head`) ends generation quietly.
        write!(out, "{text}").and_then(|_| out.flush()).is_ok()
    })?;
    let secs = t0.elapsed().as_secs_f64();
    writeln!(out)?;
    if std::io::stderr().is_terminal() || std::env::var_os("FERROCODEX_STATS").is_some() {
        eprintln!(
            "[{} prompt tokens, {} generated in {:.2} s ({:.1} tokens/s), finish: {}]",
            done.prompt_tokens,
            done.tokens.len(),
            secs,
            done.tokens.len() as f64 / secs.max(1e-9),
            done.finish_reason.as_str()
        );
    }
    Ok(())
}
