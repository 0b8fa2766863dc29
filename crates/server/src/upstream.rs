//! Upstream mode: completions and chat completions are forwarded to an OpenAI-compatible
//! engine (vLLM, TGI, llama.cpp's server, another ferrocodex) over plain HTTP, while keys,
//! limits, usage, metrics and this server's own endpoints stay here.
//!
//! Usage is read from the upstream answer's `usage`. For streams, the forwarded request asks
//! for `stream_options.include_usage`, so that the last chunk carries it; that chunk is passed
//! on only when the client asked for it too. An upstream stream without usage (llama.cpp's
//! Python server sends none) is counted by its chunks with text (one token each) and no
//! prompt tokens.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{header, Method, Request};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::error::ApiError;
use crate::params::{wrong_type, Fields};
use crate::routes::{account, Caller};
use crate::AppState;

/// Largest non-streamed upstream answer read.
const MAX_ANSWER_BYTES: usize = 64 << 20;

pub struct UpstreamBackend {
    /// `http://host:port` plus any path prefix, without a trailing `/v1`.
    base: String,
    key: Option<String>,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl UpstreamBackend {
    /// `url` is the engine's base URL, with or without a trailing `/v1`
    /// (`http://127.0.0.1:8000`, `http://gpu-box:8000/v1`); `key` is sent as its bearer key.
    pub fn new(url: &str, key: Option<String>) -> Result<UpstreamBackend, String> {
        let trimmed = url.trim().trim_end_matches('/');
        let Some(rest) = trimmed.strip_prefix("http://") else {
            return Err(format!(
                "the upstream URL {url:?} must start with http:// (ferrocodex talks plain HTTP to the engine; \
                 put it on the same host or a private network, or behind a local TLS-terminating proxy)"
            ));
        };
        if rest.is_empty() || rest.starts_with('/') {
            return Err(format!("the upstream URL {url:?} names no host"));
        }
        let base = trimmed.strip_suffix("/v1").unwrap_or(trimmed).to_string();
        base.parse::<axum::http::Uri>()
            .map_err(|e| format!("the upstream URL {url:?} is not a valid URL: {e}"))?;
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(Duration::from_secs(10)));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Ok(UpstreamBackend { base, key, client })
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    fn request(
        &self,
        method: Method,
        path: &str,
        body: Bytes,
    ) -> Result<Request<Full<Bytes>>, ApiError> {
        let mut b = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, "application/json, text/event-stream");
        if let Some(k) = &self.key {
            b = b.header(header::AUTHORIZATION, format!("Bearer {k}"));
        }
        b.body(Full::new(body))
            .map_err(|e| ApiError::internal(format!("cannot build the upstream request: {e}")))
    }

    async fn send(
        &self,
        req: Request<Full<Bytes>>,
        deadline: Instant,
    ) -> Result<hyper::Response<hyper::body::Incoming>, ApiError> {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, self.client.request(req)).await {
            Err(_) => Err(ApiError::timeout(
                "The upstream engine did not answer before the deadline.",
            )),
            Ok(Err(e)) => Err(ApiError::upstream(format!(
                "The upstream engine at {} cannot be reached: {e}",
                self.base
            ))),
            Ok(Ok(resp)) => Ok(resp),
        }
    }
}

/// An upstream answer that is not a success, passed on with its status when it is JSON.
async fn relay_failure(resp: hyper::Response<hyper::body::Incoming>) -> Response {
    let status = resp.status();
    let body = match http_body_util::Limited::new(resp.into_body(), MAX_ANSWER_BYTES)
        .collect()
        .await
    {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            return ApiError::upstream(format!(
                "The upstream engine's answer could not be read: {e}"
            ))
            .into_response()
        }
    };
    match serde_json::from_slice::<Value>(&body) {
        Ok(v) if v.get("error").is_some() => (status, axum::Json(v)).into_response(),
        _ => {
            let mut e = ApiError::upstream(format!(
                "The upstream engine answered {status}: {}",
                String::from_utf8_lossy(&body[..body.len().min(500)])
            ));
            if status.is_client_error() {
                e.status = status;
                e.kind = "invalid_request_error";
            }
            e.into_response()
        }
    }
}

/// `GET` passed through (the model list).
pub async fn get(up: &UpstreamBackend, path: &str) -> Result<Response, ApiError> {
    let req = up.request(Method::GET, path, Bytes::new())?;
    let resp = up
        .send(req, Instant::now() + Duration::from_secs(30))
        .await?;
    if !resp.status().is_success() {
        return Ok(relay_failure(resp).await);
    }
    let body = http_body_util::Limited::new(resp.into_body(), MAX_ANSWER_BYTES)
        .collect()
        .await
        .map_err(|e| {
            ApiError::upstream(format!(
                "The upstream engine's answer could not be read: {e}"
            ))
        })?
        .to_bytes();
    let v: Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError::upstream(format!("The upstream engine's answer is not JSON: {e}"))
    })?;
    Ok(axum::Json(v).into_response())
}

fn usage_of(v: &Value) -> Option<(u64, u64)> {
    let u = v.get("usage")?.as_object()?;
    let get = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
    Some((get("prompt_tokens"), get("completion_tokens")))
}

/// Forwards a completion or chat completion request to the upstream engine.
pub async fn forward(
    st: &Arc<AppState>,
    up: &UpstreamBackend,
    caller: &Caller,
    route: &'static str,
    f: &Fields<'_>,
    raw: Bytes,
    started: Instant,
) -> Result<Response, ApiError> {
    match f.required("model")? {
        Value::String(_) => {}
        other => return Err(wrong_type("model", "a string", other)),
    }
    let stream = f.boolean("stream")?.unwrap_or(false);
    let client_usage = f.include_usage(stream)?;
    let deadline = started + st.cfg.request_timeout;
    let body = if stream {
        // Ask for usage in the last chunk, whatever the client asked for.
        let mut v: Value =
            serde_json::from_slice(&raw).map_err(|e| ApiError::invalid_request(e.to_string()))?;
        v["stream_options"] = json!({"include_usage": true});
        Bytes::from(v.to_string())
    } else {
        raw
    };
    let resp = up
        .send(up.request(Method::POST, route, body)?, deadline)
        .await?;
    if !resp.status().is_success() {
        return Ok(relay_failure(resp).await);
    }
    if !stream {
        let body = tokio::time::timeout_at(
            deadline.into(),
            http_body_util::Limited::new(resp.into_body(), MAX_ANSWER_BYTES).collect(),
        )
        .await
        .map_err(|_| ApiError::timeout("The upstream engine did not finish before the deadline."))?
        .map_err(|e| {
            ApiError::upstream(format!(
                "The upstream engine's answer could not be read: {e}"
            ))
        })?
        .to_bytes();
        let v: Value = serde_json::from_slice(&body).map_err(|e| {
            ApiError::upstream(format!("The upstream engine's answer is not JSON: {e}"))
        })?;
        let (p, c) = usage_of(&v).unwrap_or((0, 0));
        account(st, caller, p, c).await?;
        st.metrics
            .first_token(route, started.elapsed().as_secs_f64());
        return Ok(axum::Json(v).into_response());
    }
    let (tx, out) = mpsc::channel::<Result<SseEvent, Infallible>>(64);
    tokio::spawn(relay_stream(
        st.clone(),
        caller.clone(),
        resp.into_body(),
        tx,
        client_usage,
        deadline,
        route,
        started,
    ));
    let stream = futures_util::stream::unfold(out, |mut out| async move {
        out.recv().await.map(|ev| (ev, out))
    });
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}

#[allow(clippy::too_many_arguments)]
async fn relay_stream(
    st: Arc<AppState>,
    caller: Caller,
    mut body: hyper::body::Incoming,
    tx: mpsc::Sender<Result<SseEvent, Infallible>>,
    client_usage: bool,
    deadline: Instant,
    route: &'static str,
    started: Instant,
) {
    let mut buf: Vec<u8> = Vec::new();
    let mut usage: Option<(u64, u64)> = None;
    let mut chunks = 0u64;
    let mut first = true;
    let fail = |e: ApiError| Ok(SseEvent::default().data(e.body().to_string()));
    loop {
        // Each complete event (ended by a blank line) is handled before reading more.
        while let Some(end) = event_end(&buf) {
            let event: Vec<u8> = buf.drain(..end.1).take(end.0).collect();
            let text = String::from_utf8_lossy(&event);
            let payload: String = text
                .lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .map(|d| d.strip_prefix(' ').unwrap_or(d))
                .collect::<Vec<_>>()
                .join("\n");
            if payload.is_empty() {
                continue;
            }
            if payload.trim() == "[DONE]" {
                let (p, c) = usage.unwrap_or((0, chunks));
                if let Err(e) = account(&st, &caller, p, c).await {
                    let _ = tx.send(fail(e)).await;
                    return;
                }
                let _ = tx.send(Ok(SseEvent::default().data("[DONE]"))).await;
                return;
            }
            let Ok(mut v) = serde_json::from_str::<Value>(&payload) else {
                let _ = tx.send(Ok(SseEvent::default().data(payload))).await;
                continue;
            };
            if let Some(u) = usage_of(&v) {
                usage = Some(u);
            }
            let no_choices = v
                .get("choices")
                .and_then(Value::as_array)
                .is_none_or(|c| c.is_empty());
            if !client_usage {
                if no_choices && v.get("usage").is_some_and(|u| !u.is_null()) {
                    continue; // the usage chunk this server asked for on its own behalf
                }
                if let Some(o) = v.as_object_mut() {
                    o.remove("usage");
                }
            }
            let has_text = v["choices"].as_array().is_some_and(|cs| {
                cs.iter().any(|c| {
                    let text = c
                        .get("text")
                        .or_else(|| c.get("delta").and_then(|d| d.get("content")));
                    text.and_then(Value::as_str).is_some_and(|t| !t.is_empty())
                })
            });
            if has_text {
                chunks += 1;
                if first {
                    first = false;
                    st.metrics
                        .first_token(route, started.elapsed().as_secs_f64());
                }
            }
            if tx
                .send(Ok(SseEvent::default().data(v.to_string())))
                .await
                .is_err()
            {
                return; // the client went away: dropping the upstream body closes that connection
            }
        }
        let frame = match tokio::time::timeout_at(deadline.into(), body.frame()).await {
            Err(_) => {
                let _ = tx
                    .send(fail(ApiError::timeout(
                        "The upstream engine did not finish before the deadline.",
                    )))
                    .await;
                return;
            }
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                let _ = tx
                    .send(fail(ApiError::upstream(format!(
                        "The upstream stream broke off: {e}"
                    ))))
                    .await;
                return;
            }
            Ok(Some(Ok(frame))) => frame,
        };
        if let Ok(data) = frame.into_data() {
            buf.extend_from_slice(&data);
        }
    }
    // The upstream ended without [DONE]: count what it sent, then end the stream properly.
    let (p, c) = usage.unwrap_or((0, chunks));
    if account(&st, &caller, p, c).await.is_ok() {
        let _ = tx.send(Ok(SseEvent::default().data("[DONE]"))).await;
    }
}

/// The length of the first complete SSE event in `buf` (without its terminator) and the
/// number of bytes it takes with it.
fn event_end(buf: &[u8]) -> Option<(usize, usize)> {
    let mut i = 0;
    while i + 1 < buf.len() {
        if buf[i] == b'\n' && buf[i + 1] == b'\n' {
            return Some((i, i + 2));
        }
        if i + 3 < buf.len() && &buf[i..i + 4] == b"\r\n\r\n" {
            return Some((i, i + 4));
        }
        i += 1;
    }
    None
}

impl std::fmt::Debug for UpstreamBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamBackend")
            .field("base", &self.base)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            UpstreamBackend::new("http://127.0.0.1:8000/v1/", None)
                .unwrap()
                .base_url(),
            "http://127.0.0.1:8000"
        );
        assert_eq!(
            UpstreamBackend::new("http://h:1/api", None)
                .unwrap()
                .base_url(),
            "http://h:1/api"
        );
        assert!(UpstreamBackend::new("https://h", None)
            .unwrap_err()
            .contains("http://"));
        assert!(UpstreamBackend::new("http://", None).is_err());
        assert!(UpstreamBackend::new("127.0.0.1:8000", None).is_err());
    }

    #[test]
    fn sse_event_boundaries() {
        assert_eq!(event_end(b"data: a\n\ndata: b"), Some((7, 9)));
        assert_eq!(event_end(b"data: a\r\n\r\n"), Some((7, 11)));
        assert_eq!(event_end(b"data: a\n"), None);
    }
}
