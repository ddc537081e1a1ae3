//! Where model calls run: a few dedicated threads, so the async workers that
//! serve HTTP/2, health checks and other calls never run plugin code.
//!
//! Why not tokio's blocking pool (`spawn_blocking`)? It starts a thread per
//! concurrent call (64 callers: 64 threads) and wakes one with a futex for
//! every call; measured with h2load at 64 concurrent unary `Forecast` calls
//! with `naive`, this pool serves 1.7–1.9× the calls/s (BENCHMARKS.md). Here,
//! one thread per core takes calls from a shared queue; under load the
//! threads find the next call waiting and never sleep, so a hand-off is a
//! queue push and a completion wake-up.
//!
//! What a fixed pool risks, and how it is contained:
//! - **Floods.** The queue is bounded (`--max-queued-calls`); a call that
//!   finds it full is refused at once ([`PoolFull`], answered
//!   `RESOURCE_EXHAUSTED` with a retry delay) instead of piling up memory and
//!   latency for everyone.
//! - **Work nobody waits for.** A queued call whose caller has gone (it
//!   cancelled, or its deadline passed) is dropped before it runs; batches
//!   check between items ([`CallStatus::abandoned`]).
//! - **Hung models.** A model that hangs holds a thread, and calls queued
//!   behind it would wait. A watchdog checks every [`WATCH_EVERY`]; when
//!   every thread has been on its current call for longer than the stall
//!   time (`--stall-after-ms`, seconds: long series are ordinary work) and
//!   calls are waiting, it starts one more thread, up to
//!   `--max-stall-threads` extra ones, and logs once per episode. Extra
//!   threads leave after [`IDLE_EXIT`] without work.
//!
//! A panic in a call (plugin panics are already caught inside the plugin) is
//! caught here too and reported as a lost call; the thread goes on.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};

/// How often the watchdog looks for stalls.
pub const WATCH_EVERY: Duration = Duration::from_millis(100);
/// How long a thread started for a stall waits for work before it leaves.
pub const IDLE_EXIT: Duration = Duration::from_secs(10);

type Job = Box<dyn FnOnce() + Send>;

/// How the pool is sized.
#[derive(Debug, Clone, Copy)]
pub struct PoolConfig {
    /// Permanent threads (at least 1).
    pub threads: usize,
    /// Calls that may wait for a thread; more are refused.
    pub max_queued: usize,
    /// How long a thread may stay on one call before it counts as stalled.
    pub stall_after: Duration,
    /// Most threads added while every thread is stalled.
    pub max_stall_threads: usize,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            max_queued: 256,
            stall_after: Duration::from_secs(2),
            max_stall_threads: 4,
        }
    }
}

/// A model call that gave no result: it panicked, was dropped unrun because
/// its caller had gone, or the pool went away.
#[derive(Debug, thiserror::Error)]
#[error("the model call panicked or was abandoned before it returned")]
pub struct CallLost;

/// The queue was full; the call was not accepted.
#[derive(Debug, thiserror::Error)]
#[error("{queued} model calls are already waiting (this server's --max-queued-calls)")]
pub struct PoolFull {
    /// The queue's capacity.
    pub queued: usize,
}

/// What a running call may ask about itself.
pub struct CallStatus<'a> {
    caller_gone: &'a dyn Fn() -> bool,
    deadline: Instant,
}

impl CallStatus<'_> {
    /// Whether nobody waits for the result any more (the caller cancelled or
    /// its deadline passed): long work should stop at the next safe point.
    pub fn abandoned(&self) -> bool {
        (self.caller_gone)() || Instant::now() >= self.deadline
    }

    /// When the call's budget runs out.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }
}

/// Slot states in [`Threads::slots`]: free, idle, or busy since
/// `value - BUSY` µs after `epoch`.
const FREE: u64 = 0;
const IDLE: u64 = 1;
const BUSY: u64 = 2;

/// What the pool's threads and watchdog share.
#[derive(Debug)]
struct Threads {
    jobs: Receiver<Job>,
    slots: Box<[AtomicU64]>,
    live: AtomicUsize,
    config: PoolConfig,
    epoch: Instant,
    /// Calls dropped unrun because their caller had gone.
    dropped: AtomicU64,
}

/// The pool of model-call threads.
#[derive(Debug)]
pub struct ModelPool {
    queue: Sender<Job>,
    threads: Arc<Threads>,
}

impl ModelPool {
    /// Starts the permanent threads, named `stratus-model-N`, and the
    /// watchdog.
    pub fn start(config: PoolConfig) -> std::io::Result<Self> {
        let config = PoolConfig {
            threads: config.threads.max(1),
            max_queued: config.max_queued.max(1),
            ..config
        };
        let (queue, jobs) = crossbeam_channel::bounded::<Job>(config.max_queued);
        let shared = Arc::new(Threads {
            jobs,
            slots: (0..config.threads + config.max_stall_threads)
                .map(|_| AtomicU64::new(FREE))
                .collect(),
            live: AtomicUsize::new(0),
            config,
            epoch: Instant::now(),
            dropped: AtomicU64::new(0),
        });
        for _ in 0..config.threads {
            spawn_thread(&shared, true)?;
        }
        let watched = Arc::downgrade(&shared);
        std::thread::Builder::new()
            .name("stratus-model-watch".into())
            .spawn(move || watch(&watched))?;
        Ok(Self {
            queue,
            threads: shared,
        })
    }

    /// Queues `call`, to run before `deadline` or not at all, and resolves to
    /// its result; refused at once if the queue is full. Dropping the future
    /// tells a queued call not to run (a running one sees
    /// [`CallStatus::abandoned`]).
    pub fn run<T: Send + 'static>(
        &self,
        deadline: Instant,
        call: impl FnOnce(&CallStatus<'_>) -> T + Send + 'static,
    ) -> Result<impl Future<Output = Result<T, CallLost>> + Send + 'static, PoolFull> {
        let (answer, result) = tokio::sync::oneshot::channel();
        let threads = Arc::clone(&self.threads);
        let job: Job = Box::new(move || {
            let caller_gone = || answer.is_closed();
            let status = CallStatus {
                caller_gone: &caller_gone,
                deadline,
            };
            if status.abandoned() {
                threads.dropped.fetch_add(1, Ordering::Relaxed);
                return; // Dropping `answer` tells a late receiver: CallLost.
            }
            let value = call(&status);
            // The receiver may be gone (the caller's deadline passed).
            let _ = answer.send(value);
        });
        match self.queue.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                return Err(PoolFull {
                    queued: self.threads.config.max_queued,
                });
            }
            // Every thread gone, which the pool never lets happen while it
            // lives; the caller then sees `CallLost`.
            Err(TrySendError::Disconnected(_)) => {}
        }
        Ok(async move { result.await.map_err(|_| CallLost) })
    }

    /// Threads running now (permanent ones plus any started for stalls).
    pub fn threads(&self) -> usize {
        self.threads.live.load(Ordering::Relaxed)
    }

    /// Calls waiting for a thread.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Calls dropped unrun since start because their caller had gone.
    pub fn dropped(&self) -> u64 {
        self.threads.dropped.load(Ordering::Relaxed)
    }
}

impl Threads {
    fn now(&self) -> u64 {
        self.epoch.elapsed().as_micros() as u64
    }

    /// Whether every live thread has been on its current call for longer
    /// than the stall time.
    fn stalled(&self) -> bool {
        let (now, limit) = (self.now(), self.config.stall_after.as_micros() as u64);
        let mut live = 0;
        for slot in self.slots.iter() {
            match slot.load(Ordering::Relaxed) {
                FREE => {}
                IDLE => return false,
                since => {
                    live += 1;
                    if now.saturating_sub(since - BUSY) <= limit {
                        return false;
                    }
                }
            }
        }
        live > 0
    }
}

/// Starts a thread on a free slot; `permanent` threads never leave. Returns
/// whether a thread was started (false at the cap).
fn spawn_thread(threads: &Arc<Threads>, permanent: bool) -> std::io::Result<bool> {
    let Some(index) = threads.slots.iter().position(|slot| {
        slot.compare_exchange(FREE, IDLE, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
    }) else {
        return Ok(false); // At the cap: the stalled calls must end first.
    };
    threads.live.fetch_add(1, Ordering::Relaxed);
    let shared = Arc::clone(threads);
    let started = std::thread::Builder::new()
        .name(format!("stratus-model-{index}"))
        .spawn(move || work(&shared, index, permanent));
    if started.is_err() {
        threads.slots[index].store(FREE, Ordering::Release);
        threads.live.fetch_sub(1, Ordering::Relaxed);
    }
    started.map(|_| true)
}

/// One pool thread: takes calls until the pool is dropped (or, if not
/// permanent, until it has been idle for [`IDLE_EXIT`]).
fn work(threads: &Threads, index: usize, permanent: bool) {
    let slot = &threads.slots[index];
    loop {
        let job = if permanent {
            threads
                .jobs
                .recv()
                .map_err(|_| RecvTimeoutError::Disconnected)
        } else {
            threads.jobs.recv_timeout(IDLE_EXIT)
        };
        let Ok(job) = job else { break };
        slot.store(threads.now() + BUSY, Ordering::Relaxed);
        // A panic drops the job's answer sender, which the caller sees as
        // `CallLost`; the thread carries on with the next call.
        let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
        slot.store(IDLE, Ordering::Relaxed);
    }
    slot.store(FREE, Ordering::Release);
    threads.live.fetch_sub(1, Ordering::Relaxed);
}

/// The watchdog: adds a thread while every thread is stalled and calls wait,
/// logging once when an episode starts and once when it ends. Ends with the
/// pool.
fn watch(threads: &Weak<Threads>) {
    let in_episode = AtomicBool::new(false);
    let spawn_failures = crate::telemetry::Throttle::new(Duration::from_secs(60));
    loop {
        std::thread::sleep(WATCH_EVERY);
        let Some(threads) = threads.upgrade() else {
            return;
        };
        if !threads.jobs.is_empty() && threads.stalled() {
            match spawn_thread(&threads, false) {
                Err(error) => {
                    if let Some(failures) = spawn_failures.tick() {
                        tracing::warn!(%error, failures, "cannot start another model-call thread (logged at most once a minute)");
                    }
                }
                Ok(started) => {
                    if !in_episode.swap(true, Ordering::Relaxed) {
                        tracing::warn!(
                            threads = threads.live.load(Ordering::Relaxed),
                            added = started,
                            stall_after = ?threads.config.stall_after,
                            max_stall_threads = threads.config.max_stall_threads,
                            "every model-call thread is stalled while calls wait; adding threads (logged once per episode)"
                        );
                    }
                }
            }
        } else if threads.jobs.is_empty() && in_episode.swap(false, Ordering::Relaxed) {
            tracing::info!(
                threads = threads.live.load(Ordering::Relaxed),
                "model-call stall episode over: no calls waiting"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(threads: usize, max_queued: usize) -> ModelPool {
        ModelPool::start(PoolConfig {
            threads,
            max_queued,
            stall_after: Duration::from_millis(50),
            max_stall_threads: 2,
        })
        .unwrap()
    }

    fn later() -> Instant {
        Instant::now() + Duration::from_secs(30)
    }

    #[tokio::test]
    async fn runs_calls_and_reports_panics_as_lost() {
        let pool = pool(2, 16);
        assert_eq!(pool.run(later(), |_| 6 * 7).unwrap().await.unwrap(), 42);
        let lost = pool
            .run(later(), |_| -> u32 { panic!("a broken call") })
            .unwrap()
            .await;
        assert!(lost.is_err());
        // The thread that caught the panic still serves.
        for _ in 0..4 {
            assert_eq!(pool.run(later(), |_| 1).unwrap().await.unwrap(), 1);
        }
        assert_eq!(pool.threads(), 2);
    }

    #[tokio::test]
    async fn calls_queued_behind_stalled_threads_still_run() {
        let pool = pool(1, 16);
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let stuck = pool.run(later(), move |_| hold.recv().is_ok()).unwrap();
        // Queued at once, behind the stuck call on the only thread.
        let queued = pool.run(later(), |_| "served").unwrap();
        let answer = tokio::time::timeout(Duration::from_secs(5), queued).await;
        assert_eq!(answer.unwrap().unwrap(), "served");
        assert_eq!(pool.threads(), 2, "one thread was added for the stall");
        release.send(()).unwrap();
        assert!(stuck.await.unwrap());
    }

    #[tokio::test]
    async fn a_full_queue_refuses_at_once_and_stall_threads_are_capped() {
        let pool = pool(1, 2);
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let hold = Arc::new(std::sync::Mutex::new(hold));
        let mut waiting = Vec::new();
        let mut refused = 0;
        for _ in 0..20 {
            let hold = Arc::clone(&hold);
            match pool.run(later(), move |_| hold.lock().map(|h| h.recv().is_ok()).ok()) {
                Ok(call) => waiting.push(call),
                Err(full) => {
                    assert_eq!(full.queued, 2);
                    refused += 1;
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(refused > 0, "a bounded queue refuses a flood");
        assert!(pool.threads() <= 3, "1 permanent + at most 2 stall threads");
        for _ in 0..waiting.len() {
            release.send(()).unwrap();
        }
        for call in waiting {
            assert_eq!(call.await.unwrap(), Some(true));
        }
    }

    #[tokio::test]
    async fn calls_whose_caller_left_are_dropped_unrun() {
        let pool = pool(1, 16);
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let stuck = pool.run(later(), move |_| hold.recv().is_ok()).unwrap();
        let ran = Arc::new(AtomicUsize::new(0));
        for _ in 0..5 {
            let ran = Arc::clone(&ran);
            // The caller gives up at once: the future is dropped unpolled.
            drop(
                pool.run(later(), move |_| ran.fetch_add(1, Ordering::Relaxed))
                    .unwrap(),
            );
        }
        let expired = Instant::now();
        let late = pool.run(expired, |_| "ran").unwrap();
        release.send(()).unwrap();
        assert!(stuck.await.unwrap());
        assert!(late.await.is_err(), "a call past its deadline does not run");
        assert_eq!(ran.load(Ordering::Relaxed), 0);
        assert_eq!(pool.dropped(), 6);
    }
}
