//! Validation case by case, with no registry and no library: a model is
//! just its description.

use stratus_proto::v1::{self as api, ForecastRequest, RiskRequest};

use super::*;
use crate::error::ApiError;

fn forecast_model() -> wire::ModelDescription {
    wire::ModelDescription {
        name: "drift".into(),
        version: "1.0.0".into(),
        kind: wire::ModelKind::Forecast as i32,
        params: vec![wire::ParamSpec {
            name: "damping".into(),
            default_value: 0.9,
            min: 0.5,
            max: 1.0,
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn risk_model() -> wire::ModelDescription {
    wire::ModelDescription {
        name: "bubble".into(),
        version: "1.0.0".into(),
        kind: wire::ModelKind::Risk as i32,
        inputs: vec![wire::ParamSpec {
            name: "capex_to_revenue".into(),
            min: 0.0,
            max: 10.0,
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn series(frequency: api::Frequency, periods: &[&str]) -> Series {
    Series {
        name: "cloud".into(),
        unit: "USD bn".into(),
        frequency: frequency as i32,
        observations: periods
            .iter()
            .enumerate()
            .map(|(i, p)| api::Observation {
                period: (*p).into(),
                value: 10.0 + i as f64,
            })
            .collect(),
    }
}

fn annual() -> Series {
    series(api::Frequency::Annual, &["2021", "2022", "2023"])
}

fn request(horizon: u32) -> ForecastRequest {
    ForecastRequest {
        horizon,
        request_id: "r1".into(),
        ..Default::default()
    }
}

/// `forecast` after the size check, as the services call it.
fn checked_forecast(
    request: ForecastRequest,
    series: Series,
    model: &wire::ModelDescription,
    limits: Limits,
) -> Result<ValidForecast, ApiError> {
    let sizes = forecast_sizes(&request, limits)?;
    forecast(request, sizes, series, model, limits)
}

/// `risk` after the size check.
fn checked_risk(
    request: &RiskRequest,
    model: &wire::ModelDescription,
    limits: Limits,
) -> Result<wire::RiskInput, ApiError> {
    let sizes = risk_sizes(request, limits)?;
    risk(request, sizes, model, limits)
}

/// The violations of an `INVALID_ARGUMENT`, as `field: description` lines.
fn violations(error: ApiError) -> Vec<String> {
    match error {
        ApiError::InvalidArgument(list) => list
            .into_iter()
            .map(|v| format!("{}: {}", v.field, v.description))
            .collect(),
        other => panic!("expected INVALID_ARGUMENT, got {other:?}"),
    }
}

#[test]
fn a_valid_request_becomes_a_complete_plugin_input() {
    let valid =
        checked_forecast(request(2), annual(), &forecast_model(), Limits::default()).unwrap();
    let input = valid.input;
    assert_eq!(valid.request_id, "r1");
    assert_eq!(input.future_periods, ["2024", "2025"]);
    assert_eq!(input.levels, DEFAULT_LEVELS);
    assert_eq!(input.periods_per_year, 1);
    // Undeclared defaults are filled in.
    assert_eq!(input.params["damping"], 0.9);
    let series = input.series.unwrap();
    assert_eq!(series.frequency, wire::Frequency::Annual as i32);
    assert_eq!(series.observations.len(), 3);
}

#[test]
fn quarterly_labels_continue_across_the_year() {
    let quarterly = series(api::Frequency::Quarterly, &["2024-Q3", "2024-Q4"]);
    let valid =
        checked_forecast(request(3), quarterly, &forecast_model(), Limits::default()).unwrap();
    assert_eq!(
        valid.input.future_periods,
        ["2025-Q1", "2025-Q2", "2025-Q3"]
    );
    assert_eq!(valid.input.periods_per_year, 4);
}

#[test]
fn levels_are_sorted_and_deduplicated_and_bad_ones_named() {
    let mut r = request(1);
    r.levels = vec![95.0, 80.0, 95.0];
    let valid = checked_forecast(r, annual(), &forecast_model(), Limits::default()).unwrap();
    assert_eq!(valid.input.levels, [80.0, 95.0]);

    let mut r = request(1);
    r.levels = vec![80.0, 100.0, f64::NAN];
    let problems = violations(
        checked_forecast(r, annual(), &forecast_model(), Limits::default()).unwrap_err(),
    );
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].starts_with("levels[1]: 100 is not a coverage"));
    assert!(problems[1].starts_with("levels[2]: NaN"));
}

#[test]
fn every_problem_is_reported_at_once_with_its_field() {
    let mut r = request(0);
    r.params = [("damping".to_owned(), 2.0), ("alpha".to_owned(), 0.1)].into();
    r.interval_method = 9;
    let bad = series(api::Frequency::Annual, &["2021", "2023", "2023-Q1"]);
    let problems =
        violations(checked_forecast(r, bad, &forecast_model(), Limits::default()).unwrap_err());
    let fields: Vec<&str> = problems
        .iter()
        .map(|p| p.split(':').next().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "series.observations[1].period",
            "series.observations[2].period",
            "horizon",
            "interval_method",
            "params[alpha]",
            "params[damping]",
        ]
    );
    assert!(problems[0].contains("does not directly follow 2021"));
    assert!(problems[1].contains("is not a ANNUAL period"));
    assert!(problems[4].contains("this model accepts: damping"));
    assert!(problems[5].contains("outside the accepted range [0.5, 1]"));
}

#[test]
fn series_problems_are_named() {
    let cases: [(Series, &str); 5] = [
        (
            series(api::Frequency::Unspecified, &["2021"]),
            "series.frequency: must be FREQUENCY_ANNUAL",
        ),
        (
            series(api::Frequency::Annual, &[]),
            "series.observations: must not be empty",
        ),
        (
            series(api::Frequency::Annual, &["2022", "2021"]),
            "series.observations[1].period: 2021 comes before 2022",
        ),
        (
            series(api::Frequency::Annual, &["2021", "2021"]),
            "series.observations[1].period: 2021 repeats",
        ),
        (
            series(api::Frequency::Monthly, &["2021-13"]),
            "series.observations[0].period: '2021-13' is not a MONTHLY period",
        ),
    ];
    for (bad, expected) in cases {
        let problems = violations(
            checked_forecast(request(1), bad, &forecast_model(), Limits::default()).unwrap_err(),
        );
        assert!(
            problems[0].starts_with(expected),
            "{problems:?} vs {expected}"
        );
    }
    let mut values = annual();
    values.observations[0].value = f64::INFINITY;
    values.observations[1].value = 1e101;
    let problems = violations(
        checked_forecast(request(1), values, &forecast_model(), Limits::default()).unwrap_err(),
    );
    assert!(problems[0].starts_with("series.observations[0].value: inf is not a finite number"));
    assert!(problems[1].contains("beyond the accepted magnitude"));
}

#[test]
fn a_long_run_of_bad_observations_lists_ten() {
    let labels: Vec<String> = (0..50).map(|i| format!("x{i}")).collect();
    let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
    let bad = series(api::Frequency::Annual, &labels);
    let problems = violations(
        checked_forecast(request(1), bad, &forecast_model(), Limits::default()).unwrap_err(),
    );
    assert_eq!(problems.len(), 10);
}

#[test]
fn a_risk_model_is_not_asked_for_a_forecast() {
    let error =
        checked_forecast(request(1), annual(), &risk_model(), Limits::default()).unwrap_err();
    let ApiError::FailedPrecondition(message) = error else {
        panic!("expected FAILED_PRECONDITION");
    };
    assert!(message.starts_with("model.name: 'bubble' is a risk model"));
}

#[test]
fn sizes_are_refused_naming_the_flag() {
    let limits = Limits {
        max_horizon: 10,
        ..Limits::default()
    };
    let error = forecast_sizes(&request(11), limits).unwrap_err();
    let ApiError::LimitExceeded(violation) = error else {
        panic!("expected RESOURCE_EXHAUSTED");
    };
    assert_eq!(violation.field, "horizon");
    assert!(violation.description.contains("--max-horizon"));

    let mut r = request(1);
    r.request_id = "x".repeat(limits.max_string_bytes + 1);
    let ApiError::LimitExceeded(violation) = forecast_sizes(&r, limits).unwrap_err() else {
        panic!("expected RESOURCE_EXHAUSTED");
    };
    assert_eq!(violation.field, "request_id");
    assert!(violation.description.contains("--max-string-bytes"));
}

#[test]
fn a_risk_request_reads_only_declared_indicators() {
    let mut r = RiskRequest {
        subject: "ai".into(),
        indicators: [("capex_to_revenue".to_owned(), 3.0)].into(),
        series: [("capex".to_owned(), annual())].into(),
        ..Default::default()
    };
    let input = checked_risk(&r, &risk_model(), Limits::default()).unwrap();
    assert_eq!(input.indicators["capex_to_revenue"], 3.0);
    assert_eq!(input.series["capex"].observations.len(), 3);

    r.indicators.insert("hype".into(), 1.0);
    r.indicators.insert("capex_to_revenue".into(), 11.0);
    r.series.insert(
        "revenue".into(),
        series(api::Frequency::Annual, &["2021", "2020"]),
    );
    let problems = violations(checked_risk(&r, &risk_model(), Limits::default()).unwrap_err());
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(problems[0].starts_with("indicators[capex_to_revenue]: 11 is outside"));
    assert!(problems[1].starts_with("indicators[hype]: 'bubble' does not read 'hype'"));
    assert!(problems[2].starts_with("series[revenue].observations[1].period"));

    let error = checked_risk(&r, &forecast_model(), Limits::default()).unwrap_err();
    assert!(matches!(error, ApiError::FailedPrecondition(_)));
}
