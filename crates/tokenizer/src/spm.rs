//! SentencePiece vocabularies (`tokenizer.ggml.model = "llama"`): Gemma, LLaMA 1/2, CodeLlama,
//! Mistral.
//!
//! The file carries tokens and scores but no merge list. llama.cpp tokenizes such text by
//! starting from single characters and repeatedly joining the adjacent pair whose joined text is
//! the highest-scoring vocabulary entry (the leftmost pair on equal scores). [`SpmModel`] is that
//! algorithm, as a model of the `tokenizers` crate: the crate's pipeline normalizes the text
//! (spaces written "▁", a leading "▁" where the vocabulary asks for one) and the model joins
//! symbols. Characters that never become a token fall back to their UTF-8 bytes as `<0xNN>`
//! tokens. Loading needs only the vocabulary's text-to-id map: there is no merge list to derive
//! and resolve (half a million entries for Gemma's vocabulary), which is what makes the model
//! load quickly.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::path::{Path, PathBuf};

use tokenizers::models::bpe::Vocab;
use tokenizers::normalizers::{Prepend, Replace, Sequence};
use tokenizers::{
    AddedToken, DecoderWrapper, NormalizerWrapper, PostProcessorWrapper, PreTokenizerWrapper,
    Token, TokenizerImpl,
};

use crate::vocab::Vocabulary;
use crate::TokenizerError;

/// SentencePiece's stand-in for a space.
pub(crate) const SPACE: &str = "\u{2581}";

/// The `tokenizers` pipeline around [`SpmModel`].
pub(crate) type SpmTokenizer = TokenizerImpl<
    SpmModel,
    NormalizerWrapper,
    PreTokenizerWrapper,
    PostProcessorWrapper,
    DecoderWrapper,
>;

/// llama.cpp's SentencePiece encoder over a vocabulary's texts and scores.
pub(crate) struct SpmModel {
    index: Vocab,
    scores: Vec<f32>,
    /// The `<0xNN>` token of every byte, where the vocabulary has one.
    bytes: [Option<u32>; 256],
    unk: Option<u32>,
}

/// A joinable pair of adjacent symbols, ranked by the joined token's score, then leftmost first.
struct Bigram {
    score: f32,
    left: usize,
    right: usize,
    /// Bytes of the joined text; a bigram whose symbols have changed since is stale.
    size: usize,
}

impl PartialEq for Bigram {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Bigram {}
impl PartialOrd for Bigram {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Bigram {
    fn cmp(&self, other: &Self) -> Ordering {
        self.score.total_cmp(&other.score).then(other.left.cmp(&self.left))
    }
}

/// One symbol of the text being encoded: a byte range, linked to its neighbours.
#[derive(Clone, Copy)]
struct Symbol {
    start: usize,
    /// 0 once joined into the symbol on its left.
    len: usize,
    prev: Option<usize>,
    next: Option<usize>,
}

impl SpmModel {
    fn new(vocab: &Vocabulary, index: Vocab) -> SpmModel {
        let bytes = std::array::from_fn(|b| index.get(&format!("<0x{b:02X}>")).copied());
        SpmModel { index, scores: vocab.scores.clone(), bytes, unk: vocab.unk }
    }

    /// The joined text of symbols `left` and `right`, if it is a token, as a bigram.
    fn bigram(&self, text: &str, syms: &[Symbol], left: usize, right: usize) -> Option<Bigram> {
        let (l, r) = (syms[left], syms[right]);
        let joined = &text[l.start..l.start + l.len + r.len];
        let &id = self.index.get(joined)?;
        let score = *self.scores.get(id as usize)?;
        Some(Bigram { score, left, right, size: joined.len() })
    }
}

impl tokenizers::Model for SpmModel {
    type Trainer = NoTrainer;

    fn tokenize(&self, text: &str) -> tokenizers::Result<Vec<Token>> {
        let mut syms: Vec<Symbol> = Vec::with_capacity(text.len());
        for (start, c) in text.char_indices() {
            let i = syms.len();
            syms.push(Symbol {
                start,
                len: c.len_utf8(),
                prev: i.checked_sub(1),
                next: (start + c.len_utf8() < text.len()).then_some(i + 1),
            });
        }
        let mut queue = BinaryHeap::new();
        for i in 1..syms.len() {
            queue.extend(self.bigram(text, &syms, i - 1, i));
        }
        while let Some(b) = queue.pop() {
            let (l, r) = (syms[b.left], syms[b.right]);
            if l.len == 0 || r.len == 0 || l.len + r.len != b.size {
                continue;
            }
            syms[b.left].len += r.len;
            syms[b.left].next = r.next;
            syms[b.right].len = 0;
            if let Some(n) = r.next {
                syms[n].prev = Some(b.left);
            }
            if let Some(p) = syms[b.left].prev {
                queue.extend(self.bigram(text, &syms, p, b.left));
            }
            if let Some(n) = syms[b.left].next {
                queue.extend(self.bigram(text, &syms, b.left, n));
            }
        }
        let mut out = Vec::new();
        let mut at = if syms.is_empty() { None } else { Some(0) };
        while let Some(i) = at {
            let s = syms[i];
            let piece = &text[s.start..s.start + s.len];
            if let Some(&id) = self.index.get(piece) {
                out.push(Token::new(id, piece.to_string(), (s.start, s.start + s.len)));
            } else {
                // Only single characters can be left unjoined without being tokens (a join
                // always makes a token): their bytes, or the unknown token without byte tokens.
                for (j, &byte) in piece.as_bytes().iter().enumerate() {
                    let offsets = (s.start + j, s.start + j + 1);
                    match self.bytes[byte as usize] {
                        Some(id) => out.push(Token::new(id, format!("<0x{byte:02X}>"), offsets)),
                        None => {
                            if let Some(unk) = self.unk {
                                if j == 0 {
                                    out.push(Token::new(unk, piece.to_string(), (s.start, s.start + s.len)));
                                }
                            }
                        }
                    }
                }
            }
            at = s.next;
        }
        Ok(out)
    }

    fn token_to_id(&self, token: &str) -> Option<u32> {
        self.index.get(token).copied()
    }

    /// Linear in the vocabulary: ferrocodex decodes from its own piece table, not through this.
    fn id_to_token(&self, id: u32) -> Option<String> {
        self.index.iter().find(|(_, &v)| v == id).map(|(k, _)| k.clone())
    }

    fn get_vocab(&self) -> std::collections::HashMap<String, u32> {
        self.index.iter().map(|(k, &v)| (k.clone(), v)).collect()
    }

    fn get_vocab_size(&self) -> usize {
        self.scores.len()
    }

    fn save(&self, _folder: &Path, _prefix: Option<&str>) -> tokenizers::Result<Vec<PathBuf>> {
        Err("a SentencePiece vocabulary read from a GGUF file is saved in that file, not separately".into())
    }

    fn get_trainer(&self) -> NoTrainer {
        NoTrainer
    }
}

/// The trainer slot of [`SpmModel`]: its vocabulary comes from a model file, it is not trained.
pub(crate) struct NoTrainer;

impl tokenizers::Trainer for NoTrainer {
    type Model = SpmModel;

    fn should_show_progress(&self) -> bool {
        false
    }

    fn train(&self, _model: &mut SpmModel) -> tokenizers::Result<Vec<AddedToken>> {
        Err("a SentencePiece vocabulary read from a GGUF file cannot be trained".into())
    }

    fn feed<I, S, F>(&mut self, _iterator: I, _process: F) -> tokenizers::Result<()>
    where
        I: Iterator<Item = S> + Send,
        S: AsRef<str> + Send,
        F: Fn(&str) -> tokenizers::Result<Vec<String>> + Sync,
    {
        Ok(())
    }
}

/// Builds the tokenizer for a `llama` vocabulary; `index` is the vocabulary's text-to-id map.
pub(crate) fn build(vocab: &Vocabulary, index: Vocab) -> Result<SpmTokenizer, TokenizerError> {
    let mut steps: Vec<NormalizerWrapper> = Vec::with_capacity(2);
    if vocab.add_space_prefix {
        steps.push(Prepend::new(SPACE.to_string()).into());
    }
    steps.push(
        Replace::new(" ", SPACE)
            .map_err(|e| TokenizerError::Build(e.to_string()))?
            .into(),
    );
    let mut tokenizer = TokenizerImpl::new(SpmModel::new(vocab, index));
    tokenizer.with_normalizer(Some(NormalizerWrapper::from(Sequence::new(steps))));
    Ok(tokenizer)
}
