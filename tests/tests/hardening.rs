//! Attacks a network caller can make with single requests, tried as an
//! attacker would: each must end in a clear status naming the field and the
//! flag, while health answers and the server's memory stays bounded.

use std::time::Duration;

use stratus_client::proto;
use stratus_e2e::fixtures::{annual, forecast, forecast_dataset, violated_fields};
use stratus_e2e::{CANALYS, FAULTY, MCKINSEY, NAIVE, Server, ServerOptions, raw_h2};
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_types::StatusExt;

/// Peak resident memory a server may reach in these tests, in MiB.
const RSS_BOUND_MIB: f64 = 128.0;

async fn assert_healthy(server: &Server) {
    let client = server.client().await;
    assert_eq!(client.health("").await.unwrap(), ServingStatus::Serving);
    let peak = server.peak_rss_mib();
    assert!(peak < RSS_BOUND_MIB, "peak RSS {peak:.1} MiB");
}

#[tokio::test]
async fn a_hundred_thousand_levels_are_refused_before_any_work() {
    let server = Server::with_naive();
    let client = server.client().await;
    let mut request = forecast_dataset("naive", "china-cloud-infra-annual", 100);
    request.levels = (0..100_000).map(|i| 1.0 + f64::from(i) * 0.0009).collect();
    let status = client.forecast(request).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert!(
        status.message().starts_with("levels:"),
        "{}",
        status.message()
    );
    assert!(
        status.message().contains("--max-levels"),
        "{}",
        status.message()
    );
    assert_healthy(&server).await;
}

#[tokio::test]
async fn the_answer_size_is_bounded_even_when_more_levels_are_allowed() {
    let server = Server::start(ServerOptions {
        plugins: vec![NAIVE],
        args: vec!["--max-levels=50".into()],
        ..Default::default()
    });
    let client = server.client().await;
    let mut request = forecast_dataset("naive", "china-cloud-infra-annual", 100);
    request.levels = (1..=11).map(|i| f64::from(i) * 8.0).collect();
    let status = client.forecast(request.clone()).await.unwrap_err();
    assert_eq!(
        status.code(),
        Code::ResourceExhausted,
        "{}",
        status.message()
    );
    assert!(
        status.message().contains("--max-answer-intervals"),
        "{}",
        status.message()
    );
    request.horizon = 90;
    let answer = client.forecast(request).await.unwrap();
    assert_eq!(answer.points.len(), 90);
    assert_eq!(answer.points[0].intervals.len(), 11);
}

#[tokio::test]
async fn maps_and_strings_are_bounded_and_never_echoed_whole() {
    let server = Server::start(ServerOptions {
        plugins: vec![NAIVE],
        ..Default::default()
    });
    let client = server.client().await;
    let mut request = forecast_dataset("naive", "china-cloud-infra-annual", 2);
    request.params = (0..5_000).map(|i| (format!("p{i}"), 1.0)).collect();
    let status = client.forecast(request).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert!(
        status.message().contains("--max-params"),
        "{}",
        status.message()
    );

    let huge = "x".repeat(100_000);
    let mut request = forecast_dataset("naive", "china-cloud-infra-annual", 2);
    request.request_id = huge.clone();
    let status = client.forecast(request).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert!(
        status.message().starts_with("request_id:"),
        "{}",
        status.message()
    );
    assert!(status.message().contains("--max-string-bytes"));
    assert!(status.message().len() < 300, "the string is not echoed");

    let mut series = annual("s", 2000, &[1.0, 2.0, 3.0]);
    series.observations[1].period = huge;
    let status = client
        .forecast(forecast("naive", series, 2))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert!(
        status
            .message()
            .starts_with("series.observations[1].period:"),
        "{}",
        status.message()
    );

    let mut risk = proto::RiskRequest {
        model: stratus_e2e::fixtures::model("bubble"),
        ..Default::default()
    };
    risk.indicators = (0..1_000).map(|i| (format!("i{i}"), 1.0)).collect();
    let status = client.score_risk(risk).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert!(
        status.message().contains("--max-indicators"),
        "{}",
        status.message()
    );
    assert_healthy(&server).await;
}

#[tokio::test]
async fn a_flood_of_field_violations_is_listed_briefly() {
    let server = Server::with_naive();
    let client = server.client().await;
    let values: Vec<f64> = vec![f64::NAN; 50_000];
    let mut series = annual("bad", 1000, &values);
    for (i, o) in series.observations.iter_mut().enumerate() {
        o.period = format!("bad{i}");
    }
    let mut request = forecast("naive", series, 0);
    request.levels = vec![-1.0; 10];
    let status = client.forecast(request).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let fields = violated_fields(&status);
    assert!(fields.len() <= 21, "{} violations listed", fields.len());
    let details = status.get_error_details();
    let last = details
        .bad_request()
        .unwrap()
        .field_violations
        .last()
        .unwrap();
    assert!(
        last.description.contains("--max-violations"),
        "{}",
        last.description
    );
    assert!(status.message().len() < 2_000);
}

#[tokio::test]
async fn extreme_values_are_refused_by_field_and_never_count_against_a_model() {
    let server = Server::start(ServerOptions {
        plugins: vec![NAIVE, CANALYS, MCKINSEY],
        ..Default::default()
    });
    let client = server.client().await;
    for model in ["naive", "canalys", "mckinsey"] {
        let series = annual("huge", 2000, &[1.0, 2.0, 1e180, 4.0, 5.0, 6.0]);
        let status = client
            .forecast(forecast(model, series, 3))
            .await
            .unwrap_err();
        assert_eq!(
            status.code(),
            Code::InvalidArgument,
            "{model}: {}",
            status.message()
        );
        assert_eq!(violated_fields(&status), ["series.observations[2].value"]);
        assert!(status.message().contains("1e100"), "{}", status.message());

        let mut request = forecast_dataset(model, "china-cloud-infra-annual", 3);
        request.levels = vec![99.999_999_999_999_99];
        let status = client.forecast(request).await.unwrap_err();
        assert_eq!(
            status.code(),
            Code::InvalidArgument,
            "{model}: {}",
            status.message()
        );
        assert_eq!(violated_fields(&status), ["levels[0]"]);

        // At the bounds, every model answers finite numbers (or refuses the
        // series as unsuitable), and no failure is counted against it.
        let shapes: [&[f64]; 4] = [
            &[1e100, 9e99, 1e100, 8e99, 1e100, 9.5e99, 1e100],
            &[1e-100, 1e100, 1e-100, 1e100, 1e-100, 1e100],
            &[-1e100, 1e100, -1e100, 1e100, -1e100, 1e100],
            &[1.0, 1e100, 1e100, 1e100, 1e100, 1e100],
        ];
        for values in shapes {
            let mut request = forecast(model, annual("edge", 2000, values), 100);
            request.levels = vec![0.0001, 50.0, 99.9999];
            match client.forecast(request).await {
                Ok(answer) => {
                    for p in &answer.points {
                        assert!(p.mean.is_finite(), "{model} {values:?}");
                        for i in &p.intervals {
                            assert!(
                                i.lower.is_finite() && i.upper.is_finite(),
                                "{model} {values:?}"
                            );
                        }
                    }
                }
                Err(status) => assert_eq!(
                    status.code(),
                    Code::InvalidArgument,
                    "{model} {values:?}: {}",
                    status.message()
                ),
            }
        }
        let info = client.get_model(model, "").await.unwrap();
        assert_eq!(info.last_error, "", "{model}");
    }
    assert_healthy(&server).await;
}

/// Forecast request for the faulty fixture that stalls `sleep_ms`.
fn stall(sleep_ms: f64) -> proto::ForecastRequest {
    let mut request = forecast_dataset("faulty", "china-cloud-infra-annual", 1);
    request.params.insert("sleep_ms".into(), sleep_ms);
    request
}

/// Sends `request` with only a `grpc-timeout` header (no client-side timer),
/// so the status seen is the server's.
async fn with_deadline(
    server: &Server,
    request: proto::ForecastRequest,
    timeout: &str,
) -> Result<proto::ForecastResponse, tonic::Status> {
    let mut request = tonic::Request::new(request);
    request
        .metadata_mut()
        .insert("grpc-timeout", timeout.parse().unwrap());
    let channel = server.client().await.channel();
    let mut raw = proto::forecast_service_client::ForecastServiceClient::new(channel);
    raw.forecast(request).await.map(tonic::Response::into_inner)
}

fn calls_run(log: &std::path::Path) -> usize {
    std::fs::read_to_string(log).map_or(0, |text| text.lines().count())
}

#[tokio::test]
async fn calls_whose_deadline_passed_in_the_queue_are_never_run() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls");
    let server = Server::start(ServerOptions {
        plugins: vec![FAULTY],
        args: vec!["--model-threads=1".into()],
        env: vec![("STRATUS_FAULTY_CALLS", log.display().to_string())],
        ..Default::default()
    });
    let client = server.client().await;
    let after_smoke = calls_run(&log);
    let busy = tokio::spawn(async move { client.forecast(stall(1_500.0)).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut abandoned = Vec::new();
    for _ in 0..10 {
        abandoned.push(with_deadline(&server, stall(0.0), "100m"));
    }
    for status in futures::future::join_all(abandoned).await {
        assert_eq!(status.unwrap_err().code(), Code::DeadlineExceeded);
    }
    busy.await.unwrap().unwrap();
    // Only the long call ran; the ten queued behind it were dropped unrun.
    assert_eq!(calls_run(&log) - after_smoke, 1);
    server.client().await.forecast(stall(0.0)).await.unwrap();
    assert_eq!(calls_run(&log) - after_smoke, 2);
}

#[tokio::test]
async fn a_full_model_queue_refuses_with_retry_info_while_health_answers() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls");
    let server = Server::start(ServerOptions {
        plugins: vec![FAULTY],
        args: vec![
            "--model-threads=1".into(),
            "--max-queued-calls=2".into(),
            "--max-stall-threads=0".into(),
        ],
        env: vec![("STRATUS_FAULTY_CALLS", log.display().to_string())],
        ..Default::default()
    });
    let client = server.client().await;
    let after_smoke = calls_run(&log);
    let running = client.clone();
    // Long enough that the seven below all arrive while it runs.
    let running = tokio::spawn(async move { running.forecast(stall(3_000.0)).await });
    // Wait until it runs on the only model thread (the queue is empty).
    let until = std::time::Instant::now() + Duration::from_secs(20);
    while calls_run(&log) == after_smoke {
        assert!(
            std::time::Instant::now() < until,
            "the first call never ran"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut calls = Vec::new();
    for _ in 0..7 {
        let client = client.clone();
        calls.push(tokio::spawn(
            async move { client.forecast(stall(800.0)).await },
        ));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(client.health("").await.unwrap(), ServingStatus::Serving);
    let mut refused = 0;
    for call in calls {
        match call.await.unwrap() {
            Ok(_) => {}
            Err(status) => {
                assert_eq!(
                    status.code(),
                    Code::ResourceExhausted,
                    "{}",
                    status.message()
                );
                assert!(
                    status.message().contains("--max-queued-calls"),
                    "{}",
                    status.message()
                );
                let retry = status.get_error_details().retry_info().cloned();
                assert!(retry.and_then(|r| r.retry_delay).is_some(), "RetryInfo");
                refused += 1;
            }
        }
    }
    running.await.unwrap().unwrap();
    // One running and two queued are served; the rest are refused.
    assert_eq!(refused, 5);
    assert_healthy(&server).await;
}

#[tokio::test]
async fn a_message_trickled_slowly_is_cut_off_and_health_answers() {
    let server = Server::start(ServerOptions {
        plugins: vec![NAIVE],
        args: vec!["--message-read-timeout-ms=500".into()],
        ..Default::default()
    });
    let (_client, response, mut stream) = raw_h2::forecast_call(&server).await;
    // A header announcing 1,000 bytes, then ten, then nothing.
    let mut start = raw_h2::message_header(1_000);
    start.extend_from_slice(&[0; 10]);
    stream.send_data(start.into(), false).unwrap();
    let (code, message) = tokio::time::timeout(Duration::from_secs(10), raw_h2::status(response))
        .await
        .expect("the server answers the slow sender")
        .expect("a grpc-status");
    assert_eq!(code, Code::DeadlineExceeded as i32, "{message}");
    assert!(message.contains("message-read-timeout-ms"), "{message}");
    assert_healthy(&server).await;
}

#[tokio::test]
async fn oversized_and_numerous_large_messages_are_refused_before_they_are_buffered() {
    let server = Server::with_naive();
    let client = server.client().await;
    // 3 MiB of empty observations: above the 2 MiB message limit.
    let mut series = annual("big", 2000, &[]);
    series.observations = vec![proto::Observation::default(); 1_500_000];
    let status = client
        .forecast(forecast("naive", series.clone(), 1))
        .await
        .unwrap_err();
    assert_eq!(
        status.code(),
        Code::ResourceExhausted,
        "{}",
        status.message()
    );
    assert!(
        status.message().contains("--max-message-bytes"),
        "{}",
        status.message()
    );

    // Sixteen at once, each just under the limit (1.9 MiB of 2-byte
    // observations, which decode to 32 bytes each), on a server that would
    // accept that many observations: the memory budget admits one or two at
    // a time and refuses the rest, before buffering them, with a retry delay.
    drop(client);
    drop(server);
    let server = Server::start(ServerOptions {
        plugins: vec![NAIVE],
        args: vec!["--max-observations=2000000".into()],
        ..Default::default()
    });
    series.observations.truncate(990_000);
    let mut calls = Vec::new();
    for _ in 0..16 {
        let client = server.client().await;
        let request = forecast("naive", series.clone(), 1);
        calls.push(tokio::spawn(async move { client.forecast(request).await }));
    }
    let mut budget_refusals = 0;
    for call in calls {
        let status = call.await.unwrap().unwrap_err();
        if status.code() == Code::ResourceExhausted {
            assert!(
                status.message().contains("--request-memory-mib"),
                "{}",
                status.message()
            );
            assert!(
                status.get_error_details().retry_info().is_some(),
                "RetryInfo"
            );
            budget_refusals += 1;
        } else {
            // Admitted, decoded, then refused: empty periods are invalid.
            assert_eq!(status.code(), Code::InvalidArgument, "{}", status.message());
        }
    }
    assert!(budget_refusals > 0, "the memory budget refused some");
    assert_healthy(&server).await;
}

#[tokio::test]
async fn a_unary_call_that_never_ends_its_request_is_cut_off() {
    let server = Server::start(ServerOptions {
        plugins: vec![NAIVE],
        args: vec!["--message-read-timeout-ms=500".into()],
        ..Default::default()
    });
    let (_client, response, mut stream) = raw_h2::forecast_call(&server).await;
    // A whole message, but the stream is never ended: without a limit the
    // call would hold its charge of the memory budget for ever.
    let request = forecast_dataset("naive", "china-cloud-infra-annual", 1);
    let body = raw_h2::framed(&prost::Message::encode_to_vec(&request));
    stream.send_data(body, false).unwrap();
    let (code, message) = tokio::time::timeout(Duration::from_secs(10), raw_h2::status(response))
        .await
        .expect("the server answers")
        .expect("a grpc-status");
    assert_eq!(code, Code::DeadlineExceeded as i32, "{message}");
    assert_healthy(&server).await;
}

#[tokio::test]
async fn connections_that_send_nothing_are_closed_and_the_cap_holds() {
    use tokio::io::AsyncReadExt;
    let server = Server::start(ServerOptions {
        plugins: vec![NAIVE],
        args: vec![
            "--header-read-timeout-ms=300".into(),
            "--max-connections=3".into(),
        ],
        ..Default::default()
    });
    let addr = server.url.trim_start_matches("http://").to_owned();
    let mut silent = Vec::new();
    for _ in 0..3 {
        silent.push(tokio::net::TcpStream::connect(&addr).await.unwrap());
    }
    // The server's own SETTINGS may arrive first; then the end.
    /// Bytes the server sent before closing, or `None` if it did not close
    /// within 5 s. An admitted connection gets the server's HTTP/2 SETTINGS
    /// first; one refused at the cap gets nothing.
    async fn sent_before_close(mut connection: tokio::net::TcpStream) -> Option<usize> {
        let mut sink = Vec::new();
        let read = connection.read_to_end(&mut sink);
        match tokio::time::timeout(Duration::from_secs(5), read).await {
            Ok(_) => Some(sink.len()),
            Err(_) => None,
        }
    }
    async fn closed_by_server(connection: tokio::net::TcpStream) -> bool {
        sent_before_close(connection).await.is_some()
    }
    // At the cap: one more connection is closed at once, unanswered.
    let extra = tokio::net::TcpStream::connect(&addr).await.unwrap();
    assert_eq!(
        sent_before_close(extra).await,
        Some(0),
        "a connection over the cap is closed before HTTP/2 starts"
    );
    // The silent ones are closed after the header-read timeout, which frees
    // their slots for real clients.
    for connection in silent {
        assert!(closed_by_server(connection).await, "a silent connection");
    }
    assert_healthy(&server).await;
}

#[tokio::test]
async fn streams_per_connection_are_capped() {
    let server = Server::start(ServerOptions {
        plugins: vec![FAULTY],
        args: vec![
            "--max-streams-per-connection=2".into(),
            "--model-threads=8".into(),
        ],
        ..Default::default()
    });
    let client = server.client().await;
    // One call first, so the client has the server's SETTINGS (and its
    // stream limit) before the burst; a client that sends more streams than
    // the limit anyway gets them refused (REFUSED_STREAM).
    client.forecast(stall(0.0)).await.unwrap();
    let started = std::time::Instant::now();
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.forecast(stall(400.0)).await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    // Eight 400 ms calls on one connection, two at a time: four rounds. (A
    // lower bound: a slow machine only makes this longer.)
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(1_500), "{took:?}");
}

/// Waits up to `limit` for the server to exit; returns how long it took.
fn exits_within(server: &mut Server, limit: Duration) -> Option<Duration> {
    let started = std::time::Instant::now();
    while started.elapsed() < limit {
        if !server.is_running() {
            return Some(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

#[tokio::test]
async fn a_drain_that_outlasts_its_deadline_ends_and_a_second_signal_exits_at_once() {
    for (args, signals) in [
        (vec!["--drain-timeout=1".to_owned()], 1),
        (vec!["--drain-timeout=60".to_owned()], 2),
    ] {
        let mut server = Server::start(ServerOptions {
            plugins: vec![FAULTY],
            args,
            ..Default::default()
        });
        let client = server.client().await;
        let stuck = tokio::spawn(async move { client.forecast(stall(20_000.0)).await });
        tokio::time::sleep(Duration::from_millis(300)).await;
        for _ in 0..signals {
            server.signal("TERM");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let took = exits_within(&mut server, Duration::from_secs(10));
        assert!(
            took.is_some(),
            "the server exits long before the 20 s call ends ({signals} signal(s))"
        );
        stuck.abort();
    }
}
