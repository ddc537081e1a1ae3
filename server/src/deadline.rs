//! How long a model may take: the caller's gRPC deadline (`grpc-timeout`
//! header) or the server's per-call limit, whichever comes first. A model
//! that overruns is answered `DEADLINE_EXCEEDED`; its model-pool thread runs
//! on to completion (native code cannot be interrupted safely; the pool's
//! watchdog adds a thread meanwhile, see `model_pool`), but no caller waits
//! for it, and a call still queued when its deadline passes is dropped unrun.

use std::time::Duration;

use tokio::time::Instant;
use tonic::metadata::MetadataMap;

/// The time budget of one RPC: the caller's deadline, if it set one, and the
/// server's limit for each model call within the RPC.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    caller: Option<Instant>,
    per_call: Duration,
    /// Set for composite calls (backtests, conformal intervals, ensembles):
    /// one server deadline for all the forecasts they run.
    fixed: Option<Instant>,
}

impl Budget {
    /// The budget of an RPC whose request carried `metadata`, starting now.
    pub fn from_metadata(metadata: &MetadataMap, per_call: Duration) -> Self {
        let caller = metadata
            .get("grpc-timeout")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_grpc_timeout)
            // tonic's transport cancels the call at the caller's deadline
            // itself (status CANCELLED, "Timeout expired"); stop waiting a
            // little earlier so the caller gets DEADLINE_EXCEEDED naming the
            // model instead.
            .map(|d| Instant::now() + d - (d / 10).min(Duration::from_millis(50)));
        Self {
            caller,
            per_call,
            fixed: None,
        }
    }

    /// This budget with the server's limit fixed from now: every model call
    /// of a composite call then shares one deadline, so the whole call is
    /// bounded by `--call-timeout-ms`, not each of its forecasts.
    pub fn fixed_from_now(self) -> Self {
        Self {
            fixed: Some(self.fixed.unwrap_or_else(|| Instant::now() + self.per_call)),
            ..self
        }
    }

    /// The instant by which a model call starting now must answer.
    pub fn call_deadline(&self) -> Instant {
        let server = self.fixed.unwrap_or_else(|| Instant::now() + self.per_call);
        self.caller.map_or(server, |caller| caller.min(server))
    }
}

/// Parses a `grpc-timeout` value: up to 8 digits and a unit (H, M, S, m, u, n).
pub fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n * 3600),
        "M" => Duration::from_secs(n * 60),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit_and_refuses_junk() {
        assert_eq!(parse_grpc_timeout("500m"), Some(Duration::from_millis(500)));
        assert_eq!(parse_grpc_timeout("2S"), Some(Duration::from_secs(2)));
        assert_eq!(parse_grpc_timeout("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_grpc_timeout("10u"), Some(Duration::from_micros(10)));
        assert_eq!(parse_grpc_timeout("m"), None);
        assert_eq!(parse_grpc_timeout("123456789S"), None);
        assert_eq!(parse_grpc_timeout("5x"), None);
    }

    #[test]
    fn the_earlier_of_caller_and_server_wins() {
        let mut metadata = MetadataMap::new();
        metadata.insert("grpc-timeout", "100m".parse().unwrap());
        let d = Budget::from_metadata(&metadata, Duration::from_secs(30)).call_deadline();
        assert!(d <= Instant::now() + Duration::from_millis(100));
        let d =
            Budget::from_metadata(&MetadataMap::new(), Duration::from_millis(50)).call_deadline();
        assert!(d <= Instant::now() + Duration::from_millis(50));
    }
}
