//! Failover for unary calls: which failures are worth another endpoint, how
//! long to wait, and how many retries the client may spend.
//!
//! Only failures where the server cannot have answered are retried: the
//! connection was refused or broke, the server said UNAVAILABLE (it is
//! draining), or it shed the call with RESOURCE_EXHAUSTED and a
//! `RetryInfo` (its queue was full; nothing ran). A server's considered
//! answer (INVALID_ARGUMENT, NOT_FOUND, INTERNAL from a model...) is final,
//! and so is an UNAVAILABLE that says the model's process died during the
//! call: that call may be poison, and failing it over would spread it.
//! Retries draw on a budget (tower's `TpsBudget`: a share of recent calls
//! plus a floor per second), so a dead cluster is not hammered with
//! multiples of its load; every attempt carries the caller's remaining
//! deadline, and none starts after it.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tonic::transport::Channel;
use tonic::{Code, Status};
use tonic_types::StatusExt;
use tower::retry::budget::{Budget, TpsBudget};

use crate::cluster::{Backend, Cluster};

/// `ErrorInfo.reason` of an UNAVAILABLE whose model process died during the
/// call (the server's `MODEL_PROCESS_DIED`).
const MODEL_PROCESS_DIED: &str = "MODEL_PROCESS_DIED";

/// How a client retries idempotent calls on another endpoint.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Most attempts of one call, the first included (1: never retry).
    pub max_attempts: u32,
    /// Wait before the first retry; doubles with each further retry.
    pub initial_backoff: Duration,
    /// The longest wait between attempts.
    pub max_backoff: Duration,
    /// Retries allowed as a share of calls over the last ten seconds
    /// (0.2: one retry per five calls)...
    pub budget_ratio: f32,
    /// ...plus this many retries per second whatever the traffic.
    pub min_retries_per_second: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_secs(1),
            budget_ratio: 0.2,
            min_retries_per_second: 10,
        }
    }
}

impl RetryPolicy {
    /// Never retry: each call goes to one endpoint once.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The wait before retry number `retry` (1 for the first): exponential,
    /// with the upper half jittered by `noise` so that callers that failed
    /// together do not come back together.
    pub(crate) fn backoff(&self, retry: u32, noise: u64) -> Duration {
        let base = self
            .initial_backoff
            .saturating_mul(1u32 << retry.saturating_sub(1).min(16))
            .min(self.max_backoff)
            .min(Duration::from_secs(60));
        let half = base / 2;
        half + Duration::from_nanos(noise % (half.as_nanos() as u64).max(1))
    }
}

/// A client's retry policy and budget.
#[derive(Debug)]
pub(crate) struct Retrier {
    pub policy: RetryPolicy,
    budget: TpsBudget,
}

impl Retrier {
    /// The budget's window is ten seconds (tower requires 1–60).
    pub fn new(mut policy: RetryPolicy) -> Self {
        // tower asserts on out-of-range values; a policy is the caller's
        // input, so it is brought into range instead.
        if !policy.budget_ratio.is_finite() {
            policy.budget_ratio = RetryPolicy::default().budget_ratio;
        }
        policy.budget_ratio = policy.budget_ratio.clamp(0.0, 1000.0);
        policy.min_retries_per_second = policy.min_retries_per_second.min(1_000_000);
        policy.max_backoff = policy.max_backoff.min(Duration::from_secs(60));
        let budget = TpsBudget::new(
            Duration::from_secs(10),
            policy.min_retries_per_second,
            policy.budget_ratio,
        );
        Self { policy, budget }
    }

    /// Whether retry number `retry` of a call may go ahead (and spends it).
    pub fn allow(&self, retry: u32, cluster: &Cluster) -> bool {
        if retry >= self.policy.max_attempts {
            return false;
        }
        if self.budget.withdraw() {
            cluster.retries.fetch_add(1, Ordering::Relaxed);
            true
        } else {
            cluster.retries_refused.fetch_add(1, Ordering::Relaxed);
            false
        }
    }

    /// Records a new call (it earns the budget a share of a retry).
    pub fn deposit(&self) {
        self.budget.deposit();
    }
}

/// Whether `status` says the server did not handle the call, so another
/// endpoint may.
pub(crate) fn is_retryable(status: &Status) -> bool {
    match status.code() {
        // Unless the server says the model's process died during this very
        // call: it may be what killed it, and would do the same elsewhere.
        Code::Unavailable => status
            .get_details_error_info()
            .is_none_or(|info| info.reason != MODEL_PROCESS_DIED),
        Code::ResourceExhausted => status.get_details_retry_info().is_some(),
        // A connection that broke under the call: tonic reports the
        // transport's own error (the status has a source), where a server's
        // answer arrives as a bare status.
        Code::Unknown | Code::Internal | Code::Cancelled => {
            std::error::Error::source(status).is_some()
        }
        _ => false,
    }
}

/// Whether `status` was made by this client from a broken or refused
/// connection (tonic keeps the transport's error as its source), rather
/// than sent by a server.
pub(crate) fn is_transport_failure(status: &Status) -> bool {
    !matches!(status.code(), Code::Ok | Code::DeadlineExceeded)
        && std::error::Error::source(status).is_some()
}

/// What the caller gets when its deadline passed between attempts.
pub(crate) fn deadline_passed(last: Option<Status>) -> Status {
    let after = last.map_or(String::new(), |s| {
        format!(" (last attempt: {:?}: {})", s.code(), s.message())
    });
    Status::deadline_exceeded(format!("the call's deadline passed{after}"))
}

/// Runs one idempotent unary call: on a retryable failure, again on another
/// endpoint after a backoff, within `deadline`, the policy and the budget.
pub(crate) async fn unary<Req, Resp, F, Fut>(
    cluster: &Cluster,
    retrier: &Retrier,
    deadline: Option<Instant>,
    request: Req,
    call: F,
) -> Result<Resp, Status>
where
    Req: Clone,
    F: Fn(Channel, tonic::Request<Req>) -> Fut,
    Fut: Future<Output = Result<tonic::Response<Resp>, Status>>,
{
    retrier.deposit();
    let mut tried: Vec<Arc<Backend>> = Vec::new();
    let mut retry = 0;
    loop {
        let backend = cluster.pick(&tried);
        let mut attempt = tonic::Request::new(request.clone());
        let remaining = match deadline {
            Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                Some(remaining) if !remaining.is_zero() => Some(remaining),
                _ => return Err(deadline_passed(None)),
            },
            None => None,
        };
        if let Some(remaining) = remaining {
            attempt.set_timeout(remaining);
        }
        let outcome = {
            let _in_flight = backend.begin();
            let call = call(backend.channel(), attempt);
            match remaining {
                // The header tells the server; this stops waiting on a server
                // that does not answer at all (which says nothing about
                // whether it is up: it is neither rested nor cleared).
                Some(remaining) => match tokio::time::timeout(remaining, call).await {
                    Ok(outcome) => outcome,
                    Err(_) => return Err(deadline_passed(None)),
                },
                None => call.await,
            }
        };
        match outcome {
            Ok(response) => {
                backend.answered();
                return Ok(response.into_inner());
            }
            Err(status) if is_retryable(&status) => {
                backend.failed();
                retry += 1;
                if !retrier.allow(retry, cluster) {
                    return Err(status);
                }
                let wait = retrier.policy.backoff(retry, cluster.random());
                if deadline.is_some_and(|d| Instant::now().checked_add(wait).is_none_or(|t| t >= d))
                {
                    return Err(deadline_passed(Some(status)));
                }
                tokio::time::sleep(wait).await;
                tried.push(backend);
                // Once every endpoint has failed this call, start over.
                if tried.len() >= cluster.backends().len() {
                    tried.clear();
                }
            }
            Err(status) => {
                backend.answered();
                return Err(status);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_failures_and_shed_calls_are_retried_answers_are_not() {
        assert!(is_retryable(&Status::unavailable("draining")));
        assert!(!is_retryable(&Status::invalid_argument("horizon")));
        assert!(!is_retryable(&Status::internal("the model failed")));
        assert!(!is_retryable(&Status::resource_exhausted(
            "too many levels"
        )));
        let shed = Status::with_error_details(
            Code::ResourceExhausted,
            "queue full",
            tonic_types::ErrorDetails::with_retry_info(Some(Duration::from_millis(50))),
        );
        assert!(is_retryable(&shed));
        let poison = Status::with_error_details(
            Code::Unavailable,
            "the plugin host of faulty died of signal 11 (SIGSEGV)",
            tonic_types::ErrorDetails::with_error_info(
                MODEL_PROCESS_DIED,
                "stratus.v1",
                std::collections::HashMap::new(),
            ),
        );
        assert!(!is_retryable(&poison));
        let broken = Status::from_error(Box::new(std::io::Error::other("connection reset")));
        assert_eq!(broken.code(), Code::Unknown);
        assert!(is_retryable(&broken));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter_in_the_upper_half() {
        let policy = RetryPolicy::default();
        for (retry, base_ms) in [(1, 10), (2, 20), (3, 40), (8, 1000), (40, 1000)] {
            for noise in [0, 7, u64::MAX] {
                let wait = policy.backoff(retry, noise);
                let base = Duration::from_millis(base_ms);
                assert!(wait >= base / 2 && wait <= base, "{retry}: {wait:?}");
            }
        }
    }
}
