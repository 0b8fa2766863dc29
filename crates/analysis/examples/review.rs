//! Reviews paths with the analysis crate alone (no model, no CLI): the same engine as
//! `ferrocodex review`, for benchmarks and quick checks.
//!
//!     cargo run --release -p ferrocodex-analysis --example review -- [--json] [--jobs N] PATH...
//!
//! Prints the human or JSON report on stdout and the throughput on stderr.

use std::path::PathBuf;
use std::time::Instant;

use ferrocodex_analysis::{output, review_paths, ReviewOptions};

fn main() {
    let mut json = false;
    let mut jobs = 2;
    let mut paths = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--json" => json = true,
            "--jobs" => jobs = args.next().and_then(|n| n.parse().ok()).unwrap_or(2),
            _ => paths.push(PathBuf::from(arg)),
        }
    }
    let t0 = Instant::now();
    let report = review_paths(
        &paths,
        &ReviewOptions {
            threads: jobs,
            respect_gitignore: true,
        },
    );
    let secs = t0.elapsed().as_secs_f64();
    let lines: usize = report.files.iter().map(|f| f.lines).sum();
    let text = if json {
        output::json(&report, None)
    } else {
        output::human(&report, None)
    };
    println!("{text}");
    eprintln!(
        "{} files, {lines} lines, {} findings in {secs:.3} s: {:.0} lines/s on {jobs} threads",
        report.files.len(),
        report.finding_count(),
        lines as f64 / secs.max(1e-9)
    );
}
