//! What a request body may cost before tonic decodes it.
//!
//! tonic buffers a whole gRPC message and decodes it before any handler can
//! look at it, and a decoded message can be far larger than its bytes on the
//! wire (an empty `Observation` is 2 bytes sent and 32 decoded, more while
//! the vector doubles). Limits checked in handlers come too late for memory.
//! So every request body passes through `BudgetedBody`, which reads the
//! 5-byte gRPC frame header of each message as it arrives and, before tonic
//! buffers the message:
//! - refuses a message larger than `--max-message-bytes`;
//! - charges the memory its decoded form may take ([`EXPANSION`] times its
//!   wire size) to one server-wide budget (`--request-memory-mib`), or
//!   refuses the call at once with `RESOURCE_EXHAUSTED` and a retry delay
//!   (waiting instead could deadlock callers that each hold part of the
//!   budget);
//! - gives a started message `--message-read-timeout-ms`, plus its size at
//!   `--min-request-rate-kib` per second, to arrive whole: a large message
//!   on a slow link gets the time it needs, while a caller trickling bytes
//!   cannot hold a stream, its buffer and its charge for long.
//!
//! The budget a message took is held in the call's [`Ledger`] until the
//! handler is done with the decoded request: the layer keeps the ledger
//! until the handler's response is ready (all of a unary call), and
//! `ForecastStream` releases each batch's share once the batch is answered;
//! on other streaming calls (reflection) a message's share is released when
//! the next one starts, since they are handled one at a time. A unary call
//! must arrive whole, end of stream included, within the read timeout, and
//! carries exactly one message: a caller cannot hold its charge by never
//! ending the request. Every message is charged at least one unit, so empty
//! messages are not free. Health checks are exempt from the budget (they
//! must answer while the server is full) but not from the size limit.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::Status;
use tonic_types::{ErrorDetails, StatusExt};

/// The gRPC path prefix exempt from the byte budget.
const HEALTH_PATH: &str = "/grpc.health.v1.Health/";
/// The calls whose handlers release what they have answered themselves.
const FORECAST_STREAM_PATH: &str = "/stratus.v1.ForecastService/ForecastStream";
const BACKTEST_STREAM_PATH: &str = "/stratus.v1.EvaluationService/BacktestStream";
/// Other calls with a stream of requests (server reflection, both
/// versions): each message's share is released when the next begins.
const REFLECTION_PATH: &str = "/grpc.reflection.";
/// How requests arrive on a call, which decides when their charge ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// One message, then the end of the stream.
    Unary,
    /// Many messages; the handler releases what it has answered.
    ReleasedByHandler,
    /// Many messages, handled one at a time.
    OneAtATime,
}

impl Shape {
    fn of(path: &str) -> Self {
        if path == FORECAST_STREAM_PATH || path == BACKTEST_STREAM_PATH {
            Self::ReleasedByHandler
        } else if path.starts_with(REFLECTION_PATH) {
            Self::OneAtATime
        } else {
            Self::Unary
        }
    }
}
/// How long a caller refused for a full budget is asked to wait.
const RETRY_AFTER: Duration = Duration::from_millis(200);
/// The gRPC length-prefixed message header: a flag byte and a u32 length.
const HEADER_LEN: usize = 5;
/// The most memory decoding can take per wire byte: an empty `Observation`
/// is 2 bytes on the wire and a 32-byte struct decoded, in a vector that may
/// hold twice the capacity it needs while it grows. Charging every message
/// this worst case keeps the budget a real bound on memory.
pub const EXPANSION: usize = 32;
/// The budget's unit, so large budgets fit the semaphore's `u32` requests.
const UNIT: usize = 1024;

/// The settings of the request budget.
#[derive(Debug, Clone, Copy)]
pub struct BudgetConfig {
    /// Largest single message, in bytes.
    pub max_message_bytes: usize,
    /// Most memory decoded requests may hold at once, server-wide, in bytes.
    pub request_memory_bytes: usize,
    /// How long a started message (or a request's first message) may take
    /// to arrive whole, before the allowance for its size.
    pub message_read_timeout: Duration,
    /// The slowest upload accepted, in bytes per second: a message of `len`
    /// bytes gets `len / rate` on top of the timeout.
    pub min_rate: f64,
}

/// The server-wide budget of request bytes in flight, shared by every call.
#[derive(Debug, Clone)]
pub struct RequestBudget {
    config: BudgetConfig,
    bytes: Arc<Semaphore>,
    refused: Arc<AtomicU64>,
}

impl RequestBudget {
    /// A budget with `config`'s sizes.
    pub fn new(config: BudgetConfig) -> Self {
        // The budget must admit one largest message, or a legal message
        // could never be served.
        let request_memory_bytes = config
            .request_memory_bytes
            .max(charge(config.max_message_bytes) * UNIT)
            .min(usize::MAX / 2);
        Self {
            config: BudgetConfig {
                request_memory_bytes,
                ..config
            },
            bytes: Arc::new(Semaphore::new(request_memory_bytes / UNIT)),
            refused: Arc::default(),
        }
    }

    /// Memory charged to calls now, in bytes.
    pub fn in_flight(&self) -> usize {
        (self.config.request_memory_bytes / UNIT - self.bytes.available_permits()) * UNIT
    }

    /// Calls refused for a full budget since start.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}

/// The budget held for one call's messages, oldest first. A handler that
/// keeps a clone keeps the bytes counted; dropping every clone (and the body)
/// returns them.
#[derive(Debug, Clone, Default)]
pub struct Ledger(Arc<Mutex<VecDeque<OwnedSemaphorePermit>>>);

impl Ledger {
    /// The ledger tonic passed to a handler in its request extensions (an
    /// empty one if the layer is not installed, as in unit tests).
    pub fn of<T>(request: &tonic::Request<T>) -> Self {
        request
            .extensions()
            .get::<Ledger>()
            .cloned()
            .unwrap_or_default()
    }

    /// Returns the budget of the `messages` oldest messages (a stream's
    /// answered batch).
    pub fn release(&self, messages: usize) {
        let mut held = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let n = messages.min(held.len());
        held.drain(..n);
    }

    fn hold(&self, permit: OwnedSemaphorePermit) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back(permit);
    }
}

/// The tower layer that puts every request body under the budget.
#[derive(Debug, Clone)]
pub struct RequestBudgetLayer(pub RequestBudget);

impl<S> tower::Layer<S> for RequestBudgetLayer {
    type Service = RequestBudgetService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestBudgetService {
            inner,
            budget: self.0.clone(),
        }
    }
}

/// See [`RequestBudgetLayer`].
#[derive(Debug, Clone)]
pub struct RequestBudgetService<S> {
    inner: S,
    budget: RequestBudget,
}

impl<S> tower::Service<http::Request<tonic::body::Body>> for RequestBudgetService<S>
where
    S: tower::Service<http::Request<tonic::body::Body>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        let path = request.uri().path();
        let exempt = path.starts_with(HEALTH_PATH);
        let shape = Shape::of(path);
        let ledger = Ledger::default();
        let (mut parts, body) = request.into_parts();
        parts.extensions.insert(ledger.clone());
        let body = BudgetedBody {
            inner: body,
            budget: self.budget.clone(),
            exempt,
            shape,
            messages: 0,
            ledger: ledger.clone(),
            header: [0; HEADER_LEN],
            header_len: 0,
            remaining: 0,
            timer: Some(Box::pin(tokio::time::sleep(
                self.budget.config.message_read_timeout,
            ))),
            failed: false,
        };
        let answer = self.inner.call(http::Request::from_parts(
            parts,
            tonic::body::Body::new(body),
        ));
        Box::pin(async move {
            // Held until the handler has answered: for a unary call, the
            // decoded request lives that long.
            let _held = ledger;
            answer.await
        })
    }
}

/// A request body that checks each message's header against the budget as
/// it arrives (see the module doc).
struct BudgetedBody {
    inner: tonic::body::Body,
    budget: RequestBudget,
    exempt: bool,
    shape: Shape,
    /// Messages begun so far.
    messages: usize,
    ledger: Ledger,
    header: [u8; HEADER_LEN],
    header_len: usize,
    /// Bytes of the current message still to come.
    remaining: usize,
    /// Armed while a message is incomplete (and before the first one).
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
    failed: bool,
}

impl BudgetedBody {
    /// Walks the message framing through `data`, admitting each message
    /// whose header completes.
    fn account(&mut self, mut data: &[u8]) -> Result<(), Status> {
        while !data.is_empty() {
            if self.remaining > 0 {
                let n = self.remaining.min(data.len());
                self.remaining -= n;
                data = &data[n..];
                if self.remaining == 0 && self.shape != Shape::Unary {
                    // Whole: a stream may idle between messages. A unary
                    // call's timer runs on until the end of the stream.
                    self.timer = None;
                }
                continue;
            }
            if self.header_len == 0 && self.timer.is_none() {
                self.timer = Some(Box::pin(tokio::time::sleep(
                    self.budget.config.message_read_timeout,
                )));
            }
            let n = (HEADER_LEN - self.header_len).min(data.len());
            self.header[self.header_len..self.header_len + n].copy_from_slice(&data[..n]);
            self.header_len += n;
            data = &data[n..];
            if self.header_len == HEADER_LEN {
                self.header_len = 0;
                let len = u32::from_be_bytes([
                    self.header[1],
                    self.header[2],
                    self.header[3],
                    self.header[4],
                ]) as usize;
                self.admit(len)?;
                self.remaining = len;
                if len == 0 && self.shape != Shape::Unary {
                    self.timer = None;
                }
            }
        }
        Ok(())
    }

    fn admit(&mut self, len: usize) -> Result<(), Status> {
        self.messages += 1;
        if self.shape == Shape::Unary && self.messages > 1 {
            return Err(Status::invalid_argument(
                "a unary call carries exactly one request message",
            ));
        }
        if self.shape == Shape::OneAtATime {
            // The previous message has been handled: tonic decodes the next
            // only when the handler asks for it.
            self.ledger.release(usize::MAX);
        }
        let config = &self.budget.config;
        if len > config.max_message_bytes {
            return Err(Status::resource_exhausted(format!(
                "request message of {len} bytes is above this server's limit of {} bytes (--max-message-bytes)",
                config.max_message_bytes
            )));
        }
        if self.exempt {
            return Ok(());
        }
        let units = u32::try_from(charge(len)).unwrap_or(u32::MAX);
        match Arc::clone(&self.budget.bytes).try_acquire_many_owned(units) {
            Ok(permit) => {
                self.ledger.hold(permit);
                // Time for the size, at the slowest accepted rate.
                if let Some(timer) = &mut self.timer {
                    let allowance = Duration::from_secs_f64(len as f64 / config.min_rate.max(1.0));
                    let deadline = timer.deadline() + allowance;
                    timer.as_mut().reset(deadline);
                }
                Ok(())
            }
            Err(_) => {
                self.budget.refused.fetch_add(1, Ordering::Relaxed);
                let mut details = ErrorDetails::new();
                details.set_retry_info(Some(RETRY_AFTER));
                Err(Status::with_error_details(
                    tonic::Code::ResourceExhausted,
                    format!(
                        "the server is already holding its limit of {} MiB of decoded requests (--request-memory-mib; a {len}-byte message is charged {} KiB); retry shortly",
                        config.request_memory_bytes / (1024 * 1024),
                        charge(len)
                    ),
                    details,
                ))
            }
        }
    }

    fn fail(&mut self, status: Status) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        self.failed = true;
        self.timer = None;
        Poll::Ready(Some(Err(status)))
    }
}

/// The budget units (KiB) a message of `len` wire bytes is charged: at
/// least one, so that even empty messages are counted.
fn charge(len: usize) -> usize {
    (len.saturating_mul(EXPANSION)).div_ceil(UNIT).max(1)
}

impl Body for BudgetedBody {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        if this.failed {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref()
                    && let Err(status) = this.account(data)
                {
                    return this.fail(status);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(other) => {
                this.timer = None;
                Poll::Ready(other)
            }
            Poll::Pending => {
                let expired = this
                    .timer
                    .as_mut()
                    .is_some_and(|timer| timer.as_mut().poll(cx).is_ready());
                if !expired {
                    return Poll::Pending;
                }
                let timeout = this.budget.config.message_read_timeout;
                this.fail(Status::deadline_exceeded(format!(
                    "a request message did not arrive whole in time: {timeout:?} (--message-read-timeout-ms) plus its size at the slowest accepted rate (--min-request-rate-kib)"
                )))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.failed || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(max_message: usize, memory: usize) -> RequestBudget {
        RequestBudget::new(BudgetConfig {
            max_message_bytes: max_message,
            request_memory_bytes: memory,
            message_read_timeout: Duration::from_secs(10),
            min_rate: 65_536.0,
        })
    }

    fn body(budget: &RequestBudget) -> BudgetedBody {
        BudgetedBody {
            inner: tonic::body::Body::empty(),
            budget: budget.clone(),
            exempt: false,
            shape: Shape::ReleasedByHandler,
            messages: 0,
            ledger: Ledger::default(),
            header: [0; HEADER_LEN],
            header_len: 0,
            remaining: 0,
            timer: None,
            failed: false,
        }
    }

    #[tokio::test]
    async fn a_unary_call_carries_one_message_and_reflection_releases_as_it_goes() {
        let budget = budget(1_024, 1024 * 1024);
        let mut unary = body(&budget);
        unary.shape = Shape::Unary;
        unary.account(&frame(10)).unwrap();
        let status = unary.account(&frame(10)).unwrap_err();
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        let mut reflection = body(&budget);
        reflection.shape = Shape::OneAtATime;
        for _ in 0..100 {
            reflection.account(&frame(64)).unwrap();
        }
        assert_eq!(reflection.ledger.0.lock().unwrap().len(), 1);
        assert_eq!(
            Shape::of("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"),
            Shape::OneAtATime
        );
        assert_eq!(Shape::of(FORECAST_STREAM_PATH), Shape::ReleasedByHandler);
        assert_eq!(
            Shape::of("/stratus.v1.ForecastService/Forecast"),
            Shape::Unary
        );
    }

    fn frame(len: u32) -> Vec<u8> {
        let mut bytes = vec![0];
        bytes.extend_from_slice(&len.to_be_bytes());
        bytes.extend(std::iter::repeat_n(7u8, len as usize));
        bytes
    }

    #[tokio::test]
    async fn messages_split_anywhere_are_counted_once_each() {
        let budget = budget(1_024, 1024 * 1024);
        let mut body = body(&budget);
        let mut wire = frame(320);
        wire.extend(frame(0));
        wire.extend(frame(64));
        for chunk in wire.chunks(3) {
            body.account(chunk).unwrap();
        }
        // Charged at the worst-case expansion, in whole KiB; the empty
        // message is charged one unit.
        assert_eq!(budget.in_flight(), (320 + 64) * EXPANSION + 1024);
        assert_eq!(body.ledger.0.lock().unwrap().len(), 3);
        body.ledger.release(1);
        assert_eq!(budget.in_flight(), 64 * EXPANSION + 1024);
        drop(body);
        assert_eq!(
            budget.in_flight(),
            0,
            "dropping the ledger returns the rest"
        );
    }

    #[tokio::test]
    async fn oversized_messages_and_a_full_budget_are_refused_by_flag() {
        let budget = budget(1_024, 48 * 1024);
        let mut first = body(&budget);
        let status = first.account(&frame(1_025)[..HEADER_LEN]).unwrap_err();
        assert!(status.message().contains("--max-message-bytes"));
        let mut first = body(&budget);
        first.account(&frame(1_024)[..HEADER_LEN]).unwrap();
        let mut second = body(&budget);
        let status = second.account(&frame(600)[..HEADER_LEN]).unwrap_err();
        assert_eq!(status.code(), tonic::Code::ResourceExhausted);
        assert!(status.message().contains("--request-memory-mib"));
        assert!(status.get_error_details().retry_info().is_some());
        assert_eq!(budget.refused(), 1);
        drop(first);
        second.account(&frame(600)[..HEADER_LEN]).unwrap();
    }
}
