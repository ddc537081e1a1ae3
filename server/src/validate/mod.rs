//! Request validation, as pure functions: a request, the description of the
//! model it names and the server's limits go in; the complete plugin input,
//! or every problem with the field it concerns, comes out.
//!
//! Everything a plugin may assume is checked here, before any plugin sees a
//! request: levels sorted and defaulted, every declared parameter present and
//! in range, the series consecutive and finite, the future period labels
//! computed. Looking up the model and the dataset a request names is the
//! services' job (see `service::resolve`), so these functions can be tested
//! without loading a library. Field paths are relative to the request checked;
//! a caller that nests one (the `demand` of a risk request) prefixes them once,
//! with [`ApiError::within`].

mod params;
mod series;
mod sizes;

use std::collections::HashMap;

use stratus_plugin_abi::wire;
use stratus_proto::v1::{ForecastRequest, IntervalMethod, RiskRequest, Series};

use crate::error::{ApiError, FieldViolation, Violations};
pub use crate::limits::Limits;
use crate::limits::shown;
pub(crate) use params::{check_params, check_value, sorted};
pub(crate) use series::{SeriesShape, check_levels, check_series};
pub use sizes::{SizesChecked, forecast_sizes, risk_sizes};
pub(crate) use sizes::{at_most, check_map_keys, string_within};

/// Interval coverages used when a request gives none.
pub const DEFAULT_LEVELS: [f64; 2] = [80.0, 95.0];

/// A forecast request that passed validation.
#[derive(Debug)]
pub struct ValidForecast {
    /// The complete plugin input.
    pub input: wire::ForecastInput,
    /// The caller's `request_id`, echoed in the response.
    pub request_id: String,
}

/// Refuses a model of the wrong kind for a forecast: checked as soon as the
/// model is known, before anything else is looked up.
pub fn forecast_model(model: &wire::ModelDescription) -> Result<(), ApiError> {
    if model.kind != wire::ModelKind::Forecast as i32 {
        return Err(ApiError::FailedPrecondition(format!(
            "model.name: '{}' is a risk model; call RiskService.ScoreRisk, or pick a forecast model",
            model.name
        )));
    }
    Ok(())
}

/// Refuses a model of the wrong kind for a risk score.
pub fn risk_model(model: &wire::ModelDescription) -> Result<(), ApiError> {
    if model.kind != wire::ModelKind::Risk as i32 {
        return Err(ApiError::FailedPrecondition(format!(
            "model.name: '{}' is a forecast model; call ForecastService.Forecast, or pick a risk model",
            model.name
        )));
    }
    Ok(())
}

/// Validates a forecast request for `model`, with `series` the history its
/// source names (the caller resolved it); `_sizes` proves the request's
/// counts and lengths passed [`forecast_sizes`].
///
/// Takes the request and series by value so the observations move into the
/// plugin input rather than being copied; field paths are only formatted for
/// violations (this runs once per series in bulk streams).
pub fn forecast(
    request: ForecastRequest,
    _sizes: SizesChecked,
    series: Series,
    model: &wire::ModelDescription,
    limits: Limits,
) -> Result<ValidForecast, ApiError> {
    forecast_model(model)?;
    let ForecastRequest {
        horizon,
        levels,
        params,
        request_id,
        interval_method,
        ..
    } = request;
    let mut violations = Violations::new(limits.max_violations);
    let shape = check_series(&series, "series", limits, &mut violations)?;
    if horizon == 0 {
        violations.push(FieldViolation::new("horizon", "must be at least 1"));
    }
    if IntervalMethod::try_from(interval_method).is_err() {
        violations.push(FieldViolation::new(
            "interval_method",
            format!(
                "{interval_method} is not an interval method: INTERVAL_METHOD_MODEL (or unspecified) or INTERVAL_METHOD_CONFORMAL"
            ),
        ));
    }
    let levels = check_levels(&levels, "levels", &mut violations);
    let params = check_params(&params, &model.params, "params", &mut violations);
    let SeriesShape { cadence, last } = violations.finish(shape)?;

    let input = wire::ForecastInput {
        series: Some(series.into()),
        horizon,
        levels,
        params,
        future_periods: (1..=i64::from(horizon))
            .map(|h| last.plus(h).to_string())
            .collect(),
        periods_per_year: cadence.periods_per_year(),
    };
    Ok(ValidForecast { input, request_id })
}

/// Validates a risk request for `model`, except its `demand` forecast, which
/// the caller runs and adds to the input as a series; `_sizes` proves the
/// request passed [`risk_sizes`].
pub fn risk(
    request: &RiskRequest,
    _sizes: SizesChecked,
    model: &wire::ModelDescription,
    limits: Limits,
) -> Result<wire::RiskInput, ApiError> {
    risk_model(model)?;
    let mut violations = Violations::new(limits.max_violations);
    let inputs = &model.inputs;
    for (name, value) in sorted(&request.indicators) {
        let field = format!("indicators[{}]", shown(name));
        match inputs.iter().find(|spec| &spec.name == name) {
            None => violations.push(FieldViolation::new(
                field,
                format!(
                    "'{}' does not read '{}'; it reads: {}",
                    model.name,
                    shown(name),
                    params::names(inputs)
                ),
            )),
            Some(spec) => check_value(*value, spec, &field, &mut violations),
        }
    }
    let mut series = HashMap::new();
    for (role, s) in sorted(&request.series) {
        let field = format!("series[{}]", shown(role));
        if check_series(s, &field, limits, &mut violations)?.is_ok() {
            series.insert(role.clone(), s.clone().into());
        }
    }
    let params = check_params(&request.params, &model.params, "params", &mut violations);
    violations.into_result()?;
    Ok(wire::RiskInput {
        subject: request.subject.clone(),
        indicators: request.indicators.clone(),
        series,
        params,
    })
}

#[cfg(test)]
mod tests;
