//! `FERROCODEX_TEST_NETWORK=1` at build time turns on the test that downloads the real model.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(ferrocodex_test_network)");
    println!("cargo::rerun-if-env-changed=FERROCODEX_TEST_NETWORK");
    if std::env::var("FERROCODEX_TEST_NETWORK").as_deref() == Ok("1") {
        println!("cargo::rustc-cfg=ferrocodex_test_network");
    }
}
