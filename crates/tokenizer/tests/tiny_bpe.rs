//! Byte-level BPE (`gpt2`) vocabularies, on a tiny vocabulary written as GGUF.

mod common;

use common::{build, byte_char, byte_level, TinyBpe};
use ferrocodex_tokenizer::{FimTokens, StreamDecoder, TokenizerError};

fn ids_of(v: &TinyBpe, texts: &[&str]) -> Vec<u32> {
    texts.iter().map(|t| v.id(&byte_level(t))).collect()
}

#[test]
fn merges_apply_within_words() {
    let v = TinyBpe::new();
    let tok = build(&v.writer("qwen2")).unwrap();
    assert_eq!(tok.kind(), "gpt2");
    assert_eq!(
        tok.encode("hello world", false).unwrap(),
        ids_of(&v, &["hello", " world"])
    );
    // "Ġworld" is a token, but "world" without the space is not: it stays in pieces.
    assert_eq!(
        tok.encode("world", false).unwrap(),
        ids_of(&v, &["w", "or", "ld"])
    );
    assert_eq!(
        tok.token_bytes(v.id(&byte_level(" world")), false),
        b" world"
    );
    assert_eq!(tok.token_text(v.id(&byte_level(" world"))), Some("Ġworld"));
}

#[test]
fn pre_tokenizer_follows_the_files_pre_name() {
    let v = TinyBpe::new();
    // Qwen2 and StarCoder split numbers into single digits, so "12" never merges.
    for pre in ["qwen2", "starcoder", "refact", "deepseek-coder"] {
        let tok = build(&v.writer(pre)).unwrap();
        assert_eq!(
            tok.encode("123", false).unwrap(),
            ids_of(&v, &["1", "2", "3"]),
            "pre {pre}"
        );
    }
    // LLaMA 3 keeps up to three digits together, so the merges apply.
    let tok = build(&v.writer("llama-bpe")).unwrap();
    assert_eq!(tok.encode("123", false).unwrap(), ids_of(&v, &["123"]));
    assert_eq!(
        tok.encode("1234", false).unwrap(),
        ids_of(&v, &["123", "4"])
    );
    // GPT-2 and the default keep runs of digits as one word.
    for pre in ["gpt-2", "default", "deepseek-llm"] {
        let tok = build(&v.writer(pre)).unwrap();
        assert_eq!(
            tok.encode("123", false).unwrap(),
            ids_of(&v, &["123"]),
            "pre {pre}"
        );
    }
    // Without a pre name llama.cpp uses its default regexes.
    let mut w = v.writer("default");
    let file = common::file_from(&w);
    let mut bare = ferrocodex_gguf::GgufWriter::new();
    for (k, val) in file.metadata() {
        if k != "tokenizer.ggml.pre" {
            bare.add_metadata(k, val.clone());
        }
    }
    w = bare;
    let tok = build(&w).unwrap();
    assert_eq!(
        tok.encode("hello world", false).unwrap(),
        ids_of(&v, &["hello", " world"])
    );
}

#[test]
fn an_unknown_pre_tokenizer_is_an_error_naming_it() {
    let v = TinyBpe::new();
    let err = build(&v.writer("mystery-bpe")).unwrap_err();
    assert!(matches!(err, TokenizerError::UnsupportedPreTokenizer(ref p) if p == "mystery-bpe"));
    assert!(err.to_string().contains("mystery-bpe"), "{err}");
}

#[test]
fn special_tokens_are_split_out_and_decoded_only_on_request() {
    let v = TinyBpe::new();
    let tok = build(&v.writer("qwen2")).unwrap();
    let ids = tok.encode("<|im_start|>hello<|im_end|>\n", false).unwrap();
    let mut expected = vec![v.id("<|im_start|>")];
    expected.extend(ids_of(&v, &["hello"]));
    expected.push(v.id("<|im_end|>"));
    expected.extend(ids_of(&v, &["\n"]));
    assert_eq!(ids, expected);
    assert_eq!(tok.decode(&ids), "hello\n");
    assert_eq!(tok.token_bytes(v.id("<|im_end|>"), false), Vec::<u8>::new());
    assert_eq!(tok.token_bytes(v.id("<|im_end|>"), true), b"<|im_end|>");
    assert!(tok.is_control(v.id("<|im_end|>")));
}

#[test]
fn bytes_round_trip_through_byte_level_tokens() {
    let v = TinyBpe::new();
    let tok = build(&v.writer("qwen2")).unwrap();
    for text in [
        "hi 🙂",
        "中文 text\r\n\tend",
        "\u{0}\u{7f}\u{a0}\u{ad}",
        "  spaces  ",
        "hello world 123",
    ] {
        let ids = tok.encode(text, false).unwrap();
        assert_eq!(tok.decode(&ids), text, "ids {ids:?}");
    }
    // The emoji is four byte tokens: streaming holds the first three back.
    let ids = tok.encode("🙂", false).unwrap();
    let expected: Vec<u32> = "🙂"
        .bytes()
        .map(|b| v.id(&byte_char(b).to_string()))
        .collect();
    assert_eq!(ids, expected);
    let mut stream = StreamDecoder::new(&tok);
    let pieces: Vec<String> = ids.iter().map(|&id| stream.push(id)).collect();
    assert_eq!(pieces, vec!["", "", "", "🙂"]);
    assert_eq!(stream.finish(), "");
}

#[test]
fn eog_and_fim_tokens_are_found_by_text() {
    let v = TinyBpe::new();
    let tok = build(&v.writer("qwen2")).unwrap();
    assert_eq!(tok.eos(), Some(v.id("<|im_end|>")));
    assert!(!tok.add_bos());
    for eog in [
        "<|im_end|>",
        "<|endoftext|>",
        "<|fim_pad|>",
        "<|repo_name|>",
        "<|file_sep|>",
    ] {
        assert!(tok.is_eog(v.id(eog)), "{eog} ends generation");
    }
    for not_eog in ["<|im_start|>", "<|fim_prefix|>", "<|fim_middle|>"] {
        assert!(
            !tok.is_eog(v.id(not_eog)),
            "{not_eog} does not end generation"
        );
    }
    assert_eq!(
        tok.fim(),
        Some(FimTokens {
            prefix: v.id("<|fim_prefix|>"),
            suffix: v.id("<|fim_suffix|>"),
            middle: v.id("<|fim_middle|>"),
            pad: Some(v.id("<|fim_pad|>")),
            repo: Some(v.id("<|repo_name|>")),
            sep: Some(v.id("<|file_sep|>")),
        })
    );
}

#[test]
fn fim_ids_in_metadata_take_precedence() {
    let v = TinyBpe::new();
    let mut w = v.writer("qwen2");
    let (a, b, c) = (
        v.id("<|im_start|>"),
        v.id("<|im_end|>"),
        v.id("<|endoftext|>"),
    );
    w.add_metadata(
        "tokenizer.ggml.prefix_token_id",
        ferrocodex_gguf::Value::U32(a),
    )
    .add_metadata(
        "tokenizer.ggml.suffix_token_id",
        ferrocodex_gguf::Value::U32(b),
    )
    .add_metadata(
        "tokenizer.ggml.middle_token_id",
        ferrocodex_gguf::Value::U32(c),
    );
    let fim = build(&w).unwrap().fim().expect("fim tokens");
    assert_eq!((fim.prefix, fim.suffix, fim.middle), (a, b, c));
}
