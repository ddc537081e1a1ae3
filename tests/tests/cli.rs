//! The `stratus` CLI against a real server: tables, JSON, and errors.

use std::process::Command;

use stratus_e2e::cli::{stratus, text};
use stratus_e2e::{Server, binary};

#[test]
fn forecast_prints_three_years_with_both_intervals() {
    let server = Server::with_naive();
    let out = stratus(
        &server,
        &[
            "forecast",
            "--model",
            "naive",
            "--dataset",
            "china-cloud-infra-annual",
            "--horizon",
            "3",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for expected in [
        "80% LOW", "95% HIGH", "2025", "45.70", "2026", "51.40", "2027", "57.10", "+14.3",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected} in:\n{stdout}"
        );
    }
}

#[test]
fn forecast_json_is_proto3_json() {
    let server = Server::with_naive();
    let out = stratus(
        &server,
        &[
            "forecast",
            "--model",
            "naive",
            "--dataset",
            "china-cloud-infra-annual",
            "--horizon",
            "2",
            "--level",
            "90",
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(json["model"]["kind"], "MODEL_KIND_FORECAST");
    assert_eq!(json["points"][1]["period"], "2026");
    assert_eq!(json["points"][0]["intervals"][0]["level"], 90.0);
    assert_eq!(json["seriesName"], "china-cloud-infra-annual");
}

#[test]
fn forecast_reads_a_csv_file() {
    let server = Server::with_naive();
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("sales.csv");
    std::fs::write(
        &csv,
        "period,value\n2024-Q1,10\n2024-Q2,11\n2024-Q3,12\n2024-Q4,13\n2025-Q1,12\n",
    )
    .unwrap();
    let out = stratus(
        &server,
        &[
            "forecast",
            "--model",
            "naive",
            "--csv",
            csv.to_str().unwrap(),
            "--horizon",
            "1",
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["points"][0]["period"], "2025-Q2");
    assert_eq!(json["points"][0]["mean"], 11.0);
    assert_eq!(json["seriesName"], "sales");
}

#[test]
fn errors_print_the_status_and_exit_non_zero() {
    let server = Server::with_naive();
    let out = stratus(
        &server,
        &[
            "forecast",
            "--model",
            "naive",
            "--dataset",
            "china-cloud-infra-annual",
            "--horizon",
            "0",
            "--param",
            "drift=3",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("error: INVALID_ARGUMENT: "), "{stderr}");
    assert!(
        stderr.contains("horizon") && stderr.contains("params[drift]"),
        "{stderr}"
    );
}

#[test]
fn models_and_datasets_list_as_tables() {
    let server = Server::with_naive();
    let models = text(&stratus(&server, &["models"]).stdout);
    assert!(
        models.contains("naive") && models.contains("ready") && models.contains("drift"),
        "{models}"
    );
    let datasets = text(&stratus(&server, &["datasets"]).stdout);
    assert!(
        datasets.contains("china-cloud-infra-quarterly")
            && datasets.contains("2019-Q3..2025-Q1 (23)"),
        "{datasets}"
    );
}

#[test]
fn an_unreachable_server_is_a_clear_error() {
    let out = Command::new(binary("stratus"))
        .args(["--server", "http://127.0.0.1:9", "models"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("is stratus-server running there?"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn bench_reports_throughput_and_the_health_ratio_without_errors() {
    let server = Server::with_naive();
    let out = stratus(
        &server,
        &[
            "bench",
            "--rpc",
            "forecast",
            "--model",
            "naive",
            "--compare-health",
            "--requests",
            "200",
            "--concurrency",
            "8",
            "--connections",
            "2",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("over 2 connections"), "{stdout}");
    let forecast = stdout
        .lines()
        .find(|l| l.starts_with("forecast"))
        .unwrap_or_else(|| panic!("no forecast line in:\n{stdout}"));
    assert!(forecast.contains("errors 0"), "{forecast}");
    assert!(forecast.contains("p99"), "{forecast}");
    assert!(stdout.contains("% of the health RPC's calls/s"), "{stdout}");
}

#[test]
fn bench_writes_a_grpc_framed_body_that_decodes_as_the_request() {
    use prost::Message;
    let server = Server::with_naive();
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("forecast.bin");
    let out = stratus(
        &server,
        &[
            "bench",
            "--rpc",
            "forecast",
            "--points",
            "12",
            "--write-body",
            file.to_str().expect("utf-8 path"),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let body = std::fs::read(&file).expect("body written");
    assert_eq!(body[0], 0, "uncompressed flag");
    let length = u32::from_be_bytes([body[1], body[2], body[3], body[4]]) as usize;
    assert_eq!(length, body.len() - 5);
    let request = stratus_client::proto::ForecastRequest::decode(&body[5..]).expect("decodes");
    match request.source {
        Some(stratus_client::proto::forecast_request::Source::Series(series)) => {
            assert_eq!(series.observations.len(), 12)
        }
        other => panic!("expected a series, got {other:?}"),
    }
    assert!(text(&out.stdout).contains("/stratus.v1.ForecastService/Forecast"));
}

#[test]
fn completions_are_printed_for_each_shell_without_a_server() {
    for (shell, marker) in [
        ("bash", "_stratus()"),
        ("zsh", "#compdef stratus"),
        ("fish", "complete -c stratus"),
    ] {
        let out = Command::new(binary("stratus"))
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell}: {}", text(&out.stderr));
        let script = text(&out.stdout);
        assert!(script.contains(marker), "{shell}: {script:.200}");
        assert!(
            script.contains("forecast") && script.contains("backtest"),
            "{shell}"
        );
    }
}
