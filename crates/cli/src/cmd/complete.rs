//! `ferrocodex complete`: stream the model's continuation of a prompt.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use ferrocodex_generate::api::completion_json;
use ferrocodex_generate::{
    beam_search, complete, BeamParams, CompletionRequest, Event, Prompt, SamplingParams,
};

use crate::runtime::load_model;
use crate::GlobalOpts;

#[derive(clap::Args, Debug)]
pub struct CompleteArgs {
    /// The prompt text; `-` reads it from standard input.
    pub prompt: Option<String>,
    /// Read the prompt from this file.
    #[arg(short = 'f', long = "file", conflicts_with = "prompt")]
    pub file: Option<PathBuf>,
    /// Most tokens to generate per choice.
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
    /// Keep only tokens at least this fraction as likely as the most likely one (0 = off).
    #[arg(long, default_value_t = 0.0)]
    pub min_p: f32,
    /// Penalise tokens already generated, once each (−2..2).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub presence_penalty: f32,
    /// Penalise tokens already generated, per occurrence (−2..2).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub frequency_penalty: f32,
    /// Divide the logits of recently seen tokens by this (1 = off).
    #[arg(long, default_value_t = 1.0)]
    pub repetition_penalty: f32,
    /// Add a bias to a token's logit: `ID=BIAS`, BIAS in −100..100 (repeatable).
    #[arg(long, value_name = "ID=BIAS", value_parser = parse_bias, allow_negative_numbers = true)]
    pub logit_bias: Vec<(u32, f32)>,
    /// Random seed; the same seed gives the same output.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Stop when the output reaches this text (repeatable, up to 4); it is not printed.
    #[arg(long)]
    pub stop: Vec<String>,
    /// Number of choices to return.
    #[arg(long, default_value_t = 1)]
    pub n: usize,
    /// Draw this many samples and return the n with the highest mean token log-probability.
    #[arg(long)]
    pub best_of: Option<usize>,
    /// Beam search with this many beams (instead of sampling); returns the n best beams.
    #[arg(long, conflicts_with_all = ["best_of", "suffix", "echo"])]
    pub beams: Option<usize>,
    /// Beam search: exponent of the length normalisation.
    #[arg(long, default_value_t = 1.0, requires = "beams")]
    pub length_penalty: f32,
    /// Report each token's log-probability and this many alternatives (0..5).
    #[arg(long)]
    pub logprobs: Option<usize>,
    /// Include the prompt (and its log-probabilities) in the result.
    #[arg(long)]
    pub echo: bool,
    /// Insert mode: the code that follows the completion.
    #[arg(long)]
    pub suffix: Option<String>,
    /// Print the API's response object (JSON) instead of the text.
    #[arg(long)]
    pub json: bool,
    /// Print only the continuation, not the prompt before it.
    #[arg(long)]
    pub no_prompt: bool,
}

fn parse_bias(s: &str) -> Result<(u32, f32), String> {
    let (id, bias) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?} is not ID=BIAS, e.g. --logit-bias 50256=-100"))?;
    let id = id.trim().parse::<u32>().map_err(|_| format!("{id:?} in {s:?} is not a token id"))?;
    let bias = bias.trim().parse::<f32>().map_err(|_| format!("{bias:?} in {s:?} is not a number"))?;
    Ok((id, bias))
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
    if prompt.is_empty() && args.suffix.is_none() {
        bail!("the prompt is empty");
    }
    let model = load_model(global.model.as_deref(), global.threads)?;
    let req = CompletionRequest {
        suffix: args.suffix.clone(),
        max_tokens: args.max_tokens,
        sampling: SamplingParams {
            temperature: args.temperature,
            top_p: args.top_p,
            top_k: args.top_k,
            min_p: args.min_p,
            presence_penalty: args.presence_penalty,
            frequency_penalty: args.frequency_penalty,
            repetition_penalty: args.repetition_penalty,
            logit_bias: args.logit_bias.clone(),
            seed: args.seed,
        },
        n: args.n,
        best_of: args.best_of,
        logprobs: args.logprobs,
        echo: args.echo,
        stop: args.stop.clone(),
        ..CompletionRequest::new(Prompt::Text(prompt.clone()))
    };
    let model_name = global
        .model
        .as_ref()
        .and_then(|p| p.file_stem())
        .map_or_else(|| "gemma-3-270m".to_string(), |s| s.to_string_lossy().into_owned());
    let mut out = std::io::stdout().lock();
    let t0 = Instant::now();

    if let Some(beams) = args.beams {
        let ids = model.tokenizer().encode(&prompt, model.tokenizer().add_bos())?;
        let params = BeamParams {
            num_beams: beams,
            n: args.n,
            max_tokens: args.max_tokens,
            length_penalty: args.length_penalty,
            early_stopping: false,
            stop: args.stop.clone(),
        };
        let hyps = beam_search(&model, &ids, &params)?;
        if args.json {
            let choices: Vec<serde_json::Value> = hyps
                .iter()
                .enumerate()
                .map(|(i, h)| {
                    serde_json::json!({"text": h.text, "index": i, "logprobs": null,
                        "finish_reason": h.finish_reason.as_str(), "score": h.score, "sum_logprob": h.logprob})
                })
                .collect();
            let v = serde_json::json!({
                "object": "text_completion", "model": model_name, "choices": choices,
                "usage": {"prompt_tokens": ids.len(), "completion_tokens": hyps.iter().map(|h| h.tokens.len()).sum::<usize>()},
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
            return Ok(());
        }
        for (i, h) in hyps.iter().enumerate() {
            if hyps.len() > 1 {
                writeln!(out, "--- beam {i} (score {:.4}, {}) ---", h.score, h.finish_reason.as_str())?;
            }
            if !args.no_prompt {
                write!(out, "{prompt}")?;
            }
            writeln!(out, "{}", h.text)?;
        }
        return Ok(());
    }

    // One choice in text mode streams; everything else prints when done.
    let stream = !args.json && req.samples() == 1;
    if stream && !args.no_prompt && !args.echo {
        write!(out, "{prompt}")?;
        out.flush()?;
    }
    let done = complete(&model, &req, &mut |ev| match ev {
        // A closed pipe (e.g. `| head`) ends generation quietly.
        Event::Delta { text, .. } if stream => write!(out, "{text}").and_then(|_| out.flush()).is_ok(),
        _ => true,
    });
    let done = match done {
        Err(ferrocodex_generate::GenerateError::Cancelled) => return Ok(()),
        other => other?,
    };
    let secs = t0.elapsed().as_secs_f64();
    if args.json {
        let created = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let v = completion_json(&done, &format!("cmpl-{created}"), &model_name, created);
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
    } else if stream {
        writeln!(out)?;
    } else {
        for c in &done.choices {
            writeln!(
                out,
                "--- choice {} (mean logprob {:.4}, {}) ---",
                c.index,
                c.mean_logprob,
                c.finish_reason.as_str()
            )?;
            if !args.no_prompt && !args.echo {
                write!(out, "{prompt}")?;
            }
            writeln!(out, "{}", c.text)?;
        }
    }
    if !args.json {
        for c in &done.choices {
            if let Some(lp) = &c.logprobs {
                writeln!(out, "--- logprobs of choice {} ---", c.index)?;
                for i in 0..lp.len() {
                    let alts = lp.top_logprobs[i].as_ref().map_or(String::new(), |a| {
                        a.iter().map(|(t, v)| format!("{t:?} {v:.3}")).collect::<Vec<_>>().join(", ")
                    });
                    let v = lp.token_logprobs[i].map_or("     -".to_string(), |v| format!("{v:7.3}"));
                    writeln!(out, "{:5} {:>7} {:<16} {}", lp.text_offset[i], v, format!("{:?}", lp.tokens[i]), alts)?;
                }
            }
        }
    }
    if std::io::stderr().is_terminal() || std::env::var_os("FERROCODEX_STATS").is_some() {
        eprintln!(
            "[{} prompt tokens, {} generated in {:.2} s ({:.1} tokens/s), finish: {}]",
            done.usage.prompt_tokens,
            done.usage.completion_tokens,
            secs,
            done.usage.completion_tokens as f64 / secs.max(1e-9),
            done.choices.iter().map(|c| c.finish_reason.as_str()).collect::<Vec<_>>().join(", ")
        );
    }
    Ok(())
}
