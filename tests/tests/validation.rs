//! Every validation case answers with the right status and names the field,
//! before any plugin sees the request.

use stratus_client::proto;
use stratus_e2e::fixtures::{annual, forecast, forecast_dataset, model, violated_fields};
use stratus_e2e::{NAIVE, ROGUE, Server, ServerOptions};
use tonic::Code;

fn server() -> Server {
    Server::start(ServerOptions {
        plugins: vec![NAIVE, ROGUE],
        ..Default::default()
    })
}

async fn expect(
    server: &Server,
    request: proto::ForecastRequest,
    code: Code,
    field: &str,
) -> tonic::Status {
    let client = server.client().await;
    let status = client
        .forecast(request)
        .await
        .expect_err("the request must be refused");
    assert_eq!(status.code(), code, "{}", status.message());
    assert!(
        status.message().contains(field),
        "message '{}' should name {field}",
        status.message()
    );
    if matches!(code, Code::InvalidArgument | Code::ResourceExhausted) {
        let fields = violated_fields(&status);
        assert!(
            fields.iter().any(|f| f == field),
            "BadRequest fields {fields:?} should include {field}"
        );
    }
    status
}

fn good() -> proto::Series {
    annual("s", 2018, &[1.0, 2.0, 4.0, 5.0])
}

#[tokio::test]
async fn series_problems_name_the_observation() {
    let server = server();
    let mut empty = good();
    empty.observations.clear();
    expect(
        &server,
        forecast("naive", empty, 2),
        Code::InvalidArgument,
        "series.observations",
    )
    .await;

    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let mut series = good();
        series.observations[2].value = bad;
        expect(
            &server,
            forecast("naive", series, 2),
            Code::InvalidArgument,
            "series.observations[2].value",
        )
        .await;
    }

    let mut wrong_format = good();
    wrong_format.observations[1].period = "2019-Q1".into();
    let status = expect(
        &server,
        forecast("naive", wrong_format, 2),
        Code::InvalidArgument,
        "series.observations[1].period",
    )
    .await;
    assert!(status.message().contains("ANNUAL"), "{}", status.message());

    let mut gap = good();
    gap.observations[3].period = "2023".into();
    expect(
        &server,
        forecast("naive", gap, 2),
        Code::InvalidArgument,
        "series.observations[3].period",
    )
    .await;

    let mut repeat = good();
    repeat.observations[2].period = "2019".into();
    let status = expect(
        &server,
        forecast("naive", repeat, 2),
        Code::InvalidArgument,
        "series.observations[2].period",
    )
    .await;
    assert!(status.message().contains("repeats"), "{}", status.message());

    let mut no_frequency = good();
    no_frequency.frequency = proto::Frequency::Unspecified as i32;
    expect(
        &server,
        forecast("naive", no_frequency, 2),
        Code::InvalidArgument,
        "series.frequency",
    )
    .await;

    let no_source = proto::ForecastRequest {
        model: model("naive"),
        horizon: 1,
        ..Default::default()
    };
    expect(&server, no_source, Code::InvalidArgument, "series").await;
}

#[tokio::test]
async fn horizon_levels_and_params_are_checked() {
    let server = server();
    expect(
        &server,
        forecast("naive", good(), 0),
        Code::InvalidArgument,
        "horizon",
    )
    .await;
    expect(
        &server,
        forecast("naive", good(), 101),
        Code::ResourceExhausted,
        "horizon",
    )
    .await;

    for level in [0.0, 100.0, -5.0, f64::NAN] {
        let mut request = forecast("naive", good(), 2);
        request.levels = vec![80.0, level];
        expect(&server, request, Code::InvalidArgument, "levels[1]").await;
    }

    let mut unknown = forecast("naive", good(), 2);
    unknown.params.insert("alpha".into(), 0.5);
    let status = expect(&server, unknown, Code::InvalidArgument, "params[alpha]").await;
    assert!(
        status.message().contains("drift"),
        "lists what is accepted: {}",
        status.message()
    );

    let mut out_of_range = forecast("naive", good(), 2);
    out_of_range.params.insert("drift".into(), 2.0);
    expect(
        &server,
        out_of_range,
        Code::InvalidArgument,
        "params[drift]",
    )
    .await;
}

#[tokio::test]
async fn the_horizon_limit_is_configurable() {
    let server = Server::start(ServerOptions {
        plugins: vec![NAIVE],
        args: vec!["--max-horizon=5".into()],
        ..Default::default()
    });
    expect(
        &server,
        forecast("naive", good(), 6),
        Code::ResourceExhausted,
        "horizon",
    )
    .await;
    server
        .client()
        .await
        .forecast(forecast("naive", good(), 5))
        .await
        .unwrap();
}

#[tokio::test]
async fn more_observations_than_the_limit_are_refused() {
    let server = server();
    let values: Vec<f64> = (0..100_001).map(f64::from).collect();
    let mut series = good();
    series.frequency = proto::Frequency::Monthly as i32;
    series.observations = values
        .iter()
        .enumerate()
        .map(|(i, &value)| proto::Observation {
            period: format!("{:04}-{:02}", i / 12, i % 12 + 1),
            value,
        })
        .collect();
    expect(
        &server,
        forecast("naive", series, 1),
        Code::ResourceExhausted,
        "series.observations",
    )
    .await;
}

#[tokio::test]
async fn unknown_model_version_and_dataset_are_not_found() {
    let server = server();
    let status = expect(
        &server,
        forecast("prophet", good(), 1),
        Code::NotFound,
        "model.name",
    )
    .await;
    assert!(
        status.message().contains("naive"),
        "lists loaded models: {}",
        status.message()
    );

    let mut request = forecast("naive", good(), 1);
    request.model = Some(proto::ModelRef {
        name: "naive".into(),
        version: "9.9.9".into(),
    });
    expect(&server, request, Code::NotFound, "model.version").await;

    expect(
        &server,
        forecast_dataset("naive", "mars-cloud", 1),
        Code::NotFound,
        "dataset",
    )
    .await;
    expect(
        &server,
        forecast("", good(), 1),
        Code::InvalidArgument,
        "model.name",
    )
    .await;
}

#[tokio::test]
async fn a_model_of_the_wrong_kind_is_a_failed_precondition() {
    let server = server();
    expect(
        &server,
        forecast("rogue", good(), 1),
        Code::FailedPrecondition,
        "model.name",
    )
    .await;

    let client = server.client().await;
    let request = proto::RiskRequest {
        model: model("naive"),
        ..Default::default()
    };
    let status = client.score_risk(request).await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(
        status.message().contains("forecast model"),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn risk_indicators_are_checked_against_the_models_inputs() {
    let server = server();
    let client = server.client().await;
    let mut request = proto::RiskRequest {
        model: model("rogue"),
        ..Default::default()
    };
    request.indicators.insert("x".into(), 150.0);
    request.indicators.insert("y".into(), 1.0);
    let status = client.score_risk(request).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let fields = violated_fields(&status);
    assert_eq!(fields, ["indicators[x]", "indicators[y]"]);
}

#[tokio::test]
async fn a_model_that_cannot_take_a_valid_series_says_what_it_needs() {
    let server = server();
    let status = expect(
        &server,
        forecast("naive", annual("s", 2020, &[1.0, 2.0]), 1),
        Code::InvalidArgument,
        "series.observations",
    )
    .await;
    assert!(
        status.message().contains("at least 3"),
        "{}",
        status.message()
    );
}
