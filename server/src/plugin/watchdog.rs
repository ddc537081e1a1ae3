//! Running a plugin's code under a time limit while it is being loaded.
//!
//! Loading a library runs code the server does not control: the library's
//! initialisers (inside `dlopen`), `describe`, `create` and the smoke call.
//! Any of them can hang, and a rescan waiting on it would freeze every later
//! reload. So each of these steps runs on a helper thread and the rescan
//! waits only up to a limit.
//!
//! Native code cannot be interrupted safely, so a step that overruns is
//! abandoned, not stopped: its thread runs on (possibly forever) and keeps
//! whatever it holds — the library's private copy, its mapping, an instance.
//! That leaked thread is the price of a rescan that always finishes. The
//! [`Stopped::Hung`] error hands back the abandoned thread's handle so the
//! caller can tell when (if ever) it returns, and avoid starting another
//! thread on the same library meanwhile.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Why a step run under [`run`] produced no result.
#[derive(Debug, thiserror::Error)]
pub enum Stopped {
    /// The step did not return in time; its thread was abandoned.
    #[error("{step} did not return within {limit:?} (its thread is abandoned, not stopped)")]
    Hung {
        /// The step that was running when the limit passed, e.g. "describe".
        step: &'static str,
        /// The limit.
        limit: Duration,
        /// The abandoned thread, to check whether it ever returns.
        thread: JoinHandle<()>,
    },
    /// The server's own code panicked during the step (a plugin's panics
    /// are caught at the ABI boundary and never get here).
    #[error("the server panicked during {step}")]
    Panicked {
        /// The step that was running.
        step: &'static str,
    },
    /// No thread could be started for the step.
    #[error("cannot start a thread for {step}: {source}")]
    Spawn {
        /// The step that was to run.
        step: &'static str,
        /// Why the thread could not start.
        source: std::io::Error,
    },
}

/// Which step a helper thread is in, so a timeout can name the step that
/// hung rather than the whole load.
#[derive(Debug, Clone)]
pub struct Progress(Arc<Mutex<&'static str>>);

impl Progress {
    fn new(step: &'static str) -> Self {
        Self(Arc::new(Mutex::new(step)))
    }

    /// Records that the thread now starts `step`.
    pub fn enter(&self, step: &'static str) {
        // A poisoned lock still holds a valid `&'static str`.
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = step;
    }

    fn current(&self) -> &'static str {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Runs `work` on a new thread named `name` and waits up to `limit` for its
/// result. `work` starts in step `first_step` and may announce later steps
/// through the [`Progress`] it is given.
pub fn run<T: Send + 'static>(
    name: &str,
    limit: Duration,
    first_step: &'static str,
    work: impl FnOnce(&Progress) -> T + Send + 'static,
) -> Result<T, Stopped> {
    let progress = Progress::new(first_step);
    let (tx, rx) = mpsc::channel();
    let worker_progress = progress.clone();
    let thread = std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            // If the waiter gave up, the result has nowhere to go and is
            // dropped here, on this thread.
            let _ = tx.send(work(&worker_progress));
        })
        .map_err(|source| Stopped::Spawn {
            step: first_step,
            source,
        })?;
    match rx.recv_timeout(limit) {
        Ok(result) => Ok(result),
        Err(RecvTimeoutError::Timeout) => Err(Stopped::Hung {
            step: progress.current(),
            limit,
            thread,
        }),
        Err(RecvTimeoutError::Disconnected) => Err(Stopped::Panicked {
            step: progress.current(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_that_returns_in_time_gives_its_result() {
        let answer = run("test-quick", Duration::from_secs(5), "adding", |_| 2 + 2);
        assert_eq!(answer.unwrap(), 4);
    }

    #[test]
    fn a_hung_step_is_named_and_abandoned() {
        let (release, released) = mpsc::channel::<()>();
        let outcome = run(
            "test-hang",
            Duration::from_millis(100),
            "opening",
            move |p| {
                p.enter("describe");
                let _ = released.recv();
            },
        );
        let Err(Stopped::Hung {
            step,
            limit,
            thread,
        }) = outcome
        else {
            panic!("expected a hang, got {outcome:?}");
        };
        // On a loaded machine the thread may not have reached `describe`
        // within 100 ms; either way the step it was in is named.
        assert!(matches!(step, "describe" | "opening"), "{step}");
        assert_eq!(limit, Duration::from_millis(100));
        assert!(!thread.is_finished(), "the thread runs on");
        release.send(()).unwrap();
        thread.join().unwrap();
    }

    #[test]
    fn a_panic_in_the_step_is_reported_not_waited_out() {
        let outcome = run("test-panic", Duration::from_secs(30), "create", |_| -> u8 {
            panic!("host bug")
        });
        assert!(
            matches!(outcome, Err(Stopped::Panicked { step: "create" })),
            "{outcome:?}"
        );
    }
}
