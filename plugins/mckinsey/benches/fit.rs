//! One fit with its three scenarios: an annual series of 20 points, horizon 10.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use stratus_mckinsey::McKinsey;
use stratus_plugin::ForecastModel;

fn bench(c: &mut Criterion) {
    // An adoption curve with deterministic ±3% wiggle.
    let values: Vec<f64> = (0..20)
        .map(|t| {
            90.0 / (1.0 + (-0.45 * (t as f64 - 12.0)).exp())
                * (1.0 + 0.03 * ((t * 7 % 5) as f64 - 2.0) / 2.0)
        })
        .collect();
    let input =
        stratus_plugin::input::forecast_input(&values, 1, 10, &McKinsey.description().params);
    c.bench_function("mckinsey annual n=20 h=10 three scenarios", |b| {
        b.iter(|| McKinsey.forecast(black_box(&input)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
