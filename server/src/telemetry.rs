//! Logging setup and the per-RPC outcome line: method, model, outcome (gRPC
//! code) and latency in one structured event.
//!
//! Levels follow what an operator acts on: a call the server failed
//! (INTERNAL, DEADLINE_EXCEEDED, UNAVAILABLE, ...) is a `warn`, a call the
//! caller got wrong (INVALID_ARGUMENT, NOT_FOUND, ...) an `info`, and a
//! successful call a `debug` (`RUST_LOG=stratus_server=debug` shows them).
//! Logging every success at the default level cost about a quarter of the
//! unary throughput (one formatted line and one unbuffered write per call:
//! naive `Forecast` went from 7.4k to 10.2k calls/s with `stratus bench` when
//! successes moved to `debug`).

use std::future::Future;
use std::time::Instant;

use tracing::Instrument;

use crate::error::ApiError;

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Installs the global subscriber: logs to stderr (`RUST_LOG` overrides the
/// default `info`) and, with `traces`, the span exporter's layer (which
/// sees only the trace spans, whatever `RUST_LOG` says).
pub fn init(format: LogFormat, traces: Option<&crate::traces::Exporter>) {
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let logs = match format {
        LogFormat::Text => logs.with_filter(filter).boxed(),
        LogFormat::Json => logs.json().with_filter(filter).boxed(),
    };
    tracing_subscriber::registry()
        .with(logs)
        .with(traces.map(crate::traces::Exporter::layer))
        .init();
}

/// Runs one RPC, then logs its outcome and latency at the level its outcome
/// deserves (see the module doc). `model` is the model name the request
/// asked for, if any. With debug logging on, the call also runs inside a span
/// named after the RPC, so events from inside it carry the RPC and model.
pub async fn observe<T: ModelStamp>(
    rpc: &'static str,
    model: &str,
    call: impl Future<Output = Result<T, ApiError>>,
) -> Result<tonic::Response<T>, tonic::Status> {
    let _inflight = crate::metrics::metrics().started();
    let started = Instant::now();
    // The name is the caller's, unchecked yet: log at most a prefix of it.
    let model = &*crate::limits::shown(model);
    crate::traces::record_model(model);
    let span = tracing::debug_span!("rpc", rpc, model);
    let result = call.instrument(span).await.map_err(tonic::Status::from);
    let latency_us = started.elapsed().as_micros() as u64;
    match &result {
        Ok(_) => tracing::debug!(rpc, model, outcome = "OK", latency_us, "rpc done"),
        Err(status) => log_failure(rpc, model, status, latency_us),
    }
    let (code, version) = match &result {
        Ok(answer) => (tonic::Code::Ok, answer.model_version().unwrap_or_default()),
        Err(status) => (status.code(), ""),
    };
    if let Ok(answer) = &result {
        crate::traces::record_answer(version, answer.model_sha256().unwrap_or_default());
    }
    crate::metrics::metrics().answered(
        crate::metrics::RequestLabels {
            rpc: rpc.to_owned(),
            model: crate::metrics::model_label(model),
            version: version.to_owned(),
            code: crate::metrics::code_label(code).to_owned(),
        },
        started.elapsed().as_secs_f64(),
    );
    result.map(tonic::Response::new)
}

/// A stream's outcome for the metrics: in flight while alive, recorded as
/// its final status (OK unless [`StreamOutcome::failed`] was called) when
/// the stream ends or its caller leaves.
#[derive(Debug)]
struct StreamOutcome {
    rpc: &'static str,
    started: Instant,
    code: tonic::Code,
    _inflight: crate::metrics::Inflight,
}

impl StreamOutcome {
    /// A stream of `rpc` starts.
    fn new(rpc: &'static str) -> Self {
        Self {
            rpc,
            started: Instant::now(),
            code: tonic::Code::Ok,
            _inflight: crate::metrics::metrics().started(),
        }
    }

    /// The stream ends with `code`.
    fn failed(&mut self, code: tonic::Code) {
        self.code = code;
    }
}

impl Drop for StreamOutcome {
    fn drop(&mut self) {
        crate::metrics::metrics().answered(
            crate::metrics::RequestLabels {
                rpc: self.rpc.to_owned(),
                model: String::new(),
                version: String::new(),
                code: crate::metrics::code_label(self.code).to_owned(),
            },
            self.started.elapsed().as_secs_f64(),
        );
    }
}

/// A response stream that ends at its first error: gRPC streams carry one
/// final status, and the responses before it have already been sent. The
/// error is logged as a failed call's would be, and the stream's outcome is
/// recorded in the metrics when it ends or its caller leaves.
pub fn until_first_error<T>(
    rpc: &'static str,
    stream: impl futures::Stream<Item = Result<T, tonic::Status>>,
) -> impl futures::Stream<Item = Result<T, tonic::Status>> {
    use futures::StreamExt;
    stream.scan(
        (false, StreamOutcome::new(rpc)),
        move |(failed, outcome), item| {
            if *failed {
                return futures::future::ready(None);
            }
            if let Err(status) = &item {
                *failed = true;
                outcome.failed(status.code());
                let latency_us = outcome.started.elapsed().as_micros() as u64;
                log_failure(rpc, "", status, latency_us);
            }
            futures::future::ready(Some(item))
        },
    )
}

/// The model version an answer is stamped with, for the `version` label of
/// `stratus_requests_total`.
pub trait ModelStamp {
    /// The version of the model that answered, if one did.
    fn model_version(&self) -> Option<&str> {
        None
    }

    /// The SHA-256 of the library that answered, if one did.
    fn model_sha256(&self) -> Option<&str> {
        None
    }
}

impl ModelStamp for stratus_proto::v1::ForecastResponse {
    fn model_version(&self) -> Option<&str> {
        self.model.as_ref().map(|m| m.version.as_str())
    }

    fn model_sha256(&self) -> Option<&str> {
        self.model.as_ref().map(|m| m.sha256.as_str())
    }
}

impl ModelStamp for stratus_proto::v1::RiskResponse {
    fn model_version(&self) -> Option<&str> {
        self.model.as_ref().map(|m| m.version.as_str())
    }

    fn model_sha256(&self) -> Option<&str> {
        self.model.as_ref().map(|m| m.sha256.as_str())
    }
}

impl ModelStamp for stratus_proto::v1::ModelInfo {
    fn model_version(&self) -> Option<&str> {
        Some(&self.version)
    }

    fn model_sha256(&self) -> Option<&str> {
        Some(&self.sha256)
    }
}

impl ModelStamp for stratus_proto::v1::ListModelsResponse {}
impl ModelStamp for stratus_proto::v1::ReloadModelsResponse {}
impl ModelStamp for stratus_proto::v1::ListDatasetsResponse {}
impl ModelStamp for stratus_proto::v1::Dataset {}
impl ModelStamp for stratus_proto::v1::BacktestResponse {}

/// Logs a call's error status: `warn` for a server fault, `info` for a
/// refused request. Streams call it for the status that ends them.
pub fn log_failure(rpc: &'static str, model: &str, status: &tonic::Status, latency_us: u64) {
    if is_server_fault(status.code()) {
        tracing::warn!(
            rpc,
            model,
            outcome = ?status.code(),
            latency_us,
            error = status.message(),
            "rpc failed"
        );
    } else {
        tracing::info!(
            rpc,
            model,
            outcome = ?status.code(),
            latency_us,
            error = status.message(),
            "rpc refused"
        );
    }
}

/// Whether a status reports the server's (or a plugin's) failure rather than
/// a mistake in the request.
fn is_server_fault(code: tonic::Code) -> bool {
    use tonic::Code;
    matches!(
        code,
        Code::Internal
            | Code::Unknown
            | Code::DeadlineExceeded
            | Code::Unavailable
            | Code::DataLoss
            | Code::Unimplemented
    )
}

/// Counts repeated events and lets one log line through per `every`, so an
/// attacker who triggers an event in a loop cannot flood the log.
#[derive(Debug)]
pub struct Throttle {
    every: std::time::Duration,
    epoch: Instant,
    /// Milliseconds after `epoch` of the last line let through, plus one (0:
    /// never).
    last: std::sync::atomic::AtomicU64,
    pending: std::sync::atomic::AtomicU64,
}

impl Throttle {
    /// A throttle letting one line through per `every`.
    pub fn new(every: std::time::Duration) -> Self {
        Self {
            every,
            epoch: Instant::now(),
            last: Default::default(),
            pending: Default::default(),
        }
    }

    /// Counts an event; `Some(n)` when a line may be logged now, `n` being
    /// the events since the last line (this one included).
    pub fn tick(&self) -> Option<u64> {
        use std::sync::atomic::Ordering::Relaxed;
        let pending = self.pending.fetch_add(1, Relaxed) + 1;
        let now = self.epoch.elapsed().as_millis() as u64 + 1;
        let last = self.last.load(Relaxed);
        let due = last == 0 || now.saturating_sub(last) >= self.every.as_millis() as u64;
        if due
            && self
                .last
                .compare_exchange(last, now, Relaxed, Relaxed)
                .is_ok()
        {
            Some(self.pending.swap(0, Relaxed).max(pending.min(1)))
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_throttle_lets_one_line_through_per_period_and_counts_the_rest() {
        let throttle = Throttle::new(std::time::Duration::from_secs(3600));
        assert_eq!(throttle.tick(), Some(1));
        for _ in 0..99 {
            assert_eq!(throttle.tick(), None);
        }
    }

    #[test]
    fn request_mistakes_are_not_server_faults() {
        assert!(is_server_fault(tonic::Code::Internal));
        assert!(is_server_fault(tonic::Code::DeadlineExceeded));
        assert!(!is_server_fault(tonic::Code::InvalidArgument));
        assert!(!is_server_fault(tonic::Code::NotFound));
        assert!(!is_server_fault(tonic::Code::PermissionDenied));
    }
}
