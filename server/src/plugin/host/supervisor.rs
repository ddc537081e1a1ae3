//! The server's side of process isolation: a model whose library runs in a
//! `stratus-plugin-host` process of its own, started, called and restarted
//! from here.
//!
//! - **Start.** The host gets a read-only descriptor of the library's
//!   private copy as descriptor 3 (so it maps exactly the bytes the server
//!   hashed) and a Unix socket as descriptor 0; it loads the library and
//!   answers `HELLO` with the model's description, or `FAILED` with the
//!   reason, within [`LOAD_TIMEOUT`]. Its address space is capped
//!   (`RLIMIT_AS`, `--plugin-memory-limit`); it runs in a process group of
//!   its own (a terminal's Ctrl-C for the server does not reach it before
//!   the server has drained) and exits as soon as its socket hangs up, so
//!   it does not outlive the server.
//! - **Calls.** Each call is a frame with an id, queued to a writer task
//!   (no caller ever blocks on the socket); a reader task on the server's
//!   runtime matches answers to waiting callers, and refuses (killing the
//!   host) a frame that answers nothing pending or is larger than any answer
//!   could be. A caller waits until its own deadline and then gives up
//!   without touching the host. A watchdog task kills the host when a call,
//!   whoever waits for it, has run past `--call-timeout-ms` (times the calls
//!   in its batch): the model is stuck in native code, which nothing else
//!   can interrupt.
//! - **Death.** When the host ends, every call in flight on it fails with
//!   the model's name and how the process ended (signal or exit status),
//!   the death is recorded, and the host is started again after a backoff
//!   (100 ms, doubling). A host that dies [`CRASH_LOOP_DEATHS`] times
//!   within [`CRASH_LOOP_WINDOW`] (failed restarts included) is marked
//!   failed with its last error and no longer restarted; a reload retries it.
//! - **Stop.** Dropping the model (a reload replaced it and its last call
//!   ended) kills its host; the kernel reclaims everything the library held.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant};

use prost::Message;
use stratus_plugin_abi::wire;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::protocol::{self, Kind};
use crate::plugin::library::{self, CallError, LOAD_TIMEOUT};

/// Deaths within [`CRASH_LOOP_WINDOW`] that mark a host failed.
pub const CRASH_LOOP_DEATHS: usize = 5;
/// See [`CRASH_LOOP_DEATHS`].
pub const CRASH_LOOP_WINDOW: Duration = Duration::from_secs(60);
/// The descriptor a host finds its library's bytes on.
pub const LIBRARY_FD: i32 = 3;
/// The largest answer one call may get: far above what the server serves
/// (answers are bounded by horizon × levels), so only a broken or rogue
/// host reaches it.
const MAX_ANSWER_BYTES: usize = 8 * 1024 * 1024;
/// The largest `HELLO` (a model description).
const MAX_HELLO_BYTES: usize = 1024 * 1024;
/// How often the watchdog looks for calls past their time.
const WATCHDOG_TICK: Duration = Duration::from_millis(250);

/// How plugin host processes are started.
#[derive(Debug, Clone)]
pub struct HostSpec {
    /// The `stratus-plugin-host` binary.
    pub program: PathBuf,
    /// The cap on a host's address space, in MiB (0: none).
    pub memory_limit_mib: u64,
    /// Worker threads per host (calls it runs at once).
    pub threads: usize,
    /// Most calls waiting on one host; more are refused as busy (the same
    /// bound the model pool's queue puts on in-process calls).
    pub max_in_flight: usize,
    /// How long one call may run before its host is killed as stuck
    /// (`--call-timeout-ms`).
    pub call_timeout: Duration,
    /// The server's async runtime, which reads, writes and watches hosts'
    /// sockets; process isolation needs one.
    pub runtime: Option<tokio::runtime::Handle>,
}

/// What a host said when it started: the library's ABI version and model.
#[derive(Debug, Clone)]
pub struct Hello {
    /// "major.minor".
    pub abi_version: String,
    /// The model's description.
    pub description: wire::ModelDescription,
}

/// A model served from a plugin host process, restarted when it dies.
#[derive(Debug)]
pub struct HostedModel {
    spec: HostSpec,
    runtime: tokio::runtime::Handle,
    /// A read-only descriptor of the library's private copy, kept open so
    /// every restart maps the same bytes.
    library: File,
    display: PathBuf,
    name: String,
    state: Mutex<State>,
    restarts: AtomicU32,
}

#[derive(Debug, Default)]
struct State {
    /// The running host; `None` while it restarts or after it failed.
    conn: Option<Arc<Conn>>,
    /// When it died recently.
    deaths: VecDeque<Instant>,
    /// How the last host ended.
    last_death: Option<String>,
    /// Set when it died in a loop: no more restarts.
    failed: Option<String>,
}

/// One running host process.
#[derive(Debug)]
struct Conn {
    pid: u32,
    child: Mutex<Child>,
    /// Encoded frames for the writer task.
    frames: tokio::sync::mpsc::UnboundedSender<Vec<u8>>,
    pending: Mutex<HashMap<u64, Pending>>,
    next_id: AtomicU64,
    /// Why the server ended the process, if it did.
    ended_because: Mutex<Option<String>>,
    closed: AtomicBool,
}

/// A frame sent and not yet answered.
#[derive(Debug)]
struct Pending {
    /// Gone when the caller gave up; the answer is then dropped.
    waiter: Option<Waiter>,
    sent: Instant,
    /// How many calls the frame holds (answers expected).
    calls: usize,
}

/// A host's answers to one frame (status and bytes per call), or why there
/// will be none.
type Reply = Result<Vec<(u8, Vec<u8>)>, String>;

/// Who waits for a frame's answers: a blocked thread (smoke checks, batches
/// on the model pool) or an async task (calls needing no pool thread).
#[derive(Debug)]
enum Waiter {
    Blocking(crossbeam_channel::Sender<Reply>),
    Async(tokio::sync::oneshot::Sender<Reply>),
}

impl Waiter {
    fn send(self, reply: Reply) {
        // A waiter that gave up dropped its receiver: nobody to tell.
        match self {
            Waiter::Blocking(sender) => {
                let _ = sender.send(reply);
            }
            Waiter::Async(sender) => {
                let _ = sender.send(reply);
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section here is a map or field update, never a wait:
    // a panic cannot leave one half done.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl HostedModel {
    /// Starts a host on `library` (a private copy; shown as `display`) and
    /// waits for its `HELLO`, at most [`LOAD_TIMEOUT`].
    pub fn start(
        spec: &HostSpec,
        library: &File,
        display: &Path,
    ) -> Result<(Arc<Self>, Hello), String> {
        let runtime = spec
            .runtime
            .clone()
            .ok_or("process isolation needs the server's async runtime")?;
        // A new, read-only open of the same bytes: the host cannot write to
        // what later restarts map.
        let library = File::open(format!("/proc/self/fd/{}", library.as_raw_fd()))
            .map_err(|e| format!("cannot pass the library to a plugin host: {e}"))?;
        let (conn, reader, hello) = spawn(spec, &runtime, &library, display)?;
        let model = Arc::new(Self {
            spec: spec.clone(),
            runtime,
            library,
            display: display.to_owned(),
            name: hello.description.name.clone(),
            state: Mutex::new(State {
                conn: Some(Arc::clone(&conn)),
                ..State::default()
            }),
            restarts: AtomicU32::new(0),
        });
        model.watch(conn, reader);
        Ok((model, hello))
    }

    /// The running host's pid (0 while none runs).
    pub fn pid(&self) -> u32 {
        lock(&self.state).conn.as_ref().map_or(0, |c| c.pid)
    }

    /// Times the host was started again after dying.
    pub fn restarts(&self) -> u32 {
        self.restarts.load(Ordering::Relaxed)
    }

    /// Why the host is no longer restarted, if it died in a loop.
    pub fn failed(&self) -> Option<String> {
        lock(&self.state).failed.clone()
    }

    /// Runs one call (an encoded `InvokeRequest`), waiting until `deadline`.
    pub fn invoke(
        &self,
        request: &[u8],
        deadline: Instant,
    ) -> Result<wire::InvokeResponse, CallError> {
        single(self.exchange(Kind::Call, request, 1, deadline)?)
    }

    /// Runs several calls in one frame each way (a stream's batch), waiting
    /// until `deadline`; one result per request, in order.
    pub fn invoke_batch(
        &self,
        requests: &[Vec<u8>],
        deadline: Instant,
    ) -> Vec<Result<wire::InvokeResponse, CallError>> {
        let packed = protocol::pack(requests.iter().map(|r| (None, r.as_slice())));
        let answers = self.exchange(Kind::Batch, &packed, requests.len(), deadline);
        batch_results(requests.len(), answers)
    }

    /// [`HostedModel::invoke`] for an async caller: no thread waits, the
    /// host does the work. Gives up at `deadline`; dropping the future
    /// abandons the call (the host's watchdog still bounds it).
    pub async fn invoke_async(
        &self,
        request: &[u8],
        deadline: tokio::time::Instant,
    ) -> Result<wire::InvokeResponse, CallError> {
        single(
            self.exchange_async(Kind::Call, request, 1, deadline)
                .await?,
        )
    }

    /// [`HostedModel::invoke_batch`] for an async caller.
    pub async fn invoke_batch_async(
        &self,
        requests: &[Vec<u8>],
        deadline: tokio::time::Instant,
    ) -> Vec<Result<wire::InvokeResponse, CallError>> {
        let packed = protocol::pack(requests.iter().map(|r| (None, r.as_slice())));
        let answers = self
            .exchange_async(Kind::Batch, &packed, requests.len(), deadline)
            .await;
        batch_results(requests.len(), answers)
    }

    /// Sends a frame and waits (blocking) for its answers until `deadline`.
    fn exchange(
        &self,
        kind: Kind,
        payload: &[u8],
        calls: usize,
        deadline: Instant,
    ) -> Result<Vec<(u8, Vec<u8>)>, CallError> {
        let (sender, answer) = crossbeam_channel::bounded(1);
        let (conn, id) = self.send(kind, payload, calls, Waiter::Blocking(sender))?;
        match answer.recv_deadline(deadline) {
            Ok(Ok(answers)) => Ok(answers),
            Ok(Err(death)) => Err(CallError::HostLost(death)),
            Err(_) => Err(self.late(&conn, id)),
        }
    }

    /// [`HostedModel::exchange`] for an async caller: no thread waits.
    async fn exchange_async(
        &self,
        kind: Kind,
        payload: &[u8],
        calls: usize,
        deadline: tokio::time::Instant,
    ) -> Result<Vec<(u8, Vec<u8>)>, CallError> {
        let (sender, answer) = tokio::sync::oneshot::channel();
        let (conn, id) = self.send(kind, payload, calls, Waiter::Async(sender))?;
        match tokio::time::timeout_at(deadline, answer).await {
            Ok(Ok(Ok(answers))) => Ok(answers),
            Ok(Ok(Err(death))) => Err(CallError::HostLost(death)),
            Ok(Err(_)) => Err(CallError::HostLost(format!(
                "the host process of model '{}' dropped the call",
                self.name
            ))),
            Err(_) => Err(self.late(&conn, id)),
        }
    }

    /// Queues one frame for the running host, registering `waiter` for its
    /// answers.
    fn send(
        &self,
        kind: Kind,
        payload: &[u8],
        calls: usize,
        waiter: Waiter,
    ) -> Result<(Arc<Conn>, u64), CallError> {
        let conn = self.current()?;
        let id = conn.next_id.fetch_add(1, Ordering::Relaxed);
        let frame = protocol::encode_frame(id, kind, payload)
            .map_err(|e| CallError::Garbage(format!("could not be sent the call: {e}")))?;
        {
            let mut pending = lock(&conn.pending);
            // The host has died and its pending calls are being (or have
            // been) failed: a call registered now would never be answered.
            // Checked under the lock the drain takes, after `closed` is set.
            if conn.closed.load(Ordering::Acquire) {
                return Err(CallError::HostDown {
                    message: format!(
                        "the host process of model '{}' (pid {}) has stopped; it is restarting, retry shortly",
                        self.name, conn.pid
                    ),
                    failed: false,
                });
            }
            if pending.len() >= self.spec.max_in_flight.max(1) {
                return Err(CallError::HostBusy(format!(
                    "model '{}' has {} calls waiting in its host process (--max-queued-calls)",
                    self.name,
                    pending.len()
                )));
            }
            pending.insert(
                id,
                Pending {
                    waiter: Some(waiter),
                    sent: Instant::now(),
                    calls,
                },
            );
        }
        if conn.frames.send(frame).is_err() {
            lock(&conn.pending).remove(&id);
            return Err(CallError::HostDown {
                message: format!(
                    "the host process of model '{}' (pid {}) stopped taking calls",
                    self.name, conn.pid
                ),
                failed: false,
            });
        }
        Ok((conn, id))
    }

    /// A caller's deadline passed before call `id` was answered: the caller
    /// gives up; the call stays pending (its answer, if any, is dropped),
    /// and the watchdog ends the host if it runs past `--call-timeout-ms`.
    fn late(&self, conn: &Conn, id: u64) -> CallError {
        if let Some(pending) = lock(&conn.pending).get_mut(&id) {
            pending.waiter = None;
        }
        CallError::Late(format!(
            "model '{}' did not answer before the call's deadline (the caller's deadline or this server's --call-timeout-ms)",
            self.name
        ))
    }

    /// The running host, or why there is none.
    fn current(&self) -> Result<Arc<Conn>, CallError> {
        let state = lock(&self.state);
        if let Some(conn) = &state.conn {
            return Ok(Arc::clone(conn));
        }
        Err(match &state.failed {
            Some(failed) => CallError::HostDown {
                message: format!("model '{}' is failed: {failed}", self.name),
                failed: true,
            },
            None => CallError::HostDown {
                message: format!(
                    "the host process of model '{}' is restarting after it {}; retry shortly",
                    self.name,
                    state.last_death.as_deref().unwrap_or("stopped")
                ),
                failed: false,
            },
        })
    }

    /// Records a death (`how`); the backoff before the next start, or
    /// `None` when the host died in a loop and is now failed.
    fn record_death(&self, conn: Option<&Arc<Conn>>, how: String) -> Option<Duration> {
        let mut state = lock(&self.state);
        if let Some(conn) = conn
            && state.conn.as_ref().is_some_and(|c| Arc::ptr_eq(c, conn))
        {
            state.conn = None;
        }
        let now = Instant::now();
        state.deaths.push_back(now);
        while state
            .deaths
            .front()
            .is_some_and(|&t| now.duration_since(t) > CRASH_LOOP_WINDOW)
        {
            state.deaths.pop_front();
        }
        let deaths = state.deaths.len();
        state.last_death = Some(how.clone());
        if deaths >= CRASH_LOOP_DEATHS {
            let failed = format!(
                "its host process ended {deaths} times within {CRASH_LOOP_WINDOW:?}, so it is no longer restarted (last: {how}); fix the library and reload"
            );
            tracing::error!(model = %self.name, "{failed}");
            state.failed = Some(failed);
            return None;
        }
        Some(Duration::from_millis(100 << (deaths - 1)))
    }

    /// Starts the tasks that read and watch `conn`.
    fn watch(self: &Arc<Self>, conn: Arc<Conn>, reader: tokio::net::unix::OwnedReadHalf) {
        watch(Arc::downgrade(self), conn, reader);
    }
}

/// After a host ended (`how`): restarts it after a backoff, until it
/// starts, the model is dropped (a reload retired it), or it is failed.
fn restart(model: Weak<HostedModel>, conn: Arc<Conn>, how: String) {
    let Some(mut delay) = model
        .upgrade()
        .and_then(|m| m.record_death(Some(&conn), how.clone()))
    else {
        return;
    };
    tracing::warn!(pid = conn.pid, "plugin host {how}; restarting in {delay:?}");
    loop {
        std::thread::sleep(delay);
        // Not held across the sleep: a model retired meanwhile is not
        // restarted.
        let Some(model) = model.upgrade() else {
            return;
        };
        let started = spawn(&model.spec, &model.runtime, &model.library, &model.display);
        match started {
            Ok((conn, reader, hello)) if hello.description.name == model.name => {
                model.restarts.fetch_add(1, Ordering::Relaxed);
                lock(&model.state).conn = Some(Arc::clone(&conn));
                tracing::info!(model = %model.name, pid = conn.pid, "plugin host restarted");
                model.watch(conn, reader);
                return;
            }
            Ok((conn, _, hello)) => {
                conn.end(format!("it described model '{}'", hello.description.name));
                let _ = conn.exit_status();
                lock(&model.state).failed = Some(format!(
                    "its restarted host described another model, '{}'",
                    hello.description.name
                ));
                return;
            }
            Err(error) => {
                match model.record_death(None, format!("could not be restarted: {error}")) {
                    Some(next) => delay = next,
                    None => return,
                }
            }
        }
    }
}

impl Drop for HostedModel {
    fn drop(&mut self) {
        if let Some(conn) = lock(&self.state).conn.take() {
            conn.end("the model was unloaded".into());
        }
    }
}

impl Conn {
    /// Ends the process for `because` (its reader then fails its calls).
    fn end(&self, because: String) {
        lock(&self.ended_because).get_or_insert(because);
        self.closed.store(true, Ordering::Relaxed);
        let _ = lock(&self.child).kill();
    }

    /// Waits for the process to end (its socket is closed): the kernel
    /// closes a dying process's descriptors just before it becomes waitable,
    /// so give it a moment, then kill one that closed its socket and lives
    /// on. The lock is never held while sleeping.
    fn exit_status(&self) -> std::io::Result<ExitStatus> {
        let patience = Instant::now() + Duration::from_secs(1);
        loop {
            if let Some(status) = lock(&self.child).try_wait()? {
                return Ok(status);
            }
            if Instant::now() >= patience {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let mut child = lock(&self.child);
        let _ = child.kill();
        child.wait()
    }

    /// How the process ended, for messages; `memory_cap` names the limit
    /// when an allocation failure may explain a crash.
    fn how_it_ended(&self, memory_cap: u64) -> String {
        let status = self.exit_status();
        let because = lock(&self.ended_because).clone();
        match (status, because) {
            (Ok(status), Some(because)) if status.signal() == Some(libc::SIGKILL) => {
                format!("was killed because {because}")
            }
            (Ok(status), because) => {
                let mut how = describe_exit(status);
                if let Some(because) = because {
                    how.push_str(&format!(" ({because})"));
                } else if memory_cap > 0
                    && matches!(status.signal(), Some(libc::SIGABRT | libc::SIGSEGV))
                {
                    how.push_str(&format!(
                        "; its address space is capped at {memory_cap} MiB (--plugin-memory-limit), which a failed allocation may have hit"
                    ));
                }
                how
            }
            (Err(e), _) => format!("ended (its status could not be read: {e})"),
        }
    }
}

/// The one answer of a single call.
fn single(mut answers: Vec<(u8, Vec<u8>)>) -> Result<wire::InvokeResponse, CallError> {
    match answers.pop() {
        Some((status, bytes)) if answers.is_empty() => {
            library::decode_answer(i32::from(status), &bytes)
        }
        _ => Err(CallError::Garbage(
            "answered one call with several".to_owned(),
        )),
    }
}

/// One result per call of a batch of `count`, from the batch's answers; a
/// failure of the whole batch is reported on its first call, and the others
/// are marked not run (so it is counted once).
fn batch_results(
    count: usize,
    answers: Result<Vec<(u8, Vec<u8>)>, CallError>,
) -> Vec<Result<wire::InvokeResponse, CallError>> {
    match answers {
        Ok(answers) if answers.len() == count => answers
            .into_iter()
            .map(|(status, bytes)| library::decode_answer(i32::from(status), &bytes))
            .collect(),
        Ok(answers) => {
            let what = format!(
                "answered a batch of {count} calls with {} answers",
                answers.len()
            );
            let mut out = vec![Err(CallError::Garbage(what.clone()))];
            out.extend((1..count).map(|_| Err(CallError::NotRun(what.clone()))));
            out
        }
        Err(error) => {
            let message = error.message();
            let mut out = vec![Err(error)];
            out.extend((1..count).map(|_| Err(CallError::NotRun(message.clone()))));
            out
        }
    }
}

/// "died of signal 11 (SIGSEGV)" or "exited with status 2".
fn describe_exit(status: ExitStatus) -> String {
    if let Some(signal) = status.signal() {
        let name = match signal {
            libc::SIGSEGV => "SIGSEGV",
            libc::SIGABRT => "SIGABRT",
            libc::SIGKILL => "SIGKILL",
            libc::SIGBUS => "SIGBUS",
            libc::SIGILL => "SIGILL",
            libc::SIGFPE => "SIGFPE",
            libc::SIGTERM => "SIGTERM",
            _ => "a signal",
        };
        format!("died of signal {signal} ({name})")
    } else {
        format!("exited with status {}", status.code().unwrap_or(-1))
    }
}

/// A started host: its connection, the read half of its socket (for the
/// reader task `watch` starts), and what it said.
type Started = (Arc<Conn>, tokio::net::unix::OwnedReadHalf, Hello);

/// Starts a host and waits for its `HELLO`.
fn spawn(
    spec: &HostSpec,
    runtime: &tokio::runtime::Handle,
    library: &File,
    display: &Path,
) -> Result<Started, String> {
    let (server_end, host_end) =
        UnixStream::pair().map_err(|e| format!("cannot make a socket for a plugin host: {e}"))?;
    let library_fd = library.as_raw_fd();
    if library_fd <= 2 {
        return Err("the library's descriptor collides with standard I/O".into());
    }
    let limit = spec.memory_limit_mib.saturating_mul(1024 * 1024);
    let mut command = Command::new(&spec.program);
    command
        .arg("--library-name")
        .arg(display)
        .arg("--threads")
        .arg(spec.threads.max(1).to_string())
        // A few malloc arenas, not 8 per core: the address-space cap is
        // for what the model uses, not for glibc's reservations.
        .env("MALLOC_ARENA_MAX", "2")
        .process_group(0)
        .stdin(Stdio::from(OwnedFd::from(host_end)))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    // SAFETY: the closure runs in the child between fork and exec and only
    // makes system calls (fcntl, dup2, setrlimit: direct system calls in
    // glibc, safe there) on integers copied in; it allocates nothing.
    unsafe {
        command.pre_exec(move || {
            if library_fd == LIBRARY_FD {
                // Already in place: only let it survive exec.
                if libc::fcntl(LIBRARY_FD, libc::F_SETFD, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            } else if libc::dup2(library_fd, LIBRARY_FD) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if limit > 0 {
                let cap = libc::rlimit {
                    rlim_cur: limit,
                    rlim_max: limit,
                };
                if libc::setrlimit(libc::RLIMIT_AS, &cap) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let mut child = command.spawn().map_err(|e| {
        format!(
            "cannot start the plugin host {}: {e} (set --plugin-host)",
            spec.program.display()
        )
    })?;
    let pid = child.id();
    let fail = |child: &mut Child, message: String| {
        let _ = child.kill();
        let _ = child.wait();
        Err(message)
    };
    let hello = match read_hello(&server_end, pid) {
        Ok(hello) => hello,
        Err(message) => {
            let message = match child.try_wait() {
                Ok(Some(status)) => format!("{message}; it {}", describe_exit(status)),
                _ => message,
            };
            return fail(&mut child, message);
        }
    };
    let reader = match server_end.set_nonblocking(true).and_then(|()| {
        let _guard = runtime.enter();
        tokio::net::UnixStream::from_std(server_end)
    }) {
        Ok(stream) => stream,
        Err(e) => {
            return fail(
                &mut child,
                format!("cannot use a plugin host's socket: {e}"),
            );
        }
    };
    let (frames, queue) = tokio::sync::mpsc::unbounded_channel();
    let conn = Arc::new(Conn {
        pid,
        child: Mutex::new(child),
        frames,
        pending: Mutex::default(),
        next_id: AtomicU64::new(1),
        ended_because: Mutex::default(),
        closed: AtomicBool::new(false),
    });
    let (read_half, write_half) = reader.into_split();
    runtime.spawn(write_frames(Arc::clone(&conn), write_half, queue));
    Ok((conn, read_half, hello))
}

/// Reads the `HELLO` (or `FAILED`) a new host sends, within [`LOAD_TIMEOUT`]
/// in all, at most [`MAX_HELLO_BYTES`].
fn read_hello(socket: &UnixStream, pid: u32) -> Result<Hello, String> {
    let until = Instant::now() + LOAD_TIMEOUT;
    let mut reader = Deadlined { socket, until };
    let frame = protocol::read_frame(&mut reader, MAX_HELLO_BYTES);
    let _ = socket.set_read_timeout(None);
    match frame {
        Ok(Some(frame)) if frame.kind == Kind::Hello => parse_hello(&frame.payload),
        Ok(Some(frame)) if frame.kind == Kind::Failed => {
            Err(String::from_utf8_lossy(&frame.payload).into_owned())
        }
        Ok(Some(frame)) => Err(format!(
            "the plugin host began with a {:?} frame",
            frame.kind
        )),
        Ok(None) => Err(format!(
            "the plugin host (pid {pid}) closed its socket while loading"
        )),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            Err(format!(
                "loading in the plugin host did not finish within {LOAD_TIMEOUT:?}; the host was killed"
            ))
        }
        Err(e) => Err(format!(
            "the plugin host (pid {pid}) broke the protocol: {e}"
        )),
    }
}

/// A socket read under one overall deadline (each read gets what is left).
struct Deadlined<'a> {
    socket: &'a UnixStream,
    until: Instant,
}

impl Read for Deadlined<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let left = self.until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::ErrorKind::TimedOut.into());
        }
        self.socket.set_read_timeout(Some(left))?;
        let mut socket = self.socket;
        socket.read(buf)
    }
}

fn parse_hello(payload: &[u8]) -> Result<Hello, String> {
    if payload.len() < 8 {
        return Err("the plugin host's HELLO is truncated".into());
    }
    let major = u32::from_le_bytes([payload[0], payload[1], payload[2], payload[3]]);
    let minor = u32::from_le_bytes([payload[4], payload[5], payload[6], payload[7]]);
    let description = wire::ModelDescription::decode(&payload[8..])
        .map_err(|e| format!("the plugin host's description does not decode: {e}"))?;
    Ok(Hello {
        abi_version: format!("{major}.{minor}"),
        description,
    })
}

/// The writer task: sends queued frames in order; a failed write ends the
/// host (a torn frame would desynchronise the stream).
async fn write_frames(
    conn: Arc<Conn>,
    mut socket: tokio::net::unix::OwnedWriteHalf,
    mut queue: tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>,
) {
    while let Some(frame) = queue.recv().await {
        if let Err(e) = socket.write_all(&frame).await {
            conn.end(format!("a write to its socket failed ({e})"));
            return;
        }
    }
}

/// Starts the reader and watchdog tasks of `conn`, on the model's runtime.
fn watch(model: Weak<HostedModel>, conn: Arc<Conn>, read_half: tokio::net::unix::OwnedReadHalf) {
    let Some((runtime, call_timeout, memory_cap)) = model.upgrade().map(|m| {
        (
            m.runtime.clone(),
            m.spec.call_timeout,
            m.spec.memory_limit_mib,
        )
    }) else {
        conn.end("the model was unloaded".into());
        return;
    };
    let watched = Arc::clone(&conn);
    runtime.spawn(async move {
        let mut ticks = tokio::time::interval(WATCHDOG_TICK);
        loop {
            ticks.tick().await;
            if watched.closed.load(Ordering::Relaxed) {
                return;
            }
            let now = Instant::now();
            let overdue = lock(&watched.pending).values().any(|p| {
                now.duration_since(p.sent) > call_timeout.saturating_mul(p.calls.max(1) as u32)
            });
            if overdue {
                watched.end(format!(
                    "a call was still running after --call-timeout-ms ({call_timeout:?})"
                ));
                return;
            }
        }
    });
    let runtime_for_restart = runtime.clone();
    runtime.spawn(async move {
        let mut reader = tokio::io::BufReader::new(read_half);
        if let Err(broken) = read_answers(&conn, &mut reader).await {
            conn.end(broken);
        }
        // Before the drain below: a call that takes the pending lock after
        // the drain sees this and is refused instead of waiting forever.
        conn.closed.store(true, Ordering::Release);
        // Reaping and restarting block (waits, backoff sleeps).
        runtime_for_restart.spawn_blocking(move || {
            let how = conn.how_it_ended(memory_cap);
            let name = model
                .upgrade()
                .map_or_else(|| "?".to_owned(), |m| m.name.clone());
            let death = format!(
                "the host process of model '{name}' (pid {}) {how} during the call",
                conn.pid
            );
            for (_, pending) in lock(&conn.pending).drain() {
                if let Some(waiter) = pending.waiter {
                    waiter.send(Err(death.clone()));
                }
            }
            restart(model, conn, how);
        });
    });
}

/// Reads answers until the socket closes (`Ok`) or the host breaks the
/// protocol (`Err`, why): a frame must answer a pending call, be of an
/// answer kind, and be no larger than its calls' answers could be.
async fn read_answers(
    conn: &Conn,
    reader: &mut (impl tokio::io::AsyncRead + Unpin),
) -> Result<(), String> {
    loop {
        let mut head = [0u8; protocol::HEAD];
        match reader.read_exact(&mut head[..4]).await {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(format!("its socket failed ({e})")),
        }
        reader
            .read_exact(&mut head[4..])
            .await
            .map_err(|e| format!("it sent a truncated frame ({e})"))?;
        let (len, id, kind) =
            protocol::parse_head(head).map_err(|e| format!("it broke the protocol ({e})"))?;
        let calls = match lock(&conn.pending).get(&id) {
            Some(pending) => pending.calls,
            None => return Err(format!("it answered call {id}, which is not waiting")),
        };
        let expected = if calls == 1 {
            Kind::Answer
        } else {
            Kind::Answers
        };
        if kind != expected || len > MAX_ANSWER_BYTES.saturating_mul(calls) {
            return Err(format!(
                "it answered with a {kind:?} frame of {len} bytes for {calls} calls"
            ));
        }
        let mut payload = vec![0u8; len];
        reader
            .read_exact(&mut payload)
            .await
            .map_err(|e| format!("it sent a truncated frame ({e})"))?;
        let reply: Reply = if kind == Kind::Answer {
            if payload.is_empty() {
                Err("the plugin host sent an empty answer".into())
            } else {
                let status = payload.remove(0);
                Ok(vec![(status, payload)])
            }
        } else {
            protocol::unpack(&payload, true, calls)
                .map_err(|e| format!("the plugin host sent a broken batch: {e}"))
        };
        if let Some(waiter) = lock(&conn.pending).remove(&id).and_then(|p| p.waiter) {
            waiter.send(reply);
        }
    }
}
