//! The plugin boundary's cost with `canalys`.

use criterion::{Criterion, criterion_group, criterion_main};

#[path = "boundary.rs"]
mod boundary;

fn bench(c: &mut Criterion) {
    boundary::compare(
        c,
        "canalys",
        &stratus_canalys::Canalys,
        "libstratus_canalys.so",
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
