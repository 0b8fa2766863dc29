//! Code review for Python: finds bugs a type checker would, and stays quiet where it is unsure.
//!
//! A review runs four passes over each file:
//!
//! 1. **Parse** with `ruff_python_parser`. A syntax error becomes a finding (rule `FCR000`)
//!    and the other passes are skipped for that file. So does nesting deeper than
//!    [`MAX_NESTING`] levels (brackets, indented blocks, operator, attribute, call and
//!    subscript chains), found by a linear scan before parsing: such a file gets one `FCR000`
//!    finding saying it was not analysed. Every file is reviewed on a thread with a
//!    [`REVIEW_STACK_BYTES`] stack, whichever thread asks for the review.
//! 2. **Names** ([`semantic`](crate::semantic)): `ruff_python_semantic`'s model of scopes and
//!    bindings, driven over the module, gives undefined names, unused imports and unused locals.
//! 3. **Types** ([`infer`](crate::infer)): a flow-sensitive inference pass of our own over
//!    literals, annotations, builtins and common standard-library signatures, the file's
//!    functions, methods and classes, with narrowing on `isinstance` and `None` checks. It
//!    reports wrong calls, type mismatches, unknown attributes, unbound and unreachable code.
//! 4. **Syntax rules** ([`rules`](crate::rules)): mutable defaults, `is` with a literal, bare
//!    `except:`.
//!
//! Every rule lives in its own file under `rules/`, documented there; [`Rule`] lists them
//! with their stable codes.
//!
//! ```
//! use ferrocodex_analysis::{review_source, Rule};
//!
//! let findings = review_source("def f(x: int) -> int:\n    return x + \"1\"\n");
//! assert_eq!(findings[0].rule, Rule::UnsupportedOperand);
//! assert_eq!(findings[0].start.line, 2);
//! ```
//!
//! [`review_paths`] walks files and folders (respecting `.gitignore`) on a thread pool;
//! [`output`] renders a [`Report`] as text, JSON or SARIF 2.1.0.

mod builtin_attrs;
mod depth;
mod exhaustive;
mod files;
mod finding;
mod infer;
mod model;
pub mod output;
mod rules;
mod semantic;
mod source;
mod stdlib;
mod types;

use std::path::{Path, PathBuf};

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast};
use ruff_text_size::{Ranged, TextRange};

pub use depth::MAX_NESTING;
pub use files::{collect_files, ReviewOptions, SkipReason, MAX_FILE_BYTES};
pub use finding::{Finding, Position, Rule, Severity};
pub use source::code_frame;

use finding::RawFinding;

/// The findings of one file, in source order.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FileReview {
    pub path: PathBuf,
    pub findings: Vec<Finding>,
    /// Lines in the file (for throughput figures).
    pub lines: usize,
    /// The file's text, kept for code frames and explanations.
    #[serde(skip)]
    pub source: String,
}

/// A file that was not reviewed, and why.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Skipped {
    pub path: PathBuf,
    pub reason: SkipReason,
}

/// The outcome of a review of many files.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Report {
    pub files: Vec<FileReview>,
    pub skipped: Vec<Skipped>,
}

impl Report {
    pub fn finding_count(&self) -> usize {
        self.files.iter().map(|f| f.findings.len()).sum()
    }
}

/// Writes the model's explanation of a finding. Implemented by the binary over the local
/// model; the analysis crate does not depend on the engine.
pub trait Explainer: Sync {
    /// A short explanation and suggested fix for `finding`, found in `source`.
    fn explain(&self, finding: &Finding, source: &str) -> Result<String, String>;
}

/// Reviews one file's text (as module `module.py`, not a package `__init__`).
pub fn review_source(source: &str) -> Vec<Finding> {
    review_file_source(Path::new("module.py"), source)
}

/// The stack of the threads that parse and analyse a file: the parser and the passes recurse
/// once per level of nesting, up to [`MAX_NESTING`] levels.
pub const REVIEW_STACK_BYTES: usize = 256 << 20;

thread_local! {
    /// Set on threads started with a [`REVIEW_STACK_BYTES`] stack.
    static LARGE_STACK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `work` on a thread with a [`REVIEW_STACK_BYTES`] stack: this one if it has it, a new
/// scoped thread otherwise (the caller may be a server's worker with a small stack).
fn on_large_stack<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    if LARGE_STACK.with(|l| l.get()) {
        return work();
    }
    std::thread::scope(|scope| {
        let spawned = std::thread::Builder::new()
            .name("review".into())
            .stack_size(REVIEW_STACK_BYTES)
            .spawn_scoped(scope, || {
                LARGE_STACK.with(|l| l.set(true));
                work()
            });
        match spawned {
            Ok(handle) => match handle.join() {
                Ok(value) => value,
                Err(panic) => std::panic::resume_unwind(panic),
            },
            // No thread to be had: the depth bound still keeps the recursion modest.
            Err(_) => unreachable_spawn(),
        }
    })
}

#[cold]
fn unreachable_spawn() -> ! {
    panic!("could not start a review thread: the system refused a new thread")
}

/// Reviews one file's text; the path only decides whether it is a package `__init__.py`.
pub fn review_file_source(path: &Path, source: &str) -> Vec<Finding> {
    let raw = on_large_stack(|| check(path, source));
    let index = source::LineIndex::new(source);
    let mut findings: Vec<Finding> = raw
        .into_iter()
        .map(|r| Finding {
            rule: r.rule,
            message: r.message,
            start: index.position(r.start),
            end: index.position(r.end.max(r.start)),
            offset: (r.start, r.end),
        })
        .collect();
    findings.retain(|f| {
        // A comment cannot sit before a backslash continuation, so the comment that ends a
        // continued logical line covers every physical line of it.
        let mut line = f.start.line;
        loop {
            let text = index.line_text(line);
            if suppressed(text, f.rule) {
                return false;
            }
            if !text.ends_with('\\') || line >= f.start.line + 50 {
                return true;
            }
            line += 1;
        }
    });
    findings.sort_by_key(|f| (f.start, f.rule));
    findings.dedup_by(|a, b| a.start == b.start && a.rule == b.rule);
    findings
}

/// Whether a comment on the finding's line silences it: `# ferrocodex: ignore`, a type
/// checker's `# type: ignore` / `# ty: ignore` / `# pyright: ignore` (for the type rules), or
/// `# noqa` (bare, or naming the rule's code or name).
fn suppressed(line: &str, rule: Rule) -> bool {
    let Some(hash) = line.find('#') else {
        return false;
    };
    let comment = &line[hash..];
    if comment.contains("ferrocodex: ignore") {
        return true;
    }
    let type_rule = !matches!(
        rule,
        Rule::MutableDefault
            | Rule::IsLiteral
            | Rule::UnusedImport
            | Rule::UnusedVariable
            | Rule::BareExcept
    );
    if type_rule
        && ["type: ignore", "ty: ignore", "pyright: ignore"]
            .iter()
            .any(|m| comment.contains(m))
    {
        return true;
    }
    match comment.find("noqa") {
        Some(at) => {
            let rest = &comment[at + 4..];
            match rest.strip_prefix(':') {
                Some(codes) => codes.contains(rule.code()) || codes.contains(rule.name()),
                None => true,
            }
        }
        None => false,
    }
}

fn check(path: &Path, source: &str) -> Vec<RawFinding> {
    if let Some(at) = depth::too_deep(source, MAX_NESTING) {
        let line = source[..at].matches('\n').count() + 1;
        let message = format!(
            "Nesting deeper than {MAX_NESTING} levels at line {line}; the file was not analysed."
        );
        let end = source[at..]
            .chars()
            .next()
            .map_or(at, |c| at + c.len_utf8());
        return vec![RawFinding {
            rule: Rule::SyntaxError,
            message,
            start: at,
            end,
        }];
    }
    let parsed = match ruff_python_parser::parse_module(source) {
        Ok(parsed) => parsed,
        Err(error) => {
            let message = format!("Syntax error: {}", error.error);
            return vec![RawFinding::new(Rule::SyntaxError, message, error.location)];
        }
    };
    let module = parsed.syntax();
    let is_init = path.file_name().is_some_and(|n| n == "__init__.py");
    let mut out = Vec::new();
    let mut not_running = no_type_check_ranges(module);
    semantic::check_names(module, source, is_init, &mut out);
    infer::check_types(module, &mut out, &mut not_running);
    rules::check_syntax(module, &mut out);
    if !not_running.is_empty() {
        out.retain(|f| {
            !f.rule.judges_running_code()
                || !not_running
                    .iter()
                    .any(|r| r.start().to_usize() <= f.start && f.start < r.end().to_usize())
        });
    }
    out
}

/// Functions decorated `@no_type_check` (PEP 484: a checker leaves them alone), from that
/// decorator down: decorators applied before it are part of what it covers. On a class the
/// typing specification leaves its meaning open, so classes are still reviewed.
fn no_type_check_ranges(module: &ast::ModModule) -> Vec<TextRange> {
    struct Finder(Vec<TextRange>);
    impl<'a> Visitor<'a> for Finder {
        fn visit_stmt(&mut self, stmt: &'a ast::Stmt) {
            let (decorators, end) = match stmt {
                ast::Stmt::FunctionDef(f) => (&f.decorator_list, f.end()),
                _ => return visitor::walk_stmt(self, stmt),
            };
            let marker = decorators.iter().find(|d| match &d.expression {
                ast::Expr::Name(n) => n.id.as_str() == "no_type_check",
                ast::Expr::Attribute(a) => a.attr.as_str() == "no_type_check",
                _ => false,
            });
            match marker {
                Some(d) => self.0.push(TextRange::new(d.start(), end)),
                None => visitor::walk_stmt(self, stmt),
            }
        }
    }
    let mut finder = Finder(Vec::new());
    finder.visit_body(&module.body);
    finder.0
}

/// Reviews files and folders on `options.threads` threads.
pub fn review_paths(paths: &[PathBuf], options: &ReviewOptions) -> Report {
    use rayon::prelude::*;
    let (files, mut skipped) = collect_files(paths, options);
    // Deeply nested code (long operator chains in generated files) recurses deeply in the
    // parser and the passes: give each worker a large stack.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.threads.max(1))
        .stack_size(REVIEW_STACK_BYTES)
        .start_handler(|_| LARGE_STACK.with(|l| l.set(true)))
        .build();
    let run = |files: &[PathBuf]| -> Vec<Result<FileReview, Skipped>> {
        files.par_iter().map(|path| review_one(path)).collect()
    };
    let results = match pool {
        Ok(pool) => pool.install(|| run(&files)),
        Err(_) => files.iter().map(|p| review_one(p)).collect(),
    };
    let mut report = Report::default();
    for r in results {
        match r {
            Ok(review) => report.files.push(review),
            Err(skip) => skipped.push(skip),
        }
    }
    report.skipped = skipped;
    report
}

fn review_one(path: &Path) -> Result<FileReview, Skipped> {
    let source = files::read_source(path).map_err(|reason| Skipped {
        path: path.to_path_buf(),
        reason,
    })?;
    Ok(review_text(path, source))
}

/// Reviews a file's text that did not come from disk (an API request): `path` names it in
/// the findings and decides whether it is a package `__init__.py`.
pub fn review_text(path: &Path, source: String) -> FileReview {
    let findings = review_file_source(path, &source);
    let lines = source.lines().count();
    FileReview {
        path: path.to_path_buf(),
        findings,
        lines,
        source,
    }
}
