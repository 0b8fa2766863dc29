//! Small vocabularies learned from a fixed code corpus: byte-level BPE (`gpt2` in GGUF terms)
//! and SentencePiece-style pieces with scores (`llama`), plus each family's special tokens.

use std::collections::{BTreeMap, HashMap};

/// ggml's token types.
pub const NORMAL: i32 = 1;
pub const UNKNOWN: i32 = 2;
pub const CONTROL: i32 = 3;
pub const USER_DEFINED: i32 = 4;
pub const BYTE: i32 = 6;

/// The corpus every vocabulary is learned from. Never edit it: the models and the goldens
/// made from them depend on every byte.
pub const CORPUS: &str = include_str!("corpus.txt");

/// A complete tokenizer description as GGUF stores it.
#[derive(Clone, Debug, Default)]
pub struct Vocab {
    /// `tokenizer.ggml.model`: "llama" (SentencePiece) or "gpt2" (byte-level BPE).
    pub model: &'static str,
    /// `tokenizer.ggml.pre`, if written.
    pub pre: Option<&'static str>,
    pub tokens: Vec<String>,
    pub scores: Option<Vec<f32>>,
    pub types: Vec<i32>,
    pub merges: Option<Vec<String>>,
    pub ids: Vec<(&'static str, u32)>,
    pub add_bos: Option<bool>,
    pub add_eos: Option<bool>,
    pub add_space_prefix: Option<bool>,
}

impl Vocab {
    pub fn id(&self, text: &str) -> u32 {
        self.tokens
            .iter()
            .position(|t| t == text)
            .unwrap_or_else(|| panic!("token {text:?} missing")) as u32
    }
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Cat {
    Letter,
    Number,
    Space,
    Newline,
    Other,
}

fn cat(c: char) -> Cat {
    if c == '\n' || c == '\r' {
        Cat::Newline
    } else if c.is_whitespace() {
        Cat::Space
    } else if c.is_alphabetic() {
        Cat::Letter
    } else if c.is_numeric() {
        Cat::Number
    } else {
        Cat::Other
    }
}

/// Splits text into training words, GPT-2 style: an optional leading space joins the run of
/// letters, digits (at most `max_digits`) or punctuation that follows it; newline runs and
/// other whitespace runs stand alone.
fn split_words(text: &str, max_digits: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let start = i;
        let c = chars[i];
        let mut k = cat(c);
        if c == ' ' && i + 1 < chars.len() && matches!(cat(chars[i + 1]), Cat::Letter | Cat::Number | Cat::Other) {
            i += 1;
            k = cat(chars[i]);
        }
        let limit = if k == Cat::Number { max_digits } else { usize::MAX };
        let mut n = 0;
        while i < chars.len() && cat(chars[i]) == k && n < limit {
            i += 1;
            n += 1;
        }
        // A whitespace run leaves its last space to the word after it.
        if k == Cat::Space && i < chars.len() && i - start > 1 && chars[i - 1] == ' ' && cat(chars[i]) != Cat::Newline {
            i -= 1;
        }
        out.push(chars[start..i].iter().collect());
    }
    out
}

/// Learns `n_merges` merges over words given as unit sequences (most frequent pair first,
/// ties broken by the smaller pair, so the result is the same every time). Stops early when
/// no pair occurs twice.
fn train(words: &BTreeMap<Vec<String>, u64>, n_merges: usize) -> Vec<(String, String)> {
    let mut words: Vec<(Vec<String>, u64)> = words.iter().map(|(w, c)| (w.clone(), *c)).collect();
    let mut merges = Vec::new();
    while merges.len() < n_merges {
        let mut counts: HashMap<(&str, &str), u64> = HashMap::new();
        for (w, c) in &words {
            for p in w.windows(2) {
                *counts.entry((p[0].as_str(), p[1].as_str())).or_default() += c;
            }
        }
        let best = counts
            .iter()
            .max_by(|(pa, ca), (pb, cb)| ca.cmp(cb).then_with(|| pb.cmp(pa)))
            .map(|(p, c)| ((p.0.to_string(), p.1.to_string()), *c));
        let Some(((a, b), count)) = best else { break };
        if count < 2 {
            break;
        }
        let joined = format!("{a}{b}");
        for (w, _) in words.iter_mut() {
            let mut i = 0;
            while i + 1 < w.len() {
                if w[i] == a && w[i + 1] == b {
                    w[i] = joined.clone();
                    w.remove(i + 1);
                }
                i += 1;
            }
        }
        merges.push((a, b));
    }
    merges
}

/// GPT-2's reversible byte → printable character map.
pub fn byte_to_char(b: u8) -> char {
    let printable = |b: u8| (b'!'..=b'~').contains(&b) || (0xa1..=0xac).contains(&b) || (0xae..=0xff).contains(&b);
    if printable(b) {
        return b as char;
    }
    let n = (0..b).filter(|&x| !printable(x)).count() as u32;
    char::from_u32(256 + n).unwrap()
}

fn byte_encode(s: &str) -> String {
    s.bytes().map(byte_to_char).collect()
}

/// The training text: the corpus, once more with CRLF line endings.
fn training_text() -> String {
    format!("{CORPUS}{}", CORPUS.replace('\n', "\r\n"))
}

/// Byte-level BPE: 256 byte tokens followed by `n_merges` merged tokens. Returns the tokens
/// (without specials) and the merges in GGUF's "a b" form.
pub fn bpe(n_merges: usize, max_digits: usize) -> (Vec<String>, Vec<String>) {
    let mut words: BTreeMap<Vec<String>, u64> = BTreeMap::new();
    for w in split_words(&training_text(), max_digits) {
        let units: Vec<String> = byte_encode(&w).chars().map(|c| c.to_string()).collect();
        *words.entry(units).or_default() += 1;
    }
    let merges = train(&words, n_merges);
    let mut tokens: Vec<String> = (0..=255u8).map(|b| byte_to_char(b).to_string()).collect();
    for (a, b) in &merges {
        tokens.push(format!("{a}{b}"));
    }
    let merges = merges.iter().map(|(a, b)| format!("{a} {b}")).collect();
    (tokens, merges)
}

/// SentencePiece-style pieces: merged pieces (score = −rank) then the single characters of
/// the corpus (lower scores). Spaces are "▁"; newlines and tabs are left to byte fallback or
/// to user-defined tokens.
pub fn spm_pieces(n_merges: usize) -> Vec<(String, f32)> {
    let mut words: BTreeMap<Vec<String>, u64> = BTreeMap::new();
    let mut chars: BTreeMap<char, u64> = BTreeMap::new();
    for w in split_words(&training_text(), 1) {
        if w.contains(['\n', '\r', '\t']) {
            continue;
        }
        let w = w.replace(' ', "\u{2581}");
        for c in w.chars() {
            *chars.entry(c).or_default() += 1;
        }
        *words.entry(w.chars().map(|c| c.to_string()).collect()).or_default() += 1;
    }
    let merges = train(&words, n_merges);
    let mut out: Vec<(String, f32)> = Vec::new();
    for (i, (a, b)) in merges.iter().enumerate() {
        out.push((format!("{a}{b}"), -(i as f32)));
    }
    // Characters by frequency (then code point), as SentencePiece ranks them.
    let mut chars: Vec<(char, u64)> = chars.into_iter().collect();
    chars.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    for (i, (c, _)) in chars.iter().enumerate() {
        out.push((c.to_string(), -((merges.len() + i) as f32)));
    }
    out
}

/// `<0x00>` … `<0xFF>`.
pub fn byte_pieces() -> Vec<String> {
    (0..=255u32).map(|b| format!("<0x{b:02X}>")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_map_is_gpt2s() {
        assert_eq!(byte_to_char(b' '), 'Ġ');
        assert_eq!(byte_to_char(b'\n'), 'Ċ');
        assert_eq!(byte_to_char(b'\t'), 'ĉ');
        assert_eq!(byte_to_char(b'A'), 'A');
        let all: std::collections::BTreeSet<char> = (0..=255u8).map(byte_to_char).collect();
        assert_eq!(all.len(), 256);
    }

    #[test]
    fn bpe_merges_build_on_known_tokens() {
        let (tokens, merges) = bpe(200, 3);
        assert_eq!(merges.len(), 200);
        let known: std::collections::HashSet<&str> = tokens.iter().map(|s| s.as_str()).collect();
        for (i, m) in merges.iter().enumerate() {
            let (a, b) = m.split_once(' ').unwrap();
            assert!(known.contains(a) && known.contains(b), "{m}");
            assert_eq!(tokens[256 + i], format!("{a}{b}"));
        }
    }

    #[test]
    fn spm_pieces_are_reachable_by_pairwise_merges() {
        let pieces = spm_pieces(150);
        let set: std::collections::HashSet<&str> = pieces.iter().map(|p| p.0.as_str()).collect();
        for (p, _) in &pieces {
            let chars: Vec<char> = p.chars().collect();
            if chars.len() > 1 {
                assert!(
                    (1..chars.len()).any(|k| {
                        let (a, b): (String, String) = (chars[..k].iter().collect(), chars[k..].iter().collect());
                        set.contains(a.as_str()) && set.contains(b.as_str())
                    }),
                    "{p}"
                );
            }
        }
    }
}
