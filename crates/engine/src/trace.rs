//! Dumps of the forward pass's intermediate activations, for op-by-op comparison with the
//! reference engine (`scripts/dump_llama_tensors.py` dumps llama.cpp's, and
//! `scripts/compare_tensors.py` lines the two up).
//!
//! Off unless `FERROCODEX_TRACE_DIR` is set when the first forward pass runs; then forward
//! pass number K writes each traced tensor to `DIR/step-K/NAME.f32` (raw little-endian f32,
//! token-major, the reference's tensor names: `attn_norm-0`, `Qcur_normed-0`, `l_out-17`,
//! `result_output`, ...). When off, a trace point costs one branch.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

fn root() -> Option<&'static PathBuf> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| std::env::var_os("FERROCODEX_TRACE_DIR").map(PathBuf::from)).as_ref()
}

/// The trace of one forward pass.
pub(crate) struct Trace {
    dir: Option<PathBuf>,
}

impl Trace {
    /// Starts the trace of the next forward pass (a no-op unless tracing is on).
    pub(crate) fn start() -> Trace {
        static STEP: AtomicUsize = AtomicUsize::new(0);
        let dir = root().map(|r| {
            let dir = r.join(format!("step-{}", STEP.fetch_add(1, Ordering::Relaxed)));
            if let Err(e) = std::fs::create_dir_all(&dir) {
                eprintln!("trace: cannot create {}: {e}", dir.display());
            }
            dir
        });
        Trace { dir }
    }

    /// Writes `data` as `NAME-LAYER.f32` (or `NAME.f32` without a layer).
    pub(crate) fn dump(&self, name: &str, layer: Option<usize>, data: &[f32]) {
        let Some(dir) = &self.dir else { return };
        let file = match layer {
            Some(l) => dir.join(format!("{name}-{l}.f32")),
            None => dir.join(format!("{name}.f32")),
        };
        let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        if let Err(e) = std::fs::write(&file, bytes) {
            eprintln!("trace: cannot write {}: {e}", file.display());
        }
    }
}
