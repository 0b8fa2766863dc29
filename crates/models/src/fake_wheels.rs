//! Test support: a small stand-in model published the way the default one is, as real wheel
//! (zip) files with deflated members, so that assembling and verification run for real.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use crate::{ModelSpec, DEFAULT_MODEL};

pub(crate) const TERMS: &str = "<html>Stand-in terms of use</html>";
pub(crate) const NOTICE: &str = "# NOTICE\nStand-in notice.\n";

/// A model of `len` pseudo-random bytes and the spec (same package names as the default
/// model) that describes it.
pub(crate) fn fake_model(len: usize) -> (ModelSpec, Vec<u8>) {
    let mut state: u32 = 0x9e37_79b9;
    let bytes: Vec<u8> = (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        })
        .collect();
    let sha = format!("{:x}", Sha256::digest(&bytes));
    let spec = ModelSpec {
        size: len as u64,
        sha256: String::leak(sha),
        ..DEFAULT_MODEL
    };
    (spec, bytes)
}

fn write_wheel(path: &Path, members: &[(String, &[u8])]) {
    let file = File::create(path).expect("create wheel");
    let mut zip = ZipWriter::new(file);
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    for (name, data) in members {
        zip.start_file(name.as_str(), options)
            .expect("start member");
        zip.write_all(data).expect("write member");
    }
    zip.finish().expect("finish wheel");
}

/// Writes the main wheel and `spec.parts` part wheels of `bytes` into `dir`, as pip would
/// leave them.
pub(crate) fn write_wheels(dir: &Path, spec: &ModelSpec, bytes: &[u8]) {
    let module = spec.module();
    write_wheel(
        &dir.join(format!("{module}-{}-py3-none-any.whl", spec.version)),
        &[
            (format!("{module}/__init__.py"), b"".as_slice()),
            (format!("{module}/data/GEMMA_TERMS.html"), TERMS.as_bytes()),
            (format!("{module}/data/NOTICE.md"), NOTICE.as_bytes()),
        ],
    );
    let chunk = bytes.len().div_ceil(spec.parts as usize).max(1);
    for n in 1..=spec.parts {
        let start = ((n as usize - 1) * chunk).min(bytes.len());
        let end = (n as usize * chunk).min(bytes.len());
        let part_module = spec.part_module(n);
        write_wheel(
            &dir.join(format!("{part_module}-{}-py3-none-any.whl", spec.version)),
            &[
                (format!("{part_module}/__init__.py"), b"".as_slice()),
                (spec.part_member(n), &bytes[start..end]),
            ],
        );
    }
}
