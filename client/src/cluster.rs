//! The replicas a client talks to: one channel per endpoint, which endpoint
//! takes the next call, and which are resting after a failure.
//!
//! Picking is "power of two choices": two endpoints at random, the one with
//! fewer calls in flight wins. It spreads load like least-loaded picking
//! without every caller rushing to the same idle replica, and it needs no
//! coordination. An endpoint whose connection failed rests for a cooldown
//! that doubles with each consecutive failure (100 ms up to 5 s) and resets
//! on its first success; while every endpoint rests, the one whose rest ends
//! first is tried anyway, so a cluster that comes back is found.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use tonic::transport::Channel;

/// How long an endpoint rests after its first failure.
const FIRST_COOLDOWN: Duration = Duration::from_millis(100);
/// The longest rest.
const MAX_COOLDOWN: Duration = Duration::from_secs(5);

/// One endpoint: its channel and what the client has seen of it.
#[derive(Debug)]
pub(crate) struct Backend {
    /// Where it is (`http://address:port`).
    pub url: String,
    channel: Channel,
    in_flight: AtomicUsize,
    calls: AtomicU64,
    failures: AtomicU64,
    rest: Mutex<Rest>,
}

#[derive(Debug, Default)]
struct Rest {
    until: Option<Instant>,
    cooldown: Option<Duration>,
}

impl Backend {
    /// An endpoint reached through `channel`.
    pub fn new(url: String, channel: Channel) -> Self {
        Self {
            url,
            channel,
            in_flight: AtomicUsize::new(0),
            calls: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            rest: Mutex::new(Rest::default()),
        }
    }

    /// Its channel (cheap to clone; tonic reconnects it when it breaks).
    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    /// Counts a call as started; the guard counts it finished when dropped.
    pub fn begin(self: &Arc<Self>) -> InFlight {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(Arc::clone(self))
    }

    fn rest(&self) -> std::sync::MutexGuard<'_, Rest> {
        // The state is two plain values, valid whatever a panicking holder did.
        self.rest.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Its connection failed: rest it, longer each consecutive time.
    pub fn failed(&self) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        let mut rest = self.rest();
        let cooldown = rest
            .cooldown
            .map_or(FIRST_COOLDOWN, |c| (c * 2).min(MAX_COOLDOWN));
        rest.cooldown = Some(cooldown);
        rest.until = Some(Instant::now() + cooldown);
    }

    /// It answered (with anything a server says): it is up.
    pub fn answered(&self) {
        let mut rest = self.rest();
        if rest.cooldown.is_some() {
            *rest = Rest::default();
        }
    }

    fn resting_until(&self, now: Instant) -> Option<Instant> {
        self.rest().until.filter(|until| *until > now)
    }

    fn stats(&self, now: Instant) -> EndpointStats {
        EndpointStats {
            url: self.url.clone(),
            calls: self.calls.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
            in_flight: self.in_flight.load(Ordering::Relaxed),
            resting: self.resting_until(now).is_some(),
        }
    }
}

/// A call in flight on a backend; finished when dropped.
#[derive(Debug)]
pub(crate) struct InFlight(Arc<Backend>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What a client has seen of one endpoint, for reports (`stratus bench`
/// prints calls per endpoint).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointStats {
    /// The endpoint.
    pub url: String,
    /// Calls (and retries, and streams) sent to it.
    pub calls: u64,
    /// Of those, how many failed so that another endpoint was tried:
    /// connection refused or broken, the server unavailable or shedding
    /// load, a stream ended early.
    pub failures: u64,
    /// Calls on it now.
    pub in_flight: usize,
    /// Whether it is resting after a failure (new calls avoid it).
    pub resting: bool,
}

/// The endpoints of one client.
#[derive(Debug)]
pub(crate) struct Cluster {
    backends: RwLock<Arc<[Arc<Backend>]>>,
    seed: AtomicU64,
    /// Calls sent again after a transport failure.
    pub retries: AtomicU64,
    /// Retries not made because the retry budget was spent.
    pub retries_refused: AtomicU64,
}

impl Cluster {
    /// A cluster of `backends` (at least one).
    pub fn new(backends: Vec<Arc<Backend>>) -> Self {
        Self {
            backends: RwLock::new(backends.into()),
            seed: AtomicU64::new(0x853c_49e6_748f_ea9b),
            retries: AtomicU64::new(0),
            retries_refused: AtomicU64::new(0),
        }
    }

    /// The endpoints now.
    pub fn backends(&self) -> Arc<[Arc<Backend>]> {
        Arc::clone(&self.backends.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Replaces the endpoint set (after DNS changed), keeping the backends
    /// (and their connections) of endpoints still present.
    pub fn replace(&self, backends: Vec<Arc<Backend>>) {
        if backends.is_empty() {
            return;
        }
        *self.backends.write().unwrap_or_else(|p| p.into_inner()) = backends.into();
    }

    /// A pseudo-random number: splitmix64 over a counter. Picking and
    /// backoff jitter need spread, not unpredictability.
    pub fn random(&self) -> u64 {
        let mut z = self
            .seed
            .fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed)
            .wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// The endpoint for the next attempt of a call that has already failed
    /// on `tried`: one not tried and not resting if any, else one not tried,
    /// else any.
    pub fn pick(&self, tried: &[Arc<Backend>]) -> Arc<Backend> {
        let backends = self.backends();
        let now = Instant::now();
        let untried = |b: &&Arc<Backend>| !tried.iter().any(|t| Arc::ptr_eq(t, b));
        let mut candidates: Vec<&Arc<Backend>> = backends
            .iter()
            .filter(untried)
            .filter(|b| b.resting_until(now).is_none())
            .collect();
        if candidates.is_empty() {
            // Everything left is resting: the one whose rest ends first.
            candidates = backends.iter().filter(untried).collect();
            candidates.sort_by_key(|b| b.resting_until(now));
            candidates.truncate(1);
        }
        if candidates.is_empty() {
            candidates = backends.iter().collect();
        }
        match candidates.len() {
            // `new` and `replace` never leave the set empty.
            0 => Arc::clone(&backends[0]),
            1 => Arc::clone(candidates[0]),
            n => {
                let r = self.random();
                let a = (r % n as u64) as usize;
                let b = (a + 1 + ((r >> 32) % (n as u64 - 1)) as usize) % n;
                let load = |i: usize| candidates[i].in_flight.load(Ordering::Relaxed);
                Arc::clone(candidates[if load(b) < load(a) { b } else { a }])
            }
        }
    }

    /// What the client has seen of each endpoint.
    pub fn stats(&self) -> Vec<EndpointStats> {
        let now = Instant::now();
        self.backends().iter().map(|b| b.stats(now)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster(n: usize) -> Cluster {
        let backends = (0..n)
            .map(|i| {
                let url = format!("http://127.0.0.1:{}", 1000 + i);
                let channel = tonic::transport::Endpoint::from_shared(url.clone())
                    .expect("valid")
                    .connect_lazy();
                Arc::new(Backend::new(url, channel))
            })
            .collect();
        Cluster::new(backends)
    }

    #[tokio::test]
    async fn calls_spread_over_every_endpoint_and_avoid_busy_ones() {
        let cluster = cluster(3);
        let mut counts = [0usize; 3];
        for _ in 0..3000 {
            let b = cluster.pick(&[]);
            counts[cluster
                .backends()
                .iter()
                .position(|x| Arc::ptr_eq(x, &b))
                .expect("member")] += 1;
        }
        assert!(counts.iter().all(|&c| c > 700), "{counts:?}");

        // Endpoint 0 is busy: two choices never pick it over an idle one
        // when both are drawn, so it gets far fewer new calls.
        let busy: Vec<InFlight> = (0..10).map(|_| cluster.backends()[0].begin()).collect();
        let picked_busy = (0..3000)
            .filter(|_| Arc::ptr_eq(&cluster.pick(&[]), &cluster.backends()[0]))
            .count();
        assert!(picked_busy < 100, "{picked_busy}");
        drop(busy);
        assert_eq!(cluster.stats()[0].in_flight, 0);
    }

    #[tokio::test]
    async fn a_failed_endpoint_rests_and_comes_back_after_an_answer() {
        let cluster = cluster(2);
        let down = Arc::clone(&cluster.backends()[0]);
        down.failed();
        assert!(cluster.stats()[0].resting);
        for _ in 0..100 {
            assert!(!Arc::ptr_eq(&cluster.pick(&[]), &down));
        }
        // A retry never goes back to the endpoint it failed on while another exists.
        let up = Arc::clone(&cluster.backends()[1]);
        assert!(Arc::ptr_eq(&cluster.pick(&[Arc::clone(&up)]), &down));
        down.answered();
        assert!(!cluster.stats()[0].resting);
        assert_eq!(cluster.stats()[0].failures, 1);
    }

    #[tokio::test]
    async fn when_all_rest_the_one_that_recovers_first_is_tried() {
        let cluster = cluster(2);
        let (a, b) = (cluster.backends()[0].clone(), cluster.backends()[1].clone());
        a.failed();
        a.failed(); // 200 ms
        b.failed(); // 100 ms
        assert!(Arc::ptr_eq(&cluster.pick(&[]), &b));
    }
}
