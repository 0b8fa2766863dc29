//! Feeds arbitrary bytes to the reviewer's front end: it must never panic, whatever the
//! input (invalid UTF-8 is skipped the way the file walker skips it).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = ferrocodex_analysis::review_source(text);
    }
});
