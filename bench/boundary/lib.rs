//! Nothing to link: this package only holds the `boundary` benchmark
//! (`benches/boundary.rs`).
