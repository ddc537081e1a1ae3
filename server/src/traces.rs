//! Traces (`--otlp-endpoint`): one span per RPC, continuing the caller's
//! trace when its metadata carries a W3C `traceparent`, and one span per
//! plugin call under it, exported in batches over OTLP/gRPC.
//!
//! Spans are `tracing` spans with target [`TARGET`], turned into
//! OpenTelemetry spans by `tracing-opentelemetry`; nothing here runs when
//! tracing is off (the RPC layer passes requests straight through and no
//! span is made). What a caller can make the server export is bounded: the
//! batch processor's queue (2,048 spans by default, `OTEL_BSP_MAX_QUEUE_SIZE`)
//! drops spans rather than grow; a unary request makes at most
//! `--max-forecasts-per-call` plugin spans (a stream, one per batch); span
//! names are our method names (anything else is `unknown`) and caller
//! strings in attributes are cut to 64 characters.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The `tracing` target of the spans that are exported.
pub const TARGET: &str = "stratus::trace";

static ENABLED: AtomicBool = AtomicBool::new(false);

/// The share of traces starting here that are sampled, as a threshold on a
/// 64-bit random draw (`u64::MAX`: all).
static SAMPLE_BELOW: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(u64::MAX);

tokio::task_local! {
    /// The sampled RPC span of the call this task is answering.
    static RPC: tracing::Span;
}

/// The sampled RPC span of the call being answered on this task, if any
/// (none on a model-pool thread: capture it before handing work there).
pub fn current_rpc() -> Option<tracing::Span> {
    RPC.try_with(Clone::clone).ok()
}

/// Whether spans are being exported.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Why traces cannot be exported.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// The exporter could not be built (a bad endpoint URL).
    #[error("cannot export traces to {endpoint}: {source} (expected e.g. http://127.0.0.1:4317)")]
    Exporter {
        /// The `--otlp-endpoint` given.
        endpoint: String,
        /// What the OTLP exporter said.
        source: opentelemetry_otlp::ExporterBuildError,
    },
}

/// The running exporter; [`Exporter::shutdown`] sends what is still queued.
#[derive(Debug)]
pub struct Exporter {
    provider: SdkTracerProvider,
}

impl Exporter {
    /// Starts exporting spans to `endpoint` (an OTLP/gRPC collector, e.g.
    /// `http://127.0.0.1:4317`), sampling `sample_ratio` of the traces that
    /// start here (a caller's sampled trace is always continued). Must run
    /// inside the tokio runtime (the exporter is a tonic client).
    pub fn start(endpoint: &str, sample_ratio: f64) -> Result<Self, TraceError> {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint)
            .build()
            .map_err(|source| TraceError::Exporter {
                endpoint: endpoint.to_owned(),
                source,
            })?;
        let resource = opentelemetry_sdk::Resource::builder()
            .with_service_name("stratus-server")
            .with_attribute(opentelemetry::KeyValue::new(
                "service.version",
                env!("CARGO_PKG_VERSION"),
            ))
            .build();
        // Sampling is decided in the RPC layer, before any span exists (an
        // unsampled call then costs no span at all); what reaches the SDK is
        // to be recorded.
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_sampler(Sampler::ParentBased(Box::new(Sampler::AlwaysOn)))
            .with_resource(resource)
            .build();
        let ratio = sample_ratio.clamp(0.0, 1.0);
        let below = if ratio >= 1.0 {
            u64::MAX
        } else {
            (ratio * u64::MAX as f64) as u64
        };
        SAMPLE_BELOW.store(below, Ordering::Relaxed);
        ENABLED.store(true, Ordering::Relaxed);
        Ok(Self { provider })
    }

    /// The `tracing` layer that turns this module's spans into exported
    /// OpenTelemetry spans (and nothing else: logs stay logs).
    pub fn layer<S>(&self) -> impl tracing_subscriber::Layer<S> + use<S>
    where
        S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
    {
        use tracing_subscriber::Layer as _;
        let filter =
            tracing_subscriber::filter::Targets::new().with_target(TARGET, tracing::Level::INFO);
        tracing_opentelemetry::layer()
            .with_tracer(self.provider.tracer("stratus-server"))
            .with_filter(filter)
    }

    /// Exports what is queued and stops; call before the process exits.
    pub async fn shutdown(self) {
        ENABLED.store(false, Ordering::Relaxed);
        // The batch processor's shutdown blocks until its thread has sent
        // the last batch, which the exporter does on this runtime.
        let provider = self.provider;
        let _ = tokio::task::spawn_blocking(move || provider.shutdown()).await;
    }
}

/// Reads `traceparent`/`tracestate` from request headers (gRPC metadata).
struct Headers<'a>(&'a http::HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

/// Whether to trace a call: as the caller's `traceparent` says when there
/// is one (its sampled flag), else a draw at `--trace-sample-ratio`.
fn sampled(parent: &opentelemetry::Context) -> bool {
    use opentelemetry::trace::TraceContextExt as _;
    let span = parent.span();
    let remote = span.span_context();
    if remote.is_valid() {
        return remote.is_sampled();
    }
    let below = SAMPLE_BELOW.load(Ordering::Relaxed);
    below == u64::MAX || random() < below
}

/// A pseudo-random draw (splitmix64 over a counter seeded by the clock):
/// sampling needs spread, not secrecy.
fn random() -> u64 {
    static STATE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut z = STATE.fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed);
    if z == 0 {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64);
        STATE.store(seed, Ordering::Relaxed);
        z = seed;
    }
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The span of one RPC: `stratus.v1.ForecastService/Forecast`, a child of
/// the caller's span when the headers carry one; `None` when the call is
/// not sampled. Fields recorded later: `model`, `version`, `sha256`,
/// `series_length`, `horizon`, the gRPC code.
fn rpc_span(headers: &http::HeaderMap, path: &str) -> Option<tracing::Span> {
    let parent = TraceContextPropagator::new().extract(&Headers(headers));
    if !sampled(&parent) {
        return None;
    }
    // The path is the caller's: only a plausible method name (ours are
    // under 50 characters) names a span.
    let method = path.trim_start_matches('/');
    let method = if method.len() <= 100 && method.bytes().all(|b| b.is_ascii_graphic()) {
        method
    } else {
        "unknown"
    };
    let span = tracing::info_span!(
        target: TARGET,
        "rpc",
        otel.name = method,
        otel.kind = "server",
        rpc.system = "grpc",
        model = tracing::field::Empty,
        version = tracing::field::Empty,
        sha256 = tracing::field::Empty,
        series_length = tracing::field::Empty,
        horizon = tracing::field::Empty,
        rpc.grpc.status_code = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
    );
    // Without a valid traceparent the context is empty and the span starts
    // a trace of its own.
    let _ = span.set_parent(parent);
    Some(span)
}

/// The span of one plugin call (or one batch of a stream's calls to one
/// model), under `rpc` (see [`current_rpc`]); `Span::none()` when the call
/// is not traced.
pub fn plugin_span(
    rpc: Option<&tracing::Span>,
    model: &str,
    version: &str,
    sha256: &str,
    series_length: usize,
    horizon: usize,
    batch: usize,
) -> tracing::Span {
    let Some(rpc) = rpc.filter(|_| enabled()) else {
        return tracing::Span::none();
    };
    tracing::info_span!(
        target: TARGET,
        parent: rpc,
        "plugin_call",
        otel.name = "plugin_call",
        otel.kind = "internal",
        model,
        version,
        sha256,
        series_length,
        horizon,
        batch,
    )
}

/// Records the model a request names on the RPC span, when there is one.
pub fn record_model(model: &str) {
    if model.is_empty() {
        return;
    }
    if let Some(span) = current_rpc() {
        span.record("model", model);
    }
}

/// Records a forecast's size on the RPC span: observations and steps.
pub fn record_shape(series_length: usize, horizon: usize) {
    if let Some(span) = current_rpc() {
        span.record("series_length", series_length);
        span.record("horizon", horizon);
    }
}

/// Records which model version and library answered on the RPC span.
pub fn record_answer(version: &str, sha256: &str) {
    if version.is_empty() {
        return;
    }
    if let Some(span) = current_rpc() {
        span.record("version", version);
        span.record("sha256", sha256);
    }
}

/// The tower layer that opens an RPC span around each request (when traces
/// are exported) and keeps it open until the response body, a stream's
/// included, has been sent.
#[derive(Debug, Clone, Copy, Default)]
pub struct RpcSpanLayer;

impl<S> tower::Layer<S> for RpcSpanLayer {
    type Service = RpcSpanService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RpcSpanService { inner }
    }
}

/// See [`RpcSpanLayer`].
#[derive(Debug, Clone)]
pub struct RpcSpanService<S> {
    inner: S,
}

type Answer<E> = Result<http::Response<tonic::body::Body>, E>;

impl<S> tower::Service<http::Request<tonic::body::Body>> for RpcSpanService<S>
where
    S: tower::Service<
            http::Request<tonic::body::Body>,
            Response = http::Response<tonic::body::Body>,
        >,
    S::Future: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Answer<S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        // Probes and reflection are not what a trace is for: a Kubernetes
        // probe every few seconds would bury the calls.
        let path = request.uri().path();
        if !enabled() || path.starts_with("/grpc.") {
            return Box::pin(self.inner.call(request));
        }
        let Some(span) = rpc_span(request.headers(), request.uri().path()) else {
            return Box::pin(self.inner.call(request));
        };
        let answer = {
            let _entered = span.enter();
            self.inner.call(request)
        };
        Box::pin(async move {
            let answer = tracing::Instrument::instrument(answer, span.clone());
            let response = RPC.scope(span.clone(), answer).await?;
            // A trailers-only answer (an error before any message) has its
            // status in the headers.
            record_status(&span, response.headers());
            Ok(response.map(|body| tonic::body::Body::new(SpannedBody { inner: body, span })))
        })
    }
}

/// A response body polled inside its RPC's span (a stream's work happens as
/// its body is polled), which closes the span when the body is done.
struct SpannedBody {
    inner: tonic::body::Body,
    span: tracing::Span,
}

impl http_body::Body for SpannedBody {
    type Data = bytes::Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        let _entered = this.span.enter();
        // A stream's work happens here, as its body is polled: it is in
        // the RPC's span for plugin spans too.
        let frame = RPC.sync_scope(this.span.clone(), || {
            Pin::new(&mut this.inner).poll_frame(cx)
        });
        if let Poll::Ready(Some(Ok(frame))) = &frame
            && let Some(trailers) = frame.trailers_ref()
        {
            record_status(&this.span, trailers);
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Records the gRPC status code from headers or trailers, if present.
fn record_status(span: &tracing::Span, headers: &http::HeaderMap) {
    let Some(code) = headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i64>().ok())
    else {
        return;
    };
    span.record("rpc.grpc.status_code", code);
    if code != 0 {
        span.record("otel.status_code", "ERROR");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_traceparent_is_read_from_grpc_metadata() {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            "traceparent",
            http::HeaderValue::from_static(
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            ),
        );
        let context = TraceContextPropagator::new().extract(&Headers(&headers));
        use opentelemetry::trace::TraceContextExt as _;
        let parent = context.span().span_context().clone();
        assert!(parent.is_valid() && parent.is_remote() && parent.is_sampled());
        assert_eq!(
            parent.trace_id().to_string(),
            "0af7651916cd43dd8448eb211c80319c"
        );
        assert_eq!(parent.span_id().to_string(), "b7ad6b7169203331");
    }

    #[test]
    fn the_callers_sampled_flag_decides_else_the_ratio() {
        let context = |flags: &str| {
            let mut headers = http::HeaderMap::new();
            let value = format!("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-{flags}");
            headers.insert("traceparent", value.parse().expect("header"));
            TraceContextPropagator::new().extract(&Headers(&headers))
        };
        let none = opentelemetry::Context::new();
        SAMPLE_BELOW.store(0, Ordering::Relaxed);
        assert!(sampled(&context("01")), "a sampled caller is followed");
        assert!((0..1000).all(|_| !sampled(&none)), "ratio 0: none");
        SAMPLE_BELOW.store(u64::MAX / 10, Ordering::Relaxed);
        let hits = (0..10_000).filter(|_| sampled(&none)).count();
        assert!((700..1300).contains(&hits), "ratio 0.1: {hits} of 10,000");
        SAMPLE_BELOW.store(u64::MAX, Ordering::Relaxed);
        assert!(!sampled(&context("00")), "an unsampled caller is followed");
        assert!((0..1000).all(|_| sampled(&none)), "ratio 1: all");
    }

    #[test]
    fn no_span_is_made_while_tracing_is_off() {
        assert!(!enabled());
        // A subscriber that records every span, so a span that is made
        // shows (without one every span is a no-op and this proves nothing).
        tracing::subscriber::with_default(tracing_subscriber::registry(), || {
            let rpc = tracing::info_span!("rpc");
            assert!(!rpc.is_none(), "the subscriber records spans");
            assert!(plugin_span(Some(&rpc), "naive", "1.0.0", "ab", 6, 3, 1).is_none());
            assert!(current_rpc().is_none(), "outside a call");
            RPC.sync_scope(rpc.clone(), || {
                assert!(current_rpc().is_some(), "inside a call");
            });
        });
    }
}
