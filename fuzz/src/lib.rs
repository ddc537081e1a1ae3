//! Fuzz targets: what a network caller or a plugin can send the server,
//! built from arbitrary bytes. Each target must return without panicking
//! whatever the bytes, and checks the invariants the rest of the server
//! relies on. `cargo test -p stratus-fuzz` replays every saved regression
//! and runs each target on random inputs for a bounded time; the
//! `stratus-fuzz` command runs one target for longer and saves any input
//! that panics (see README).
//!
//! The targets take `&[u8]` like a cargo-fuzz target, so a coverage-guided
//! fuzzer can drive them on a toolchain that has one.

pub mod driver;
pub mod targets;
