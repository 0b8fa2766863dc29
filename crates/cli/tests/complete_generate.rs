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
