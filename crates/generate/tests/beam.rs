//! Beam search against exhaustive search on a tiny model.

mod common;

use common::tiny;
use ferrocodex_engine::{LogitsFor, Model, SeqInput};
use ferrocodex_generate::{beam_search, complete, log_sum_exp, BeamParams, CompletionRequest, FinishReason, Prompt};
use ferrocodex_testmodels::TinyArch;

/// The most probable continuation of exactly two tokens (or one, ending in an end-of-generation
/// token), found by scoring every first token and the best second token after each.
fn exhaustive_best_of_two(model: &Model, prompt: &[u32]) -> (Vec<u32>, f64) {
    let vocab = model.config().vocab_size;
    let mut cache = model.new_cache(prompt.len() + 2);
    let root = cache.new_seq();
    let l = model.forward(&mut cache, &[SeqInput { seq: root, tokens: prompt, logits: LogitsFor::Last }]).unwrap();
    let first = l.row(0).to_vec();
    let lse1 = log_sum_exp(&first);
    let tok = model.tokenizer();
    let mut best = (Vec::new(), f64::NEG_INFINITY);
    let firsts: Vec<u32> = (0..vocab as u32).collect();
    for chunk in firsts.chunks(256) {
        let seqs: Vec<_> = chunk.iter().map(|_| cache.fork(root).unwrap()).collect();
        let inputs: Vec<SeqInput> = chunk
            .iter()
            .zip(&seqs)
            .map(|(t, &seq)| SeqInput { seq, tokens: std::slice::from_ref(t), logits: LogitsFor::Last })
            .collect();
        let l2 = model.forward(&mut cache, &inputs).unwrap();
        for (i, &t1) in chunk.iter().enumerate() {
            let lp1 = first[t1 as usize] as f64 - lse1;
            if tok.is_eog(t1) {
                if lp1 > best.1 {
                    best = (vec![t1], lp1);
                }
                continue;
            }
            let row = l2.row(i);
            let lse2 = log_sum_exp(row);
            let t2 = ferrocodex_generate::argmax(row);
            let lp = lp1 + row[t2 as usize] as f64 - lse2;
            if lp > best.1 {
                best = (vec![t1, t2], lp);
            }
        }
        for s in seqs {
            cache.free(s);
        }
    }
    best
}

#[test]
fn beam_search_with_enough_beams_finds_the_most_probable_sequence() {
    for arch in [TinyArch::Qwen2, TinyArch::CodeLlama] {
        let model = tiny(arch);
        for prompt in ["def f(x):", "import sys\n"] {
            let ids = model.tokenizer().encode(prompt, model.tokenizer().add_bos()).unwrap();
            let (want, want_lp) = exhaustive_best_of_two(&model, &ids);
            let params = BeamParams {
                num_beams: 32,
                n: 3,
                max_tokens: 2,
                length_penalty: 0.0,
                ..Default::default()
            };
            let got = beam_search(&model, &ids, &params).unwrap();
            assert_eq!(got.len(), 3);
            assert_eq!(got[0].tokens, want, "{arch:?} {prompt:?}");
            assert!((got[0].logprob - want_lp).abs() < 1e-4, "{} vs {want_lp}", got[0].logprob);
            assert!(got.windows(2).all(|w| w[0].score >= w[1].score), "best first");
            // The best of two tokens is at least as probable as greedy's two tokens.
            let greedy = complete(
                &model,
                &CompletionRequest { max_tokens: 2, logprobs: Some(0), ..CompletionRequest::new(Prompt::Tokens(ids.clone())) },
                &mut |_| true,
            )
            .unwrap();
            let g: f64 = greedy.choices[0].logprobs.as_ref().unwrap().token_logprobs.iter().map(|x| x.unwrap() as f64).sum();
            assert!(got[0].logprob >= g - 1e-4);
        }
    }
}

#[test]
fn one_beam_is_greedy() {
    let model = tiny(TinyArch::Starcoder2);
    let ids = model.tokenizer().encode("def add(a, b):", model.tokenizer().add_bos()).unwrap();
    let greedy = complete(&model, &CompletionRequest { max_tokens: 12, ..CompletionRequest::new(Prompt::Tokens(ids.clone())) }, &mut |_| true).unwrap();
    let beam = beam_search(&model, &ids, &BeamParams { num_beams: 1, max_tokens: 12, ..Default::default() }).unwrap();
    assert_eq!(beam[0].tokens, greedy.choices[0].tokens);
    assert_eq!(beam[0].text, greedy.choices[0].text);
}

#[test]
fn beams_end_at_stop_strings_and_reject_bad_parameters() {
    let model = tiny(TinyArch::Qwen2);
    let ids = model.tokenizer().encode("def f(x):", true).unwrap();
    let free = beam_search(&model, &ids, &BeamParams { num_beams: 4, max_tokens: 16, ..Default::default() }).unwrap();
    let text = &free[0].text;
    let chars: Vec<char> = text.chars().collect();
    let stop: String = chars[chars.len() / 2..chars.len() / 2 + 3].iter().collect();
    let stopped = beam_search(
        &model,
        &ids,
        &BeamParams { num_beams: 4, max_tokens: 16, stop: vec![stop.clone()], early_stopping: true, ..Default::default() },
    )
    .unwrap();
    for h in &stopped {
        assert!(!h.text.contains(&stop), "{:?} still contains the stop {stop:?}", h.text);
    }
    assert!(stopped.iter().any(|h| h.finish_reason == FinishReason::Stop));
    for bad in [
        BeamParams { num_beams: 0, ..Default::default() },
        BeamParams { num_beams: 2, n: 3, ..Default::default() },
        BeamParams { max_tokens: 0, ..Default::default() },
    ] {
        assert!(beam_search(&model, &ids, &bad).is_err());
    }
}
