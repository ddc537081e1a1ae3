//! The C example plugin (`plugins/c-example`): built with `make` and a C
//! compiler, served by the real server like any Rust plugin, and answering
//! with simple exponential smoothing checked here against a hand computation.
//! Its broken variant, whose table has a NULL `free_buf` slot, is refused
//! with the slot named, and the server keeps running.
//!
//! Needs `cc` (or `$CC`) and `make` on the PATH; CI installs them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use stratus_client::{StratusClient, proto};
use stratus_e2e::fixtures::{annual, forecast, violated_fields};
use stratus_e2e::{Server, ServerOptions};
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

/// The library `make` builds.
const LIBRARY: &str = "libstratus_ses.so";
/// The library `make null-slot` builds: the same code with `free_buf` NULL.
const NULL_SLOT: &str = "libstratus_ses_null_slot.so";

/// Standard-normal quantiles of central intervals (50, 80, 95, 99.5%).
const LEVELS: [f64; 4] = [50.0, 80.0, 95.0, 99.5];
const Z: [f64; 4] = [
    0.674_489_750_196_081_7,
    1.281_551_565_544_600_4,
    1.959_963_984_540_054,
    2.807_033_768_343_811,
];

/// The two libraries' bytes.
struct Built {
    library: Vec<u8>,
    null_slot: Vec<u8>,
}

/// Builds both libraries once per test process. `OnceLock` makes the tests
/// of this file wait for one build, and `OUT=` puts the output in a fresh
/// temporary folder, so test processes building at the same time (or a
/// developer's own `make`) never write the same file.
fn built() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| {
        let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
        let cc_program = cc.split_whitespace().next().unwrap_or("cc").to_owned();
        require_tool(&cc_program);
        require_tool("make");
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/c-example");
        let out = tempfile::tempdir().expect("temporary build folder");
        for target in ["all", "null-slot"] {
            let output = Command::new("make")
                .arg("-C")
                .arg(&source)
                .arg(format!("OUT={}", out.path().display()))
                .arg(target)
                .output()
                .expect("run make");
            assert!(
                output.status.success(),
                "make {target} in {} failed:\n{}{}",
                source.display(),
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let read = |name: &str| -> Vec<u8> {
            let path: PathBuf = out.path().join(name);
            std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        };
        Built {
            library: read(LIBRARY),
            null_slot: read(NULL_SLOT),
        }
    })
}

/// Fails with a clear message if `tool` cannot be run at all.
fn require_tool(tool: &str) {
    match Command::new(tool).arg("--version").output() {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "`{tool}` is not installed: this test builds plugins/c-example with make and a C \
             compiler; install them (e.g. `apt-get install build-essential`) or set CC"
        ),
        Err(e) => panic!("cannot run `{tool}`: {e}"),
    }
}

fn serve_ses() -> Server {
    Server::start(ServerOptions {
        files: vec![(LIBRARY, built().library.clone())],
        ..Default::default()
    })
}

/// The SES level, sum of squared one-step errors and in-sample sigma (their
/// root mean square) for weight `alpha`, as the plugin defines them.
fn ses(values: &[f64], alpha: f64) -> (f64, f64, f64) {
    let mut level = values[0];
    let mut sse = 0.0;
    for &y in &values[1..] {
        let error = y - level;
        sse += error * error;
        level += alpha * error;
    }
    let sigma = if values.len() > 1 {
        (sse / (values.len() - 1) as f64).sqrt()
    } else {
        0.0
    };
    (level, sse, sigma)
}

fn ses_request(series: proto::Series, horizon: u32, alpha: Option<f64>) -> proto::ForecastRequest {
    let mut request = forecast("ses", series, horizon);
    request.levels = LEVELS.to_vec();
    if let Some(alpha) = alpha {
        request.params = HashMap::from([("alpha".to_owned(), alpha)]);
    }
    request
}

fn close(actual: f64, expected: f64, what: &str) {
    let tolerance = 1e-9 * expected.abs().max(1.0);
    assert!(
        (actual - expected).abs() <= tolerance,
        "{what}: {actual} != {expected}"
    );
}

/// Checks every point's intervals: one per level in the order asked,
/// `mean ± z·σ·√(1 + (h−1)α²)`, nested across levels and widening with h.
fn check_intervals(response: &proto::ForecastResponse, sigma: f64, alpha: f64) {
    let mut previous_widths: Option<Vec<f64>> = None;
    for (step, point) in response.points.iter().enumerate() {
        let h = (step + 1) as f64;
        let levels: Vec<f64> = point.intervals.iter().map(|i| i.level).collect();
        assert_eq!(levels, LEVELS, "one interval per level, in order");
        let sd = sigma * (1.0 + (h - 1.0) * alpha * alpha).sqrt();
        let mut widths = Vec::new();
        for (k, interval) in point.intervals.iter().enumerate() {
            assert!(interval.lower.is_finite() && interval.upper.is_finite());
            assert!(interval.lower <= point.mean && point.mean <= interval.upper);
            let what = format!("{}% interval at step {h}", interval.level);
            close(
                interval.lower,
                point.mean - Z[k] * sd,
                &format!("{what}, lower"),
            );
            close(
                interval.upper,
                point.mean + Z[k] * sd,
                &format!("{what}, upper"),
            );
            if k > 0 {
                let inner = &point.intervals[k - 1];
                assert!(
                    interval.lower < inner.lower && inner.upper < interval.upper,
                    "{what} contains the {}% one",
                    inner.level
                );
            }
            widths.push(interval.upper - interval.lower);
        }
        if let Some(previous) = &previous_widths {
            for (now, before) in widths.iter().zip(previous) {
                assert!(now > before, "intervals widen with the horizon at step {h}");
            }
        }
        previous_widths = Some(widths);
    }
}

async fn models(client: &StratusClient) -> Vec<proto::ModelInfo> {
    client.list_models().await.expect("ListModels")
}

#[tokio::test]
async fn the_c_plugin_is_listed_with_its_version_and_hash() {
    let server = serve_ses();
    let client = server.client().await;
    let models = models(&client).await;
    let ses = models
        .iter()
        .find(|m| m.name == "ses")
        .unwrap_or_else(|| panic!("ses is not listed: {models:?}"));
    assert_eq!(
        ses.state,
        proto::ModelState::Ready as i32,
        "{}",
        ses.last_error
    );
    assert_eq!(ses.version, "1.0.0");
    assert_eq!(ses.kind, proto::ModelKind::Forecast as i32);
    assert_eq!(ses.abi_version, "1.0");
    assert!(ses.library_path.ends_with(LIBRARY), "{}", ses.library_path);
    assert!(
        ses.description.contains("written in C"),
        "{}",
        ses.description
    );
    assert_eq!(ses.sha256.len(), 64, "{}", ses.sha256);
    assert!(
        ses.sha256
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "lowercase hex: {}",
        ses.sha256
    );
    assert_eq!(ses.sha256, sha256_hex(&built().library));
    let [alpha] = ses.params.as_slice() else {
        panic!("one declared parameter: {:?}", ses.params);
    };
    assert_eq!(alpha.name, "alpha");
    assert_eq!((alpha.default_value, alpha.min, alpha.max), (0.0, 0.0, 1.0));
    assert!(ses.last_error.is_empty(), "{}", ses.last_error);
}

#[tokio::test]
async fn a_forecast_with_a_given_alpha_matches_a_hand_computation() {
    let server = serve_ses();
    let client = server.client().await;
    let values = [10.0, 12.0, 11.0, 15.0, 14.0, 18.0];
    let response = client
        .forecast(ses_request(annual("c", 2015, &values), 5, Some(0.5)))
        .await
        .expect("forecast");

    // Levels 10, 11, 11, 13, 13.5, 15.75; one-step errors 2, 0, 4, 1, 4.5:
    // σ² = 41.25 / 5 = 8.25.
    let (level, _, sigma) = ses(&values, 0.5);
    close(level, 15.75, "hand-computed level");
    close(sigma, 8.25f64.sqrt(), "hand-computed sigma");

    let periods: Vec<&str> = response.points.iter().map(|p| p.period.as_str()).collect();
    assert_eq!(periods, ["2021", "2022", "2023", "2024", "2025"]);
    for (step, point) in response.points.iter().enumerate() {
        assert!(point.mean.is_finite());
        close(point.mean, level, &format!("mean at step {}", step + 1));
    }
    // Year-on-year: the first step against the last observation, then flat.
    close(
        response.points[0].growth,
        (15.75 / 18.0 - 1.0) * 100.0,
        "growth at step 1",
    );
    for point in &response.points[1..] {
        close(point.growth, 0.0, "growth after step 1");
    }
    check_intervals(&response, sigma, 0.5);
    close(response.fitted["alpha"], 0.5, "fitted alpha");
    close(response.fitted["level"], level, "fitted level");
    close(response.fitted["sigma"], sigma, "fitted sigma");
    assert!(
        response.notes.iter().any(|n| n.contains("as given")),
        "{:?}",
        response.notes
    );
}

#[tokio::test]
async fn alpha_zero_fits_the_grid_and_quarterly_growth_looks_a_year_back() {
    let server = serve_ses();
    let client = server.client().await;

    // The default alpha (0) fits: the least squared one-step error over
    // 0.01..0.99, the smallest alpha on ties.
    let values = [3.0, 5.0, 4.0, 7.0, 9.0, 8.0, 11.0, 10.0, 12.0];
    let response = client
        .forecast(ses_request(annual("fit", 2000, &values), 3, None))
        .await
        .expect("forecast");
    let mut best = (f64::INFINITY, 0.0);
    for k in 1..=99 {
        let alpha = f64::from(k) / 100.0;
        let (_, sse, _) = ses(&values, alpha);
        if sse < best.0 {
            best = (sse, alpha);
        }
    }
    let alpha = best.1;
    assert_eq!(response.fitted["alpha"], alpha);
    let (level, _, sigma) = ses(&values, alpha);
    for point in &response.points {
        close(point.mean, level, "fitted mean");
    }
    check_intervals(&response, sigma, alpha);

    // Quarterly, alpha = 1: the last value, growth against the same quarter
    // a year earlier (history for the first four steps, then the flat path).
    let quarters = [8.0, 10.0, 9.0, 12.0, 10.0, 12.5, 11.0, 15.0];
    let series = proto::Series {
        name: "q".into(),
        unit: String::new(),
        frequency: proto::Frequency::Quarterly as i32,
        observations: quarters
            .iter()
            .enumerate()
            .map(|(i, &value)| proto::Observation {
                period: format!("{}-Q{}", 2020 + i / 4, i % 4 + 1),
                value,
            })
            .collect(),
    };
    let response = client
        .forecast(ses_request(series, 6, Some(1.0)))
        .await
        .expect("quarterly forecast");
    assert_eq!(response.points[0].period, "2022-Q1");
    for (h, point) in response.points.iter().enumerate() {
        close(point.mean, 15.0, "quarterly mean");
        let base = if h < 4 { quarters[4 + h] } else { 15.0 };
        close(
            point.growth,
            (15.0 / base - 1.0) * 100.0,
            &format!("growth at step {}", h + 1),
        );
    }
}

#[tokio::test]
async fn a_single_observation_gives_a_flat_forecast_with_zero_width_intervals() {
    let server = serve_ses();
    let client = server.client().await;
    let response = client
        .forecast(ses_request(annual("one", 2024, &[42.0]), 3, None))
        .await
        .expect("forecast of one observation");
    assert_eq!(response.points.len(), 3);
    for point in &response.points {
        assert_eq!(point.mean, 42.0);
        for interval in &point.intervals {
            assert_eq!((interval.lower, interval.upper), (42.0, 42.0));
        }
    }
    assert!(
        response
            .notes
            .iter()
            .any(|n| n.contains("single observation")),
        "{:?}",
        response.notes
    );
}

#[tokio::test]
async fn concurrent_forecasts_all_get_the_same_answer() {
    // The server calls invoke from many threads on one instance.
    let server = serve_ses();
    let client = server.client().await;
    let values: Vec<f64> = (0..40)
        .map(|i| 100.0 + f64::from(i % 7) * 3.0 - f64::from(i))
        .collect();
    let request = ses_request(annual("many", 1980, &values), 8, None);
    let calls = (0..32).map(|_| {
        let client = client.clone();
        let request = request.clone();
        tokio::spawn(async move { client.forecast(request).await })
    });
    let answers: Vec<proto::ForecastResponse> = futures::future::join_all(calls)
        .await
        .into_iter()
        .map(|joined| joined.expect("task").expect("forecast"))
        .collect();
    for answer in &answers[1..] {
        assert_eq!(answer.points, answers[0].points);
        assert_eq!(answer.fitted, answers[0].fitted);
    }
}

#[tokio::test]
async fn an_alpha_outside_its_range_is_refused_naming_the_field() {
    let server = serve_ses();
    let client = server.client().await;
    for bad in [2.0, -0.5] {
        let status = client
            .forecast(ses_request(
                annual("c", 2015, &[10.0, 12.0, 11.0]),
                2,
                Some(bad),
            ))
            .await
            .expect_err("alpha out of range must be refused");
        assert_eq!(status.code(), Code::InvalidArgument, "{}", status.message());
        assert!(
            status.message().contains("params[alpha]"),
            "{}",
            status.message()
        );
        assert!(
            violated_fields(&status)
                .iter()
                .any(|f| f == "params[alpha]"),
            "{:?}",
            violated_fields(&status)
        );
    }
}

#[tokio::test]
async fn a_table_with_a_null_free_buf_is_refused_and_the_server_keeps_serving() {
    let mut server = Server::start(ServerOptions {
        files: vec![(NULL_SLOT, built().null_slot.clone())],
        ..Default::default()
    });
    let client = server.client().await;
    let models = models(&client).await;
    let refused = models
        .iter()
        .find(|m| m.library_path.ends_with(NULL_SLOT))
        .unwrap_or_else(|| panic!("the null-slot library is listed: {models:?}"));
    assert_eq!(refused.state, proto::ModelState::Failed as i32);
    assert!(
        refused.last_error.contains("null") && refused.last_error.contains("free_buf"),
        "the reason names the slot: {}",
        refused.last_error
    );
    assert!(
        !models
            .iter()
            .any(|m| m.state == proto::ModelState::Ready as i32),
        "nothing is served: {models:?}"
    );
    let status = client
        .forecast(ses_request(annual("c", 2015, &[1.0, 2.0, 3.0]), 1, None))
        .await
        .expect_err("the refused library is not served");
    assert_eq!(status.code(), Code::NotFound, "{}", status.message());
    assert!(
        server.is_running(),
        "refusing the library must not crash the server"
    );
    assert_eq!(client.health("").await.unwrap(), ServingStatus::Serving);
}

/// SHA-256 of `bytes` in hex, with `sha256sum` (as tests/tests/api.rs).
fn sha256_hex(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lib");
    std::fs::write(&path, bytes).unwrap();
    let out = Command::new("sha256sum").arg(&path).output().unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}
