//! Counts and lengths: every number and string a caller controls that sizes
//! the work, checked before anything is looked up or built from it. A
//! violation here is `RESOURCE_EXHAUSTED` naming the field and the flag that
//! sets the limit, not a list of field problems: the size is the problem.

use stratus_proto::v1::{ForecastRequest, ModelRef, RiskRequest, forecast_request};

use super::DEFAULT_LEVELS;
use crate::error::{ApiError, FieldViolation};
use crate::limits::{Limits, shown};

/// Proof that a request's counts and lengths passed [`forecast_sizes`] or
/// [`risk_sizes`]: the checks that build from them ([`super::forecast`],
/// [`super::risk`]) take one, so none can run on an unbounded request.
#[derive(Debug)]
pub struct SizesChecked(());

/// The counts and string lengths of a forecast request, checked before
/// anything is looked up or built from them.
pub fn forecast_sizes(request: &ForecastRequest, limits: Limits) -> Result<SizesChecked, ApiError> {
    model_ref_within(request.model.as_ref(), limits)?;
    if let Some(forecast_request::Source::Dataset(name)) = &request.source {
        string_within(name, limits, || "dataset".into())?;
    }
    string_within(&request.request_id, limits, || "request_id".into())?;
    if request.horizon > limits.max_horizon {
        return Err(ApiError::LimitExceeded(FieldViolation::new(
            "horizon",
            format!(
                "{} is above this server's limit of {} (--max-horizon)",
                request.horizon, limits.max_horizon
            ),
        )));
    }
    at_most(
        request.levels.len(),
        limits.max_levels,
        "levels",
        "--max-levels",
        || "levels".into(),
    )?;
    let intervals =
        u64::from(request.horizon) * request.levels.len().max(DEFAULT_LEVELS.len()) as u64;
    if intervals > limits.max_answer_intervals {
        return Err(ApiError::LimitExceeded(FieldViolation::new(
            "levels",
            format!(
                "horizon {} × {} levels asks for {intervals} intervals per path, above this server's limit of {} (--max-answer-intervals)",
                request.horizon,
                request.levels.len(),
                limits.max_answer_intervals
            ),
        )));
    }
    check_map_keys(
        request.params.keys(),
        limits,
        limits.max_params,
        "--max-params",
        "params",
    )?;
    Ok(SizesChecked(()))
}

/// The counts and string lengths of a risk request (its `demand` forecast
/// is checked as a forecast when it runs).
pub fn risk_sizes(request: &RiskRequest, limits: Limits) -> Result<SizesChecked, ApiError> {
    model_ref_within(request.model.as_ref(), limits)?;
    string_within(&request.subject, limits, || "subject".into())?;
    check_map_keys(
        request.indicators.keys(),
        limits,
        limits.max_indicators,
        "--max-indicators",
        "indicators",
    )?;
    check_map_keys(
        request.series.keys(),
        limits,
        limits.max_series,
        "--max-series",
        "series",
    )?;
    check_map_keys(
        request.params.keys(),
        limits,
        limits.max_params,
        "--max-params",
        "params",
    )?;
    Ok(SizesChecked(()))
}

/// The lengths of a model reference's name and version.
fn model_ref_within(model: Option<&ModelRef>, limits: Limits) -> Result<(), ApiError> {
    if let Some(model) = model {
        string_within(&model.name, limits, || "model.name".into())?;
        string_within(&model.version, limits, || "model.version".into())?;
    }
    Ok(())
}

/// A map's size and the length of each key.
pub(crate) fn check_map_keys<'a>(
    keys: impl ExactSizeIterator<Item = &'a String>,
    limits: Limits,
    most: usize,
    flag: &str,
    field: &str,
) -> Result<(), ApiError> {
    at_most(keys.len(), most, "entries", flag, || field.to_owned())?;
    for key in keys {
        string_within(key, limits, || format!("{field}[{}]", shown(key)))?;
    }
    Ok(())
}

/// `RESOURCE_EXHAUSTED` naming `flag` when `count` is above `most`.
pub(crate) fn at_most(
    count: usize,
    most: usize,
    what: &str,
    flag: &str,
    field: impl FnOnce() -> String,
) -> Result<(), ApiError> {
    if count <= most {
        return Ok(());
    }
    Err(ApiError::LimitExceeded(FieldViolation::new(
        field(),
        format!("{count} {what} is above this server's limit of {most} ({flag})"),
    )))
}

/// `RESOURCE_EXHAUSTED` when a caller's string is longer than
/// `--max-string-bytes`.
pub(crate) fn string_within(
    text: &str,
    limits: Limits,
    field: impl FnOnce() -> String,
) -> Result<(), ApiError> {
    if text.len() <= limits.max_string_bytes {
        return Ok(());
    }
    Err(ApiError::LimitExceeded(FieldViolation::new(
        field(),
        format!(
            "a string of {} bytes is above this server's limit of {} (--max-string-bytes)",
            text.len(),
            limits.max_string_bytes
        ),
    )))
}
