//! Decoding on top of the engine: turning logits into tokens and tokens into text.
//!
//! [`generate`] prefills a prompt, then repeatedly samples the next token with a [`Sampler`]
//! (greedy at temperature 0; otherwise temperature, top-k and nucleus sampling from a seeded
//! generator), feeds it back, and streams the text through a callback. It stops at an
//! end-of-generation token, at `max_tokens`, or when the text reaches one of the stop strings,
//! which are matched on text across token boundaries and trimmed from the output; streamed
//! text is held back only while it could still be the start of a stop string.
//!
//! ```no_run
//! # fn demo(model: &ferrocodex_engine::Model) -> Result<(), ferrocodex_generate::GenerateError> {
//! use ferrocodex_generate::{generate, GenerateRequest};
//! let prompt = model.tokenizer().encode("def fibonacci(n):", true)?;
//! let req = GenerateRequest { max_tokens: 64, ..GenerateRequest::new(prompt) };
//! let done = generate(model, &req, &mut |text| { print!("{text}"); true })?;
//! println!("\n[{} tokens, {:?}]", done.tokens.len(), done.finish_reason);
//! # Ok(()) }
//! ```

pub mod scaffold;
mod sampler;
mod stop;

pub use sampler::{argmax, Sampler, SamplingParams};
pub use stop::StopMatcher;

use ferrocodex_engine::{EngineError, LogitsFor, Model, SeqInput, StreamDecoder, TokenizerError};

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Tokenizer(#[from] TokenizerError),
    #[error("invalid request: {param}: {message}")]
    Invalid { param: &'static str, message: String },
}

/// Why generation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FinishReason {
    /// An end-of-generation token or a stop string.
    Stop,
    /// `max_tokens` reached (or the context filled up).
    Length,
    /// The caller's callback asked to stop.
    Cancelled,
}

impl FinishReason {
    pub fn as_str(self) -> &'static str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::Cancelled => "cancelled",
        }
    }
}

#[derive(Clone, Debug)]
pub struct GenerateRequest {
    /// Prompt token ids (BOS included where the model wants it).
    pub prompt: Vec<u32>,
    pub max_tokens: usize,
    pub sampling: SamplingParams,
    /// Up to four strings that end generation; they are not part of the output.
    pub stop: Vec<String>,
}

impl GenerateRequest {
    pub fn new(prompt: Vec<u32>) -> Self {
        GenerateRequest {
            prompt,
            max_tokens: 128,
            sampling: SamplingParams::default(),
            stop: Vec::new(),
        }
    }
}

/// The result of one generation.
#[derive(Clone, Debug)]
pub struct Completion {
    pub text: String,
    /// Generated token ids (a token cut by a stop string is still listed).
    pub tokens: Vec<u32>,
    pub finish_reason: FinishReason,
    pub prompt_tokens: usize,
}

/// The most stop strings a request may carry.
pub const MAX_STOPS: usize = 4;

/// Generates a continuation of `req.prompt`, calling `on_text` with each piece of text as it
/// becomes final; returning `false` from `on_text` cancels.
pub fn generate(
    model: &Model,
    req: &GenerateRequest,
    on_text: &mut dyn FnMut(&str) -> bool,
) -> Result<Completion, GenerateError> {
    req.sampling.validate()?;
    if req.stop.len() > MAX_STOPS {
        return Err(GenerateError::Invalid {
            param: "stop",
            message: format!("at most {MAX_STOPS} stop sequences are allowed, got {}", req.stop.len()),
        });
    }
    if req.prompt.is_empty() {
        return Err(GenerateError::Invalid {
            param: "prompt",
            message: "the prompt is empty".into(),
        });
    }
    let n_ctx = model.config().n_ctx_train;
    if req.prompt.len() + req.max_tokens > n_ctx {
        return Err(GenerateError::Invalid {
            param: "max_tokens",
            message: format!(
                "the prompt ({} tokens) plus max_tokens ({}) exceeds the model's context of {n_ctx} tokens",
                req.prompt.len(),
                req.max_tokens
            ),
        });
    }
    let tok = model.tokenizer();
    let mut cache = model.new_cache(req.prompt.len() + req.max_tokens);
    let seq = cache.new_seq();
    let mut sampler = Sampler::new(req.sampling.clone());
    let mut decoder = StreamDecoder::new(tok);
    let mut stops = StopMatcher::new(&req.stop);
    let mut tokens = Vec::new();
    let mut text = String::new();

    let mut logits = model.forward(
        &mut cache,
        &[SeqInput {
            seq,
            tokens: &req.prompt,
            logits: LogitsFor::Last,
        }],
    )?;
    let mut finish = FinishReason::Length;
    while tokens.len() < req.max_tokens {
        let next = sampler.sample(logits.row(0));
        tokens.push(next);
        if tok.is_eog(next) {
            finish = FinishReason::Stop;
            break;
        }
        let piece = decoder.push(next);
        let (emit, hit) = stops.push(&piece);
        text.push_str(&emit);
        if !emit.is_empty() && !on_text(&emit) {
            finish = FinishReason::Cancelled;
            break;
        }
        if hit {
            finish = FinishReason::Stop;
            break;
        }
        if tokens.len() == req.max_tokens {
            break;
        }
        logits = model.forward(
            &mut cache,
            &[SeqInput {
                seq,
                tokens: &[next],
                logits: LogitsFor::Last,
            }],
        )?;
    }
    if finish != FinishReason::Stop || !stops.matched() {
        // Flush what was held back: a partial stop-string prefix and any incomplete character.
        let tail = decoder.finish();
        let (mut emit, _) = stops.push(&tail);
        emit.push_str(&stops.flush());
        text.push_str(&emit);
        if !emit.is_empty() {
            on_text(&emit);
        }
    }
    Ok(Completion {
        text,
        tokens,
        finish_reason: finish,
        prompt_tokens: req.prompt.len(),
    })
}
