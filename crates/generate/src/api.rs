//! The Completions API's JSON shapes for results, shared by the CLI's `--json` and the server.

use serde_json::{json, Map, Value};

use crate::{Completion, Logprobs};

/// `logprobs` of a choice: `top_logprobs` as objects keyed by token text (when two
/// alternatives have the same text, the more likely one is kept, as the API does).
pub fn logprobs_json(lp: &Logprobs) -> Value {
    let top: Vec<Value> = lp
        .top_logprobs
        .iter()
        .map(|alts| match alts {
            None => Value::Null,
            Some(alts) => {
                let mut m = Map::new();
                for (text, v) in alts {
                    m.entry(text.clone()).or_insert(json!(v));
                }
                Value::Object(m)
            }
        })
        .collect();
    json!({
        "tokens": lp.tokens,
        "token_logprobs": lp.token_logprobs,
        "top_logprobs": top,
        "text_offset": lp.text_offset,
    })
}

/// `usage`: prompt, completion and total tokens.
pub fn usage_json(prompt_tokens: u64, completion_tokens: u64) -> Value {
    json!({
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    })
}

/// The whole `text_completion` object.
pub fn completion_json(c: &Completion, id: &str, model: &str, created: u64) -> Value {
    let choices: Vec<Value> = c
        .choices
        .iter()
        .map(|ch| {
            json!({
                "text": ch.text,
                "index": ch.index,
                "logprobs": ch.logprobs.as_ref().map(logprobs_json),
                "finish_reason": ch.finish_reason.as_str(),
            })
        })
        .collect();
    json!({
        "id": id,
        "object": "text_completion",
        "created": created,
        "model": model,
        "choices": choices,
        "usage": usage_json(c.usage.prompt_tokens as u64, c.usage.completion_tokens as u64),
    })
}
