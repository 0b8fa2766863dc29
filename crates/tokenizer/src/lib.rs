//! Tokenizers built from a GGUF model file's metadata, matching llama.cpp token for token.
//!
//! A GGUF file carries its vocabulary under `tokenizer.ggml.*`: the token texts, a type per
//! token (normal, control, user-defined, byte, …), and either scores (`model = "llama"`,
//! SentencePiece vocabularies such as Gemma's) or a ranked merge list (`model = "gpt2"`,
//! byte-level BPE such as Qwen's or StarCoder's). [`Tokenizer::from_gguf`] reads all of it and
//! builds the matching algorithm as a `tokenizers` pipeline:
//!
//! * **`llama`**: llama.cpp's SentencePiece algorithm (adjacent symbols joined by the score of
//!   the joined token) as a `tokenizers` model, `<0xNN>` byte fallback for characters outside
//!   the vocabulary, spaces written as "▁" (see the `spm` module);
//! * **`gpt2`**: byte-level BPE with the pre-tokenizer regexes llama.cpp picks for the file's
//!   `tokenizer.ggml.pre` (see the `gpt2` module).
//!
//! Before either runs, special tokens written in the text (`<start_of_turn>`, `<|im_end|>`, and
//! user-defined entries such as Gemma's runs of newlines) are split out and become single ids,
//! exactly as llama.cpp does when it parses specials. Encoding is therefore the same as
//! `llama_tokenize(…, parse_special = true)`.
//!
//! ```no_run
//! use ferrocodex_tokenizer::{StreamDecoder, Tokenizer};
//! let file = ferrocodex_gguf::GgufFile::open("model.gguf".as_ref())?;
//! let tok = Tokenizer::from_gguf(&file)?;
//! let ids = tok.encode("<start_of_turn>user\nWrite fizzbuzz<end_of_turn>\n", tok.add_bos())?;
//! assert_eq!(tok.decode(&ids[1..]), "user\nWrite fizzbuzz\n"); // control tokens are not text
//! let mut stream = StreamDecoder::new(&tok);
//! for &id in &ids {
//!     print!("{}", stream.push(id)); // never half a character
//! }
//! print!("{}", stream.finish());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Decoding is the plain concatenation of each token's bytes ([`Tokenizer::token_bytes`]), so
//! it is lossless and streaming gives the same text as decoding all at once. Control tokens give
//! no text. End of generation ([`Tokenizer::is_eog`]) and fill-in-the-middle tokens
//! ([`Tokenizer::fim`]) follow llama.cpp's rules, which also recognise such tokens by their text.
//!
//! The test suite checks all of this against llama.cpp's own output (`tests/goldens.rs`, fixtures
//! made by `scripts/make_goldens.py`) and against an independent implementation of llama.cpp's
//! SentencePiece algorithm on the default model's vocabulary (`tests/gemma.rs`).

mod gpt2;
mod specials;
mod spm;
mod stream;
mod vocab;

use std::collections::BTreeSet;

use ferrocodex_gguf::GgufFile;

pub use stream::StreamDecoder;

use specials::{Fragment, SpecialTokens};
use vocab::{Attr, Kind, Vocabulary};

/// Everything that can stop a tokenizer from being built or used.
#[derive(Debug, thiserror::Error)]
pub enum TokenizerError {
    #[error("the model file has no usable tokenizer: metadata key {0} is missing; use a GGUF converted together with its vocabulary (as llama.cpp's converter does)")]
    Missing(&'static str),
    #[error("the model file's tokenizer kind {0:?} (tokenizer.ggml.model) is not supported; ferrocodex reads \"llama\" (SentencePiece) and \"gpt2\" (byte-level BPE) vocabularies")]
    UnsupportedModel(String),
    #[error("the model file's pre-tokenizer {0:?} (tokenizer.ggml.pre) is not known to ferrocodex, so its text splitting cannot be reproduced")]
    UnsupportedPreTokenizer(String),
    #[error("the model file's tokenizer metadata is invalid: {0}")]
    InvalidMetadata(String),
    #[error("cannot build the tokenizer from the model file: {0}")]
    Build(String),
    #[error("a BOS token was requested but this vocabulary has none")]
    NoBos,
    #[error("cannot tokenize the text: {0}")]
    Encode(String),
}

/// The fill-in-the-middle tokens of a vocabulary that has them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FimTokens {
    pub prefix: u32,
    pub suffix: u32,
    pub middle: u32,
    pub pad: Option<u32>,
    pub repo: Option<u32>,
    pub sep: Option<u32>,
}

/// What each token stands for as bytes, all tokens in one buffer.
/// The text-to-ids half of a tokenizer: a `tokenizers` pipeline around llama.cpp's
/// SentencePiece algorithm, or around byte-level BPE with a ranked merge list.
enum Encoder {
    Spm(spm::SpmTokenizer),
    Bpe(tokenizers::Tokenizer),
}

struct Pieces {
    bytes: Vec<u8>,
    /// `bytes[ends[id - 1]..ends[id]]` is token `id`'s piece.
    ends: Vec<u32>,
}

impl Pieces {
    /// The decoded piece of every token of `vocab`, end to end.
    fn of(vocab: &Vocabulary) -> Result<Pieces, TokenizerError> {
        let mut bytes = Vec::new();
        let mut ends = Vec::with_capacity(vocab.tokens.len());
        for (text, &attr) in vocab.tokens.iter().zip(&vocab.attrs) {
            bytes.extend_from_slice(&piece_of(vocab.kind, text, attr, false));
            let end = u32::try_from(bytes.len()).map_err(|_| {
                TokenizerError::InvalidMetadata("the vocabulary's texts exceed 4 GiB".into())
            })?;
            ends.push(end);
        }
        Ok(Pieces { bytes, ends })
    }

    fn get(&self, id: usize) -> &[u8] {
        let start = if id == 0 {
            0
        } else {
            self.ends[id - 1] as usize
        };
        &self.bytes[start..self.ends[id] as usize]
    }
}

/// A vocabulary and its tokenizer. Immutable once built; share it behind an `Arc`.
pub struct Tokenizer {
    kind: Kind,
    model: Encoder,
    specials: SpecialTokens,
    tokens: Vec<String>,
    attrs: Vec<Attr>,
    /// The text each token contributes to decoded output (empty for control tokens).
    pieces: Pieces,
    bos: Option<u32>,
    eos: Option<u32>,
    add_bos: bool,
    eog: BTreeSet<u32>,
    fim: Option<FimTokens>,
    chat_template: Option<String>,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokenizer")
            .field("kind", &self.kind.name())
            .field("vocab_size", &self.tokens.len())
            .field("bos", &self.bos)
            .field("eos", &self.eos)
            .finish()
    }
}

/// The bytes a token stands for in output text, following llama.cpp's `token_to_piece`.
fn piece_of(kind: Kind, text: &str, attr: Attr, special: bool) -> Vec<u8> {
    if attr.has(Attr::CONTROL) || attr.has(Attr::UNKNOWN) {
        return if special {
            text.as_bytes().to_vec()
        } else {
            Vec::new()
        };
    }
    if attr.has(Attr::USER_DEFINED) {
        return text.as_bytes().to_vec();
    }
    if attr.has(Attr::NORMAL) {
        return match kind {
            Kind::Llama => text.replace(spm::SPACE, " ").into_bytes(),
            Kind::Gpt2 => gpt2::decode_byte_level(text),
        };
    }
    if attr.has(Attr::BYTE) {
        // "<0xNN>"
        let byte = text
            .strip_prefix("<0x")
            .and_then(|rest| rest.strip_suffix('>'))
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        return match byte {
            Some(b) => vec![b],
            None => text.as_bytes().to_vec(),
        };
    }
    // Unused and undefined tokens are never text.
    Vec::new()
}

impl Tokenizer {
    /// Reads the vocabulary from a model file's metadata and builds its tokenizer.
    pub fn from_gguf(file: &GgufFile) -> Result<Tokenizer, TokenizerError> {
        let mut vocab = Vocabulary::from_gguf(file)?;
        let index = std::mem::take(&mut vocab.index);
        // The encoder's model (most of the load time) builds on another thread while this one
        // lays out the token pieces for decoding.
        let (model, specials, pieces) = std::thread::scope(|scope| {
            let vocab = &vocab;
            let model = scope.spawn(move || match vocab.kind {
                Kind::Llama => spm::build(vocab, index).map(Encoder::Spm),
                Kind::Gpt2 => gpt2::build(vocab, index).map(Encoder::Bpe),
            });
            let specials = SpecialTokens::new(vocab);
            let pieces = Pieces::of(vocab);
            let model = model.join().expect("tokenizer builder panicked");
            (model, specials, pieces)
        });
        let (model, pieces) = (model?, pieces?);

        let fim = match (vocab.fim_pre, vocab.fim_suf, vocab.fim_mid) {
            (Some(prefix), Some(suffix), Some(middle)) => Some(FimTokens {
                prefix,
                suffix,
                middle,
                pad: vocab.fim_pad,
                repo: vocab.fim_rep,
                sep: vocab.fim_sep,
            }),
            _ => None,
        };

        Ok(Tokenizer {
            kind: vocab.kind,
            model,
            specials,
            pieces,
            bos: vocab.bos,
            eos: vocab.eos,
            add_bos: vocab.add_bos,
            eog: vocab.eog,
            fim,
            chat_template: vocab.chat_template,
            attrs: vocab.attrs,
            tokens: vocab.tokens,
        })
    }

    /// Text to ids. Special tokens written in the text (e.g. `<start_of_turn>`) become their
    /// ids; `add_bos` prepends the BOS token (pass [`Tokenizer::add_bos`] for the model's
    /// own preference).
    pub fn encode(&self, text: &str, add_bos: bool) -> Result<Vec<u32>, TokenizerError> {
        let mut ids = Vec::with_capacity(text.len() / 3 + 2);
        if add_bos {
            ids.push(self.bos.ok_or(TokenizerError::NoBos)?);
        }
        for fragment in self.specials.split(text) {
            match fragment {
                Fragment::Token(id) => ids.push(id),
                Fragment::Text(t) => {
                    let encoding = match &self.model {
                        Encoder::Spm(m) => m.encode_fast(t, false),
                        Encoder::Bpe(m) => m.encode_fast(t, false),
                    }
                    .map_err(|e| TokenizerError::Encode(e.to_string()))?;
                    ids.extend_from_slice(encoding.get_ids());
                }
            }
        }
        Ok(ids)
    }

    /// The piece of output text a token stands for; empty for ids outside the vocabulary.
    fn piece(&self, id: u32, special: bool) -> &[u8] {
        let i = id as usize;
        if i >= self.tokens.len() {
            return &[];
        }
        let attr = self.attrs[i];
        if special && (attr.has(Attr::CONTROL) || attr.has(Attr::UNKNOWN)) {
            return self.tokens[i].as_bytes();
        }
        self.pieces.get(i)
    }

    /// The raw bytes a token stands for: "▁" becomes a space, `<0x0A>` the byte 0x0A, byte-level
    /// BPE text its bytes. Control tokens give their text only if `special` is true; ids outside
    /// the vocabulary give nothing.
    pub fn token_bytes(&self, id: u32, special: bool) -> Vec<u8> {
        self.piece(id, special).to_vec()
    }

    /// Ids to text, control tokens omitted. The bytes of all tokens are joined before being read
    /// as UTF-8, so characters split across tokens survive; invalid sequences become U+FFFD.
    pub fn decode(&self, ids: &[u32]) -> String {
        let mut bytes = Vec::with_capacity(ids.len() * 4);
        for &id in ids {
            bytes.extend_from_slice(self.piece(id, false));
        }
        match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        }
    }

    pub fn vocab_size(&self) -> usize {
        self.tokens.len()
    }

    /// The token's text as stored in the vocabulary ("▁the", "<0x0A>", "Ġthe", "<bos>").
    pub fn token_text(&self, id: u32) -> Option<&str> {
        self.tokens.get(id as usize).map(String::as_str)
    }

    /// The id of the token whose stored text is exactly `text`.
    pub fn token_id(&self, text: &str) -> Option<u32> {
        match &self.model {
            Encoder::Spm(m) => m.token_to_id(text),
            Encoder::Bpe(m) => m.token_to_id(text),
        }
    }

    pub fn bos(&self) -> Option<u32> {
        self.bos
    }

    pub fn eos(&self) -> Option<u32> {
        self.eos
    }

    /// Whether the model expects a BOS token at the start of a prompt
    /// (`tokenizer.ggml.add_bos_token`, or llama.cpp's default for the vocabulary kind).
    pub fn add_bos(&self) -> bool {
        self.add_bos
    }

    /// Whether generating this token ends generation: EOS, end-of-turn, end-of-message, the
    /// FIM pad/repo/separator tokens, and tokens llama.cpp recognises by text (`<end_of_turn>`,
    /// `<|endoftext|>`, `<|im_end|>`, `<EOT>`, …).
    pub fn is_eog(&self, id: u32) -> bool {
        self.eog.contains(&id)
    }

    /// Whether the token is a control token (never part of decoded text).
    pub fn is_control(&self, id: u32) -> bool {
        self.attrs
            .get(id as usize)
            .is_some_and(|a| a.has(Attr::CONTROL))
    }

    /// The fill-in-the-middle tokens, if the vocabulary has prefix, suffix and middle tokens.
    pub fn fim(&self) -> Option<FimTokens> {
        self.fim
    }

    /// The model's chat template (`tokenizer.chat_template`, Jinja), if it has one.
    pub fn chat_template(&self) -> Option<&str> {
        self.chat_template.as_deref()
    }

    /// The vocabulary kind: "llama" (SentencePiece) or "gpt2" (byte-level BPE).
    pub fn kind(&self) -> &str {
        self.kind.name()
    }
}
