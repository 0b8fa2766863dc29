//! What a completion request asks for and what it gets back: the shape of the Codex
//! Completions API, independent of HTTP.

use ferrocodex_engine::Model;

use crate::{FinishReason, GenerateError, SamplingParams};

/// The most stop strings a request may carry.
pub const MAX_STOPS: usize = 4;
/// The most log-probability alternatives a request may ask for per token.
pub const MAX_LOGPROBS: usize = 5;
/// The most samples one request may ask for (n or best_of).
pub const MAX_SAMPLES: usize = 128;

/// A prompt as text (tokenized with the model's tokenizer, BOS added where the model wants
/// it) or as token ids (used as they are).
#[derive(Clone, Debug, PartialEq)]
pub enum Prompt {
    Text(String),
    Tokens(Vec<u32>),
}

#[derive(Clone, Debug)]
pub struct CompletionRequest {
    pub prompt: Prompt,
    /// Insert mode: the text that follows the completion.
    pub suffix: Option<String>,
    /// Most tokens to generate per choice (0 with `echo` scores the prompt only).
    pub max_tokens: usize,
    pub sampling: SamplingParams,
    /// Choices returned.
    pub n: usize,
    /// Samples drawn, of which the `n` with the highest mean token log-probability are
    /// returned (default: `n`).
    pub best_of: Option<usize>,
    /// Log-probabilities of each token and of this many most likely alternatives (≤ 5).
    pub logprobs: Option<usize>,
    /// Return the prompt before the completion (with its log-probabilities when asked).
    pub echo: bool,
    /// Up to four strings that end generation; they are not part of the output.
    pub stop: Vec<String>,
}

impl CompletionRequest {
    pub fn new(prompt: Prompt) -> Self {
        CompletionRequest {
            prompt,
            suffix: None,
            max_tokens: 16,
            sampling: SamplingParams::default(),
            n: 1,
            best_of: None,
            logprobs: None,
            echo: false,
            stop: Vec::new(),
        }
    }

    /// Samples drawn: `best_of`, or `n` when it is not given.
    pub fn samples(&self) -> usize {
        self.best_of.unwrap_or(self.n)
    }

    /// Whether choices can be streamed as they are generated (every sample is returned).
    pub fn streamable(&self) -> bool {
        self.samples() == self.n
    }

    /// Checks the parameters that do not need the model.
    pub fn validate_params(&self, vocab: Option<usize>) -> Result<(), GenerateError> {
        let invalid = |param, message: String| Err(GenerateError::Invalid { param, message });
        self.sampling.validate(vocab)?;
        if self.n == 0 || self.n > MAX_SAMPLES {
            return invalid("n", format!("must be between 1 and {MAX_SAMPLES}, got {}", self.n));
        }
        if let Some(b) = self.best_of {
            if b < self.n {
                return invalid("best_of", format!("must be at least n ({}), got {b}", self.n));
            }
            if b > MAX_SAMPLES {
                return invalid("best_of", format!("must be at most {MAX_SAMPLES}, got {b}"));
            }
        }
        if let Some(l) = self.logprobs {
            if l > MAX_LOGPROBS {
                return invalid("logprobs", format!("must be between 0 and {MAX_LOGPROBS}, got {l}"));
            }
        }
        if self.stop.len() > MAX_STOPS {
            return invalid(
                "stop",
                format!("at most {MAX_STOPS} stop sequences are allowed, got {}", self.stop.len()),
            );
        }
        if self.echo && self.suffix.is_some() {
            return invalid("echo", "echo cannot be combined with suffix".into());
        }
        if self.max_tokens == 0 && !self.echo {
            return invalid("max_tokens", "must be at least 1 (0 is allowed only with echo)".into());
        }
        match &self.prompt {
            Prompt::Text(t) if t.is_empty() && self.suffix.is_none() => {
                return invalid("prompt", "the prompt is empty".into());
            }
            Prompt::Tokens(t) if t.is_empty() => return invalid("prompt", "the prompt has no tokens".into()),
            Prompt::Tokens(t) => {
                if let Some(v) = vocab {
                    if let Some(bad) = t.iter().find(|&&id| id as usize >= v) {
                        return invalid(
                            "prompt",
                            format!("token id {bad} is outside the model's vocabulary of {v} tokens"),
                        );
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Checks everything, including the prompt length against the model's context.
    pub fn validate(&self, model: &Model) -> Result<(), GenerateError> {
        self.validate_params(Some(model.config().vocab_size))?;
        let ids = crate::fim::prompt_ids(model, self)?;
        check_context(model, ids.len(), self.max_tokens)
    }
}

pub(crate) fn check_context(model: &Model, prompt_len: usize, max_tokens: usize) -> Result<(), GenerateError> {
    let n_ctx = model.config().n_ctx_train;
    if prompt_len + max_tokens > n_ctx {
        let param = if prompt_len >= n_ctx { "prompt" } else { "max_tokens" };
        return Err(GenerateError::Invalid {
            param,
            message: format!(
                "the prompt ({prompt_len} tokens) plus max_tokens ({max_tokens}) exceeds the model's context of {n_ctx} tokens"
            ),
        });
    }
    Ok(())
}

/// Per-token log-probabilities in the Completions API's shape. `top_logprobs` lists the
/// alternatives most likely first (the API's object form keys them by token text).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Logprobs {
    pub tokens: Vec<String>,
    pub token_logprobs: Vec<Option<f32>>,
    pub top_logprobs: Vec<Option<Vec<(String, f32)>>>,
    /// Offset of each token's text in the choice's text, in characters.
    pub text_offset: Vec<usize>,
}

impl Logprobs {
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    pub(crate) fn extend(&mut self, other: &Logprobs) {
        self.tokens.extend(other.tokens.iter().cloned());
        self.token_logprobs.extend(other.token_logprobs.iter().copied());
        self.top_logprobs.extend(other.top_logprobs.iter().cloned());
        self.text_offset.extend(other.text_offset.iter().copied());
    }
}

#[derive(Clone, Debug)]
pub struct Choice {
    pub index: usize,
    pub text: String,
    /// Generated token ids (a token cut by a stop string is still listed).
    pub tokens: Vec<u32>,
    pub finish_reason: FinishReason,
    pub logprobs: Option<Logprobs>,
    /// Mean log-probability of the generated tokens (the best_of ranking); 0 when none; NaN
    /// when the scheduler was told not to compute it and the request did not need it
    /// ([`SchedulerConfig::mean_logprobs`](crate::SchedulerConfig::mean_logprobs)).
    pub mean_logprob: f64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub prompt_tokens: usize,
    /// Tokens generated over all samples drawn (best_of counts every sample).
    pub completion_tokens: usize,
}

#[derive(Clone, Debug)]
pub struct Completion {
    pub choices: Vec<Choice>,
    pub usage: Usage,
}

/// Progress of a streamed request.
#[derive(Clone, Debug)]
pub enum Event {
    /// New final text of choice `index` and, when asked, the log-probabilities of the tokens
    /// that arrived with it.
    Delta {
        index: usize,
        text: String,
        logprobs: Option<Logprobs>,
    },
    /// Choice `index` is complete.
    Finish { index: usize, reason: FinishReason },
}
