//! `ferrocodex pull` and `ferrocodex info` as a user runs them: the real binary, its exit
//! status, stdout and stderr. Nothing here touches the network or the user's cache.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ferrocodex_gguf::{GgmlType, GgufWriter, Value};

fn ferrocodex(args: &[&str], home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferrocodex"));
    cmd.args(args)
        .env("FERROCODEX_HOME", home)
        .env_remove("FERROCODEX_MODEL")
        .env_remove("RUST_LOG");
    cmd
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("the ferrocodex binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A small GGUF file with the metadata `info` reads.
fn tiny_model(dir: &Path) -> PathBuf {
    let tokens = ["<pad>", "<eos>", "<bos>", "<fim_prefix>", "x"];
    let mut w = GgufWriter::new();
    w.add_metadata("general.architecture", Value::String("qwen2".into()))
        .add_metadata("qwen2.context_length", Value::U32(256))
        .add_metadata("qwen2.embedding_length", Value::U32(64))
        .add_metadata("qwen2.block_count", Value::U32(3))
        .add_metadata("qwen2.feed_forward_length", Value::U32(128))
        .add_metadata("qwen2.attention.head_count", Value::U32(4))
        .add_metadata("qwen2.attention.head_count_kv", Value::U32(2))
        .add_metadata("qwen2.rope.freq_base", Value::F32(10_000.0))
        .add_metadata("tokenizer.ggml.model", Value::String("gpt2".into()))
        .add_metadata(
            "tokenizer.ggml.tokens",
            Value::Array(
                tokens
                    .iter()
                    .map(|t| Value::String(t.to_string()))
                    .collect(),
            ),
        )
        .add_metadata(
            "tokenizer.ggml.merges",
            Value::Array(vec![Value::String("x x".into())]),
        )
        .add_metadata("tokenizer.ggml.eos_token_id", Value::U32(1))
        .add_metadata("tokenizer.ggml.fim_pre_token_id", Value::U32(3))
        .add_metadata(
            "tokenizer.chat_template",
            Value::String("{{ messages }}".into()),
        )
        .add_f32_tensor("output_norm.weight", &[64], &[1.0; 64])
        .add_tensor(
            "token_embd.weight",
            &[64, 5],
            GgmlType::Q8_0,
            vec![0u8; 34 * 2 * 5],
        );
    let path = dir.join("tiny-qwen2.gguf");
    w.write_file(&path).expect("write the tiny model");
    path
}

#[test]
fn info_prints_a_table_of_the_model() {
    let home = tempfile::tempdir().expect("temp dir");
    let model = tiny_model(home.path());
    let out = run(&mut ferrocodex(
        &["info", model.to_str().expect("utf-8 path")],
        home.path(),
    ));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    for expected in [
        "architecture        qwen2",
        "parameters          384",
        "heads               4 query, 2 key/value",
        "head dim            16",
        "tokenizer           gpt2 (byte-level BPE), 1 merges",
        "FIM tokens          prefix 3 \"<fim_prefix>\"",
        "chat template       yes",
        "  Q8_0",
    ] {
        assert!(
            table.contains(expected),
            "missing {expected:?} in:\n{table}"
        );
    }
}

#[test]
fn info_json_takes_the_model_from_the_environment() {
    let home = tempfile::tempdir().expect("temp dir");
    let model = tiny_model(home.path());
    let out = run(ferrocodex(&["info", "--json"], home.path()).env("FERROCODEX_MODEL", &model));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("info --json prints JSON");
    assert_eq!(json["architecture"], "qwen2");
    assert_eq!(json["layers"], 3);
    assert_eq!(json["kv_heads"], 2);
    assert_eq!(json["tokenizer"]["vocab_size"], 5);
    assert_eq!(json["tokenizer"]["fim"]["prefix"]["id"], 3);
    assert_eq!(
        json["file_size"],
        std::fs::metadata(&model).expect("stat").len()
    );
}

#[test]
fn a_missing_model_file_fails_with_status_1_and_a_sentence() {
    let home = tempfile::tempdir().expect("temp dir");
    let out = run(&mut ferrocodex(
        &["info", "/nonexistent/model.gguf"],
        home.path(),
    ));
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("error: the model file /nonexistent/model.gguf does not exist"),
        "{err}"
    );

    let out = run(&mut ferrocodex(
        &["--model", "/nonexistent/model.gguf", "info"],
        home.path(),
    ));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("given with --model"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn usage_errors_exit_with_status_2() {
    let home = tempfile::tempdir().expect("temp dir");
    for args in [
        &["--threads", "0", "info"][..],
        &["info", "--no-such-flag"],
        &["no-such-command"],
    ] {
        let out = run(&mut ferrocodex(args, home.path()));
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn pull_without_python_says_what_to_install() {
    let home = tempfile::tempdir().expect("temp dir");
    let empty_path = tempfile::tempdir().expect("temp dir");
    let out = run(ferrocodex(&["pull"], home.path()).env("PATH", empty_path.path()));
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("python3 was not found") && err.contains("--model PATH"),
        "{err}"
    );
    // Nothing half-made is left in the cache.
    let models = home.path().join("models");
    let left: Vec<_> = std::fs::read_dir(&models)
        .map(|d| d.flatten().collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_model_named_by_the_environment_must_exist() {
    let home = tempfile::tempdir().expect("temp dir");
    let out =
        run(ferrocodex(&["info"], home.path())
            .env("FERROCODEX_MODEL", "/nonexistent/env-model.gguf"));
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("/nonexistent/env-model.gguf"), "{err}");
}
