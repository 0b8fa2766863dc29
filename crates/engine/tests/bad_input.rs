//! Damaged, hostile and unsupported model files: each is refused with an error that names the
//! problem, never a panic.

use std::path::{Path, PathBuf};

use ferrocodex_engine::{EngineError, LoadOptions, Model};
use ferrocodex_gguf::{GgmlType, GgufFile, GgufWriter, Value};
use ferrocodex_testmodels::{write_tiny_model, TinyArch};

struct Fixture {
    _dir: tempfile::TempDir,
    good: PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.gguf");
    write_tiny_model(TinyArch::Qwen2, &good).unwrap();
    Fixture { _dir: dir, good }
}

fn load(path: &Path) -> Result<Model, EngineError> {
    Model::load(path, &LoadOptions { threads: Some(1) })
}

fn load_err(path: &Path) -> String {
    match load(path) {
        Ok(_) => panic!("{} loaded but should not have", path.display()),
        Err(e) => e.to_string(),
    }
}

/// Rewrites `src` into `dst` after letting `edit` change its metadata and tensors.
fn rewrite(
    src: &Path,
    dst: &Path,
    edit: impl FnOnce(&mut Vec<(String, Value)>, &mut Vec<(String, Vec<u64>, GgmlType, Vec<u8>)>),
) {
    let f = GgufFile::open(src).unwrap();
    let mut meta: Vec<(String, Value)> = f.metadata().to_vec();
    let mut tensors: Vec<_> = f
        .tensors()
        .iter()
        .map(|t| (t.name.clone(), t.dims.clone(), t.dtype, f.tensor_data(t).to_vec()))
        .collect();
    edit(&mut meta, &mut tensors);
    let mut w = GgufWriter::new();
    for (k, v) in meta {
        w.add_metadata(&k, v);
    }
    for (name, dims, dtype, data) in tensors {
        w.add_tensor(&name, &dims, dtype, data);
    }
    w.write_file(dst).unwrap();
}

#[test]
fn the_unmodified_tiny_model_loads() {
    let fx = fixture();
    load(&fx.good).unwrap();
}

#[test]
fn truncated_file() {
    let fx = fixture();
    let bytes = std::fs::read(&fx.good).unwrap();
    let path = fx.good.with_file_name("truncated.gguf");
    for frac in [0.0, 0.001, 0.01, 0.2, 0.5, 0.9, 0.999] {
        std::fs::write(&path, &bytes[..(bytes.len() as f64 * frac) as usize]).unwrap();
        let msg = load_err(&path);
        assert!(msg.contains("truncated") || msg.contains("not a GGUF"), "{frac}: {msg}");
    }
}

#[test]
fn wrong_magic() {
    let fx = fixture();
    let mut bytes = std::fs::read(&fx.good).unwrap();
    bytes[..4].copy_from_slice(b"GGML");
    let path = fx.good.with_file_name("magic.gguf");
    std::fs::write(&path, bytes).unwrap();
    assert!(load_err(&path).contains("not a GGUF model file"));
}

#[test]
fn absurd_tensor_and_metadata_counts() {
    let fx = fixture();
    let good = std::fs::read(&fx.good).unwrap();
    let path = fx.good.with_file_name("counts.gguf");
    let mut bytes = good.clone();
    bytes[8..16].copy_from_slice(&(1u64 << 62).to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    assert!(load_err(&path).contains("tensors, more than the file can hold"));
    let mut bytes = good;
    bytes[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    assert!(load_err(&path).contains("metadata entries, more than the file can hold"));
}

#[test]
fn tensor_past_the_end_of_the_file() {
    let fx = fixture();
    let f = GgufFile::open(&fx.good).unwrap();
    let last = f.tensors().iter().max_by_key(|t| t.offset).unwrap().clone();
    let bytes = std::fs::read(&fx.good).unwrap();
    let path = fx.good.with_file_name("short.gguf");
    std::fs::write(&path, &bytes[..(last.offset + last.size / 2) as usize]).unwrap();
    let msg = load_err(&path);
    assert!(msg.contains(&format!("tensor {}", last.name)) && msg.contains("past the end"), "{msg}");
}

#[test]
fn unsupported_quant_type() {
    let fx = fixture();
    let path = fx.good.with_file_name("q2k.gguf");
    rewrite(&fx.good, &path, |_, tensors| {
        let t = tensors.iter_mut().find(|t| t.0 == "blk.0.ffn_up.weight").unwrap();
        let n: u64 = t.1.iter().product();
        t.2 = GgmlType::Q2_K;
        t.3 = vec![0u8; GgmlType::Q2_K.bytes_for(n).unwrap() as usize];
    });
    let msg = load_err(&path);
    assert!(msg.contains("blk.0.ffn_up.weight") && msg.contains("Q2_K") && msg.contains("cannot run"), "{msg}");
}

#[test]
fn unknown_architecture() {
    let fx = fixture();
    let path = fx.good.with_file_name("arch.gguf");
    rewrite(&fx.good, &path, |meta, _| {
        for (k, v) in meta.iter_mut() {
            if k == "general.architecture" {
                *v = Value::String("mamba".into());
            }
        }
    });
    let msg = load_err(&path);
    assert!(msg.contains("\"mamba\" is not supported"), "{msg}");
}

#[test]
fn missing_tokenizer() {
    let fx = fixture();
    let path = fx.good.with_file_name("notok.gguf");
    rewrite(&fx.good, &path, |meta, _| meta.retain(|(k, _)| !k.starts_with("tokenizer.")));
    let msg = load_err(&path);
    assert!(msg.contains("no tokenizer"), "{msg}");
}

#[test]
fn missing_tensor_and_wrong_shape() {
    let fx = fixture();
    let path = fx.good.with_file_name("notensor.gguf");
    rewrite(&fx.good, &path, |_, tensors| tensors.retain(|t| t.0 != "blk.1.attn_k.weight"));
    assert!(load_err(&path).contains("lacks the tensor blk.1.attn_k.weight"));
    rewrite(&fx.good, &path, |meta, _| {
        for (k, v) in meta.iter_mut() {
            if k == "qwen2.feed_forward_length" {
                *v = Value::U32(999);
            }
        }
    });
    let msg = load_err(&path);
    assert!(msg.contains("has shape"), "{msg}");
}

#[test]
fn out_of_range_token_and_full_context_are_errors() {
    let fx = fixture();
    let m = load(&fx.good).unwrap();
    let mut cache = m.new_cache(4);
    let seq = cache.new_seq();
    let bad = [m.config().vocab_size as u32];
    let e = m
        .forward(&mut cache, &[ferrocodex_engine::SeqInput { seq, tokens: &bad, logits: ferrocodex_engine::LogitsFor::Last }])
        .err()
        .unwrap();
    assert!(e.to_string().contains("outside the vocabulary"));
    let e = m
        .forward(&mut cache, &[ferrocodex_engine::SeqInput { seq, tokens: &[1, 2, 3, 4, 5], logits: ferrocodex_engine::LogitsFor::Last }])
        .err()
        .unwrap();
    assert!(e.to_string().contains("context is full"));
    assert_eq!(cache.seq_len(seq).unwrap(), 0, "a refused batch leaves the cache unchanged");
}
