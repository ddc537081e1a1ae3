//! The server's side of process isolation: a model whose library runs in a
//! `stratus-plugin-host` process of its own, started, called and restarted
//! from here.
//!
//! - **Start.** The host gets the library's private copy as descriptor 3 (so
//!   it maps exactly the bytes the server hashed) and a Unix socket as
//!   descriptor 0; it loads the library and answers `HELLO` with the model's
//!   description, or `FAILED` with the reason. Its address space is capped
//!   (`RLIMIT_AS`, `--plugin-memory-limit`). It exits as soon as its socket
//!   closes, so it never outlives the server. (`PR_SET_PDEATHSIG` would
//!   not do: it fires when the *thread* that started the host exits, and
//!   hosts are started from reload and restart threads that come and go.)
//! - **Calls.** Each call is a frame with an id; a reader thread matches
//!   answers to waiting callers. A caller waits until its call's deadline;
//!   a call still unanswered then means the model is stuck, and the host is
//!   killed (native code cannot be interrupted any other way).
//! - **Death.** When the host's socket closes, every call in flight on it
//!   fails with the model's name and how the process ended (signal or exit
//!   status), the death is recorded, and the host is started again after a
//!   backoff (100 ms, doubling, at most 5 s). A host that dies
//!   [`CRASH_LOOP_DEATHS`] times within [`CRASH_LOOP_WINDOW`] is marked
//!   failed with its last error and no longer restarted; reloading a fixed
//!   library replaces it.
//! - **Stop.** Dropping the model (a reload replaced it and its last call
//!   ended) kills its host; the kernel reclaims everything the library held.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant};

use prost::Message;
use stratus_plugin_abi::wire;

use super::protocol::{self, Kind};
use crate::plugin::library::{self, CallError, LOAD_TIMEOUT};

/// Deaths within [`CRASH_LOOP_WINDOW`] that mark a host failed.
pub const CRASH_LOOP_DEATHS: usize = 5;
/// See [`CRASH_LOOP_DEATHS`].
pub const CRASH_LOOP_WINDOW: Duration = Duration::from_secs(60);
/// The descriptor a host finds its library's bytes on.
pub const LIBRARY_FD: i32 = 3;

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
    /// The server's async runtime, to read hosts' answers on: an answer then
    /// wakes the waiting task from the runtime's own event loop, with no
    /// thread of its own to switch to. Without one (unit tests), each host
    /// gets a reader thread.
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
    /// The private copy of the library, kept open so every restart maps the
    /// same bytes.
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
    writer: Mutex<BufWriter<UnixStream>>,
    pending: Mutex<HashMap<u64, Waiter>>,
    next_id: AtomicU64,
    /// Why the server killed it, if it did (shown instead of "SIGKILL").
    killed_because: Mutex<Option<String>>,
}

/// A host's answers to one frame (status and bytes per call), or why there
/// will be none.
type Reply = Result<Vec<(u8, Vec<u8>)>, String>;

/// Who waits for a frame's answers: a blocked thread (smoke checks, stream
/// batches on the model pool) or an async task (single calls, which need no
/// model-pool thread: the host does the work).
#[derive(Debug)]
enum Waiter {
    Blocking(crossbeam_channel::Sender<Reply>),
    Async(tokio::sync::oneshot::Sender<Reply>),
}

impl Waiter {
    fn send(self, reply: Reply) {
        // A waiter that gave up (deadline, caller gone) drops its receiver;
        // its answer has nobody to go to.
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
    // Every critical section here is a map insert/remove, a write of one
    // frame or a field update: a panic cannot leave them half done.
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
        let library = library
            .try_clone()
            .map_err(|e| format!("cannot pass the library to a plugin host: {e}"))?;
        let (conn, reader, hello) = spawn(spec, &library, display)?;
        let model = Arc::new(Self {
            spec: spec.clone(),
            library,
            display: display.to_owned(),
            name: hello.description.name.clone(),
            state: Mutex::new(State {
                conn: Some(Arc::clone(&conn)),
                ..State::default()
            }),
            restarts: AtomicU32::new(0),
        });
        watch(&model.spec, Arc::downgrade(&model), conn, reader);
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
        let mut answers = self.exchange(Kind::Call, request, deadline)?;
        match answers.pop() {
            Some((status, bytes)) if answers.is_empty() => {
                library::decode_answer(i32::from(status), &bytes)
            }
            _ => Err(CallError::Garbage(
                "answered one call with a batch".to_owned(),
            )),
        }
    }

    /// Runs several calls in one frame each way (a stream's batch), waiting
    /// until `deadline`; one result per request, in order.
    pub fn invoke_batch(
        &self,
        requests: &[Vec<u8>],
        deadline: Instant,
    ) -> Vec<Result<wire::InvokeResponse, CallError>> {
        let packed = protocol::pack(requests.iter().map(|r| (None, r.as_slice())));
        batch_results(
            requests.len(),
            self.exchange(Kind::Batch, &packed, deadline),
        )
    }

    /// [`HostedModel::invoke`] for an async caller: no thread waits, the
    /// host does the work. Gives up at `deadline` (killing the host, as
    /// stuck); dropping the future abandons the call.
    pub async fn invoke_async(
        &self,
        request: &[u8],
        deadline: tokio::time::Instant,
    ) -> Result<wire::InvokeResponse, CallError> {
        let mut answers = self.exchange_async(Kind::Call, request, deadline).await?;
        match answers.pop() {
            Some((status, bytes)) if answers.is_empty() => {
                library::decode_answer(i32::from(status), &bytes)
            }
            _ => Err(CallError::Garbage(
                "answered one call with a batch".to_owned(),
            )),
        }
    }

    /// [`HostedModel::invoke_batch`] for an async caller.
    pub async fn invoke_batch_async(
        &self,
        requests: &[Vec<u8>],
        deadline: tokio::time::Instant,
    ) -> Vec<Result<wire::InvokeResponse, CallError>> {
        let packed = protocol::pack(requests.iter().map(|r| (None, r.as_slice())));
        let answers = self.exchange_async(Kind::Batch, &packed, deadline).await;
        batch_results(requests.len(), answers)
    }

    /// Sends a frame and waits (blocking) for its answers until `deadline`.
    fn exchange(
        &self,
        kind: Kind,
        payload: &[u8],
        deadline: Instant,
    ) -> Result<Vec<(u8, Vec<u8>)>, CallError> {
        let (sender, answer) = crossbeam_channel::bounded(1);
        let (conn, id) = self.send(kind, payload, Waiter::Blocking(sender))?;
        match answer.recv_deadline(deadline) {
            Ok(Ok(answers)) => Ok(answers),
            Ok(Err(death)) => Err(CallError::HostLost(death)),
            Err(_) => Err(self.stuck(&conn, id)),
        }
    }

    /// [`HostedModel::exchange`] for an async caller: no thread waits.
    async fn exchange_async(
        &self,
        kind: Kind,
        payload: &[u8],
        deadline: tokio::time::Instant,
    ) -> Result<Vec<(u8, Vec<u8>)>, CallError> {
        let (sender, answer) = tokio::sync::oneshot::channel();
        let (conn, id) = self.send(kind, payload, Waiter::Async(sender))?;
        match tokio::time::timeout_at(deadline, answer).await {
            Ok(Ok(Ok(answers))) => Ok(answers),
            Ok(Ok(Err(death))) => Err(CallError::HostLost(death)),
            Ok(Err(_)) => Err(CallError::HostLost(format!(
                "the host process of model '{}' dropped the call",
                self.name
            ))),
            Err(_) => Err(self.stuck(&conn, id)),
        }
    }

    /// Sends one frame to the running host, registering `waiter` for its
    /// answers.
    fn send(
        &self,
        kind: Kind,
        payload: &[u8],
        waiter: Waiter,
    ) -> Result<(Arc<Conn>, u64), CallError> {
        let conn = self.current()?;
        let id = conn.next_id.fetch_add(1, Ordering::Relaxed);
        {
            let mut pending = lock(&conn.pending);
            if pending.len() >= self.spec.max_in_flight.max(1) {
                return Err(CallError::HostBusy(format!(
                    "model '{}' has {} calls waiting in its host process (--max-queued-calls)",
                    self.name,
                    pending.len()
                )));
            }
            pending.insert(id, waiter);
        }
        let written = protocol::write_frame(&mut *lock(&conn.writer), id, kind, payload);
        if let Err(e) = written {
            lock(&conn.pending).remove(&id);
            return Err(CallError::HostLost(format!(
                "the host process of model '{}' (pid {}) stopped taking calls: {e}",
                self.name, conn.pid
            )));
        }
        Ok((conn, id))
    }

    /// A call `id` unanswered at its deadline: the model is stuck in native
    /// code, which nothing can interrupt, so its host is killed (and
    /// restarts).
    fn stuck(&self, conn: &Conn, id: u64) -> CallError {
        lock(&conn.pending).remove(&id);
        conn.kill(format!(
            "a call to model '{}' was still running at its deadline",
            self.name
        ));
        CallError::HostStuck(format!(
            "model '{}' did not answer before the call's deadline; its host process (pid {}) was killed and restarts",
            self.name, conn.pid
        ))
    }

    /// The running host, or why there is none.
    fn current(&self) -> Result<Arc<Conn>, CallError> {
        let state = lock(&self.state);
        if let Some(conn) = &state.conn {
            return Ok(Arc::clone(conn));
        }
        Err(CallError::HostLost(match &state.failed {
            Some(failed) => format!("model '{}' is failed: {failed}", self.name),
            None => format!(
                "the host process of model '{}' is restarting after it {}; retry shortly",
                self.name,
                state.last_death.as_deref().unwrap_or("stopped")
            ),
        }))
    }

    /// Records that `conn` died (`how`), then restarts it after a backoff,
    /// unless it died in a loop.
    fn died(self: &Arc<Self>, conn: &Arc<Conn>, how: String) {
        let delay = {
            let mut state = lock(&self.state);
            if state.conn.as_ref().is_some_and(|c| Arc::ptr_eq(c, conn)) {
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
            state.last_death = Some(how.clone());
            if state.deaths.len() >= CRASH_LOOP_DEATHS {
                let failed = format!(
                    "its host process died {} times within {:?}, so it is no longer restarted (last: {how}); fix the library and reload",
                    state.deaths.len(),
                    CRASH_LOOP_WINDOW
                );
                tracing::error!(model = %self.name, "{failed}");
                state.failed = Some(failed);
                return;
            }
            Duration::from_millis(100 << (state.deaths.len() - 1).min(6))
                .min(Duration::from_secs(5))
        };
        tracing::warn!(model = %self.name, pid = conn.pid, "plugin host {how}; restarting in {delay:?}");
        std::thread::sleep(delay);
        match spawn(&self.spec, &self.library, &self.display) {
            Ok((conn, reader, hello)) if hello.description.name == self.name => {
                self.restarts.fetch_add(1, Ordering::Relaxed);
                lock(&self.state).conn = Some(Arc::clone(&conn));
                tracing::info!(model = %self.name, pid = conn.pid, "plugin host restarted");
                watch(&self.spec, Arc::downgrade(self), conn, reader);
            }
            Ok((conn, _, hello)) => {
                conn.kill("it described another model".into());
                lock(&self.state).failed = Some(format!(
                    "its restarted host described model '{}'",
                    hello.description.name
                ));
            }
            Err(error) => {
                lock(&self.state).failed =
                    Some(format!("its host could not be restarted: {error}"));
            }
        }
    }
}

impl Drop for HostedModel {
    fn drop(&mut self) {
        if let Some(conn) = lock(&self.state).conn.take() {
            conn.kill("the model was unloaded".into());
        }
    }
}

impl Conn {
    /// Kills the process (its reader thread then fails its calls).
    fn kill(&self, because: String) {
        *lock(&self.killed_because) = Some(because);
        let _ = lock(&self.child).kill();
    }

    /// How the process ended. Called once its socket closed: the kernel
    /// closes a dying process's descriptors just before it becomes waitable,
    /// so give it a moment; a host that closed its socket and lives on is
    /// killed.
    fn ended(&self) -> String {
        let status = {
            let mut child = lock(&self.child);
            let mut status = child.try_wait();
            let patience = Instant::now() + Duration::from_secs(1);
            while matches!(status, Ok(None)) && Instant::now() < patience {
                std::thread::sleep(Duration::from_millis(5));
                status = child.try_wait();
            }
            match status {
                Ok(Some(status)) => Ok(status),
                _ => {
                    let _ = child.kill();
                    child.wait()
                }
            }
        };
        if let Some(because) = lock(&self.killed_because).take() {
            return format!("was killed because {because}");
        }
        match status {
            Ok(status) => describe_exit(status),
            Err(e) => format!("ended (its status could not be read: {e})"),
        }
    }
}

/// One result per call of a batch of `count`, from the batch's answers.
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
            (0..count)
                .map(|_| Err(CallError::Garbage(what.clone())))
                .collect()
        }
        Err(error) => {
            let message = match &error {
                CallError::HostLost(m)
                | CallError::HostStuck(m)
                | CallError::HostBusy(m)
                | CallError::Garbage(m) => m.clone(),
                CallError::Plugin(e) => e.message.clone(),
            };
            let mut out = vec![Err(error)];
            out.extend((1..count).map(|_| Err(CallError::HostLost(message.clone()))));
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

/// Starts a host and waits for its `HELLO`.
fn spawn(
    spec: &HostSpec,
    library: &File,
    display: &Path,
) -> Result<(Arc<Conn>, UnixStream, Hello), String> {
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
        .stdin(Stdio::from(OwnedFd::from(host_end)))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    // SAFETY: the closure runs in the child between fork and exec and calls
    // only async-signal-safe functions (fcntl, dup2, setrlimit) on values
    // copied in; it allocates nothing.
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
    let child = command.spawn().map_err(|e| {
        format!(
            "cannot start the plugin host {}: {e} (set --plugin-host)",
            spec.program.display()
        )
    })?;
    let pid = child.id();
    let writer = server_end
        .try_clone()
        .map_err(|e| format!("cannot use a plugin host's socket: {e}"))?;
    // Calls are written from async tasks: a host that stops reading must not
    // block one for long once the socket's buffer is full.
    let _ = writer.set_write_timeout(Some(Duration::from_secs(1)));
    let conn = Arc::new(Conn {
        pid,
        child: Mutex::new(child),
        writer: Mutex::new(BufWriter::new(writer)),
        pending: Mutex::default(),
        next_id: AtomicU64::new(1),
        killed_because: Mutex::default(),
    });
    let mut reader = server_end;
    let _ = reader.set_read_timeout(Some(LOAD_TIMEOUT));
    let first = protocol::read_frame(&mut reader);
    let _ = reader.set_read_timeout(None);
    let hello = match first {
        Ok(Some(frame)) if frame.kind == Kind::Hello => parse_hello(&frame.payload),
        Ok(Some(frame)) if frame.kind == Kind::Failed => {
            Err(String::from_utf8_lossy(&frame.payload).into_owned())
        }
        Ok(Some(frame)) => Err(format!(
            "the plugin host began with a {:?} frame",
            frame.kind
        )),
        Ok(None) => Err(format!("the plugin host (pid {pid}) {}", conn.ended())),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            conn.kill("it did not finish loading".into());
            Err(format!(
                "loading in the plugin host did not finish within {LOAD_TIMEOUT:?}; the host was killed"
            ))
        }
        Err(e) => Err(format!(
            "the plugin host (pid {pid}) broke the protocol: {e}"
        )),
    };
    match hello {
        Ok(hello) => Ok((conn, reader, hello)),
        Err(error) => {
            conn.kill("it failed to start".into());
            let _ = conn.ended();
            Err(error)
        }
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

/// Reads `conn`'s answers until the host ends, then fails what was in
/// flight and lets the model restart it: on the server's runtime when there
/// is one, else on a thread of its own.
fn watch(spec: &HostSpec, model: Weak<HostedModel>, conn: Arc<Conn>, reader: UnixStream) {
    if let Some(runtime) = &spec.runtime {
        let async_reader = reader.set_nonblocking(true).and_then(|()| {
            let _guard = runtime.enter();
            tokio::net::UnixStream::from_std(reader)
        });
        match async_reader {
            Ok(reader) => {
                let runtime = runtime.clone();
                runtime.clone().spawn(async move {
                    let mut reader = tokio::io::BufReader::new(reader);
                    while let Ok(Some(frame)) = protocol::read_frame_async(&mut reader).await {
                        deliver(&conn, frame);
                    }
                    // Reaping and restarting block (waits, backoff sleeps).
                    runtime.spawn_blocking(move || ended(model, &conn));
                });
            }
            Err(e) => tracing::error!("cannot read a plugin host's socket: {e}"),
        }
        return;
    }
    let spawned = std::thread::Builder::new()
        .name(format!("stratus-host-{}", conn.pid))
        .spawn(move || {
            let mut reader = BufReader::new(reader);
            while let Ok(Some(frame)) = protocol::read_frame(&mut reader) {
                deliver(&conn, frame);
            }
            ended(model, &conn);
        });
    if let Err(e) = spawned {
        tracing::error!("cannot start a plugin host's reader thread: {e}");
    }
}

/// Hands an answer frame to the call waiting for it.
fn deliver(conn: &Conn, frame: protocol::Frame) {
    let reply: Reply = match frame.kind {
        Kind::Answer => match frame.payload.split_first() {
            Some((&status, bytes)) => Ok(vec![(status, bytes.to_vec())]),
            None => Err("the plugin host sent an empty answer".into()),
        },
        Kind::Answers => protocol::unpack(&frame.payload, true)
            .map_err(|e| format!("the plugin host sent a broken batch: {e}")),
        other => Err(format!("the plugin host sent a {other:?} frame")),
    };
    if let Some(waiting) = lock(&conn.pending).remove(&frame.id) {
        waiting.send(reply);
    }
}

/// After a host's socket closed: fails the calls in flight on it with how
/// it ended, and lets the model restart it.
fn ended(model: Weak<HostedModel>, conn: &Arc<Conn>) {
    let how = conn.ended();
    let name = model
        .upgrade()
        .map_or_else(|| "?".to_owned(), |m| m.name.clone());
    let death = format!(
        "the host process of model '{name}' (pid {}) {how} during the call",
        conn.pid
    );
    for (_, waiting) in lock(&conn.pending).drain() {
        waiting.send(Err(death.clone()));
    }
    if let Some(model) = model.upgrade() {
        model.died(conn, how);
    }
}
