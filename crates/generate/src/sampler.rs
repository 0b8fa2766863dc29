//! Choosing the next token from a row of logits.
//!
//! The order of operations is the one OpenAI documents and llama.cpp follows: `logit_bias` is
//! added, then the repetition penalty (CTRL-style, over the last [`REPETITION_WINDOW`] tokens
//! of context) and the presence and frequency penalties (over the tokens generated so far:
//! `logit -= count × frequency_penalty + [count > 0] × presence_penalty`) are applied; then
//! temperature 0 takes the argmax, and any other temperature scales the logits, keeps the
//! `top_k` most likely tokens, the nucleus of mass `top_p`, and the tokens whose probability
//! is at least `min_p` times the most likely one's, and draws from what is left with a seeded
//! generator.

use std::collections::HashMap;

use ferrocodex_engine::ops;
pub use ferrocodex_engine::ops::argmax;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::GenerateError;

/// How many of the most recent context tokens the repetition penalty looks at (llama.cpp's
/// default `penalty_last_n`).
pub const REPETITION_WINDOW: usize = 64;

#[derive(Clone, Debug, PartialEq)]
pub struct SamplingParams {
    /// 0 means greedy (argmax).
    pub temperature: f32,
    /// Nucleus sampling: keep the smallest set of tokens whose probability reaches top_p.
    pub top_p: f32,
    /// Keep only the k most likely tokens (0 = off).
    pub top_k: usize,
    /// Keep only tokens at least this fraction as likely as the most likely one (0 = off).
    pub min_p: f32,
    /// OpenAI's presence penalty (−2..2): subtracted once from every token already generated.
    pub presence_penalty: f32,
    /// OpenAI's frequency penalty (−2..2): subtracted once per earlier occurrence.
    pub frequency_penalty: f32,
    /// CTRL-style repetition penalty (1 = off): recent tokens' positive logits are divided by
    /// it and negative ones multiplied.
    pub repetition_penalty: f32,
    /// Added to the logits of the listed token ids (−100..100; −100 bans a token).
    pub logit_bias: Vec<(u32, f32)>,
    /// Seed of the random generator: the same seed gives the same output.
    pub seed: Option<u64>,
}

impl Default for SamplingParams {
    fn default() -> Self {
        SamplingParams {
            temperature: 0.0,
            top_p: 1.0,
            top_k: 0,
            min_p: 0.0,
            presence_penalty: 0.0,
            frequency_penalty: 0.0,
            repetition_penalty: 1.0,
            logit_bias: Vec::new(),
            seed: None,
        }
    }
}

fn invalid(param: &'static str, message: String) -> GenerateError {
    GenerateError::Invalid { param, message }
}

impl SamplingParams {
    /// Checks every parameter's range; `vocab` (when known) bounds the logit_bias ids.
    pub fn validate(&self, vocab: Option<usize>) -> Result<(), GenerateError> {
        if !(self.temperature >= 0.0) || !self.temperature.is_finite() {
            return Err(invalid("temperature", format!("must be a number ≥ 0, got {}", self.temperature)));
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return Err(invalid("top_p", format!("must be in (0, 1], got {}", self.top_p)));
        }
        if !(0.0..=1.0).contains(&self.min_p) {
            return Err(invalid("min_p", format!("must be in [0, 1], got {}", self.min_p)));
        }
        if !(-2.0..=2.0).contains(&self.presence_penalty) {
            return Err(invalid(
                "presence_penalty",
                format!("must be between -2 and 2, got {}", self.presence_penalty),
            ));
        }
        if !(-2.0..=2.0).contains(&self.frequency_penalty) {
            return Err(invalid(
                "frequency_penalty",
                format!("must be between -2 and 2, got {}", self.frequency_penalty),
            ));
        }
        if !(self.repetition_penalty > 0.0) || !self.repetition_penalty.is_finite() {
            return Err(invalid(
                "repetition_penalty",
                format!("must be a number > 0, got {}", self.repetition_penalty),
            ));
        }
        for &(id, bias) in &self.logit_bias {
            if !(-100.0..=100.0).contains(&bias) {
                return Err(invalid(
                    "logit_bias",
                    format!("the bias of token {id} must be between -100 and 100, got {bias}"),
                ));
            }
            if let Some(v) = vocab {
                if id as usize >= v {
                    return Err(invalid(
                        "logit_bias",
                        format!("token id {id} is outside the model's vocabulary of {v} tokens"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Whether anything changes the logits before the temperature step.
    fn adjusts_logits(&self) -> bool {
        !self.logit_bias.is_empty()
            || self.presence_penalty != 0.0
            || self.frequency_penalty != 0.0
            || self.repetition_penalty != 1.0
    }
}

/// Draws tokens for one sequence. Feed it every token that enters the sequence's context
/// ([`Sampler::observe_context`] for the prompt, [`Sampler::accept`] for generated ones) so
/// the penalties see them.
pub struct Sampler {
    params: SamplingParams,
    rng: StdRng,
    /// Occurrences of each generated token (presence and frequency penalties).
    counts: HashMap<u32, u32>,
    /// The last [`REPETITION_WINDOW`] context tokens (repetition penalty).
    recent: Vec<u32>,
    /// Adjusted logits, reused between calls.
    adjusted: Vec<f32>,
    /// (token, weight) candidates, reused between calls.
    cand: Vec<(u32, f32)>,
}

impl Sampler {
    pub fn new(params: SamplingParams) -> Sampler {
        let rng = match params.seed {
            Some(s) => StdRng::seed_from_u64(s),
            None => StdRng::from_os_rng(),
        };
        Sampler {
            params,
            rng,
            counts: HashMap::new(),
            recent: Vec::new(),
            adjusted: Vec::new(),
            cand: Vec::new(),
        }
    }

    pub fn params(&self) -> &SamplingParams {
        &self.params
    }

    /// Records prompt tokens (they count for the repetition penalty only).
    pub fn observe_context(&mut self, tokens: &[u32]) {
        for &t in tokens {
            self.push_recent(t);
        }
    }

    /// Records a generated token.
    pub fn accept(&mut self, token: u32) {
        *self.counts.entry(token).or_insert(0) += 1;
        self.push_recent(token);
    }

    fn push_recent(&mut self, t: u32) {
        if self.recent.len() == REPETITION_WINDOW {
            self.recent.remove(0);
        }
        self.recent.push(t);
    }

    /// The logits after logit_bias and the penalties (the row itself when none apply).
    pub fn adjust<'a>(&'a mut self, logits: &'a [f32]) -> &'a [f32] {
        if !self.params.adjusts_logits() {
            return logits;
        }
        self.adjusted.clear();
        self.adjusted.extend_from_slice(logits);
        let l = &mut self.adjusted;
        for &(id, bias) in &self.params.logit_bias {
            if let Some(v) = l.get_mut(id as usize) {
                *v += bias;
            }
        }
        let rp = self.params.repetition_penalty;
        if rp != 1.0 {
            let mut seen: Vec<u32> = self.recent.clone();
            seen.sort_unstable();
            seen.dedup();
            for t in seen {
                if let Some(v) = l.get_mut(t as usize) {
                    *v = if *v > 0.0 { *v / rp } else { *v * rp };
                }
            }
        }
        let (pp, fp) = (self.params.presence_penalty, self.params.frequency_penalty);
        if pp != 0.0 || fp != 0.0 {
            for (&t, &c) in &self.counts {
                if let Some(v) = l.get_mut(t as usize) {
                    *v -= c as f32 * fp + pp;
                }
            }
        }
        &self.adjusted
    }

    /// The next token for a row of logits (the caller then calls [`Sampler::accept`]).
    pub fn sample(&mut self, logits: &[f32]) -> u32 {
        let adjusts = self.params.adjusts_logits();
        if adjusts {
            self.adjust(logits);
        }
        let row: &[f32] = if adjusts { &self.adjusted } else { logits };
        if self.params.temperature == 0.0 {
            return argmax(row);
        }
        let p = &self.params;
        let t = p.temperature;
        let max = ops::max_value(row);
        // exp((l - max) / t): the most likely token weighs 1. Tokens weighing less than e⁻⁴⁰
        // are left out: together (even all 262,144 of a large vocabulary) they carry less
        // than 1e-12 of the mass, and skipping them keeps the candidate list short.
        let floor = max - 40.0 * t;
        let truncates = (p.top_k > 0 && p.top_k < row.len()) || p.top_p < 1.0 || p.min_p > 0.0;
        if !truncates {
            return draw_from_all(&mut self.rng, row, max, t, floor);
        }
        // Only the most likely tokens can survive top-k, top-p or min-p. Those within
        // `NEAR` temperature units of the maximum are collected first and kept when they are
        // provably all the draw can use: top-k finds its k among them (every token left out
        // is less likely than every one kept), their mass reaches top_p of the whole row's
        // (summed by the vectorised kernel, without a list), and min-p's threshold lies well
        // inside them. Otherwise every token above the floor is collected.
        let total_all = (p.top_p < 1.0).then(|| ops::exp_sum_above(row, max, t, floor));
        for cut in [max - NEAR * t, floor] {
            let cut = cut.max(floor);
            collect(&mut self.cand, row, max, t, cut);
            if cut == floor {
                break;
            }
            let top_k_inside = p.top_k > 0 && self.cand.len() >= p.top_k;
            let k_ok = p.top_k == 0 || top_k_inside;
            let p_ok = match total_all {
                None => true,
                Some(_) if top_k_inside => true,
                Some(all) => self.cand.iter().map(|c| c.1 as f64).sum::<f64>() >= p.top_p as f64 * all,
            };
            let m_ok = p.min_p <= 0.0 || cut + t < max + t * p.min_p.ln();
            if k_ok && p_ok && m_ok {
                break;
            }
        }
        if p.top_k > 0 && p.top_k < self.cand.len() {
            self.cand
                .select_nth_unstable_by(p.top_k - 1, |a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            self.cand.truncate(p.top_k);
        }
        if p.top_p < 1.0 {
            // The mass top_p is a share of: every candidate's, or, after top-k, the k's.
            let total = match total_all {
                Some(all) if p.top_k == 0 => all,
                _ => self.cand.iter().map(|c| c.1 as f64).sum(),
            };
            nucleus(&mut self.cand, total, p.top_p as f64);
        }
        if p.min_p > 0.0 {
            // The largest remaining weight is 1 (the maximum itself always survives).
            let floor = p.min_p;
            self.cand.retain(|c| c.1 >= floor);
        }
        let total: f64 = self.cand.iter().map(|c| c.1 as f64).sum();
        let mut r = self.rng.random::<f64>() * total;
        for c in &self.cand {
            r -= c.1 as f64;
            if r < 0.0 {
                return c.0;
            }
        }
        self.cand.last().map_or(argmax(row), |c| c.0)
    }
}

/// `cand` ← every token with logit above `cut`, weighted exp((l − max) / t): the logits are
/// gathered first, then their exponentials taken by the vectorised kernel.
fn collect(cand: &mut Vec<(u32, f32)>, row: &[f32], max: f32, t: f32, cut: f32) {
    cand.clear();
    cand.extend(row.iter().enumerate().filter(|&(_, &l)| l > cut).map(|(i, &l)| (i as u32, l)));
    let mut weights = [0f32; CHUNK];
    let mut logits = [0f32; CHUNK];
    for group in cand.chunks_mut(CHUNK) {
        let (logits, weights) = (&mut logits[..group.len()], &mut weights[..group.len()]);
        for (l, c) in logits.iter_mut().zip(group.iter()) {
            *l = c.1;
        }
        ops::exp_scaled(logits, max, t, weights);
        for (c, &w) in group.iter_mut().zip(weights.iter()) {
            c.1 = w;
        }
    }
}

/// How far below the most likely token's logit, in temperature units, the sampler first looks
/// for candidates (weights down to e⁻¹²).
const NEAR: f32 = 12.0;

/// A draw from every token with logit above `floor`, weighted exp((l − max) / t) (no top-k,
/// top-p or min-p), without building the candidate list: the total weight in one pass, then
/// the weights again up to the drawn token.
fn draw_from_all(rng: &mut StdRng, row: &[f32], max: f32, t: f32, floor: f32) -> u32 {
    let total = ops::exp_sum_above(row, max, t, floor);
    let mut r = rng.random::<f64>() * total;
    let mut last = None;
    let mut weights = [0f32; CHUNK];
    for (c, logits) in row.chunks(CHUNK).enumerate() {
        let weights = &mut weights[..logits.len()];
        ops::exp_scaled(logits, max, t, weights);
        for (i, (&l, &w)) in logits.iter().zip(weights.iter()).enumerate() {
            if l > floor {
                let token = (c * CHUNK + i) as u32;
                r -= w as f64;
                if r < 0.0 {
                    return token;
                }
                last = Some(token);
            }
        }
    }
    last.unwrap_or_else(|| argmax(row))
}

/// Logits per chunk when the sampler computes weights (a stack buffer for the vectorised
/// exponential).
const CHUNK: usize = 1024;

/// Keeps the smallest set of most likely candidates whose mass reaches `top_p` of `total`,
/// sorted by weight. Sorts only as much of the list as it needs: first the largest 256, then
/// everything if those do not reach the mass.
fn nucleus(cand: &mut Vec<(u32, f32)>, total: f64, top_p: f64) {
    let by_weight = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    let target = top_p * total;
    let head = 256.min(cand.len());
    if head < cand.len() {
        cand.select_nth_unstable_by(head - 1, by_weight);
    }
    cand[..head].sort_unstable_by(by_weight);
    let keep = |c: &[(u32, f32)]| {
        let mut acc = 0.0;
        for (i, x) in c.iter().enumerate() {
            acc += x.1 as f64;
            if acc >= target {
                return Some(i + 1);
            }
        }
        None
    };
    if let Some(k) = keep(&cand[..head]) {
        cand.truncate(k);
        return;
    }
    cand.sort_unstable_by(by_weight);
    let k = keep(cand).unwrap_or(cand.len());
    cand.truncate(k);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_picks_the_first_maximum() {
        let mut s = Sampler::new(SamplingParams::default());
        assert_eq!(s.sample(&[0.0, 3.0, 1.0, 3.0]), 1);
    }

    #[test]
    fn same_seed_same_tokens() {
        let logits: Vec<f32> = (0..50).map(|i| (i as f32 * 0.37).sin()).collect();
        let p = SamplingParams {
            temperature: 1.0,
            seed: Some(7),
            ..Default::default()
        };
        let a: Vec<u32> = {
            let mut s = Sampler::new(p.clone());
            (0..20).map(|_| s.sample(&logits)).collect()
        };
        let mut s = Sampler::new(p);
        let b: Vec<u32> = (0..20).map(|_| s.sample(&logits)).collect();
        assert_eq!(a, b);
        assert!(a.iter().any(|&t| t != a[0]), "sampling at T=1 should vary");
    }

    #[test]
    fn draws_follow_the_softmax_with_and_without_truncation() {
        // 3000 logits (more than one chunk of the weight kernel) over a spread of 60, so that
        // some fall below the e⁻⁴⁰ floor; the five largest carry most of the mass.
        let mut logits: Vec<f32> = (0..3000).map(|i| -50.0 + 10.0 * ((i as f32) * 0.31).sin()).collect();
        for (k, l) in [(2999usize, 2.0f32), (1500, 1.5), (1025, 1.0), (3, 0.5), (1024, 0.0)] {
            logits[k] = l;
        }
        let t = 0.8f32;
        let max = 2.0f32;
        let weight = |l: f32| (((l - max) / t) as f64).exp();
        let total: f64 = logits.iter().map(|&l| weight(l)).sum();
        // top_p 1 draws from every token; top_p just below 1 goes through the candidate list.
        for top_p in [1.0f32, 0.999_999] {
            let mut s = Sampler::new(SamplingParams {
                temperature: t,
                top_p,
                seed: Some(11),
                ..Default::default()
            });
            let draws = 20_000;
            let mut counts = HashMap::new();
            for _ in 0..draws {
                *counts.entry(s.sample(&logits)).or_insert(0u32) += 1;
            }
            for k in [2999u32, 1500, 1025, 3, 1024] {
                let p = weight(logits[k as usize]) / total;
                let got = *counts.get(&k).unwrap_or(&0) as f64 / draws as f64;
                let sd = (p * (1.0 - p) / draws as f64).sqrt();
                assert!((got - p).abs() < 5.0 * sd + 1e-3, "top_p {top_p}, token {k}: {got} vs {p}");
            }
            assert!(counts.keys().all(|&k| logits[k as usize] > max - 40.0 * t));
        }
    }

    #[test]
    fn a_nucleus_reaching_past_the_near_tokens_collects_them_all() {
        // One token at 0 and 50,000 just below the first collection's cut (12 · t under the
        // maximum): together they carry a fifth of the mass, so top_p 0.9 needs ~25,000 of
        // them and the sampler must look past the near tokens. Token 0 then has probability
        // 1 / 1.125 of the nucleus; had only the near tokens been kept, it would have 1.
        let t = 0.5f32;
        let mut logits = vec![-6.1f32; 50_001];
        logits[0] = 0.0;
        let mut s = Sampler::new(SamplingParams {
            temperature: t,
            top_p: 0.9,
            seed: Some(3),
            ..Default::default()
        });
        let draws = 400;
        let zeros = (0..draws).filter(|_| s.sample(&logits) == 0).count();
        let mass: f64 = 1.0 + 50_000.0 * ((-6.1f64) / t as f64).exp();
        let p0 = 1.0 / (0.9 * mass).max(1.0);
        let got = zeros as f64 / draws as f64;
        assert!((got - p0).abs() < 0.06, "token 0 drawn {got}, expected {p0}");
        // min_p keeps only tokens at least 0.5 as likely as the maximum: just token 0.
        let mut s = Sampler::new(SamplingParams {
            temperature: t,
            min_p: 0.5,
            seed: Some(3),
            ..Default::default()
        });
        assert!((0..50).all(|_| s.sample(&logits) == 0));
        // top_k 3 finds its three among tokens tied just below the cut.
        let mut s = Sampler::new(SamplingParams {
            temperature: t,
            top_k: 3,
            seed: Some(3),
            ..Default::default()
        });
        let mut seen: Vec<u32> = (0..400).map(|_| s.sample(&logits)).collect();
        seen.sort_unstable();
        seen.dedup();
        assert!(seen.iter().all(|&id| id <= 2), "top_k 3 drew {seen:?}");
    }

    #[test]
    fn top_p_keeps_only_the_nucleus() {
        // Probabilities ≈ 0.64, 0.24, 0.09, 0.03: top_p 0.5 keeps only the first.
        let logits = [3.0, 2.0, 1.0, 0.0];
        let mut s = Sampler::new(SamplingParams {
            temperature: 1.0,
            top_p: 0.5,
            seed: Some(1),
            ..Default::default()
        });
        assert!((0..200).all(|_| s.sample(&logits) == 0));
    }

    #[test]
    fn nucleus_beyond_the_sorted_head_sorts_everything() {
        // 1000 equal weights: top_p 0.5 needs 500 of them, more than the first 256.
        let mut cand: Vec<(u32, f32)> = (0..1000).map(|i| (i, 1.0)).collect();
        nucleus(&mut cand, 1000.0, 0.5);
        assert_eq!(cand.len(), 500);
    }

    #[test]
    fn invalid_parameters_are_named() {
        let cases: Vec<(SamplingParams, &str)> = vec![
            (SamplingParams { top_p: 0.0, ..Default::default() }, "top_p"),
            (SamplingParams { top_p: 1.5, ..Default::default() }, "top_p"),
            (SamplingParams { temperature: -1.0, ..Default::default() }, "temperature"),
            (SamplingParams { temperature: f32::NAN, ..Default::default() }, "temperature"),
            (SamplingParams { min_p: 2.0, ..Default::default() }, "min_p"),
            (SamplingParams { presence_penalty: 3.0, ..Default::default() }, "presence_penalty"),
            (SamplingParams { frequency_penalty: -2.5, ..Default::default() }, "frequency_penalty"),
            (SamplingParams { repetition_penalty: 0.0, ..Default::default() }, "repetition_penalty"),
            (SamplingParams { logit_bias: vec![(3, 101.0)], ..Default::default() }, "logit_bias"),
            (SamplingParams { logit_bias: vec![(10, 1.0)], ..Default::default() }, "logit_bias"),
        ];
        for (p, name) in cases {
            let err = p.validate(Some(10)).unwrap_err();
            assert!(
                matches!(&err, GenerateError::Invalid { param, .. } if *param == name),
                "{p:?} should be rejected naming {name}, got {err}"
            );
        }
        assert!(SamplingParams::default().validate(Some(10)).is_ok());
    }
}
