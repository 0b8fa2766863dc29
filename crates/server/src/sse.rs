//! Streaming answers as server-sent events in OpenAI's chunk format: one `data: {json}` event
//! per piece of text, one per finished choice, a usage chunk when
//! `stream_options.include_usage` is set, and `data: [DONE]`. Usage is committed to the
//! store before the usage chunk and `[DONE]` are sent.
//!
//! A client that disconnects drops the event stream; the next send here fails, the task ends
//! and drops the scheduler's receiver, which cancels generation.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use ferrocodex_generate::{Event, FinishReason, SchedEvent};
use ferrocodex_generate::api::usage_json;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::error::ApiError;
use crate::routes::{account, Caller};
use crate::AppState;

/// Which API's chunks to write.
#[derive(Clone, Copy)]
pub enum ChunkKind {
    /// `text_completion` chunks of /v1/completions.
    Text,
    /// `chat.completion.chunk` chunks; `top` alternatives when logprobs were asked for.
    Chat { logprobs: Option<usize> },
}

pub struct StreamPlan {
    pub route: &'static str,
    pub kind: ChunkKind,
    pub id: String,
    pub created: i64,
    pub model: String,
    /// Choices per prompt (indices are prompt × n + choice).
    pub n: usize,
    /// Requests whose results make up the answer.
    pub requests: usize,
    pub include_usage: bool,
    pub started: Instant,
}

pub fn finish_str(r: FinishReason) -> &'static str {
    match r {
        FinishReason::Length => "length",
        FinishReason::Stop | FinishReason::Cancelled => "stop",
    }
}

impl StreamPlan {
    fn chunk(&self, choices: Value) -> Value {
        let object = match self.kind {
            ChunkKind::Text => "text_completion",
            ChunkKind::Chat { .. } => "chat.completion.chunk",
        };
        let mut c = json!({
            "id": self.id,
            "object": object,
            "created": self.created,
            "model": self.model,
            "choices": choices,
        });
        if self.include_usage {
            c["usage"] = Value::Null;
        }
        c
    }

    fn delta(
        &self,
        index: usize,
        text: String,
        logprobs: Option<&ferrocodex_generate::Logprobs>,
    ) -> Value {
        match self.kind {
            ChunkKind::Text => self.chunk(json!([{
                "text": text,
                "index": index,
                "logprobs": logprobs.map(crate::completions::logprobs_json),
                "finish_reason": null,
            }])),
            ChunkKind::Chat { logprobs: top } => self.chunk(json!([{
                "index": index,
                "delta": {"content": text},
                "logprobs": top.and_then(|k| logprobs.map(|lp| crate::chat::logprobs_json(lp, k))),
                "finish_reason": null,
            }])),
        }
    }

    fn finish(&self, index: usize, reason: FinishReason) -> Value {
        match self.kind {
            ChunkKind::Text => self.chunk(json!([{
                "text": "",
                "index": index,
                "logprobs": null,
                "finish_reason": finish_str(reason),
            }])),
            ChunkKind::Chat { .. } => self.chunk(json!([{
                "index": index,
                "delta": {},
                "logprobs": null,
                "finish_reason": finish_str(reason),
            }])),
        }
    }
}

fn data(v: &Value) -> Result<SseEvent, Infallible> {
    Ok(SseEvent::default().data(v.to_string()))
}

/// Starts the task that turns scheduler events into SSE chunks and returns the response.
pub fn respond(
    st: Arc<AppState>,
    caller: Caller,
    rx: mpsc::UnboundedReceiver<(usize, SchedEvent)>,
    plan: StreamPlan,
) -> Response {
    let (tx, out) = mpsc::channel::<Result<SseEvent, Infallible>>(64);
    tokio::spawn(drive(st, caller, rx, plan, tx));
    let stream = futures_util::stream::unfold(out, |mut out| async move {
        out.recv().await.map(|ev| (ev, out))
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}

async fn drive(
    st: Arc<AppState>,
    caller: Caller,
    mut rx: mpsc::UnboundedReceiver<(usize, SchedEvent)>,
    plan: StreamPlan,
    tx: mpsc::Sender<Result<SseEvent, Infallible>>,
) {
    if let ChunkKind::Chat { .. } = plan.kind {
        for i in 0..plan.n * plan.requests {
            let role = plan.chunk(json!([{
                "index": i,
                "delta": {"role": "assistant", "content": ""},
                "logprobs": null,
                "finish_reason": null,
            }]));
            if tx.send(data(&role)).await.is_err() {
                return;
            }
        }
    }
    let fail = |e: ApiError| data(&e.body());
    let (mut prompt_tokens, mut completion_tokens) = (0u64, 0u64);
    let mut left = plan.requests;
    let mut first = true;
    while left > 0 {
        let Some((req, ev)) = rx.recv().await else {
            let _ = tx
                .send(fail(ApiError::unavailable(
                    "Generation stopped before it finished.",
                )))
                .await;
            return;
        };
        let chunk = match ev {
            SchedEvent::Event(Event::Delta {
                index,
                text,
                logprobs,
            }) => {
                if text.is_empty() && logprobs.is_none() {
                    continue;
                }
                if first {
                    first = false;
                    st.metrics
                        .first_token(plan.route, plan.started.elapsed().as_secs_f64());
                }
                plan.delta(req * plan.n + index, text, logprobs.as_ref())
            }
            SchedEvent::Event(Event::Finish { index, reason }) => {
                // A choice that ends before any text (its first token ends it) still answered:
                // count it, as the non-streamed path does.
                if first {
                    first = false;
                    st.metrics
                        .first_token(plan.route, plan.started.elapsed().as_secs_f64());
                }
                plan.finish(req * plan.n + index, reason)
            }
            SchedEvent::Done(Ok(c)) => {
                prompt_tokens += c.usage.prompt_tokens as u64;
                completion_tokens += c.usage.completion_tokens as u64;
                left -= 1;
                continue;
            }
            SchedEvent::Done(Err(e)) => {
                let _ = tx.send(fail(ApiError::from(e))).await;
                let _ = tx.send(Ok(SseEvent::default().data("[DONE]"))).await;
                return;
            }
        };
        if tx.send(data(&chunk)).await.is_err() {
            return; // the client went away; dropping `rx` cancels generation
        }
    }
    drop(rx);
    if let Err(e) = account(&st, &caller, prompt_tokens, completion_tokens).await {
        let _ = tx.send(fail(e)).await;
        return;
    }
    if plan.include_usage {
        let mut c = plan.chunk(json!([]));
        c["usage"] = usage_json(prompt_tokens, completion_tokens);
        if tx.send(data(&c)).await.is_err() {
            return;
        }
    }
    let _ = tx.send(Ok(SseEvent::default().data("[DONE]"))).await;
}
