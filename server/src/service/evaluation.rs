//! `EvaluationService`: backtests of one series (`Backtest`) or many
//! (`BacktestStream`).

use std::pin::Pin;
use std::sync::Arc;

use futures::{Stream, StreamExt};
use stratus_proto::v1::evaluation_service_server::EvaluationService;
use stratus_proto::v1::{BacktestRequest, BacktestResponse};
use tonic::{Request, Response, Status, Streaming};

use super::AppState;
use crate::deadline::Budget;
use crate::error::ApiError;
use crate::evaluation::backtest;
use crate::telemetry::{self, observe};

/// Backtests of one stream worked on at once (each runs its own forecasts
/// concurrently); answers still leave in request order.
const STREAM_PIPELINE: usize = 2;

/// The `EvaluationService` implementation.
#[derive(Debug, Clone)]
pub struct EvaluationApi {
    state: Arc<AppState>,
}

impl EvaluationApi {
    /// A service over the shared state.
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

async fn run(
    state: &AppState,
    request: BacktestRequest,
    budget: Budget,
) -> Result<BacktestResponse, ApiError> {
    let plan = backtest::plan(request, state)?;
    backtest::run(state, plan, budget).await
}

/// The first model named, for the log line.
fn first_model(request: &BacktestRequest) -> String {
    request
        .models
        .first()
        .map(|m| m.name.clone())
        .unwrap_or_default()
}

type ResponseStream = Pin<Box<dyn Stream<Item = Result<BacktestResponse, Status>> + Send>>;

#[tonic::async_trait]
impl EvaluationService for EvaluationApi {
    async fn backtest(
        &self,
        request: Request<BacktestRequest>,
    ) -> Result<Response<BacktestResponse>, Status> {
        let budget = Budget::from_metadata(request.metadata(), self.state.call_timeout);
        let request = request.into_inner();
        let model = first_model(&request);
        observe("Backtest", &model, run(&self.state, request, budget)).await
    }

    type BacktestStreamStream = ResponseStream;

    async fn backtest_stream(
        &self,
        request: Request<Streaming<BacktestRequest>>,
    ) -> Result<Response<Self::BacktestStreamStream>, Status> {
        let state = Arc::clone(&self.state);
        let budget = Budget::from_metadata(request.metadata(), state.call_timeout);
        let ledger = crate::request_budget::Ledger::of(&request);
        let responses = request
            .into_inner()
            .map(move |item| {
                let (state, ledger) = (Arc::clone(&state), ledger.clone());
                async move {
                    let answer = match item {
                        Ok(request) => {
                            let id = request.request_id.clone();
                            run(&state, request, budget)
                                .await
                                .map_err(|e| super::with_request_id(e.into(), &id))
                        }
                        Err(status) => Err(status),
                    };
                    // Answered: this message's bytes no longer count.
                    ledger.release(1);
                    answer
                }
            })
            .buffered(STREAM_PIPELINE);
        Ok(Response::new(Box::pin(telemetry::until_first_error(
            "BacktestStream",
            responses,
        ))))
    }
}
