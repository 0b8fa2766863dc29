//! The Codex API: an OpenAI-compatible HTTP server that existing OpenAI clients use unchanged.
//!
//! Routes: `POST /v1/completions` (the Codex Completions API, every field of OpenAI's legacy
//! endpoint), `POST /v1/chat/completions` (the model's own chat template, rendered with
//! minijinja), `POST /v1/review` (the code reviewer of `ferrocodex review`), `GET /v1/models`, `GET /health`, `GET /metrics` (Prometheus) and
//! `GET /openapi.json` (an OpenAPI 3 description of all of it). Streams are server-sent
//! events in OpenAI's chunk format, ending with `data: [DONE]`.
//!
//! Generation runs either locally, through the continuous-batching
//! [`Scheduler`](ferrocodex_generate::Scheduler) (a client that goes away cancels its request
//! and frees its slots), or on an upstream OpenAI-compatible engine ([`Backend::Upstream`]:
//! vLLM, TGI, llama.cpp's server) while keys, limits, usage and the server's own endpoints
//! stay here.
//!
//! API keys and usage live in a SQLite [`Store`]. Once a key exists, every `/v1` route wants
//! `Authorization: Bearer <key>`; keys may carry requests-per-minute and tokens-per-minute
//! limits. Usage is committed before the response that reports it is sent. A server refuses
//! to listen beyond loopback while the store has no key.
//!
//! Every error is OpenAI's shape, `{"error": {"message", "type", "param", "code"}}`, with the
//! matching status: 400 (with `param`) for bad input of any kind, 401, 404, 413, 429 with
//! `Retry-After`.
//!
//! ```no_run
//! # async fn demo(model: std::sync::Arc<ferrocodex_engine::Model>) -> Result<(), Box<dyn std::error::Error>> {
//! use ferrocodex_server::{Backend, LocalBackend, Server, ServerConfig, Store};
//! let store = Store::open("keys.sqlite3".as_ref())?;
//! let backend = Backend::Local(LocalBackend::new(model, "my-model".into(), Default::default(), None));
//! let server = Server::bind("127.0.0.1:8080".parse()?, backend, store, ServerConfig::default()).await?;
//! println!("listening on http://{}", server.local_addr());
//! server.run(std::future::pending()).await?;
//! # Ok(()) }
//! ```

mod body;
mod chat;
mod completions;
mod error;
mod explain;
mod limits;
mod local;
mod metrics;
mod openapi;
mod params;
mod review;
mod routes;
mod sse;
pub mod store;
mod template;
mod upstream;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use error::ApiError;
pub use explain::ModelExplainer;
pub use local::LocalBackend;
pub use store::{KeyInfo, Store, StoreError, UsageRow};
pub use upstream::UpstreamBackend;

/// Where generation happens.
pub enum Backend {
    /// This process's model, through the continuous-batching scheduler.
    Local(LocalBackend),
    /// An OpenAI-compatible engine elsewhere; completions and chat completions are forwarded.
    Upstream(UpstreamBackend),
}

#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// How long one request may take before it is cancelled (the scheduler's deadline).
    pub request_timeout: Duration,
    /// Largest request body accepted; larger ones get 413.
    pub max_body_bytes: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            request_timeout: Duration::from_secs(300),
            max_body_bytes: 4 << 20,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "refusing to listen on {0}: it is reachable from other machines and the key store ({1}) has no API key, \
         so anyone could use this server. Create a key first (`ferrocodex keys create`), or listen on \
         127.0.0.1 (the default)"
    )]
    OpenWithoutKeys(SocketAddr, String),
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the server failed: {0}")]
    Io(#[from] std::io::Error),
}

/// What every handler shares.
pub(crate) struct AppState {
    pub backend: Backend,
    pub store: Arc<Store>,
    pub limiter: limits::RateLimiter,
    pub metrics: metrics::Metrics,
    pub cfg: ServerConfig,
    pub started: Instant,
}

/// A bound, not yet running, server.
pub struct Server {
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
}

impl Server {
    /// Binds `addr` (port 0 picks a free one). Refuses an address beyond loopback while the
    /// store has no active key.
    pub async fn bind(
        addr: SocketAddr,
        backend: Backend,
        store: Store,
        cfg: ServerConfig,
    ) -> Result<Server, ServeError> {
        if !addr.ip().is_loopback() && store.active_keys()? == 0 {
            return Err(ServeError::OpenWithoutKeys(
                addr,
                store.path().display().to_string(),
            ));
        }
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| ServeError::Bind(addr, e))?;
        let state = Arc::new(AppState {
            backend,
            store: Arc::new(store),
            limiter: Default::default(),
            metrics: Default::default(),
            cfg,
            started: Instant::now(),
        });
        Ok(Server { listener, state })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound TCP listener has a local address")
    }

    /// Serves until `shutdown` completes, then lets running requests finish.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let app = routes::router(self.state);
        axum::serve(self.listener, app)
            .with_graceful_shutdown(shutdown)
            .await?;
        Ok(())
    }
}
