//! Loading the model for the commands that run it.

use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use ferrocodex_engine::{LoadOptions, Model};

/// Resolves the model (`--model`, `FERROCODEX_MODEL`, or the default model, fetched on first
/// use) and loads it with `threads` workers.
pub fn load_model(explicit: Option<&Path>, threads: Option<usize>) -> anyhow::Result<Model> {
    let path = ferrocodex_models::resolve_model(explicit)?;
    let t0 = Instant::now();
    let model = Model::load(&path, &LoadOptions { threads })
        .with_context(|| format!("cannot load the model {}", path.display()))?;
    tracing::info!(
        "loaded {} ({}) in {:.2} s, {} threads",
        path.display(),
        model.config().arch.name(),
        t0.elapsed().as_secs_f64(),
        model.threads()
    );
    Ok(model)
}

/// Peak resident memory of this process in bytes (Linux), if known.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
