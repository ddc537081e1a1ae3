//! Prometheus metrics: what an operator scrapes at `/metrics` on
//! `--metrics-listen` (off unless given).
//!
//! Counters and histograms are recorded where things happen (every RPC's
//! outcome in `telemetry::observe`, plugin loads in the registry, model
//! failures in `LoadedModel`); the gauges that describe a state (queue
//! depth, threads, models loaded, the process's memory, CPU and
//! descriptors) are read when scraped. Labels are bounded: a model label is
//! the name of a loaded model or empty (a caller's unknown name is never a
//! label), versions come from loaded models, codes from gRPC's fixed set.

use std::sync::{Arc, LazyLock};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::service::AppState;

/// An RPC's outcome.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The RPC, e.g. `Forecast`.
    pub rpc: String,
    /// A loaded model's name, or empty.
    pub model: String,
    /// The model's version, when the answer names it.
    pub version: String,
    /// The gRPC status code, e.g. `OK`.
    pub code: String,
}

/// An RPC's latency.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DurationLabels {
    /// The RPC.
    pub rpc: String,
    /// A loaded model's name, or empty.
    pub model: String,
}

/// A plugin library's load.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LoadLabels {
    /// `loaded` or `refused`.
    pub result: String,
}

/// A model's own failure.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FailureLabels {
    /// The model.
    pub model: String,
    /// Its version.
    pub version: String,
    /// `error` (the model reported one), `panic`, `garbage` (it broke the
    /// plugin contract) or `host_died` (its plugin host process ended).
    pub kind: String,
}

/// Per-model figures read at scrape time.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ModelLabels {
    /// The model.
    pub model: String,
    /// Its version.
    pub version: String,
}

/// The build.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BuildLabels {
    /// The server's version.
    pub version: String,
}

/// Every metric the server exports.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<DurationLabels, Histogram>,
    inflight: Gauge,
    queue_depth: Gauge,
    pool_threads: Gauge,
    plugin_loads: Family<LoadLabels, Counter>,
    plugin_failures: Family<FailureLabels, Counter>,
    host_restarts: Family<ModelLabels, Gauge>,
    models_loaded: Gauge,
    resident_bytes: Gauge,
    cpu_seconds: Gauge<f64, std::sync::atomic::AtomicU64>,
    open_fds: Gauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The registry whose loaded models may be labels (set at start).
static MODELS: std::sync::OnceLock<std::sync::Weak<crate::plugin::PluginRegistry>> =
    std::sync::OnceLock::new();

/// Lets `registry`'s loaded models be `model` labels; other names (a
/// caller's typo, an attack's random strings) are recorded as empty.
pub fn label_models_of(registry: &Arc<crate::plugin::PluginRegistry>) {
    let _ = MODELS.set(Arc::downgrade(registry));
}

/// `name` if it names a loaded model, else empty.
pub fn model_label(name: &str) -> String {
    let loaded = MODELS
        .get()
        .and_then(std::sync::Weak::upgrade)
        .is_some_and(|registry| registry.snapshot().models.contains_key(name));
    if loaded {
        name.to_owned()
    } else {
        String::new()
    }
}

/// A gRPC status code as Prometheus' gRPC exporters spell it.
pub fn code_label(code: tonic::Code) -> &'static str {
    use tonic::Code;
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// The server's metrics (recording costs a few atomic operations, so it is
/// always on; only serving them needs `--metrics-listen`).
pub fn metrics() -> &'static Metrics {
    &METRICS
}

fn duration_histogram() -> Histogram {
    // 100 µs to ~15 s.
    Histogram::new(exponential_buckets(0.0001, 2.5, 14))
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "stratus_requests",
            "RPCs answered, by RPC, model, version and gRPC status code",
            requests.clone(),
        );
        let durations = Family::<DurationLabels, Histogram>::new_with_constructor(
            duration_histogram as fn() -> Histogram,
        );
        registry.register(
            "stratus_request_duration_seconds",
            "RPC latency, from the request's arrival to its answer",
            durations.clone(),
        );
        let inflight = Gauge::default();
        registry.register(
            "stratus_inflight_requests",
            "RPCs being answered now",
            inflight.clone(),
        );
        let queue_depth = Gauge::default();
        registry.register(
            "stratus_model_queue_depth",
            "Model calls waiting for a model-pool thread",
            queue_depth.clone(),
        );
        let pool_threads = Gauge::default();
        registry.register(
            "stratus_model_pool_threads",
            "Threads running model calls (more while a stall is being worked around)",
            pool_threads.clone(),
        );
        let plugin_loads = Family::<LoadLabels, Counter>::default();
        registry.register(
            "stratus_plugin_loads",
            "Plugin libraries loaded or refused by scans of the plugin folder",
            plugin_loads.clone(),
        );
        let plugin_failures = Family::<FailureLabels, Counter>::default();
        registry.register(
            "stratus_plugin_failures",
            "Calls a model itself failed, by kind: error, panic, garbage, host_died",
            plugin_failures.clone(),
        );
        let host_restarts = Family::<ModelLabels, Gauge>::default();
        registry.register(
            "stratus_plugin_host_restarts",
            "Restarts of an isolated model's plugin host process since the model was loaded",
            host_restarts.clone(),
        );
        let models_loaded = Gauge::default();
        registry.register(
            "stratus_models_loaded",
            "Models being served",
            models_loaded.clone(),
        );
        let build = Family::<BuildLabels, Gauge>::default();
        build
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION").to_owned(),
            })
            .set(1);
        registry.register(
            "stratus_build_info",
            "The server's version (value 1)",
            build,
        );
        let resident_bytes = Gauge::default();
        registry.register(
            "process_resident_memory_bytes",
            "Resident memory of the server process",
            resident_bytes.clone(),
        );
        let cpu_seconds = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        registry.register(
            "process_cpu_seconds",
            "User and system CPU time of the server process",
            cpu_seconds.clone(),
        );
        let open_fds = Gauge::default();
        registry.register(
            "process_open_fds",
            "Open file descriptors of the server process",
            open_fds.clone(),
        );
        Self {
            registry,
            requests,
            durations,
            inflight,
            queue_depth,
            pool_threads,
            plugin_loads,
            plugin_failures,
            host_restarts,
            models_loaded,
            resident_bytes,
            cpu_seconds,
            open_fds,
        }
    }

    /// An RPC starts; the guard counts it in flight until dropped.
    pub fn started(&self) -> Inflight {
        self.inflight.inc();
        Inflight(())
    }

    /// An RPC's outcome and latency.
    pub fn answered(&self, labels: RequestLabels, seconds: f64) {
        self.durations
            .get_or_create(&DurationLabels {
                rpc: labels.rpc.clone(),
                model: labels.model.clone(),
            })
            .observe(seconds);
        self.requests.get_or_create(&labels).inc();
    }

    /// A plugin library was loaded (`true`) or refused.
    pub fn plugin_load(&self, loaded: bool) {
        let result = if loaded { "loaded" } else { "refused" };
        self.plugin_loads
            .get_or_create(&LoadLabels {
                result: result.to_owned(),
            })
            .inc();
    }

    /// A model failed a call itself.
    pub fn plugin_failure(&self, model: &str, version: &str, kind: &str) {
        self.plugin_failures
            .get_or_create(&FailureLabels {
                model: model.to_owned(),
                version: version.to_owned(),
                kind: kind.to_owned(),
            })
            .inc();
    }

    /// The text exposition of every metric, with the state gauges read now.
    pub fn render(&self, state: &AppState) -> String {
        self.queue_depth.set(state.models.queued() as i64);
        self.pool_threads.set(state.models.threads() as i64);
        let snapshot = state.registry.snapshot();
        self.models_loaded
            .set(snapshot.models.values().map(Vec::len).sum::<usize>() as i64);
        for model in snapshot.models.values().flatten() {
            if let Some((_, restarts, _)) = model.host() {
                self.host_restarts
                    .get_or_create(&ModelLabels {
                        model: model.description.name.clone(),
                        version: model.description.version.clone(),
                    })
                    .set(i64::from(restarts));
            }
        }
        let process = ProcessFigures::read();
        self.resident_bytes.set(process.resident_bytes);
        self.cpu_seconds.set(process.cpu_seconds);
        self.open_fds.set(process.open_fds);
        let mut text = String::new();
        if prometheus_client::encoding::text::encode(&mut text, &self.registry).is_err() {
            text.clear();
        }
        text
    }
}

/// Counts an RPC in flight while alive.
#[derive(Debug)]
pub struct Inflight(());

impl Drop for Inflight {
    fn drop(&mut self) {
        metrics().inflight.dec();
    }
}

/// The process figures Prometheus' own clients export, from /proc/self.
struct ProcessFigures {
    resident_bytes: i64,
    cpu_seconds: f64,
    open_fds: i64,
}

impl ProcessFigures {
    fn read() -> Self {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let resident_kib: i64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0);
        // utime and stime are fields 14 and 15, after the parenthesised name.
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        let ticks: f64 = stat
            .rsplit_once(')')
            .map(|(_, rest)| {
                rest.split_whitespace()
                    .skip(11)
                    .take(2)
                    .filter_map(|t| t.parse::<f64>().ok())
                    .sum()
            })
            .unwrap_or(0.0);
        // SAFETY: sysconf has no preconditions.
        let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
        let open_fds = std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count() as i64);
        Self {
            resident_bytes: resident_kib * 1024,
            cpu_seconds: ticks / per_second,
            open_fds,
        }
    }
}

/// Serves `/metrics` on `listener` until the server stops.
pub async fn serve(
    listener: tokio::net::TcpListener,
    limits: crate::side_listener::SideLimits,
    state: Arc<AppState>,
) {
    use axum::http::header;
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let state = Arc::clone(&state);
            async move {
                (
                    [(
                        header::CONTENT_TYPE,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )],
                    metrics().render(&state),
                )
            }
        }),
    );
    let listener = crate::side_listener::CappedListener::new(listener, limits);
    if let Err(e) = axum::serve(listener, app).await {
        tracing::error!("the metrics endpoint stopped: {e}");
    }
}
