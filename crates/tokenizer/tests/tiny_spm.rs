//! SentencePiece (`llama`) vocabularies, on a tiny vocabulary written as GGUF.

mod common;

use common::{build, ReferenceSpm, TinySpm};
use ferrocodex_gguf::Value;
use ferrocodex_tokenizer::{StreamDecoder, Tokenizer};

fn tiny() -> (TinySpm, Tokenizer) {
    let v = TinySpm::new();
    let tok = build(&v.writer()).expect("tiny vocabulary builds");
    (v, tok)
}

#[test]
fn tokenizer_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Tokenizer>();
}

#[test]
fn merges_follow_scores() {
    let (v, tok) = tiny();
    assert_eq!(tok.kind(), "llama");
    assert_eq!(
        tok.encode("hello world", false).unwrap(),
        vec![v.id("hello"), v.id("▁world")]
    );
    assert_eq!(tok.encode(" hello", false).unwrap(), vec![v.id("▁hello")]);
    assert_eq!(tok.encode("", false).unwrap(), Vec::<u32>::new());
    assert_eq!(tok.encode("  ", false).unwrap(), vec![v.id("▁▁")]);
}

#[test]
fn bos_is_prepended_on_request() {
    let (v, tok) = tiny();
    assert!(tok.add_bos());
    assert_eq!(tok.bos(), Some(2));
    assert_eq!(tok.eos(), Some(1));
    assert_eq!(tok.encode("hello", true).unwrap(), vec![2, v.id("hello")]);
    assert_eq!(tok.encode("", true).unwrap(), vec![2]);
}

#[test]
fn characters_outside_the_vocabulary_fall_back_to_bytes() {
    let (v, tok) = tiny();
    let emoji: Vec<u32> = "🙂".bytes().map(|b| v.byte(b)).collect();
    assert_eq!(emoji.len(), 4);
    let ids = tok.encode("hello 🙂", false).unwrap();
    assert_eq!(ids, [vec![v.id("hello"), v.id("▁")], emoji].concat());
    let cjk: Vec<u32> = "中文".bytes().map(|b| v.byte(b)).collect();
    assert_eq!(tok.encode("中文", false).unwrap(), cjk);
    // A character in the vocabulary is not split.
    assert_eq!(tok.encode("é", false).unwrap(), vec![v.id("é")]);
    for text in ["hello 🙂", "中文", "é!", "a\u{0}b", "x"] {
        assert_eq!(tok.decode(&tok.encode(text, false).unwrap()), text);
    }
}

#[test]
fn special_tokens_in_text_are_split_out() {
    let (v, tok) = tiny();
    let ids = tok
        .encode("<start_of_turn>hello<end_of_turn>\n", true)
        .unwrap();
    assert_eq!(
        ids,
        vec![
            2,
            v.id("<start_of_turn>"),
            v.id("hello"),
            v.id("<end_of_turn>"),
            v.id("\n")
        ]
    );
    // User-defined runs of newlines: the longest is matched first.
    assert_eq!(
        tok.encode("\n\n\n", false).unwrap(),
        vec![v.id("\n\n"), v.id("\n")]
    );
    // Longest first, as llama.cpp does: "x]]" is taken before "[x", though "[x" starts earlier.
    assert_eq!(
        tok.encode("[x]]", false).unwrap(),
        vec![v.byte(b'['), v.id("x]]")]
    );
    assert_eq!(
        tok.encode("[x]", false).unwrap(),
        vec![v.id("[x"), v.byte(b']')]
    );
    // A special token's text split by other text is not the special token.
    let broken = tok.encode("<start_of_turn", false).unwrap();
    assert!(!broken.contains(&v.id("<start_of_turn>")));
}

#[test]
fn crlf_keeps_the_carriage_return_as_a_byte() {
    let (v, tok) = tiny();
    let ids = tok.encode("a\r\nb", false).unwrap();
    assert_eq!(ids, vec![v.id("a"), v.byte(b'\r'), v.id("\n"), v.id("b")]);
    assert_eq!(tok.decode(&ids), "a\r\nb");
}

#[test]
fn decode_omits_control_tokens_and_round_trips_text() {
    let (v, tok) = tiny();
    let ids = tok
        .encode("<start_of_turn>hello world<end_of_turn>\n", true)
        .unwrap();
    assert_eq!(tok.decode(&ids), "hello world\n");
    for text in [
        "hello world",
        " hello  world!",
        "a\r\n\n\nb",
        "ééé 🙂🙂 中",
        "abababa",
        "",
    ] {
        let ids = tok.encode(text, false).unwrap();
        assert_eq!(tok.decode(&ids), text, "ids {ids:?}");
    }
    assert_eq!(
        tok.decode(&[v.id("hello"), 999_999]),
        "hello",
        "unknown ids give no text"
    );
}

#[test]
fn token_bytes_follow_token_types() {
    let (v, tok) = tiny();
    assert_eq!(tok.token_bytes(v.id("▁world"), false), b" world");
    assert_eq!(tok.token_bytes(v.byte(0x0A), false), vec![0x0A]);
    assert_eq!(tok.token_bytes(v.byte(0xF0), true), vec![0xF0]);
    assert_eq!(
        tok.token_bytes(v.id("<start_of_turn>"), false),
        Vec::<u8>::new()
    );
    assert_eq!(
        tok.token_bytes(v.id("<start_of_turn>"), true),
        b"<start_of_turn>"
    );
    assert_eq!(tok.token_bytes(v.id("\n\n"), false), b"\n\n");
    assert_eq!(tok.token_bytes(u32::MAX, true), Vec::<u8>::new());
}

#[test]
fn vocabulary_lookups() {
    let (v, tok) = tiny();
    assert_eq!(tok.vocab_size(), v.tokens.len());
    assert_eq!(tok.token_text(v.id("▁world")), Some("▁world"));
    assert_eq!(tok.token_text(u32::MAX), None);
    assert_eq!(tok.token_id("▁world"), Some(v.id("▁world")));
    assert_eq!(tok.token_id("<start_of_turn>"), Some(4));
    assert_eq!(tok.token_id("nope"), None);
    assert_eq!(tok.chat_template(), Some("{{ bos_token }}"));
    assert_eq!(tok.fim(), None);
}

#[test]
fn end_of_generation_and_control_tokens() {
    let (v, tok) = tiny();
    assert!(tok.is_eog(1), "EOS ends generation");
    assert!(
        tok.is_eog(v.id("<end_of_turn>")),
        "<end_of_turn> is recognised by its text"
    );
    assert!(!tok.is_eog(2));
    assert!(!tok.is_eog(v.id("<start_of_turn>")));
    assert!(!tok.is_eog(v.id("hello")));
    assert!(tok.is_control(v.id("<start_of_turn>")));
    assert!(!tok.is_control(v.id("\n")), "user-defined tokens are text");
    assert!(!tok.is_control(v.id("hello")));
    assert!(!tok.is_control(u32::MAX));
}

#[test]
fn stream_decoder_never_emits_half_a_character() {
    let (v, tok) = tiny();
    let mut stream = StreamDecoder::new(&tok);
    let emoji: Vec<u32> = "🙂".bytes().map(|b| v.byte(b)).collect();
    assert_eq!(stream.push(v.id("hello")), "hello");
    assert_eq!(stream.push(emoji[0]), "");
    assert_eq!(stream.push(emoji[1]), "");
    assert_eq!(stream.push(emoji[2]), "");
    assert_eq!(stream.push(emoji[3]), "🙂");
    assert_eq!(stream.push(v.id("<end_of_turn>")), "");
    assert_eq!(stream.finish(), "");

    // Every emitted piece is whole UTF-8 and together they equal decode(), also for broken bytes.
    let valid: Vec<u32> = [
        vec![v.id("▁world")],
        "中🙂é".bytes().map(|b| v.byte(b)).collect(),
    ]
    .concat();
    let mut stream = StreamDecoder::new(&tok);
    let pieces: Vec<String> = valid.iter().map(|&id| stream.push(id)).collect();
    assert!(pieces.iter().all(|p| !p.contains('\u{FFFD}')), "{pieces:?}");
    assert_eq!(pieces.concat(), " world中🙂é");
    let sequences: Vec<Vec<u32>> = vec![
        valid.clone(),
        vec![v.byte(0xF0), v.id("hello")],
        vec![v.byte(0xFF), v.byte(0xC3), v.byte(0xA9), v.byte(0xE4)],
        vec![v.byte(0xF0), v.byte(0x9F)],
    ];
    for ids in sequences {
        let mut stream = StreamDecoder::new(&tok);
        let mut text = String::new();
        for &id in &ids {
            text.push_str(&stream.push(id));
        }
        text.push_str(&stream.finish());
        assert_eq!(text, tok.decode(&ids), "ids {ids:?}");
    }

    let mut stream = StreamDecoder::new(&tok);
    assert_eq!(stream.push(v.byte(0xF0)), "");
    assert_eq!(stream.push(v.byte(0x9F)), "");
    assert_eq!(
        stream.finish(),
        "\u{FFFD}",
        "an unfinished character is flushed lossily"
    );
    assert_eq!(stream.finish(), "");
}

#[test]
fn space_prefix_is_added_before_every_text_fragment() {
    let v = TinySpm::new();
    let mut w = v.writer();
    w.add_metadata("tokenizer.ggml.add_space_prefix", Value::Bool(true));
    let tok = build(&w).unwrap();
    assert_eq!(
        tok.encode("hello world", false).unwrap(),
        vec![v.id("▁hello"), v.id("▁world")]
    );
    // llama.cpp prefixes the text after each special token as well.
    assert_eq!(
        tok.encode("<start_of_turn>hello", false).unwrap(),
        vec![v.id("<start_of_turn>"), v.id("▁hello")]
    );
}

#[test]
fn defaults_follow_llama_cpp_when_metadata_is_silent() {
    let v = TinySpm::new();
    let full = common::file_from(&v.writer());
    let mut w = ferrocodex_gguf::GgufWriter::new();
    for key in [
        "tokenizer.ggml.model",
        "tokenizer.ggml.tokens",
        "tokenizer.ggml.scores",
        "tokenizer.ggml.token_type",
    ] {
        w.add_metadata(key, full.get(key).cloned().expect("key present"));
    }
    let tok = build(&w).unwrap();
    // SentencePiece defaults: BOS added, id 1 is BOS, 2 EOS, and a space prefix.
    assert!(tok.add_bos());
    assert_eq!(tok.bos(), Some(1));
    assert_eq!(tok.eos(), Some(2));
    assert_eq!(tok.encode("hello", false).unwrap(), vec![v.id("▁hello")]);
    assert_eq!(tok.chat_template(), None);
}

/// A tiny xorshift generator, so the comparison below is reproducible without dependencies.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn matches_an_independent_sentencepiece_implementation() {
    let (v, tok) = tiny();
    let types: Vec<i64> = v.types.iter().map(|&t| t as i64).collect();
    let reference = ReferenceSpm::new(&v.tokens, &v.scores, &types, false);
    let alphabet = [
        "h",
        "e",
        "l",
        "o",
        "w",
        "r",
        "d",
        " ",
        "!",
        "a",
        "b",
        "é",
        "🙂",
        "中",
        "\n",
        "\r",
        "x",
        "hello",
        " world",
        "ab",
        "<end_of_turn>",
        "[",
        "]",
        "[x",
        "x]]",
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..3000 {
        let len = (rng.next() % 24) as usize;
        let text: String = (0..len)
            .map(|_| alphabet[(rng.next() % alphabet.len() as u64) as usize])
            .collect();
        assert_eq!(
            tok.encode(&text, false).unwrap(),
            reference.encode(&text),
            "text {text:?}"
        );
    }
}

#[test]
fn phi3_drops_whitespace_after_special_tokens() {
    let v = TinySpm::new();
    let plain = build(&v.writer()).unwrap();
    let mut w = v.writer();
    w.add_metadata(
        "general.name",
        Value::String("Phi-3-mini-4k-instruct".into()),
    );
    let phi3 = build(&w).unwrap();
    let text = "<end_of_turn> \n hello";
    assert_eq!(
        phi3.encode(text, false).unwrap(),
        vec![v.id("<end_of_turn>"), v.id("hello")]
    );
    assert_eq!(
        plain.encode(text, false).unwrap(),
        vec![v.id("<end_of_turn>"), v.id("▁"), v.id("\n"), v.id("▁hello")]
    );
}
