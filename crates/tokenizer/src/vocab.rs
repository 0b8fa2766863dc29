//! Reading the vocabulary and its special tokens from GGUF metadata, and the token attributes
//! llama.cpp derives from them.
//!
//! GGUF stores one type per token (`tokenizer.ggml.token_type`); llama.cpp turns it into a set of
//! attributes and then adjusts them by the token's text: tokens such as `<end_of_turn>` or
//! `<|im_end|>` become control tokens that end generation even when the file calls them
//! something else, fill-in-the-middle tokens are found by name when the file does not list
//! them, and so on. Encoding, decoding and stopping all follow those adjusted attributes, so they
//! are computed once here.

use std::collections::BTreeSet;

use ferrocodex_gguf::{GgufFile, Value};
use tokenizers::models::bpe::Vocab;

use crate::TokenizerError;

/// Which tokenizer algorithm a vocabulary uses (`tokenizer.ggml.model`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// SentencePiece: "▁" for spaces, merges chosen by token score, `<0xNN>` byte fallback.
    Llama,
    /// GPT-2 style byte-level BPE with an explicit merge list and a regex pre-tokenizer.
    Gpt2,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Llama => "llama",
            Kind::Gpt2 => "gpt2",
        }
    }
}

/// Token attributes as llama.cpp keeps them (a token may carry several).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Attr(u16);

impl Attr {
    pub(crate) const UNDEFINED: Attr = Attr(0);
    pub(crate) const UNKNOWN: Attr = Attr(1 << 0);
    pub(crate) const UNUSED: Attr = Attr(1 << 1);
    pub(crate) const NORMAL: Attr = Attr(1 << 2);
    pub(crate) const CONTROL: Attr = Attr(1 << 3);
    pub(crate) const USER_DEFINED: Attr = Attr(1 << 4);
    pub(crate) const BYTE: Attr = Attr(1 << 5);
    /// Whitespace to the left of this special token is dropped when it is split out of text.
    pub(crate) const LSTRIP: Attr = Attr(1 << 7);
    /// Whitespace to the right of this special token is dropped when it is split out of text.
    pub(crate) const RSTRIP: Attr = Attr(1 << 8);

    /// The attribute for a GGUF token type: 1 normal, 2 unknown, 3 control, 4 user-defined,
    /// 5 unused, 6 byte; anything else is undefined (never emitted as text).
    fn from_token_type(ty: i64) -> Attr {
        match ty {
            1 => Attr::NORMAL,
            2 => Attr::UNKNOWN,
            3 => Attr::CONTROL,
            4 => Attr::USER_DEFINED,
            5 => Attr::UNUSED,
            6 => Attr::BYTE,
            _ => Attr::UNDEFINED,
        }
    }

    pub(crate) fn has(self, other: Attr) -> bool {
        self.0 & other.0 != 0
    }

    fn insert(&mut self, other: Attr) {
        self.0 |= other.0;
    }

    fn remove(&mut self, other: Attr) {
        self.0 &= !other.0;
    }

    /// Tokens that are split out of text before the model tokenizer sees it.
    pub(crate) fn is_special(self) -> bool {
        self.has(Attr(
            Attr::CONTROL.0 | Attr::USER_DEFINED.0 | Attr::UNKNOWN.0,
        ))
    }
}

/// Texts llama.cpp recognises as end-of-turn tokens when `tokenizer.ggml.eot_token_id` is absent.
const EOT_TEXTS: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "<|end_of_text|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "<｜end▁of▁sentence｜>",
    "<end_of_utterance>",
];

/// Texts of tokens that end generation whatever the metadata says.
const EOG_TEXTS: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<|return|>",
    "<|call|>",
    "<|flush|>",
    "<|calls|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "</s>",
    "<|eom_id|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "[EOS]",
    "<|end_of_text|>",
    "<end_of_utterance>",
    "<eos>",
    "<turn|>",
    "<|tool_response>",
    "<｜end▁of▁sentence｜>",
    "[e~[",
];

const FIM_PRE_TEXTS: &[&str] = &[
    "<|fim_prefix|>",
    "<fim-prefix>",
    "<fim_prefix>",
    "<｜fim▁begin｜>",
    "<PRE>",
    "▁<PRE>",
    "<|code_prefix|>",
    "<|prefix|>",
];
const FIM_SUF_TEXTS: &[&str] = &[
    "<|fim_suffix|>",
    "<fim-suffix>",
    "<fim_suffix>",
    "<｜fim▁hole｜>",
    "<SUF>",
    "▁<SUF>",
    "<|code_suffix|>",
    "<|suffix|>",
];
const FIM_MID_TEXTS: &[&str] = &[
    "<|fim_middle|>",
    "<fim-middle>",
    "<fim_middle>",
    "<｜fim▁end｜>",
    "<MID>",
    "▁<MID>",
    "<|code_middle|>",
    "<|middle|>",
];
const FIM_PAD_TEXTS: &[&str] = &["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"];
const FIM_REP_TEXTS: &[&str] = &[
    "<|fim_repo|>",
    "<|repo_name|>",
    "<fim-repo>",
    "<REPO>",
    "<reponame>",
];
const FIM_SEP_TEXTS: &[&str] = &["<|file_sep|>"];

/// Everything the tokenizer needs from the file, validated.
pub(crate) struct Vocabulary {
    pub kind: Kind,
    /// `tokenizer.ggml.pre`, for byte-level BPE vocabularies.
    pub pre: Option<String>,
    pub tokens: Vec<String>,
    /// Token text to id (the map the BPE model is built on).
    pub index: Vocab,
    pub scores: Vec<f32>,
    pub attrs: Vec<Attr>,
    /// Byte-level BPE merges in rank order (empty for SentencePiece vocabularies).
    pub merges: Vec<(String, String)>,
    pub bos: Option<u32>,
    pub eos: Option<u32>,
    pub unk: Option<u32>,
    pub fim_pre: Option<u32>,
    pub fim_suf: Option<u32>,
    pub fim_mid: Option<u32>,
    pub fim_pad: Option<u32>,
    pub fim_rep: Option<u32>,
    pub fim_sep: Option<u32>,
    pub add_bos: bool,
    pub add_space_prefix: bool,
    pub eog: BTreeSet<u32>,
    pub chat_template: Option<String>,
}

fn invalid(what: String) -> TokenizerError {
    TokenizerError::InvalidMetadata(what)
}

/// A metadata array whose items must all be strings.
fn string_array<'f>(file: &'f GgufFile, key: &str) -> Result<Option<Vec<&'f str>>, TokenizerError> {
    let Some(value) = file.get(key) else {
        return Ok(None);
    };
    let Some(items) = value.as_array() else {
        return Err(invalid(format!("{key} is not an array")));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, v)| {
            v.as_str()
                .ok_or_else(|| invalid(format!("item {i} of {key} is not a string")))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// A per-token numeric array, which must have exactly one item per token.
fn numeric_array<'f>(
    file: &'f GgufFile,
    key: &str,
    n_tokens: usize,
) -> Result<Option<&'f [Value]>, TokenizerError> {
    let Some(value) = file.get(key) else {
        return Ok(None);
    };
    let Some(items) = value.as_array() else {
        return Err(invalid(format!("{key} is not an array")));
    };
    if items.len() != n_tokens {
        return Err(invalid(format!(
            "{key} has {} entries but tokenizer.ggml.tokens has {n_tokens}; the two must match",
            items.len()
        )));
    }
    Ok(Some(items))
}

fn bool_key(file: &GgufFile, key: &str) -> Result<Option<bool>, TokenizerError> {
    match file.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_bool()
            .map(Some)
            .ok_or_else(|| invalid(format!("{key} is {v:?}, not a boolean"))),
    }
}

/// A token id from the metadata. Negative values mean "no such token" (some converters write
/// -1); an id past the end of the vocabulary is an error.
fn id_key(file: &GgufFile, key: &str, n_tokens: usize) -> Result<Option<u32>, TokenizerError> {
    let Some(v) = file.get(key) else {
        return Ok(None);
    };
    let Some(id) = v.as_i64() else {
        return Err(invalid(format!("{key} is {v:?}, not a token id")));
    };
    if id < 0 {
        return Ok(None);
    }
    if id as u64 >= n_tokens as u64 {
        return Err(invalid(format!(
            "{key} is {id}, outside the vocabulary of {n_tokens} tokens"
        )));
    }
    Ok(Some(id as u32))
}

impl Vocabulary {
    pub(crate) fn from_gguf(file: &GgufFile) -> Result<Vocabulary, TokenizerError> {
        let model = match file.get("tokenizer.ggml.model") {
            None => return Err(TokenizerError::Missing("tokenizer.ggml.model")),
            Some(v) => v
                .as_str()
                .ok_or_else(|| invalid(format!("tokenizer.ggml.model is {v:?}, not a string")))?,
        };
        let kind = match model {
            "llama" => Kind::Llama,
            "gpt2" => Kind::Gpt2,
            other => return Err(TokenizerError::UnsupportedModel(other.to_string())),
        };
        let pre = match file.get("tokenizer.ggml.pre") {
            None => None,
            Some(v) => Some(
                v.as_str()
                    .ok_or_else(|| invalid(format!("tokenizer.ggml.pre is {v:?}, not a string")))?
                    .to_string(),
            ),
        };

        let raw_tokens = string_array(file, "tokenizer.ggml.tokens")?
            .ok_or(TokenizerError::Missing("tokenizer.ggml.tokens"))?;
        let n = raw_tokens.len();
        if n == 0 {
            return Err(invalid("tokenizer.ggml.tokens is empty".into()));
        }
        if n > u32::MAX as usize {
            return Err(invalid(format!(
                "tokenizer.ggml.tokens has {n} entries, more than token ids can address"
            )));
        }

        // llama.cpp names empty entries "[EMPTY_<id>]" so that every token has a distinct text.
        let tokens: Vec<String> = raw_tokens
            .iter()
            .enumerate()
            .map(|(i, t)| {
                if t.is_empty() {
                    format!("[EMPTY_{i}]")
                } else {
                    (*t).to_string()
                }
            })
            .collect();
        let mut index = Vocab::with_capacity(n);
        for (i, t) in tokens.iter().enumerate() {
            if let Some(first) = index.insert(t.clone(), i as u32) {
                return Err(invalid(format!(
                    "tokenizer.ggml.tokens lists {t:?} twice (ids {first} and {i}); every token must be distinct"
                )));
            }
        }

        let scores = match numeric_array(file, "tokenizer.ggml.scores", n)? {
            None => vec![0.0; n],
            Some(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    v.as_f64().map(|s| s as f32).ok_or_else(|| {
                        invalid(format!("item {i} of tokenizer.ggml.scores is not a number"))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
        };
        let attrs = match numeric_array(file, "tokenizer.ggml.token_type", n)? {
            None => vec![Attr::NORMAL; n],
            Some(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    v.as_i64().map(Attr::from_token_type).ok_or_else(|| {
                        invalid(format!(
                            "item {i} of tokenizer.ggml.token_type is not an integer"
                        ))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
        };

        let merges = match kind {
            Kind::Llama => Vec::new(),
            Kind::Gpt2 => {
                let raw = string_array(file, "tokenizer.ggml.merges")?
                    .ok_or(TokenizerError::Missing("tokenizer.ggml.merges"))?;
                // A merge is "left right"; the separator is the first space after the first byte,
                // as llama.cpp reads it. Entries without one cannot be applied and are skipped.
                raw.iter()
                    .filter_map(|m| {
                        let cut = m.bytes().skip(1).position(|b| b == b' ')? + 1;
                        Some((m[..cut].to_string(), m[cut + 1..].to_string()))
                    })
                    .collect()
            }
        };

        let id = |key: &str| id_key(file, key, n);
        // SentencePiece vocabularies without explicit ids use LLaMA's layout (unk 0, bos 1, eos 2).
        let default = |fallback: u32| match kind {
            Kind::Llama if (fallback as usize) < n => Some(fallback),
            _ => None,
        };
        let bos = match file.get("tokenizer.ggml.bos_token_id") {
            None => default(1),
            Some(_) => id("tokenizer.ggml.bos_token_id")?,
        };
        let eos = match file.get("tokenizer.ggml.eos_token_id") {
            None => default(2),
            Some(_) => id("tokenizer.ggml.eos_token_id")?,
        };
        let unk = match file.get("tokenizer.ggml.unknown_token_id") {
            None => default(0),
            Some(_) => id("tokenizer.ggml.unknown_token_id")?,
        };
        let mut eot = id("tokenizer.ggml.eot_token_id")?;
        let mut eom = id("tokenizer.ggml.eom_token_id")?;
        id("tokenizer.ggml.padding_token_id")?;
        let mut fim_pre = first_id(&[
            id("tokenizer.ggml.fim_pre_token_id")?,
            id("tokenizer.ggml.prefix_token_id")?,
        ]);
        let mut fim_suf = first_id(&[
            id("tokenizer.ggml.fim_suf_token_id")?,
            id("tokenizer.ggml.suffix_token_id")?,
        ]);
        let mut fim_mid = first_id(&[
            id("tokenizer.ggml.fim_mid_token_id")?,
            id("tokenizer.ggml.middle_token_id")?,
        ]);
        let mut fim_pad = id("tokenizer.ggml.fim_pad_token_id")?;
        let mut fim_rep = id("tokenizer.ggml.fim_rep_token_id")?;
        let mut fim_sep = id("tokenizer.ggml.fim_sep_token_id")?;

        let pre_defaults = match kind {
            Kind::Llama => PreDefaults { add_bos: true },
            Kind::Gpt2 => PreDefaults::for_pre(pre.as_deref()),
        };
        let add_bos =
            bool_key(file, "tokenizer.ggml.add_bos_token")?.unwrap_or(pre_defaults.add_bos);
        let add_eos = bool_key(file, "tokenizer.ggml.add_eos_token")?.unwrap_or(false);
        let add_space_prefix =
            bool_key(file, "tokenizer.ggml.add_space_prefix")?.unwrap_or(kind == Kind::Llama);
        if add_bos && bos.is_none() {
            return Err(invalid(
                "tokenizer.ggml.add_bos_token is true but the file names no BOS token (tokenizer.ggml.bos_token_id)".into(),
            ));
        }
        if add_eos && eos.is_none() {
            return Err(invalid(
                "tokenizer.ggml.add_eos_token is true but the file names no EOS token (tokenizer.ggml.eos_token_id)".into(),
            ));
        }

        let chat_template = match file.get("tokenizer.chat_template") {
            None => None,
            Some(v) => Some(
                v.as_str()
                    .ok_or_else(|| {
                        invalid(format!("tokenizer.chat_template is {v:?}, not a string"))
                    })?
                    .to_string(),
            ),
        };

        let mut attrs = attrs;
        // Find missing end-of-turn and fill-in-the-middle tokens by their text; whatever is found
        // this way is treated as a control token, as llama.cpp does.
        for (i, text) in tokens.iter().enumerate() {
            let id = i as u32;
            let text = text.as_str();
            for (slot, names) in [
                (&mut eot, EOT_TEXTS),
                (&mut eom, &["<|eom_id|>"][..]),
                (&mut fim_pre, FIM_PRE_TEXTS),
                (&mut fim_suf, FIM_SUF_TEXTS),
                (&mut fim_mid, FIM_MID_TEXTS),
                (&mut fim_pad, FIM_PAD_TEXTS),
                (&mut fim_rep, FIM_REP_TEXTS),
                (&mut fim_sep, FIM_SEP_TEXTS),
            ] {
                if slot.is_none() && names.contains(&text) {
                    *slot = Some(id);
                    attrs[i].insert(Attr::CONTROL);
                }
            }
        }
        for (i, text) in tokens.iter().enumerate() {
            if attrs[i].has(Attr::CONTROL) && text.contains("unused") {
                attrs[i].insert(Attr::UNUSED);
            }
        }

        let mut eog: BTreeSet<u32> = [fim_pad, fim_rep, fim_sep].into_iter().flatten().collect();
        for (i, text) in tokens.iter().enumerate() {
            if EOG_TEXTS.contains(&text.as_str()) {
                eog.insert(i as u32);
                attrs[i].insert(Attr::CONTROL);
            }
        }
        // Harmony-format channel markers are always rendered as text.
        for (i, text) in tokens.iter().enumerate() {
            if matches!(
                text.as_str(),
                "<|channel|>" | "<|message|>" | "<|start|>" | "<|constrain|>"
            ) {
                attrs[i] = Attr::USER_DEFINED;
            }
        }
        eog.extend([eos, eot, eom].into_iter().flatten());

        let find_eog = |eog: &BTreeSet<u32>, wanted: &str| {
            eog.iter()
                .copied()
                .find(|&id| tokens[id as usize] == wanted)
        };
        // In vocabularies with both "<|return|>"/"<|call|>" (or "<|calls|>"/"<|flush|>"), "<|end|>"
        // only closes a message and must not stop generation.
        if let Some(end) = find_eog(&eog, "<|end|>") {
            let has = |t: &str| find_eog(&eog, t).is_some();
            let call = has("<|call|>") || has("<|calls|>");
            if call && (has("<|return|>") || has("<|flush|>")) {
                eog.remove(&end);
                attrs[end as usize] = Attr::USER_DEFINED;
            }
        }
        // Vocabularies with "<|tool_response>" use "</s>" as ordinary text.
        if find_eog(&eog, "<|tool_response>").is_some() {
            if let Some(s) = find_eog(&eog, "</s>") {
                eog.remove(&s);
                attrs[s as usize] = Attr::NORMAL;
            }
        }

        // Phi-3 drops whitespace after its special tokens (except a few) when splitting them out.
        let model_name = file.get_str("general.name").unwrap_or("").to_lowercase();
        if model_name.contains("phi-3") || model_name.contains("phi3") {
            for a in attrs.iter_mut().filter(|a| a.is_special()) {
                a.insert(Attr::RSTRIP);
            }
            for (i, text) in tokens.iter().enumerate() {
                match text.as_str() {
                    "</s>" => attrs[i].insert(Attr::RSTRIP),
                    "<unk>" | "<s>" | "<|endoftext|>" => attrs[i].remove(Attr::RSTRIP),
                    _ => {}
                }
            }
        }

        Ok(Vocabulary {
            kind,
            pre,
            tokens,
            index,
            scores,
            attrs,
            merges,
            bos,
            eos,
            unk,
            fim_pre,
            fim_suf,
            fim_mid,
            fim_pad,
            fim_rep,
            fim_sep,
            add_bos,
            add_space_prefix,
            eog,
            chat_template,
        })
    }
}

fn first_id(candidates: &[Option<u32>]) -> Option<u32> {
    candidates.iter().copied().flatten().next()
}

/// Defaults that depend on the byte-level pre-tokenizer name.
struct PreDefaults {
    add_bos: bool,
}

impl PreDefaults {
    fn for_pre(pre: Option<&str>) -> PreDefaults {
        let add_bos = crate::gpt2::PreTokenizer::by_name(pre.unwrap_or("default"))
            .map(|p| p.add_bos)
            .unwrap_or(false);
        PreDefaults { add_bos }
    }
}
