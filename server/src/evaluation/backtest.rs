//! Rolling-origin backtests: check a `BacktestRequest` ([`plan`]), forecast
//! from every origin with every model through the ordinary forecast path
//! ([`run`]: the same validation, model pool and answer checks as a
//! `Forecast` call), and score each origin against what happened next,
//! beside Naive2 computed here on the same origins.

use std::collections::HashMap;
use std::sync::Arc;

use stratus_plugin_abi::wire;
use stratus_proto::v1::{
    BacktestRequest, BacktestResponse, Ensemble, ForecastPoint, ForecastRequest, LevelCoverage,
    ModelInfo, ModelKind, ModelRef, ModelScore, OriginResult, Series, backtest_request,
    forecast_request,
};

use super::{metrics, naive2};
use crate::deadline::Budget;
use crate::error::{ApiError, FieldViolation, Violations};
use crate::limits::shown;
use crate::model_info::{self, Detail};
use crate::plugin::LoadedModel;
use crate::service::AppState;
use crate::validate;
use stratus_series::Cadence;

/// The interval level MSIS is computed at, and its alpha.
const MSIS_LEVEL: f64 = 95.0;

/// A backtest that passed validation.
#[derive(Debug)]
pub struct Plan {
    models: Vec<Arc<LoadedModel>>,
    series: Series,
    cadence: Cadence,
    horizon: u32,
    /// Observations each origin trains on, oldest origin first.
    train_sizes: Vec<usize>,
    levels: Vec<f64>,
    params: HashMap<String, f64>,
    request_id: String,
    interval_method: i32,
    ensembles: Vec<Ensemble>,
}

/// Checks a backtest request: the models (forecast models, at most
/// `--max-backtest-models`), the series, horizon, origins and step (the
/// series must be long enough for every origin to train on more than a
/// year), levels and params (each param declared by a requested model and
/// in its range).
pub fn plan(request: BacktestRequest, ctx: &AppState) -> Result<Plan, ApiError> {
    let limits = ctx.limits;
    let BacktestRequest {
        models,
        source,
        horizon,
        origins,
        step,
        levels,
        params,
        request_id,
        interval_method,
        ensembles,
    } = request;
    validate::string_within(&request_id, limits, || "request_id".into())?;
    validate::at_most(
        models.len() + ensembles.len(),
        limits.max_backtest_models,
        "models and ensembles",
        "--max-backtest-models",
        || "models".into(),
    )?;
    validate::at_most(
        levels.len(),
        limits.max_levels,
        "levels",
        "--max-levels",
        || "levels".into(),
    )?;
    validate::check_map_keys(
        params.keys(),
        limits,
        limits.max_params,
        "--max-params",
        "params",
    )?;
    if horizon > limits.max_horizon {
        return Err(ApiError::LimitExceeded(FieldViolation::new(
            "horizon",
            format!(
                "{horizon} is above this server's limit of {} (--max-horizon)",
                limits.max_horizon
            ),
        )));
    }
    let origins = origins.max(1);
    if origins > limits.max_backtest_origins {
        return Err(ApiError::LimitExceeded(FieldViolation::new(
            "origins",
            format!(
                "{origins} is above this server's limit of {} (--max-backtest-origins)",
                limits.max_backtest_origins
            ),
        )));
    }
    let step = step.max(1) as usize;
    if models.is_empty() && ensembles.is_empty() {
        return Err(ApiError::invalid(
            "models",
            "name at least one forecast model (or ensemble) to score; ListModels shows what is loaded",
        ));
    }
    let mut resolved = Vec::with_capacity(models.len());
    for (i, model) in models.iter().enumerate() {
        validate::string_within(&model.name, limits, || format!("models[{i}].name"))?;
        validate::string_within(&model.version, limits, || format!("models[{i}].version"))?;
        let loaded = crate::service::resolve_model(ctx, Some(model), &format!("models[{i}]"))?;
        if loaded.kind() != wire::ModelKind::Forecast {
            return Err(ApiError::FailedPrecondition(format!(
                "models[{i}].name: '{}' is a risk model; a backtest scores forecast models",
                loaded.description.name
            )));
        }
        resolved.push(loaded);
    }

    let series = match source {
        Some(backtest_request::Source::Series(series)) => series,
        Some(backtest_request::Source::Dataset(name)) => {
            validate::string_within(&name, limits, || "dataset".into())?;
            crate::service::dataset_series(ctx, &name, "dataset")?
        }
        None => {
            return Err(ApiError::invalid(
                "series",
                "a backtest needs the history: set `series`, or `dataset` to a name from ListDatasets",
            ));
        }
    };

    // The forecasts this backtest will run, nested features included.
    let per_origin: u64 = std::iter::repeat_n(
        ForecastRequest {
            interval_method,
            ..Default::default()
        },
        resolved.len(),
    )
    .chain(ensembles.iter().map(|e| ForecastRequest {
        interval_method,
        ensemble: Some(e.clone()),
        ..Default::default()
    }))
    .map(|r| crate::service::forecast_cost(&r))
    .sum();
    crate::service::check_cost(per_origin * u64::from(origins), limits)?;
    // Ensemble members declare params too.
    let mut declaring_models = resolved.clone();
    for ensemble in &ensembles {
        for member in &ensemble.members {
            if let Ok(model) = ctx.registry.resolve(&member.name, &member.version) {
                declaring_models.push(model);
            }
        }
    }

    let mut violations = Violations::new(limits.max_violations);
    let shape = validate::check_series(&series, "series", limits, &mut violations)?;
    if horizon == 0 {
        violations.push(FieldViolation::new("horizon", "must be at least 1"));
    }
    let levels = validate::check_levels(&levels, "levels", &mut violations);
    for (name, value) in validate::sorted(&params) {
        let field = format!("params[{}]", shown(name));
        let declaring: Vec<&wire::ParamSpec> = declaring_models
            .iter()
            .filter_map(|m| m.description.params.iter().find(|p| &p.name == name))
            .collect();
        if declaring.is_empty() {
            violations.push(FieldViolation::new(
                field.clone(),
                "no requested model declares this parameter",
            ));
        }
        for spec in declaring {
            validate::check_value(*value, spec, &field, &mut violations);
        }
    }
    if stratus_proto::v1::IntervalMethod::try_from(interval_method).is_err() {
        violations.push(FieldViolation::new(
            "interval_method",
            format!("{interval_method} is not an interval method"),
        ));
    }
    let cadence = violations.finish(shape)?.cadence;

    // Every origin must train on more than a year, so MASE has a scale.
    let n = series.observations.len();
    let m = cadence.periods_per_year() as usize;
    let needed = horizon as usize + (origins as usize - 1) * step + m + 1;
    if n < needed {
        return Err(ApiError::invalid(
            "series.observations",
            format!(
                "a backtest with horizon {horizon}, {origins} origins and step {step} needs at least {needed} observations \
                 (horizon + (origins - 1) × step + {} to train on, so that MASE has a {m}-period scale); the series has {n}",
                m + 1
            ),
        ));
    }
    let k = origins as usize;
    let train_sizes = (0..k)
        .map(|j| n - horizon as usize - (k - 1 - j) * step)
        .collect();
    Ok(Plan {
        models: resolved,
        series,
        cadence,
        horizon,
        train_sizes,
        levels,
        params,
        request_id,
        interval_method,
        ensembles,
    })
}

/// Runs every model from every origin (concurrently, on the model pool) and
/// scores them. A model that refuses or fails at an origin is reported
/// unscored with the reason (naming the origin) while the others are
/// scored; a refusal of the whole call (the server at capacity, a deadline)
/// fails the backtest.
///
/// The future is boxed: backtests and backtest-weighted ensembles call each
/// other (an ensemble weighs its members by a backtest), and a named,
/// `Send` future type is what lets the compiler see through that cycle.
pub fn run(
    state: &AppState,
    plan: Plan,
    budget: Budget,
) -> std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<BacktestResponse, ApiError>> + Send + '_>,
> {
    Box::pin(run_plan(state, plan, budget))
}

async fn run_plan(
    state: &AppState,
    plan: Plan,
    budget: Budget,
) -> Result<BacktestResponse, ApiError> {
    // One deadline for every forecast of the backtest.
    let budget = budget.fixed_from_now();
    let horizon = plan.horizon as usize;
    let m = plan.cadence.periods_per_year() as usize;
    let values: Vec<f64> = plan.series.observations.iter().map(|o| o.value).collect();

    // One forecast per (entry, origin): the entry's model or ensemble on the
    // history before the origin; built lazily, run a few at a time.
    let template = ForecastRequest {
        horizon: plan.horizon,
        levels: plan.levels.clone(),
        interval_method: plan.interval_method,
        ..Default::default()
    };
    let mut entries: Vec<(String, ForecastRequest)> = Vec::new();
    for (i, model) in plan.models.iter().enumerate() {
        let (name, version) = (&model.description.name, &model.description.version);
        entries.push((
            format!("models[{i}] ('{name}' {version})"),
            ForecastRequest {
                model: Some(ModelRef {
                    name: name.clone(),
                    version: version.clone(),
                }),
                params: declared(&plan.params, &model.description.params),
                ..template.clone()
            },
        ));
    }
    for (e, ensemble) in plan.ensembles.iter().enumerate() {
        entries.push((
            format!("ensembles[{e}]"),
            ForecastRequest {
                ensemble: Some(ensemble.clone()),
                params: plan.params.clone(),
                ..template.clone()
            },
        ));
    }
    // Owned jobs (a request without its series is small): closures over
    // borrowed items would not be `Send` for every lifetime.
    let mut jobs: Vec<(String, ForecastRequest, usize, usize)> = Vec::new();
    for (who, request) in &entries {
        for (j, &train) in plan.train_sizes.iter().enumerate() {
            jobs.push((who.clone(), request.clone(), j, train));
        }
    }
    let series = &plan.series;
    let calls = jobs
        .into_iter()
        .map(move |(who, request, j, train)| async move {
            let request = ForecastRequest {
                source: Some(forecast_request::Source::Series(Series {
                    observations: series.observations[..train].to_vec(),
                    ..series.clone()
                })),
                ..request
            };
            let context =
                format!("{who} at origin {j} (trained on the first {train} observations)");
            crate::service::forecast_run(state, request, budget)
                .await
                .map_err(|error| error.in_context(&context))
        });
    let mut answers = crate::service::run_bounded(state, calls).await.into_iter();

    let origins = plan.train_sizes.len();
    let naive2_paths: Vec<Vec<f64>> = plan
        .train_sizes
        .iter()
        .map(|&train| naive2::forecast(&values[..train], m, horizon))
        .collect();
    let scorer = Scorer {
        values: &values,
        series: &plan.series,
        train_sizes: &plan.train_sizes,
        m,
        horizon,
    };
    let naive2 = scorer.naive2(&naive2_paths);
    let entries: Vec<ModelInfo> = plan
        .models
        .iter()
        .map(|m| model_info::loaded(m, Detail::Identity))
        .chain(plan.ensembles.iter().map(|e| ModelInfo {
            name: "ensemble".into(),
            kind: ModelKind::Forecast as i32,
            description: format!("{} members", e.members.len()),
            ..Default::default()
        }))
        .collect();
    let mut scores = Vec::with_capacity(entries.len());
    for mut info in entries {
        let mut paths = Vec::with_capacity(origins);
        let mut refusal = None;
        for _ in 0..origins {
            let answer = answers
                .next()
                .ok_or_else(|| ApiError::Internal("a backtest forecast went missing".into()))?;
            match answer {
                Ok(answer) => {
                    // An ensemble's answer describes it (its combination).
                    if let Some(model) = answer.model.filter(|m| m.name == "ensemble") {
                        info = model;
                    }
                    paths.push(answer.points);
                }
                Err(
                    error @ (ApiError::InvalidArgument(_)
                    | ApiError::Internal(_)
                    | ApiError::FailedPrecondition(_)
                    | ApiError::NotFound(_)),
                ) => {
                    refusal.get_or_insert(error);
                }
                Err(other) => return Err(other),
            }
        }
        scores.push(match refusal {
            None => scorer.model(info, paths, &plan.levels, &naive2),
            Some(error) => unscored(info, &error),
        });
    }
    Ok(BacktestResponse {
        series_name: plan.series.name.clone(),
        scores,
        request_id: plan.request_id,
        naive2: Some(naive2),
    })
}

/// The params of `params` that `specs` declares.
pub(crate) fn declared(
    params: &HashMap<String, f64>,
    specs: &[stratus_plugin_abi::wire::ParamSpec],
) -> HashMap<String, f64> {
    params
        .iter()
        .filter(|(name, _)| specs.iter().any(|p| &p.name == *name))
        .map(|(name, value)| (name.clone(), *value))
        .collect()
}

/// The score of a model that could not be scored, saying why.
fn unscored(model: ModelInfo, error: &ApiError) -> ModelScore {
    ModelScore {
        model: Some(model),
        smape: f64::NAN,
        mase: f64::NAN,
        owa: f64::NAN,
        coverage: Vec::new(),
        msis: f64::NAN,
        origins: Vec::new(),
        error: error.to_string(),
    }
}

/// What scoring needs about the series and the origins.
struct Scorer<'a> {
    values: &'a [f64],
    series: &'a Series,
    train_sizes: &'a [usize],
    m: usize,
    horizon: usize,
}

impl Scorer<'_> {
    fn actuals(&self, train: usize) -> &[f64] {
        &self.values[train..train + self.horizon]
    }

    fn scale(&self, train: usize) -> f64 {
        // `plan` guarantees more than `m` training observations.
        metrics::seasonal_scale(&self.values[..train], self.m).unwrap_or(f64::NAN)
    }

    /// Naive2's score (its own OWA is 1), with its paths as points.
    fn naive2(&self, paths: &[Vec<f64>]) -> ModelScore {
        let mut origins = Vec::with_capacity(paths.len());
        for (&train, path) in self.train_sizes.iter().zip(paths) {
            let actuals = self.actuals(train);
            origins.push(OriginResult {
                train_size: train as u32,
                points: path
                    .iter()
                    .zip(&self.series.observations[train..train + self.horizon])
                    .map(|(&mean, actual)| ForecastPoint {
                        period: actual.period.clone(),
                        mean,
                        growth: 0.0,
                        intervals: Vec::new(),
                    })
                    .collect(),
                actuals: actuals.to_vec(),
                smape: metrics::smape(actuals, path),
                mase: metrics::mase(actuals, path, self.scale(train)),
            });
        }
        let (smape, mase) = averages(&origins);
        ModelScore {
            model: Some(ModelInfo {
                name: "naive2".into(),
                kind: ModelKind::Forecast as i32,
                description: "Naive on the seasonally adjusted series (M4's benchmark), computed by the server".into(),
                ..Default::default()
            }),
            smape,
            mase,
            owa: 1.0,
            coverage: Vec::new(),
            msis: f64::NAN,
            origins,
            error: String::new(),
        }
    }

    fn model(
        &self,
        model: ModelInfo,
        paths: Vec<Vec<ForecastPoint>>,
        levels: &[f64],
        naive2: &ModelScore,
    ) -> ModelScore {
        let mut origins = Vec::with_capacity(paths.len());
        let mut covered: Vec<Vec<f64>> = vec![Vec::new(); levels.len()];
        let mut msis = Vec::new();
        for (&train, points) in self.train_sizes.iter().zip(paths) {
            let actuals = self.actuals(train);
            let means: Vec<f64> = points.iter().map(|p| p.mean).collect();
            let scale = self.scale(train);
            for (l, &level) in levels.iter().enumerate() {
                let bounds = bounds_at(&points, level);
                covered[l].push(metrics::coverage(actuals, &bounds));
                if level == MSIS_LEVEL {
                    let alpha = 1.0 - MSIS_LEVEL / 100.0;
                    msis.push(metrics::msis(actuals, &bounds, alpha, scale));
                }
            }
            origins.push(OriginResult {
                train_size: train as u32,
                actuals: actuals.to_vec(),
                smape: metrics::smape(actuals, &means),
                mase: metrics::mase(actuals, &means, scale),
                points,
            });
        }
        let (smape, mase) = averages(&origins);
        ModelScore {
            model: Some(model),
            smape,
            mase,
            owa: 0.5 * (ratio(smape, naive2.smape) + ratio(mase, naive2.mase)),
            coverage: levels
                .iter()
                .zip(&covered)
                .map(|(&level, shares)| LevelCoverage {
                    level,
                    coverage: metrics::mean(shares),
                })
                .collect(),
            msis: metrics::mean(&msis),
            origins,
            error: String::new(),
        }
    }
}

/// The (lower, upper) bounds of each point's `level` interval (NaN where a
/// point has none, which counts as not covered).
fn bounds_at(points: &[ForecastPoint], level: f64) -> Vec<(f64, f64)> {
    points
        .iter()
        .map(|p| p.bounds(level).unwrap_or((f64::NAN, f64::NAN)))
        .collect()
}

/// sMAPE and MASE averaged over origins.
fn averages(origins: &[OriginResult]) -> (f64, f64) {
    let smapes: Vec<f64> = origins.iter().map(|o| o.smape).collect();
    let mases: Vec<f64> = origins.iter().map(|o| o.mase).collect();
    (metrics::mean(&smapes), metrics::mean(&mases))
}

/// `a / b`, NaN when Naive2 was perfect (no ratio is meaningful then).
fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { f64::NAN }
}
