//! Which files a review reads: Python files under the given paths, `.gitignore` respected;
//! binary, non-UTF-8 and over-large files are skipped with a reason.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::Skipped;

/// Files larger than this are skipped (generated code, data dumps).
pub const MAX_FILE_BYTES: u64 = 2 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct ReviewOptions {
    /// Worker threads over files.
    pub threads: usize,
    /// Respect `.gitignore`, `.ignore` and git's exclude files when walking folders.
    pub respect_gitignore: bool,
}

impl Default for ReviewOptions {
    fn default() -> Self {
        ReviewOptions {
            threads: 2,
            respect_gitignore: true,
        }
    }
}

/// Why a file was not reviewed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "detail")]
pub enum SkipReason {
    NotFound,
    Unreadable(String),
    TooLarge(u64),
    Binary,
    NotUtf8,
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SkipReason::NotFound => write!(f, "no such file or folder"),
            SkipReason::Unreadable(e) => write!(f, "cannot be read: {e}"),
            SkipReason::TooLarge(n) => {
                write!(f, "is {n} bytes, over the {MAX_FILE_BYTES}-byte limit")
            }
            SkipReason::Binary => write!(f, "looks binary (contains NUL bytes)"),
            SkipReason::NotUtf8 => write!(f, "is not valid UTF-8"),
        }
    }
}

/// The Python files under `paths`, sorted, and the paths that do not exist.
pub fn collect_files(paths: &[PathBuf], options: &ReviewOptions) -> (Vec<PathBuf>, Vec<Skipped>) {
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    for path in paths {
        if path.is_file() {
            files.push(path.clone());
            continue;
        }
        if !path.is_dir() {
            skipped.push(Skipped {
                path: path.clone(),
                reason: SkipReason::NotFound,
            });
            continue;
        }
        let walker = ignore::WalkBuilder::new(path)
            .git_ignore(options.respect_gitignore)
            .git_exclude(options.respect_gitignore)
            .ignore(options.respect_gitignore)
            .require_git(false)
            .hidden(true)
            .build();
        for entry in walker {
            let Ok(entry) = entry else { continue };
            let p = entry.path();
            if entry.file_type().is_some_and(|t| t.is_file()) && is_python(p) {
                files.push(p.to_path_buf());
            }
        }
    }
    files.sort();
    files.dedup();
    (files, skipped)
}

fn is_python(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("py" | "pyw")
    )
}

/// Reads a file as UTF-8 source, or says why it is skipped.
pub(crate) fn read_source(path: &Path) -> Result<String, SkipReason> {
    let meta = std::fs::metadata(path).map_err(|e| SkipReason::Unreadable(e.to_string()))?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(SkipReason::TooLarge(meta.len()));
    }
    let bytes = std::fs::read(path).map_err(|e| SkipReason::Unreadable(e.to_string()))?;
    source_from_bytes(bytes)
}

/// Decodes file contents, refusing binary and non-UTF-8 data; strips a UTF-8 byte-order mark.
pub(crate) fn source_from_bytes(bytes: Vec<u8>) -> Result<String, SkipReason> {
    if bytes.contains(&0) {
        return Err(SkipReason::Binary);
    }
    let mut text = String::from_utf8(bytes).map_err(|_| SkipReason::NotUtf8)?;
    if text.starts_with('\u{feff}') {
        text.drain(..3);
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_binary_and_bad_utf8() {
        assert_eq!(
            source_from_bytes(vec![b'a', 0, b'b']),
            Err(SkipReason::Binary)
        );
        assert_eq!(
            source_from_bytes(vec![0xff, 0xfe, b'x']),
            Err(SkipReason::NotUtf8)
        );
        assert_eq!(
            source_from_bytes("\u{feff}x = 1\n".as_bytes().to_vec()),
            Ok("x = 1\n".to_string())
        );
    }
}
