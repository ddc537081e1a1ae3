//! `ForecastService`: one series (`Forecast`) or many (`ForecastStream`).

use std::pin::Pin;
use std::sync::Arc;

use futures::{Stream, StreamExt};
use stratus_plugin_abi::calls::encode_forecast_call;
use stratus_plugin_abi::wire;
use stratus_proto::v1::forecast_service_server::ForecastService;
use stratus_proto::v1::{
    ForecastPoint, ForecastRequest, ForecastResponse, IntervalMethod, Scenario,
};
use tonic::{Request, Response, Status, Streaming};

use super::{AppState, invoke, offload, resolve};
use crate::deadline::Budget;
use crate::error::ApiError;
use crate::model_info::{self, Detail};
use crate::plugin::LoadedModel;
use crate::plugin::registry::Isolation;
use crate::request_budget::Ledger;
use crate::telemetry::{self, observe};
use crate::validate;

/// Most stream requests worked on in one batch (one hand-off to the
/// model pool).
const STREAM_BATCH: usize = 64;
/// Batches of one stream in flight at once (on 2+ cores, one computing while
/// the next is validated). Responses still leave in request order.
const STREAM_PIPELINE: usize = 2;

/// Most scenarios one answer may carry: with `--max-answer-intervals` this
/// bounds the size of any forecast answer, whatever a plugin returns.
const MAX_SCENARIOS: usize = 16;

/// The `ForecastService` implementation.
#[derive(Debug, Clone)]
pub struct ForecastApi {
    state: Arc<AppState>,
}

impl ForecastApi {
    /// A service over the shared state.
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

/// A validated request, ready to send to its model.
struct Prepared {
    model: Arc<LoadedModel>,
    /// The encoded plugin `InvokeRequest`.
    call: Vec<u8>,
    series_name: String,
    periods: Vec<String>,
    levels: Vec<f64>,
    request_id: String,
    /// The call's size, for its trace span.
    shape: super::CallShape,
}

/// Resolves and validates a request and encodes the model's input. Encoding
/// happens here, on the async worker, from a borrowed input, so the parts
/// the response needs back (period labels, levels, series name) move out of
/// it afterwards instead of being copied.
fn prepare(state: &AppState, request: ForecastRequest, prefix: &str) -> Result<Prepared, ApiError> {
    let (model, validate::ValidForecast { input, request_id }) =
        resolve::forecast(state, request, prefix)?;
    let shape = super::CallShape {
        series_length: input.series.as_ref().map_or(0, |s| s.observations.len()),
        horizon: input.future_periods.len(),
    };
    crate::traces::record_shape(shape.series_length, shape.horizon);
    Ok(Prepared {
        model,
        shape,
        call: encode_forecast_call(&input),
        series_name: input.series.map(|s| s.name).unwrap_or_default(),
        periods: input.future_periods,
        levels: input.levels,
        request_id,
    })
}

/// Validates, runs and checks one forecast request, with the intervals the
/// request asks for (the model's own, or conformal).
pub(crate) async fn run(
    state: &AppState,
    request: ForecastRequest,
    prefix: &str,
    budget: Budget,
) -> Result<ForecastResponse, ApiError> {
    let composite =
        request.interval_method == IntervalMethod::Conformal as i32 || request.ensemble.is_some();
    // Every composite request is held to --max-forecasts-per-call, a
    // risk request's `demand` included (a backtest checks its whole plan
    // first; each origin's share then passes again).
    if composite {
        super::check_cost(super::forecast_cost(&request), state.limits)
            .map_err(|e| e.within(prefix))?;
    }
    if request.interval_method == IntervalMethod::Conformal as i32 {
        super::calibrated::run(state, request, prefix, budget).await
    } else {
        run_uncalibrated(state, request, prefix, budget).await
    }
}

/// [`run`] with the intervals of the model, or of an ensemble's members.
pub(crate) async fn run_uncalibrated(
    state: &AppState,
    request: ForecastRequest,
    prefix: &str,
    budget: Budget,
) -> Result<ForecastResponse, ApiError> {
    if request.ensemble.is_some() {
        super::ensemble::run(state, request, prefix, budget).await
    } else {
        run_model(state, request, prefix, budget).await
    }
}

/// [`run`] with the model's own intervals.
pub(crate) async fn run_model(
    state: &AppState,
    request: ForecastRequest,
    prefix: &str,
    budget: Budget,
) -> Result<ForecastResponse, ApiError> {
    let mut prepared = prepare(state, request, prefix)?;
    let call = std::mem::take(&mut prepared.call);
    let response = invoke(state, &prepared.model, call, prepared.shape, budget)
        .await
        .map_err(|error| match error {
            // A model's refusal names a field of the forecast; nested in a
            // risk request that is `demand.<field>`. (Its other messages
            // name the model, not a field: they stay as they are.)
            invalid @ ApiError::InvalidArgument(_) => invalid.within(prefix),
            other => other,
        })?;
    finish(prepared, response)
}

/// Checks a model's answer and turns it into the API response.
fn finish(
    prepared: Prepared,
    response: wire::InvokeResponse,
) -> Result<ForecastResponse, ApiError> {
    let Prepared {
        model,
        series_name,
        periods,
        levels,
        request_id,
        ..
    } = prepared;
    let Some(wire::invoke_response::Result::Forecast(output)) = response.result else {
        return Err(model.failed(format!(
            "model '{}' answered a forecast call with something else",
            model.description.name
        )));
    };
    let horizon = periods.len();
    let check = |points: &[wire::ForecastPoint], what: &str| {
        check_points(&model, points, &levels, horizon, what)
    };
    check(&output.points, "points")?;
    if output.scenarios.len() > MAX_SCENARIOS {
        return Err(model.failed(format!(
            "model '{}' returned {} scenarios; at most {MAX_SCENARIOS} are served",
            model.description.name,
            output.scenarios.len()
        )));
    }
    for scenario in &output.scenarios {
        check(&scenario.points, &format!("scenario '{}'", scenario.name))?;
    }
    let to_api = |points: Vec<wire::ForecastPoint>, periods: Vec<String>| -> Vec<ForecastPoint> {
        points
            .into_iter()
            .zip(periods)
            .map(|(point, period)| ForecastPoint::from_wire(point, period))
            .collect()
    };
    Ok(ForecastResponse {
        model: Some(model_info::loaded(&model, Detail::Identity)),
        series_name,
        scenarios: output
            .scenarios
            .into_iter()
            .map(|s| Scenario {
                name: s.name,
                points: to_api(s.points, periods.clone()),
            })
            .collect(),
        points: to_api(output.points, periods),
        fitted: output.fitted,
        notes: output.notes,
        request_id,
        members: Vec::new(),
    })
}

/// Runs a batch of stream requests: each is validated, then all the valid
/// ones go to the model pool in one hand-off (per-call hand-offs cost more
/// than a cheap model's arithmetic), then each answer is checked. Answers
/// keep request order; the first failure ends the batch (and the stream).
async fn run_batch(
    state: &AppState,
    requests: Vec<ForecastRequest>,
    budget: Budget,
) -> Vec<Result<ForecastResponse, Status>> {
    if requests
        .iter()
        .any(|r| r.interval_method == IntervalMethod::Conformal as i32 || r.ensemble.is_some())
    {
        // Conformal and ensemble requests run several forecasts each; take
        // them one at a time (answers keep request order, the first failure
        // ends the batch).
        let mut out = Vec::with_capacity(requests.len());
        for request in requests {
            let id = request.request_id.clone();
            let result = run(state, request, "", budget).await;
            let failed = result.is_err();
            out.push(result.map_err(|e| with_request_id(e.into(), &id)));
            if failed {
                break;
            }
        }
        return out;
    }
    let mut prepared = Vec::with_capacity(requests.len());
    let mut failure = None;
    for request in requests {
        let id = request.request_id.clone();
        match prepare(state, request, "") {
            Ok(p) => prepared.push(p),
            Err(error) => {
                failure = Some(with_request_id(error.into(), &id));
                break;
            }
        }
    }
    let calls: Vec<(Arc<LoadedModel>, Vec<u8>)> = prepared
        .iter_mut()
        .map(|p| (Arc::clone(&p.model), std::mem::take(&mut p.call)))
        .collect();
    // Series in one batch differ in length; the span shows the first one's
    // shape and how many calls the batch holds.
    let shape = prepared.first().map(|p| p.shape).unwrap_or_default();
    // A batch for one isolated model goes to its host process as one
    // message, awaited with no model-pool thread: the host does the work, and
    // several batches can queue at the host while its workers are busy.
    let isolated = calls
        .first()
        .map(|(first, _)| Arc::clone(first))
        .filter(|first| first.isolation() == Isolation::Process)
        .filter(|first| calls.iter().all(|(model, _)| Arc::ptr_eq(model, first)));
    let batch = match isolated {
        Some(model) => {
            let requests: Vec<Vec<u8>> = calls.into_iter().map(|(_, request)| request).collect();
            let span = shape.span(
                crate::traces::current_rpc().as_ref(),
                &model,
                requests.len(),
            );
            let answers = tracing::Instrument::instrument(
                model.invoke_isolated_batch(&requests, budget.call_deadline()),
                span,
            )
            .await;
            Ok(answers.unwrap_or_default())
        }
        None => {
            // The pool thread is not in the RPC's task: each run's span is
            // made under the RPC span explicitly.
            let rpc_span = crate::traces::current_rpc();
            offload(state, budget, move |status| {
                // Runs of consecutive calls to one model go as one batch (one
                // message each way to an isolated model's host). Stop between items
                // once nobody waits: a batch of long series is many seconds of work.
                let mut answers = Vec::with_capacity(calls.len());
                let mut calls = calls.into_iter().peekable();
                while let Some((model, first)) = calls.next() {
                    let mut run = vec![first];
                    while let Some((_, request)) =
                        calls.next_if(|(next, _)| Arc::ptr_eq(next, &model))
                    {
                        run.push(request);
                    }
                    let span = shape.span(rpc_span.as_ref(), &model, run.len());
                    let done = span.in_scope(|| {
                        model.invoke_batch(&run, status.deadline(), || !status.abandoned())
                    });
                    let complete = done.len() == run.len();
                    answers.extend(done);
                    if !complete || status.abandoned() {
                        break;
                    }
                }
                answers
            })
            .await
        }
    };
    let mut out = Vec::with_capacity(prepared.len() + 1);
    match batch {
        Ok(answers) => {
            let unanswered = prepared.len() - answers.len().min(prepared.len());
            for (p, answer) in prepared.into_iter().zip(answers) {
                let id = p.request_id.clone();
                let result = answer.and_then(|response| finish(p, response));
                let failed = result.is_err();
                out.push(result.map_err(|e| with_request_id(e.into(), &id)));
                if failed {
                    return out;
                }
            }
            if unanswered > 0 {
                // The batch stopped early because its deadline passed: say
                // so rather than end the stream as if all were answered.
                out.push(Err(Status::deadline_exceeded(format!(
                    "{unanswered} stream requests were not run: the call's deadline passed (the caller's deadline or --call-timeout-ms)"
                ))));
                return out;
            }
        }
        Err(failed) => out.push(Err(failed.into_error("a batch of stream requests").into())),
    }
    out.extend(failure.map(Err));
    out
}

/// A model's points must cover the horizon, with finite means and one ordered
/// interval per requested level; anything else is the model's bug. Scenario
/// points may carry no intervals at all (a scenario is a path, not a
/// distribution), but if they carry some, they carry them all.
fn check_points(
    model: &LoadedModel,
    points: &[wire::ForecastPoint],
    levels: &[f64],
    horizon: usize,
    what: &str,
) -> Result<(), ApiError> {
    answer_problem(points, levels, horizon, what != "points").map_err(|problem| {
        model.failed(format!(
            "model '{}' returned {what} with {problem}",
            model.description.name
        ))
    })
}

/// What is wrong with a path of forecast points a plugin answered, if
/// anything (see `check_points`); `scenario` paths may omit intervals.
/// Public so the fuzz targets can feed it arbitrary plugin answers.
pub fn answer_problem(
    points: &[wire::ForecastPoint],
    levels: &[f64],
    horizon: usize,
    scenario: bool,
) -> Result<(), String> {
    if points.len() != horizon {
        return Err(format!("{} steps for a horizon of {horizon}", points.len()));
    }
    for (h, p) in points.iter().enumerate() {
        let step = h + 1;
        if !p.mean.is_finite() {
            return Err(format!("a non-finite mean at step {step}"));
        }
        let optional = scenario && p.intervals.is_empty();
        if p.intervals.len() != levels.len() && !optional {
            return Err(format!(
                "{} intervals at step {step} for {} levels",
                p.intervals.len(),
                levels.len()
            ));
        }
        for (i, &level) in p.intervals.iter().zip(levels) {
            let ordered = i.lower.is_finite() && i.upper.is_finite() && i.lower <= i.upper;
            if i.level != level || !ordered {
                return Err(format!("a malformed {level}% interval at step {step}"));
            }
        }
    }
    Ok(())
}

type ResponseStream = Pin<Box<dyn Stream<Item = Result<ForecastResponse, Status>> + Send>>;

#[tonic::async_trait]
impl ForecastService for ForecastApi {
    async fn forecast(
        &self,
        request: Request<ForecastRequest>,
    ) -> Result<Response<ForecastResponse>, Status> {
        let budget = Budget::from_metadata(request.metadata(), self.state.call_timeout);
        let request = request.into_inner();
        let model = request
            .model
            .as_ref()
            .map(|m| m.name.clone())
            .unwrap_or_default();
        observe("Forecast", &model, run(&self.state, request, "", budget)).await
    }

    type ForecastStreamStream = ResponseStream;

    async fn forecast_stream(
        &self,
        request: Request<Streaming<ForecastRequest>>,
    ) -> Result<Response<Self::ForecastStreamStream>, Status> {
        let state = Arc::clone(&self.state);
        let budget = Budget::from_metadata(request.metadata(), state.call_timeout);
        let ledger = Ledger::of(&request);
        let responses = request
            .into_inner()
            // Whatever has arrived, up to a batch, is worked on together.
            .ready_chunks(STREAM_BATCH)
            .map(move |chunk| {
                let state = Arc::clone(&state);
                let ledger = ledger.clone();
                async move {
                    let messages = chunk.len();
                    let mut requests = Vec::with_capacity(chunk.len());
                    let mut transport_error = None;
                    for item in chunk {
                        match item {
                            Ok(request) => requests.push(request),
                            Err(status) => {
                                transport_error = Some(status);
                                break;
                            }
                        }
                    }
                    let model = requests
                        .first()
                        .and_then(|r| r.model.as_ref())
                        .map(|m| m.name.clone())
                        .unwrap_or_default();
                    let span = tracing::debug_span!(
                        "rpc",
                        rpc = "ForecastStream",
                        model,
                        batch = requests.len()
                    );
                    let mut out =
                        tracing::Instrument::instrument(run_batch(&state, requests, budget), span)
                            .await;
                    out.extend(transport_error.map(Err));
                    // Answered: these messages' bytes no longer count.
                    ledger.release(messages);
                    futures::stream::iter(out)
                }
            })
            .buffered(STREAM_PIPELINE)
            .flatten();
        // A stream's requests may name different models; the status that
        // ends it names the one that failed.
        Ok(Response::new(Box::pin(telemetry::until_first_error(
            "ForecastStream",
            responses,
        ))))
    }
}

/// A stream item's status, prefixed with its `request_id`.
pub(crate) fn with_request_id(status: Status, request_id: &str) -> Status {
    let message = format!(
        "request_id '{}': {}",
        crate::limits::shown(request_id),
        status.message()
    );
    if status.details().is_empty() {
        return Status::new(status.code(), message);
    }
    // The details repeat the message (they are a google.rpc.Status), and
    // clients such as grpcio-status refuse a status whose two messages
    // differ: rebuild them around the new one.
    use tonic_types::StatusExt;
    Status::with_error_details_vec(status.code(), message, status.get_error_details_vec())
}
