//! Decoding on top of the engine: turning logits into tokens and tokens into text, for one
//! request or many at once.
//!
//! A [`CompletionRequest`] has the Codex Completions API's parameters: samplers (temperature,
//! top-k, top-p, min-p, presence/frequency/repetition penalties, logit_bias, seed), `n` and
//! `best_of` (the prompt is prefilled once and its KV cache forked per sample; the best `n` by
//! mean token log-probability are returned), up to four stop strings matched on text across
//! token boundaries, log-probabilities with alternatives, `echo`, and insert mode (`suffix`,
//! see [`fim`]). [`complete`] runs one request on the calling thread; a [`Scheduler`] runs
//! many on its own thread with continuous batching; [`beam_search`] finds high-probability
//! continuations.
//!
//! ```no_run
//! # fn demo(model: &ferrocodex_engine::Model) -> Result<(), ferrocodex_generate::GenerateError> {
//! use ferrocodex_generate::{complete, CompletionRequest, Event, Prompt};
//! let req = CompletionRequest { max_tokens: 64, ..CompletionRequest::new(Prompt::Text("def fibonacci(n):".into())) };
//! let done = complete(model, &req, &mut |ev| {
//!     if let Event::Delta { text, .. } = ev { print!("{text}"); }
//!     true
//! })?;
//! println!("\n[{} tokens, {}]", done.usage.completion_tokens, done.choices[0].finish_reason.as_str());
//! # Ok(()) }
//! ```

pub mod api;
mod batch;
mod beam;
pub mod fim;
mod request;
mod sampler;
pub mod scaffold;
mod scheduler;
mod stop;

pub use batch::{log_sum_exp, SchedEvent};
pub use beam::{beam_search, BeamParams, BeamResult};
pub use request::{
    Choice, Completion, CompletionRequest, Event, Logprobs, Prompt, Usage, MAX_LOGPROBS, MAX_SAMPLES, MAX_STOPS,
};
pub use sampler::{argmax, Sampler, SamplingParams, REPETITION_WINDOW};
pub use scheduler::{Scheduler, SchedulerConfig, SchedulerStats, SubmitError};
pub use stop::StopMatcher;

use ferrocodex_engine::{EngineError, Model, TokenizerError};

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Tokenizer(#[from] TokenizerError),
    #[error("invalid request: {param}: {message}")]
    Invalid { param: &'static str, message: String },
    #[error("the request ran past its deadline")]
    DeadlineExceeded,
    #[error("generation failed: {0}")]
    Failed(String),
    #[error("the request was cancelled")]
    Cancelled,
}

/// Why generation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FinishReason {
    /// An end-of-generation token or a stop string.
    Stop,
    /// `max_tokens` reached.
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

/// Runs one request on the calling thread. `on_event` hears the streamed text when every
/// sample is returned (`best_of` = `n`); returning `false` cancels, and the text so far comes
/// back with finish reason [`FinishReason::Cancelled`].
pub fn complete(
    model: &Model,
    req: &CompletionRequest,
    on_event: &mut dyn FnMut(&Event) -> bool,
) -> Result<Completion, GenerateError> {
    let prepared = batch::Prepared::new(model, req.clone(), None)?;
    let mut result: Option<Result<Completion, GenerateError>> = None;
    let mut cancelled = false;
    {
        let mut b = batch::Batch::new(model, usize::MAX);
        let sink = Box::new(|ev: SchedEvent| match ev {
            SchedEvent::Event(e) => {
                let go_on = on_event(&e);
                cancelled |= !go_on;
                go_on
            }
            SchedEvent::Done(r) => {
                result = Some(r);
                true
            }
        });
        b.add(prepared, sink);
        while !b.is_empty() {
            b.step();
        }
    }
    match result {
        Some(r) => r,
        None if cancelled => Err(GenerateError::Cancelled),
        None => Err(GenerateError::Failed("the request ended without a result".into())),
    }
}

/// A single greedy-or-sampled continuation of token ids (the simple form of [`complete`]).
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

/// The result of [`generate`].
#[derive(Clone, Debug)]
pub struct Generation {
    pub text: String,
    /// Generated token ids (a token cut by a stop string is still listed).
    pub tokens: Vec<u32>,
    pub finish_reason: FinishReason,
    pub prompt_tokens: usize,
}

/// Generates one continuation of `req.prompt`, calling `on_text` with each piece of text as
/// it becomes final; returning `false` from `on_text` cancels (the text so far is returned).
pub fn generate(
    model: &Model,
    req: &GenerateRequest,
    on_text: &mut dyn FnMut(&str) -> bool,
) -> Result<Generation, GenerateError> {
    let full = CompletionRequest {
        max_tokens: req.max_tokens,
        sampling: req.sampling.clone(),
        stop: req.stop.clone(),
        ..CompletionRequest::new(Prompt::Tokens(req.prompt.clone()))
    };
    let mut text = String::new();
    let r = complete(model, &full, &mut |ev| match ev {
        Event::Delta { text: t, .. } => {
            text.push_str(t);
            on_text(t)
        }
        Event::Finish { .. } => true,
    });
    match r {
        Ok(mut c) => {
            let choice = c.choices.remove(0);
            Ok(Generation {
                text: choice.text,
                tokens: choice.tokens,
                finish_reason: choice.finish_reason,
                prompt_tokens: c.usage.prompt_tokens,
            })
        }
        Err(GenerateError::Cancelled) => Ok(Generation {
            text,
            tokens: Vec::new(),
            finish_reason: FinishReason::Cancelled,
            prompt_tokens: req.prompt.len(),
        }),
        Err(e) => Err(e),
    }
}
