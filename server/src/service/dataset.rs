//! `DatasetService`: the reference series the server holds.

use std::sync::Arc;

use stratus_proto::v1::dataset_service_server::DatasetService;
use stratus_proto::v1::{Dataset, GetDatasetRequest, ListDatasetsRequest, ListDatasetsResponse};
use tonic::{Request, Response, Status};

use super::AppState;
use crate::error::ApiError;
use crate::telemetry::observe;

/// The `DatasetService` implementation.
#[derive(Debug, Clone)]
pub struct DatasetApi {
    state: Arc<AppState>,
}

impl DatasetApi {
    /// A service over the shared state.
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

#[tonic::async_trait]
impl DatasetService for DatasetApi {
    async fn list_datasets(
        &self,
        _: Request<ListDatasetsRequest>,
    ) -> Result<Response<ListDatasetsResponse>, Status> {
        observe("ListDatasets", "", async {
            let datasets = self
                .state
                .datasets
                .iter()
                .map(|d| {
                    let mut summary = d.clone();
                    if let Some(series) = summary.series.as_mut() {
                        series.observations.clear();
                    }
                    summary
                })
                .collect();
            Ok(ListDatasetsResponse { datasets })
        })
        .await
    }

    async fn get_dataset(
        &self,
        request: Request<GetDatasetRequest>,
    ) -> Result<Response<Dataset>, Status> {
        let name = request.into_inner().name;
        observe("GetDataset", "", async {
            if name.is_empty() {
                return Err(ApiError::invalid(
                    "name",
                    "is required; ListDatasets shows what is available",
                ));
            }
            self.state.datasets.get(&name).cloned().ok_or_else(|| {
                ApiError::NotFound(format!(
                    "name: no dataset '{}' (available: {})",
                    crate::limits::shown(&name),
                    self.state.datasets.names().join(", ")
                ))
            })
        })
        .await
    }
}
