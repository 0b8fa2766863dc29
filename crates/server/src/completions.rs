//! `POST /v1/completions`: the Codex Completions API.
//!
//! A prompt may be a string, an array of strings, an array of token ids or an array of such
//! arrays; each prompt becomes one scheduler request with `n` choices, numbered
//! `prompt × n + choice` in the answer, and their usage is summed.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Extension, State};
use axum::response::{IntoResponse, Response};
use ferrocodex_generate::{
    CompletionRequest, Prompt, SamplingParams, MAX_LOGPROBS, MAX_SAMPLES, MAX_STOPS,
};
use ferrocodex_generate::api::usage_json;
use serde_json::{json, Value};

use crate::body::JsonBody;
use crate::error::ApiError;
use crate::local::{self, LocalBackend};
use crate::params::{wrong_type, Fields};
use crate::routes::{account, new_id, Caller};
use crate::sse::{self, finish_str, ChunkKind, StreamPlan};
use crate::{AppState, Backend};

/// The most prompts one request may carry.
pub const MAX_PROMPTS: usize = 64;

pub const ROUTE: &str = "/v1/completions";

/// Log-probabilities in the Completions API's shape (`top_logprobs` maps token → logprob).
pub use ferrocodex_generate::api::logprobs_json;

/// `model`: required, and it must be the model this server runs.
pub fn check_model(f: &Fields, served: &str) -> Result<String, ApiError> {
    let model = match f.required("model")? {
        Value::String(s) => s.clone(),
        other => return Err(wrong_type("model", "a string", other)),
    };
    if model != served {
        return Err(ApiError::model_not_found(&model, served));
    }
    Ok(model)
}

fn token_ids(items: &[Value]) -> Result<Vec<u32>, ApiError> {
    items
        .iter()
        .map(|v| {
            v.as_u64()
                .and_then(|x| u32::try_from(x).ok())
                .ok_or_else(|| {
                    ApiError::invalid_param(
                        "prompt",
                        format!(
                            "`prompt` token ids must be whole numbers from 0 to {}, got {v}.",
                            u32::MAX
                        ),
                    )
                })
        })
        .collect()
}

/// `prompt`: string | string[] | int[] | int[][].
fn prompts(v: &Value) -> Result<Vec<Prompt>, ApiError> {
    const EXPECTED: &str =
        "a string, an array of strings, an array of token ids or an array of token-id arrays";
    let items = match v {
        Value::String(s) => return Ok(vec![Prompt::Text(s.clone())]),
        Value::Array(items) => items,
        other => return Err(wrong_type("prompt", EXPECTED, other)),
    };
    if items.is_empty() {
        return Err(ApiError::invalid_param(
            "prompt",
            "`prompt` must not be an empty array.",
        ));
    }
    let out: Vec<Prompt> = match &items[0] {
        Value::Number(_) => vec![Prompt::Tokens(token_ids(items)?)],
        Value::String(_) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Ok(Prompt::Text(s.clone())),
                other => Err(wrong_type("prompt", EXPECTED, other)),
            })
            .collect::<Result<_, _>>()?,
        Value::Array(_) => items
            .iter()
            .map(|i| match i {
                Value::Array(ids) => Ok(Prompt::Tokens(token_ids(ids)?)),
                other => Err(wrong_type("prompt", EXPECTED, other)),
            })
            .collect::<Result<_, _>>()?,
        other => return Err(wrong_type("prompt", EXPECTED, other)),
    };
    if out.len() > MAX_PROMPTS {
        return Err(ApiError::invalid_param(
            "prompt",
            format!(
                "At most {MAX_PROMPTS} prompts may be sent in one request, got {}.",
                out.len()
            ),
        ));
    }
    Ok(out)
}

/// The sampling fields shared by completions and chat completions.
pub fn sampling(f: &Fields, vocab: usize) -> Result<SamplingParams, ApiError> {
    Ok(SamplingParams {
        // OpenAI's defaults: temperature 1, top_p 1.
        temperature: f.number("temperature", 0.0, 2.0)?.unwrap_or(1.0),
        // top_p 0 keeps only the most likely token, as with OpenAI.
        top_p: f
            .number("top_p", 0.0, 1.0)?
            .unwrap_or(1.0)
            .max(f32::MIN_POSITIVE),
        top_k: f.integer("top_k", 0, vocab as u64)?.unwrap_or(0),
        min_p: f.number("min_p", 0.0, 1.0)?.unwrap_or(0.0),
        presence_penalty: f.number("presence_penalty", -2.0, 2.0)?.unwrap_or(0.0),
        frequency_penalty: f.number("frequency_penalty", -2.0, 2.0)?.unwrap_or(0.0),
        repetition_penalty: f.number("repetition_penalty", 0.01, 10.0)?.unwrap_or(1.0),
        logit_bias: f.logit_bias("logit_bias", vocab)?,
        seed: f.seed("seed")?,
    })
}

struct Parsed {
    requests: Vec<CompletionRequest>,
    model: String,
    n: usize,
    stream: bool,
    include_usage: bool,
}

fn parse(f: &Fields, local: &LocalBackend) -> Result<Parsed, ApiError> {
    let model = check_model(f, &local.model_id)?;
    let prompts = prompts(f.required("prompt")?)?;
    let cfg = local.model.config();
    let max_tokens = f
        .integer("max_tokens", 0, cfg.n_ctx_train as u64)?
        .unwrap_or(16);
    let n = f.integer("n", 1, MAX_SAMPLES as u64)?.unwrap_or(1);
    let best_of = f.integer("best_of", 1, MAX_SAMPLES as u64)?;
    if best_of.is_some_and(|b| b < n) {
        return Err(ApiError::invalid_param(
            "best_of",
            "`best_of` must be greater than or equal to `n`.",
        ));
    }
    let stream = f.boolean("stream")?.unwrap_or(false);
    if stream && best_of.is_some_and(|b| b > n) {
        return Err(ApiError::invalid_param(
            "best_of",
            "Cannot stream results when `best_of` is greater than `n`.",
        ));
    }
    let include_usage = f.include_usage(stream)?;
    let logprobs = f.integer("logprobs", 0, MAX_LOGPROBS as u64)?;
    let echo = f.boolean("echo")?.unwrap_or(false);
    let stop = f.stop("stop", MAX_STOPS)?;
    let suffix = f.string("suffix")?.map(str::to_string);
    let _user = f.string("user")?;
    let sampling = sampling(f, cfg.vocab_size)?;
    let requests = prompts
        .into_iter()
        .map(|prompt| CompletionRequest {
            prompt,
            suffix: suffix.clone(),
            max_tokens,
            sampling: sampling.clone(),
            n,
            best_of,
            logprobs,
            echo,
            stop: stop.clone(),
        })
        .collect();
    Ok(Parsed {
        requests,
        model,
        n,
        stream,
        include_usage,
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
    let count = p.requests.len();
    let mut rx = local.submit_all(p.requests, started + st.cfg.request_timeout)?;
    let id = new_id("cmpl-");
    let created = crate::store::unix_now();
    if p.stream {
        let plan = StreamPlan {
            route: ROUTE,
            kind: ChunkKind::Text,
            id,
            created,
            model: p.model,
            n: p.n,
            requests: count,
            include_usage: p.include_usage,
            started,
        };
        return Ok(sse::respond(st.clone(), caller, rx, plan));
    }
    let done = local::collect(&mut rx, count).await?;
    drop(rx);
    let (mut prompt_tokens, mut completion_tokens) = (0u64, 0u64);
    let mut choices = Vec::new();
    for (pi, c) in done.into_iter().enumerate() {
        prompt_tokens += c.usage.prompt_tokens as u64;
        completion_tokens += c.usage.completion_tokens as u64;
        for ch in c.choices {
            choices.push(json!({
                "text": ch.text,
                "index": pi * p.n + ch.index,
                "logprobs": ch.logprobs.as_ref().map(logprobs_json),
                "finish_reason": finish_str(ch.finish_reason),
            }));
        }
    }
    account(&st, &caller, prompt_tokens, completion_tokens).await?;
    st.metrics
        .first_token(ROUTE, started.elapsed().as_secs_f64());
    Ok(axum::Json(json!({
        "id": id,
        "object": "text_completion",
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
    fn prompt_shapes() {
        assert_eq!(
            prompts(&json!("a")).unwrap(),
            vec![Prompt::Text("a".into())]
        );
        assert_eq!(prompts(&json!(["a", "b"])).unwrap().len(), 2);
        assert_eq!(
            prompts(&json!([1, 2, 3])).unwrap(),
            vec![Prompt::Tokens(vec![1, 2, 3])]
        );
        assert_eq!(
            prompts(&json!([[1], [2, 3]])).unwrap(),
            vec![Prompt::Tokens(vec![1]), Prompt::Tokens(vec![2, 3])]
        );
        for bad in [
            json!([]),
            json!(["a", 1]),
            json!([1, "a"]),
            json!([[1], "a"]),
            json!([-1]),
            json!([1.5]),
            json!({}),
            json!(3),
            json!([true]),
        ] {
            let e = prompts(&bad).unwrap_err();
            assert_eq!(e.param.as_deref(), Some("prompt"), "{bad}");
            assert_eq!(e.status.as_u16(), 400);
        }
    }

    #[test]
    fn logprobs_shape() {
        let lp = ferrocodex_generate::Logprobs {
            tokens: vec!["a".into(), "b".into()],
            token_logprobs: vec![None, Some(-0.5)],
            top_logprobs: vec![None, Some(vec![("b".into(), -0.5), ("c".into(), -1.0)])],
            text_offset: vec![0, 1],
        };
        let v = logprobs_json(&lp);
        assert_eq!(v["token_logprobs"], json!([null, -0.5]));
        assert_eq!(v["top_logprobs"][1]["c"], json!(-1.0));
        assert_eq!(v["text_offset"], json!([0, 1]));
    }
}
