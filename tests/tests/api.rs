//! The API as a caller sees it: health, reflection, models, datasets, and
//! forecasts checked against hand computations.

use futures::StreamExt;
use stratus_client::proto;
use stratus_e2e::fixtures::{annual, forecast, forecast_dataset};
use stratus_e2e::{NAIVE, Server, ServerOptions};
use tonic_health::pb::health_check_response::ServingStatus;

#[tokio::test]
async fn health_is_serving_for_the_server_and_each_service() {
    let server = Server::with_naive();
    let client = server.client().await;
    assert_eq!(client.health("").await.unwrap(), ServingStatus::Serving);
    assert_eq!(
        client.health("stratus.v1.ForecastService").await.unwrap(),
        ServingStatus::Serving
    );
}

#[tokio::test]
async fn reflection_lists_every_service() {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let server = Server::with_naive();
    let channel = tonic::transport::Endpoint::from_shared(server.url.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = ServerReflectionClient::new(channel);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let Some(Ok(response)) = responses.next().await else {
        panic!("no reflection answer")
    };
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("unexpected reflection answer")
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for expected in [
        "stratus.v1.ForecastService",
        "stratus.v1.RiskService",
        "stratus.v1.ModelService",
        "stratus.v1.DatasetService",
        "grpc.health.v1.Health",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }
}

#[tokio::test]
async fn list_and_get_model_describe_the_loaded_library() {
    let server = Server::with_naive();
    let client = server.client().await;
    let models = client.list_models().await.unwrap();
    assert_eq!(models.len(), 1);
    let naive = &models[0];
    assert_eq!(naive.name, "naive");
    assert_eq!(naive.kind, proto::ModelKind::Forecast as i32);
    assert_eq!(naive.state, proto::ModelState::Ready as i32);
    assert_eq!(naive.abi_version, "1.0");
    assert!(naive.library_path.ends_with(NAIVE));
    assert!(naive.loaded_at.is_some());
    let bytes = std::fs::read(server.plugin_dir.path().join(NAIVE)).unwrap();
    assert_eq!(naive.sha256.len(), 64);
    assert_eq!(naive.sha256, sha256_hex(&bytes));
    assert!(
        naive
            .params
            .iter()
            .any(|p| p.name == "drift" && p.default_value == 1.0)
    );

    let got = client.get_model("naive", &naive.version).await.unwrap();
    assert_eq!(got.sha256, naive.sha256);
}

/// SHA-256 via the system tool, independent of the server's implementation.
fn sha256_hex(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lib");
    std::fs::write(&path, bytes).unwrap();
    let out = std::process::Command::new("sha256sum")
        .arg(&path)
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn naive_forecast_of_the_china_annual_series_matches_a_hand_computation() {
    let server = Server::with_naive();
    let client = server.client().await;
    let response = client
        .forecast(forecast_dataset("naive", "china-cloud-infra-annual", 3))
        .await
        .unwrap();

    // History 2019–2024: 11.5, 19, 27.4, 30.3, 35.4, 40.
    // Drift c = (40 − 11.5) / 5 = 5.7; residuals of the steps around c:
    // 1.8, 2.7, −2.8, −0.6, −1.1 → σ² = Σe² / (T − 2) = 19.94 / 4 = 4.985.
    let drift = 5.7;
    let sigma = (19.94f64 / 4.0).sqrt();
    let periods: Vec<&str> = response.points.iter().map(|p| p.period.as_str()).collect();
    assert_eq!(periods, ["2025", "2026", "2027"]);
    for (h, point) in response.points.iter().enumerate() {
        let h = (h + 1) as f64;
        let mean = 40.0 + h * drift;
        assert!(
            (point.mean - mean).abs() < 1e-9,
            "mean at h={h}: {}",
            point.mean
        );
        let se = sigma * (h * (1.0 + h / 5.0)).sqrt();
        let levels: Vec<f64> = point.intervals.iter().map(|i| i.level).collect();
        assert_eq!(levels, [80.0, 95.0], "default levels");
        let i95 = &point.intervals[1];
        assert!((i95.upper - (mean + 1.959_964 * se)).abs() < 1e-4);
        assert!((i95.lower - (mean - 1.959_964 * se)).abs() < 1e-4);
        let i80 = &point.intervals[0];
        assert!((i80.upper - (mean + 1.281_552 * se)).abs() < 1e-4);
    }
    assert!((response.points[0].growth - (45.7 / 40.0 - 1.0) * 100.0).abs() < 1e-9);
    let model = response.model.unwrap();
    assert_eq!(
        (model.name.as_str(), model.version.as_str()),
        ("naive", "1.0.0")
    );
    assert_eq!(
        model.sha256.len(),
        64,
        "every response names the library hash"
    );
    assert_eq!(response.series_name, "china-cloud-infra-annual");
}

#[tokio::test]
async fn quarterly_forecast_is_seasonal_naive() {
    let server = Server::with_naive();
    let client = server.client().await;
    let response = client
        .forecast(forecast_dataset("naive", "china-cloud-infra-quarterly", 5))
        .await
        .unwrap();
    let points: Vec<(&str, f64)> = response
        .points
        .iter()
        .map(|p| (p.period.as_str(), p.mean))
        .collect();
    // The last four quarters are 2024-Q2..2025-Q1: 9.4, 10.2, 11.2, 11.6.
    assert_eq!(
        points,
        [
            ("2025-Q2", 9.4),
            ("2025-Q3", 10.2),
            ("2025-Q4", 11.2),
            ("2026-Q1", 11.6),
            ("2026-Q2", 9.4)
        ]
    );
}

#[tokio::test]
async fn forecast_stream_answers_each_series_in_order_with_its_request_id() {
    let server = Server::with_naive();
    let client = server.client().await;
    let requests: Vec<proto::ForecastRequest> = (0..20)
        .map(|i| {
            let base = f64::from(i);
            let mut request = forecast(
                "naive",
                annual(
                    &format!("s{i}"),
                    2010,
                    &[base, base + 1.0, base + 3.0, base + 6.0],
                ),
                2,
            );
            request.request_id = format!("req-{i}");
            request
        })
        .collect();
    let mut responses = client
        .forecast_stream(tokio_stream::iter(requests))
        .await
        .unwrap();
    let mut seen = Vec::new();
    while let Some(response) = responses.next().await {
        let response = response.unwrap();
        let i: f64 = response
            .request_id
            .trim_start_matches("req-")
            .parse()
            .unwrap();
        // Drift (6 − 0) / 3 = 2 from a last value of base + 6.
        assert_eq!(response.points[0].mean, i + 8.0);
        assert_eq!(response.series_name, format!("s{i}"));
        seen.push(response.request_id);
    }
    let expected: Vec<String> = (0..20).map(|i| format!("req-{i}")).collect();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn a_bad_request_in_a_stream_ends_it_with_a_status_naming_the_request() {
    let server = Server::with_naive();
    let client = server.client().await;
    let mut good = forecast("naive", annual("a", 2000, &[1.0, 2.0, 3.0]), 1);
    good.request_id = "good".into();
    let mut bad = forecast("naive", annual("b", 2000, &[1.0, 2.0, 3.0]), 0);
    bad.request_id = "bad".into();
    let mut responses = client
        .forecast_stream(tokio_stream::iter([good, bad]))
        .await
        .unwrap();
    assert_eq!(responses.next().await.unwrap().unwrap().request_id, "good");
    let status = responses.next().await.unwrap().unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(
        status.message().contains("request_id 'bad'") && status.message().contains("horizon"),
        "{}",
        status.message()
    );
    // The details (a google.rpc.Status) carry the same message, as standard
    // clients (grpcio-status) require, and still the field violation.
    let details = <tonic_types::Status as prost::Message>::decode(status.details()).unwrap();
    assert_eq!(details.message, status.message());
    assert_eq!(stratus_e2e::fixtures::violated_fields(&status), ["horizon"]);
}

#[tokio::test]
async fn datasets_are_listed_and_served_in_full() {
    let server = Server::with_naive();
    let client = server.client().await;
    let datasets = client.list_datasets().await.unwrap();
    let names: Vec<&str> = datasets.iter().map(|d| d.name.as_str()).collect();
    assert!(
        names.contains(&"china-cloud-infra-annual")
            && names.contains(&"china-cloud-infra-quarterly")
    );
    assert!(
        datasets
            .iter()
            .all(|d| d.series.as_ref().unwrap().observations.is_empty()),
        "list is a summary"
    );
    let annual = client
        .get_dataset("china-cloud-infra-annual")
        .await
        .unwrap();
    let values: Vec<f64> = annual
        .series
        .unwrap()
        .observations
        .iter()
        .map(|o| o.value)
        .collect();
    assert_eq!(values, [11.5, 19.0, 27.4, 30.3, 35.4, 40.0]);
    assert!(annual.source.contains("Canalys"));
}

#[tokio::test]
async fn data_dir_datasets_are_served_beside_the_builtin_ones() {
    let data = tempfile::tempdir().unwrap();
    std::fs::write(
        data.path().join("widgets.csv"),
        "# unit: units\nperiod,value\n2024-01,10\n2024-02,12\n2024-03,13\n",
    )
    .unwrap();
    let server = Server::start(ServerOptions {
        plugins: vec![NAIVE],
        args: vec!["--data-dir".into(), data.path().display().to_string()],
        ..Default::default()
    });
    let client = server.client().await;
    let response = client
        .forecast(forecast_dataset("naive", "widgets", 1))
        .await
        .unwrap();
    assert_eq!(response.points[0].period, "2024-04");
    assert_eq!(response.points[0].mean, 14.5);
}

#[tokio::test]
async fn reload_picks_up_a_library_added_while_serving() {
    let server = Server::start(ServerOptions {
        args: vec!["--no-watch".into(), "--allow-unauthenticated-admin".into()],
        ..Default::default()
    });
    let client = server.client().await;
    assert!(client.list_models().await.unwrap().is_empty());
    std::fs::copy(
        stratus_e2e::target_dir().join(NAIVE),
        server.plugin_dir.path().join(NAIVE),
    )
    .unwrap();
    let models = client.reload_models(None).await.unwrap();
    assert_eq!(
        models.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(),
        ["naive"]
    );
    client
        .forecast(forecast_dataset("naive", "china-cloud-infra-annual", 1))
        .await
        .unwrap();
}

#[tokio::test]
async fn sigterm_lets_an_in_flight_call_finish_then_exits_cleanly() {
    let server = Server::start(ServerOptions {
        plugins: vec![stratus_e2e::FAULTY],
        ..Default::default()
    });
    let client = server.client().await;
    let mut slow = forecast_dataset("faulty", "china-cloud-infra-annual", 1);
    slow.params = [("panic".to_owned(), 0.0), ("sleep_ms".to_owned(), 1500.0)].into();
    let call = tokio::spawn(async move { client.forecast(slow).await });
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let (status, log) = tokio::task::spawn_blocking(move || server.terminate())
        .await
        .unwrap();
    let response = call.await.unwrap().expect("the in-flight call completes");
    assert_eq!(response.points[0].mean, 40.0);
    assert!(status.success(), "server exit: {status:?}\n{log}");
    assert!(log.contains("shutting down"), "{log}");
}
