//! `POST /v1/chat/completions`: messages are rendered into a prompt by the model's chat
//! template, then generated like a completion (the template's end-of-turn token ends the
//! answer, as every end-of-generation token does).

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Extension, State};
use axum::response::{IntoResponse, Response};
use ferrocodex_generate::{
    CompletionRequest, Logprobs, Prompt, MAX_LOGPROBS, MAX_SAMPLES, MAX_STOPS,
};
use ferrocodex_generate::api::usage_json;
use serde_json::{json, Value};

use crate::body::JsonBody;
use crate::completions::{check_model, sampling};
use crate::error::ApiError;
use crate::local::{self, LocalBackend};
use crate::params::{wrong_type, Fields};
use crate::routes::{account, new_id, Caller};
use crate::sse::{self, finish_str, ChunkKind, StreamPlan};
use crate::template::ChatMessage;
use crate::{AppState, Backend};

pub const ROUTE: &str = "/v1/chat/completions";

/// Answer length when the request gives none (bounded by what is left of the context).
const DEFAULT_MAX_TOKENS: usize = 512;

const ROLES: [&str; 5] = ["system", "developer", "user", "assistant", "tool"];

/// Log-probabilities in the Chat Completions shape: one entry per token with its bytes and
/// the `top` most likely alternatives.
pub fn logprobs_json(lp: &Logprobs, top: usize) -> Value {
    let entry = |tok: &str, p: Option<f32>| json!({"token": tok, "logprob": p.unwrap_or(-9999.0), "bytes": tok.as_bytes()});
    let content: Vec<Value> = lp
        .tokens
        .iter()
        .enumerate()
        .map(|(i, tok)| {
            let mut e = entry(tok, lp.token_logprobs.get(i).copied().flatten());
            let alts: Vec<Value> = lp
                .top_logprobs
                .get(i)
                .and_then(|a| a.as_ref())
                .map(|alts| {
                    alts.iter()
                        .take(top)
                        .map(|(t, p)| entry(t, Some(*p)))
                        .collect()
                })
                .unwrap_or_default();
            e["top_logprobs"] = Value::Array(alts);
            e
        })
        .collect();
    json!({ "content": content })
}

fn messages(v: &Value) -> Result<Vec<ChatMessage>, ApiError> {
    let Value::Array(items) = v else {
        return Err(wrong_type("messages", "an array of message objects", v));
    };
    if items.is_empty() {
        return Err(ApiError::invalid_param(
            "messages",
            "`messages` must hold at least one message.",
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let at = |field: &str| format!("messages[{i}].{field}");
            let Value::Object(m) = m else {
                return Err(wrong_type(&format!("messages[{i}]"), "an object", m));
            };
            let role = match m.get("role") {
                Some(Value::String(r)) if ROLES.contains(&r.as_str()) => r.clone(),
                Some(Value::String(r)) => {
                    return Err(ApiError::invalid_param(
                        at("role"),
                        format!("Unknown role {r:?}; use one of {}.", ROLES.join(", ")),
                    ))
                }
                Some(other) => return Err(wrong_type(&at("role"), "a string", other)),
                None => return Err(ApiError::invalid_param(at("role"), format!("`{}` is required.", at("role")))),
            };
            let content = match m.get("content") {
                Some(Value::String(s)) => s.clone(),
                // Assistant turns that only called tools, and empty turns, have no content.
                None | Some(Value::Null) => String::new(),
                Some(Value::Array(parts)) => {
                    let mut text = String::new();
                    for p in parts {
                        match (p.get("type").and_then(Value::as_str), p.get("text")) {
                            (Some("text"), Some(Value::String(t))) => text.push_str(t),
                            _ => {
                                return Err(ApiError::invalid_param(
                                    at("content"),
                                    "Only text content parts ({\"type\": \"text\", \"text\": \"...\"}) are supported.",
                                ))
                            }
                        }
                    }
                    text
                }
                Some(other) => return Err(wrong_type(&at("content"), "a string or an array of text parts", other)),
            };
            let name = match m.get("name") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(other) => return Err(wrong_type(&at("name"), "a string", other)),
            };
            Ok(ChatMessage { role, content, name })
        })
        .collect()
}

struct Parsed {
    request: CompletionRequest,
    model: String,
    n: usize,
    stream: bool,
    include_usage: bool,
    top_logprobs: Option<usize>,
}

fn parse(f: &Fields, local: &LocalBackend) -> Result<Parsed, ApiError> {
    let model = check_model(f, &local.model_id)?;
    let msgs = messages(f.required("messages")?)?;
    let template = local
        .chat
        .as_ref()
        .map_err(|why| ApiError::invalid_param("messages", why.clone()))?;
    let text = template.render(&msgs)?;
    let tok = local.model.tokenizer();
    let bos_text = tok.bos().and_then(|b| tok.token_text(b)).unwrap_or("");
    let add_bos = tok.add_bos() && (bos_text.is_empty() || !text.starts_with(bos_text));
    let ids = tok
        .encode(&text, add_bos)
        .map_err(|e| ApiError::invalid_param("messages", e.to_string()))?;
    let cfg = local.model.config();
    let room = cfg.n_ctx_train.saturating_sub(ids.len());
    if room == 0 {
        return Err(ApiError::invalid_param(
            "messages",
            format!(
                "The messages take {} tokens, the whole context of the model ({}).",
                ids.len(),
                cfg.n_ctx_train
            ),
        ));
    }
    let max_tokens = match f.integer("max_completion_tokens", 1, cfg.n_ctx_train as u64)? {
        Some(m) => Some(m),
        None => f.integer("max_tokens", 1, cfg.n_ctx_train as u64)?,
    }
    .unwrap_or(DEFAULT_MAX_TOKENS.min(room));
    let n = f.integer("n", 1, MAX_SAMPLES as u64)?.unwrap_or(1);
    let stream = f.boolean("stream")?.unwrap_or(false);
    let include_usage = f.include_usage(stream)?;
    let logprobs = f.boolean("logprobs")?.unwrap_or(false);
    let top = f.integer("top_logprobs", 0, MAX_LOGPROBS as u64)?;
    if top.is_some() && !logprobs {
        return Err(ApiError::invalid_param(
            "top_logprobs",
            "`top_logprobs` needs `logprobs` set to true.",
        ));
    }
    let top_logprobs = logprobs.then(|| top.unwrap_or(0));
    let stop = f.stop("stop", MAX_STOPS)?;
    let _user = f.string("user")?;
    let request = CompletionRequest {
        prompt: Prompt::Tokens(ids),
        suffix: None,
        max_tokens,
        sampling: sampling(f, cfg.vocab_size)?,
        n,
        best_of: None,
        logprobs: top_logprobs,
        echo: false,
        stop,
    };
    Ok(Parsed {
        request,
        model,
        n,
        stream,
        include_usage,
        top_logprobs,
    })
}

pub async fn handle(
    State(st): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let f = Fields::of(&body.value)?;
    let local = match &st.backend {
        Backend::Upstream(up) => {
            return crate::upstream::forward(&st, up, &caller, ROUTE, &f, body.raw, started).await
        }
        Backend::Local(l) => l,
    };
    let p = parse(&f, local)?;
    let mut rx = local.submit_all(vec![p.request], started + st.cfg.request_timeout)?;
    let id = new_id("chatcmpl-");
    let created = crate::store::unix_now();
    if p.stream {
        let plan = StreamPlan {
            route: ROUTE,
            kind: ChunkKind::Chat {
                logprobs: p.top_logprobs,
            },
            id,
            created,
            model: p.model,
            n: p.n,
            requests: 1,
            include_usage: p.include_usage,
            started,
        };
        return Ok(sse::respond(st.clone(), caller, rx, plan));
    }
    let done = local::collect(&mut rx, 1).await?;
    drop(rx);
    let c = done
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::internal("no result"))?;
    let (prompt_tokens, completion_tokens) = (
        c.usage.prompt_tokens as u64,
        c.usage.completion_tokens as u64,
    );
    let choices: Vec<Value> = c
        .choices
        .into_iter()
        .map(|ch| {
            json!({
                "index": ch.index,
                "message": {"role": "assistant", "content": ch.text},
                "logprobs": p.top_logprobs.and_then(|k| ch.logprobs.as_ref().map(|lp| logprobs_json(lp, k))),
                "finish_reason": finish_str(ch.finish_reason),
            })
        })
        .collect();
    account(&st, &caller, prompt_tokens, completion_tokens).await?;
    st.metrics
        .first_token(ROUTE, started.elapsed().as_secs_f64());
    Ok(axum::Json(json!({
        "id": id,
        "object": "chat.completion",
        "created": created,
        "model": p.model,
        "choices": choices,
        "usage": usage_json(prompt_tokens, completion_tokens),
    }))
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_validation_names_the_field() {
        let ok = messages(&json!([{"role": "system", "content": "be brief"}, {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}, {"role": "assistant", "content": null}])).unwrap();
        assert_eq!(ok[1].content, "ab");
        let cases = [
            (json!([]), "messages"),
            (json!("hi"), "messages"),
            (json!([1]), "messages[0]"),
            (json!([{"content": "x"}]), "messages[0].role"),
            (
                json!([{"role": "robot", "content": "x"}]),
                "messages[0].role",
            ),
            (
                json!([{"role": "user", "content": 5}]),
                "messages[0].content",
            ),
            (
                json!([{"role": "user", "content": [{"type": "image_url"}]}]),
                "messages[0].content",
            ),
            (
                json!([{"role": "user", "content": "x", "name": 1}]),
                "messages[0].name",
            ),
        ];
        for (v, param) in cases {
            let e = messages(&v).unwrap_err();
            assert_eq!(e.param.as_deref(), Some(param), "{v}");
        }
    }

    #[test]
    fn chat_logprobs_shape() {
        let lp = Logprobs {
            tokens: vec!["hi".into()],
            token_logprobs: vec![Some(-0.25)],
            top_logprobs: vec![Some(vec![("hi".into(), -0.25), ("yo".into(), -2.0)])],
            text_offset: vec![0],
        };
        let v = logprobs_json(&lp, 1);
        assert_eq!(v["content"][0]["token"], "hi");
        assert_eq!(v["content"][0]["bytes"], json!([104, 105]));
        assert_eq!(v["content"][0]["top_logprobs"].as_array().unwrap().len(), 1);
    }
}
