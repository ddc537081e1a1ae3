//! The gRPC services. Each handler validates (see `validate`), calls the
//! model off the async workers, checks what came back, and answers.

mod calibrated;
mod dataset;
mod ensemble;
mod evaluation;
mod forecast;
mod model;
mod resolve;
mod risk;

use std::sync::Arc;

pub use dataset::DatasetApi;
pub use evaluation::EvaluationApi;
pub use forecast::{ForecastApi, answer_problem};
pub use model::ModelApi;
pub use risk::RiskApi;

use stratus_plugin_abi::wire;

use crate::dataset::DatasetCatalog;
use crate::deadline::Budget;
use crate::error::ApiError;
use crate::model_pool::CallStatus;
use crate::plugin::{LoadedModel, PluginRegistry};
use crate::validate::Limits;

/// What every service shares: the models, the datasets and the limits.
#[derive(Debug)]
pub struct AppState {
    /// Loaded models.
    pub registry: Arc<PluginRegistry>,
    /// Reference datasets.
    pub datasets: DatasetCatalog,
    /// Request size limits.
    pub limits: Limits,
    /// Longest a single model call may take.
    pub call_timeout: std::time::Duration,
    /// Who may call admin RPCs.
    pub admin: crate::admin::AdminPolicy,
    /// Runs rescans off the serving threads.
    pub reloader: crate::reload::Reloader,
    /// Runs model calls off the async workers.
    pub models: crate::model_pool::ModelPool,
}

/// Runs one forecast request through the whole forecast path (validation,
/// the model pool, the answer checks), for callers inside the server such as
/// backtests.
pub(crate) async fn forecast_run(
    state: &AppState,
    request: stratus_proto::v1::ForecastRequest,
    budget: Budget,
) -> Result<stratus_proto::v1::ForecastResponse, ApiError> {
    forecast::run(state, request, "", budget).await
}

pub(crate) use forecast::with_request_id;
pub(crate) use resolve::dataset as dataset_series;
pub(crate) use resolve::model as resolve_model;

/// The history a forecast request names: its inline series, or the dataset
/// (empty if neither resolves; callers use it after validation passed, for
/// what the model's input does not carry back, such as an ensemble's history).
pub(crate) fn request_series(
    state: &AppState,
    request: &stratus_proto::v1::ForecastRequest,
) -> stratus_proto::v1::Series {
    use stratus_proto::v1::forecast_request::Source;
    match &request.source {
        Some(Source::Series(series)) => series.clone(),
        Some(Source::Dataset(name)) => state
            .datasets
            .get(name)
            .and_then(|d| d.series.clone())
            .unwrap_or_default(),
        None => Default::default(),
    }
}

/// The cadence of a forecast's points, read from their labels (the
/// server's own, so inference is exact); `None` without points.
pub(crate) fn answer_cadence(
    points: &[stratus_proto::v1::ForecastPoint],
) -> Option<stratus_series::Cadence> {
    points
        .first()
        .and_then(|p| stratus_series::Cadence::infer(&p.period))
}

/// The model forecasts one forecast request causes: one per ensemble member
/// (plus the 3-origin weighting backtest of a weighted ensemble), times the
/// conformal calibration's origins plus one.
pub(crate) fn forecast_cost(request: &stratus_proto::v1::ForecastRequest) -> u64 {
    use stratus_proto::v1::{Combination, IntervalMethod};
    let members = request.ensemble.as_ref().map_or(1, |e| {
        let k = e.members.len().max(1) as u64;
        if e.combination == Combination::BacktestWeighted as i32 {
            k + 3 * k
        } else {
            k
        }
    });
    let calibration = if request.interval_method == IntervalMethod::Conformal as i32 {
        1 + calibrated::CALIBRATION_ORIGINS as u64
    } else {
        1
    };
    members * calibration
}

/// `RESOURCE_EXHAUSTED` naming `--max-forecasts-per-call` when a call would
/// cause more than that many model forecasts.
pub(crate) fn check_cost(cost: u64, limits: Limits) -> Result<(), ApiError> {
    if cost <= limits.max_forecasts_per_call {
        return Ok(());
    }
    Err(ApiError::LimitExceeded(crate::error::FieldViolation::new(
        "request",
        format!(
            "this call would run {cost} model forecasts (backtest origins × entries × ensemble members × conformal calibration), above this server's limit of {} (--max-forecasts-per-call)",
            limits.max_forecasts_per_call
        ),
    )))
}

/// Runs the forecasts of a composite call (backtest, conformal intervals,
/// ensemble) a few at a time, answers in order: about one per model thread,
/// so one call cannot fill the model queue for everyone, and each forecast's
/// input (a series prefix) is built only when it is about to run.
pub(crate) async fn run_bounded<T>(
    state: &AppState,
    calls: impl Iterator<Item = impl std::future::Future<Output = T>>,
) -> Vec<T> {
    use futures::StreamExt;
    let width = state.models.threads().max(2);
    futures::stream::iter(calls).buffered(width).collect().await
}

/// Why model work gave no result.
enum Offload {
    /// The budget's deadline passed first (a call already running goes on,
    /// unwatched; one still queued is dropped unrun).
    Late(std::time::Duration),
    /// The work panicked or was abandoned.
    Lost(crate::model_pool::CallLost),
    /// The model pool's queue is full.
    Full(crate::model_pool::PoolFull),
}

/// How long a caller refused for a full queue is asked to wait: about the
/// time a queue of ordinary calls takes to drain.
const RETRY_AFTER: std::time::Duration = std::time::Duration::from_millis(200);

impl Offload {
    /// The status for work that gave no result, for calls whose error names
    /// no single model (stream batches).
    fn into_error(self, what: &str) -> ApiError {
        match self {
            Offload::Lost(lost) => ApiError::Internal(format!("{what} did not complete: {lost}")),
            Offload::Late(waited) => ApiError::DeadlineExceeded(format!(
                "{what} did not finish within {waited:?} (the caller's deadline or this server's --call-timeout-ms)"
            )),
            Offload::Full(full) => ApiError::Busy {
                message: format!("the server is at capacity: {full}; retry shortly"),
                retry_after: RETRY_AFTER,
            },
        }
    }
}

/// Runs model work on the model pool, so a slow model cannot stall the async
/// workers that serve other calls and health checks, and waits for it at
/// most until the budget's deadline. Work still queued when the caller
/// leaves is dropped unrun.
async fn offload<T: Send + 'static>(
    state: &AppState,
    budget: Budget,
    work: impl FnOnce(&CallStatus<'_>) -> T + Send + 'static,
) -> Result<T, Offload> {
    let started = tokio::time::Instant::now();
    let deadline = budget.call_deadline();
    let call = state
        .models
        .run(deadline.into_std(), work)
        .map_err(Offload::Full)?;
    match tokio::time::timeout_at(deadline, call).await {
        Ok(done) => done.map_err(Offload::Lost),
        Err(_) => Err(Offload::Late(started.elapsed())),
    }
}

/// Calls one model off the async workers with an encoded `InvokeRequest`.
/// The `Arc` keeps the model's library instance alive until the call
/// returns, whatever a reload does meanwhile.
async fn invoke(
    state: &AppState,
    model: &Arc<LoadedModel>,
    request: Vec<u8>,
    shape: CallShape,
    budget: Budget,
) -> Result<wire::InvokeResponse, ApiError> {
    let span = shape.span(crate::traces::current_rpc().as_ref(), model, 1);
    tracing::Instrument::instrument(invoke_model(state, model, request, budget), span).await
}

/// The size of a plugin call, for its trace span: observations in and
/// steps asked for (0 for a risk call).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CallShape {
    /// Observations in the model's input (all series of a risk call).
    pub series_length: usize,
    /// Steps forecast.
    pub horizon: usize,
}

impl CallShape {
    /// The span of `calls` plugin calls of this shape to `model`, under
    /// `rpc` (the call's trace span, if it is traced).
    fn span(self, rpc: Option<&tracing::Span>, model: &LoadedModel, calls: usize) -> tracing::Span {
        crate::traces::plugin_span(
            rpc,
            &model.description.name,
            &model.description.version,
            &model.sha256,
            self.series_length,
            self.horizon,
            calls,
        )
    }
}

/// [`invoke`] without its span.
async fn invoke_model(
    state: &AppState,
    model: &Arc<LoadedModel>,
    request: Vec<u8>,
    budget: Budget,
) -> Result<wire::InvokeResponse, ApiError> {
    if let Some(answer) = model
        .invoke_isolated(&request, budget.call_deadline())
        .await
    {
        return answer;
    }
    let task_model = Arc::clone(model);
    let name = &model.description.name;
    match offload(state, budget, move |status| {
        task_model.invoke(&request, status.deadline())
    })
    .await
    {
        Ok(answer) => answer,
        Err(Offload::Lost(e)) => Err(model.failed_as(
            "panic",
            format!("model '{name}' call did not complete: {e}"),
        )),
        Err(late_or_full) => {
            Err(late_or_full.into_error(&format!("model '{name}' {}", model.description.version)))
        }
    }
}
