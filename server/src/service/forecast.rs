//! `ForecastService`: one series (`Forecast`) or many (`ForecastStream`).

use std::pin::Pin;
use std::sync::Arc;

use futures::{Stream, StreamExt, future};
use stratus_plugin::wire;
use stratus_proto::v1::forecast_service_server::ForecastService;
use stratus_proto::v1::{ForecastPoint, ForecastRequest, ForecastResponse, Interval, Scenario};
use tonic::{Request, Response, Status, Streaming};

use super::{AppState, invoke};
use crate::deadline::Budget;
use crate::error::ApiError;
use crate::model_info::{self, Detail};
use crate::plugin::LoadedModel;
use crate::telemetry::observe;
use crate::validate;

/// How many requests of one stream are worked on at once. Responses still
/// leave in request order.
const STREAM_CONCURRENCY: usize = 8;

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

/// Validates, runs and checks one forecast request.
pub(crate) async fn run(
    state: &AppState,
    request: ForecastRequest,
    prefix: &str,
    budget: Budget,
) -> Result<ForecastResponse, ApiError> {
    let valid = validate::forecast(&request, state.context(), prefix)?;
    let series_name = valid
        .input
        .series
        .as_ref()
        .map(|s| s.name.clone())
        .unwrap_or_default();
    let periods = valid.input.future_periods.clone();
    let levels = valid.input.levels.clone();
    let response = invoke(
        &valid.model,
        wire::InvokeRequest {
            call: Some(wire::invoke_request::Call::Forecast(valid.input)),
        },
        budget,
    )
    .await?;
    let Some(wire::invoke_response::Result::Forecast(output)) = response.result else {
        return Err(valid.model.failed(format!(
            "model '{}' answered a forecast call with something else",
            valid.model.description.name
        )));
    };
    let horizon = periods.len();
    let check = |points: &[wire::ForecastPoint], what: &str| {
        check_points(&valid.model, points, &levels, horizon, what)
    };
    check(&output.points, "points")?;
    for scenario in &output.scenarios {
        check(&scenario.points, &format!("scenario '{}'", scenario.name))?;
    }
    let to_api = |points: Vec<wire::ForecastPoint>| -> Vec<ForecastPoint> {
        points
            .into_iter()
            .zip(&periods)
            .map(|(p, period)| ForecastPoint {
                period: period.clone(),
                mean: p.mean,
                growth: p.growth,
                intervals: p
                    .intervals
                    .into_iter()
                    .map(|i| Interval {
                        level: i.level,
                        lower: i.lower,
                        upper: i.upper,
                    })
                    .collect(),
            })
            .collect()
    };
    Ok(ForecastResponse {
        model: Some(model_info::loaded(&valid.model, Detail::Identity)),
        series_name,
        points: to_api(output.points),
        scenarios: output
            .scenarios
            .into_iter()
            .map(|s| Scenario {
                name: s.name,
                points: to_api(s.points),
            })
            .collect(),
        fitted: output.fitted,
        notes: output.notes,
        request_id: request.request_id,
    })
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
    let fail = |problem: String| {
        Err(model.failed(format!(
            "model '{}' returned {what} with {problem}",
            model.description.name
        )))
    };
    if points.len() != horizon {
        return fail(format!("{} steps for a horizon of {horizon}", points.len()));
    }
    for (h, p) in points.iter().enumerate() {
        let step = h + 1;
        if !p.mean.is_finite() {
            return fail(format!("a non-finite mean at step {step}"));
        }
        let optional = what != "points" && p.intervals.is_empty();
        if p.intervals.len() != levels.len() && !optional {
            return fail(format!(
                "{} intervals at step {step} for {} levels",
                p.intervals.len(),
                levels.len()
            ));
        }
        for (i, &level) in p.intervals.iter().zip(levels) {
            let ordered = i.lower.is_finite() && i.upper.is_finite() && i.lower <= i.upper;
            if i.level != level || !ordered {
                return fail(format!("a malformed {level}% interval at step {step}"));
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
        let responses = request
            .into_inner()
            .map(move |item| {
                let state = Arc::clone(&state);
                async move {
                    let request = item?;
                    let id = request.request_id.clone();
                    let model = request
                        .model
                        .as_ref()
                        .map(|m| m.name.clone())
                        .unwrap_or_default();
                    observe("ForecastStream", &model, run(&state, request, "", budget))
                        .await
                        .map(Response::into_inner)
                        .map_err(|status| with_request_id(status, &id))
                }
            })
            .buffered(STREAM_CONCURRENCY)
            // The first error ends the stream: gRPC streams carry one final
            // status, and the responses before it have already been sent.
            .scan(false, |failed, item| {
                if *failed {
                    return future::ready(None);
                }
                *failed = item.is_err();
                future::ready(Some(item))
            });
        Ok(Response::new(Box::pin(responses)))
    }
}

fn with_request_id(status: Status, request_id: &str) -> Status {
    let message = format!("request_id '{request_id}': {}", status.message());
    Status::with_details(status.code(), message, status.details().to_vec().into())
}
