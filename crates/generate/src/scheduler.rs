//! Continuous batching: one thread owns the KV cache and advances every live request by a
//! token per forward pass. Requests join between passes (their prompts prefilled in chunks
//! alongside the running streams, so a long prompt does not stall them) and leave as soon as
//! they finish, are cancelled or pass their deadline.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

use ferrocodex_engine::Model;

use crate::batch::{Batch, Prepared, SchedEvent};
use crate::{CompletionRequest, GenerateError};

#[derive(Clone, Debug)]
pub struct SchedulerConfig {
    /// Most samples decoding at once (a request with best_of = 4 takes four).
    pub max_seqs: usize,
    /// Most requests waiting to start; beyond it `submit` answers [`SubmitError::QueueFull`].
    pub max_queue: usize,
    /// Most prompt tokens prefilled per forward pass.
    pub prefill_chunk: usize,
    /// Compute every choice's [`mean_logprob`](crate::Choice::mean_logprob), also for requests
    /// that need none (no `logprobs`, no `best_of` ranking). Off, such choices report NaN and
    /// each of their tokens skips a pass over the vocabulary.
    pub mean_logprobs: bool,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            max_seqs: 32,
            max_queue: 64,
            prefill_chunk: 256,
            mean_logprobs: true,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("the server is busy: {0} requests are already waiting; try again shortly")]
    QueueFull(usize),
    #[error(transparent)]
    Invalid(#[from] GenerateError),
    #[error("the scheduler has stopped")]
    Stopped,
}

/// A snapshot of the scheduler's load.
#[derive(Clone, Copy, Debug, Default)]
pub struct SchedulerStats {
    /// Requests waiting to start.
    pub queue_depth: usize,
    /// Requests running.
    pub running_requests: usize,
    /// KV slots held by running requests.
    pub running_seqs: usize,
    /// Sequences fed in the most recent forward pass.
    pub last_batch_size: usize,
    /// Forward passes so far.
    pub steps: u64,
    /// Tokens generated so far.
    pub generated_tokens: u64,
}

type SendSink = Box<dyn FnMut(SchedEvent) -> bool + Send>;

struct Shared {
    queue: Mutex<VecDeque<(Prepared, SendSink)>>,
    wake: Condvar,
    shutdown: AtomicBool,
    running_requests: AtomicUsize,
    running_seqs: AtomicUsize,
    last_batch: AtomicUsize,
    steps: AtomicU64,
    generated: AtomicU64,
}

/// Stops the thread when the last [`Scheduler`] handle goes.
struct Handle {
    shared: Arc<Shared>,
    model: Arc<Model>,
    cfg: SchedulerConfig,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        self.shared.wake.notify_all();
    }
}

/// Handle to the decoding thread; clones share it.
#[derive(Clone)]
pub struct Scheduler {
    inner: Arc<Handle>,
}

impl Scheduler {
    pub fn start(model: Arc<Model>, cfg: SchedulerConfig) -> Scheduler {
        let shared = Arc::new(Shared {
            queue: Mutex::new(VecDeque::new()),
            wake: Condvar::new(),
            shutdown: AtomicBool::new(false),
            running_requests: AtomicUsize::new(0),
            running_seqs: AtomicUsize::new(0),
            last_batch: AtomicUsize::new(0),
            steps: AtomicU64::new(0),
            generated: AtomicU64::new(0),
        });
        {
            let shared = shared.clone();
            let model = model.clone();
            let cfg = cfg.clone();
            std::thread::Builder::new()
                .name("ferrocodex-scheduler".into())
                .spawn(move || run(&model, &shared, &cfg))
                .expect("cannot start the scheduler thread");
        }
        Scheduler {
            inner: Arc::new(Handle { shared, model, cfg }),
        }
    }

    pub fn model(&self) -> &Arc<Model> {
        &self.inner.model
    }

    /// Validates and tokenizes the request on the calling thread, then queues it. `sink`
    /// runs on the scheduler thread with each event and must not block; returning `false`
    /// cancels the request and frees its slots at once.
    pub fn submit(
        &self,
        req: CompletionRequest,
        deadline: Option<Instant>,
        sink: Box<dyn FnMut(SchedEvent) -> bool + Send>,
    ) -> Result<(), SubmitError> {
        let h = &self.inner;
        let p = Prepared::new(&h.model, req, deadline)?;
        if p.slots() > h.cfg.max_seqs {
            return Err(SubmitError::Invalid(GenerateError::Invalid {
                param: "best_of",
                message: format!(
                    "this server decodes at most {} samples at once; ask for fewer samples (n, best_of)",
                    h.cfg.max_seqs
                ),
            }));
        }
        let mut q = h.shared.queue.lock().unwrap_or_else(|e| e.into_inner());
        if h.shared.shutdown.load(Ordering::SeqCst) {
            return Err(SubmitError::Stopped);
        }
        if q.len() >= h.cfg.max_queue {
            return Err(SubmitError::QueueFull(q.len()));
        }
        q.push_back((p, sink));
        drop(q);
        h.shared.wake.notify_one();
        Ok(())
    }

    pub fn stats(&self) -> SchedulerStats {
        let s = &self.inner.shared;
        SchedulerStats {
            queue_depth: s.queue.lock().map(|q| q.len()).unwrap_or(0),
            running_requests: s.running_requests.load(Ordering::Relaxed),
            running_seqs: s.running_seqs.load(Ordering::Relaxed),
            last_batch_size: s.last_batch.load(Ordering::Relaxed),
            steps: s.steps.load(Ordering::Relaxed),
            generated_tokens: s.generated.load(Ordering::Relaxed),
        }
    }
}

fn run(model: &Model, shared: &Shared, cfg: &SchedulerConfig) {
    let mut batch = Batch::new(model, cfg.prefill_chunk);
    batch.mean_logprobs = cfg.mean_logprobs;
    loop {
        {
            let mut q = shared.queue.lock().unwrap_or_else(|e| e.into_inner());
            while q.is_empty() && batch.is_empty() && !shared.shutdown.load(Ordering::SeqCst) {
                q = shared.wake.wait(q).unwrap_or_else(|e| e.into_inner());
            }
            if shared.shutdown.load(Ordering::SeqCst) {
                return;
            }
            // Admit waiting requests while their samples fit (one always fits an idle batch).
            while let Some((p, _)) = q.front() {
                if !batch.is_empty() && batch.slots() + p.slots() > cfg.max_seqs {
                    break;
                }
                let (p, sink) = q.pop_front().expect("front exists");
                batch.add(p, sink);
            }
        }
        batch.step();
        shared.steps.fetch_add(1, Ordering::Relaxed);
        shared.last_batch.store(batch.last_batch, Ordering::Relaxed);
        shared.generated.store(batch.generated, Ordering::Relaxed);
        shared.running_requests.store(batch.len(), Ordering::Relaxed);
        shared.running_seqs.store(batch.slots(), Ordering::Relaxed);
    }
}
