//! Per-key rate limits over a sliding minute: requests per minute (counted when a request
//! is admitted) and tokens per minute (prompt + completion tokens, counted when a request
//! finishes). A key over either limit gets 429 with the seconds until the oldest counted
//! item leaves the window.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::ApiError;
use crate::store::KeyInfo;

const WINDOW: Duration = Duration::from_secs(60);

#[derive(Default)]
struct Window {
    requests: VecDeque<Instant>,
    tokens: VecDeque<(Instant, u64)>,
    token_sum: u64,
}

impl Window {
    fn prune(&mut self, now: Instant) {
        while self
            .requests
            .front()
            .is_some_and(|&t| now.duration_since(t) >= WINDOW)
        {
            self.requests.pop_front();
        }
        while let Some(&(t, n)) = self.tokens.front() {
            if now.duration_since(t) < WINDOW {
                break;
            }
            self.token_sum -= n;
            self.tokens.pop_front();
        }
    }
}

/// Seconds (rounded up) until `since + WINDOW`.
fn wait_secs(now: Instant, since: Instant) -> u64 {
    let left = WINDOW.saturating_sub(now.duration_since(since));
    left.as_secs() + u64::from(left.subsec_nanos() > 0)
}

#[derive(Default)]
pub struct RateLimiter {
    windows: Mutex<HashMap<i64, Window>>,
}

impl RateLimiter {
    /// Counts a request of `key`, or refuses it when the key is over one of its limits.
    pub fn admit(&self, key: &KeyInfo, now: Instant) -> Result<(), ApiError> {
        if key.rpm.is_none() && key.tpm.is_none() {
            return Ok(());
        }
        let mut all = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let w = all.entry(key.id).or_default();
        w.prune(now);
        if let Some(rpm) = key.rpm {
            if w.requests.len() as u64 >= rpm {
                let retry = w.requests.front().map_or(1, |&t| wait_secs(now, t));
                return Err(ApiError::rate_limited(
                    "requests",
                    format!("Rate limit reached for this key: {rpm} requests per minute. Retry after {retry} s."),
                    retry,
                ));
            }
        }
        if let Some(tpm) = key.tpm {
            if w.token_sum >= tpm {
                // Wait until enough of the window's tokens have left it to be under the limit.
                let mut left = w.token_sum;
                let mut retry = 1;
                for &(t, n) in &w.tokens {
                    left -= n;
                    retry = wait_secs(now, t);
                    if left < tpm {
                        break;
                    }
                }
                return Err(ApiError::rate_limited(
                    "tokens",
                    format!("Rate limit reached for this key: {tpm} tokens per minute. Retry after {retry} s."),
                    retry,
                ));
            }
        }
        w.requests.push_back(now);
        Ok(())
    }

    /// Counts the tokens a finished request of `key` used.
    pub fn add_tokens(&self, key: &KeyInfo, tokens: u64, now: Instant) {
        if key.tpm.is_none() || tokens == 0 {
            return;
        }
        let mut all = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let w = all.entry(key.id).or_default();
        w.prune(now);
        w.tokens.push_back((now, tokens));
        w.token_sum += tokens;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(rpm: Option<u64>, tpm: Option<u64>) -> KeyInfo {
        KeyInfo {
            id: 7,
            name: "t".into(),
            prefix: "fcx-".into(),
            rpm,
            tpm,
            created_at: 0,
            revoked_at: None,
        }
    }

    #[test]
    fn requests_per_minute_slide() {
        let lim = RateLimiter::default();
        let k = key(Some(2), None);
        let t0 = Instant::now();
        lim.admit(&k, t0).unwrap();
        lim.admit(&k, t0 + Duration::from_secs(10)).unwrap();
        let e = lim.admit(&k, t0 + Duration::from_secs(20)).unwrap_err();
        assert_eq!(e.status.as_u16(), 429);
        assert_eq!(e.retry_after, Some(40));
        lim.admit(&k, t0 + Duration::from_secs(60)).unwrap();
    }

    #[test]
    fn tokens_per_minute() {
        let lim = RateLimiter::default();
        let k = key(None, Some(100));
        let t0 = Instant::now();
        lim.admit(&k, t0).unwrap();
        lim.add_tokens(&k, 60, t0);
        lim.admit(&k, t0 + Duration::from_secs(1)).unwrap();
        lim.add_tokens(&k, 60, t0 + Duration::from_secs(30));
        let e = lim.admit(&k, t0 + Duration::from_secs(31)).unwrap_err();
        assert_eq!(e.kind, "tokens");
        // Once the first 60 tokens leave the window (t0 + 60 s), 60 < 100 remain.
        assert_eq!(e.retry_after, Some(29));
        lim.admit(&k, t0 + Duration::from_secs(60)).unwrap();
    }

    #[test]
    fn unlimited_keys_are_not_tracked() {
        let lim = RateLimiter::default();
        let k = key(None, None);
        for _ in 0..1000 {
            lim.admit(&k, Instant::now()).unwrap();
        }
        assert!(lim.windows.lock().unwrap().is_empty());
    }
}
