//! CI's fuzzing: every saved regression input is replayed, then each target
//! runs on random inputs for a bounded time (`STRATUS_FUZZ_SECONDS`, default
//! 3 per target, fixed seeds so a failure reproduces).

use std::process::Command;
use std::sync::Once;
use std::time::Duration;

use stratus_fuzz::{driver, targets};

/// The validation target loads the naive and bubble plugins; `cargo test`
/// does not build other packages' libraries, so build them (a no-op when up
/// to date).
fn plugins_built() {
    static BUILT: Once = Once::new();
    BUILT.call_once(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let release = driver::target_dir().ends_with("release");
        let status = Command::new(cargo)
            .args([
                "build",
                "--quiet",
                "-p",
                "stratus-naive",
                "-p",
                "stratus-bubble",
            ])
            .args(release.then_some("--release"))
            .status()
            .expect("run cargo build");
        assert!(status.success(), "building the plugins failed");
    });
}

fn fuzz(name: &str, seed: u64) {
    plugins_built();
    let target = targets::by_name(name).expect("a target");
    for (path, input) in driver::saved(name) {
        if let Err(crash) = driver::run_one(target, &input) {
            panic!(
                "regression {} panics again: {}",
                path.display(),
                crash.message
            );
        }
    }
    let seconds = std::env::var("STRATUS_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    match driver::run_for(target, seed, Duration::from_secs(seconds)) {
        Ok(tried) => assert!(tried > 0, "{name}: no input ran"),
        Err(crash) => {
            let saved = driver::save(name, &crash);
            panic!(
                "{name} panicked: {} (input saved: {saved:?})",
                crash.message
            );
        }
    }
}

#[test]
fn validation_never_panics_and_what_it_accepts_is_sound() {
    fuzz("validation", 0x5eed_0001);
}

#[test]
fn period_labels_parse_and_print_back() {
    fuzz("period", 0x5eed_0002);
}

#[test]
fn plugin_answers_decode_or_fail_cleanly() {
    fuzz("plugin_answer", 0x5eed_0003);
}
