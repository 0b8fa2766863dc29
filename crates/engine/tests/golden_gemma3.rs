//! The default model (Gemma 3 270M Q4_K_M) against llama.cpp: tokenizer ids on a mixed corpus
//! and 64-token greedy continuations with top-5 log-probabilities, from fixtures made by
//! scripts/make_goldens.py. The model is fetched into the cache on first use.

mod common;

use std::sync::OnceLock;

use common::*;
use ferrocodex_engine::{LoadOptions, Model};

fn model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| {
        let path = ferrocodex_models::resolve_model(None).expect("the default model is available");
        Model::load(&path, &LoadOptions::default()).expect("the default model loads")
    })
}

#[test]
fn tokenizer_matches_llama_cpp_on_mixed_corpus() {
    let golden = read_golden("tokenizer.json");
    let tok = model().tokenizer();
    let cases = golden["cases"].as_array().unwrap();
    assert!(cases.len() >= 40, "the corpus has {} cases", cases.len());
    let mut failures = Vec::new();
    for case in cases {
        let text = case["text"].as_str().unwrap();
        let want = ids(&case["ids"]);
        let got = tok.encode(text, true).unwrap();
        if got != want {
            failures.push(format!("{text:?}\n  here:      {got:?}\n  reference: {want:?}"));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases differ:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

#[test]
fn greedy_continuations_follow_llama_cpp() {
    let golden = read_golden("gemma3-270m.json");
    let cases = golden["prompts"].as_array().unwrap();
    assert!(cases.len() >= 12);
    let m = model();
    let mut report = Vec::new();
    let (mut steps, mut clear, mut all_devs) = (0, Vec::new(), Vec::new());
    let (mut mismatched, mut max_dev) = (0, 0f32);
    for case in cases {
        let name = case["name"].as_str().unwrap_or("?");
        let prompt_ids = ids(&case["prompt_ids"]);
        if let Some(prompt) = case["prompt"].as_str() {
            assert_eq!(m.tokenizer().encode(prompt, true).unwrap(), prompt_ids, "prompt ids of {name}");
        }
        let expected = ids(&case["generated_ids"]);
        assert_eq!(expected.len(), 64);
        let a = teacher_forced(m, &prompt_ids, &expected, case["top5"].as_array().unwrap());
        report.push(format!(
            "{name:>18}: {}/{} argmax agree, median |Δlogprob| {:.4}, max {:.3}, mismatches {:?}",
            a.steps - a.mismatches.len(),
            a.steps,
            a.median_dev(),
            a.max_dev,
            a.mismatches
        ));
        steps += a.steps;
        mismatched += a.mismatches.len();
        max_dev = max_dev.max(a.max_dev);
        clear.extend(a.clear_mismatches(GAP_MARGIN).into_iter().map(|m| (name.to_string(), m)));
        all_devs.extend(a.devs);
    }
    all_devs.sort_by(f32::total_cmp);
    let median = all_devs[all_devs.len() / 2];
    println!("{}\nmedian |Δlogprob| over all steps {median:.4}, max {max_dev:.6}", report.join("\n"));
    assert!(
        clear.is_empty(),
        "argmax differs where llama.cpp's top-2 gap exceeds {GAP_MARGIN}: {clear:?}\n{}",
        report.join("\n")
    );
    assert!(median < MEDIAN_TOLERANCE, "median |Δlogprob| {median} over {steps} steps\n{}", report.join("\n"));
    // With the AVX2 kernels every operation follows llama.cpp's order, so the logits are its
    // bits: every greedy token agrees and every top-5 log-probability is within the issue's
    // 1e-2 (in practice within the fixtures' 6-decimal rounding). The portable kernels only
    // meet the looser checks above.
    if ferrocodex_quant::kernel_isa().starts_with("avx2+fma+f16c") {
        assert_eq!(mismatched, 0, "greedy tokens differ from llama.cpp's\n{}", report.join("\n"));
        assert!(max_dev <= EXACT_TOLERANCE, "max |Δlogprob| {max_dev} over {steps} steps\n{}", report.join("\n"));
    }
}

/// Largest allowed |Δ log-prob| over llama.cpp's top-5 tokens at any step, with the AVX2 kernels.
const EXACT_TOLERANCE: f32 = 1e-2;

/// Where llama.cpp's own top-1/top-2 logprob gap is below this, a different argmax is
/// attributed to rounding (see the note in BENCHMARKS.md on parity).
const GAP_MARGIN: f32 = 0.75;
/// Median absolute log-probability difference over llama.cpp's top-5 tokens at every step.
const MEDIAN_TOLERANCE: f32 = 0.2;
