//! The ferrocodex inference engine: loads a GGUF model and runs its forward pass on the CPU.
//!
//! [`Model::load`] validates the file, reads the architecture's configuration from metadata
//! ([`ModelConfig`]), maps the weights without copying them ([`weights`]) and builds the
//! tokenizer. [`Model::forward`] runs new tokens of any number of sequences — each at its own
//! position in its own [`KvCache`] slot — through one configurable decoder block that covers
//! `gemma3`, `llama`, `qwen2` and `starcoder2`, and returns logits for the positions asked for
//! (every position when asked, for echo and prompt log-probabilities).
//!
//! ```no_run
//! use ferrocodex_engine::{LoadOptions, LogitsFor, Model, SeqInput};
//! let model = Model::load("model.gguf".as_ref(), &LoadOptions::default())?;
//! let ids = model.tokenizer().encode("def fibonacci(n):", true)?;
//! let mut cache = model.new_cache(2048);
//! let seq = cache.new_seq();
//! let logits = model.forward(&mut cache, &[SeqInput { seq, tokens: &ids, logits: LogitsFor::Last }])?;
//! let next = logits.row(0).iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod config;
pub mod kv;
pub mod matmul;
pub mod model;
pub mod ops;
mod trace;
pub mod weights;

pub use config::{Activation, Arch, ModelConfig, NormKind, RopeLayout};
pub use ferrocodex_tokenizer::{StreamDecoder, Tokenizer, TokenizerError};
pub use ferrocodex_quant::kernel_isa;
pub use kv::{KvCache, SeqId};
pub use model::{LoadOptions, Logits, LogitsFor, Model, SeqInput, MAX_BATCH_TOKENS};

/// Everything that can stop a model from loading or running.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    File(#[from] ferrocodex_gguf::GgufError),
    #[error("the model's architecture {0:?} is not supported; ferrocodex runs gemma3, llama, qwen2 and starcoder2")]
    UnknownArchitecture(String),
    #[error("tensor {tensor} is stored as {dtype}, which ferrocodex cannot run yet (supported: F32, F16, BF16, Q8_0, Q4_0, Q5_0, Q4_K, Q5_K, Q6_K)")]
    UnsupportedType { tensor: String, dtype: String },
    #[error("the model file has no tokenizer (tokenizer.ggml.* metadata is missing)")]
    MissingTokenizer,
    #[error("cannot build the model's tokenizer: {0}")]
    Tokenizer(#[from] ferrocodex_tokenizer::TokenizerError),
    #[error("invalid model: {0}")]
    Model(String),
    #[error("token id {token} is outside the vocabulary of {vocab} tokens")]
    BadToken { token: u32, vocab: usize },
    #[error("the context is full: {needed} tokens needed, the limit is {limit}")]
    ContextFull { needed: usize, limit: usize },
    #[error("no sequence {0} in the KV cache")]
    NoSuchSequence(SeqId),
}
