//! SentencePiece vocabularies (`tokenizer.ggml.model = "llama"`): Gemma, LLaMA 1/2, CodeLlama,
//! Mistral.
//!
//! The file carries tokens and scores but no merge list. llama.cpp tokenizes such text by
//! starting from single characters and repeatedly joining the adjacent pair whose joined text is
//! the highest-scoring vocabulary entry. That is byte-pair encoding with a merge list derived from
//! the scores: every way of writing a token as two shorter tokens is a merge, and merges rank by
//! the joined token's score, highest first. Characters not in the vocabulary fall back to their
//! UTF-8 bytes as `<0xNN>` tokens, and spaces are written "▁" before tokenizing.
//!
//! One tie-break differs in principle: when two different splits of the same token are both
//! available at once (symbols "ab" "a" "ba" both spelling "aba"), llama.cpp joins the leftmost
//! pair while a ranked merge list joins the lower-ranked split. The test suite compares the two
//! algorithms on the real vocabulary.

use tokenizers::models::bpe::{Vocab, BPE};
use tokenizers::normalizers::{Prepend, Replace, Sequence};
use tokenizers::NormalizerWrapper;

use crate::vocab::Vocabulary;
use crate::TokenizerError;

/// SentencePiece's stand-in for a space.
pub(crate) const SPACE: &str = "\u{2581}";

/// The merge list implied by the scores: (left, right) pairs whose concatenation is a token,
/// ordered by that token's score (highest first), then by its id, then by where it is split.
pub(crate) fn merges_from_scores(
    tokens: &[String],
    index: &Vocab,
    scores: &[f32],
) -> Vec<(u32, u32)> {
    // (merged id, left id, right id); the tokens are split among threads (a quarter of a
    // million of them in a large vocabulary), each thread's part in id order.
    let splits = |first: usize, part: &[String]| {
        let mut out: Vec<(u32, u32, u32)> = Vec::with_capacity(part.len() * 2);
        for (i, token) in part.iter().enumerate() {
            for (cut, _) in token.char_indices().skip(1) {
                let Some(&left) = index.get(&token[..cut]) else {
                    continue;
                };
                let Some(&right) = index.get(&token[cut..]) else {
                    continue;
                };
                out.push(((first + i) as u32, left, right));
            }
        }
        out
    };
    let mut merges: Vec<(u32, u32, u32)> = in_parts(tokens, splits).into_iter().flatten().collect();
    // Stable, so the splits of one token stay ordered by cut position.
    merges.sort_by(|a, b| {
        scores[b.0 as usize]
            .total_cmp(&scores[a.0 as usize])
            .then(a.0.cmp(&b.0))
    });
    merges
        .into_iter()
        .map(|(_, left, right)| (left, right))
        .collect()
}

/// `f(start index, part)` over consecutive parts of `items`, one per available core, on
/// scoped threads; the results in order.
fn in_parts<T: Sync, R: Send>(items: &[T], f: impl Fn(usize, &[T]) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    let size = items.len().div_ceil(threads).max(1);
    if threads == 1 || items.len() < 4096 {
        return vec![f(0, items)];
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(size)
            .enumerate()
            .map(|(k, part)| {
                let f = &f;
                scope.spawn(move || f(k * size, part))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("tokenizer worker panicked"))
            .collect()
    })
}

/// Builds the tokenizer for a `llama` vocabulary; `index` is the vocabulary's text-to-id map.
pub(crate) fn build(
    vocab: &Vocabulary,
    index: Vocab,
) -> Result<tokenizers::Tokenizer, TokenizerError> {
    let merges: Vec<(String, String)> = merges_from_scores(&vocab.tokens, &index, &vocab.scores)
        .into_iter()
        .map(|(l, r)| {
            (
                vocab.tokens[l as usize].clone(),
                vocab.tokens[r as usize].clone(),
            )
        })
        .collect();
    let mut builder = BPE::builder()
        .vocab_and_merges(index, merges)
        .byte_fallback(true);
    // Only used for a character whose bytes have no <0xNN> tokens (a vocabulary without byte
    // fallback); such characters are dropped when there is no unknown token either.
    if let Some(unk) = vocab.unk {
        builder = builder.unk_token(vocab.tokens[unk as usize].clone());
    }
    let model = builder
        .build()
        .map_err(|e| TokenizerError::Build(e.to_string()))?;

    let mut steps: Vec<NormalizerWrapper> = Vec::with_capacity(2);
    if vocab.add_space_prefix {
        steps.push(Prepend::new(SPACE.to_string()).into());
    }
    steps.push(
        Replace::new(" ", SPACE)
            .map_err(|e| TokenizerError::Build(e.to_string()))?
            .into(),
    );
    let mut tokenizer = tokenizers::Tokenizer::new(model);
    tokenizer.with_normalizer(Some(Sequence::new(steps)));
    Ok(tokenizer)
}
