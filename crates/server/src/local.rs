//! Local generation: requests go to the continuous-batching scheduler, whose events come
//! back through an unbounded channel (sending never blocks the scheduler thread). Dropping
//! the receiving end — a client that went away — makes the next send fail, which cancels the
//! request and frees its slots.

use std::sync::Arc;
use std::time::Instant;

use ferrocodex_engine::Model;
use ferrocodex_generate::{
    Completion, CompletionRequest, SchedEvent, Scheduler, SchedulerConfig, SubmitError,
};
use tokio::sync::mpsc;

use crate::error::ApiError;
use crate::metrics::EngineGauges;
use crate::template::ChatTemplate;

pub struct LocalBackend {
    pub(crate) scheduler: Scheduler,
    pub(crate) model: Arc<Model>,
    pub(crate) model_id: String,
    pub(crate) chat: Result<ChatTemplate, String>,
    pub(crate) created: i64,
    /// Most samples one request may draw (the scheduler's `max_seqs`).
    pub(crate) max_samples: usize,
}

impl LocalBackend {
    /// Starts the scheduler on `model`, served under the name `model_id`. The chat template
    /// is `chat_template` when given, else the model's own (`tokenizer.chat_template`).
    pub fn new(
        model: Arc<Model>,
        model_id: String,
        cfg: SchedulerConfig,
        chat_template: Option<String>,
    ) -> LocalBackend {
        let tok = model.tokenizer();
        let source = chat_template.or_else(|| tok.chat_template().map(str::to_string));
        let text_of =
            |id: Option<u32>| id.and_then(|i| tok.token_text(i)).unwrap_or("").to_string();
        let chat = match source {
            Some(src) => ChatTemplate::new(&src, text_of(tok.bos()), text_of(tok.eos())),
            None => Err(format!(
                "The model `{model_id}` has no chat template (GGUF metadata `tokenizer.chat_template`), so it cannot \
                 take chat messages; use /v1/completions, or start the server with --chat-template FILE."
            )),
        };
        LocalBackend {
            max_samples: cfg.max_seqs,
            scheduler: Scheduler::start(model.clone(), cfg),
            model,
            model_id,
            chat,
            created: crate::store::unix_now(),
        }
    }

    pub(crate) fn gauges(&self) -> EngineGauges {
        let s = self.scheduler.stats();
        EngineGauges {
            queue_depth: s.queue_depth,
            running_requests: s.running_requests,
            running_seqs: s.running_seqs,
            last_batch_size: s.last_batch_size,
            steps: s.steps,
            generated_tokens: s.generated_tokens,
        }
    }

    /// Queues every request (one per prompt); events arrive tagged with the request's
    /// position. A refusal of any of them refuses the whole call (those already queued are
    /// cancelled when the receiver is dropped).
    pub(crate) fn submit_all(
        &self,
        reqs: Vec<CompletionRequest>,
        deadline: Instant,
    ) -> Result<mpsc::UnboundedReceiver<(usize, SchedEvent)>, ApiError> {
        let (tx, rx) = mpsc::unbounded_channel();
        for (i, req) in reqs.into_iter().enumerate() {
            let tx = tx.clone();
            let sink = Box::new(move |ev: SchedEvent| tx.send((i, ev)).is_ok());
            self.scheduler
                .submit(req, Some(deadline), sink)
                .map_err(|e| match e {
                    SubmitError::QueueFull(n) => ApiError::busy(format!(
                        "The server is busy: {n} requests are already waiting. Retry shortly."
                    )),
                    SubmitError::Invalid(g) => ApiError::from(g),
                    SubmitError::Stopped => ApiError::unavailable("The server is shutting down."),
                })?;
        }
        Ok(rx)
    }
}

/// Waits for every request's result, in submission order.
pub(crate) async fn collect(
    rx: &mut mpsc::UnboundedReceiver<(usize, SchedEvent)>,
    count: usize,
) -> Result<Vec<Completion>, ApiError> {
    let mut done: Vec<Option<Completion>> = (0..count).map(|_| None).collect();
    let mut left = count;
    while left > 0 {
        let Some((i, ev)) = rx.recv().await else {
            return Err(ApiError::unavailable(
                "Generation stopped before it finished.",
            ));
        };
        if let SchedEvent::Done(result) = ev {
            if done[i].is_none() {
                left -= 1;
            }
            done[i] = Some(result?);
        }
    }
    Ok(done.into_iter().flatten().collect())
}
