//! `RiskService`: scores risk, optionally composed with a demand forecast.

use std::sync::Arc;

use stratus_plugin_abi::calls::encode_risk_call;
use stratus_plugin_abi::roles::DEMAND_FORECAST_SERIES;
use stratus_plugin_abi::wire;
use stratus_proto::mapping::band_to_api;
use stratus_proto::v1::risk_service_server::RiskService;
use stratus_proto::v1::{RiskBand, RiskRequest, RiskResponse};
use stratus_series::Cadence;
use tonic::{Request, Response, Status};

use super::{AppState, forecast, invoke, resolve};
use crate::deadline::Budget;
use crate::error::ApiError;
use crate::model_info::{self, Detail};
use crate::telemetry::observe;

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
    let (model, mut input) = resolve::risk(state, &request)?;
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
        // (They are the server's own labels, so inference is exact.)
        let frequency = super::answer_cadence(&forecast.points)
            .map_or(wire::Frequency::Unspecified, Cadence::to_wire);
        input.series.insert(
            DEMAND_FORECAST_SERIES.to_owned(),
            forecast.path_as_wire_series(frequency),
        );
    }

    let shape = super::CallShape {
        series_length: input.series.values().map(|s| s.observations.len()).sum(),
        horizon: 0,
    };
    let response = invoke(state, &model, encode_risk_call(&input), shape, budget).await?;
    let Some(wire::invoke_response::Result::Risk(output)) = response.result else {
        return Err(model.failed(format!(
            "model '{}' answered a risk call with something else",
            model.description.name
        )));
    };
    let band = band_to_api(output.band);
    let sane = output.score.is_finite()
        && (0.0..=100.0).contains(&output.score)
        && band != RiskBand::Unspecified
        && output
            .factors
            .iter()
            .all(|f| f.value.is_finite() && f.contribution.is_finite());
    if !sane {
        return Err(model.failed(format!(
            "model '{}' returned a score outside 0-100, no band, or non-finite factors",
            model.description.name
        )));
    }
    notes.extend(output.notes);
    Ok(RiskResponse {
        model: Some(model_info::loaded(&model, Detail::Identity)),
        subject: request.subject,
        score: output.score,
        band: band as i32,
        factors: output.factors.into_iter().map(Into::into).collect(),
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
