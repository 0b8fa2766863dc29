//! `ferrocodex serve`: the OpenAI-compatible API server.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use ferrocodex_generate::SchedulerConfig;
use ferrocodex_server::{Backend, LocalBackend, Server, ServerConfig, UpstreamBackend};

use crate::GlobalOpts;

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on; anything but loopback needs an API key in the store first
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Port to listen on (0 picks a free one; the address is printed)
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// The key and usage store [default: ferrocodex.sqlite3 in the per-user data folder]
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Forward generation to this OpenAI-compatible engine (http://host:port) instead of
    /// running the model here; keys, limits, usage and metrics stay local
    #[arg(long, value_name = "URL")]
    pub upstream: Option<String>,
    /// Bearer key sent to the upstream engine
    #[arg(
        long,
        value_name = "KEY",
        env = "FERROCODEX_UPSTREAM_KEY",
        hide_env_values = true
    )]
    pub upstream_key: Option<String>,
    /// The model name clients send [default: the model file's name without .gguf]
    #[arg(long, value_name = "NAME")]
    pub model_name: Option<String>,
    /// Jinja chat template for /v1/chat/completions, used instead of the model's own
    #[arg(long, value_name = "FILE")]
    pub chat_template: Option<PathBuf>,
    /// Seconds a request may run before it is cancelled
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub request_timeout: u64,
    /// Most samples decoded at once (continuous batching)
    #[arg(long, default_value_t = SchedulerConfig::default().max_seqs, value_name = "N")]
    pub max_seqs: usize,
    /// Most requests waiting to start; beyond it requests get 429 with Retry-After
    #[arg(long, default_value_t = SchedulerConfig::default().max_queue, value_name = "N")]
    pub max_queue: usize,
    /// Largest request body accepted, in bytes
    #[arg(long, default_value_t = ServerConfig::default().max_body_bytes, value_name = "BYTES")]
    pub max_body_bytes: usize,
}

pub fn run(args: ServeArgs, global: &GlobalOpts) -> anyhow::Result<()> {
    let store = crate::cmd::keys::open_store(args.db.as_ref())?;
    let backend = match &args.upstream {
        Some(url) => Backend::Upstream(
            UpstreamBackend::new(url, args.upstream_key.clone()).map_err(anyhow::Error::msg)?,
        ),
        None => {
            let path = ferrocodex_models::resolve_model(global.model.as_deref())?;
            let model = crate::runtime::load_model(Some(&path), global.threads)?;
            let name = args.model_name.clone().unwrap_or_else(|| {
                path.file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "model".into())
            });
            let template =
                match &args.chat_template {
                    Some(p) => Some(std::fs::read_to_string(p).with_context(|| {
                        format!("cannot read the chat template {}", p.display())
                    })?),
                    None => None,
                };
            let cfg = SchedulerConfig {
                max_seqs: args.max_seqs.max(1),
                max_queue: args.max_queue,
                // The API returns no mean log-probability; requests that need one (logprobs,
                // best_of ranking) still get it.
                mean_logprobs: false,
                ..SchedulerConfig::default()
            };
            Backend::Local(LocalBackend::new(Arc::new(model), name, cfg, template))
        }
    };
    let cfg = ServerConfig {
        request_timeout: Duration::from_secs(args.request_timeout.max(1)),
        max_body_bytes: args.max_body_bytes,
    };
    let addr = SocketAddr::new(args.host, args.port);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async move {
        let server = Server::bind(addr, backend, store, cfg).await?;
        // Programs (tests, scripts) read this line to find the port.
        println!("listening on http://{}", server.local_addr());
        use std::io::Write;
        let _ = std::io::stdout().flush();
        server.run(shutdown_signal()).await?;
        anyhow::Ok(())
    })
}

/// Ctrl-C or SIGTERM: stop accepting, let running requests finish.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    eprintln!("shutting down: finishing the requests in progress");
}
