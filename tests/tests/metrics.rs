//! Prometheus metrics (`--metrics-listen`): a scrape of `/metrics` is the
//! OpenMetrics text format, and its counters move with real calls.

use futures::StreamExt;
use std::collections::HashMap;

use stratus_client::proto;
use stratus_e2e::fixtures::{annual, forecast, forecast_dataset};
use stratus_e2e::{FAULTY, NAIVE, Server, ServerOptions, free_port};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A free loopback port (bound, then released for the server to take).
/// GETs /metrics; its samples as "name{labels}" → value.
async fn scrape(port: u16) -> (String, HashMap<String, f64>) {
    let mut socket = None;
    for _ in 0..100 {
        if let Ok(s) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
            socket = Some(s);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let mut socket = socket.expect("the metrics endpoint listens");
    socket
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: stratus\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    socket.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_lowercase().contains("application/openmetrics-text"),
        "{head}"
    );
    let samples = body
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let (name, value) = l.rsplit_once(' ')?;
            Some((name.to_owned(), value.parse().ok()?))
        })
        .collect();
    (body.to_owned(), samples)
}

fn value(samples: &HashMap<String, f64>, key: &str) -> f64 {
    samples.get(key).copied().unwrap_or(0.0)
}

#[tokio::test]
async fn counters_move_with_real_calls() {
    let port = free_port();
    let server = Server::start(ServerOptions {
        plugins: vec![NAIVE, FAULTY],
        args: vec![format!("--metrics-listen=127.0.0.1:{port}")],
        ..Default::default()
    });
    let client = server.client().await;
    let (text, before) = scrape(port).await;
    assert!(text.ends_with("# EOF\n"), "OpenMetrics ends with # EOF");
    assert_eq!(value(&before, "stratus_models_loaded"), 2.0);
    assert_eq!(
        value(&before, "stratus_plugin_loads_total{result=\"loaded\"}"),
        2.0
    );
    assert!(value(&before, "process_resident_memory_bytes") > 1e6);
    assert!(value(&before, "process_open_fds") > 3.0);
    assert!(value(&before, "stratus_model_pool_threads") >= 1.0);
    assert!(
        before
            .keys()
            .any(|k| k.starts_with("stratus_build_info{version=")),
        "{text}"
    );

    for _ in 0..3 {
        client
            .forecast(forecast_dataset("naive", "china-cloud-infra-annual", 2))
            .await
            .unwrap();
    }
    // A bad request, and one naming a model that does not exist (its name
    // must not become a label).
    let mut bad = forecast("naive", annual("s", 2020, &[1.0, 2.0]), 0);
    bad.horizon = 0;
    client.forecast(bad).await.unwrap_err();
    client
        .forecast(forecast("no-such-model-7f3a", annual("s", 2020, &[1.0]), 1))
        .await
        .unwrap_err();
    // A model that panics: a plugin failure of kind "panic".
    let mut panics = forecast("faulty", annual("s", 2020, &[1.0, 2.0]), 1);
    panics.params.insert("panic".into(), 1.0);
    client.forecast(panics).await.unwrap_err();
    let (text, after) = scrape(port).await;
    let panicked = "stratus_plugin_failures_total{model=\"faulty\",version=\"0.1.0-build.AAAAAAAA\",kind=\"panic\"}";
    assert_eq!(value(&after, panicked), 1.0, "{text}");

    let ok =
        "stratus_requests_total{rpc=\"Forecast\",model=\"naive\",version=\"1.0.0\",code=\"OK\"}";
    assert_eq!(value(&after, ok) - value(&before, ok), 3.0, "{text}");
    let invalid = "stratus_requests_total{rpc=\"Forecast\",model=\"naive\",version=\"\",code=\"INVALID_ARGUMENT\"}";
    assert_eq!(value(&after, invalid), 1.0, "{text}");
    let not_found =
        "stratus_requests_total{rpc=\"Forecast\",model=\"\",version=\"\",code=\"NOT_FOUND\"}";
    assert_eq!(value(&after, not_found), 1.0, "{text}");
    assert!(
        !text.contains("no-such-model"),
        "a caller's name became a label"
    );
    let count = "stratus_request_duration_seconds_count{rpc=\"Forecast\",model=\"naive\"}";
    assert_eq!(value(&after, count), 4.0, "{text}");
    assert_eq!(value(&after, "stratus_inflight_requests"), 0.0);

    // A stream counts once, when it ends.
    let requests: Vec<proto::ForecastRequest> = (0..5)
        .map(|_| forecast_dataset("naive", "china-cloud-infra-annual", 2))
        .collect();
    let mut answers = client
        .forecast_stream(futures::stream::iter(requests))
        .await
        .unwrap();
    while answers.next().await.transpose().unwrap().is_some() {}
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let (text, after) = scrape(port).await;
    let stream =
        "stratus_requests_total{rpc=\"ForecastStream\",model=\"\",version=\"\",code=\"OK\"}";
    assert_eq!(value(&after, stream), 1.0, "{text}");
}
