//! What the plugin boundary costs per call: each model in process (its rlib)
//! against the same call through its loaded library (encode, call across,
//! decode). Both models are linked into this one binary, which their
//! `export` feature being off allows.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use prost::Message;
use stratus_plugin::{ForecastModel, wire};
use stratus_server::plugin::library::{self, PrivateCopies};

/// The annual input of the boundary target: 20 points, horizon 6.
fn input(params: &[wire::ParamSpec]) -> wire::ForecastInput {
    wire::ForecastInput {
        series: Some(wire::Series {
            name: "bench".into(),
            unit: String::new(),
            frequency: wire::Frequency::Annual as i32,
            observations: (0..20)
                .map(|i| wire::Observation {
                    period: (2000 + i).to_string(),
                    value: 10.0 * 1.12f64.powi(i) * (1.0 + 0.03 * f64::from((i * 7) % 5 - 2) / 2.0),
                })
                .collect(),
        }),
        horizon: 6,
        levels: vec![80.0, 95.0],
        params: params
            .iter()
            .map(|p| (p.name.clone(), p.default_value))
            .collect(),
        future_periods: (2020..2026).map(|y| y.to_string()).collect(),
        periods_per_year: 1,
    }
}

/// `target/release/<library>`, which `cargo build --release` makes.
fn built_library(file: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/release")
        .join(file);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --release` first",
        path.display()
    );
    path
}

/// Benchmarks `model` in process against its library `file` through the ABI.
fn compare(c: &mut Criterion, name: &str, model: &dyn ForecastModel, file: &str) {
    let input = input(&model.description().params);
    let path = built_library(file);
    let copies = PrivateCopies::new().expect("temp dir");
    let copy = copies.copy_in(&path).expect("copy the library");
    let opened = library::open(&path, copy).expect("load the library");
    let instance = opened.instantiate().expect("instantiate");
    let request = wire::InvokeRequest {
        call: Some(wire::invoke_request::Call::Forecast(input.clone())),
    };

    let mut group = c.benchmark_group(name);
    group.bench_function("in process (rlib)", |b| {
        b.iter(|| model.forecast(black_box(&input)))
    });
    group.bench_function("through the plugin ABI", |b| {
        b.iter(|| {
            // What the server does per call: encode, call across, decode.
            let bytes = black_box(&request).encode_to_vec();
            instance.invoke(&bytes)
        })
    });
    group.finish();
}

fn bench(c: &mut Criterion) {
    compare(c, "naive", &stratus_naive::Naive, "libstratus_naive.so");
    compare(
        c,
        "canalys",
        &stratus_canalys::Canalys,
        "libstratus_canalys.so",
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
