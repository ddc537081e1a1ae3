//! The lookups before validation: the model a request names (in the
//! registry) and the history it names (inline, or a dataset in the catalog).
//!
//! Validation itself is pure (see `validate`); this module feeds it and
//! places its field paths in the caller's request: a forecast nested in a
//! risk request reports `demand.horizon`, prefixed here, once.

use std::sync::Arc;

use stratus_proto::v1::{ForecastRequest, ModelRef, RiskRequest, Series, forecast_request};

use super::AppState;
use crate::error::ApiError;
use crate::limits::shown;
use crate::plugin::LoadedModel;
use crate::validate::{self, ValidForecast};

/// A forecast request resolved and validated: its model, and the complete
/// plugin input. Field paths in errors begin with `prefix`.
pub(crate) fn forecast(
    state: &AppState,
    request: ForecastRequest,
    prefix: &str,
) -> Result<(Arc<LoadedModel>, ValidForecast), ApiError> {
    forecast_unprefixed(state, request).map_err(|e| e.within(prefix))
}

fn forecast_unprefixed(
    state: &AppState,
    mut request: ForecastRequest,
) -> Result<(Arc<LoadedModel>, ValidForecast), ApiError> {
    let sizes = validate::forecast_sizes(&request, state.limits)?;
    let model = model(state, request.model.as_ref(), "model")?;
    validate::forecast_model(&model.description)?;
    let series = history(state, request.source.take())?;
    let valid = validate::forecast(request, sizes, series, &model.description, state.limits)?;
    Ok((model, valid))
}

/// A risk request resolved and validated (its `demand` forecast excepted).
pub(crate) fn risk(
    state: &AppState,
    request: &RiskRequest,
) -> Result<(Arc<LoadedModel>, stratus_plugin_abi::wire::RiskInput), ApiError> {
    let sizes = validate::risk_sizes(request, state.limits)?;
    let model = model(state, request.model.as_ref(), "model")?;
    let input = validate::risk(request, sizes, &model.description, state.limits)?;
    Ok((model, input))
}

/// The model a reference at field path `at` names.
pub(crate) fn model(
    state: &AppState,
    model: Option<&ModelRef>,
    at: &str,
) -> Result<Arc<LoadedModel>, ApiError> {
    let (name, version) = model.map_or(("", ""), |m| (m.name.as_str(), m.version.as_str()));
    state
        .registry
        .resolve(name, version)
        .map_err(|error| error.at(at))
}

/// The history a forecast's source names: the inline series, or the series
/// of a dataset in the catalog.
fn history(state: &AppState, source: Option<forecast_request::Source>) -> Result<Series, ApiError> {
    match source {
        Some(forecast_request::Source::Series(series)) => Ok(series),
        Some(forecast_request::Source::Dataset(name)) => dataset(state, &name, "dataset"),
        None => Err(ApiError::invalid(
            "series",
            "a forecast needs the history: set `series`, or `dataset` to a name from ListDatasets",
        )),
    }
}

/// The series of the dataset `name`, named at field path `at`.
pub(crate) fn dataset(state: &AppState, name: &str, at: &str) -> Result<Series, ApiError> {
    state
        .datasets
        .get(name)
        .and_then(|d| d.series.clone())
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "{at}: no dataset '{}' (available: {})",
                shown(name),
                state.datasets.names().join(", ")
            ))
        })
}
