//! The safe traits a model implements, and the dispatch from a wire request.

use crate::{ModelError, wire};

/// A model that forecasts a series.
///
/// The server has already validated the input: the series is non-empty with
/// finite values and consecutive periods, levels are in (0, 100), and `params`
/// holds every declared parameter (defaults filled in) within its range.
pub trait ForecastModel: Send + Sync + 'static {
    /// Name, version, description and declared parameters.
    fn description(&self) -> wire::ModelDescription;
    /// Forecasts `input.horizon` periods ahead.
    fn forecast(&self, input: &wire::ForecastInput) -> Result<wire::ForecastOutput, ModelError>;
}

/// A model that scores risk from indicators.
///
/// The server has already checked every indicator against the range the
/// model declares for it (`inputs`) and refused undeclared ones; a model
/// checks only what a range cannot say (relations between indicators).
pub trait RiskModel: Send + Sync + 'static {
    /// Name, version, description, declared parameters and indicators.
    fn description(&self) -> wire::ModelDescription;
    /// Scores the input.
    fn score(&self, input: &wire::RiskInput) -> Result<wire::RiskOutput, ModelError>;
}

/// A model of either kind, as the export glue holds it.
pub enum Model {
    /// Answers forecast calls.
    Forecast(Box<dyn ForecastModel>),
    /// Answers risk calls.
    Risk(Box<dyn RiskModel>),
}

impl Model {
    /// The model's self-description, with its kind set from the trait it implements.
    pub fn description(&self) -> wire::ModelDescription {
        let (mut description, kind) = match self {
            Model::Forecast(model) => (model.description(), wire::ModelKind::Forecast),
            Model::Risk(model) => (model.description(), wire::ModelKind::Risk),
        };
        description.kind = kind as i32;
        description
    }

    /// Runs one call, refusing one of the wrong kind.
    pub fn invoke(&self, request: wire::InvokeRequest) -> Result<wire::InvokeResponse, ModelError> {
        use wire::{invoke_request::Call, invoke_response::Result as Reply};
        let result = match (self, request.call) {
            (Model::Forecast(model), Some(Call::Forecast(input))) => {
                Reply::Forecast(model.forecast(&input)?)
            }
            (Model::Risk(model), Some(Call::Risk(input))) => Reply::Risk(model.score(&input)?),
            (Model::Forecast(_), _) => {
                return Err(ModelError::failed_precondition(
                    "this is a forecast model; send a ForecastInput",
                ));
            }
            (Model::Risk(_), _) => {
                return Err(ModelError::failed_precondition(
                    "this is a risk model; send a RiskInput",
                ));
            }
        };
        Ok(wire::InvokeResponse {
            result: Some(result),
        })
    }
}
