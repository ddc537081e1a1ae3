//! The request validation path: a 20-point annual forecast request checked
//! and turned into the plugin input (model resolution included).

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use stratus_proto::v1::{
    ForecastRequest, Frequency, ModelRef, Observation, Series, forecast_request,
};
use stratus_server::dataset::DatasetCatalog;
use stratus_server::plugin::PluginRegistry;
use stratus_server::validate::{self, Context, Limits};

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let library = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../target/release/libstratus_naive.so");
    assert!(library.exists(), "run `cargo build --release` first");
    std::fs::copy(&library, dir.path().join("libstratus_naive.so")).expect("copy");
    let registry = PluginRegistry::new(dir.path()).expect("registry");
    registry.scan().expect("scan");
    let datasets = DatasetCatalog::load(None).expect("datasets");
    let ctx = Context {
        registry: &registry,
        datasets: &datasets,
        limits: Limits::default(),
    };
    let request = ForecastRequest {
        model: Some(ModelRef {
            name: "naive".into(),
            version: String::new(),
        }),
        source: Some(forecast_request::Source::Series(Series {
            name: "bench".into(),
            unit: String::new(),
            frequency: Frequency::Annual as i32,
            observations: (0..20)
                .map(|i| Observation {
                    period: (2000 + i).to_string(),
                    value: 10.0 + f64::from(i),
                })
                .collect(),
        })),
        horizon: 6,
        ..Default::default()
    };
    c.bench_function("validate a 20-point annual forecast request", |b| {
        // Validation consumes the request (the series moves into the plugin
        // input); the copy made for each iteration is not timed.
        b.iter_batched(
            || request.clone(),
            |request| validate::forecast(black_box(request), ctx, ""),
            BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
