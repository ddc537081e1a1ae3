//! A closed-loop load generator: `concurrency` workers each send a call,
//! wait for the answer and send the next, for a fixed time or request count.
//! Used by `stratus bench` and the reload soak command. Loopback or your own
//! servers only: it sends as fast as the server answers.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// When a run stops: whichever comes first.
#[derive(Debug, Clone, Default)]
pub struct Limits {
    /// Stop after this long.
    pub duration: Duration,
    /// Stop after this many calls in all (if set).
    pub max_calls: Option<u64>,
    /// Stop when this flag is raised (if set).
    pub stop: Option<Arc<std::sync::atomic::AtomicBool>>,
}

/// What a run measured.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Calls answered successfully.
    pub ok: u64,
    /// Calls that failed (any gRPC error).
    pub errors: u64,
    /// Items processed (series in a stream; 1 per unary call).
    pub items: u64,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Latency of every successful call, sorted.
    pub latencies: Vec<Duration>,
    /// The first error seen, for the report.
    pub first_error: Option<String>,
}

impl Report {
    /// Successful calls per second.
    pub fn calls_per_second(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Items per second.
    pub fn items_per_second(&self) -> f64 {
        self.items as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The latency at quantile `q` (0–1), nearest rank.
    pub fn percentile(&self, q: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let rank =
            ((q * self.latencies.len() as f64).ceil() as usize).clamp(1, self.latencies.len());
        self.latencies[rank - 1]
    }

    /// One line: throughput, p50/p90/p99/max, errors.
    pub fn summary(&self) -> String {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        format!(
            "{:>10.0} calls/s {:>10.0} items/s  p50 {:.3} ms  p90 {:.3} ms  p99 {:.3} ms  max {:.3} ms  errors {}",
            self.calls_per_second(),
            self.items_per_second(),
            ms(self.percentile(0.5)),
            ms(self.percentile(0.9)),
            ms(self.percentile(0.99)),
            ms(self.latencies.last().copied().unwrap_or_default()),
            self.errors
        )
    }
}

/// Runs `call` from `concurrency` workers until `limits` are reached. Each
/// call returns how many items it processed.
pub async fn drive<F, Fut, E>(concurrency: usize, limits: Limits, call: F) -> Report
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<u64, E>> + Send,
    E: std::fmt::Display + Send,
{
    let issued = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + limits.duration;
    let mut workers = Vec::with_capacity(concurrency);
    for _ in 0..concurrency.max(1) {
        let (call, issued, stop) = (call.clone(), Arc::clone(&issued), limits.stop.clone());
        let max_calls = limits.max_calls;
        workers.push(tokio::spawn(async move {
            let mut report = Report::default();
            let stopped = || stop.as_ref().is_some_and(|s| s.load(Ordering::Relaxed));
            while Instant::now() < deadline && !stopped() {
                if let Some(max) = max_calls
                    && issued.fetch_add(1, Ordering::Relaxed) >= max
                {
                    break;
                }
                let sent = Instant::now();
                match call().await {
                    Ok(items) => {
                        report.latencies.push(sent.elapsed());
                        report.ok += 1;
                        report.items += items;
                    }
                    Err(error) => {
                        report.errors += 1;
                        report.first_error.get_or_insert_with(|| error.to_string());
                    }
                }
            }
            report
        }));
    }
    let mut total = Report::default();
    for worker in workers {
        if let Ok(report) = worker.await {
            total.ok += report.ok;
            total.errors += report.errors;
            total.items += report.items;
            total.latencies.extend(report.latencies);
            if total.first_error.is_none() {
                total.first_error = report.first_error;
            }
        }
    }
    total.elapsed = started.elapsed();
    total.latencies.sort_unstable();
    total
}

/// Resident memory of a local process in bytes (Linux `/proc`), if readable.
pub fn resident_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let report = Report {
            latencies: (1..=100).map(Duration::from_millis).collect(),
            ..Default::default()
        };
        assert_eq!(report.percentile(0.5), Duration::from_millis(50));
        assert_eq!(report.percentile(0.99), Duration::from_millis(99));
        assert_eq!(report.percentile(1.0), Duration::from_millis(100));
    }

    #[tokio::test]
    async fn stops_at_the_call_limit_and_counts_errors() {
        let limits = Limits {
            duration: Duration::from_secs(10),
            max_calls: Some(50),
            stop: None,
        };
        let counter = Arc::new(AtomicU64::new(0));
        let report = drive(4, limits, move || {
            let counter = Arc::clone(&counter);
            async move {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                if n.is_multiple_of(10) {
                    Err("every tenth fails")
                } else {
                    Ok(2)
                }
            }
        })
        .await;
        assert_eq!(report.ok + report.errors, 50);
        assert_eq!(report.errors, 5);
        assert_eq!(report.items, 90);
    }
}
