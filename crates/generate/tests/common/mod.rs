#![allow(dead_code)]

use std::sync::Arc;

use ferrocodex_engine::{LoadOptions, Model};
use ferrocodex_testmodels::{tiny_model_bytes, TinyArch};

/// A tiny random-weight model of `arch`, loaded from a temporary file.
pub fn tiny(arch: TinyArch) -> Arc<Model> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(arch.file_name());
    std::fs::write(&path, tiny_model_bytes(arch).expect("tiny model")).expect("write tiny model");
    // The weights are memory-mapped: the mapping outlives the file's directory entry.
    Arc::new(Model::load(&path, &LoadOptions { threads: Some(2) }).expect("load tiny model"))
}
