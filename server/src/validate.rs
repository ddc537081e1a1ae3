//! Request validation: everything a plugin may assume is checked here, before
//! any plugin sees a request, and every problem names its field.
//!
//! The output is the plugin-facing input message, complete: levels sorted and
//! defaulted, every declared parameter present, the future period labels
//! computed. Field paths carry a prefix so a forecast nested in a risk request
//! reports `demand.horizon`, not `horizon`.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use stratus_plugin::wire;
use stratus_proto::v1::{ForecastRequest, RiskRequest, Series, forecast_request};

use crate::dataset::DatasetCatalog;
use crate::error::{ApiError, FieldViolation, Violations};
pub use crate::limits::Limits;
use crate::limits::{MAX_ABS_VALUE, MAX_LEVEL, shown};
use crate::period::{Cadence, Period};
use crate::plugin::{LoadedModel, PluginRegistry};

/// Interval coverages used when a request gives none.
pub const DEFAULT_LEVELS: [f64; 2] = [80.0, 95.0];

/// What request validation needs to look things up.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// Models to resolve `model` against.
    pub registry: &'a PluginRegistry,
    /// Datasets to resolve `dataset` against.
    pub datasets: &'a DatasetCatalog,
    /// Size limits.
    pub limits: Limits,
}

/// A forecast request that passed validation.
#[derive(Debug)]
pub struct ValidForecast {
    /// The model to run.
    pub model: Arc<LoadedModel>,
    /// The complete plugin input.
    pub input: wire::ForecastInput,
    /// The caller's `request_id`, echoed in the response.
    pub request_id: String,
}

/// A risk request that passed validation (minus its `demand` forecast, which
/// the caller runs and adds).
#[derive(Debug)]
pub struct ValidRisk {
    /// The model to run.
    pub model: Arc<LoadedModel>,
    /// The complete plugin input.
    pub input: wire::RiskInput,
}

/// Validates a forecast request; `prefix` is prepended to field paths.
///
/// Takes the request by value so the series moves into the plugin input
/// rather than being copied; field paths are only formatted for violations
/// (this runs once per series in bulk streams).
pub fn forecast(
    request: ForecastRequest,
    ctx: Context<'_>,
    prefix: &str,
) -> Result<ValidForecast, ApiError> {
    let field = |name: &str| format!("{prefix}{name}");
    check_forecast_sizes(&request, ctx.limits, prefix)?;
    let model = resolve(request.model.as_ref(), ctx.registry, prefix)?;
    if model.kind() != wire::ModelKind::Forecast {
        return Err(ApiError::FailedPrecondition(format!(
            "{}: '{}' is a risk model; call RiskService.ScoreRisk, or pick a forecast model",
            field("model.name"),
            model.description.name
        )));
    }

    let ForecastRequest {
        source,
        horizon,
        levels,
        params,
        request_id,
        interval_method,
        ..
    } = request;
    let series: Series = match source {
        Some(forecast_request::Source::Series(series)) => series,
        Some(forecast_request::Source::Dataset(name)) => ctx
            .datasets
            .get(&name)
            .and_then(|d| d.series.clone())
            .ok_or_else(|| {
                ApiError::NotFound(format!(
                    "{}: no dataset '{}' (available: {})",
                    field("dataset"),
                    shown(&name),
                    ctx.datasets.names().join(", ")
                ))
            })?,
        None => {
            return Err(ApiError::invalid(
                field("series"),
                "a forecast needs the history: set `series`, or `dataset` to a name from ListDatasets",
            ));
        }
    };

    let mut violations = Violations::new(ctx.limits.max_violations);
    let checked = check_series(&series, prefix, "series", ctx.limits, &mut violations)?;
    if horizon == 0 {
        violations.push(FieldViolation::new(field("horizon"), "must be at least 1"));
    }
    if stratus_proto::v1::IntervalMethod::try_from(interval_method).is_err() {
        violations.push(FieldViolation::new(
            field("interval_method"),
            format!(
                "{interval_method} is not an interval method: INTERVAL_METHOD_MODEL (or unspecified) or INTERVAL_METHOD_CONFORMAL"
            ),
        ));
    }
    let levels = check_levels(&levels, prefix, "levels", &mut violations);
    let params = check_params(
        &params,
        &model.description.params,
        prefix,
        "params",
        &mut violations,
    );
    violations.into_result()?;
    let Some((cadence, last)) = checked else {
        return Err(ApiError::Internal(
            "series passed validation without a cadence".into(),
        ));
    };

    let input = wire::ForecastInput {
        series: Some(to_wire_series(series, cadence)),
        horizon,
        levels,
        params,
        future_periods: (1..=i64::from(horizon))
            .map(|h| last.plus(h).to_string())
            .collect(),
        periods_per_year: cadence.periods_per_year(),
    };
    Ok(ValidForecast {
        model,
        input,
        request_id,
    })
}

/// Validates a risk request, except `demand` (see [`ValidRisk`]).
pub fn risk(request: &RiskRequest, ctx: Context<'_>) -> Result<ValidRisk, ApiError> {
    check_risk_sizes(request, ctx.limits)?;
    let model = resolve(request.model.as_ref(), ctx.registry, "")?;
    if model.kind() != wire::ModelKind::Risk {
        return Err(ApiError::FailedPrecondition(format!(
            "model.name: '{}' is a forecast model; call ForecastService.Forecast, or pick a risk model",
            model.description.name
        )));
    }
    let mut violations = Violations::new(ctx.limits.max_violations);
    let inputs = &model.description.inputs;
    for (name, value) in sorted(&request.indicators) {
        let field = format!("indicators[{}]", shown(name));
        match inputs.iter().find(|spec| &spec.name == name) {
            None => violations.push(FieldViolation::new(
                field,
                format!(
                    "'{}' does not read '{}'; it reads: {}",
                    model.description.name,
                    shown(name),
                    names(inputs)
                ),
            )),
            Some(spec) => check_value(*value, spec, &field, &mut violations),
        }
    }
    let mut series = HashMap::new();
    for (role, s) in sorted(&request.series) {
        if let Some((cadence, _)) = check_series(
            s,
            "",
            &format!("series[{}]", shown(role)),
            ctx.limits,
            &mut violations,
        )? {
            series.insert(role.clone(), to_wire_series(s.clone(), cadence));
        }
    }
    let params = check_params(
        &request.params,
        &model.description.params,
        "",
        "params",
        &mut violations,
    );
    violations.into_result()?;
    Ok(ValidRisk {
        model,
        input: wire::RiskInput {
            subject: request.subject.clone(),
            indicators: request.indicators.clone(),
            series,
            params,
        },
    })
}

/// The counts and string lengths of a forecast request, checked before
/// anything is looked up or built from them.
fn check_forecast_sizes(
    request: &ForecastRequest,
    limits: Limits,
    prefix: &str,
) -> Result<(), ApiError> {
    let field = |name: &str| format!("{prefix}{name}");
    if let Some(model) = &request.model {
        string_within(&model.name, limits, || field("model.name"))?;
        string_within(&model.version, limits, || field("model.version"))?;
    }
    if let Some(forecast_request::Source::Dataset(name)) = &request.source {
        string_within(name, limits, || field("dataset"))?;
    }
    string_within(&request.request_id, limits, || field("request_id"))?;
    if request.horizon > limits.max_horizon {
        return Err(ApiError::LimitExceeded(FieldViolation::new(
            field("horizon"),
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
        || field("levels"),
    )?;
    let intervals =
        u64::from(request.horizon) * request.levels.len().max(DEFAULT_LEVELS.len()) as u64;
    if intervals > limits.max_answer_intervals {
        return Err(ApiError::LimitExceeded(FieldViolation::new(
            field("levels"),
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
        &field("params"),
    )
}

/// The counts and string lengths of a risk request (its `demand` forecast
/// is checked as a forecast when it runs).
fn check_risk_sizes(request: &RiskRequest, limits: Limits) -> Result<(), ApiError> {
    if let Some(model) = &request.model {
        string_within(&model.name, limits, || "model.name".into())?;
        string_within(&model.version, limits, || "model.version".into())?;
    }
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
    )
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

fn resolve(
    model: Option<&stratus_proto::v1::ModelRef>,
    registry: &PluginRegistry,
    prefix: &str,
) -> Result<Arc<LoadedModel>, ApiError> {
    let (name, version) = model.map_or(("", ""), |m| (m.name.as_str(), m.version.as_str()));
    registry
        .resolve(name, version)
        .map_err(|error| match error {
            ApiError::InvalidArgument(mut v) => {
                v.iter_mut().for_each(|v| v.field.insert_str(0, prefix));
                ApiError::InvalidArgument(v)
            }
            ApiError::NotFound(message) if !prefix.is_empty() => {
                ApiError::NotFound(format!("{prefix}{message}"))
            }
            other => other,
        })
}

/// Checks a series (field path `{prefix}{name}`); returns its cadence and
/// last period when it is usable. Over-limit series fail at once: their size
/// is the problem, not a field.
pub(crate) fn check_series(
    series: &Series,
    prefix: &str,
    name: &str,
    limits: Limits,
    violations: &mut Violations,
) -> Result<Option<(Cadence, Period)>, ApiError> {
    const MAX_REPORTED: usize = 10;
    let observations = &series.observations;
    let path = |part: &str| format!("{prefix}{name}.{part}");
    at_most(
        observations.len(),
        limits.max_observations,
        "observations",
        "--max-observations",
        || path("observations"),
    )?;
    string_within(&series.name, limits, || path("name"))?;
    string_within(&series.unit, limits, || path("unit"))?;
    let start = violations.len();
    let Some(cadence) = Cadence::from_api(series.frequency) else {
        violations.push(FieldViolation::new(
            format!("{prefix}{name}.frequency"),
            "must be FREQUENCY_ANNUAL, FREQUENCY_QUARTERLY or FREQUENCY_MONTHLY",
        ));
        return Ok(None);
    };
    if observations.is_empty() {
        violations.push(FieldViolation::new(
            format!("{prefix}{name}.observations"),
            "must not be empty",
        ));
        return Ok(None);
    }
    let mut previous: Option<Period> = None;
    for (i, observation) in observations.iter().enumerate() {
        if violations.len() - start >= MAX_REPORTED || violations.is_full() {
            break;
        }
        let at = |part: &str| format!("{prefix}{name}.observations[{i}].{part}");
        string_within(&observation.period, limits, || at("period"))?;
        if !observation.value.is_finite() {
            violations.push(FieldViolation::new(
                at("value"),
                format!("{} is not a finite number", observation.value),
            ));
        } else if observation.value.abs() > MAX_ABS_VALUE {
            violations.push(FieldViolation::new(
                at("value"),
                format!(
                    "{:e} is beyond the accepted magnitude of {MAX_ABS_VALUE:e}; rescale the series (e.g. report in billions)",
                    observation.value
                ),
            ));
        }
        let Some(period) = cadence.parse(&observation.period) else {
            violations.push(FieldViolation::new(
                at("period"),
                format!(
                    "'{}' is not a {cadence} period ({})",
                    shown(&observation.period),
                    cadence.format_hint()
                ),
            ));
            previous = None;
            continue;
        };
        if let Some(previous) = previous {
            let problem = if period == previous {
                Some(format!("{period} repeats the previous period"))
            } else if period < previous {
                Some(format!(
                    "{period} comes before {previous}; periods must be oldest first"
                ))
            } else if !previous.is_followed_by(period) {
                Some(format!(
                    "{period} does not directly follow {previous}; periods must be consecutive"
                ))
            } else {
                None
            };
            if let Some(problem) = problem {
                violations.push(FieldViolation::new(at("period"), problem));
            }
        }
        previous = Some(period);
    }
    Ok(match previous {
        Some(last) if violations.len() == start => Some((cadence, last)),
        _ => None,
    })
}

pub(crate) fn check_levels(
    levels: &[f64],
    prefix: &str,
    name: &str,
    violations: &mut Violations,
) -> Vec<f64> {
    if levels.is_empty() {
        return DEFAULT_LEVELS.to_vec();
    }
    let mut valid = Vec::with_capacity(levels.len());
    for (i, &level) in levels.iter().enumerate() {
        if level.is_finite() && level > 0.0 && level <= MAX_LEVEL {
            valid.push(level);
        } else {
            violations.push(FieldViolation::new(
                format!("{prefix}{name}[{i}]"),
                format!(
                    "{level} is not a coverage in percent above 0 and at most {MAX_LEVEL} (wider intervals are unbounded)"
                ),
            ));
        }
    }
    valid.sort_by(f64::total_cmp);
    valid.dedup();
    valid
}

fn check_params(
    given: &HashMap<String, f64>,
    specs: &[wire::ParamSpec],
    prefix: &str,
    field: &str,
    violations: &mut Violations,
) -> HashMap<String, f64> {
    for (name, value) in sorted(given) {
        let at = format!("{prefix}{field}[{}]", shown(name));
        match specs.iter().find(|spec| &spec.name == name) {
            None => violations.push(FieldViolation::new(
                at,
                if specs.is_empty() {
                    "this model takes no parameters".to_owned()
                } else {
                    format!("unknown parameter; this model accepts: {}", names(specs))
                },
            )),
            Some(spec) => check_value(*value, spec, &at, violations),
        }
    }
    specs
        .iter()
        .map(|spec| {
            (
                spec.name.clone(),
                given.get(&spec.name).copied().unwrap_or(spec.default_value),
            )
        })
        .collect()
}

pub(crate) fn check_value(
    value: f64,
    spec: &wire::ParamSpec,
    field: &str,
    violations: &mut Violations,
) {
    if !value.is_finite() {
        violations.push(FieldViolation::new(
            field,
            format!("{value} is not a finite number"),
        ));
    } else if value < spec.min || value > spec.max {
        violations.push(FieldViolation::new(
            field,
            format!(
                "{value} is outside the accepted range [{}, {}]",
                spec.min, spec.max
            ),
        ));
    }
}

fn to_wire_series(series: Series, cadence: Cadence) -> wire::Series {
    wire::Series {
        name: series.name,
        unit: series.unit,
        frequency: wire_frequency(cadence),
        observations: series
            .observations
            .into_iter()
            .map(|o| wire::Observation {
                period: o.period,
                value: o.value,
            })
            .collect(),
    }
}

fn wire_frequency(cadence: Cadence) -> i32 {
    let frequency = match cadence {
        Cadence::Annual => wire::Frequency::Annual,
        Cadence::Quarterly => wire::Frequency::Quarterly,
        Cadence::Monthly => wire::Frequency::Monthly,
    };
    frequency as i32
}

fn names(specs: &[wire::ParamSpec]) -> String {
    specs
        .iter()
        .map(|s| s.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Map entries in name order, so messages are deterministic.
pub(crate) fn sorted<V>(map: &HashMap<String, V>) -> Vec<(&String, &V)> {
    let order: BTreeSet<&String> = map.keys().collect();
    order
        .into_iter()
        .filter_map(|k| map.get_key_value(k))
        .collect()
}
