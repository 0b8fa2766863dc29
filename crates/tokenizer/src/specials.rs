//! Splitting special tokens out of text before the model tokenizer sees it.
//!
//! Control, user-defined and unknown tokens (`<start_of_turn>`, `<|im_end|>`, Gemma's runs of
//! newlines or spaces, …) are matched literally in the raw text and become single ids; only the
//! text between them is tokenized by the model. The order of matching is llama.cpp's: the
//! longest special token is searched for first, everywhere in the text, then the next longest
//! in what is left, and so on; within the text left for one token, its leftmost occurrences win.
//! (A leftmost-longest scan gives a different answer when one special token's end overlaps
//! another's start.) Tokens of equal length are tried in id order.

use std::collections::BTreeMap;

use crate::vocab::{Attr, Vocabulary};

/// A piece of the text being encoded.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Fragment<'t> {
    /// Plain text for the model tokenizer (never empty).
    Text(&'t str),
    /// A special token written literally in the text.
    Token(u32),
}

/// One node of a byte trie over the special tokens' texts.
#[derive(Default)]
struct Node {
    /// Outgoing edges sorted by byte.
    edges: Vec<(u8, u32)>,
    /// Index into `SpecialTokens::specials` of the token ending here.
    special: Option<u32>,
}

struct Special {
    id: u32,
    text: Box<str>,
    lstrip: bool,
    rstrip: bool,
}

/// The special tokens of a vocabulary, ready to be found in text.
pub(crate) struct SpecialTokens {
    nodes: Vec<Node>,
    specials: Vec<Special>,
}

/// llama.cpp strips with C's `isspace`: space, \t, \n, \v, \f, \r.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r')
}

impl SpecialTokens {
    pub(crate) fn new(vocab: &Vocabulary) -> SpecialTokens {
        let mut order: Vec<u32> = (0..vocab.tokens.len() as u32)
            .filter(|&id| vocab.attrs[id as usize].is_special())
            .collect();
        // Longest first; the sort is stable, so equal lengths stay in id order.
        order.sort_by_key(|&id| std::cmp::Reverse(vocab.tokens[id as usize].len()));

        let mut nodes = vec![Node::default()];
        let mut specials = Vec::with_capacity(order.len());
        for &id in &order {
            let attr = vocab.attrs[id as usize];
            let index = specials.len() as u32;
            specials.push(Special {
                id,
                text: vocab.tokens[id as usize].as_str().into(),
                lstrip: attr.has(Attr::LSTRIP),
                rstrip: attr.has(Attr::RSTRIP),
            });
            let mut node = 0usize;
            for &b in vocab.tokens[id as usize].as_bytes() {
                node = match nodes[node].edges.binary_search_by_key(&b, |e| e.0) {
                    Ok(i) => nodes[node].edges[i].1 as usize,
                    Err(i) => {
                        let child = nodes.len();
                        nodes.push(Node::default());
                        nodes[node].edges.insert(i, (b, child as u32));
                        child
                    }
                };
            }
            nodes[node].special = Some(index);
        }
        SpecialTokens { nodes, specials }
    }

    /// The special tokens that occur somewhere in `text`, in matching order.
    fn present(&self, text: &[u8]) -> Vec<u32> {
        let mut seen = vec![false; self.specials.len()];
        for start in 0..text.len() {
            let mut node = 0usize;
            for &b in &text[start..] {
                let edges = &self.nodes[node].edges;
                match edges.binary_search_by_key(&b, |e| e.0) {
                    Ok(i) => node = edges[i].1 as usize,
                    Err(_) => break,
                }
                if let Some(special) = self.nodes[node].special {
                    seen[special as usize] = true;
                }
            }
        }
        // Specials are stored in matching order, so their indices are their priorities.
        (0..self.specials.len() as u32)
            .filter(|&i| seen[i as usize])
            .collect()
    }

    /// Cuts `text` into plain-text fragments and special tokens.
    pub(crate) fn split<'t>(&self, text: &'t str) -> Vec<Fragment<'t>> {
        if self.specials.is_empty() {
            return if text.is_empty() {
                Vec::new()
            } else {
                vec![Fragment::Text(text)]
            };
        }
        let bytes = text.as_bytes();
        // Claimed byte ranges: start -> (end, token); `None` marks whitespace a strip removed.
        let mut claimed: BTreeMap<usize, (usize, Option<u32>)> = BTreeMap::new();
        for index in self.present(bytes) {
            let special = &self.specials[index as usize];
            let needle: &str = &special.text;
            // The text still unclaimed, as (start, end) byte ranges.
            let mut gaps = Vec::with_capacity(claimed.len() + 1);
            let mut pos = 0;
            for (&start, &(end, _)) in &claimed {
                if start > pos {
                    gaps.push((pos, start));
                }
                pos = end;
            }
            if pos < bytes.len() {
                gaps.push((pos, bytes.len()));
            }
            for (gap_start, gap_end) in gaps {
                let mut from = gap_start;
                while let Some(offset) = text[from..gap_end].find(needle) {
                    let start = from + offset;
                    let end = start + needle.len();
                    claimed.insert(start, (end, Some(special.id)));
                    if special.lstrip {
                        let mut left = start;
                        while left > from && is_c_space(bytes[left - 1]) {
                            left -= 1;
                        }
                        if left < start {
                            claimed.insert(left, (start, None));
                        }
                    }
                    from = end;
                    if special.rstrip {
                        while from < gap_end && is_c_space(bytes[from]) {
                            from += 1;
                        }
                        if from > end {
                            claimed.insert(end, (from, None));
                        }
                    }
                }
            }
        }

        let mut fragments = Vec::with_capacity(2 * claimed.len() + 1);
        let mut pos = 0;
        for (start, (end, token)) in claimed {
            if start > pos {
                fragments.push(Fragment::Text(&text[pos..start]));
            }
            if let Some(id) = token {
                fragments.push(Fragment::Token(id));
            }
            pos = end;
        }
        if pos < text.len() {
            fragments.push(Fragment::Text(&text[pos..]));
        }
        fragments
    }
}
