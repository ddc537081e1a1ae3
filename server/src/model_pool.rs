//! Where model calls run: a few dedicated threads, so the async workers that
//! serve HTTP/2, health checks and other calls never run plugin code.
//!
//! Why not tokio's blocking pool (`spawn_blocking`)? It starts a thread per
//! concurrent call (64 callers: 64 threads) and wakes one with a futex for
//! every call; measured with h2load at 64 concurrent unary `Forecast` calls
//! with `naive`, that hand-off cost a quarter of the server's throughput
//! (BENCHMARKS.md). Here, one thread per core takes calls from a shared
//! queue; under load the threads find the next call waiting and never sleep,
//! so a hand-off is a queue push and a completion wake-up.
//!
//! What a dedicated pool risks, and how it is contained: a model that hangs
//! holds a thread. When every pool thread has been on its current call for
//! longer than [`STALL_AFTER`], new calls go to tokio's blocking pool instead
//! (which grows), so other models and later calls keep running while the
//! stalled ones run out their deadlines. A panic in a call (plugin panics are
//! already caught inside the plugin) is caught here too and reported as a lost
//! call; the thread goes on.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

/// How long a thread may stay on one call before it counts as stalled.
pub const STALL_AFTER: Duration = Duration::from_millis(20);

type Job = Box<dyn FnOnce() + Send>;

/// A model call that gave no result: it panicked, or the pool went away.
#[derive(Debug, thiserror::Error)]
#[error("the model call panicked or was abandoned before it returned")]
pub struct CallLost;

/// The pool of model-call threads.
#[derive(Debug)]
pub struct ModelPool {
    queue: Sender<Job>,
    /// Per thread: when its current call started (µs since `epoch`, plus 1),
    /// or 0 when idle.
    busy_since: Arc<[AtomicU64]>,
    epoch: Instant,
}

impl ModelPool {
    /// Starts `threads` (at least 1) threads named `stratus-model-N`.
    pub fn start(threads: usize) -> std::io::Result<Self> {
        let threads = threads.max(1);
        let (queue, jobs) = crossbeam_channel::unbounded::<Job>();
        let busy_since: Arc<[AtomicU64]> = (0..threads).map(|_| AtomicU64::new(0)).collect();
        let epoch = Instant::now();
        for index in 0..threads {
            let (jobs, busy_since) = (jobs.clone(), Arc::clone(&busy_since));
            std::thread::Builder::new()
                .name(format!("stratus-model-{index}"))
                .spawn(move || work(&jobs, &busy_since[index], epoch))?;
        }
        Ok(Self {
            queue,
            busy_since,
            epoch,
        })
    }

    /// One thread per available core.
    pub fn per_core() -> std::io::Result<Self> {
        Self::start(std::thread::available_parallelism().map_or(2, |n| n.get()))
    }

    /// Runs `call` on a pool thread (or, while every pool thread is stalled,
    /// on tokio's blocking pool) and resolves to its result. Dropping the
    /// future does not stop the call; its result is then discarded.
    pub fn run<T: Send + 'static>(
        &self,
        call: impl FnOnce() -> T + Send + 'static,
    ) -> impl Future<Output = Result<T, CallLost>> + Send + 'static {
        let (answer, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            // The receiver may be gone (the caller's deadline passed).
            let _ = answer.send(call());
        });
        let job = if self.stalled() {
            Err(job)
        } else {
            self.queue
                .send(job)
                .map_err(|rejected| rejected.into_inner())
        };
        let fallback = job.err().map(tokio::task::spawn_blocking);
        async move {
            if let Some(handle) = fallback {
                handle.await.map_err(|_| CallLost)?;
            }
            result.await.map_err(|_| CallLost)
        }
    }

    /// Whether every thread has been on its current call for longer than
    /// [`STALL_AFTER`].
    fn stalled(&self) -> bool {
        let now = micros_since(self.epoch);
        let limit = STALL_AFTER.as_micros() as u64;
        self.busy_since.iter().all(|since| {
            let since = since.load(Ordering::Relaxed);
            since != 0 && now.saturating_sub(since - 1) > limit
        })
    }
}

fn micros_since(epoch: Instant) -> u64 {
    epoch.elapsed().as_micros() as u64
}

/// One pool thread: takes calls until the pool is dropped.
fn work(jobs: &Receiver<Job>, busy_since: &AtomicU64, epoch: Instant) {
    for job in jobs {
        busy_since.store(micros_since(epoch) + 1, Ordering::Relaxed);
        // A panic drops the job's answer sender, which the caller sees as
        // `CallLost`; the thread carries on with the next call.
        let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
        busy_since.store(0, Ordering::Relaxed);
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
    }

    #[tokio::test]
    async fn stalled_threads_do_not_block_new_calls() {
        let pool = ModelPool::start(1).unwrap();
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let stuck = pool.run(move || hold.recv().is_ok());
        // Let the only thread pass the stall threshold on the stuck call.
        std::thread::sleep(STALL_AFTER * 3);
        assert!(pool.stalled());
        let answer = tokio::time::timeout(Duration::from_secs(5), pool.run(|| "served")).await;
        assert_eq!(answer.unwrap().unwrap(), "served");
        release.send(()).unwrap();
        assert!(stuck.await.unwrap());
    }
}
