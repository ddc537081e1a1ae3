//! `RiskService`: scores risk, optionally composed with a demand forecast.

use std::sync::Arc;

use prost::Message;
use stratus_plugin::wire;
use stratus_proto::v1::risk_service_server::RiskService;
use stratus_proto::v1::{Factor, RiskBand, RiskRequest, RiskResponse};
use tonic::{Request, Response, Status};

use super::{AppState, forecast, invoke};
use crate::deadline::Budget;
use crate::error::ApiError;
use crate::model_info::{self, Detail};
use crate::period::Cadence;
use crate::telemetry::observe;
use crate::validate;

/// The series name under which a composed demand forecast reaches the model.
pub const DEMAND_FORECAST_SERIES: &str = "demand_forecast";

/// The `RiskService` implementation.
#[derive(Debug, Clone)]
pub struct RiskApi {
    state: Arc<AppState>,
}

impl RiskApi {
    /// A service over the shared state.
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

async fn run(
    state: &AppState,
    request: RiskRequest,
    budget: Budget,
) -> Result<RiskResponse, ApiError> {
    let mut valid = validate::risk(&request, state.context())?;
    let mut notes = Vec::new();
    if let Some(demand) = request.demand.clone() {
        // Any forecast model can feed any risk model: the forecast path
        // reaches the risk model as one more series.
        let forecast = forecast::run(state, demand, "demand.", budget).await?;
        let model = forecast.model.clone().unwrap_or_default();
        notes.push(format!(
            "Demand path from forecast model '{}' {} (library sha256 {}), passed as series '{DEMAND_FORECAST_SERIES}'.",
            model.name, model.version, model.sha256
        ));
        // The forecast's own period labels say its frequency; no need to
        // resolve the demand request's source a second time.
        let frequency = forecast
            .points
            .first()
            .and_then(|p| Cadence::infer(&p.period))
            .map_or(0, |c| c.to_api() as i32);
        valid.input.series.insert(
            DEMAND_FORECAST_SERIES.to_owned(),
            wire::Series {
                name: forecast.series_name.clone(),
                unit: String::new(),
                frequency,
                observations: forecast
                    .points
                    .iter()
                    .map(|p| wire::Observation {
                        period: p.period.clone(),
                        value: p.mean,
                    })
                    .collect(),
            },
        );
    }

    let response = invoke(
        state,
        &valid.model,
        wire::InvokeRequest {
            call: Some(wire::invoke_request::Call::Risk(valid.input)),
        }
        .encode_to_vec(),
        budget,
    )
    .await?;
    let Some(wire::invoke_response::Result::Risk(output)) = response.result else {
        return Err(valid.model.failed(format!(
            "model '{}' answered a risk call with something else",
            valid.model.description.name
        )));
    };
    let band = RiskBand::try_from(output.band).unwrap_or(RiskBand::Unspecified);
    let sane = output.score.is_finite()
        && (0.0..=100.0).contains(&output.score)
        && band != RiskBand::Unspecified
        && output
            .factors
            .iter()
            .all(|f| f.value.is_finite() && f.contribution.is_finite());
    if !sane {
        return Err(valid.model.failed(format!(
            "model '{}' returned a score outside 0-100, no band, or non-finite factors",
            valid.model.description.name
        )));
    }
    notes.extend(output.notes);
    Ok(RiskResponse {
        model: Some(model_info::loaded(&valid.model, Detail::Identity)),
        subject: request.subject,
        score: output.score,
        band: band as i32,
        factors: output
            .factors
            .into_iter()
            .map(|f| Factor {
                indicator: f.indicator,
                value: f.value,
                contribution: f.contribution,
                explanation: f.explanation,
            })
            .collect(),
        notes,
    })
}

#[tonic::async_trait]
impl RiskService for RiskApi {
    async fn score_risk(
        &self,
        request: Request<RiskRequest>,
    ) -> Result<Response<RiskResponse>, Status> {
        let budget = Budget::from_metadata(request.metadata(), self.state.call_timeout);
        let request = request.into_inner();
        let model = request
            .model
            .as_ref()
            .map(|m| m.name.clone())
            .unwrap_or_default();
        observe("ScoreRisk", &model, run(&self.state, request, budget)).await
    }
}
