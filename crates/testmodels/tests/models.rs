//! The tiny models: byte-stable, readable by our GGUF reader, shaped as llama.cpp expects, and
//! the very files the llama.cpp goldens were made from.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use ferrocodex_gguf::{GgmlType, GgufFile};
use ferrocodex_testmodels::{all, tiny_model_bytes, write_tiny_model, TinyArch};
use sha2::{Digest, Sha256};

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn parse(arch: TinyArch) -> GgufFile {
    let bytes = tiny_model_bytes(arch).unwrap();
    GgufFile::from_bytes(&PathBuf::from(arch.file_name()), Arc::new(bytes)).unwrap()
}

#[test]
fn two_writes_are_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    for &arch in all() {
        let a = dir.path().join(format!("a-{}", arch.file_name()));
        let b = dir.path().join(format!("b-{}", arch.file_name()));
        write_tiny_model(arch, &a).unwrap();
        write_tiny_model(arch, &b).unwrap();
        let (ha, hb) = (sha256(&std::fs::read(&a).unwrap()), sha256(&std::fs::read(&b).unwrap()));
        assert_eq!(ha, hb, "{}", arch.name());
    }
}

#[test]
fn names_round_trip() {
    for &arch in all() {
        assert_eq!(TinyArch::from_name(arch.name()), Some(arch));
    }
    assert_eq!(all().len(), 5);
}

#[test]
fn files_carry_what_llama_cpp_needs() {
    for &arch in all() {
        let f = parse(arch);
        let a = arch.gguf_architecture();
        assert_eq!(f.get_str("general.architecture"), Some(a));
        for key in [
            "block_count",
            "context_length",
            "embedding_length",
            "feed_forward_length",
            "attention.head_count",
            "attention.head_count_kv",
            "attention.key_length",
            "attention.value_length",
            "rope.freq_base",
            "rope.dimension_count",
        ] {
            assert!(f.get(&format!("{a}.{key}")).is_some(), "{}: {a}.{key}", arch.name());
        }
        let eps = if arch == TinyArch::Starcoder2 {
            "layer_norm_epsilon"
        } else {
            "layer_norm_rms_epsilon"
        };
        assert!(f.get(&format!("{a}.attention.{eps}")).is_some(), "{}", arch.name());
        let n_vocab = f.get_array("tokenizer.ggml.tokens").unwrap().len() as u64;
        assert_eq!(f.get_array("tokenizer.ggml.token_type").unwrap().len() as u64, n_vocab);
        assert!((300..1000).contains(&n_vocab), "{}: {n_vocab} tokens", arch.name());
        let model = f.get_str("tokenizer.ggml.model").unwrap();
        match model {
            "gpt2" => assert!(f.get_array("tokenizer.ggml.merges").is_some()),
            "llama" => assert_eq!(f.get_array("tokenizer.ggml.scores").unwrap().len() as u64, n_vocab),
            other => panic!("{other}"),
        }
        for id in ["bos", "eos"] {
            let v = f.get_u64(&format!("tokenizer.ggml.{id}_token_id")).unwrap();
            assert!(v < n_vocab);
        }
        if arch != TinyArch::Gemma3 {
            for id in ["fim_pre", "fim_suf", "fim_mid"] {
                let v = f
                    .get_u64(&format!("tokenizer.ggml.{id}_token_id"))
                    .unwrap_or_else(|| panic!("{} {id}", arch.name()));
                assert!(v < n_vocab);
            }
        }
        let embd = f.tensor("token_embd.weight").unwrap();
        assert_eq!(embd.dims, vec![256, n_vocab]);
        let n_layer = f.get_u64(&format!("{a}.block_count")).unwrap();
        assert_eq!(n_layer, if arch == TinyArch::Gemma3 { 6 } else { 2 });
        for l in 0..n_layer {
            for t in [
                "attn_norm",
                "attn_q",
                "attn_k",
                "attn_v",
                "attn_output",
                "ffn_norm",
                "ffn_up",
                "ffn_down",
            ] {
                assert!(
                    f.tensor(&format!("blk.{l}.{t}.weight")).is_some(),
                    "{} blk.{l}.{t}",
                    arch.name()
                );
            }
            let k = f.tensor(&format!("blk.{l}.attn_k.weight")).unwrap();
            let kv_heads = f.get_u64(&format!("{a}.attention.head_count_kv")).unwrap();
            assert_eq!(k.dims, vec![256, 64 * kv_heads]);
        }
    }
}

#[test]
fn every_engine_type_appears() {
    let mut seen = BTreeSet::new();
    for &arch in all() {
        for t in parse(arch).tensors() {
            seen.insert(format!("{}", t.dtype));
        }
    }
    for t in [
        GgmlType::F32,
        GgmlType::F16,
        GgmlType::BF16,
        GgmlType::Q8_0,
        GgmlType::Q4_0,
        GgmlType::Q5_0,
        GgmlType::Q4_K,
        GgmlType::Q5_K,
        GgmlType::Q6_K,
    ] {
        assert!(seen.contains(&format!("{t}")), "{t} not used by any tiny model");
    }
}

/// The goldens made by scripts/make_goldens.py name the sha256 of the model they ran; the
/// generator must still produce exactly that file, or the goldens are stale.
#[test]
fn goldens_match_these_files() {
    let goldens = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/goldens");
    for &arch in all() {
        let path = goldens.join(format!("tiny-{}.json", arch.name()));
        let Ok(text) = std::fs::read_to_string(&path) else {
            eprintln!("{} missing: skipped", path.display());
            continue;
        };
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        let want = json["model_sha256"].as_str().unwrap();
        let got = sha256(&tiny_model_bytes(arch).unwrap());
        assert_eq!(
            got,
            want,
            "tiny-{} changed since its goldens were made: regenerate them with scripts/make_goldens.py",
            arch.name()
        );
    }
}

/// The engine's dequantization (ferrocodex-quant) reads every weight of every tiny model as
/// this crate's reference decoder (ggml's formulas) does: two implementations of the block
/// layouts checking each other.
#[test]
fn engine_dequantization_agrees_with_the_reference_decoder() {
    for &arch in all() {
        let f = parse(arch);
        for t in f.tensors() {
            let row = t.dims[0] as usize;
            let n = t.n_elements() as usize;
            let bytes = f.tensor_data(t);
            let want = ferrocodex_testmodels::encode::decode(t.dtype, bytes);
            assert_eq!(want.len(), n, "{}", t.name);
            let row_bytes = bytes.len() / (n / row);
            let mut got = vec![0f32; row];
            for (r, chunk) in bytes.chunks_exact(row_bytes).enumerate() {
                ferrocodex_quant::dequantize_row(t.dtype, chunk, &mut got);
                for (i, (a, b)) in got.iter().zip(&want[r * row..(r + 1) * row]).enumerate() {
                    assert!(
                        (a - b).abs() <= 1e-6 * b.abs().max(1e-3),
                        "{} {} {}[{r}][{i}]: engine {a}, reference {b}",
                        arch.name(),
                        t.dtype,
                        t.name
                    );
                }
            }
        }
    }
}
