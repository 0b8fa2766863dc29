//! `ferrocodex review`: find bugs in Python files and folders; optionally have the model
//! explain each finding.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use ferrocodex_analysis::output::{self, Explanations};
use ferrocodex_analysis::{review_paths, Explainer, Report, ReviewOptions};
use ferrocodex_server::ModelExplainer;

use crate::GlobalOpts;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReviewFormat {
    /// `path:line:col: severity CODE [name] message` with a code frame.
    Human,
    /// One JSON document for programs.
    Json,
    /// SARIF 2.1.0 for code-scanning services (GitHub code scanning).
    Sarif,
}

#[derive(clap::Args, Debug)]
pub struct ReviewArgs {
    /// Python files or folders to review (folders are walked, .gitignore respected).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReviewFormat::Human)]
    pub format: ReviewFormat,
    /// Ask the local model for a short explanation and fix for each finding (marked as the
    /// model's in the output).
    #[arg(long)]
    pub explain: bool,
    /// Most findings to explain (each takes a model call).
    #[arg(long, default_value_t = 20)]
    pub explain_limit: usize,
    /// Also review files that .gitignore excludes.
    #[arg(long)]
    pub no_ignore: bool,
    /// Worker threads over files.
    #[arg(long, default_value_t = 2)]
    pub jobs: usize,
}

/// Runs the review and prints it; exits with status 1 when there are findings.
pub fn run(args: ReviewArgs, global: &GlobalOpts) -> anyhow::Result<()> {
    let options = ReviewOptions {
        threads: args.jobs.max(1),
        respect_gitignore: !args.no_ignore,
    };
    let t0 = Instant::now();
    let report = review_paths(&args.paths, &options);
    let elapsed = t0.elapsed().as_secs_f64();
    let lines: usize = report.files.iter().map(|f| f.lines).sum();
    tracing::info!(
        "reviewed {} files ({lines} lines) in {elapsed:.3} s: {:.0} lines/s",
        report.files.len(),
        lines as f64 / elapsed.max(1e-9)
    );
    if report.files.is_empty() && !report.skipped.is_empty() {
        let first = &report.skipped[0];
        bail!(
            "nothing to review: {} {}",
            first.path.display(),
            first.reason
        );
    }

    let explanations = if args.explain && report.finding_count() > 0 {
        Some(explain_all(&report, global, args.explain_limit)?)
    } else {
        None
    };

    let text = match args.format {
        ReviewFormat::Human => output::human(&report, explanations.as_ref()),
        ReviewFormat::Json => output::json(&report, explanations.as_ref()),
        ReviewFormat::Sarif => {
            let root = std::env::current_dir().context("cannot read the current folder")?;
            output::sarif(&report, &root, explanations.as_ref())
        }
    };
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .context("cannot write the review")?;
    if !text.ends_with('\n') {
        writeln!(stdout).context("cannot write the review")?;
    }
    stdout.flush().context("cannot write the review")?;
    if args.format != ReviewFormat::Human {
        for skipped in &report.skipped {
            eprintln!("skipped {}: {}", skipped.path.display(), skipped.reason);
        }
    }
    if report.finding_count() > 0 {
        std::process::exit(1);
    }
    Ok(())
}

fn explain_all(report: &Report, global: &GlobalOpts, limit: usize) -> anyhow::Result<Explanations> {
    let path = ferrocodex_models::resolve_model(global.model.as_deref())
        .context("--explain needs the local model")?;
    let model = ferrocodex_engine::Model::load(
        &path,
        &ferrocodex_engine::LoadOptions {
            threads: global.threads,
        },
    )
    .with_context(|| format!("--explain cannot load the model {}", path.display()))?;
    let explainer = ModelExplainer { model: &model };
    let mut out: Explanations = Vec::new();
    let mut budget = limit;
    for file in &report.files {
        let mut per_file = Vec::new();
        for finding in &file.findings {
            if budget == 0 {
                per_file.push(None);
                continue;
            }
            budget -= 1;
            match explainer.explain(finding, &file.source) {
                Ok(text) => per_file.push(Some(text)),
                Err(e) => {
                    tracing::warn!(
                        "no explanation for {}:{}: {e}",
                        file.path.display(),
                        finding.start.line
                    );
                    per_file.push(None);
                }
            }
        }
        out.push(per_file);
    }
    Ok(out)
}
