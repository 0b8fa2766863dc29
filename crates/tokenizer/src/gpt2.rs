//! Byte-level BPE vocabularies (`tokenizer.ggml.model = "gpt2"`): Qwen, StarCoder, DeepSeek,
//! LLaMA 3 and their relatives.
//!
//! Text is first cut into words by a list of regexes chosen by `tokenizer.ggml.pre`; each regex
//! is applied in turn to every piece the previous one produced, keeping both the matches and the
//! text between them. Each word's bytes are then mapped to printable characters (GPT-2's
//! byte-to-unicode table, so that a space becomes "Ġ") and merged by the ranked merge list.
//! The regexes are the ones llama.cpp uses for each pre-tokenizer name.

use tokenizers::models::bpe::{Vocab, BPE};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::{PreTokenizerWrapper, SplitDelimiterBehavior};

use crate::vocab::Vocabulary;
use crate::TokenizerError;

/// How one family of byte-level vocabularies splits text into words.
pub(crate) struct PreTokenizer {
    /// Applied in order; each splits the pieces the previous one left.
    pub regexes: &'static [&'static str],
    /// Words that are whole vocabulary entries are emitted as is, without merging (LLaMA 3).
    pub ignore_merges: bool,
    /// Whether a BOS token is added when the file does not say (`tokenizer.ggml.add_bos_token`).
    pub add_bos: bool,
}

const GPT2: &[&str] = &[r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)"];

const DEFAULT: &[&str] = &[
    r"[\p{P}\$\+<=>\^~\|]+",
    r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)",
    r"\p{N}+",
    r"[0-9][0-9][0-9]",
];

const LLAMA3: &[&str] = &[
    r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
];

const QWEN2: &[&str] = &[
    r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
];

const QWEN35: &[&str] = &[
    r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
];

const STARCODER: &[&str] = &[
    r"\p{N}",
    r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)",
];

const FALCON: &[&str] = &[
    r"[\p{P}\$\+<=>\^~\|`]+",
    r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)",
    r"[0-9][0-9][0-9]",
];

// Six code points of the letter class are written as escapes: they have canonical singleton
// decompositions (U+1F7D, U+1FBE, U+1FD3, U+1FDB, U+2126, U+212A), and an editor or tool that
// normalises text to NFC would silently turn them into other characters and break the ranges.
const DEEPSEEK_LLM: &[&str] = &[
    "[\r\n]",
    r"\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-\x{1F7D}ᾀ-ᾴᾶ-ᾼ\x{1FBE}ῂ-ῄῆ-ῌῐ-\x{1FD3}ῖ-\x{1FDB}ῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤ\x{2126}ℨ\x{212A}-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+",
    r"\s?[!-/:-~！-／：-～‘-‟　-。]+",
    r"\s+$",
    r"[一-龥ࠀ-一가-퟿]+",
    r"\p{N}+",
];

const DEEPSEEK_CODER: &[&str] = &[
    "[\r\n]",
    r"\s?\p{L}+",
    r"\s?\p{P}+",
    r"[一-龥ࠀ-一가-퟿]+",
    r"\p{N}",
];

const DEEPSEEK_V3: &[&str] = &[
    r"\p{N}{1,3}",
    r"[一-龥぀-ゟ゠-ヿ]+",
    r##"[!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"##,
];

const SEED_CODER: &[&str] = &[
    r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+|\s+(?!\S)|\s+",
];

const BLOOM: &[&str] = &[r" ?[^(\s|.,!?…。，、।۔،)]+"];

const VIKING: &[&str] = &[r" ?[^(\s|.,!?…。，、।۔،)]+", r"\p{N}"];

const TEKKEN: &[&str] = &[
    r"[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+",
];

const GPT4O: &[&str] = &[
    r"[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+",
];

impl PreTokenizer {
    /// The pre-tokenizer llama.cpp uses for a `tokenizer.ggml.pre` value, or `None` for a name
    /// this crate does not know.
    pub(crate) fn by_name(pre: &str) -> Option<PreTokenizer> {
        let p = |regexes, ignore_merges, add_bos| PreTokenizer {
            regexes,
            ignore_merges,
            add_bos,
        };
        Some(match pre {
            "default" => p(DEFAULT, false, false),
            "llama3" | "llama-v3" | "llama-bpe" | "falcon3" | "falcon-h1" | "pixtral"
            | "midm-2.0" | "lfm2" | "jina-v5-nano" => p(LLAMA3, true, true),
            "dbrx" | "smaug-bpe" | "glm4" | "chatglm-bpe" => p(LLAMA3, false, false),
            "deepseek-llm" => p(DEEPSEEK_LLM, false, false),
            "deepseek-coder" => p(DEEPSEEK_CODER, false, false),
            "deepseek-v3" => p(DEEPSEEK_V3, false, false),
            "falcon" => p(FALCON, false, false),
            "starcoder" | "refact" | "command-r" | "smollm" | "codeshell" | "exaone"
            | "minerva-7b" | "mellum2" => p(STARCODER, false, false),
            "gpt-2" | "gpt2" | "phi-2" | "jina-es" | "jina-de" | "gigachat" | "jina-v2-es"
            | "jina-v2-de" | "a.x-4.0" | "mellum" | "modern-bert" | "exaone4" | "jina-v1-en"
            | "jina-v2-code" | "roberta-bpe" | "mpt" | "olmo" | "jais" | "trillion"
            | "granite-docling" => p(GPT2, false, false),
            "qwen2" | "deepseek-r1-qwen" | "kormo" | "f2llmv2" | "megrez" | "stablelm2"
            | "hunyuan" | "solar-open" => p(QWEN2, false, false),
            "qwen35" => p(QWEN35, false, false),
            "seed-coder" => p(SEED_CODER, false, false),
            "poro-chat" | "bloom" | "gpt3-finnish" => p(BLOOM, false, false),
            "viking" => p(VIKING, false, false),
            "tekken" => p(TEKKEN, true, true),
            "gpt-4o" | "llama4" | "kanana2" | "talkie" | "minimax-m2" => p(GPT4O, false, false),
            _ => return None,
        })
    }
}

/// Builds the byte-level BPE tokenizer for a `gpt2` vocabulary.
/// `index` is the vocabulary's text-to-id map.
pub(crate) fn build(
    vocab: &Vocabulary,
    ids: Vocab,
) -> Result<tokenizers::Tokenizer, TokenizerError> {
    // llama.cpp falls back to its default regexes when the file names no pre-tokenizer.
    let pre_name = vocab.pre.as_deref().unwrap_or("default");
    let pre = PreTokenizer::by_name(pre_name)
        .ok_or_else(|| TokenizerError::UnsupportedPreTokenizer(pre_name.into()))?;

    // A merge whose parts or result are not in the vocabulary could never produce a token id;
    // llama.cpp tolerates such entries, so they are dropped rather than rejected.
    let merges: Vec<(String, String)> = vocab
        .merges
        .iter()
        .filter(|(a, b)| {
            ids.contains_key(a) && ids.contains_key(b) && ids.contains_key(&format!("{a}{b}"))
        })
        .cloned()
        .collect();
    let model = BPE::builder()
        .vocab_and_merges(ids, merges)
        .ignore_merges(pre.ignore_merges)
        .build()
        .map_err(|e| TokenizerError::Build(e.to_string()))?;

    let mut steps: Vec<PreTokenizerWrapper> = Vec::with_capacity(pre.regexes.len() + 1);
    for re in pre.regexes {
        let split = Split::new(
            SplitPattern::Regex((*re).to_string()),
            SplitDelimiterBehavior::Isolated,
            false,
        )
        .map_err(|e| TokenizerError::Build(format!("pre-tokenizer {pre_name:?}: {e}")))?;
        steps.push(split.into());
    }
    steps.push(ByteLevel::new(false, false, false).into());

    let mut tokenizer = tokenizers::Tokenizer::new(model);
    tokenizer.with_pre_tokenizer(Some(Sequence::new(steps)));
    Ok(tokenizer)
}

/// GPT-2's byte-to-unicode table, inverted: printable bytes map to themselves, the other 68
/// (controls, space, 0x7F–0xA0, 0xAD) to U+0100 onwards in order. Indexed by code point; -1
/// where a character stands for no byte.
static UNICODE_TO_BYTE: [i16; 0x144] = byte_level_table();

const fn byte_level_table() -> [i16; 0x144] {
    let mut table = [-1i16; 0x144];
    let mut next = 0x100;
    let mut b = 0;
    while b < 256 {
        let printable =
            (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        if printable {
            table[b] = b as i16;
        } else {
            table[next] = b as i16;
            next += 1;
        }
        b += 1;
    }
    table
}

/// The byte a character of GPT-2's byte-to-unicode table stands for.
pub(crate) fn unicode_to_byte(c: char) -> Option<u8> {
    match UNICODE_TO_BYTE.get(c as usize) {
        Some(&b) if b >= 0 => Some(b as u8),
        _ => None,
    }
}

/// The bytes a byte-level token text stands for; characters outside the table are kept as
/// their own UTF-8.
pub(crate) fn decode_byte_level(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        match unicode_to_byte(c) {
            Some(b) => out.push(b),
            None => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_table_round_trips_every_byte() {
        // GPT-2's table: space is "Ġ" (U+0120), newline "Ċ" (U+010A), 'A' itself.
        assert_eq!(unicode_to_byte('Ġ'), Some(b' '));
        assert_eq!(unicode_to_byte('Ċ'), Some(b'\n'));
        assert_eq!(unicode_to_byte('A'), Some(b'A'));
        assert_eq!(unicode_to_byte('\u{0100}'), Some(0));
        assert_eq!(unicode_to_byte('\u{0143}'), Some(0xAD));
        assert_eq!(unicode_to_byte('\u{0144}'), None);
        let mut seen = [false; 256];
        for cp in 0x21u32..0x144 {
            if let Some(b) = char::from_u32(cp).and_then(unicode_to_byte) {
                assert!(!seen[b as usize], "byte {b} mapped twice");
                seen[b as usize] = true;
            }
        }
        assert!(seen.iter().all(|&s| s));
    }

    #[test]
    fn every_pre_tokenizer_regex_compiles() {
        for name in [
            "default",
            "llama3",
            "dbrx",
            "deepseek-llm",
            "deepseek-coder",
            "deepseek-v3",
            "falcon",
            "starcoder",
            "gpt-2",
            "qwen2",
            "qwen35",
            "seed-coder",
            "bloom",
            "viking",
            "tekken",
            "gpt-4o",
        ] {
            let pre = PreTokenizer::by_name(name).unwrap_or_else(|| panic!("{name} is not known"));
            for re in pre.regexes {
                if let Err(e) = Split::new(
                    SplitPattern::Regex((*re).to_string()),
                    SplitDelimiterBehavior::Isolated,
                    false,
                ) {
                    panic!("{name}: {re}: {e}");
                }
            }
        }
        assert!(PreTokenizer::by_name("no-such-pre").is_none());
    }
}
