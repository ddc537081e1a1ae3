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
//! What a fixed pool risks, and how it is contained: a model that hangs holds
//! a thread, and calls queued behind it would wait. A watchdog thread checks
//! every [`WATCH_EVERY`]; when every thread has been on its current call for
//! longer than [`STALL_AFTER`] and calls are waiting, it starts one more
//! thread (up to [`MAX_THREADS`]), so other models and queued calls keep
//! moving while the stalled ones run out their deadlines. Threads beyond the
//! per-core ones leave after [`IDLE_EXIT`] without work. A panic in a call
//! (plugin panics are already caught inside the plugin) is caught here too and
//! reported as a lost call; the thread goes on.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

/// How long a thread may stay on one call before it counts as stalled.
pub const STALL_AFTER: Duration = Duration::from_millis(20);
/// How often the watchdog looks for stalls.
pub const WATCH_EVERY: Duration = Duration::from_millis(5);
/// Most threads the pool grows to while models hang.
pub const MAX_THREADS: usize = 256;
/// How long a thread started for a stall waits for work before it leaves.
pub const IDLE_EXIT: Duration = Duration::from_secs(10);

type Job = Box<dyn FnOnce() + Send>;

/// A model call that gave no result: it panicked, or the pool went away.
#[derive(Debug, thiserror::Error)]
#[error("the model call panicked or was abandoned before it returned")]
pub struct CallLost;

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
    per_core: usize,
    epoch: Instant,
}

/// The pool of model-call threads.
#[derive(Debug)]
pub struct ModelPool {
    queue: Sender<Job>,
    threads: Arc<Threads>,
}

impl ModelPool {
    /// Starts `threads` (at least 1) permanent threads named
    /// `stratus-model-N`, and the watchdog.
    pub fn start(threads: usize) -> std::io::Result<Self> {
        let per_core = threads.clamp(1, MAX_THREADS);
        let (queue, jobs) = crossbeam_channel::unbounded::<Job>();
        let shared = Arc::new(Threads {
            jobs,
            slots: (0..MAX_THREADS).map(|_| AtomicU64::new(FREE)).collect(),
            live: AtomicUsize::new(0),
            per_core,
            epoch: Instant::now(),
        });
        for _ in 0..per_core {
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

    /// One permanent thread per available core.
    pub fn per_core() -> std::io::Result<Self> {
        Self::start(std::thread::available_parallelism().map_or(2, |n| n.get()))
    }

    /// Queues `call` and resolves to its result. Dropping the future does not
    /// stop the call; its result is then discarded.
    pub fn run<T: Send + 'static>(
        &self,
        call: impl FnOnce() -> T + Send + 'static,
    ) -> impl Future<Output = Result<T, CallLost>> + Send + 'static {
        let (answer, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            // The receiver may be gone (the caller's deadline passed).
            let _ = answer.send(call());
        });
        // Fails only if every thread is gone, which the pool never lets
        // happen while it lives; the caller then sees `CallLost`.
        let _ = self.queue.send(job);
        async move { result.await.map_err(|_| CallLost) }
    }

    /// Threads running now (per-core ones plus any started for stalls).
    pub fn threads(&self) -> usize {
        self.threads.live.load(Ordering::Relaxed)
    }
}

impl Threads {
    fn now(&self) -> u64 {
        self.epoch.elapsed().as_micros() as u64
    }

    /// Whether every live thread has been on its current call for longer
    /// than [`STALL_AFTER`].
    fn stalled(&self) -> bool {
        let (now, limit) = (self.now(), STALL_AFTER.as_micros() as u64);
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

/// Starts a thread on a free slot; `permanent` threads never leave.
fn spawn_thread(threads: &Arc<Threads>, permanent: bool) -> std::io::Result<()> {
    let Some(index) = threads.slots.iter().position(|slot| {
        slot.compare_exchange(FREE, IDLE, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
    }) else {
        return Ok(()); // At the cap: the stalled calls must end first.
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
    started.map(drop)
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

/// The watchdog: adds a thread while every thread is stalled and calls wait.
/// Ends with the pool.
fn watch(threads: &Weak<Threads>) {
    loop {
        std::thread::sleep(WATCH_EVERY);
        let Some(threads) = threads.upgrade() else {
            return;
        };
        if !threads.jobs.is_empty() && threads.stalled() {
            if let Err(error) = spawn_thread(&threads, false) {
                tracing::warn!(%error, "cannot start another model-call thread");
            } else {
                tracing::info!(
                    threads = threads.live.load(Ordering::Relaxed),
                    per_core = threads.per_core,
                    "every model-call thread is stalled; started one more"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_calls_and_reports_panics_as_lost() {
        let pool = ModelPool::start(2).unwrap();
        assert_eq!(pool.run(|| 6 * 7).await.unwrap(), 42);
        let lost = pool.run(|| -> u32 { panic!("a broken call") }).await;
        assert!(lost.is_err());
        // The thread that caught the panic still serves.
        for _ in 0..4 {
            assert_eq!(pool.run(|| 1).await.unwrap(), 1);
        }
        assert_eq!(pool.threads(), 2);
    }

    #[tokio::test]
    async fn calls_queued_behind_stalled_threads_still_run() {
        let pool = ModelPool::start(1).unwrap();
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let stuck = pool.run(move || hold.recv().is_ok());
        // Queued at once, behind the stuck call on the only thread.
        let queued = pool.run(|| "served");
        let answer = tokio::time::timeout(Duration::from_secs(5), queued).await;
        assert_eq!(answer.unwrap().unwrap(), "served");
        assert_eq!(pool.threads(), 2, "one thread was added for the stall");
        release.send(()).unwrap();
        assert!(stuck.await.unwrap());
    }
}
