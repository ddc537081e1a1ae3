//! One fit-and-forecast, in process: an annual series of 20 points with a
//! horizon of 6, and a quarterly series of 60 points with a horizon of 8.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use stratus_canalys::Canalys;
use stratus_plugin::{ForecastModel, wire};

fn input(values: Vec<f64>, periods_per_year: u32, horizon: u32) -> wire::ForecastInput {
    stratus_plugin::input::forecast_input(
        &values,
        periods_per_year,
        horizon,
        &Canalys.description().params,
    )
}

/// A deterministic wiggle so the optimiser has real work to do.
fn noise(t: usize) -> f64 {
    ((t as f64 * 12.9898).sin() * 43_758.545).fract() - 0.5
}

fn bench(c: &mut Criterion) {
    let annual: Vec<f64> = (0..20)
        .map(|t| 10.0 * (0.12 * t as f64 + 0.05 * noise(t)).exp())
        .collect();
    let quarterly: Vec<f64> = (0..60)
        .map(|t| {
            5.0 * (0.03 * t as f64 + 0.1 * [0.0, 0.1, -0.05, 0.2][t % 4] + 0.03 * noise(t)).exp()
        })
        .collect();
    let annual = input(annual, 1, 6);
    let quarterly = input(quarterly, 4, 8);
    c.bench_function("canalys annual n=20 h=6", |b| {
        b.iter(|| Canalys.forecast(black_box(&annual)))
    });
    c.bench_function("canalys quarterly n=60 h=8", |b| {
        b.iter(|| Canalys.forecast(black_box(&quarterly)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
