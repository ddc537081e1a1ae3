//! `ModelService`: what is loaded, and the rescan admin call.

use std::sync::Arc;

use stratus_proto::v1::model_service_server::ModelService;
use stratus_proto::v1::{
    GetModelRequest, ListModelsRequest, ListModelsResponse, ModelInfo, ReloadModelsRequest,
    ReloadModelsResponse,
};
use tonic::{Request, Response, Status};

use super::AppState;
use crate::error::ApiError;
use crate::model_info::{self, Detail};
use crate::plugin::registry::Snapshot;
use crate::telemetry::observe;

/// The `ModelService` implementation.
#[derive(Debug, Clone)]
pub struct ModelApi {
    state: Arc<AppState>,
}

impl ModelApi {
    /// A service over the shared state.
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

/// Every loaded model (each version) then every refused library.
fn all(snapshot: &Snapshot) -> Vec<ModelInfo> {
    let loaded = snapshot
        .models
        .values()
        .flatten()
        .map(|m| model_info::loaded(m, Detail::Full));
    loaded
        .chain(snapshot.refused.iter().map(model_info::refused))
        .collect()
}

#[tonic::async_trait]
impl ModelService for ModelApi {
    async fn list_models(
        &self,
        _: Request<ListModelsRequest>,
    ) -> Result<Response<ListModelsResponse>, Status> {
        observe("ListModels", "", async {
            Ok(ListModelsResponse {
                models: all(&self.state.registry.snapshot()),
            })
        })
        .await
    }

    async fn get_model(
        &self,
        request: Request<GetModelRequest>,
    ) -> Result<Response<ModelInfo>, Status> {
        let model = request.into_inner().model.unwrap_or_default();
        observe("GetModel", &model.name, async {
            let loaded = super::resolve::model(&self.state, Some(&model), "model")?;
            Ok(model_info::loaded(&loaded, Detail::Full))
        })
        .await
    }

    async fn reload_models(
        &self,
        request: Request<ReloadModelsRequest>,
    ) -> Result<Response<ReloadModelsResponse>, Status> {
        let authorized = self
            .state
            .admin
            .authorize(request.metadata(), request.remote_addr());
        observe("ReloadModels", "", async {
            authorized?;
            let snapshot = self.state.reloader.rescan().await.map_err(|e| {
                ApiError::Internal(format!(
                    "cannot read the plugin folder {}: {e}",
                    self.state.registry.dir().display()
                ))
            })?;
            Ok(ReloadModelsResponse {
                models: all(&snapshot),
            })
        })
        .await
    }
}
