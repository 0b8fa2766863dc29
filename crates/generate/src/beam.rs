//! Beam search: keeps the `num_beams` most probable partial continuations, extending them all
//! in one batched forward pass per token. Beams that share a prefix share it in the KV cache
//! until they diverge: a beam's first child inherits its slot, later children fork it, and
//! beams without children are freed.
//!
//! Finished hypotheses (an end-of-generation token or a stop string) are scored by their
//! total log-probability divided by `length ^ length_penalty`. With `early_stopping` the
//! search ends as soon as `num_beams` hypotheses are finished; without it, when no live beam
//! can still beat the worst kept hypothesis.

use ferrocodex_engine::{LogitsFor, Model, SeqId, SeqInput};

use crate::batch::{log_sum_exp, top_logits};
use crate::{FinishReason, GenerateError, MAX_STOPS};

#[derive(Clone, Debug)]
pub struct BeamParams {
    pub num_beams: usize,
    /// Hypotheses returned (≤ num_beams).
    pub n: usize,
    pub max_tokens: usize,
    /// Exponent of the length normalisation (1 = mean log-probability per token; 0 = none).
    pub length_penalty: f32,
    pub early_stopping: bool,
    pub stop: Vec<String>,
}

impl Default for BeamParams {
    fn default() -> Self {
        BeamParams {
            num_beams: 4,
            n: 1,
            max_tokens: 128,
            length_penalty: 1.0,
            early_stopping: false,
            stop: Vec::new(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct BeamResult {
    pub tokens: Vec<u32>,
    /// The text, cut before a stop string.
    pub text: String,
    /// Sum of the tokens' log-probabilities.
    pub logprob: f64,
    /// `logprob / len ^ length_penalty`, the ranking key.
    pub score: f64,
    pub finish_reason: FinishReason,
}

struct Beam {
    seq: SeqId,
    tokens: Vec<u32>,
    logprob: f64,
}

/// Beam search from `prompt` (token ids); the best hypotheses first.
pub fn beam_search(model: &Model, prompt: &[u32], p: &BeamParams) -> Result<Vec<BeamResult>, GenerateError> {
    let invalid = |param, message: String| Err(GenerateError::Invalid { param, message });
    if p.num_beams == 0 || p.num_beams > 64 {
        return invalid("num_beams", format!("must be between 1 and 64, got {}", p.num_beams));
    }
    if p.n == 0 || p.n > p.num_beams {
        return invalid("n", format!("must be between 1 and num_beams ({}), got {}", p.num_beams, p.n));
    }
    if p.max_tokens == 0 {
        return invalid("max_tokens", "must be at least 1".into());
    }
    if !p.length_penalty.is_finite() {
        return invalid("length_penalty", format!("must be a finite number, got {}", p.length_penalty));
    }
    if p.stop.len() > MAX_STOPS {
        return invalid("stop", format!("at most {MAX_STOPS} stop sequences are allowed, got {}", p.stop.len()));
    }
    if prompt.is_empty() {
        return invalid("prompt", "the prompt is empty".into());
    }
    crate::request::check_context(model, prompt.len(), p.max_tokens)?;
    let tok = model.tokenizer();
    let score = |logprob: f64, len: usize| logprob / (len.max(1) as f64).powf(p.length_penalty as f64);
    let stop_at = |tokens: &[u32]| -> Option<String> {
        let text = tok.decode(tokens);
        p.stop
            .iter()
            .filter(|s| !s.is_empty())
            .filter_map(|s| text.find(s.as_str()))
            .min()
            .map(|at| text[..at].to_string())
    };

    let mut cache = model.new_cache(prompt.len() + p.max_tokens);
    let seq0 = cache.new_seq();
    let logits = model.forward(
        &mut cache,
        &[SeqInput {
            seq: seq0,
            tokens: prompt,
            logits: LogitsFor::Last,
        }],
    )?;
    let mut rows: Vec<Vec<f32>> = vec![logits.row(0).to_vec()];
    let mut beams = vec![Beam {
        seq: seq0,
        tokens: Vec::new(),
        logprob: 0.0,
    }];
    let mut finished: Vec<BeamResult> = Vec::new();
    let worst_kept = |f: &Vec<BeamResult>| -> f64 {
        if f.len() < p.num_beams {
            f64::NEG_INFINITY
        } else {
            f.iter().map(|h| h.score).fold(f64::INFINITY, f64::min)
        }
    };
    let keep_best = |f: &mut Vec<BeamResult>| {
        f.sort_by(|a, b| b.score.total_cmp(&a.score));
        f.truncate(p.num_beams);
    };

    loop {
        // Every beam's 2·num_beams best continuations, ranked together.
        let width = 2 * p.num_beams;
        let mut cand: Vec<(usize, u32, f64)> = Vec::new();
        for (bi, (b, row)) in beams.iter().zip(&rows).enumerate() {
            let lse = log_sum_exp(row);
            cand.extend(
                top_logits(row, width)
                    .into_iter()
                    .map(|(t, v)| (bi, t, b.logprob + (v as f64 - lse))),
            );
        }
        cand.sort_by(|a, b| b.2.total_cmp(&a.2));

        let mut next: Vec<(usize, u32, f64)> = Vec::new();
        for (rank, &(bi, t, lp)) in cand.iter().enumerate() {
            let mut tokens = beams[bi].tokens.clone();
            tokens.push(t);
            let ended = if tok.is_eog(t) {
                Some(tok.decode(&tokens[..tokens.len() - 1]))
            } else {
                stop_at(&tokens)
            };
            if let Some(text) = ended {
                // As in the usual formulation, only endings ranked among the first num_beams
                // candidates become hypotheses.
                if rank < p.num_beams {
                    let len = tokens.len();
                    finished.push(BeamResult {
                        tokens,
                        text,
                        logprob: lp,
                        score: score(lp, len),
                        finish_reason: FinishReason::Stop,
                    });
                }
            } else {
                next.push((bi, t, lp));
            }
            if next.len() == p.num_beams {
                break;
            }
        }
        keep_best(&mut finished);
        let cur_len = beams[0].tokens.len() + 1;

        let best_live = next.iter().map(|c| c.2).fold(f64::NEG_INFINITY, f64::max);
        let done = next.is_empty()
            || cur_len >= p.max_tokens
            || (finished.len() >= p.num_beams
                && (p.early_stopping || score(best_live, cur_len) <= worst_kept(&finished)));
        if done {
            if cur_len >= p.max_tokens {
                for &(bi, t, lp) in &next {
                    let mut tokens = beams[bi].tokens.clone();
                    tokens.push(t);
                    let len = tokens.len();
                    finished.push(BeamResult {
                        text: tok.decode(&tokens),
                        tokens,
                        logprob: lp,
                        score: score(lp, len),
                        finish_reason: FinishReason::Length,
                    });
                }
                keep_best(&mut finished);
            }
            for b in &beams {
                cache.free(b.seq);
            }
            finished.truncate(p.n);
            return Ok(finished);
        }

        // Children take their parents' slots: the first inherits it, the others fork it.
        let mut taken = vec![false; beams.len()];
        let mut new_beams = Vec::with_capacity(next.len());
        for &(bi, t, lp) in &next {
            let seq = if taken[bi] {
                cache.fork(beams[bi].seq)?
            } else {
                taken[bi] = true;
                beams[bi].seq
            };
            let mut tokens = beams[bi].tokens.clone();
            tokens.push(t);
            new_beams.push(Beam { seq, tokens, logprob: lp });
        }
        for (b, used) in beams.iter().zip(&taken) {
            if !used {
                cache.free(b.seq);
            }
        }
        beams = new_beams;
        let inputs: Vec<SeqInput> = beams
            .iter()
            .map(|b| SeqInput {
                seq: b.seq,
                tokens: &b.tokens[b.tokens.len() - 1..],
                logits: LogitsFor::Last,
            })
            .collect();
        let logits = model.forward(&mut cache, &inputs)?;
        rows = (0..beams.len()).map(|i| logits.row(i).to_vec()).collect();
    }
}
