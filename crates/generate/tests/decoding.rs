//! The decoding toolbox on tiny models: batch equivalence, n and best_of, logprobs and echo,
//! stop strings, insert mode, validation, cancellation and the scheduler.

mod common;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::tiny;
use ferrocodex_generate::{
    complete, fim, Completion, CompletionRequest, Event, FinishReason, GenerateError, Prompt, SamplingParams,
    SchedEvent, Scheduler, SchedulerConfig, SubmitError,
};
use ferrocodex_testmodels::TinyArch;

fn text_req(prompt: &str, max_tokens: usize) -> CompletionRequest {
    CompletionRequest {
        max_tokens,
        ..CompletionRequest::new(Prompt::Text(prompt.into()))
    }
}

fn run(model: &ferrocodex_engine::Model, req: &CompletionRequest) -> Completion {
    complete(model, req, &mut |_| true).expect("completion")
}

const PROMPTS: [&str; 8] = [
    "def add(a, b):",
    "import os\n",
    "class Stack:\n    def push(self, x):",
    "for i in range(10):",
    "# sort a list\n",
    "fn main() {",
    "SELECT * FROM",
    "while True:\n",
];

#[test]
fn greedy_inside_a_batch_of_eight_equals_greedy_alone() {
    for arch in [TinyArch::Qwen2, TinyArch::Gemma3] {
        let model = tiny(arch);
        let alone: Vec<Vec<u32>> = PROMPTS.iter().map(|p| run(&model, &text_req(p, 24)).choices[0].tokens.clone()).collect();
        // All eight at once through the scheduler: one forward pass per token for all of them.
        let sched = Scheduler::start(model.clone(), SchedulerConfig::default());
        let (tx, rx) = mpsc::channel();
        for (i, p) in PROMPTS.iter().enumerate() {
            let tx = tx.clone();
            sched
                .submit(
                    text_req(p, 24),
                    None,
                    Box::new(move |ev| {
                        if let SchedEvent::Done(r) = ev {
                            tx.send((i, r)).unwrap();
                        }
                        true
                    }),
                )
                .unwrap();
        }
        let mut batched = vec![Vec::new(); PROMPTS.len()];
        for _ in 0..PROMPTS.len() {
            let (i, r) = rx.recv_timeout(Duration::from_secs(120)).expect("scheduler answers");
            batched[i] = r.unwrap().choices[0].tokens.clone();
        }
        assert_eq!(batched, alone, "{arch:?}: batched greedy differs from greedy alone");
        assert!(sched.stats().steps > 0);
        // n = 8 at temperature 0: one prefill, eight forks, eight identical greedy choices.
        let n8 = run(&model, &CompletionRequest { n: 8, ..text_req(PROMPTS[0], 24) });
        assert_eq!(n8.choices.len(), 8);
        for c in &n8.choices {
            assert_eq!(c.tokens, alone[0]);
        }
        assert_eq!(n8.usage.completion_tokens, 8 * alone[0].len());
    }
}

#[test]
fn best_of_returns_the_n_highest_mean_logprob_samples() {
    let model = tiny(TinyArch::Qwen2);
    let sampling = SamplingParams {
        temperature: 1.0,
        seed: Some(5),
        ..Default::default()
    };
    let all = run(&model, &CompletionRequest { n: 6, sampling: sampling.clone(), ..text_req("def f(x):", 12) });
    let best = run(
        &model,
        &CompletionRequest { n: 2, best_of: Some(6), sampling: sampling.clone(), ..text_req("def f(x):", 12) },
    );
    assert_eq!(best.choices.len(), 2);
    assert_eq!(best.usage.completion_tokens, all.usage.completion_tokens, "best_of counts every sample drawn");
    let mut means: Vec<f64> = all.choices.iter().map(|c| c.mean_logprob).collect();
    means.sort_by(|a, b| b.total_cmp(a));
    assert_eq!(best.choices[0].mean_logprob, means[0]);
    assert_eq!(best.choices[1].mean_logprob, means[1]);
    assert_eq!((best.choices[0].index, best.choices[1].index), (0, 1));
    // Samples differ from one another, and the same seed repeats the request exactly.
    assert!(all.choices.iter().any(|c| c.tokens != all.choices[0].tokens));
    let again = run(&model, &CompletionRequest { n: 6, sampling, ..text_req("def f(x):", 12) });
    let toks = |c: &Completion| c.choices.iter().map(|c| c.tokens.clone()).collect::<Vec<_>>();
    assert_eq!(toks(&all), toks(&again));
}

#[test]
fn logprobs_agree_with_echo_scoring_of_the_same_text() {
    let model = tiny(TinyArch::CodeLlama);
    let req = CompletionRequest { logprobs: Some(3), ..text_req("def add(a, b):", 10) };
    let out = run(&model, &req);
    let c = &out.choices[0];
    let lp = c.logprobs.as_ref().unwrap();
    assert_eq!(lp.len(), c.tokens.len());
    for i in 0..lp.len() {
        let top = lp.top_logprobs[i].as_ref().unwrap();
        assert!(top.len() >= 3 && top.len() <= 4, "up to logprobs + 1 alternatives");
        // Greedy picks the most likely token: its logprob is the first alternative's.
        assert_eq!(lp.token_logprobs[i], Some(top[0].1));
        assert!(top.windows(2).all(|w| w[0].1 >= w[1].1), "alternatives most likely first");
        if i > 0 {
            assert!(lp.text_offset[i] >= lp.text_offset[i - 1]);
        }
    }
    let mean = lp.token_logprobs.iter().map(|x| x.unwrap() as f64).sum::<f64>() / lp.len() as f64;
    assert!((mean - c.mean_logprob).abs() < 1e-5);

    // Score prompt + completion with echo and max_tokens 0: the completion's tokens get the
    // same log-probabilities from the prefill as they got while being generated, up to the
    // last bits: a prefill adds its dot products in the reference's batched order and a
    // decoding step in its single-token order (as llama.cpp does), and this random-weight
    // model amplifies that to about 1e-2. A wrong position or mask would be off by far more.
    let prompt_ids = model.tokenizer().encode("def add(a, b):", true).unwrap();
    let mut all_ids = prompt_ids.clone();
    all_ids.extend(&c.tokens);
    let scored = run(
        &model,
        &CompletionRequest {
            echo: true,
            max_tokens: 0,
            logprobs: Some(0),
            ..CompletionRequest::new(Prompt::Tokens(all_ids.clone()))
        },
    );
    let s = &scored.choices[0];
    assert_eq!(s.finish_reason, FinishReason::Length);
    let slp = s.logprobs.as_ref().unwrap();
    assert_eq!(slp.len(), all_ids.len());
    assert_eq!(slp.token_logprobs[0], None, "the first prompt token has no log-probability");
    for (i, t) in c.tokens.iter().enumerate() {
        let got = slp.token_logprobs[prompt_ids.len() + i].unwrap();
        let want = lp.token_logprobs[i].unwrap();
        assert!((got - want).abs() < 5e-2, "token {i} ({t}): echo {got} vs generated {want}");
    }
    assert_eq!(s.text, model.tokenizer().decode(&all_ids));
    // Echo with generation: the prompt text comes first.
    let echoed = run(&model, &CompletionRequest { echo: true, ..text_req("def add(a, b):", 10) });
    assert_eq!(echoed.choices[0].text, format!("def add(a, b):{}", c.text));
}

#[test]
fn stop_strings_cut_the_output_wherever_they_fall() {
    let model = tiny(TinyArch::Starcoder2);
    let free = run(&model, &text_req("def f(x):", 40)).choices[0].clone();
    let text = free.text.clone();
    let chars: Vec<char> = text.chars().collect();
    assert!(chars.len() > 12, "the tiny model should write some text: {text:?}");
    // A stop taken from the middle of the text, long enough to span token boundaries.
    let start: usize = chars.len() / 2;
    let stop: String = chars[start..start + 5].iter().collect();
    let cut = &text[..text.find(&stop).unwrap()];
    let out = run(&model, &CompletionRequest { stop: vec![stop.clone()], ..text_req("def f(x):", 40) });
    assert_eq!(out.choices[0].text, cut);
    assert_eq!(out.choices[0].finish_reason, FinishReason::Stop);
    // Streamed text adds up to the same thing.
    let mut streamed = String::new();
    complete(&model, &CompletionRequest { stop: vec![stop], ..text_req("def f(x):", 40) }, &mut |ev| {
        if let Event::Delta { text, .. } = ev {
            streamed.push_str(text);
        }
        true
    })
    .unwrap();
    assert_eq!(streamed, cut);
    // A stop at the very start gives empty text.
    let first: String = chars[..1].iter().collect();
    let out = run(&model, &CompletionRequest { stop: vec![first], ..text_req("def f(x):", 40) });
    assert_eq!(out.choices[0].text, "");
    assert_eq!(out.choices[0].finish_reason, FinishReason::Stop);
    // No stop and a token budget: finish_reason length.
    assert_eq!(run(&model, &text_req("def f(x):", 3)).choices[0].finish_reason, FinishReason::Length);
}

#[test]
fn insert_mode_uses_each_familys_fim_tokens() {
    let prefix = "def f(x):\n";
    let suffix = "\n    return y\n";
    for arch in [TinyArch::CodeLlama, TinyArch::DeepseekCoder, TinyArch::Qwen2, TinyArch::Starcoder2] {
        let model = tiny(arch);
        let tok = model.tokenizer();
        let f = tok.fim().unwrap_or_else(|| panic!("{arch:?} declares FIM tokens"));
        let req = CompletionRequest { suffix: Some(suffix.into()), ..text_req(prefix, 8) };
        let ids = fim::prompt_ids(&model, &req).unwrap();
        let mut want = Vec::new();
        if tok.add_bos() {
            want.extend(tok.bos());
        }
        want.push(f.prefix);
        want.extend(tok.encode(prefix, false).unwrap());
        want.push(f.suffix);
        want.extend(tok.encode(suffix, false).unwrap());
        want.push(f.middle);
        assert_eq!(ids, want, "{arch:?}: prefix-suffix-middle layout");
        assert_eq!(fim::suffix_guard(&model, &req), None);
        let out = run(&model, &req);
        assert_eq!(out.usage.prompt_tokens, want.len());
        assert!(!out.choices[0].tokens.is_empty());
    }
}

#[test]
fn insert_mode_without_fim_tokens_stops_where_the_suffix_begins() {
    let model = tiny(TinyArch::Gemma3);
    assert!(model.tokenizer().fim().is_none());
    let free = run(&model, &text_req("def f(x):", 40)).choices[0].text.clone();
    let chars: Vec<char> = free.chars().collect();
    let start: usize = chars.len() / 2;
    let piece: String = chars[start..start + 6].iter().collect();
    let piece = piece.trim().to_string();
    assert!(piece.chars().count() >= 4, "pick a visible piece: {piece:?}");
    let req = CompletionRequest { suffix: Some(format!("\n  {piece}\nmore\n")), ..text_req("def f(x):", 40) };
    assert_eq!(fim::suffix_guard(&model, &req).as_deref(), Some(piece.as_str()));
    let out = run(&model, &req);
    let want = free[..free.find(&piece).unwrap()].trim_end_matches([' ', '\t']);
    assert_eq!(out.choices[0].text, want);
    assert_eq!(out.choices[0].finish_reason, FinishReason::Stop);
}

#[test]
fn invalid_requests_name_the_parameter() {
    let model = tiny(TinyArch::Qwen2);
    let vocab = model.config().vocab_size as u32;
    let n_ctx = model.config().n_ctx_train;
    let base = text_req("def f(x):", 8);
    let cases: Vec<(CompletionRequest, &str)> = vec![
        (CompletionRequest { n: 3, best_of: Some(2), ..base.clone() }, "best_of"),
        (CompletionRequest { n: 0, ..base.clone() }, "n"),
        (CompletionRequest { logprobs: Some(6), ..base.clone() }, "logprobs"),
        (CompletionRequest { stop: vec!["a".into(), "b".into(), "c".into(), "d".into(), "e".into()], ..base.clone() }, "stop"),
        (CompletionRequest { sampling: SamplingParams { temperature: -0.5, ..Default::default() }, ..base.clone() }, "temperature"),
        (CompletionRequest { sampling: SamplingParams { top_p: 0.0, ..Default::default() }, ..base.clone() }, "top_p"),
        (CompletionRequest { sampling: SamplingParams { top_p: 1.01, ..Default::default() }, ..base.clone() }, "top_p"),
        (CompletionRequest { max_tokens: n_ctx, ..base.clone() }, "max_tokens"),
        (CompletionRequest { sampling: SamplingParams { logit_bias: vec![(vocab, 1.0)], ..Default::default() }, ..base.clone() }, "logit_bias"),
        (CompletionRequest { echo: true, suffix: Some("x".into()), ..base.clone() }, "echo"),
        (CompletionRequest::new(Prompt::Text(String::new())), "prompt"),
        (CompletionRequest::new(Prompt::Tokens(vec![vocab + 5])), "prompt"),
        (CompletionRequest::new(Prompt::Tokens(vec![1; n_ctx + 1])), "prompt"),
    ];
    for (req, name) in cases {
        let err = complete(&model, &req, &mut |_| true).unwrap_err();
        assert!(
            matches!(&err, GenerateError::Invalid { param, .. } if *param == name),
            "expected an error naming {name}, got {err}"
        );
    }
}

#[test]
fn the_scheduler_cancels_expires_and_refuses_when_full() {
    let model = tiny(TinyArch::Qwen2);
    let sched = Scheduler::start(model.clone(), SchedulerConfig { max_seqs: 1, max_queue: 1, prefill_chunk: 64, ..Default::default() });
    // A request whose owner stops listening after two events is dropped at once.
    let (tx, rx) = mpsc::channel();
    let mut seen = 0;
    sched
        .submit(
            text_req("def f(x):", 2000),
            None,
            Box::new(move |ev| {
                seen += 1;
                if seen == 2 {
                    tx.send(()).unwrap();
                    return false;
                }
                !matches!(ev, SchedEvent::Done(_))
            }),
        )
        .unwrap();
    rx.recv_timeout(Duration::from_secs(60)).unwrap();
    let t0 = Instant::now();
    while sched.stats().running_seqs > 0 {
        assert!(t0.elapsed() < Duration::from_secs(60), "the cancelled request still holds its slot");
        std::thread::sleep(Duration::from_millis(5));
    }
    // A deadline already past: the request fails with DeadlineExceeded.
    let (tx, rx) = mpsc::channel();
    sched
        .submit(
            text_req("def f(x):", 50),
            Some(Instant::now()),
            Box::new(move |ev| {
                if let SchedEvent::Done(r) = ev {
                    tx.send(r.map(|_| ())).unwrap();
                }
                true
            }),
        )
        .unwrap();
    let r = rx.recv_timeout(Duration::from_secs(60)).unwrap();
    assert!(matches!(r, Err(GenerateError::DeadlineExceeded)), "{r:?}");
    // One slot, one queue place: of three long requests submitted at once, one is refused.
    let mut refused = 0;
    let (tx, rx) = mpsc::channel();
    for _ in 0..3 {
        let tx = tx.clone();
        match sched.submit(
            text_req("def f(x):", 3000),
            None,
            Box::new(move |ev| {
                if let SchedEvent::Done(_) = ev {
                    let _ = tx.send(());
                }
                true
            }),
        ) {
            Ok(()) => {}
            Err(SubmitError::QueueFull(_)) => refused += 1,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(refused >= 1, "a full queue must refuse");
    // Requests needing more samples than the scheduler decodes at once are refused up front.
    let err = sched.submit(CompletionRequest { n: 2, ..text_req("x", 4) }, None, Box::new(|_| true)).unwrap_err();
    assert!(matches!(err, SubmitError::Invalid(GenerateError::Invalid { param: "best_of", .. })), "{err}");
    drop(rx);
}

#[test]
fn complete_can_be_cancelled_by_its_caller() {
    let model = tiny(TinyArch::Qwen2);
    let mut events = 0;
    let r = complete(&model, &text_req("def f(x):", 100), &mut |_| {
        events += 1;
        events < 3
    });
    assert!(matches!(r, Err(GenerateError::Cancelled)), "{r:?}");
    assert_eq!(events, 3);
}

#[test]
fn neighbouring_seeds_share_no_sample_stream() {
    // Sample 1 of a request seeded 10 and sample 0 of one seeded 11 must not be the same draw.
    let model = tiny(TinyArch::Qwen2);
    let req = |seed, n| CompletionRequest {
        n,
        sampling: SamplingParams { temperature: 1.0, seed: Some(seed), ..Default::default() },
        ..text_req("def f(x):", 16)
    };
    let a = run(&model, &req(10, 2));
    let b = run(&model, &req(11, 1));
    assert_ne!(a.choices[1].tokens, b.choices[0].tokens);
    assert_eq!(run(&model, &req(10, 2)).choices[1].tokens, a.choices[1].tokens);
}

#[test]
fn a_scheduler_without_mean_logprobs_still_scores_what_needs_it() {
    let model = tiny(TinyArch::Qwen2);
    let sched = Scheduler::start(model.clone(), SchedulerConfig { mean_logprobs: false, ..Default::default() });
    let submit = |req: CompletionRequest| {
        let (tx, rx) = mpsc::channel();
        sched
            .submit(
                req,
                None,
                Box::new(move |ev| {
                    if let SchedEvent::Done(r) = ev {
                        tx.send(r).unwrap();
                    }
                    true
                }),
            )
            .unwrap();
        rx.recv_timeout(Duration::from_secs(120)).unwrap().expect("completion")
    };
    let sampling = SamplingParams {
        temperature: 1.0,
        seed: Some(5),
        ..Default::default()
    };
    // Plain samples: the same tokens as with scoring, and no mean computed.
    let plain = CompletionRequest { n: 2, sampling: sampling.clone(), ..text_req("def f(x):", 12) };
    let (scored, unscored) = (run(&model, &plain), submit(plain));
    for (a, b) in scored.choices.iter().zip(&unscored.choices) {
        assert_eq!(a.tokens, b.tokens);
        assert!(a.mean_logprob.is_finite() && b.mean_logprob.is_nan());
    }
    // best_of ranks by the mean and logprobs report it: both are still computed.
    let ranked = CompletionRequest { n: 2, best_of: Some(6), sampling: sampling.clone(), ..text_req("def f(x):", 12) };
    let (a, b) = (run(&model, &ranked), submit(ranked));
    let means = |c: &Completion| c.choices.iter().map(|c| c.mean_logprob).collect::<Vec<_>>();
    assert_eq!(means(&a), means(&b));
    assert!(means(&b).iter().all(|m| m.is_finite()));
    let with_logprobs = CompletionRequest { logprobs: Some(1), sampling, ..text_req("def f(x):", 12) };
    let (a, b) = (run(&model, &with_logprobs), submit(with_logprobs));
    assert_eq!(means(&a), means(&b));
    assert_eq!(a.choices[0].logprobs, b.choices[0].logprobs);
}
