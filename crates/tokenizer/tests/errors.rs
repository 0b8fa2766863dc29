//! Bad tokenizer metadata gives an error that names the problem, never a panic.

mod common;

use common::{build, strings, TinyBpe, TinySpm};
use ferrocodex_gguf::{GgufWriter, Value};
use ferrocodex_tokenizer::TokenizerError;

/// The tiny SentencePiece vocabulary's metadata with `key` replaced (or removed when `None`).
fn spm_with(key: &str, value: Option<Value>) -> GgufWriter {
    let full = common::file_from(&TinySpm::new().writer());
    let mut w = GgufWriter::new();
    for (k, v) in full.metadata() {
        if k != key {
            w.add_metadata(k, v.clone());
        }
    }
    if let Some(v) = value {
        w.add_metadata(key, v);
    }
    w
}

fn error_of(w: &GgufWriter) -> TokenizerError {
    match build(w) {
        Ok(_) => panic!("the tokenizer was built from bad metadata"),
        Err(e) => e,
    }
}

fn assert_mentions(err: &TokenizerError, words: &[&str]) {
    let msg = err.to_string();
    for w in words {
        assert!(msg.contains(w), "{msg:?} does not mention {w:?}");
    }
}

#[test]
fn a_file_without_a_tokenizer() {
    let err = error_of(&GgufWriter::new());
    assert!(matches!(
        err,
        TokenizerError::Missing("tokenizer.ggml.model")
    ));
    assert_mentions(&err, &["tokenizer.ggml.model", "missing"]);

    let err = error_of(&spm_with("tokenizer.ggml.tokens", None));
    assert!(matches!(
        err,
        TokenizerError::Missing("tokenizer.ggml.tokens")
    ));
    assert_mentions(&err, &["tokenizer.ggml.tokens"]);
}

#[test]
fn an_unknown_model_kind() {
    let err = error_of(&spm_with(
        "tokenizer.ggml.model",
        Some(Value::String("bert".into())),
    ));
    assert!(matches!(err, TokenizerError::UnsupportedModel(ref m) if m == "bert"));
    assert_mentions(&err, &["\"bert\"", "tokenizer.ggml.model"]);
    let err = error_of(&spm_with("tokenizer.ggml.model", Some(Value::U32(1))));
    assert_mentions(&err, &["tokenizer.ggml.model", "not a string"]);
}

#[test]
fn mismatched_array_lengths() {
    let n = TinySpm::new().tokens.len();
    let err = error_of(&spm_with(
        "tokenizer.ggml.scores",
        Some(Value::Array(vec![Value::F32(0.0); n - 1])),
    ));
    assert_mentions(
        &err,
        &[
            "tokenizer.ggml.scores",
            &format!("{}", n - 1),
            &format!("{n}"),
        ],
    );
    let err = error_of(&spm_with(
        "tokenizer.ggml.token_type",
        Some(Value::Array(vec![Value::I32(1); n + 3])),
    ));
    assert_mentions(&err, &["tokenizer.ggml.token_type", &format!("{}", n + 3)]);
}

#[test]
fn arrays_of_the_wrong_type() {
    let n = TinySpm::new().tokens.len();
    let err = error_of(&spm_with(
        "tokenizer.ggml.tokens",
        Some(Value::Array(vec![Value::U32(1); 3])),
    ));
    assert_mentions(&err, &["tokenizer.ggml.tokens", "not a string"]);
    let err = error_of(&spm_with(
        "tokenizer.ggml.scores",
        Some(Value::Array(vec![Value::String("x".into()); n])),
    ));
    assert_mentions(&err, &["tokenizer.ggml.scores", "not a number"]);
    let err = error_of(&spm_with(
        "tokenizer.ggml.tokens",
        Some(Value::String("x".into())),
    ));
    assert_mentions(&err, &["tokenizer.ggml.tokens", "not an array"]);
    let err = error_of(&spm_with("tokenizer.ggml.tokens", Some(strings(&[]))));
    assert_mentions(&err, &["tokenizer.ggml.tokens", "empty"]);
    let err = error_of(&spm_with(
        "tokenizer.ggml.add_bos_token",
        Some(Value::U32(1)),
    ));
    assert_mentions(&err, &["tokenizer.ggml.add_bos_token", "not a boolean"]);
}

#[test]
fn ids_out_of_range() {
    let n = TinySpm::new().tokens.len() as u32;
    for key in [
        "tokenizer.ggml.bos_token_id",
        "tokenizer.ggml.eos_token_id",
        "tokenizer.ggml.eot_token_id",
        "tokenizer.ggml.eom_token_id",
        "tokenizer.ggml.unknown_token_id",
        "tokenizer.ggml.padding_token_id",
        "tokenizer.ggml.fim_pre_token_id",
        "tokenizer.ggml.fim_suf_token_id",
        "tokenizer.ggml.fim_mid_token_id",
        "tokenizer.ggml.fim_pad_token_id",
        "tokenizer.ggml.fim_rep_token_id",
        "tokenizer.ggml.fim_sep_token_id",
        "tokenizer.ggml.prefix_token_id",
        "tokenizer.ggml.suffix_token_id",
        "tokenizer.ggml.middle_token_id",
    ] {
        let err = error_of(&spm_with(key, Some(Value::U32(n))));
        assert!(
            matches!(err, TokenizerError::InvalidMetadata(_)),
            "{key}: {err:?}"
        );
        assert_mentions(&err, &[key, &n.to_string(), "outside the vocabulary"]);
    }
    let err = error_of(&spm_with(
        "tokenizer.ggml.bos_token_id",
        Some(Value::String("2".into())),
    ));
    assert_mentions(&err, &["tokenizer.ggml.bos_token_id", "not a token id"]);
}

#[test]
fn duplicate_tokens() {
    let mut v = TinySpm::new();
    v.push("hello", -50.0, 1);
    let err = error_of(&v.writer());
    assert_mentions(&err, &["\"hello\"", "twice"]);
}

#[test]
fn add_bos_without_a_bos_token() {
    let v = TinyBpe::new();
    let full = common::file_from(&v.writer("qwen2"));
    let mut w = GgufWriter::new();
    for (k, val) in full.metadata() {
        if k != "tokenizer.ggml.bos_token_id" {
            w.add_metadata(k, val.clone());
        }
    }
    w.add_metadata("tokenizer.ggml.add_bos_token", Value::Bool(true));
    let err = error_of(&w);
    assert_mentions(
        &err,
        &[
            "tokenizer.ggml.add_bos_token",
            "tokenizer.ggml.bos_token_id",
        ],
    );

    // Asking encode() for a BOS the vocabulary lacks is an error too, not a silent omission.
    let mut w = GgufWriter::new();
    for (k, val) in full.metadata() {
        if k != "tokenizer.ggml.bos_token_id" {
            w.add_metadata(k, val.clone());
        }
    }
    let tok = build(&w).unwrap();
    assert_eq!(tok.bos(), None);
    assert!(matches!(tok.encode("hi", true), Err(TokenizerError::NoBos)));
}

#[test]
fn byte_level_vocabulary_without_merges() {
    let v = TinyBpe::new();
    let full = common::file_from(&v.writer("qwen2"));
    let mut w = GgufWriter::new();
    for (k, val) in full.metadata() {
        if k != "tokenizer.ggml.merges" {
            w.add_metadata(k, val.clone());
        }
    }
    let err = error_of(&w);
    assert!(matches!(
        err,
        TokenizerError::Missing("tokenizer.ggml.merges")
    ));
    assert_mentions(&err, &["tokenizer.ggml.merges"]);
}
