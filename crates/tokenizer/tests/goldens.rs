//! Token-for-token agreement with llama.cpp, from fixtures of its output made by
//! `scripts/make_goldens.py`.
//!
//! * `tests/goldens/tokenizer.json` (in this crate, or else at the workspace root;
//!   `FERROCODEX_TOKENIZER_GOLDENS` names another path) holds the default model's cases:
//!   `{"model_sha256": "...", "cases": [{"text": "...", "ids": [...]}]}`, where `ids` are
//!   llama.cpp's tokens for `text` with BOS added as the model asks and special tokens parsed.
//! * `tests/goldens/tiny-<name>.json` hold the same under `"tokenizer"` for the tiny test models
//!   (SentencePiece with and without a space prefix, Qwen2, DeepSeek-Coder and StarCoder2
//!   byte-level BPE). Their GGUF files are read from `FERROCODEX_TINY_MODELS` (a directory made by
//!   `cargo run -p ferrocodex-testmodels --bin write-tiny-models DIR`).
//!
//! Each test skips, with a note, when its fixture or model is absent, or when the model's
//! SHA-256 is not the one the fixture was made with.

mod common;

use std::path::{Path, PathBuf};

use common::{default_model, sha256_file, Sha256};
use ferrocodex_gguf::GgufFile;
use ferrocodex_tokenizer::Tokenizer;

/// A fixture in this crate's `tests/goldens`, or else the workspace's.
fn golden(name: &str) -> Option<PathBuf> {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    [
        crate_dir.join("tests/goldens").join(name),
        crate_dir.join("../../tests/goldens").join(name),
    ]
    .into_iter()
    .find(|p| p.is_file())
}

fn fixture_path() -> Option<PathBuf> {
    match std::env::var_os("FERROCODEX_TOKENIZER_GOLDENS") {
        Some(p) => Some(PathBuf::from(p)),
        None => golden("tokenizer.json"),
    }
}

/// Encodes every case of `cases` and returns a description of each difference from llama.cpp.
fn compare(tok: &Tokenizer, cases: &[serde_json::Value], what: &str) -> Vec<String> {
    assert!(!cases.is_empty(), "{what} has no cases");
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let text = case["text"]
            .as_str()
            .unwrap_or_else(|| panic!("{what}: case {i} has no text string"));
        let want: Vec<u32> = case["ids"]
            .as_array()
            .unwrap_or_else(|| panic!("{what}: case {i} has no ids array"))
            .iter()
            .map(|v| {
                v.as_u64()
                    .and_then(|id| u32::try_from(id).ok())
                    .unwrap_or_else(|| panic!("{what}: case {i} has a bad id {v}"))
            })
            .collect();
        let have = tok.encode(text, tok.add_bos()).expect("encodes");
        if have != want {
            let at = have
                .iter()
                .zip(&want)
                .position(|(a, b)| a != b)
                .unwrap_or(have.len().min(want.len()));
            failures.push(format!(
                "{what} case {i} {:?}: first difference at token {at}: ours {:?}, llama.cpp {:?}",
                text.chars().take(120).collect::<String>(),
                &have[at.saturating_sub(2)..(at + 4).min(have.len())],
                &want[at.saturating_sub(2)..(at + 4).min(want.len())],
            ));
        }
    }
    failures
}

fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

#[test]
fn sha256_helper_matches_the_standard_vectors() {
    let hex = |data: &[u8]| {
        let mut h = Sha256::new();
        h.update(data);
        h.hex()
    };
    assert_eq!(
        hex(b""),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
        hex(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    let long = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    assert_eq!(
        hex(long),
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
    );
    // Fed in uneven pieces.
    let mut h = Sha256::new();
    for piece in long.chunks(7) {
        h.update(piece);
    }
    assert_eq!(
        h.hex(),
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
    );
}

#[test]
fn llama_cpp_goldens() {
    let Some(fixture) = fixture_path() else {
        eprintln!("llama_cpp_goldens: skipped, no tests/goldens/tokenizer.json fixture yet");
        return;
    };
    let Some(model) = default_model("llama_cpp_goldens") else {
        return;
    };
    let json = read_json(&fixture);
    let want_sha = json["model_sha256"]
        .as_str()
        .unwrap_or_else(|| panic!("{} has no model_sha256 string", fixture.display()));
    let have_sha =
        sha256_file(&model).unwrap_or_else(|e| panic!("cannot read {}: {e}", model.display()));
    if !have_sha.eq_ignore_ascii_case(want_sha) {
        eprintln!(
            "llama_cpp_goldens: skipped, {} has SHA-256 {have_sha} but the fixture was made with {want_sha}",
            model.display()
        );
        return;
    }
    let cases = json["cases"]
        .as_array()
        .unwrap_or_else(|| panic!("{} has no cases array", fixture.display()));

    let file = GgufFile::open(&model).expect("the model file opens");
    let tok = Tokenizer::from_gguf(&file).expect("the model's tokenizer builds");
    let failures = compare(&tok, cases, "tokenizer.json");
    let n_tokens: usize = cases
        .iter()
        .filter_map(|c| c["ids"].as_array())
        .map(Vec::len)
        .sum();
    eprintln!(
        "llama_cpp_goldens: {} cases, {n_tokens} tokens, {} differ",
        cases.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn tiny_model_goldens() {
    let Some(dir) = std::env::var_os("FERROCODEX_TINY_MODELS").map(PathBuf::from) else {
        eprintln!("tiny_model_goldens: skipped, set FERROCODEX_TINY_MODELS to a directory of tiny-*.gguf test models");
        return;
    };
    let mut checked = 0;
    let mut failures = Vec::new();
    for name in [
        "gemma3",
        "codellama",
        "qwen2",
        "deepseek-coder",
        "starcoder2",
    ] {
        let fixture_name = format!("tiny-{name}.json");
        let Some(fixture) = golden(&fixture_name) else {
            eprintln!("tiny_model_goldens: no {fixture_name} fixture, skipping {name}");
            continue;
        };
        let model = dir.join(format!("tiny-{name}.gguf"));
        if !model.is_file() {
            eprintln!(
                "tiny_model_goldens: {} is absent, skipping {name}",
                model.display()
            );
            continue;
        }
        let json = read_json(&fixture);
        let have_sha =
            sha256_file(&model).unwrap_or_else(|e| panic!("cannot read {}: {e}", model.display()));
        if json["model_sha256"]
            .as_str()
            .is_none_or(|want| !have_sha.eq_ignore_ascii_case(want))
        {
            eprintln!(
                "tiny_model_goldens: {} is not the file {fixture_name} was made with, skipping",
                model.display()
            );
            continue;
        }
        let file = GgufFile::open(&model).expect("the tiny model opens");
        let tok = Tokenizer::from_gguf(&file).expect("the tiny model's tokenizer builds");
        let cases = json["tokenizer"]["cases"]
            .as_array()
            .unwrap_or_else(|| panic!("{fixture_name} has no tokenizer.cases array"));
        let differ = compare(&tok, cases, &fixture_name);
        eprintln!(
            "tiny_model_goldens: {name} ({}): {} cases, {} differ",
            tok.kind(),
            cases.len(),
            differ.len()
        );
        failures.extend(differ);
        checked += 1;
    }
    eprintln!("tiny_model_goldens: {checked} models checked");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
