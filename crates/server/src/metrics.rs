//! Prometheus metrics in the text exposition format (version 0.0.4), kept in memory.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

/// Upper bounds (seconds) of the latency buckets.
const LATENCY_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

#[derive(Clone)]
struct Histogram {
    counts: [u64; LATENCY_BUCKETS.len()],
    sum: f64,
    count: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: [0; LATENCY_BUCKETS.len()],
            sum: 0.0,
            count: 0,
        }
    }
}

impl Histogram {
    fn observe(&mut self, v: f64) {
        for (i, &b) in LATENCY_BUCKETS.iter().enumerate() {
            if v <= b {
                self.counts[i] += 1;
            }
        }
        self.sum += v;
        self.count += 1;
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (i, b) in LATENCY_BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{sep}le=\"{b}\"}} {}",
                self.counts[i]
            );
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}",
            self.count
        );
        let braces = |s: &str| {
            if s.is_empty() {
                String::new()
            } else {
                format!("{{{s}}}")
            }
        };
        let _ = writeln!(out, "{name}_sum{} {}", braces(labels), self.sum);
        let _ = writeln!(out, "{name}_count{} {}", braces(labels), self.count);
    }
}

#[derive(Default)]
struct Counters {
    /// (route, status) → requests answered.
    requests: BTreeMap<(String, u16), u64>,
    /// route → time until the response head was sent.
    latency: BTreeMap<String, Histogram>,
    /// route → time until the first generated text (streams) or the whole answer.
    ttft: BTreeMap<String, Histogram>,
    prompt_tokens: u64,
    completion_tokens: u64,
    rate_limited: u64,
}

/// Load figures of the generation engine at the moment of a scrape.
#[derive(Clone, Copy, Debug, Default)]
pub struct EngineGauges {
    pub queue_depth: usize,
    pub running_requests: usize,
    pub running_seqs: usize,
    pub last_batch_size: usize,
    pub steps: u64,
    pub generated_tokens: u64,
}

#[derive(Default)]
pub struct Metrics {
    counters: Mutex<Counters>,
}

impl Metrics {
    fn lock(&self) -> std::sync::MutexGuard<'_, Counters> {
        self.counters.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn request(&self, route: &str, status: u16, seconds: f64) {
        let mut c = self.lock();
        *c.requests.entry((route.to_string(), status)).or_default() += 1;
        c.latency
            .entry(route.to_string())
            .or_default()
            .observe(seconds);
        if status == 429 {
            c.rate_limited += 1;
        }
    }

    pub fn first_token(&self, route: &str, seconds: f64) {
        self.lock()
            .ttft
            .entry(route.to_string())
            .or_default()
            .observe(seconds);
    }

    pub fn tokens(&self, prompt: u64, completion: u64) {
        let mut c = self.lock();
        c.prompt_tokens += prompt;
        c.completion_tokens += completion;
    }

    pub fn render(&self, engine: Option<EngineGauges>) -> String {
        let c = self.lock();
        let mut out = String::new();
        out.push_str(
            "# HELP ferrocodex_requests_total HTTP requests answered, by route and status.\n",
        );
        out.push_str("# TYPE ferrocodex_requests_total counter\n");
        for ((route, status), n) in &c.requests {
            let _ = writeln!(
                out,
                "ferrocodex_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
        out.push_str("# HELP ferrocodex_rate_limited_total Requests refused with 429.\n");
        out.push_str("# TYPE ferrocodex_rate_limited_total counter\n");
        let _ = writeln!(out, "ferrocodex_rate_limited_total {}", c.rate_limited);
        out.push_str(
            "# HELP ferrocodex_tokens_total Tokens processed for answered requests, by kind.\n",
        );
        out.push_str("# TYPE ferrocodex_tokens_total counter\n");
        let _ = writeln!(
            out,
            "ferrocodex_tokens_total{{kind=\"prompt\"}} {}",
            c.prompt_tokens
        );
        let _ = writeln!(
            out,
            "ferrocodex_tokens_total{{kind=\"completion\"}} {}",
            c.completion_tokens
        );
        out.push_str("# HELP ferrocodex_request_duration_seconds Time from request to response head, by route.\n");
        out.push_str("# TYPE ferrocodex_request_duration_seconds histogram\n");
        for (route, h) in &c.latency {
            h.render(
                &mut out,
                "ferrocodex_request_duration_seconds",
                &format!("route=\"{route}\""),
            );
        }
        out.push_str("# HELP ferrocodex_time_to_first_token_seconds Time from request to the first generated text, by route.\n");
        out.push_str("# TYPE ferrocodex_time_to_first_token_seconds histogram\n");
        for (route, h) in &c.ttft {
            h.render(
                &mut out,
                "ferrocodex_time_to_first_token_seconds",
                &format!("route=\"{route}\""),
            );
        }
        if let Some(g) = engine {
            let gauge = |out: &mut String, name: &str, help: &str, v: u64| {
                let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
            };
            gauge(
                &mut out,
                "ferrocodex_queue_depth",
                "Requests waiting to start decoding.",
                g.queue_depth as u64,
            );
            gauge(
                &mut out,
                "ferrocodex_running_requests",
                "Requests decoding now.",
                g.running_requests as u64,
            );
            gauge(
                &mut out,
                "ferrocodex_running_sequences",
                "Sequences (samples) decoding now.",
                g.running_seqs as u64,
            );
            gauge(
                &mut out,
                "ferrocodex_batch_size",
                "Sequences in the most recent forward pass.",
                g.last_batch_size as u64,
            );
            let counter = |out: &mut String, name: &str, help: &str, v: u64| {
                let _ = writeln!(
                    out,
                    "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
                );
            };
            counter(
                &mut out,
                "ferrocodex_forward_passes_total",
                "Batched forward passes run.",
                g.steps,
            );
            counter(
                &mut out,
                "ferrocodex_generated_tokens_total",
                "Tokens generated by the engine.",
                g.generated_tokens,
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_cumulative_buckets() {
        let m = Metrics::default();
        m.request("/v1/completions", 200, 0.02);
        m.request("/v1/completions", 200, 3.0);
        m.request("/v1/completions", 429, 0.001);
        m.tokens(5, 7);
        let text = m.render(Some(EngineGauges {
            queue_depth: 3,
            ..Default::default()
        }));
        assert!(
            text.contains("ferrocodex_requests_total{route=\"/v1/completions\",status=\"200\"} 2")
        );
        assert!(text.contains("ferrocodex_rate_limited_total 1"));
        assert!(text.contains("ferrocodex_tokens_total{kind=\"completion\"} 7"));
        assert!(text.contains(
            "ferrocodex_request_duration_seconds_bucket{route=\"/v1/completions\",le=\"0.025\"} 2"
        ));
        assert!(text.contains(
            "ferrocodex_request_duration_seconds_bucket{route=\"/v1/completions\",le=\"+Inf\"} 3"
        ));
        assert!(text.contains("ferrocodex_queue_depth 3"));
    }
}
