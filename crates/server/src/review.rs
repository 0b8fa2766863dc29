//! `POST /v1/review`: the code reviewer of `ferrocodex review` over HTTP.
//!
//! The request carries Python files as text (`files: [{path, content}]`, or one snippet as
//! `code`); the answer is the same document `ferrocodex review --format json` prints, plus a
//! `summary` of the counts, or with `"format": "sarif"` the SARIF 2.1.0 log. A file that does
//! not parse is a finding (`FCR000`), not an error. The analysis runs on a blocking thread so
//! that it never stalls the streams the server is sending.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::{Extension, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use ferrocodex_analysis::output::{self, Explanations};
use ferrocodex_analysis::{
    review_text, Explainer, Report, Severity, SkipReason, Skipped, MAX_FILE_BYTES,
};
use serde_json::{json, Map, Value};

use crate::body::JsonBody;
use crate::error::ApiError;
use crate::explain::ModelExplainer;
use crate::params::{wrong_type, Fields};
use crate::routes::{account, Caller};
use crate::{AppState, Backend};

pub const ROUTE: &str = "/v1/review";

/// The most files one request may carry.
pub const MAX_FILES: usize = 256;

/// The most findings explained per request (each is a model call).
pub const MAX_EXPLAINED: usize = 20;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Sarif,
}

struct Parsed {
    files: Vec<(PathBuf, String)>,
    format: Format,
    explain: bool,
}

fn path_of(v: &Value, param: &str) -> Result<PathBuf, ApiError> {
    match v {
        Value::String(s) if !s.trim().is_empty() && s.len() <= 1024 && !s.contains('\0') => {
            Ok(PathBuf::from(s))
        }
        Value::String(_) => Err(ApiError::invalid_param(
            param,
            format!("`{param}` must be a non-empty file name of at most 1024 bytes."),
        )),
        other => Err(wrong_type(param, "a string", other)),
    }
}

fn parse(f: &Fields) -> Result<Parsed, ApiError> {
    let format = match f.string("format")? {
        None | Some("json") => Format::Json,
        Some("sarif") => Format::Sarif,
        Some(other) => {
            return Err(ApiError::invalid_param(
                "format",
                format!("`format` must be \"json\" or \"sarif\", got \"{other}\"."),
            ))
        }
    };
    let explain = f.boolean("explain")?.unwrap_or(false);
    let files = match (f.get("files"), f.get("code")) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid_param(
                "code",
                "Send either `files` or `code`, not both.",
            ))
        }
        (None, None) => {
            return Err(ApiError::invalid_param(
                "files",
                "`files` is required: an array of {\"path\", \"content\"} objects (or send one snippet as `code`).",
            ))
        }
        (None, Some(code)) => {
            let Value::String(code) = code else {
                return Err(wrong_type("code", "a string", code));
            };
            let path = match f.get("path") {
                Some(p) => path_of(p, "path")?,
                None => PathBuf::from("snippet.py"),
            };
            vec![(path, code.clone())]
        }
        (Some(files), None) => {
            let Value::Array(items) = files else {
                return Err(wrong_type("files", "an array of {\"path\", \"content\"} objects", files));
            };
            if items.is_empty() {
                return Err(ApiError::invalid_param("files", "`files` must not be empty."));
            }
            if items.len() > MAX_FILES {
                return Err(ApiError::invalid_param(
                    "files",
                    format!("At most {MAX_FILES} files may be sent in one request, got {}.", items.len()),
                ));
            }
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let Value::Object(obj) = item else {
                    return Err(wrong_type(&format!("files[{i}]"), "an object with `path` and `content`", item));
                };
                let field = |name: &str| obj.get(name).filter(|v| !v.is_null());
                let path_param = format!("files[{i}].path");
                let path = match field("path") {
                    Some(p) => path_of(p, &path_param)?,
                    None => return Err(ApiError::invalid_param(&path_param, format!("`{path_param}` is required."))),
                };
                let content_param = format!("files[{i}].content");
                let content = match field("content") {
                    Some(Value::String(s)) => s.clone(),
                    Some(other) => return Err(wrong_type(&content_param, "a string", other)),
                    None => {
                        return Err(ApiError::invalid_param(
                            &content_param,
                            format!("`{content_param}` is required."),
                        ))
                    }
                };
                out.push((path, content));
            }
            out
        }
    };
    Ok(Parsed {
        files,
        format,
        explain,
    })
}

/// Reviews the files, skipping the ones `ferrocodex review` would skip on disk.
fn review_all(files: Vec<(PathBuf, String)>) -> Report {
    let mut report = Report::default();
    for (path, content) in files {
        let reason = if content.len() as u64 > MAX_FILE_BYTES {
            Some(SkipReason::TooLarge(content.len() as u64))
        } else if content.contains('\0') {
            Some(SkipReason::Binary)
        } else {
            None
        };
        match reason {
            Some(reason) => report.skipped.push(Skipped { path, reason }),
            None => report.files.push(review_text(&path, content)),
        }
    }
    report
}

fn explain_all(report: &Report, explainer: &dyn Explainer) -> Explanations {
    let mut budget = MAX_EXPLAINED;
    report
        .files
        .iter()
        .map(|file| {
            file.findings
                .iter()
                .map(|finding| {
                    if budget == 0 {
                        return None;
                    }
                    budget -= 1;
                    match explainer.explain(finding, &file.source) {
                        Ok(text) => Some(text),
                        Err(e) => {
                            tracing::warn!("no explanation for {}:{}: {e}", file.path.display(), finding.start.line);
                            None
                        }
                    }
                })
                .collect()
        })
        .collect()
}

/// Counts of the report: findings by severity and by rule code.
fn summary(report: &Report) -> Value {
    let mut by_rule = Map::new();
    let (mut errors, mut warnings) = (0u64, 0u64);
    for finding in report.files.iter().flat_map(|f| &f.findings) {
        match finding.rule.severity() {
            Severity::Error => errors += 1,
            Severity::Warning => warnings += 1,
        }
        let n = by_rule
            .entry(finding.rule.code())
            .or_insert(json!(0));
        *n = json!(n.as_u64().unwrap_or(0) + 1);
    }
    json!({
        "findings": report.finding_count(),
        "errors": errors,
        "warnings": warnings,
        "files_reviewed": report.files.len(),
        "files_skipped": report.skipped.len(),
        "by_rule": by_rule,
    })
}

pub async fn handle(
    State(st): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let f = Fields::of(&body.value)?;
    let parsed = parse(&f)?;
    let model = match (&st.backend, parsed.explain) {
        (_, false) => None,
        (Backend::Local(l), true) => Some(l.model.clone()),
        (Backend::Upstream(_), true) => {
            return Err(ApiError::invalid_param(
                "explain",
                "`explain` needs the local model, and this server forwards generation to an upstream engine; \
                 send the request without `explain` (the findings themselves do not need a model).",
            ))
        }
    };
    let format = parsed.format;
    let files = parsed.files;
    let (report, explanations) = tokio::task::spawn_blocking(move || {
        let report = review_all(files);
        let explanations = model
            .filter(|_| report.finding_count() > 0)
            .map(|model| explain_all(&report, &ModelExplainer { model: &model }));
        (report, explanations)
    })
    .await
    .map_err(|e| ApiError::internal(format!("The review failed: {e}")))?;
    account(&st, &caller, 0, 0).await?;
    let doc = match format {
        Format::Sarif => output::sarif_value(&report, Path::new(""), explanations.as_ref()),
        Format::Json => {
            let mut doc = output::json_value(&report, explanations.as_ref());
            doc["object"] = json!("review");
            doc["summary"] = summary(&report);
            doc
        }
    };
    Ok(Json(doc).into_response())
}
