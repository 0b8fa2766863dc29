//! Shared pieces of the engine's golden tests.

#![allow(dead_code)]

use std::path::PathBuf;

use ferrocodex_engine::ops::argmax;
use ferrocodex_engine::{ops, KvCache, LogitsFor, Model, SeqInput};
use serde_json::Value;

/// The repository's golden fixtures (made by scripts/make_goldens.py with llama.cpp).
pub fn goldens_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/goldens")
}

pub fn read_golden(name: &str) -> Value {
    let path = goldens_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not valid JSON: {e}", path.display()))
}

pub fn ids(v: &Value) -> Vec<u32> {
    v.as_array()
        .expect("an id array")
        .iter()
        .map(|x| x.as_u64().expect("an id") as u32)
        .collect()
}

/// How closely a teacher-forced run follows the reference.
#[derive(Debug, Default)]
pub struct Agreement {
    pub steps: usize,
    /// Steps whose argmax differs, with the reference's top-1/top-2 logprob gap there.
    pub mismatches: Vec<(usize, f32)>,
    /// Largest |Δ logprob| over the reference's top-5 tokens.
    pub max_dev: f32,
    /// All |Δ logprob| values over the reference's top-5 tokens.
    pub devs: Vec<f32>,
}

impl Agreement {
    pub fn median_dev(&self) -> f32 {
        let mut d = self.devs.clone();
        d.sort_by(f32::total_cmp);
        d.get(d.len() / 2).copied().unwrap_or(0.0)
    }

    /// Mismatches where the reference itself was not close to a tie (gap above `margin`).
    pub fn clear_mismatches(&self, margin: f32) -> Vec<(usize, f32)> {
        self.mismatches.iter().copied().filter(|&(_, gap)| gap > margin).collect()
    }
}

/// Feeds `prompt` and then the reference's own tokens (teacher forcing, so every step is
/// compared in the same context) and compares each step's distribution with the reference's
/// top-5 log-probabilities and argmax.
pub fn teacher_forced(model: &Model, prompt: &[u32], expected: &[u32], top: &[Value]) -> Agreement {
    let mut cache: KvCache = model.new_cache(prompt.len() + expected.len() + 1);
    let seq = cache.new_seq();
    let mut logits = model
        .forward(&mut cache, &[SeqInput { seq, tokens: prompt, logits: LogitsFor::Last }])
        .expect("forward");
    let mut lp = Vec::new();
    let mut a = Agreement::default();
    for (step, &want) in expected.iter().enumerate() {
        let row = logits.row(0);
        ops::log_softmax(row, &mut lp);
        let pairs = top[step].as_array().expect("top-5 list");
        for pair in pairs {
            let id = pair[0].as_u64().unwrap() as usize;
            let want_lp = pair[1].as_f64().unwrap() as f32;
            let d = (lp[id] - want_lp).abs();
            a.max_dev = a.max_dev.max(d);
            a.devs.push(d);
        }
        if argmax(row) != want {
            let gap = (pairs[0][1].as_f64().unwrap() - pairs[1][1].as_f64().unwrap()) as f32;
            a.mismatches.push((step, gap));
        }
        a.steps += 1;
        logits = model
            .forward(&mut cache, &[SeqInput { seq, tokens: &[want], logits: LogitsFor::Last }])
            .expect("forward");
    }
    a
}
