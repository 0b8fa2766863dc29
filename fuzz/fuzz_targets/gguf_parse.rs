//! Any byte string fed to the GGUF reader yields a file or an error, never a panic, and every
//! tensor it accepts lies inside the input.
#![no_main]

use std::path::Path;
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let len = data.len() as u64;
    if let Ok(file) = ferrocodex_gguf::GgufFile::from_bytes(Path::new("fuzz.gguf"), Arc::new(data.to_vec())) {
        for t in file.tensors() {
            assert!(t.offset + t.size <= len);
            assert_eq!(file.tensor_data(t).len() as u64, t.size);
        }
    }
});
