//! The gRPC services. Each handler validates (see `validate`), calls the
//! model off the async workers, checks what came back, and answers.

mod dataset;
mod forecast;
mod model;
mod risk;

use std::sync::Arc;

pub use dataset::DatasetApi;
pub use forecast::ForecastApi;
pub use model::ModelApi;
pub use risk::RiskApi;

use stratus_plugin::wire;

use crate::dataset::DatasetCatalog;
use crate::deadline::Budget;
use crate::error::ApiError;
use crate::plugin::{LoadedModel, PluginRegistry};
use crate::validate::{Context, Limits};

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

impl AppState {
    fn context(&self) -> Context<'_> {
        Context {
            registry: &self.registry,
            datasets: &self.datasets,
            limits: self.limits,
        }
    }
}

/// Why model work gave no result.
enum Offload {
    /// The budget's deadline passed first (the work runs on, unwatched).
    Late(std::time::Duration),
    /// The work panicked or was abandoned.
    Lost(crate::model_pool::CallLost),
}

/// Runs model work on the model pool, so a slow model cannot stall the async
/// workers that serve other calls and health checks, and waits for it at
/// most until the budget's deadline.
async fn offload<T: Send + 'static>(
    state: &AppState,
    budget: Budget,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Offload> {
    let started = tokio::time::Instant::now();
    match tokio::time::timeout_at(budget.call_deadline(), state.models.run(work)).await {
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
    budget: Budget,
) -> Result<wire::InvokeResponse, ApiError> {
    let task_model = Arc::clone(model);
    let name = &model.description.name;
    match offload(state, budget, move || task_model.invoke(&request)).await {
        Ok(answer) => answer,
        Err(Offload::Lost(e)) => {
            Err(model.failed(format!("model '{name}' call did not complete: {e}")))
        }
        Err(Offload::Late(waited)) => Err(ApiError::DeadlineExceeded(format!(
            "model '{name}' {} did not answer within {waited:?} (the caller's deadline or this server's --call-timeout-ms)",
            model.description.version
        ))),
    }
}
