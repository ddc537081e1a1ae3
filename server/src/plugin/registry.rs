//! The set of models the server serves, rebuilt from the plugin folder.
//!
//! A scan produces a new immutable [`Snapshot`] that replaces the old one in a
//! single swap. Requests resolve a model to an `Arc<LoadedModel>` and keep it
//! for the whole call, so a reload never pulls a library out from under an
//! in-flight call: the old instance is destroyed only when its last call ends.
//! A library whose bytes did not change (same path, same SHA-256) is reused
//! rather than loaded again; bytes seen before under any path reuse their
//! mapping (libraries are never unmapped, so this bounds memory by the number
//! of distinct libraries, not of reloads). A new library must pass its smoke
//! check before it serves; if a replacement fails, the model it was to
//! replace keeps serving and the failure is reported on it.
//!
//! A library whose loading hung (see [`super::watchdog`]) is not retried
//! while its abandoned thread is still running: without that, every file
//! event would start (and leak) another thread on the same hanging code.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::thread::JoinHandle;
use std::time::{Instant, SystemTime};

use stratus_plugin_abi::wire;

use super::elf;
use super::host::{HostSpec, HostedModel};
use super::library::{
    self, CallError, LoadError, OpenedLibrary, PluginInstance, PrivateCopies, PrivateCopy,
};
use super::smoke::{self, SmokeError};
use super::watchdog::Stopped;
use crate::error::ApiError;
use crate::limits::shown;

/// One model served from one library.
#[derive(Debug)]
pub struct LoadedModel {
    /// What the model says about itself.
    pub description: wire::ModelDescription,
    /// Parsed `description.version`, for ordering.
    pub version: semver::Version,
    /// The file in the plugin folder.
    pub library_path: PathBuf,
    /// SHA-256 of the library's bytes, hex.
    pub sha256: String,
    /// "major.minor".
    pub abi_version: String,
    /// When it was loaded.
    pub loaded_at: SystemTime,
    /// The last error the plugin reported (failures of the model, not of
    /// requests), for `GetModel`.
    last_error: Mutex<String>,
    failures: AtomicU64,
    instance: Backend,
}

/// Where a model's library runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Isolation {
    /// Mapped into the server's own process: the fastest calls; a crash of
    /// the library is a crash of the server.
    #[default]
    InProcess,
    /// In a supervised `stratus-plugin-host` process of its own: a crash,
    /// abort, leak or spin ends that process, which is restarted.
    Process,
}

impl Isolation {
    /// How a `<library>.isolation` file or a flag spells it.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "in-process" => Some(Self::InProcess),
            "process" => Some(Self::Process),
            _ => None,
        }
    }
}

/// Where the registry runs libraries: the server-wide default, and how host
/// processes start. A file `<library>.isolation` beside a library, holding
/// `process` or `in-process`, overrides the default for that library.
#[derive(Debug, Clone)]
pub struct IsolationPolicy {
    /// For libraries without a sidecar file.
    pub default: Isolation,
    /// How plugin host processes are started.
    pub host: HostSpec,
}

/// The live instance of a model.
#[derive(Debug)]
enum Backend {
    /// In the server's process.
    InProcess(Arc<PluginInstance>),
    /// In a plugin host process.
    Process(Arc<HostedModel>),
}

impl LoadedModel {
    /// Where the model runs.
    pub fn isolation(&self) -> Isolation {
        match self.instance {
            Backend::InProcess(_) => Isolation::InProcess,
            Backend::Process(_) => Isolation::Process,
        }
    }

    /// For an isolated model: its host's pid (0 while restarting), its
    /// restarts, and why it is failed (it died in a loop), if it is.
    pub fn host(&self) -> Option<(u32, u32, Option<String>)> {
        match &self.instance {
            Backend::InProcess(_) => None,
            Backend::Process(hosted) => Some((hosted.pid(), hosted.restarts(), hosted.failed())),
        }
    }

    /// The model's kind.
    pub fn kind(&self) -> wire::ModelKind {
        wire::ModelKind::try_from(self.description.kind).unwrap_or(wire::ModelKind::Unspecified)
    }

    /// The last failure of the model itself, or empty.
    pub fn last_error(&self) -> String {
        lock(&self.last_error).clone()
    }

    /// Calls the model (blocking: run it off the async workers). Plugin
    /// failures become `INTERNAL` and are remembered in `last_error`. An
    /// isolated model's call waits until `deadline` at most (its host is
    /// killed if the call is still running then); an in-process call cannot
    /// be interrupted and runs to its end.
    pub fn invoke(
        &self,
        request: &[u8],
        deadline: Instant,
    ) -> Result<wire::InvokeResponse, ApiError> {
        let response = match &self.instance {
            Backend::InProcess(instance) => instance.invoke(request),
            Backend::Process(hosted) => hosted.invoke(request, deadline),
        };
        self.answer(response)
    }

    /// Calls the model once per request, in order, stopping early when
    /// `keep_going` says nobody waits any more; an isolated model gets the
    /// whole batch in one message each way.
    pub fn invoke_batch(
        &self,
        requests: &[Vec<u8>],
        deadline: Instant,
        keep_going: impl Fn() -> bool,
    ) -> Vec<Result<wire::InvokeResponse, ApiError>> {
        match &self.instance {
            Backend::InProcess(instance) => requests
                .iter()
                .map_while(|request| keep_going().then(|| self.answer(instance.invoke(request))))
                .collect(),
            Backend::Process(hosted) => hosted
                .invoke_batch(requests, deadline)
                .into_iter()
                .map(|response| self.answer(response))
                .collect(),
        }
    }

    /// The API's view of a call's outcome.
    fn answer(
        &self,
        response: Result<wire::InvokeResponse, CallError>,
    ) -> Result<wire::InvokeResponse, ApiError> {
        let who = || {
            format!(
                "model '{}' {}",
                self.description.name, self.description.version
            )
        };
        match response {
            Ok(response) => Ok(response),
            Err(CallError::Plugin(error)) => {
                use wire::plugin_error::Code;
                let message = if error.field.is_empty() {
                    format!("{}: {}", who(), error.message)
                } else {
                    error.message.clone()
                };
                match Code::try_from(error.code).unwrap_or(Code::Internal) {
                    Code::InvalidArgument => Err(ApiError::invalid(error.field, message)),
                    Code::FailedPrecondition => Err(ApiError::FailedPrecondition(message)),
                    Code::Internal | Code::Unspecified => {
                        let kind = if error.message.contains("panicked") {
                            "panic"
                        } else {
                            "error"
                        };
                        Err(self.failed_as(kind, format!("{} failed: {}", who(), error.message)))
                    }
                }
            }
            Err(CallError::Garbage(what)) => Err(self.failed_as(
                "garbage",
                format!("{} broke the plugin contract: it {what}", who()),
            )),
            Err(CallError::HostLost(what)) => {
                self.failed_as("host_died", what.clone());
                Err(ApiError::ModelProcessDied(what))
            }
            Err(CallError::HostDown { message, failed }) => Err(if failed {
                ApiError::FailedPrecondition(message)
            } else {
                ApiError::Unavailable(message)
            }),
            Err(CallError::HostBusy(what)) => Err(ApiError::Busy {
                message: format!("the server is at capacity: {what}; retry shortly"),
                retry_after: std::time::Duration::from_millis(200),
            }),
            Err(CallError::Late(what)) => Err(ApiError::DeadlineExceeded(what)),
            Err(CallError::NotRun(what)) => Err(ApiError::Unavailable(format!(
                "not run: an earlier call of its batch failed ({what})"
            ))),
        }
    }

    /// [`LoadedModel::invoke_batch`] for an isolated model, from an async
    /// task with no model-pool thread; `None` for an in-process model.
    pub async fn invoke_isolated_batch(
        &self,
        requests: &[Vec<u8>],
        deadline: tokio::time::Instant,
    ) -> Option<Vec<Result<wire::InvokeResponse, ApiError>>> {
        match &self.instance {
            Backend::InProcess(_) => None,
            Backend::Process(hosted) => Some(
                hosted
                    .invoke_batch_async(requests, deadline)
                    .await
                    .into_iter()
                    .map(|response| self.answer(response))
                    .collect(),
            ),
        }
    }

    /// Calls an isolated model from an async task, with no model-pool
    /// thread (the host process does the work); `None` for an in-process
    /// model, which the caller runs on the pool with [`LoadedModel::invoke`].
    pub async fn invoke_isolated(
        &self,
        request: &[u8],
        deadline: tokio::time::Instant,
    ) -> Option<Result<wire::InvokeResponse, ApiError>> {
        match &self.instance {
            Backend::InProcess(_) => None,
            Backend::Process(hosted) => {
                Some(self.answer(hosted.invoke_async(request, deadline).await))
            }
        }
    }

    /// Records a failure of the model in an answer the server checked (it
    /// broke the plugin contract) and returns it as `INTERNAL`.
    pub fn failed(&self, message: String) -> ApiError {
        self.failed_as("garbage", message)
    }

    /// Records a failure of the model of `kind` (`error`, `panic`,
    /// `garbage`, `host_died`: the label of `stratus_plugin_failures_total`)
    /// and returns it as `INTERNAL`.
    pub fn failed_as(&self, kind: &str, message: String) -> ApiError {
        crate::metrics::metrics().plugin_failure(
            &self.description.name,
            &self.description.version,
            kind,
        );
        let count = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
        self.note(format!(
            "{message} ({count} failure{} since load)",
            if count == 1 { "" } else { "s" }
        ));
        ApiError::Internal(message)
    }

    /// How many calls the model itself failed since it was loaded.
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    fn note(&self, message: String) {
        *lock(&self.last_error) = message;
    }
}

/// Why a model reference names nothing that is served. The caller's name and
/// version are kept shortened (see [`shown`]), so messages stay small.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// No name was given.
    #[error("name: is required; ListModels shows what is loaded")]
    NoName,
    /// No model of that name is loaded.
    #[error("name: no model '{name}' is loaded (loaded: {loaded})")]
    UnknownModel {
        /// The name asked for.
        name: String,
        /// The names that are loaded, comma-separated, or "none".
        loaded: String,
    },
    /// The model's versions are all gone (a snapshot never holds an empty
    /// list, but a reference must not panic if one did).
    #[error("name: no version of '{name}' is loaded")]
    NoVersion {
        /// The name asked for.
        name: String,
    },
    /// The model is loaded, but not at that version.
    #[error("version: '{name}' has no version '{version}' loaded (loaded: {loaded})")]
    UnknownVersion {
        /// The name asked for.
        name: String,
        /// The version asked for.
        version: String,
        /// The versions that are loaded, comma-separated.
        loaded: String,
    },
}

impl ResolveError {
    /// The API error for a reference at field path `at` (e.g. `model`, or
    /// `models[2]` in a backtest): a missing name is an invalid argument,
    /// anything else not found.
    pub fn at(self, at: &str) -> ApiError {
        match self {
            Self::NoName => ApiError::invalid(
                format!("{at}.name"),
                "is required; ListModels shows what is loaded",
            ),
            other => ApiError::NotFound(format!("{at}.{other}")),
        }
    }
}

/// Why the registry does not serve a library, shown in `ListModels`.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// Copying it in, mapping it, or checking its ABI or description failed.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// Its bytes could not be read back for hashing.
    #[error("cannot read the library: {0}")]
    Unreadable(std::io::Error),
    /// Its smoke call answered unacceptably.
    #[error("failed its self-check: {0}")]
    SmokeCheck(String),
    /// A load step or the smoke call did not finish (the abandoned thread is
    /// remembered, see [`super::watchdog`]).
    #[error("failed its self-check: {0}")]
    Stopped(String),
    /// An earlier load of the same bytes hung and its thread still runs.
    #[error(
        "failed its self-check: {0} in an earlier scan, and is not retried while that thread still runs"
    )]
    StillHung(String),
    /// Another library hangs inside `dlopen`, holding the loader's lock.
    #[error(
        "not loaded: the library with sha256 {0} hangs in its initialisers and holds the dynamic loader's lock, so no new library can be loaded until it returns; remove it and restart the server"
    )]
    LoaderBlocked(String),
    /// The plugin host process could not start the library, or died while
    /// loading it.
    #[error("in a plugin host process: {0}")]
    Host(String),
    /// Its `<library>.isolation` file is unreadable or says something else
    /// than `process` or `in-process`.
    #[error("{0}")]
    Sidecar(String),
    /// Another library already serves this model at this version.
    #[error("duplicate: model '{name}' {version} is already loaded from {other}")]
    Duplicate {
        /// The model's name.
        name: String,
        /// The version both libraries claim.
        version: String,
        /// The library that serves it.
        other: PathBuf,
    },
}

/// A library the registry refused, shown in `ListModels`.
#[derive(Debug, Clone)]
pub struct RefusedLibrary {
    /// The file in the plugin folder.
    pub library_path: PathBuf,
    /// SHA-256 of its bytes, if they could be read.
    pub sha256: String,
    /// Why it was refused (shared: snapshots are cloned, refusals are not).
    pub error: Arc<Refusal>,
    /// When the refusal happened.
    pub at: SystemTime,
}

/// A library that was not loaded: the hash of its bytes (empty when they
/// could not be read) and why.
struct Refused {
    sha256: String,
    why: Refusal,
}

/// The guard of a lock in this module, poisoned or not. Every critical
/// section here is a single insert, lookup or `Arc` swap, which a panic
/// elsewhere cannot leave half done, so a poisoned lock is taken over rather
/// than turned into an error (or, worse, silently skipped).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What the registry serves at one moment.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Models by name, newest version first.
    pub models: BTreeMap<String, Vec<Arc<LoadedModel>>>,
    /// Libraries refused in the scan that built this snapshot.
    pub refused: Vec<RefusedLibrary>,
}

/// Resolves model references against the current [`Snapshot`] and rebuilds it
/// from the plugin folder on request.
#[derive(Debug)]
pub struct PluginRegistry {
    dir: PathBuf,
    copies: PrivateCopies,
    current: RwLock<Arc<Snapshot>>,
    // Serialises scans, so two reloads cannot load the same library twice.
    scanning: Mutex<()>,
    // Every library mapped so far, by SHA-256 of its bytes.
    mapped: Mutex<HashMap<String, OpenedLibrary>>,
    // Libraries whose loading hung, by SHA-256 of their bytes.
    hung: Mutex<HashMap<String, Abandoned>>,
    // Where libraries run (in process unless set).
    isolation: Option<IsolationPolicy>,
}

/// A load step that overran its time limit and the thread left running it.
#[derive(Debug)]
struct Abandoned {
    thread: JoinHandle<()>,
    error: String,
    /// Whether it hung inside `dlopen` (the library's initialisers), where
    /// the dynamic loader's lock is held.
    in_dlopen: bool,
}

impl PluginRegistry {
    /// An empty registry over `dir`; call [`PluginRegistry::scan`] to load.
    pub fn new(dir: impl Into<PathBuf>) -> std::io::Result<Self> {
        Ok(Self {
            dir: dir.into(),
            copies: PrivateCopies::new()?,
            current: RwLock::new(Arc::default()),
            scanning: Mutex::new(()),
            mapped: Mutex::default(),
            hung: Mutex::default(),
            isolation: None,
        })
    }

    /// Runs libraries as `policy` says (the default: all in process).
    pub fn with_isolation(mut self, policy: IsolationPolicy) -> Self {
        self.isolation = Some(policy);
        self
    }

    /// Where the library at `path` is to run: its sidecar file
    /// `<library>.isolation` if there is one, else the policy's default.
    fn isolation_of(&self, path: &Path) -> Result<Isolation, Refusal> {
        let default = self
            .isolation
            .as_ref()
            .map_or(Isolation::InProcess, |p| p.default);
        let mut sidecar = path.as_os_str().to_owned();
        sidecar.push(".isolation");
        match read_sidecar(Path::new(&sidecar)) {
            Ok(text) => Isolation::parse(&text).ok_or_else(|| {
                Refusal::Sidecar(format!(
                    "{} says '{}'; it must say `process` or `in-process`",
                    Path::new(&sidecar).display(),
                    shown(text.trim())
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(default),
            Err(e) => Err(Refusal::Sidecar(format!(
                "cannot read {}: {e}",
                Path::new(&sidecar).display()
            ))),
        }
    }

    /// The plugin folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What is served now.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        // As with `lock`: a panic cannot leave a swapped `Arc` torn.
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Rescans the plugin folder (blocking: file I/O and `dlopen`) and swaps
    /// in the result. Errors only if the folder itself cannot be read.
    pub fn scan(&self) -> std::io::Result<Arc<Snapshot>> {
        let _guard = lock(&self.scanning);
        let previous = self.snapshot();
        let reusable: HashMap<(&Path, &str), &Arc<LoadedModel>> = previous
            .models
            .values()
            .flatten()
            .map(|m| ((m.library_path.as_path(), m.sha256.as_str()), m))
            .collect();

        let mut by_path: HashMap<&Path, Vec<&Arc<LoadedModel>>> = HashMap::new();
        for model in previous.models.values().flatten() {
            by_path
                .entry(model.library_path.as_path())
                .or_default()
                .push(model);
        }

        let mut next = Snapshot::default();
        for path in library_files(&self.dir)? {
            let unread = |why: Refusal| Refused {
                sha256: String::new(),
                why,
            };
            let loaded = self
                .copies
                .copy_in(&path)
                .map_err(|e| unread(e.into()))
                .and_then(|copy| match copy.sha256() {
                    Ok(sha256) => Ok((copy, sha256)),
                    Err(e) => Err(unread(Refusal::Unreadable(e))),
                })
                .and_then(|(copy, sha256)| {
                    let isolation = self.isolation_of(&path).map_err(|why| Refused {
                        sha256: sha256.clone(),
                        why,
                    })?;
                    match reusable.get(&(path.as_path(), sha256.as_str())) {
                        // A failed host is retried by a reload, even of the
                        // same bytes.
                        Some(model)
                            if model.isolation() == isolation
                                && model.host().is_none_or(|(_, _, failed)| failed.is_none()) =>
                        {
                            Ok(Arc::clone(model))
                        }
                        _ => self
                            .load(&path, copy, sha256.clone(), isolation)
                            .map_err(|why| Refused { sha256, why }),
                    }
                });
            match loaded {
                Ok(model) => next.add(model),
                Err(Refused { sha256, why: error }) => {
                    // The model this file held keeps serving until a good
                    // replacement arrives.
                    for old in by_path.get(path.as_path()).into_iter().flatten() {
                        old.note(format!(
                            "a replacement library (sha256 {}) was refused, so this version keeps serving: {error}",
                            sha256.get(..12).unwrap_or(&sha256)
                        ));
                        next.add(Arc::clone(old));
                    }
                    next.refuse(&path, sha256, error);
                }
            }
        }
        let next = Arc::new(next);
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::clone(&next);
        Ok(next)
    }

    /// Maps (or reuses the mapping of) a library, makes an instance, and runs
    /// the smoke check; the error says why the library is refused.
    /// `copy` is the private copy of `path` whose hash is `sha256`.
    fn load(
        &self,
        path: &Path,
        copy: PrivateCopy,
        sha256: String,
        isolation: Isolation,
    ) -> Result<Arc<LoadedModel>, Refusal> {
        if isolation == Isolation::Process {
            return self.load_isolated(path, copy, sha256);
        }
        if let Some(error) = self.still_hung(&sha256) {
            return Err(error);
        }
        let cached = lock(&self.mapped).get(&sha256).cloned();
        let opened = match cached {
            Some(opened) => opened,
            None => {
                if let Some(error) = self.loader_blocked() {
                    return Err(error);
                }
                let opened = library::open(path, copy).map_err(|e| self.refusal(&sha256, e))?;
                lock(&self.mapped).insert(sha256.clone(), opened.clone());
                opened
            }
        };
        let instance = Arc::new(opened.instantiate().map_err(|e| self.refusal(&sha256, e))?);
        let smoke_instance = Arc::clone(&instance);
        smoke::check(
            move |request| smoke_instance.invoke(request),
            &opened.description,
        )
        .map_err(|e| match e {
            SmokeError::Refused(reason) => Refusal::SmokeCheck(reason),
            SmokeError::Stopped(stopped) => Refusal::Stopped(self.note_stopped(&sha256, stopped)),
        })?;
        let version = semver::Version::parse(&opened.description.version)
            .unwrap_or_else(|_| semver::Version::new(0, 0, 0));
        tracing::info!(
            model = %opened.description.name,
            version = %opened.description.version,
            library = %path.display(),
            sha256 = %sha256,
            "model loaded"
        );
        crate::metrics::metrics().plugin_load(true);
        Ok(Arc::new(LoadedModel {
            description: opened.description,
            version,
            library_path: path.to_owned(),
            sha256,
            abi_version: opened.abi_version,
            loaded_at: SystemTime::now(),
            last_error: Mutex::default(),
            failures: AtomicU64::new(0),
            instance: Backend::InProcess(instance),
        }))
    }

    /// Starts a plugin host process on the library and smoke-checks the
    /// model through it. Nothing of the library is mapped in the server.
    fn load_isolated(
        &self,
        path: &Path,
        copy: PrivateCopy,
        sha256: String,
    ) -> Result<Arc<LoadedModel>, Refusal> {
        let Some(policy) = &self.isolation else {
            return Err(Refusal::Host(
                "process isolation is not configured on this server".into(),
            ));
        };
        elf::check_complete(copy.file()).map_err(|e| Refusal::Load(e.into()))?;
        let (hosted, hello) =
            HostedModel::start(&policy.host, copy.file(), path).map_err(Refusal::Host)?;
        library::check_description(&hello.description).map_err(Refusal::Load)?;
        let smoke_host = Arc::clone(&hosted);
        let deadline = Instant::now() + smoke::SMOKE_TIMEOUT;
        smoke::check(
            move |request| smoke_host.invoke(request, deadline),
            &hello.description,
        )
        .map_err(|e| match e {
            SmokeError::Refused(reason) => Refusal::SmokeCheck(reason),
            SmokeError::Stopped(stopped) => Refusal::Stopped(stopped.to_string()),
        })?;
        let version = semver::Version::parse(&hello.description.version)
            .unwrap_or_else(|_| semver::Version::new(0, 0, 0));
        tracing::info!(
            model = %hello.description.name,
            version = %hello.description.version,
            library = %path.display(),
            sha256 = %sha256,
            pid = hosted.pid(),
            "model loaded in a plugin host process"
        );
        crate::metrics::metrics().plugin_load(true);
        Ok(Arc::new(LoadedModel {
            description: hello.description,
            version,
            library_path: path.to_owned(),
            sha256,
            abi_version: hello.abi_version,
            loaded_at: SystemTime::now(),
            last_error: Mutex::default(),
            failures: AtomicU64::new(0),
            instance: Backend::Process(hosted),
        }))
    }

    /// Why `error` refuses the library with hash `sha256`, remembering a hang.
    fn refusal(&self, sha256: &str, error: LoadError) -> Refusal {
        match error {
            LoadError::Stopped(stopped) => Refusal::Stopped(self.note_stopped(sha256, stopped)),
            other => Refusal::Load(other),
        }
    }

    /// The message for `stopped`; a hang is remembered so that the same bytes
    /// are not loaded again while the abandoned thread still runs.
    fn note_stopped(&self, sha256: &str, stopped: Stopped) -> String {
        let error = stopped.to_string();
        if let Stopped::Hung { thread, step, .. } = stopped {
            lock(&self.hung).insert(
                sha256.to_owned(),
                Abandoned {
                    thread,
                    error: error.clone(),
                    in_dlopen: step == library::STEP_DLOPEN,
                },
            );
        }
        error
    }

    /// The refusal for any new library while another hangs inside `dlopen`:
    /// its initialisers hold the dynamic loader's lock, so every `dlopen`
    /// would hang behind it (and leak a thread each).
    fn loader_blocked(&self) -> Option<Refusal> {
        lock(&self.hung)
            .iter()
            .find(|(_, a)| a.in_dlopen && !a.thread.is_finished())
            .map(|(sha256, _)| {
                Refusal::LoaderBlocked(sha256.get(..12).unwrap_or(sha256).to_owned())
            })
    }

    /// The refusal for a library whose earlier load hung and whose thread
    /// has not returned yet; `None` if there is none (or it since returned,
    /// in which case the library gets a fresh try).
    fn still_hung(&self, sha256: &str) -> Option<Refusal> {
        let mut hung = lock(&self.hung);
        match hung.get(sha256) {
            Some(abandoned) if !abandoned.thread.is_finished() => {
                Some(Refusal::StillHung(abandoned.error.clone()))
            }
            Some(_) => {
                hung.remove(sha256);
                None
            }
            None => None,
        }
    }

    /// The model `name` at `version` (empty: the newest).
    pub fn resolve(&self, name: &str, version: &str) -> Result<Arc<LoadedModel>, ResolveError> {
        if name.is_empty() {
            return Err(ResolveError::NoName);
        }
        let snapshot = self.snapshot();
        let Some(versions) = snapshot.models.get(name) else {
            let known: Vec<&str> = snapshot.models.keys().map(String::as_str).collect();
            return Err(ResolveError::UnknownModel {
                name: shown(name).into_owned(),
                loaded: if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                },
            });
        };
        if version.is_empty() {
            return versions
                .first()
                .cloned()
                .ok_or_else(|| ResolveError::NoVersion {
                    name: shown(name).into_owned(),
                });
        }
        versions
            .iter()
            .find(|m| m.description.version == version)
            .cloned()
            .ok_or_else(|| ResolveError::UnknownVersion {
                name: shown(name).into_owned(),
                version: shown(version).into_owned(),
                loaded: versions
                    .iter()
                    .map(|m| m.description.version.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

impl Snapshot {
    fn add(&mut self, model: Arc<LoadedModel>) {
        let versions = self
            .models
            .entry(model.description.name.clone())
            .or_default();
        if let Some(existing) = versions.iter().find(|m| m.version == model.version) {
            let error = Refusal::Duplicate {
                name: model.description.name.clone(),
                version: model.description.version.clone(),
                other: existing.library_path.clone(),
            };
            self.refuse(&model.library_path.clone(), model.sha256.clone(), error);
            return;
        }
        versions.push(model);
        versions.sort_by(|a, b| b.version.cmp(&a.version));
    }

    fn refuse(&mut self, path: &Path, sha256: String, error: Refusal) {
        tracing::warn!(library = %path.display(), %error, "plugin library refused");
        crate::metrics::metrics().plugin_load(false);
        self.refused.push(RefusedLibrary {
            library_path: path.to_owned(),
            sha256,
            error: Arc::new(error),
            at: SystemTime::now(),
        });
    }
}

/// The first bytes of a sidecar file, read as plugin files are: never
/// through a symlink, never blocking on a FIFO, never more than a word.
fn read_sidecar(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other("it is not a regular file"));
    }
    let mut text = String::new();
    file.take(64).read_to_string(&mut text)?;
    Ok(text)
}

/// The library candidates in `dir`, by name: regular files and symbolic
/// links with the platform's library extension. Symlinks are listed so that
/// loading can refuse them with a reason the operator sees in `ListModels`
/// (rather than silently following or skipping them). Other files are not
/// plugins and are skipped (debug-logged), so a README beside the libraries
/// is harmless.
fn library_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        // The entry's own type (`lstat`), not its target's.
        let kind = entry.file_type()?;
        let hidden = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        let is_library = path
            .extension()
            .is_some_and(|ext| ext == std::env::consts::DLL_EXTENSION);
        if (kind.is_file() || kind.is_symlink()) && is_library && !hidden {
            files.push(path);
        } else {
            tracing::debug!(file = %path.display(), "not a plugin library; skipped");
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    #[test]
    fn a_symlink_is_listed_as_refused_and_the_rest_is_served() {
        let naive =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/debug/libstratus_naive.so");
        if !naive.exists() {
            eprintln!("skipped: target/debug/libstratus_naive.so is not built");
            return;
        }
        let folder = tempfile::tempdir().unwrap();
        std::fs::copy(&naive, folder.path().join("libstratus_naive.so")).unwrap();
        std::os::unix::fs::symlink(&naive, folder.path().join("liblinked.so")).unwrap();
        // Dangling: still a candidate, so the operator sees why it is ignored.
        std::os::unix::fs::symlink("/nonexistent", folder.path().join("libgone.so")).unwrap();
        let registry = PluginRegistry::new(folder.path()).unwrap();
        let snapshot = registry.scan().unwrap();
        assert_eq!(snapshot.models.len(), 1);
        assert!(registry.resolve("naive", "").is_ok());
        let mut refused: Vec<(String, String)> = snapshot
            .refused
            .iter()
            .map(|r| {
                let name = r
                    .library_path
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                (name, r.error.to_string())
            })
            .collect();
        refused.sort();
        assert_eq!(refused.len(), 2, "{refused:?}");
        assert_eq!(refused[0].0, "libgone.so");
        assert_eq!(refused[1].0, "liblinked.so");
        assert!(
            refused.iter().all(|(_, e)| e.contains("symbolic link")),
            "{refused:?}"
        );
    }

    #[test]
    fn a_library_that_hung_is_not_retried_until_its_thread_returns() {
        let folder = tempfile::tempdir().unwrap();
        let registry = PluginRegistry::new(folder.path()).unwrap();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            let _ = released.recv();
        });
        let stopped = Stopped::Hung {
            step: "describe",
            limit: Duration::from_secs(10),
            thread,
        };
        let error = registry.note_stopped("abc", stopped);
        assert!(error.contains("describe did not return"), "{error}");
        let refusal = registry
            .still_hung("abc")
            .expect("not retried yet")
            .to_string();
        assert!(refusal.contains("describe did not return") && refusal.contains("not retried"));
        assert!(registry.still_hung("other").is_none());

        release.send(()).unwrap();
        let until = Instant::now() + Duration::from_secs(10);
        while registry.still_hung("abc").is_some() {
            assert!(
                Instant::now() < until,
                "the thread returned, so it is retried"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn a_hang_inside_dlopen_blocks_every_new_library_until_it_returns() {
        let folder = tempfile::tempdir().unwrap();
        let registry = PluginRegistry::new(folder.path()).unwrap();
        assert!(registry.loader_blocked().is_none());
        let (release, released) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            let _ = released.recv();
        });
        let stopped = Stopped::Hung {
            step: library::STEP_DLOPEN,
            limit: Duration::from_secs(10),
            thread,
        };
        registry.note_stopped("0123456789abcdef", stopped);
        let refusal = registry
            .loader_blocked()
            .expect("the loader is blocked")
            .to_string();
        assert!(
            refusal.contains("0123456789ab") && refusal.contains("restart"),
            "{refusal}"
        );
        release.send(()).unwrap();
        let until = Instant::now() + Duration::from_secs(10);
        while registry.loader_blocked().is_some() {
            assert!(Instant::now() < until, "the thread returned");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
