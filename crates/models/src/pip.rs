//! Downloading wheels with the user's own pip.
//!
//! Which index pip talks to, through which proxy and with which certificates is entirely pip's
//! own configuration (pip.conf, `PIP_*` variables): ferrocodex names packages, never a host.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;

use crate::progress::Progress;
use crate::{ModelsError, Result};

/// How many of pip's last output lines an error shows.
const TAIL_LINES: usize = 15;

/// A Python interpreter whose `pip` module downloads wheels.
pub(crate) struct Pip {
    python: OsString,
}

impl Pip {
    pub(crate) fn new() -> Pip {
        Pip::with_python("python3")
    }

    pub(crate) fn with_python(python: impl Into<OsString>) -> Pip {
        Pip {
            python: python.into(),
        }
    }

    /// Checks that the interpreter exists and has pip, saying which is missing if not.
    pub(crate) fn check(&self) -> Result<()> {
        let output = Command::new(&self.python)
            .args(["-m", "pip", "--version"])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => ModelsError::PythonMissing,
                _ => ModelsError::PipMissing {
                    detail: e.to_string(),
                },
            })?;
        if output.status.success() {
            return Ok(());
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        let detail = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("`python3 -m pip --version` failed")
            .trim()
            .to_string();
        Err(ModelsError::PipMissing { detail })
    }

    /// Downloads the wheels of `requirements` (exact pins, no dependencies, binary only) into
    /// `dest`, showing pip's current line beside a spinner.
    pub(crate) fn download(
        &self,
        requirements: &[String],
        dest: &Path,
        progress: &Progress,
    ) -> Result<()> {
        self.check()?;
        let mut child = Command::new(&self.python)
            .args([
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "--no-input",
                "--progress-bar",
                "off",
                "-d",
            ])
            .arg(dest)
            .args(requirements)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => ModelsError::PythonMissing,
                _ => ModelsError::PipMissing {
                    detail: e.to_string(),
                },
            })?;

        let (tx, rx) = mpsc::channel::<String>();
        let readers: Vec<_> = [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        .map(|stream| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(|l| l.ok()) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            })
        })
        .collect();
        drop(tx);

        let packages = match requirements.len() {
            1 => "1 package".to_string(),
            n => format!("{n} packages"),
        };
        let task = progress.spinner(&format!("Downloading {packages} with pip"));
        let mut tail = VecDeque::with_capacity(TAIL_LINES);
        for line in rx {
            let line = line.trim_end().to_string();
            if line.trim().is_empty() {
                continue;
            }
            task.set_message(line.trim());
            if tail.len() == TAIL_LINES {
                tail.pop_front();
            }
            tail.push_back(line);
        }
        for reader in readers {
            let _ = reader.join();
        }
        let status = child.wait().map_err(|e| ModelsError::DownloadFailed {
            status: format!("waiting for pip failed: {e}"),
            tail: String::new(),
        })?;
        if status.success() {
            task.finish(&format!("Downloaded {packages}"));
            return Ok(());
        }
        drop(task);
        let tail: Vec<String> = tail.into_iter().collect();
        if tail.iter().any(|l| l.contains("No space left on device")) {
            return Err(ModelsError::DiskFull {
                dir: dest.to_path_buf(),
            });
        }
        Err(ModelsError::DownloadFailed {
            status: match status.code() {
                Some(code) => format!("pip exited with status {code}"),
                None => "pip was stopped by a signal".to_string(),
            },
            tail: tail
                .iter()
                .map(|l| format!("    {l}"))
                .collect::<Vec<_>>()
                .join("\n"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_interpreter_is_reported_as_python_missing() {
        let pip = Pip::with_python("ferrocodex-no-such-python-interpreter");
        assert!(matches!(pip.check(), Err(ModelsError::PythonMissing)));
    }

    #[cfg(unix)]
    #[test]
    fn an_interpreter_without_pip_is_reported_as_pip_missing() {
        // `false` exists everywhere and fails like a Python without its pip module.
        let pip = Pip::with_python("false");
        let err = pip.check().err();
        assert!(
            matches!(err, Some(ModelsError::PipMissing { .. })),
            "{err:?}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_failing_download_shows_pips_last_lines() {
        let dir = tempfile::tempdir().expect("temp dir");
        let script = dir.path().join("fake-python");
        std::fs::write(
            &script,
            "#!/bin/sh\nif [ \"$3\" = --version ]; then echo 'pip 0 from here'; exit 0; fi\n\
             echo 'Collecting something'\necho 'ERROR: No matching distribution found for something' >&2\nexit 1\n",
        )
        .expect("write script");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let err = Pip::with_python(&script)
            .download(
                &["something==1".to_string()],
                dir.path(),
                &Progress::silent(),
            )
            .err();
        match err {
            Some(ModelsError::DownloadFailed { status, tail }) => {
                assert!(status.contains("status 1"), "{status}");
                assert!(tail.contains("No matching distribution"), "{tail}");
            }
            other => panic!("expected a download failure, got {other:?}"),
        }
    }
}
