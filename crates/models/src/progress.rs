//! Progress on stderr: bars when stderr is a terminal, plain lines when it is a log.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{DecimalBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Bars,
    Lines,
    Silent,
}

/// Where a long operation reports what it is doing.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    mode: Mode,
}

impl Progress {
    /// Bars and spinners when stderr is a terminal, a few plain lines otherwise.
    pub fn stderr() -> Progress {
        let mode = if std::io::stderr().is_terminal() {
            Mode::Bars
        } else {
            Mode::Lines
        };
        Progress { mode }
    }

    /// Plain lines on stderr, whatever stderr is.
    pub fn lines() -> Progress {
        Progress { mode: Mode::Lines }
    }

    /// Nothing at all (tests, callers with their own reporting).
    pub fn silent() -> Progress {
        Progress { mode: Mode::Silent }
    }

    /// A line for the user, printed as is.
    pub fn note(&self, line: &str) {
        if self.mode != Mode::Silent {
            eprintln!("{line}");
        }
    }

    /// Work of unknown length: a spinner whose message can change.
    pub fn spinner(&self, message: &str) -> Task {
        let bar = match self.mode {
            Mode::Bars => {
                let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
                bar.set_style(
                    ProgressStyle::with_template("{spinner} {prefix} [{elapsed}] {wide_msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.set_prefix(message.to_string());
                bar.enable_steady_tick(Duration::from_millis(120));
                Some(bar)
            }
            Mode::Lines => {
                eprintln!("{message} …");
                None
            }
            Mode::Silent => None,
        };
        Task::new(self.mode, bar, message, 0)
    }

    /// Work measured in bytes, `total` of them.
    pub fn bytes(&self, message: &str, total: u64) -> Task {
        let bar = match self.mode {
            Mode::Bars => {
                let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
                bar.set_style(
                    ProgressStyle::with_template(
                        "{prefix} [{bar:32}] {decimal_bytes}/{decimal_total_bytes} {decimal_bytes_per_sec} eta {eta}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
                );
                bar.set_prefix(message.to_string());
                Some(bar)
            }
            Mode::Lines => {
                eprintln!("{message} ({}) …", DecimalBytes(total));
                None
            }
            Mode::Silent => None,
        };
        Task::new(self.mode, bar, message, total)
    }
}

/// One operation in progress. Dropping it without [`Task::finish`] clears its bar.
pub struct Task {
    mode: Mode,
    bar: Option<ProgressBar>,
    message: String,
    total: u64,
    done: u64,
    /// In line mode, the byte count at which the next "n %" line is printed.
    next_line_at: u64,
    started: Instant,
}

impl Task {
    fn new(mode: Mode, bar: Option<ProgressBar>, message: &str, total: u64) -> Task {
        Task {
            mode,
            bar,
            message: message.to_string(),
            total,
            done: 0,
            next_line_at: total / 4,
            started: Instant::now(),
        }
    }

    /// Replaces the detail shown beside a spinner (line mode prints nothing for it).
    pub fn set_message(&self, detail: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(detail.to_string());
        }
    }

    /// Counts `n` more bytes done.
    pub fn inc(&mut self, n: u64) {
        self.done += n;
        if let Some(bar) = &self.bar {
            bar.inc(n);
        } else if self.mode == Mode::Lines
            && self.total > 0
            && self.done >= self.next_line_at
            && self.done < self.total
        {
            eprintln!(
                "  {}: {} % ({} of {})",
                self.message,
                self.done * 100 / self.total,
                DecimalBytes(self.done),
                DecimalBytes(self.total)
            );
            self.next_line_at = self.next_line_at.saturating_add((self.total / 4).max(1));
        }
    }

    /// Ends the operation with a closing line (which says how long it took).
    pub fn finish(mut self, summary: &str) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        if self.mode != Mode::Silent {
            eprintln!("{summary} ({:.1} s)", self.started.elapsed().as_secs_f64());
        }
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
