//! The decoding loop shared by one-off completions and the server's scheduler: any number of
//! requests, each with its samples, advanced together one forward pass at a time.
//!
//! A request's prompt is prefilled once (in chunks, so a long prompt shares each pass with
//! the sequences already decoding); its KV slot is then forked into one slot per sample
//! (`best_of`, or `n`), and every live sample feeds its last token into the next pass.
//! Samples finish independently (end-of-generation token, stop string, `max_tokens`); when
//! all of a request's samples are done, the best `n` by mean token log-probability are
//! returned.

use std::time::Instant;

use ferrocodex_engine::{KvCache, LogitsFor, Model, SeqId, SeqInput, StreamDecoder};
use rayon::prelude::*;

use crate::request::check_context;
use crate::{
    fim, Choice, Completion, CompletionRequest, Event, FinishReason, GenerateError, Logprobs, Prompt,
    Sampler, StopMatcher, Usage,
};

/// What a request's owner hears: progress events, then exactly one `Done` (unless the owner
/// cancelled by returning `false`).
#[derive(Debug)]
pub enum SchedEvent {
    Event(Event),
    Done(Result<Completion, GenerateError>),
}

pub(crate) type Sink<'a> = Box<dyn FnMut(SchedEvent) -> bool + 'a>;

/// A validated, tokenized request, ready to join a batch (built on the caller's thread).
pub(crate) struct Prepared {
    pub req: CompletionRequest,
    pub ids: Vec<u32>,
    /// User stop strings, then the suffix guard (if any) last.
    pub stops: Vec<String>,
    pub has_guard: bool,
    pub deadline: Option<Instant>,
}

impl Prepared {
    pub fn new(model: &Model, req: CompletionRequest, deadline: Option<Instant>) -> Result<Prepared, GenerateError> {
        req.validate_params(Some(model.config().vocab_size))?;
        let ids = fim::prompt_ids(model, &req)?;
        if ids.is_empty() {
            return Err(GenerateError::Invalid {
                param: "prompt",
                message: "the prompt is empty".into(),
            });
        }
        check_context(model, ids.len(), req.max_tokens)?;
        let mut stops = req.stop.clone();
        let guard = fim::suffix_guard(model, &req);
        let has_guard = guard.is_some();
        stops.extend(guard);
        Ok(Prepared {
            req,
            ids,
            stops,
            has_guard,
            deadline,
        })
    }

    /// KV slots the request occupies once running.
    pub fn slots(&self) -> usize {
        self.req.samples()
    }
}

struct Sample<'m> {
    seq: SeqId,
    sampler: Sampler,
    decoder: StreamDecoder<'m>,
    stops: StopMatcher,
    tokens: Vec<u32>,
    /// Released text (without the echoed prompt).
    text: String,
    logprob_sum: f64,
    logprobs: Option<Logprobs>,
    /// Characters decoded so far, the echoed prompt included (text offsets).
    decoded_chars: usize,
    /// The token to feed at the next pass.
    pending: Option<u32>,
    finish: Option<FinishReason>,
}

struct Job<'m> {
    p: Prepared,
    sink: Sink<'m>,
    /// The prompt's slot until it is forked into the samples.
    seq: SeqId,
    prefilled: usize,
    prompt_text: String,
    echo_logprobs: Option<Logprobs>,
    samples: Vec<Sample<'m>>,
    /// The owner stopped listening.
    cancelled: bool,
}

impl Job<'_> {
    fn wants_prompt_logprobs(&self) -> bool {
        self.p.req.echo && self.p.req.logprobs.is_some()
    }

    fn done(&self) -> bool {
        !self.samples.is_empty() && self.samples.iter().all(|s| s.finish.is_some())
    }

    fn emit(&mut self, ev: Event) {
        if !self.cancelled && !(self.sink)(SchedEvent::Event(ev)) {
            self.cancelled = true;
        }
    }
}

/// Where a row of logits goes.
enum Owner {
    Prefill { job: usize, start: usize, end: usize },
    Decode { job: usize, sample: usize },
}

pub(crate) struct Batch<'m> {
    model: &'m Model,
    cache: KvCache,
    jobs: Vec<Job<'m>>,
    prefill_chunk: usize,
    /// Sequences fed in the last pass.
    pub last_batch: usize,
    /// Tokens generated so far (all jobs).
    pub generated: u64,
    /// See [`SchedulerConfig::mean_logprobs`](crate::SchedulerConfig::mean_logprobs) (on by
    /// default).
    pub mean_logprobs: bool,
}

impl<'m> Batch<'m> {
    pub fn new(model: &'m Model, prefill_chunk: usize) -> Batch<'m> {
        Batch {
            model,
            cache: model.new_cache(model.config().n_ctx_train),
            jobs: Vec::new(),
            prefill_chunk: prefill_chunk.max(1),
            last_batch: 0,
            generated: 0,
            mean_logprobs: true,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }

    /// Requests running.
    pub fn len(&self) -> usize {
        self.jobs.len()
    }

    /// KV slots held or about to be held by the running jobs.
    pub fn slots(&self) -> usize {
        self.jobs.iter().map(|j| j.p.slots()).sum()
    }

    pub fn add(&mut self, p: Prepared, sink: Sink<'m>) {
        let tok = self.model.tokenizer();
        let prompt_text = if p.req.echo {
            match &p.req.prompt {
                Prompt::Text(t) => t.clone(),
                Prompt::Tokens(ids) => tok.decode(ids),
            }
        } else {
            String::new()
        };
        let echo_logprobs = (p.req.echo && p.req.logprobs.is_some()).then(|| {
            let mut lp = Logprobs::default();
            lp.tokens.push(token_text(self.model, p.ids[0]));
            lp.token_logprobs.push(None);
            lp.top_logprobs.push(None);
            lp.text_offset.push(0);
            lp
        });
        let seq = self.cache.new_seq();
        self.jobs.push(Job {
            p,
            sink,
            seq,
            prefilled: 0,
            prompt_text,
            echo_logprobs,
            samples: Vec::new(),
            cancelled: false,
        });
    }

    /// Runs one forward pass over everything that has work; returns whether there was any.
    pub fn step(&mut self) -> bool {
        self.expire();
        let model = self.model;
        let mut inputs: Vec<SeqInput> = Vec::new();
        let mut owners: Vec<Owner> = Vec::new();
        let mut budget = self.prefill_chunk;
        for (ji, job) in self.jobs.iter().enumerate() {
            if !job.samples.is_empty() {
                for (si, s) in job.samples.iter().enumerate() {
                    if let Some(t) = &s.pending {
                        inputs.push(SeqInput {
                            seq: s.seq,
                            tokens: std::slice::from_ref(t),
                            logits: LogitsFor::Last,
                        });
                        owners.push(Owner::Decode { job: ji, sample: si });
                    }
                }
            } else if budget > 0 {
                let start = job.prefilled;
                let end = (start + budget).min(job.p.ids.len());
                budget -= end - start;
                let logits = if job.wants_prompt_logprobs() {
                    LogitsFor::All
                } else if end == job.p.ids.len() {
                    LogitsFor::Last
                } else {
                    LogitsFor::None
                };
                inputs.push(SeqInput {
                    seq: job.seq,
                    tokens: &job.p.ids[start..end],
                    logits,
                });
                owners.push(Owner::Prefill { job: ji, start, end });
            }
        }
        if inputs.is_empty() {
            return false;
        }
        self.last_batch = inputs.len();
        let result = model.forward(&mut self.cache, &inputs);
        drop(inputs);
        let logits = match result {
            Ok(l) => l,
            Err(e) => {
                // Every request in the pass fails the same way; the others are untouched.
                let msg = e.to_string();
                let mut failed: Vec<usize> = owners
                    .iter()
                    .map(|o| match o {
                        Owner::Prefill { job, .. } | Owner::Decode { job, .. } => *job,
                    })
                    .collect();
                failed.dedup();
                for &j in &failed {
                    let job = &mut self.jobs[j];
                    (job.sink)(SchedEvent::Done(Err(GenerateError::Failed(msg.clone()))));
                    job.cancelled = true;
                }
                self.reap();
                return true;
            }
        };
        // Every decoding sample draws its token at once, on the model's threads (sampling a
        // large vocabulary is a good part of a step when many sequences decode together).
        let mut draws: Vec<Option<Draw>> = {
            let mut work: Vec<(&mut Sampler, &[f32], Option<usize>, bool)> = Vec::new();
            let mut row = 0;
            let all = self.mean_logprobs;
            let info: Vec<(bool, usize, Option<usize>, bool)> = self
                .jobs
                .iter()
                .map(|j| (j.wants_prompt_logprobs(), j.p.ids.len(), j.p.req.logprobs, scores(all, &j.p.req)))
                .collect();
            let mut samples: Vec<Vec<Option<&mut Sample>>> =
                self.jobs.iter_mut().map(|j| j.samples.iter_mut().map(Some).collect()).collect();
            let mut slots = Vec::new();
            for owner in &owners {
                match *owner {
                    Owner::Prefill { job, start, end } => {
                        row += match info[job] {
                            (true, ..) => end - start,
                            (false, len, ..) => usize::from(end == len),
                        };
                        slots.push(false);
                    }
                    Owner::Decode { job, sample } => {
                        let (_, _, n_top, score) = info[job];
                        let s = samples[job][sample].take().expect("each sample decodes once per pass");
                        work.push((&mut s.sampler, logits.row(row), n_top, score));
                        row += 1;
                        slots.push(true);
                    }
                }
            }
            let drawn: Vec<Draw> = if work.len() > 1 {
                model.pool().install(|| work.into_par_iter().map(|(s, r, n, sc)| draw(s, r, n, sc)).collect())
            } else {
                work.into_iter().map(|(s, r, n, sc)| draw(s, r, n, sc)).collect()
            };
            let mut drawn = drawn.into_iter();
            slots.into_iter().map(|d| if d { drawn.next() } else { None }).collect()
        };
        let mut row = 0;
        for (oi, owner) in owners.into_iter().enumerate() {
            match owner {
                Owner::Prefill { job, start, end } => {
                    let job_ref = &mut self.jobs[job];
                    job_ref.prefilled = end;
                    if job_ref.wants_prompt_logprobs() {
                        for pos in start..end {
                            if pos + 1 < job_ref.p.ids.len() {
                                let next = job_ref.p.ids[pos + 1];
                                let n_top = job_ref.p.req.logprobs.unwrap_or(0);
                                let lp = job_ref.echo_logprobs.as_mut().expect("echo logprobs");
                                let offset = lp.text_offset.last().copied().unwrap_or(0)
                                    + lp.tokens.last().map_or(0, |t| t.chars().count());
                                let r = logits.row(row + pos - start);
                                let lse = log_sum_exp(r);
                                lp.tokens.push(token_text(model, next));
                                lp.token_logprobs.push(Some((r[next as usize] as f64 - lse) as f32));
                                lp.top_logprobs.push(Some(top_alternatives(model, r, lse, n_top, next)));
                                lp.text_offset.push(offset);
                            }
                        }
                    }
                    let rows = match job_ref.wants_prompt_logprobs() {
                        true => end - start,
                        false => usize::from(end == job_ref.p.ids.len()),
                    };
                    if end == job_ref.p.ids.len() {
                        let last = logits.row(row + rows - 1);
                        self.start_samples(job, last);
                    }
                    row += rows;
                }
                Owner::Decode { job, sample } => {
                    row += 1;
                    let d = draws[oi].take().expect("drawn above");
                    self.take(job, sample, d);
                }
            }
        }
        model.recycle_logits(logits);
        self.reap();
        true
    }

    /// Fails requests whose deadline has passed.
    fn expire(&mut self) {
        let now = Instant::now();
        let mut any = false;
        for job in &mut self.jobs {
            if job.p.deadline.is_some_and(|d| now >= d) && !job.cancelled {
                let err = GenerateError::DeadlineExceeded;
                (job.sink)(SchedEvent::Done(Err(err)));
                job.cancelled = true;
                any = true;
            }
        }
        if any {
            self.reap();
        }
    }

    /// The prompt is in the cache: fork it into the samples and draw their first tokens.
    fn start_samples(&mut self, ji: usize, row: &[f32]) {
        let model = self.model;
        let n = self.jobs[ji].p.req.samples();
        let mut seqs = vec![self.jobs[ji].seq];
        for _ in 1..n {
            match self.cache.fork(self.jobs[ji].seq) {
                Ok(s) => seqs.push(s),
                Err(e) => {
                    let job = &mut self.jobs[ji];
                    (job.sink)(SchedEvent::Done(Err(GenerateError::Failed(e.to_string()))));
                    job.cancelled = true;
                    for s in seqs.into_iter().skip(1) {
                        self.cache.free(s);
                    }
                    return;
                }
            }
        }
        let job = &mut self.jobs[ji];
        let prompt_chars = job.prompt_text.chars().count();
        for (i, seq) in seqs.into_iter().enumerate() {
            let mut params = job.p.req.sampling.clone();
            // Each sample draws its own numbers; the same seed still repeats the whole request.
            params.seed = params.seed.map(|s| sample_seed(s, i));
            let mut sampler = Sampler::new(params);
            sampler.observe_context(&job.p.ids);
            job.samples.push(Sample {
                seq,
                sampler,
                decoder: StreamDecoder::new(model.tokenizer()),
                stops: StopMatcher::new(&job.p.stops),
                tokens: Vec::new(),
                text: String::new(),
                logprob_sum: 0.0,
                logprobs: job.p.req.logprobs.map(|_| Logprobs::default()),
                decoded_chars: prompt_chars,
                pending: None,
                finish: None,
            });
        }
        if job.p.req.streamable() && job.p.req.echo {
            for i in 0..n {
                let ev = Event::Delta {
                    index: i,
                    text: job.prompt_text.clone(),
                    logprobs: job.echo_logprobs.clone(),
                };
                job.emit(ev);
            }
        }
        if job.p.req.max_tokens == 0 {
            for i in 0..n {
                self.finish(ji, i, FinishReason::Length);
            }
            return;
        }
        for i in 0..n {
            self.advance(ji, i, row);
        }
    }

    /// Draws sample `si`'s next token from `row` and takes it into the output.
    fn advance(&mut self, ji: usize, si: usize, row: &[f32]) {
        let req = &self.jobs[ji].p.req;
        let (n_top, score) = (req.logprobs, scores(self.mean_logprobs, req));
        let d = draw(&mut self.jobs[ji].samples[si].sampler, row, n_top, score);
        self.take(ji, si, d);
    }

    /// Takes a drawn token into sample `si`'s output: log-probabilities, text, stop strings,
    /// events, and whether it is done.
    fn take(&mut self, ji: usize, si: usize, d: Draw) {
        let model = self.model;
        let tok = model.tokenizer();
        let job = &mut self.jobs[ji];
        let streamable = job.p.req.streamable();
        let max_tokens = job.p.req.max_tokens;
        let guard_index = job.p.has_guard.then(|| job.p.stops.len() - 1);
        let s = &mut job.samples[si];
        let t = d.token;
        s.pending = None;
        s.tokens.push(t);
        self.generated += 1;
        s.logprob_sum += d.logprob;
        let mut entry = None;
        if let Some(top) = d.top {
            let mut e = Logprobs::default();
            e.tokens.push(token_text(model, t));
            e.token_logprobs.push(Some(d.logprob as f32));
            e.top_logprobs
                .push(Some(top.into_iter().map(|(id, lp)| (token_text(model, id), lp)).collect()));
            e.text_offset.push(s.decoded_chars);
            s.logprobs.as_mut().expect("logprobs requested").extend(&e);
            entry = Some(e);
        }
        let mut finish = None;
        let mut emit = String::new();
        if tok.is_eog(t) {
            finish = Some(FinishReason::Stop);
        } else {
            let piece = s.decoder.push(t);
            s.decoded_chars += piece.chars().count();
            let (out, hit) = s.stops.push(&piece);
            emit = out;
            if hit {
                finish = Some(FinishReason::Stop);
                if guard_index.is_some() && s.stops.which() == guard_index {
                    // Insert mode without FIM tokens: the output reached the suffix; drop the
                    // indentation that led up to it.
                    let keep = (s.text.clone() + &emit).trim_end_matches([' ', '\t']).len();
                    emit.truncate(keep.saturating_sub(s.text.len()));
                }
            }
        }
        if finish.is_none() && s.tokens.len() >= max_tokens {
            finish = Some(FinishReason::Length);
        }
        if finish.is_none() {
            s.pending = Some(t);
        }
        s.text.push_str(&emit);
        if streamable && (!emit.is_empty() || entry.is_some()) {
            job.emit(Event::Delta {
                index: si,
                text: emit,
                logprobs: entry,
            });
        }
        if let Some(reason) = finish {
            self.finish(ji, si, reason);
        }
    }

    /// Ends sample `si`: releases held-back text and its KV slot.
    fn finish(&mut self, ji: usize, si: usize, reason: FinishReason) {
        let job = &mut self.jobs[ji];
        let streamable = job.p.req.streamable();
        let s = &mut job.samples[si];
        s.pending = None;
        s.finish = Some(reason);
        let mut tail = String::new();
        if !s.stops.matched() {
            let rest = s.decoder.finish();
            let (mut emit, _) = s.stops.push(&rest);
            emit.push_str(&s.stops.flush());
            tail = emit;
        }
        s.text.push_str(&tail);
        let seq = s.seq;
        self.cache.free(seq);
        if streamable {
            if !tail.is_empty() {
                job.emit(Event::Delta {
                    index: si,
                    text: tail,
                    logprobs: None,
                });
            }
            job.emit(Event::Finish { index: si, reason });
        }
    }

    /// Removes finished and cancelled jobs, answering the finished ones.
    fn reap(&mut self) {
        let mut i = 0;
        while i < self.jobs.len() {
            let job = &self.jobs[i];
            if job.cancelled || job.done() {
                let mut job = self.jobs.remove(i);
                if job.samples.is_empty() {
                    self.cache.free(job.seq);
                }
                for s in &job.samples {
                    if s.finish.is_none() {
                        self.cache.free(s.seq);
                    }
                }
                if !job.cancelled {
                    let completion = assemble(&mut job);
                    (job.sink)(SchedEvent::Done(Ok(completion)));
                }
            } else {
                i += 1;
            }
        }
    }
}

/// The response for a finished job: every sample, or the best `n` by mean log-probability.
fn assemble(job: &mut Job) -> Completion {
    let req = &job.p.req;
    let completion_tokens = job.samples.iter().map(|s| s.tokens.len()).sum();
    let mut choices: Vec<Choice> = job
        .samples
        .drain(..)
        .enumerate()
        .map(|(i, s)| {
            let mean = if s.tokens.is_empty() {
                0.0
            } else {
                s.logprob_sum / s.tokens.len() as f64
            };
            let logprobs = s.logprobs.map(|gen| match &job.echo_logprobs {
                Some(echo) => {
                    let mut all = echo.clone();
                    all.extend(&gen);
                    all
                }
                None => gen,
            });
            let text = if req.echo {
                format!("{}{}", job.prompt_text, s.text)
            } else {
                s.text
            };
            Choice {
                index: i,
                text,
                tokens: s.tokens,
                finish_reason: s.finish.unwrap_or(FinishReason::Length),
                logprobs,
                mean_logprob: mean,
            }
        })
        .collect();
    if choices.len() > req.n {
        // Stable: equal means keep sampling order.
        choices.sort_by(|a, b| b.mean_logprob.total_cmp(&a.mean_logprob));
        choices.truncate(req.n);
        for (i, c) in choices.iter_mut().enumerate() {
            c.index = i;
        }
    }
    Completion {
        choices,
        usage: Usage {
            prompt_tokens: job.p.ids.len(),
            completion_tokens,
        },
    }
}

/// The seed of sample `i` of a request seeded with `seed`: well mixed, so that requests
/// seeded `s` and `s + 1` share no sample streams.
fn sample_seed(seed: u64, i: usize) -> u64 {
    let mut z = seed.wrapping_add((i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A token drawn for a sample, with what its output needs.
struct Draw {
    token: u32,
    logprob: f64,
    /// The most likely alternatives (ids, log-probabilities), when log-probabilities are asked.
    top: Option<Vec<(u32, f32)>>,
}

/// Whether a request's tokens need their log-probabilities: when asked for, for the best_of
/// ranking, or for every choice's mean (`all`).
fn scores(all: bool, req: &CompletionRequest) -> bool {
    all || req.logprobs.is_some() || req.samples() > req.n
}

/// Draws the next token; its log-probability (NaN unless `score` or `n_top`) comes from a
/// second pass over the row.
fn draw(sampler: &mut Sampler, row: &[f32], n_top: Option<usize>, score: bool) -> Draw {
    let token = sampler.sample(row);
    sampler.accept(token);
    if !score && n_top.is_none() {
        return Draw {
            token,
            logprob: f64::NAN,
            top: None,
        };
    }
    let lse = log_sum_exp(row);
    Draw {
        token,
        logprob: row[token as usize] as f64 - lse,
        top: n_top.map(|n| top_ids(row, lse, n, token)),
    }
}

/// log Σ exp(row): terms more than 40 below the maximum add less than 262144·e⁻⁴⁰ ≈ 1e-12 in
/// relative terms and are skipped.
pub fn log_sum_exp(row: &[f32]) -> f64 {
    let max = ferrocodex_engine::ops::max_value(row);
    max as f64 + ferrocodex_engine::ops::exp_sum_above(row, max, 1.0, max - 40.0).ln()
}

/// The `n` largest logits of `row` as (token, logit), largest first (the first token on ties).
pub(crate) fn top_logits(row: &[f32], n: usize) -> Vec<(u32, f32)> {
    let mut top: Vec<(u32, f32)> = Vec::with_capacity(n + 1);
    if n == 0 {
        return top;
    }
    for (i, &v) in row.iter().enumerate() {
        if top.len() < n || v > top[top.len() - 1].1 {
            let at = top.partition_point(|x| x.1 >= v);
            top.insert(at, (i as u32, v));
            top.truncate(n);
        }
    }
    top
}

/// The `n` most likely tokens with their log-probabilities, most likely first, plus the
/// chosen token when it is not among them (the API returns up to logprobs + 1 entries).
fn top_ids(row: &[f32], lse: f64, n: usize, chosen: u32) -> Vec<(u32, f32)> {
    let mut top = top_logits(row, n);
    if !top.iter().any(|x| x.0 == chosen) {
        top.push((chosen, row[chosen as usize]));
    }
    top.into_iter().map(|(id, v)| (id, (v as f64 - lse) as f32)).collect()
}

fn top_alternatives(model: &Model, row: &[f32], lse: f64, n: usize, chosen: u32) -> Vec<(String, f32)> {
    top_ids(row, lse, n, chosen)
        .into_iter()
        .map(|(id, lp)| (token_text(model, id), lp))
        .collect()
}

fn token_text(model: &Model, id: u32) -> String {
    String::from_utf8_lossy(&model.tokenizer().token_bytes(id, false)).into_owned()
}
