//! Where samples come from: a [`SampleSource`] turns HumanEval prompts into completions with
//! the Codex protocol ([`crate::protocol`]). [`Endpoint`] asks any OpenAI-compatible
//! `/v1/completions` server; the local engine is another implementation of the same trait.
//! [`generate_missing`] appends samples to `samples.jsonl` as they arrive, so a rerun only
//! generates what is missing.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::problems::Problem;
use crate::protocol::{truncate_at_stop, STOP_SEQUENCES};
use crate::samples::{read_samples, sample_line};
use crate::EvalError;

/// Sampling settings of a run.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Samples per problem.
    pub n: usize,
    pub temperature: f32,
    pub top_p: f32,
    pub max_tokens: usize,
    /// Ask for per-token log-probabilities (needed to rank by mean log-probability).
    pub logprobs: bool,
    pub seed: Option<u64>,
}

/// Samples still to generate for one problem.
#[derive(Clone, Debug)]
pub struct Job {
    pub task_id: String,
    pub prompt: String,
    pub missing: usize,
}

/// One completion, already cut at the protocol's stop sequences.
#[derive(Clone, Debug)]
pub struct Generated {
    pub completion: String,
    /// Mean log-probability of the completion's tokens, when known.
    pub mean_logprob: Option<f64>,
    pub completion_tokens: usize,
}

/// Receives each finished sample with the index of its job. May be called from several
/// threads; an error stops generation.
pub type Sink<'a> = &'a (dyn Fn(usize, Generated) -> Result<(), EvalError> + Sync);

pub trait SampleSource: Sync {
    /// What generates, in words (for the report).
    fn describe(&self) -> String;
    /// Generates `missing` samples for every job, handing each to `sink` as it finishes.
    fn generate(&self, jobs: &[Job], settings: &Settings, sink: Sink<'_>) -> Result<(), EvalError>;
}

/// Generates the samples that `samples_path` does not yet hold (`settings.n` per problem),
/// appending one flushed line per sample. Returns the number generated now.
pub fn generate_missing(
    source: &dyn SampleSource,
    problems: &[Problem],
    settings: &Settings,
    samples_path: &Path,
    progress: &(dyn Fn(usize, usize, usize) + Sync),
) -> Result<usize, EvalError> {
    let mut have: HashMap<String, usize> = HashMap::new();
    let mut needs_newline = false;
    if samples_path.exists() {
        for s in read_samples(samples_path)? {
            *have.entry(s.task_id).or_default() += 1;
        }
        let bytes = std::fs::read(samples_path).map_err(|e| EvalError::io(samples_path, e))?;
        if !bytes.is_empty() && !bytes.ends_with(b"\n") {
            let start = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
            if serde_json::from_slice::<serde_json::Value>(&bytes[start..]).is_ok() {
                // A complete last record without its line ending.
                needs_newline = true;
            } else {
                // A line cut short by a kill: drop it, so that the file stays valid JSONL.
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(samples_path)
                    .map_err(|e| EvalError::io(samples_path, e))?;
                f.set_len(start as u64).map_err(|e| EvalError::io(samples_path, e))?;
            }
        }
    }
    let jobs: Vec<Job> = problems
        .iter()
        .filter_map(|p| {
            let got = have.get(&p.task_id).copied().unwrap_or(0);
            (got < settings.n).then(|| Job {
                task_id: p.task_id.clone(),
                prompt: p.prompt.clone(),
                missing: settings.n - got,
            })
        })
        .collect();
    let total = problems.len() * settings.n;
    let todo: usize = jobs.iter().map(|j| j.missing).sum();
    let done = AtomicUsize::new(total - todo);
    let tokens = AtomicUsize::new(0);
    progress(total - todo, total, 0);
    if todo == 0 {
        return Ok(0);
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(samples_path)
        .map_err(|e| EvalError::io(samples_path, e))?;
    if needs_newline {
        file.write_all(b"\n").map_err(|e| EvalError::io(samples_path, e))?;
    }
    let file = Mutex::new(file);
    source.generate(&jobs, settings, &|job, g| {
        let line = sample_line(&jobs[job].task_id, &g.completion, g.mean_logprob);
        let mut f = file.lock().unwrap_or_else(|p| p.into_inner());
        f.write_all(format!("{line}\n").as_bytes())
            .and_then(|_| f.flush())
            .map_err(|e| EvalError::io(samples_path, e))?;
        let t = tokens.fetch_add(g.completion_tokens, Ordering::Relaxed) + g.completion_tokens;
        progress(done.fetch_add(1, Ordering::Relaxed) + 1, total, t);
        Ok(())
    })?;
    Ok(todo)
}

/// Any OpenAI-compatible completions endpoint (vLLM, TGI, llama.cpp's server, ferrocodex's
/// own server), over plain HTTP.
pub struct Endpoint {
    url: String,
    api_key: Option<String>,
    model: Option<String>,
    concurrency: usize,
    agent: ureq::Agent,
}

impl Endpoint {
    /// `base` is the server (`http://host:port`), its `/v1`, or the full completions URL.
    pub fn new(base: &str, api_key: Option<String>, model: Option<String>, concurrency: usize) -> Result<Endpoint, EvalError> {
        let base = base.trim_end_matches('/');
        if base.starts_with("https://") {
            return Err(EvalError::Generation(format!(
                "{base}: this build speaks plain HTTP only; reach the server over http:// (for example through a local proxy)"
            )));
        }
        if !base.starts_with("http://") {
            return Err(EvalError::Generation(format!("{base}: the endpoint must be an http:// URL")));
        }
        let url = if base.ends_with("/completions") {
            base.to_string()
        } else if base.ends_with("/v1") {
            format!("{base}/completions")
        } else {
            format!("{base}/v1/completions")
        };
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(900)))
            .http_status_as_error(false)
            .build();
        Ok(Endpoint { url, api_key, model, concurrency: concurrency.max(1), agent: ureq::Agent::new_with_config(config) })
    }

    fn request(&self, prompt: &str, n: usize, settings: &Settings) -> Result<Vec<Generated>, EvalError> {
        let mut body = serde_json::json!({
            "prompt": prompt,
            "max_tokens": settings.max_tokens,
            "temperature": settings.temperature,
            "top_p": settings.top_p,
            "n": n,
            // The API takes at most four stops; the fifth is applied on our side.
            "stop": &STOP_SEQUENCES[..4],
        });
        if let Some(m) = &self.model {
            body["model"] = m.as_str().into();
        }
        if settings.logprobs {
            body["logprobs"] = 1.into();
        }
        if let Some(seed) = settings.seed {
            body["seed"] = seed.into();
        }
        let mut req = self.agent.post(&self.url).header("Content-Type", "application/json");
        if let Some(key) = &self.api_key {
            req = req.header("Authorization", format!("Bearer {key}"));
        }
        let err = |e: String| EvalError::Generation(format!("{}: {e}", self.url));
        let mut resp = req.send(body.to_string()).map_err(|e| err(e.to_string()))?;
        let status = resp.status();
        let text = resp
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_string()
            .map_err(|e| err(e.to_string()))?;
        if !status.is_success() {
            return Err(err(format!("HTTP {status}: {}", text.chars().take(500).collect::<String>())));
        }
        parse_completions(&text).map_err(err)
    }
}

/// Reads the choices of a completions response, cutting each at the stop sequences.
pub fn parse_completions(text: &str) -> Result<Vec<Generated>, String> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("the response is not JSON ({e})"))?;
    let choices = v["choices"].as_array().ok_or("the response has no \"choices\" array")?;
    let mut out = Vec::new();
    for c in choices {
        let text = c["text"].as_str().ok_or("a choice has no \"text\"")?;
        let kept = truncate_at_stop(text);
        // Mean over the tokens that make up the kept text.
        let lp = &c["logprobs"];
        let (mut sum, mut count, mut len) = (0.0f64, 0usize, 0usize);
        if let (Some(tokens), Some(values)) = (lp["tokens"].as_array(), lp["token_logprobs"].as_array()) {
            for (t, v) in tokens.iter().zip(values) {
                if len >= kept.len() {
                    break;
                }
                len += t.as_str().map_or(0, str::len);
                if let Some(x) = v.as_f64() {
                    sum += x;
                    count += 1;
                }
            }
        }
        let completion_tokens = lp["tokens"].as_array().map_or(0, |t| t.len());
        out.push(Generated {
            completion: kept.to_string(),
            mean_logprob: (count > 0).then(|| sum / count as f64),
            completion_tokens,
        });
    }
    if let (true, Some(total)) = (out.iter().all(|g| g.completion_tokens == 0), v["usage"]["completion_tokens"].as_u64()) {
        let each = total as usize / out.len().max(1);
        out.iter_mut().for_each(|g| g.completion_tokens = each);
    }
    Ok(out)
}

impl SampleSource for Endpoint {
    fn describe(&self) -> String {
        format!("endpoint {}", self.url)
    }

    fn generate(&self, jobs: &[Job], settings: &Settings, sink: Sink<'_>) -> Result<(), EvalError> {
        let todo: Vec<usize> = (0..jobs.len()).collect();
        crate::score::run_pool(&todo, self.concurrency, &|j| {
            let job = &jobs[j];
            let mut left = job.missing;
            while left > 0 {
                let got = self.request(&job.prompt, left, settings)?;
                if got.is_empty() {
                    return Err(EvalError::Generation(format!("{} returned no choices", self.url)));
                }
                // Servers that ignore `n` return one choice per request.
                for g in got.into_iter().take(left) {
                    sink(j, g)?;
                    left -= 1;
                }
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_choices_and_cuts_at_stops() {
        let body = r#"{"choices": [
            {"text": "    return 1\n\ndef g():", "logprobs": {"tokens": ["    return", " 1", "\n\n", "def", " g"], "token_logprobs": [-1.0, -0.5, -0.3, -9.0, -9.0]}},
            {"text": "    return 2\n"}
        ], "usage": {"completion_tokens": 9}}"#;
        let g = parse_completions(body).unwrap();
        assert_eq!(g[0].completion, "    return 1\n");
        // "    return" + " 1" + "\n\n" cover the kept 13 bytes; the rest is past the stop.
        assert!((g[0].mean_logprob.unwrap() - (-0.6)).abs() < 1e-9);
        assert_eq!(g[1].completion, "    return 2\n");
        assert_eq!(g[1].mean_logprob, None);
        assert!(parse_completions("{}").unwrap_err().contains("choices"));
        assert!(parse_completions("nope").unwrap_err().contains("not JSON"));
    }
}
