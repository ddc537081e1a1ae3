//! The request validation path: a 20-point annual forecast request checked
//! and turned into the plugin input (the model's description in hand, as
//! after the registry lookup, which is a map lookup not measured here).

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use stratus_plugin_abi::wire;
use stratus_proto::v1::{ForecastRequest, Frequency, ModelRef, Observation, Series};
use stratus_server::validate::{self, Limits};

fn bench(c: &mut Criterion) {
    // naive's description: a forecast model with one parameter.
    let model = wire::ModelDescription {
        name: "naive".into(),
        version: "1.0.0".into(),
        kind: wire::ModelKind::Forecast as i32,
        params: vec![wire::ParamSpec {
            name: "drift".into(),
            default_value: 1.0,
            min: 0.0,
            max: 1.0,
            ..Default::default()
        }],
        ..Default::default()
    };
    let series = Series {
        name: "bench".into(),
        unit: String::new(),
        frequency: Frequency::Annual as i32,
        observations: (0..20)
            .map(|i| Observation {
                period: (2000 + i).to_string(),
                value: 10.0 + f64::from(i),
            })
            .collect(),
    };
    let request = ForecastRequest {
        model: Some(ModelRef {
            name: "naive".into(),
            version: String::new(),
        }),
        horizon: 6,
        ..Default::default()
    };
    let limits = Limits::default();
    c.bench_function("validate a 20-point annual forecast request", |b| {
        // Validation consumes the request and series (the series moves into
        // the plugin input); the copies made for each iteration are not timed.
        b.iter_batched(
            || (request.clone(), series.clone()),
            |(request, series)| {
                let sizes = validate::forecast_sizes(black_box(&request), limits)?;
                validate::forecast(black_box(request), sizes, series, &model, limits)
            },
            BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
