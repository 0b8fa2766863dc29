//! `ferrocodex bench`: prefill and decode speed, load time and peak memory of the model.

use std::time::Instant;

use anyhow::Context;
use ferrocodex_engine::{LoadOptions, LogitsFor, Model, SeqInput};
use ferrocodex_generate::{beam_search, complete, BeamParams, CompletionRequest, Prompt, SamplingParams};
use serde::Serialize;

use crate::runtime::peak_rss_bytes;
use crate::GlobalOpts;

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Prompt tokens processed in one prefill (pp).
    #[arg(long, default_value_t = 512)]
    pub prefill_tokens: usize,
    /// Tokens decoded one at a time (tg).
    #[arg(long, default_value_t = 128)]
    pub decode_tokens: usize,
    /// Tokens already in the context before decoding starts (decode at depth).
    #[arg(long, default_value_t = 8)]
    pub depth: usize,
    /// Also measure the Codex workload: this many samples of `decode-tokens` tokens each from
    /// one prompt of `sample-prompt-tokens` (prefilled once), decoded as one batch, next to a
    /// single sample decoded alone (0 = skip).
    #[arg(long, default_value_t = 0)]
    pub samples: usize,
    /// Prompt length of the sampling workload.
    #[arg(long, default_value_t = 150)]
    pub sample_prompt_tokens: usize,
    /// Also measure beam search with this many beams over `decode-tokens` tokens (0 = skip).
    #[arg(long, default_value_t = 0)]
    pub beams: usize,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct Report {
    model: String,
    threads: usize,
    /// The dot-product kernels this CPU runs (`ferrocodex_engine::kernel_isa`).
    kernels: &'static str,
    prefill_tokens: usize,
    prefill_tokens_per_s: f64,
    decode_tokens: usize,
    decode_depth: usize,
    decode_tokens_per_s: f64,
    load_s: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    sampling: Option<SamplingReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    beam: Option<BeamReport>,
    peak_rss_bytes: u64,
}

#[derive(Serialize)]
struct SamplingReport {
    samples: usize,
    prompt_tokens: usize,
    tokens_per_sample: usize,
    /// One request of `samples` samples, prefill included: all tokens / wall time.
    aggregate_tokens_per_s: f64,
    /// The same request with one sample.
    single_tokens_per_s: f64,
    speedup: f64,
}

#[derive(Serialize)]
struct BeamReport {
    beams: usize,
    tokens: usize,
    seconds: f64,
    /// Tokens of the best hypothesis per second.
    tokens_per_s: f64,
}

/// One sampling request (temperature 0.8, top_p 0.95, end-of-generation banned so every
/// sample runs its full length); returns (tokens generated, seconds).
fn sampling_run(model: &Model, prompt: &[u32], n: usize, tokens: usize) -> anyhow::Result<(usize, f64)> {
    let tok = model.tokenizer();
    let ban: Vec<(u32, f32)> = (0..model.config().vocab_size as u32)
        .filter(|&t| tok.is_eog(t))
        .map(|t| (t, -100.0))
        .collect();
    let req = CompletionRequest {
        max_tokens: tokens,
        n,
        sampling: SamplingParams {
            temperature: 0.8,
            top_p: 0.95,
            seed: Some(1),
            logit_bias: ban,
            ..Default::default()
        },
        ..CompletionRequest::new(Prompt::Tokens(prompt.to_vec()))
    };
    let t0 = Instant::now();
    let done = complete(model, &req, &mut |_| true)?;
    Ok((done.usage.completion_tokens, t0.elapsed().as_secs_f64()))
}

/// Deterministic token ids for benchmarking: a code text tokenized and repeated to length.
fn bench_tokens(model: &Model, n: usize) -> anyhow::Result<Vec<u32>> {
    let text = "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n\n";
    let tok = model.tokenizer();
    let mut ids = tok.encode(text, tok.add_bos())?;
    let body = tok.encode(text, false)?;
    while ids.len() < n {
        ids.extend_from_slice(&body);
    }
    ids.truncate(n);
    Ok(ids)
}

pub fn run(args: BenchArgs, global: &GlobalOpts) -> anyhow::Result<()> {
    let path = ferrocodex_models::resolve_model(global.model.as_deref())?;
    let opts = LoadOptions { threads: global.threads };
    // The first load warms the page cache; the second is the warm load time reported.
    drop(Model::load(&path, &opts).with_context(|| format!("cannot load {}", path.display()))?);
    let t0 = Instant::now();
    let model = Model::load(&path, &opts)?;
    let load_s = t0.elapsed().as_secs_f64();

    // Prefill: one sequence of `prefill_tokens` tokens, logits for the last.
    let ids = bench_tokens(&model, args.prefill_tokens.max(args.depth).max(1))?;
    let mut cache = model.new_cache(args.prefill_tokens.max(args.depth + args.decode_tokens) + 1);
    let seq = cache.new_seq();
    let t0 = Instant::now();
    model.forward(&mut cache, &[SeqInput { seq, tokens: &ids[..args.prefill_tokens], logits: LogitsFor::Last }])?;
    let prefill_s = t0.elapsed().as_secs_f64();
    cache.free(seq);

    // Decode: `depth` tokens of context, then greedy steps one token at a time.
    let seq = cache.new_seq();
    let logits = model.forward(&mut cache, &[SeqInput { seq, tokens: &ids[..args.depth.max(1)], logits: LogitsFor::Last }])?;
    let mut next = ferrocodex_generate::argmax(logits.row(0));
    let t0 = Instant::now();
    for _ in 0..args.decode_tokens {
        let l = model.forward(&mut cache, &[SeqInput { seq, tokens: &[next], logits: LogitsFor::Last }])?;
        next = ferrocodex_generate::argmax(l.row(0));
    }
    let decode_s = t0.elapsed().as_secs_f64();

    let sampling = if args.samples > 0 {
        let prompt = bench_tokens(&model, args.sample_prompt_tokens.max(1))?;
        let (one, one_s) = sampling_run(&model, &prompt, 1, args.decode_tokens)?;
        let (all, all_s) = sampling_run(&model, &prompt, args.samples, args.decode_tokens)?;
        let single = one as f64 / one_s;
        let aggregate = all as f64 / all_s;
        Some(SamplingReport {
            samples: args.samples,
            prompt_tokens: prompt.len(),
            tokens_per_sample: args.decode_tokens,
            aggregate_tokens_per_s: aggregate,
            single_tokens_per_s: single,
            speedup: aggregate / single,
        })
    } else {
        None
    };
    let beam = if args.beams > 0 {
        let prompt = bench_tokens(&model, args.sample_prompt_tokens.max(1))?;
        let params = BeamParams {
            num_beams: args.beams,
            max_tokens: args.decode_tokens,
            ..Default::default()
        };
        let t0 = Instant::now();
        let hyps = beam_search(&model, &prompt, &params)?;
        let secs = t0.elapsed().as_secs_f64();
        let tokens = hyps.first().map_or(0, |h| h.tokens.len());
        Some(BeamReport {
            beams: args.beams,
            tokens,
            seconds: secs,
            tokens_per_s: tokens as f64 / secs,
        })
    } else {
        None
    };

    let report = Report {
        model: path.display().to_string(),
        threads: model.threads(),
        kernels: ferrocodex_engine::kernel_isa(),
        prefill_tokens: args.prefill_tokens,
        prefill_tokens_per_s: args.prefill_tokens as f64 / prefill_s,
        decode_tokens: args.decode_tokens,
        decode_depth: args.depth.max(1),
        decode_tokens_per_s: args.decode_tokens as f64 / decode_s,
        load_s,
        sampling,
        beam,
        peak_rss_bytes: peak_rss_bytes().unwrap_or(0),
    };
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("model            {}", report.model);
        println!("threads          {}", report.threads);
        println!("kernels          {}", report.kernels);
        println!("prefill          {:.1} tokens/s ({} tokens)", report.prefill_tokens_per_s, report.prefill_tokens);
        println!("decode           {:.1} tokens/s ({} tokens at depth {})", report.decode_tokens_per_s, report.decode_tokens, report.decode_depth);
        println!("warm load        {:.3} s", report.load_s);
        if let Some(s) = &report.sampling {
            println!(
                "sampling         {:.1} tokens/s aggregate for n = {} × {} tokens from a {}-token prompt; one sample alone {:.1} tokens/s ({:.2}×)",
                s.aggregate_tokens_per_s, s.samples, s.tokens_per_sample, s.prompt_tokens, s.single_tokens_per_s, s.speedup
            );
        }
        if let Some(b) = &report.beam {
            println!("beam search      {} beams: {} tokens in {:.2} s ({:.1} tokens/s of output)", b.beams, b.tokens, b.seconds, b.tokens_per_s);
        }
        println!("peak RSS         {:.1} MB", report.peak_rss_bytes as f64 / 1e6);
    }
    Ok(())
}
