//! The README's first command and `generate`, run as a user would, on the default model
//! (fetched on first use).

use std::process::Command;

fn ferrocodex(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ferrocodex"))
        .args(args)
        .output()
        .expect("the binary runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn complete_continues_a_python_function() {
    let (ok, out, err) = ferrocodex(&["--threads", "2", "complete", "def fibonacci(n):", "--max-tokens", "24"]);
    assert!(ok, "{err}");
    assert!(out.starts_with("def fibonacci(n):\n    "), "{out}");
    assert!(out.contains("return"), "{out}");
}

#[test]
fn generate_prints_just_a_function() {
    let (ok, out, err) = ferrocodex(&["--threads", "2", "generate", "check whether a number is prime", "--lang", "python"]);
    assert!(ok, "{err}");
    assert!(out.starts_with("def "), "{out}");
    assert!(out.contains("return"), "{out}");
    assert!(!out.contains("# Language"), "the prompt is not printed: {out}");
}

#[test]
fn bad_arguments_are_sentences() {
    let (ok, _, err) = ferrocodex(&["generate", "x", "--lang", "cobol"]);
    assert!(!ok);
    assert!(err.contains("unknown language \"cobol\""), "{err}");
    let (ok, _, err) = ferrocodex(&["complete", "def f():", "--top-p", "0"]);
    assert!(!ok);
    assert!(err.contains("top_p"), "{err}");
    let (ok, _, err) = ferrocodex(&["--model", "/nonexistent.gguf", "complete", "x"]);
    assert!(!ok);
    assert!(err.contains("/nonexistent.gguf"), "{err}");
}

#[test]
fn complete_json_has_the_api_shape_with_n_best_of_logprobs_and_echo() {
    let (ok, out, err) = ferrocodex(&[
        "--threads", "2", "complete", "def add(a, b):", "--max-tokens", "8", "--n", "2", "--best-of", "3",
        "--temperature", "0.8", "--seed", "4", "--logprobs", "2", "--echo", "--json",
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(v["object"], "text_completion");
    let choices = v["choices"].as_array().unwrap();
    assert_eq!(choices.len(), 2);
    for (i, c) in choices.iter().enumerate() {
        assert_eq!(c["index"], i);
        assert!(c["text"].as_str().unwrap().starts_with("def add(a, b):"), "echo puts the prompt first");
        let lp = &c["logprobs"];
        assert!(lp["token_logprobs"][0].is_null(), "the first prompt token has no log-probability");
        let n = lp["tokens"].as_array().unwrap().len();
        assert_eq!(lp["text_offset"].as_array().unwrap().len(), n);
        assert!(lp["top_logprobs"][n - 1].as_object().unwrap().len() >= 2);
    }
    // best_of counts every sample drawn.
    assert!(v["usage"]["completion_tokens"].as_u64().unwrap() > 16);
    assert_eq!(
        v["usage"]["total_tokens"].as_u64().unwrap(),
        v["usage"]["prompt_tokens"].as_u64().unwrap() + v["usage"]["completion_tokens"].as_u64().unwrap()
    );
}

#[test]
fn complete_with_beams_and_with_a_suffix() {
    let (ok, out, err) = ferrocodex(&["--threads", "2", "complete", "def add(a, b):", "--max-tokens", "10", "--beams", "3", "--n", "2"]);
    assert!(ok, "{err}");
    assert_eq!(out.matches("--- beam").count(), 2, "{out}");
    assert!(out.contains("return a + b"), "{out}");
    // The default model has no FIM tokens: generation stops where the suffix begins.
    let (ok, out, err) = ferrocodex(&[
        "--threads", "2", "complete", "def add(a, b):\n", "--suffix", "    return a + b\n", "--max-tokens", "30", "--no-prompt",
    ]);
    assert!(ok, "{err}");
    assert!(!out.contains("return a + b"), "the suffix is not repeated: {out:?}");
    let (ok, _, err) = ferrocodex(&["complete", "x", "--n", "3", "--best-of", "2"]);
    assert!(!ok && err.contains("best_of"), "{err}");
    let (ok, _, err) = ferrocodex(&["complete", "x", "--logit-bias", "12"]);
    assert!(!ok && err.contains("ID=BIAS"), "{err}");
}
