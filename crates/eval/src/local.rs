//! Generation with the local engine: every problem is a request to the generation crate's
//! [`Scheduler`], which decodes all live requests together in one batch (continuous
//! batching). Up to `max_seqs` sequences are kept in flight; each finished request is
//! handed on as its samples, cut at the protocol's stop sequences.

use std::sync::mpsc;
use std::sync::Arc;

use ferrocodex_engine::Model;
use ferrocodex_generate::{
    Completion, CompletionRequest, GenerateError, Prompt, SamplingParams, SchedEvent, Scheduler,
    SchedulerConfig,
};

use crate::generation::{Generated, Job, SampleSource, Settings, Sink};
use crate::protocol::{truncate_at_stop, STOP_SEQUENCES};
use crate::EvalError;

/// Sequences decoded together.
const MAX_SEQS: usize = 32;
/// Samples per request (a problem with more samples is split into several requests).
const SAMPLES_PER_REQUEST: usize = 8;

pub struct LocalModel {
    scheduler: Scheduler,
}

impl LocalModel {
    pub fn new(model: Arc<Model>) -> LocalModel {
        let cfg = SchedulerConfig { max_seqs: MAX_SEQS, ..SchedulerConfig::default() };
        LocalModel { scheduler: Scheduler::start(model, cfg) }
    }
}

impl SampleSource for LocalModel {
    fn describe(&self) -> String {
        format!("the local model ({} sequences per batch)", MAX_SEQS)
    }

    fn generate(&self, jobs: &[Job], settings: &Settings, sink: Sink<'_>) -> Result<(), EvalError> {
        // (job, samples) pieces of at most SAMPLES_PER_REQUEST samples each.
        let mut pieces: Vec<(usize, usize)> = Vec::new();
        for (j, job) in jobs.iter().enumerate() {
            let mut left = job.missing;
            while left > 0 {
                let n = left.min(SAMPLES_PER_REQUEST);
                pieces.push((j, n));
                left -= n;
            }
        }
        let (tx, rx) = mpsc::channel::<(usize, Result<Completion, GenerateError>)>();
        let mut next = 0;
        let mut in_flight_seqs = 0;
        let mut in_flight: Vec<usize> = Vec::new();
        loop {
            while next < pieces.len() && in_flight_seqs + pieces[next].1 <= MAX_SEQS {
                let (j, n) = pieces[next];
                let mut req = CompletionRequest::new(Prompt::Text(jobs[j].prompt.clone()));
                req.max_tokens = settings.max_tokens;
                req.n = n;
                req.sampling = SamplingParams {
                    temperature: settings.temperature,
                    top_p: settings.top_p,
                    // Each piece of a problem gets its own stream of random numbers.
                    seed: settings.seed.map(|s| s.wrapping_add(next as u64)),
                    ..SamplingParams::default()
                };
                // The engine takes four stops; the fifth is cut below.
                req.stop = STOP_SEQUENCES[..4].iter().map(|s| s.to_string()).collect();
                let tx = tx.clone();
                let piece = next;
                self.scheduler
                    .submit(
                        req,
                        None,
                        Box::new(move |ev| {
                            if let SchedEvent::Done(result) = ev {
                                let _ = tx.send((piece, result));
                            }
                            true
                        }),
                    )
                    .map_err(|e| EvalError::Generation(format!("{}: {e}", jobs[j].task_id)))?;
                in_flight_seqs += n;
                in_flight.push(piece);
                next += 1;
            }
            if in_flight.is_empty() {
                return Ok(());
            }
            let (piece, result) = rx
                .recv()
                .map_err(|_| EvalError::Generation("the scheduler stopped".into()))?;
            in_flight.retain(|&p| p != piece);
            let (j, n) = pieces[piece];
            in_flight_seqs -= n;
            let completion = result.map_err(|e| EvalError::Generation(format!("{}: {e}", jobs[j].task_id)))?;
            for choice in completion.choices {
                sink(
                    j,
                    Generated {
                        completion: truncate_at_stop(&choice.text).to_string(),
                        mean_logprob: (!choice.tokens.is_empty()).then_some(choice.mean_logprob),
                        completion_tokens: choice.tokens.len(),
                    },
                )?;
            }
        }
    }
}
