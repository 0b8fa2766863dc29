//! Turning a request's prompt (and suffix) into token ids.
//!
//! Insert mode with a model that declares fill-in-the-middle tokens uses the
//! prefix-suffix-middle layout that Qwen2.5-Coder, StarCoder2, DeepSeek-Coder and CodeLlama
//! were trained on, with each family's own tokens as the GGUF names them:
//!
//! ```text
//! [BOS] <fim-prefix> prefix <fim-suffix> suffix <fim-middle>   → the model writes the middle
//! ```
//!
//! (`<|fim_prefix|>`…, `<fim_prefix>`…, `<｜fim▁begin｜>`…`<｜fim▁hole｜>`…`<｜fim▁end｜>`, and
//! CodeLlama's `▁<PRE>`, `▁<SUF>`, `▁<MID>`). A model without such tokens (the default one)
//! continues the prefix, and generation stops where the output starts to repeat the suffix
//! ([`suffix_guard`]).

use ferrocodex_engine::Model;

use crate::{CompletionRequest, GenerateError, Prompt};

/// The token ids the model is fed for `req`.
pub fn prompt_ids(model: &Model, req: &CompletionRequest) -> Result<Vec<u32>, GenerateError> {
    let tok = model.tokenizer();
    let fim = req.suffix.as_ref().and_then(|s| tok.fim().map(|f| (s, f)));
    let Some((suffix, fim)) = fim else {
        return Ok(match &req.prompt {
            Prompt::Text(t) => tok.encode(t, tok.add_bos())?,
            Prompt::Tokens(ids) => ids.clone(),
        });
    };
    let mut ids = Vec::new();
    if tok.add_bos() {
        ids.extend(tok.bos());
    }
    ids.push(fim.prefix);
    match &req.prompt {
        Prompt::Text(t) => ids.extend(tok.encode(t, false)?),
        Prompt::Tokens(t) => ids.extend(t.iter().copied().filter(|&id| Some(id) != tok.bos())),
    }
    ids.push(fim.suffix);
    ids.extend(tok.encode(suffix, false)?);
    ids.push(fim.middle);
    Ok(ids)
}

/// For a model without fill-in-the-middle tokens: the text whose appearance in the output
/// means the model has reached the suffix — its first line with at least four visible
/// characters (among its first three lines), without the surrounding whitespace. `None`
/// when the model has FIM tokens or the suffix has no such line.
pub fn suffix_guard(model: &Model, req: &CompletionRequest) -> Option<String> {
    let suffix = req.suffix.as_ref()?;
    if model.tokenizer().fim().is_some() {
        return None;
    }
    suffix
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(3)
        .map(str::trim)
        .find(|l| l.chars().count() >= 4)
        .map(str::to_string)
}
