//! Logging setup and the per-RPC span: every call logs its method, model,
//! outcome (gRPC code) and latency in one structured line.

use std::future::Future;
use std::time::Instant;

use tracing::{Instrument, field};

use crate::error::ApiError;

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Installs the global subscriber. `RUST_LOG` overrides the default `info`.
pub fn init(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Runs one RPC inside a span named after it, then logs its outcome and
/// latency. `model` is the model name the request asked for, if any.
pub async fn observe<T>(
    rpc: &'static str,
    model: &str,
    call: impl Future<Output = Result<T, ApiError>>,
) -> Result<tonic::Response<T>, tonic::Status> {
    let span = tracing::info_span!("rpc", rpc, model = field::Empty);
    if !model.is_empty() {
        span.record("model", model);
    }
    let started = Instant::now();
    let result = call
        .instrument(span.clone())
        .await
        .map_err(tonic::Status::from);
    let latency_us = started.elapsed().as_micros() as u64;
    span.in_scope(|| match &result {
        Ok(_) => tracing::info!(outcome = "OK", latency_us, "rpc done"),
        Err(status) => tracing::info!(outcome = ?status.code(), latency_us, error = status.message(), "rpc done"),
    });
    result.map(tonic::Response::new)
}
