//! The plugin boundary's cost with the cheapest model, `naive`.

use criterion::{Criterion, criterion_group, criterion_main};

#[path = "boundary.rs"]
mod boundary;

fn bench(c: &mut Criterion) {
    boundary::compare(c, "naive", &stratus_naive::Naive, "libstratus_naive.so");
}

criterion_group!(benches, bench);
criterion_main!(benches);
