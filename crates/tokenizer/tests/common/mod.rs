//! Helpers shared by the tokenizer test suites: small vocabularies written as GGUF, the real
//! model's location, and an independent implementation of llama.cpp's SentencePiece algorithm to
//! compare against.
#![allow(dead_code)]

use std::collections::{BinaryHeap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ferrocodex_gguf::{GgufFile, GgufWriter, Value};
use ferrocodex_tokenizer::{Tokenizer, TokenizerError};

/// Parses GGUF bytes made by a writer.
pub fn file_from(w: &GgufWriter) -> GgufFile {
    let bytes = w.to_bytes().expect("test vocabulary serialises");
    GgufFile::from_bytes(Path::new("test.gguf"), Arc::new(bytes)).expect("test vocabulary parses")
}

pub fn build(w: &GgufWriter) -> Result<Tokenizer, TokenizerError> {
    Tokenizer::from_gguf(&file_from(w))
}

pub fn strings(items: &[&str]) -> Value {
    Value::Array(items.iter().map(|s| Value::String(s.to_string())).collect())
}

/// A tiny SentencePiece vocabulary: specials, all 256 byte tokens, and a few words whose scores
/// make "hello" and "▁world" reachable by merges.
pub struct TinySpm {
    pub tokens: Vec<String>,
    pub scores: Vec<f32>,
    pub types: Vec<i32>,
}

impl TinySpm {
    pub fn new() -> TinySpm {
        let mut v = TinySpm {
            tokens: Vec::new(),
            scores: Vec::new(),
            types: Vec::new(),
        };
        for (text, ty) in [
            ("<pad>", 3),
            ("<eos>", 3),
            ("<bos>", 3),
            ("<unk>", 2),
            ("<start_of_turn>", 3),
            ("<end_of_turn>", 3),
            ("\n", 4),
            ("\n\n", 4),
            // Two user-defined tokens that overlap in "[x]]".
            ("[x", 4),
            ("x]]", 4),
        ] {
            v.push(text, -1000.0, ty);
        }
        for b in 0..=255u8 {
            v.push(&format!("<0x{b:02X}>"), 0.0, 6);
        }
        for c in ["▁", "h", "e", "l", "o", "w", "r", "d", "!", "a", "b", "é"] {
            v.push(c, -100.0, 1);
        }
        for (text, score) in [
            ("▁hello", -1.0),
            ("▁world", -1.5),
            ("hello", -2.0),
            ("llo", -3.0),
            ("ll", -4.0),
            ("he", -5.0),
            ("▁wor", -5.5),
            ("▁w", -6.0),
            ("or", -7.0),
            ("ld", -8.0),
            ("▁▁", -9.0),
            ("ab", -10.0),
            ("ba", -10.5),
            ("aba", -11.0),
        ] {
            v.push(text, score, 1);
        }
        v
    }

    pub fn push(&mut self, text: &str, score: f32, ty: i32) -> u32 {
        self.tokens.push(text.to_string());
        self.scores.push(score);
        self.types.push(ty);
        (self.tokens.len() - 1) as u32
    }

    pub fn id(&self, text: &str) -> u32 {
        self.tokens
            .iter()
            .position(|t| t == text)
            .unwrap_or_else(|| panic!("{text:?} is not in the tiny vocabulary")) as u32
    }

    pub fn byte(&self, b: u8) -> u32 {
        self.id(&format!("<0x{b:02X}>"))
    }

    pub fn writer(&self) -> GgufWriter {
        let mut w = GgufWriter::new();
        let tokens: Vec<&str> = self.tokens.iter().map(String::as_str).collect();
        w.add_metadata("tokenizer.ggml.model", Value::String("llama".into()))
            .add_metadata("tokenizer.ggml.pre", Value::String("default".into()))
            .add_metadata("tokenizer.ggml.tokens", strings(&tokens))
            .add_metadata(
                "tokenizer.ggml.scores",
                Value::Array(self.scores.iter().map(|&s| Value::F32(s)).collect()),
            )
            .add_metadata(
                "tokenizer.ggml.token_type",
                Value::Array(self.types.iter().map(|&t| Value::I32(t)).collect()),
            )
            .add_metadata("tokenizer.ggml.bos_token_id", Value::U32(2))
            .add_metadata("tokenizer.ggml.eos_token_id", Value::U32(1))
            .add_metadata("tokenizer.ggml.unknown_token_id", Value::U32(3))
            .add_metadata("tokenizer.ggml.padding_token_id", Value::U32(0))
            .add_metadata("tokenizer.ggml.add_bos_token", Value::Bool(true))
            .add_metadata("tokenizer.ggml.add_eos_token", Value::Bool(false))
            .add_metadata("tokenizer.ggml.add_space_prefix", Value::Bool(false))
            .add_metadata(
                "tokenizer.chat_template",
                Value::String("{{ bos_token }}".into()),
            );
        w
    }
}

/// GPT-2's byte-to-unicode table: the printable character standing for each byte.
pub fn byte_char(b: u8) -> char {
    let printable = |b: u32| {
        (0x21..=0x7E).contains(&b) || (0xA1..=0xAC).contains(&b) || (0xAE..=0xFF).contains(&b)
    };
    if printable(b as u32) {
        return char::from(b);
    }
    let n = (0u32..b as u32).filter(|&x| !printable(x)).count() as u32;
    char::from_u32(0x100 + n).expect("table stays below U+0144")
}

/// A byte-level text as GPT-2 vocabularies store it ("Ġworld" for " world").
pub fn byte_level(text: &str) -> String {
    text.bytes().map(byte_char).collect()
}

/// A tiny byte-level BPE vocabulary: the 256 byte characters, a few merges, Qwen-style specials.
pub struct TinyBpe {
    pub tokens: Vec<String>,
    pub types: Vec<i32>,
    pub merges: Vec<String>,
}

impl TinyBpe {
    pub fn new() -> TinyBpe {
        let mut tokens: Vec<String> = (0..=255u8).map(|b| byte_char(b).to_string()).collect();
        let mut types = vec![1; 256];
        let merges: Vec<String> = [
            ("h", "e"),
            ("l", "l"),
            ("he", "ll"),
            ("hell", "o"),
            (" ", "w"),
            ("o", "r"),
            (" w", "or"),
            ("l", "d"),
            (" wor", "ld"),
            ("1", "2"),
            ("12", "3"),
        ]
        .iter()
        .map(|(a, b)| format!("{} {}", byte_level(a), byte_level(b)))
        .collect();
        for m in &merges {
            tokens.push(m.replace(' ', ""));
            types.push(1);
        }
        for special in [
            "<|endoftext|>",
            "<|im_start|>",
            "<|im_end|>",
            "<|fim_prefix|>",
            "<|fim_suffix|>",
            "<|fim_middle|>",
            "<|fim_pad|>",
            "<|repo_name|>",
            "<|file_sep|>",
        ] {
            tokens.push(special.to_string());
            types.push(3);
        }
        TinyBpe {
            tokens,
            types,
            merges,
        }
    }

    pub fn id(&self, text: &str) -> u32 {
        self.tokens
            .iter()
            .position(|t| t == text)
            .unwrap_or_else(|| panic!("{text:?} is not in the tiny vocabulary")) as u32
    }

    pub fn writer(&self, pre: &str) -> GgufWriter {
        let mut w = GgufWriter::new();
        let tokens: Vec<&str> = self.tokens.iter().map(String::as_str).collect();
        let merges: Vec<&str> = self.merges.iter().map(String::as_str).collect();
        let eot = self.id("<|endoftext|>");
        w.add_metadata("tokenizer.ggml.model", Value::String("gpt2".into()))
            .add_metadata("tokenizer.ggml.pre", Value::String(pre.into()))
            .add_metadata("tokenizer.ggml.tokens", strings(&tokens))
            .add_metadata(
                "tokenizer.ggml.token_type",
                Value::Array(self.types.iter().map(|&t| Value::I32(t)).collect()),
            )
            .add_metadata("tokenizer.ggml.merges", strings(&merges))
            .add_metadata("tokenizer.ggml.bos_token_id", Value::U32(eot))
            .add_metadata(
                "tokenizer.ggml.eos_token_id",
                Value::U32(self.id("<|im_end|>")),
            )
            .add_metadata("tokenizer.ggml.padding_token_id", Value::U32(eot))
            .add_metadata("tokenizer.ggml.add_bos_token", Value::Bool(false));
        w
    }
}

/// Where the default model is: `FERROCODEX_MODEL`, else the download cache. `None` (with a note
/// on stderr) when it is absent, so tests that need it can skip.
pub fn default_model(test: &str) -> Option<PathBuf> {
    let path = match std::env::var_os("FERROCODEX_MODEL") {
        Some(p) => PathBuf::from(p),
        None => {
            let home = std::env::var_os("HOME")?;
            PathBuf::from(home).join(".cache/ferrocodex/models/gemma-3-270m-q4_k_m.gguf")
        }
    };
    if path.is_file() {
        Some(path)
    } else {
        eprintln!(
            "{test}: skipped, the model is not at {} (set FERROCODEX_MODEL)",
            path.display()
        );
        None
    }
}

/// The score order llama.cpp's SentencePiece tokenizer uses: higher score first, then the
/// leftmost pair.
struct Bigram {
    score: f32,
    left: usize,
    right: usize,
    size: usize,
}

impl PartialEq for Bigram {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}
impl Eq for Bigram {}
impl PartialOrd for Bigram {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Bigram {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.score
            .total_cmp(&other.score)
            .then(other.left.cmp(&self.left))
    }
}

/// An independent SentencePiece tokenizer written from llama.cpp's description: split into
/// characters, repeatedly join the adjacent pair whose joined text is the highest-scoring token
/// (ties: leftmost), then map leftover characters to `<0xNN>` byte tokens.
pub struct ReferenceSpm<'v> {
    pub index: HashMap<&'v str, u32>,
    pub scores: &'v [f32],
    /// Special tokens (control, user-defined, unknown), longest first, with equal lengths in id order.
    pub specials: Vec<(&'v str, u32)>,
    pub add_space_prefix: bool,
}

impl<'v> ReferenceSpm<'v> {
    pub fn new(
        tokens: &'v [String],
        scores: &'v [f32],
        types: &[i64],
        add_space_prefix: bool,
    ) -> Self {
        let index = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.as_str(), i as u32))
            .collect();
        let mut specials: Vec<(&str, u32)> = tokens
            .iter()
            .enumerate()
            .filter(|(i, _)| matches!(types[*i], 2..=4))
            .map(|(i, t)| (t.as_str(), i as u32))
            .collect();
        specials.sort_by_key(|(t, _)| std::cmp::Reverse(t.len()));
        ReferenceSpm {
            index,
            scores,
            specials,
            add_space_prefix,
        }
    }

    /// Splits out special tokens the way llama.cpp does: each special in turn, searched in every
    /// remaining text fragment.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        enum Frag<'t> {
            Text(&'t str),
            Token(u32),
        }
        let mut frags = vec![Frag::Text(text)];
        for &(special, id) in &self.specials {
            if !text.contains(special) {
                continue;
            }
            let mut next = Vec::with_capacity(frags.len());
            for f in frags {
                match f {
                    Frag::Token(t) => next.push(Frag::Token(t)),
                    Frag::Text(mut rest) => {
                        while let Some(at) = rest.find(special) {
                            if at > 0 {
                                next.push(Frag::Text(&rest[..at]));
                            }
                            next.push(Frag::Token(id));
                            rest = &rest[at + special.len()..];
                        }
                        if !rest.is_empty() {
                            next.push(Frag::Text(rest));
                        }
                    }
                }
            }
            frags = next;
        }
        let mut out = Vec::new();
        for f in frags {
            match f {
                Frag::Token(t) => out.push(t),
                Frag::Text(t) => {
                    let prefixed = if self.add_space_prefix {
                        format!(" {t}")
                    } else {
                        t.to_string()
                    };
                    self.encode_piece(&prefixed.replace(' ', "\u{2581}"), &mut out);
                }
            }
        }
        out
    }

    fn encode_piece(&self, text: &str, out: &mut Vec<u32>) {
        // (start, len, prev, next) per symbol; len 0 once merged away.
        let mut syms: Vec<(usize, usize, isize, isize)> = Vec::new();
        let chars: Vec<(usize, char)> = text.char_indices().collect();
        for (i, &(start, c)) in chars.iter().enumerate() {
            let next = if i + 1 == chars.len() {
                -1
            } else {
                i as isize + 1
            };
            syms.push((start, c.len_utf8(), i as isize - 1, next));
        }
        let mut queue = BinaryHeap::new();
        let try_add = |syms: &Vec<(usize, usize, isize, isize)>,
                       queue: &mut BinaryHeap<Bigram>,
                       left: isize,
                       right: isize| {
            if left < 0 || right < 0 {
                return;
            }
            let (l, r) = (syms[left as usize], syms[right as usize]);
            let joined = &text[l.0..l.0 + l.1 + r.1];
            if let Some(&id) = self.index.get(joined) {
                queue.push(Bigram {
                    score: self.scores[id as usize],
                    left: left as usize,
                    right: right as usize,
                    size: joined.len(),
                });
            }
        };
        for i in 1..syms.len() {
            try_add(&syms, &mut queue, i as isize - 1, i as isize);
        }
        while let Some(b) = queue.pop() {
            let (l, r) = (syms[b.left], syms[b.right]);
            if l.1 == 0 || r.1 == 0 || l.1 + r.1 != b.size {
                continue;
            }
            syms[b.left].1 += r.1;
            syms[b.right].1 = 0;
            syms[b.left].3 = r.3;
            if r.3 >= 0 {
                syms[r.3 as usize].2 = b.left as isize;
            }
            let prev = syms[b.left].2;
            let next = syms[b.left].3;
            try_add(&syms, &mut queue, prev, b.left as isize);
            try_add(&syms, &mut queue, b.left as isize, next);
        }
        let mut i: isize = if syms.is_empty() { -1 } else { 0 };
        while i >= 0 {
            let (start, len, _, next) = syms[i as usize];
            let piece = &text[start..start + len];
            match self.index.get(piece) {
                Some(&id) => out.push(id),
                None => {
                    for b in piece.bytes() {
                        let byte_token = format!("<0x{b:02X}>");
                        out.push(
                            *self
                                .index
                                .get(byte_token.as_str())
                                .expect("vocabulary has byte tokens"),
                        );
                    }
                }
            }
            i = next;
        }
    }
}

/// SHA-256 of a file, hex encoded (FIPS 180-4), for checking which model a fixture was made with.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.hex())
}

pub struct Sha256 {
    state: [u32; 8],
    block: Vec<u8>,
    len: u64,
}

const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

impl Sha256 {
    pub fn new() -> Sha256 {
        Sha256 {
            state: [
                0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
                0x5be0cd19,
            ],
            block: Vec::with_capacity(64),
            len: 0,
        }
    }

    fn compress(state: &mut [u32; 8], chunk: &[u8]) {
        let mut w = [0u32; 64];
        for i in 0..16 {
            w[i] = u32::from_be_bytes([
                chunk[4 * i],
                chunk[4 * i + 1],
                chunk[4 * i + 2],
                chunk[4 * i + 3],
            ]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *state;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = h
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            h = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (s, v) in state.iter_mut().zip([a, b, c, d, e, f, g, h]) {
            *s = s.wrapping_add(v);
        }
    }

    pub fn update(&mut self, mut data: &[u8]) {
        self.len += data.len() as u64;
        if !self.block.is_empty() {
            let take = (64 - self.block.len()).min(data.len());
            self.block.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.block.len() == 64 {
                let block = std::mem::take(&mut self.block);
                Self::compress(&mut self.state, &block);
            }
        }
        while data.len() >= 64 {
            Self::compress(&mut self.state, &data[..64]);
            data = &data[64..];
        }
        self.block.extend_from_slice(data);
    }

    pub fn hex(mut self) -> String {
        let bits = self.len.wrapping_mul(8);
        let mut tail = std::mem::take(&mut self.block);
        tail.push(0x80);
        while tail.len() % 64 != 56 {
            tail.push(0);
        }
        tail.extend_from_slice(&bits.to_be_bytes());
        for chunk in tail.chunks(64) {
            Self::compress(&mut self.state, chunk);
        }
        self.state.iter().map(|w| format!("{w:08x}")).collect()
    }
}
