//! The router and its layers: request metrics on every route; authentication and rate limits
//! on `/v1`; OpenAI-shaped answers for unknown routes and methods.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Path, Request, State};
use axum::http::{header, HeaderMap};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::error::ApiError;
use crate::store::KeyInfo;
use crate::{AppState, Backend};

/// Who made a request: the key it carried, or none while the server needs no key.
#[derive(Clone, Debug)]
pub struct Caller {
    pub key: Option<KeyInfo>,
}

impl Caller {
    /// The id usage is recorded under (0: no key).
    pub fn key_id(&self) -> i64 {
        self.key.as_ref().map_or(0, |k| k.id)
    }
}

pub fn router(state: Arc<AppState>) -> Router {
    let v1 = Router::new()
        .route("/v1/completions", post(crate::completions::handle))
        .route("/v1/chat/completions", post(crate::chat::handle))
        .route(crate::review::ROUTE, post(crate::review::handle))
        .route("/v1/models", get(models))
        .route("/v1/models/{id}", get(model))
        .route_layer(middleware::from_fn_with_state(state.clone(), authorize));
    Router::new()
        .merge(v1)
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// Records each request's route, status and time to response head.
async fn observe(State(st): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let resp = next.run(req).await;
    st.metrics.request(
        &route,
        resp.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    resp
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Checks the bearer key (once the store has any) and the key's rate limits.
async fn authorize(State(st): State<Arc<AppState>>, mut req: Request, next: Next) -> Response {
    match caller_of(&st, req.headers()) {
        Ok(caller) => {
            req.extensions_mut().insert(caller);
            next.run(req).await
        }
        Err(e) => e.into_response(),
    }
}

fn caller_of(st: &AppState, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let store_failed = |e| ApiError::unavailable(format!("The key store cannot be read: {e}"));
    if st.store.active_keys().map_err(store_failed)? == 0 {
        return Ok(Caller { key: None });
    }
    let Some(token) = bearer(headers) else {
        return Err(ApiError::unauthorized(
            "You didn't provide an API key. Send it in the Authorization header: `Authorization: Bearer YOUR_KEY` \
             (keys are made with `ferrocodex keys create`).",
        ));
    };
    let key = st.store.authenticate(token).map_err(store_failed)?.ok_or_else(|| {
        ApiError::unauthorized("Incorrect API key provided, or the key was revoked. `ferrocodex keys list` shows the keys.")
    })?;
    st.limiter.admit(&key, Instant::now())?;
    Ok(Caller { key: Some(key) })
}

/// Commits a finished request's usage (durably, before the answer goes out) and counts it
/// against the caller's tokens-per-minute limit.
pub async fn account(
    st: &Arc<AppState>,
    caller: &Caller,
    prompt: u64,
    completion: u64,
) -> Result<(), ApiError> {
    let store = st.store.clone();
    let key_id = caller.key_id();
    tokio::task::spawn_blocking(move || store.record_usage(key_id, prompt, completion))
        .await
        .map_err(|e| ApiError::unavailable(format!("Usage could not be recorded: {e}")))?
        .map_err(|e| ApiError::unavailable(format!("Usage could not be recorded: {e}")))?;
    st.metrics.tokens(prompt, completion);
    if let Some(key) = &caller.key {
        st.limiter
            .add_tokens(key, prompt + completion, Instant::now());
    }
    Ok(())
}

/// A random identifier such as `cmpl-5f0c…`.
pub fn new_id(prefix: &str) -> String {
    let mut b = [0u8; 12];
    if getrandom::fill(&mut b).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        b.copy_from_slice(&nanos.to_le_bytes()[..12]);
    }
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{prefix}{hex}")
}

fn model_entry(id: &str, created: i64) -> serde_json::Value {
    json!({"id": id, "object": "model", "created": created, "owned_by": "ferrocodex"})
}

async fn models(State(st): State<Arc<AppState>>) -> Result<Response, ApiError> {
    match &st.backend {
        Backend::Local(l) => Ok(Json(
            json!({"object": "list", "data": [model_entry(&l.model_id, l.created)]}),
        )
        .into_response()),
        Backend::Upstream(up) => crate::upstream::get(up, "/v1/models").await,
    }
}

async fn model(
    State(st): State<Arc<AppState>>,
    id: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<Response, ApiError> {
    let Ok(Path(id)) = id else {
        return Err(ApiError::not_found(
            "The model id in the path is not valid text.",
        ));
    };
    match &st.backend {
        Backend::Local(l) if l.model_id == id => {
            Ok(Json(model_entry(&l.model_id, l.created)).into_response())
        }
        Backend::Local(l) => Err(ApiError::model_not_found(&id, &l.model_id)),
        Backend::Upstream(up) => crate::upstream::get(up, &format!("/v1/models/{id}")).await,
    }
}

async fn health(State(st): State<Arc<AppState>>) -> Response {
    let (mode, model) = match &st.backend {
        Backend::Local(l) => ("local", Some(l.model_id.clone())),
        Backend::Upstream(_) => ("upstream", None),
    };
    let keys = st.store.active_keys().ok();
    Json(json!({
        "status": "ok",
        "mode": mode,
        "model": model,
        "auth": keys.map(|k| k > 0),
        "uptime_seconds": st.started.elapsed().as_secs(),
    }))
    .into_response()
}

async fn metrics(State(st): State<Arc<AppState>>) -> Response {
    let gauges = match &st.backend {
        Backend::Local(l) => Some(l.gauges()),
        Backend::Upstream(_) => None,
    };
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        st.metrics.render(gauges),
    )
        .into_response()
}

async fn openapi(State(st): State<Arc<AppState>>) -> Response {
    let local = match &st.backend {
        Backend::Local(l) => Some((
            l.model_id.as_str(),
            l.model.config().vocab_size,
            l.max_samples,
        )),
        Backend::Upstream(_) => None,
    };
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::openapi::document(local),
    )
        .into_response()
}

async fn not_found(req: Request) -> ApiError {
    ApiError::not_found(format!(
        "There is no route {} {}; see GET /openapi.json for what this server offers.",
        req.method(),
        req.uri().path()
    ))
}

async fn method_not_allowed(req: Request) -> ApiError {
    ApiError::method_not_allowed(format!(
        "{} is not allowed on {}; see GET /openapi.json.",
        req.method(),
        req.uri().path()
    ))
}
