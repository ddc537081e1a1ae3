//! Loading one plugin library and calling through its C table safely.
//!
//! This is the only module that touches the plugin ABI from the host side.
//! It upholds the contract in `stratus_plugin_abi::table`: it reads the
//! header before the table, refuses a table with a null slot (naming it),
//! lends request bytes only for the duration of a call, decodes every buffer
//! the plugin returns in place (after checking its length) and then hands it
//! back to the plugin's own `free_buf`, and never unloads a library (so the
//! function pointers stay valid for the life of the process).
//!
//! It also decides which bytes get loaded: a file in the plugin folder is
//! copied once, through descriptors only, into a private file, and that one
//! open descriptor is what is hashed, checked for truncation and `dlopen`ed
//! (see [`PrivateCopies`]), so nothing can swap or tear the file in between.

use std::ffi::c_void;
use std::fs::{File, OpenOptions, Permissions};
use std::io::{Seek, SeekFrom};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use prost::Message;
use sha2::{Digest, Sha256};
use stratus_plugin_abi::table::{CreateFn, DescribeFn, DestroyFn, FreeBufFn, InvokeFn};
use stratus_plugin_abi::wire;
use stratus_plugin_abi::{
    ABI_MAJOR, AbiHeader, ENTRY_SYMBOL, EntryPoint, PluginApiV1, PluginBuf, STATUS_OK,
};

use super::elf::{self, ElfError};
use super::watchdog::{self, Stopped};

/// How long mapping a library (its initialisers included) and `describe`
/// together, and separately `create`, may take before the library is refused.
pub const LOAD_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a library was refused.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read or copied.
    #[error("cannot read the library: {0}")]
    Io(#[from] std::io::Error),
    /// The plugin-folder entry is a symbolic link. Following it would let
    /// whoever controls the link's target (outside the folder) decide what
    /// runs, so only files in the folder itself are loaded.
    #[error(
        "it is a symbolic link, and symlinks in the plugin folder are refused (what runs must be a file in the folder itself); copy the library into the folder instead"
    )]
    Symlink,
    /// The plugin-folder entry is not a regular file (a FIFO, a device).
    #[error("it is not a regular file")]
    NotAFile,
    /// The file is shorter than its ELF headers say.
    #[error(transparent)]
    Incomplete(#[from] ElfError),
    /// The dynamic loader refused it: not a shared library, wrong
    /// architecture, missing dependencies.
    #[error("not a loadable shared library: {0}")]
    NotALibrary(String),
    /// It exports no `stratus_plugin_v1`.
    #[error("{0}")]
    NoEntryPoint(String),
    /// The header names another major version, or the table is too small.
    #[error("{0}")]
    AbiMismatch(String),
    /// A slot of the table is null: calling it would be undefined behaviour.
    #[error(
        "the plugin's table has a null `{0}` slot; every slot of the v1 table must point to a function (see plugins/abi/include/stratus_plugin.h)"
    )]
    NullSlot(&'static str),
    /// `describe` or `create` failed, or the description is unusable.
    #[error("failed its self-check: {0}")]
    SelfCheck(String),
    /// Mapping, `describe` or `create` did not finish (see [`watchdog`]).
    #[error("failed its self-check: {0}")]
    Stopped(#[from] Stopped),
}

/// A call that did not produce a usable response.
#[derive(Debug)]
pub enum CallError {
    /// The plugin reported an error (or a panic it caught).
    Plugin(wire::PluginError),
    /// The plugin broke the ABI contract: bytes that do not decode, a null
    /// buffer with a length, a status it may not return.
    Garbage(String),
    /// The plugin host process running the model died during the call
    /// (process isolation); the message names the model and the signal or
    /// exit status.
    HostLost(String),
    /// No plugin host process runs the model: it is restarting, or `failed`
    /// (it died in a loop and is no longer restarted).
    HostDown {
        /// What happened, naming the model.
        message: String,
        /// Whether it is failed rather than restarting.
        failed: bool,
    },
    /// Too many calls already wait on the plugin host process.
    HostBusy(String),
    /// The call's deadline passed before the plugin host process answered
    /// (the host goes on; its watchdog bounds the call).
    Late(String),
    /// A call of a batch that failed as a whole on an earlier call.
    NotRun(String),
}

/// Where libraries are copied before `dlopen`, so that each load maps a
/// private, unique file: the loader caches by path and by inode, and a file
/// overwritten in place while mapped would change code under the running
/// process.
///
/// Each copy is made in a folder of its own, made fresh with a random name
/// and mode 0700 (`mkdtemp` semantics) so nobody else can pre-create it or
/// place files in it, and removed as soon as the copy's name is unlinked:
/// nothing is left in the temp dir however the server ends (a folder that
/// lived as long as the server was left behind by every run that did not
/// drop its registry, a SIGTERM included).
#[derive(Debug)]
pub struct PrivateCopies {
    root: PathBuf,
    next: AtomicU64,
}

impl PrivateCopies {
    /// Copies made under the system temp dir.
    pub fn new() -> std::io::Result<Self> {
        Self::under(std::env::temp_dir())
    }

    /// Copies made under `root`.
    fn under(root: PathBuf) -> std::io::Result<Self> {
        // Libraries are loaded through their descriptor's /proc path (see
        // `map`); without /proc every load would fail with a confusing
        // "no such file", so say why up front.
        if !Path::new("/proc/self/fd").is_dir() {
            return Err(std::io::Error::other(
                "/proc is not mounted; plugin libraries are loaded through /proc/self/fd",
            ));
        }
        // A temp dir the server cannot write would otherwise refuse every
        // library with an error that seems to blame the library; fail at
        // start, naming the folder.
        drop(private_folder(&root)?);
        Ok(Self {
            root,
            next: AtomicU64::new(0),
        })
    }

    /// Copies `original` (a file in the plugin folder) to a new private file
    /// and returns that file's open descriptor.
    ///
    /// The original is opened with `O_NOFOLLOW` (a symlink is refused, not
    /// followed) and must be a regular file; the copy is a file made by
    /// `create_private` in a fresh private folder, which is removed
    /// before the bytes are copied in.
    pub fn copy_in(&self, original: &Path) -> Result<PrivateCopy, LoadError> {
        let mut source = OpenOptions::new()
            .read(true)
            // O_NONBLOCK: a FIFO swapped in for the file must not block the
            // reload thread in open(); it is refused just below. Reads of
            // regular files ignore the flag.
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(original)
            .map_err(|e| match e.raw_os_error() {
                Some(libc::ELOOP) => LoadError::Symlink,
                _ => LoadError::Io(e),
            })?;
        if !source.metadata()?.is_file() {
            return Err(LoadError::NotAFile);
        }
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let name = original.file_name().unwrap_or_default().to_string_lossy();
        let folder = private_folder(&self.root)?;
        let mut file = create_private(folder.path(), &format!("{n}-{name}"))?;
        // The copy has no name now and its folder is empty: remove it before
        // the (possibly long) copy, so a server killed mid-copy leaves
        // nothing behind.
        drop(folder);
        // Kernel-side between the two descriptors (`copy_file_range`), so
        // the library's bytes never sit in the server's heap.
        std::io::copy(&mut source, &mut file)?;
        Ok(PrivateCopy { file })
    }
}

/// A new folder under `root` with a random name and mode 0700, removed when
/// dropped.
fn private_folder(root: &Path) -> std::io::Result<tempfile::TempDir> {
    // tempfile creates the folder with mkdir (failing, and retrying with
    // another random name, if it exists) but defaults to 0777 & !umask;
    // ask for 0700 explicitly.
    tempfile::Builder::new()
        .prefix("stratus-plugin-copy-")
        .permissions(Permissions::from_mode(0o700))
        .tempdir_in(root)
        .map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!(
                    "cannot make a private folder for library copies in {} (set TMPDIR to a writable folder): {e}",
                    root.display()
                ),
            )
        })
}

/// A new, empty file `name` in `folder`, opened for reading and writing,
/// its name already unlinked. Created with `O_CREAT | O_EXCL | O_NOFOLLOW`,
/// mode 0600: whatever already sits at the name makes this fail rather than
/// be written through. Everything after this goes through the descriptor;
/// an unlinked file cannot be opened by anyone else nor left behind if the
/// server dies.
fn create_private(folder: &Path, name: &str) -> Result<File, LoadError> {
    let private = folder.join(name);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&private)?;
    std::fs::remove_file(&private)?;
    Ok(file)
}

/// An unlinked private copy of a library, held open: the one descriptor that
/// is hashed, checked and mapped.
#[derive(Debug)]
pub struct PrivateCopy {
    file: File,
}

impl PrivateCopy {
    /// A copy made by another process and inherited as `file` (the plugin
    /// host maps the bytes the server hashed, through the descriptor the
    /// server passed it).
    pub fn inherited(file: File) -> Self {
        Self { file }
    }

    /// The descriptor, for handing the same bytes to a plugin host process.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// SHA-256 of the copy's bytes, hex, read through the descriptor
    /// (streamed: libraries can be tens of MB).
    pub fn sha256(&self) -> std::io::Result<String> {
        let mut reader = &self.file;
        reader.seek(SeekFrom::Start(0))?;
        let mut hasher = Sha256::new();
        std::io::copy(&mut reader, &mut hasher)?;
        Ok(hex::encode(hasher.finalize()))
    }
}

/// A library the loader has mapped, with the descriptor it was mapped
/// through. Both are leaked together: the library is never unloaded, and the
/// descriptor must never close, because the loader remembers the library by
/// the name `/proc/self/fd/N` and would hand this library back to a later
/// `dlopen` of that same name for a different file if `N` were reused.
#[derive(Debug)]
struct Mapped {
    library: libloading::Library,
    _descriptor: File,
}

/// The plugin's functions, every slot checked non-null at load. Copied out
/// of the plugin's table so no call site can meet a null pointer; valid for
/// the life of the process because the library is never unloaded.
#[derive(Debug, Clone, Copy)]
struct Table {
    describe: DescribeFn,
    create: CreateFn,
    invoke: InvokeFn,
    destroy: DestroyFn,
    free_buf: FreeBufFn,
}

/// A mapped library that passed the ABI and self-description checks. Cheap
/// to clone: the mapping is never released, so the table stays valid.
#[derive(Debug, Clone)]
pub struct OpenedLibrary {
    api: Table,
    /// What the model says about itself.
    pub description: wire::ModelDescription,
    /// "major.minor" from the table header.
    pub abi_version: String,
}

impl OpenedLibrary {
    /// A new instance of the model (the plugin's `create`), made on a
    /// helper thread under [`LOAD_TIMEOUT`].
    pub fn instantiate(&self) -> Result<PluginInstance, LoadError> {
        let api = self.api;
        watchdog::run("stratus-create", LOAD_TIMEOUT, "create", move |_| {
            create(api)
        })?
    }
}

/// Maps the private copy `copy` of the plugin-folder file `path` (see
/// [`PrivateCopies::copy_in`]) and checks it: completeness of the file, then
/// `dlopen`, ABI check, `describe`, description check. Everything that runs
/// the library's code runs under [`LOAD_TIMEOUT`] on a helper thread (see
/// [`watchdog`]); errors name `path`, never the private copy.
pub fn open(path: &Path, copy: PrivateCopy) -> Result<OpenedLibrary, LoadError> {
    // Before mapping: touching a page past the end of a mapped file raises
    // SIGBUS, which would take the whole server down.
    elf::check_complete(&copy.file)?;
    let path = path.to_owned();
    watchdog::run("stratus-load", LOAD_TIMEOUT, STEP_DLOPEN, move |progress| {
        map(&path, copy, progress)
    })?
}

pub(crate) const STEP_DLOPEN: &str = "dlopen (the library's initialisers)";

fn map(
    path: &Path,
    copy: PrivateCopy,
    progress: &watchdog::Progress,
) -> Result<OpenedLibrary, LoadError> {
    // The descriptor's own /proc path: the loader opens exactly the inode
    // that was hashed and checked, which no rename or overwrite in any
    // folder can replace.
    let loader_path = format!("/proc/self/fd/{}", copy.file.as_raw_fd());
    // SAFETY: loading runs the library's initialisers. We accept that for
    // files in the operator-configured plugin folder only (see ARCHITECTURE.md:
    // plugins are trusted not to be malicious, only not to be correct).
    let opened = unsafe { libloading::Library::new(&loader_path) };
    // The loader's message names the /proc path; name the caller's file.
    let library = opened.map_err(|e| {
        let message = e
            .to_string()
            .replace(&loader_path, &path.display().to_string());
        LoadError::NotALibrary(message)
    })?;
    // Never unloaded: unloading Rust libraries with thread-locals is not
    // reliable, and the `'static` references below depend on it.
    let mapped: &'static Mapped = Box::leak(Box::new(Mapped {
        library,
        _descriptor: copy.file,
    }));

    progress.enter("the stratus_plugin_v1 entry point");
    let (header, api) = entry_table(&mapped.library)?;
    let abi_version = format!("{}.{}", header.abi_major, header.abi_minor);
    progress.enter("describe");
    let description = describe(api)?;
    check_description(&description)?;
    Ok(OpenedLibrary {
        api,
        description,
        abi_version,
    })
}

fn entry_table(library: &'static libloading::Library) -> Result<(AbiHeader, Table), LoadError> {
    // SAFETY: `EntryPoint` is the documented signature of the v1 entry symbol.
    let entry =
        unsafe { library.get::<EntryPoint>(ENTRY_SYMBOL) }.map_err(|_| no_entry_point(library))?;
    // SAFETY: the entry point takes no arguments and returns a pointer to a
    // static table; calling it has no other precondition.
    let table = unsafe { entry() };
    if table.is_null() {
        return Err(LoadError::AbiMismatch(
            "stratus_plugin_v1 returned a null table".into(),
        ));
    }
    if !table.is_aligned() {
        return Err(LoadError::AbiMismatch(
            "stratus_plugin_v1 returned a misaligned table".into(),
        ));
    }
    // SAFETY: non-null and aligned (checked above); every table version
    // begins with an `AbiHeader`, and reading only the header is valid
    // before we know the rest of the layout.
    let header: AbiHeader = unsafe { table.cast::<AbiHeader>().read() };
    if header.abi_major != ABI_MAJOR {
        return Err(LoadError::AbiMismatch(format!(
            "the plugin speaks ABI {}.{} and this server speaks ABI {}.x; rebuild the plugin against stratus-plugin {}.x",
            header.abi_major, header.abi_minor, ABI_MAJOR, ABI_MAJOR
        )));
    }
    let needed = std::mem::size_of::<PluginApiV1>();
    if header.table_size < needed {
        return Err(LoadError::AbiMismatch(format!(
            "the plugin's ABI {}.{} table is {} bytes but this server (ABI {}.x) needs at least {needed}; rebuild the plugin",
            header.abi_major, header.abi_minor, header.table_size, ABI_MAJOR
        )));
    }
    // SAFETY: non-null and aligned; same major and at least our size, so the
    // layout we know is a prefix of the plugin's table; it is static in a
    // library never unloaded.
    let table: &PluginApiV1 = unsafe { &*table };
    let (Some(describe), Some(create), Some(invoke), Some(destroy), Some(free_buf)) = (
        table.describe,
        table.create,
        table.invoke,
        table.destroy,
        table.free_buf,
    ) else {
        let slot = table.first_null_slot().unwrap_or("unknown");
        return Err(LoadError::NullSlot(slot));
    };
    Ok((
        header,
        Table {
            describe,
            create,
            invoke,
            destroy,
            free_buf,
        },
    ))
}

fn no_entry_point(library: &libloading::Library) -> LoadError {
    for major in (ABI_MAJOR + 1..=ABI_MAJOR + 8).chain(0..ABI_MAJOR) {
        let symbol = format!("stratus_plugin_v{major}\0");
        // SAFETY: we only test for the symbol's presence and never call it.
        if unsafe { library.get::<*const c_void>(symbol.as_bytes()) }.is_ok() {
            return LoadError::NoEntryPoint(format!(
                "the library exports stratus_plugin_v{major} (ABI {major}) but this server speaks ABI {ABI_MAJOR}; rebuild it against stratus-plugin {ABI_MAJOR}.x"
            ));
        }
    }
    LoadError::NoEntryPoint("the library exports no stratus_plugin_v1 entry point; is it a Stratus plugin (stratus_plugin::export!)?".into())
}

fn describe(api: Table) -> Result<wire::ModelDescription, LoadError> {
    let mut out = PluginBuf::empty();
    // SAFETY: `out` is a valid, writable PluginBuf for the call.
    let status = unsafe { (api.describe)(&mut out) };
    let bytes = take(api, out).map_err(LoadError::SelfCheck)?;
    if status != STATUS_OK {
        return Err(LoadError::SelfCheck(format!(
            "describe failed: {}",
            plugin_error(&bytes).message
        )));
    }
    wire::ModelDescription::decode(bytes.as_slice()).map_err(|e| {
        LoadError::SelfCheck(format!("describe returned bytes that do not decode: {e}"))
    })
}

/// Refuses a description the server cannot serve: no name, a version that
/// is not semver, an unknown kind, a parameter whose range is inverted.
pub(crate) fn check_description(description: &wire::ModelDescription) -> Result<(), LoadError> {
    let fail = |msg: String| Err(LoadError::SelfCheck(msg));
    if description.name.is_empty()
        || !description
            .name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return fail(format!(
            "model name '{}' must be non-empty ASCII letters, digits, '-' or '_'",
            description.name
        ));
    }
    // Names the server gives its own results (a backtest's benchmark, an
    // ensemble's combination) cannot be taken by a plugin.
    if matches!(description.name.as_str(), "ensemble" | "naive2") {
        return fail(format!(
            "model name '{}' is reserved by the server; choose another",
            description.name
        ));
    }
    if semver::Version::parse(&description.version).is_err() {
        return fail(format!(
            "version '{}' is not a semantic version (MAJOR.MINOR.PATCH)",
            description.version
        ));
    }
    if !matches!(
        wire::ModelKind::try_from(description.kind),
        Ok(wire::ModelKind::Forecast | wire::ModelKind::Risk)
    ) {
        return fail("the description has no model kind".into());
    }
    for spec in description.params.iter().chain(&description.inputs) {
        let ordered = spec.min <= spec.default_value && spec.default_value <= spec.max;
        if spec.name.is_empty() || !ordered || spec.default_value.is_nan() {
            return fail(format!(
                "parameter '{}' needs a name and min <= default <= max (got {} <= {} <= {})",
                spec.name, spec.min, spec.default_value, spec.max
            ));
        }
    }
    Ok(())
}

fn create(api: Table) -> Result<PluginInstance, LoadError> {
    let config = wire::PluginConfig::default().encode_to_vec();
    let mut handle: *mut c_void = std::ptr::null_mut();
    let mut error = PluginBuf::empty();
    // SAFETY: `config` is readable for the call; `handle` and `error` are
    // valid, writable locals.
    let status = unsafe { (api.create)(config.as_ptr(), config.len(), &mut handle, &mut error) };
    let error_bytes = take(api, error).map_err(LoadError::SelfCheck)?;
    if status != STATUS_OK {
        return Err(LoadError::SelfCheck(format!(
            "create failed: {}",
            plugin_error(&error_bytes).message
        )));
    }
    let handle = NonNull::new(handle)
        .ok_or_else(|| LoadError::SelfCheck("create returned no instance".into()))?;
    Ok(PluginInstance { api, handle })
}

/// Copies a plugin-owned buffer and gives it back to the plugin to free.
fn take(api: Table, buf: PluginBuf) -> Result<Vec<u8>, String> {
    read_and_free(api, buf, <[u8]>::to_vec)
}

/// Lets `read` look at a plugin-owned buffer, then gives the buffer back to
/// the plugin to free. Decoding straight from the plugin's bytes saves a copy
/// per call on the hot path.
///
/// A buffer whose `len` no slice can have (above `isize::MAX`) is refused
/// and, since its fields cannot be trusted, not handed to `free_buf`: leaking
/// it is safer than letting the plugin free a pointer it garbled.
fn read_and_free<T>(
    api: Table,
    buf: PluginBuf,
    read: impl FnOnce(&[u8]) -> T,
) -> Result<T, String> {
    if buf.ptr.is_null() {
        if buf.len != 0 {
            return Err(format!("returned a null buffer of length {}", buf.len));
        }
        return Ok(read(&[]));
    }
    if buf.len > isize::MAX as usize {
        return Err(format!(
            "returned a buffer of length {}, above isize::MAX",
            buf.len
        ));
    }
    if buf.len > buf.cap {
        return Err(format!(
            "returned a buffer of length {} in an allocation of {} bytes",
            buf.len, buf.cap
        ));
    }
    // SAFETY: the plugin wrote `len` (checked ≤ isize::MAX) readable bytes at
    // the non-null `ptr` and keeps them alive until we call `free_buf`, which
    // happens only after `read` is done with the slice (it cannot keep it:
    // the borrow ends with the call).
    let result = read(unsafe { std::slice::from_raw_parts(buf.ptr, buf.len) });
    // SAFETY: `buf` was written by this plugin and is returned exactly once.
    unsafe { (api.free_buf)(buf) };
    Ok(result)
}

fn plugin_error(bytes: &[u8]) -> wire::PluginError {
    wire::PluginError::decode(bytes).unwrap_or_else(|e| wire::PluginError {
        code: wire::plugin_error::Code::Internal as i32,
        message: format!("an error that does not decode ({e})"),
        field: String::new(),
    })
}

/// A live instance made by a plugin's `create`; destroyed on drop.
#[derive(Debug)]
pub struct PluginInstance {
    api: Table,
    handle: NonNull<c_void>,
}

// SAFETY: the ABI requires `invoke` to be callable from any thread,
// concurrently, on one instance (the SDK enforces `Send + Sync` on models),
// and `destroy` is called once, from `Drop`, when no call is in flight
// (callers hold an `Arc` to the instance for the length of a call).
unsafe impl Send for PluginInstance {}
// SAFETY: as above; `&PluginInstance` only allows `invoke`.
unsafe impl Sync for PluginInstance {}

impl PluginInstance {
    /// Sends an encoded `InvokeRequest`; returns the plugin's status and a
    /// copy of its bytes, undecoded (what a plugin host forwards).
    pub fn invoke_raw(&self, request: &[u8]) -> Result<(i32, Vec<u8>), String> {
        self.call(request, |status, bytes| (status, bytes.to_vec()))
    }

    /// Sends an encoded `InvokeRequest`; returns the decoded response.
    pub fn invoke(&self, request: &[u8]) -> Result<wire::InvokeResponse, CallError> {
        self.call(request, decode_answer)
            .map_err(CallError::Garbage)?
    }

    /// Calls the plugin's `invoke` and lets `read` look at its status and
    /// answer before the buffer goes back to the plugin.
    fn call<T>(&self, request: &[u8], read: impl FnOnce(i32, &[u8]) -> T) -> Result<T, String> {
        let mut out = PluginBuf::empty();
        // SAFETY: the handle is live (we own it until Drop), `request` is
        // readable for the call and `out` is a writable local.
        let status = unsafe {
            (self.api.invoke)(
                self.handle.as_ptr(),
                request.as_ptr(),
                request.len(),
                &mut out,
            )
        };
        read_and_free(self.api, out, |bytes| read(status, bytes))
    }
}

impl CallError {
    /// What went wrong, in a sentence.
    pub fn message(&self) -> String {
        match self {
            Self::Plugin(error) => error.message.clone(),
            Self::Garbage(what) => format!("the plugin {what}"),
            Self::HostLost(m)
            | Self::HostBusy(m)
            | Self::Late(m)
            | Self::NotRun(m)
            | Self::HostDown { message: m, .. } => m.clone(),
        }
    }
}

/// A plugin's answer: its status and bytes, decoded as the ABI says.
pub fn decode_answer(status: i32, bytes: &[u8]) -> Result<wire::InvokeResponse, CallError> {
    match status {
        STATUS_OK => wire::InvokeResponse::decode(bytes).map_err(|e| {
            CallError::Garbage(format!(
                "returned bytes that do not decode as a response: {e}"
            ))
        }),
        stratus_plugin_abi::STATUS_ERROR => match wire::PluginError::decode(bytes) {
            Ok(error) => Err(CallError::Plugin(error)),
            Err(e) => Err(CallError::Garbage(format!(
                "returned an error that does not decode: {e}"
            ))),
        },
        other => Err(CallError::Garbage(format!(
            "returned status {other}, which the ABI does not define"
        ))),
    }
}

impl Drop for PluginInstance {
    fn drop(&mut self) {
        // SAFETY: the handle came from this plugin's `create` and is destroyed
        // exactly once; no call can be in flight since we hold `&mut self`.
        unsafe { (self.api.destroy)(self.handle.as_ptr()) };
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::MetadataExt;
    use std::path::PathBuf;

    use super::*;

    /// A library this workspace builds, if it has been built.
    fn built(file: &str) -> Option<PathBuf> {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../target/debug")
            .join(file);
        path.exists().then_some(path)
    }

    #[test]
    fn a_private_folder_is_new_and_only_ours() {
        let root = tempfile::tempdir().unwrap();
        let one = private_folder(root.path()).unwrap();
        let other = private_folder(root.path()).unwrap();
        assert_ne!(one.path(), other.path(), "a fresh random name each time");
        let meta = std::fs::symlink_metadata(one.path()).unwrap();
        assert!(meta.is_dir());
        assert_eq!(meta.mode() & 0o777, 0o700);
    }

    #[test]
    fn a_temp_dir_we_cannot_write_is_named_at_start() {
        let root = tempfile::tempdir().unwrap();
        let missing = root.path().join("missing");
        let error = PrivateCopies::under(missing.clone()).unwrap_err();
        let text = error.to_string();
        assert!(text.contains(&missing.display().to_string()), "{text}");
        assert!(text.contains("TMPDIR"), "{text}");
    }

    #[test]
    fn a_copy_has_the_same_bytes_and_leaves_nothing_behind() {
        let folder = tempfile::tempdir().unwrap();
        let original = folder.path().join("libsome.so");
        std::fs::write(&original, b"some bytes").unwrap();
        let root = tempfile::tempdir().unwrap();
        let copies = PrivateCopies::under(root.path().to_path_buf()).unwrap();
        let copy = copies.copy_in(&original).unwrap();
        assert_eq!(
            copy.sha256().unwrap(),
            hex::encode(Sha256::digest(b"some bytes"))
        );
        // Hashing twice reads from the start again.
        assert_eq!(
            copy.sha256().unwrap(),
            hex::encode(Sha256::digest(b"some bytes"))
        );
        // Neither the copy's name nor its folder outlives the call.
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_symlink_is_refused_not_followed() {
        let folder = tempfile::tempdir().unwrap();
        let target = folder.path().join("real.so");
        std::fs::write(&target, b"bytes").unwrap();
        let link = folder.path().join("liblink.so");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let error = PrivateCopies::new().unwrap().copy_in(&link).unwrap_err();
        assert!(matches!(error, LoadError::Symlink), "{error:?}");
        assert!(error.to_string().contains("symbolic link"), "{error}");
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let folder = tempfile::tempdir().unwrap();
        let fifo = folder.path().join("libfifo.so");
        let c_path = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: `c_path` is a valid NUL-terminated path for the call.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        let error = PrivateCopies::new().unwrap().copy_in(&fifo).unwrap_err();
        assert!(matches!(error, LoadError::NotAFile), "{error:?}");
    }

    #[test]
    fn a_file_already_at_the_private_name_is_never_written_through() {
        let folder = tempfile::tempdir().unwrap();
        let original = folder.path().join("libsome.so");
        std::fs::write(&original, b"new").unwrap();
        let private = tempfile::tempdir().unwrap();
        // Whatever sits at the private name (here: a symlink to a file
        // elsewhere) makes the copy fail rather than be written through.
        let victim = folder.path().join("victim");
        std::fs::write(&victim, b"untouched").unwrap();
        std::os::unix::fs::symlink(&victim, private.path().join("0-libsome.so")).unwrap();
        let error = create_private(private.path(), "0-libsome.so").unwrap_err();
        assert!(matches!(error, LoadError::Io(_)), "{error:?}");
        assert_eq!(std::fs::read(&victim).unwrap(), b"untouched");
    }

    #[test]
    fn loader_errors_name_the_plugin_folder_file() {
        let folder = tempfile::tempdir().unwrap();
        let original = folder.path().join("libnotes.so");
        std::fs::write(&original, b"this is not an ELF file").unwrap();
        let copies = PrivateCopies::new().unwrap();
        let error = open(&original, copies.copy_in(&original).unwrap())
            .unwrap_err()
            .to_string();
        assert!(error.contains("not a loadable shared library"), "{error}");
        assert!(error.contains(&original.display().to_string()), "{error}");
        assert!(!error.contains("/proc/self/fd"), "{error}");
    }

    #[test]
    fn a_truncated_library_is_refused_before_mapping() {
        let Some(naive) = built("libstratus_naive.so") else {
            eprintln!("skipped: target/debug/libstratus_naive.so is not built");
            return;
        };
        let bytes = std::fs::read(naive).unwrap();
        let folder = tempfile::tempdir().unwrap();
        let original = folder.path().join("libhalf.so");
        std::fs::write(&original, &bytes[..bytes.len() / 2]).unwrap();
        let copies = PrivateCopies::new().unwrap();
        let error = open(&original, copies.copy_in(&original).unwrap()).unwrap_err();
        assert!(matches!(error, LoadError::Incomplete(_)), "{error:?}");
        assert!(error.to_string().contains("looks truncated"), "{error}");
    }

    #[test]
    fn libraries_loaded_one_after_another_each_run_their_own_code() {
        // The loader names each library by its /proc/self/fd path and hands
        // back an already-loaded library for a name it knows: if a mapped
        // library's descriptor were closed and its number reused, the second
        // load here would silently return the first library.
        let (Some(naive), Some(rogue)) = (
            built("libstratus_naive.so"),
            built("libstratus_fixture_rogue.so"),
        ) else {
            eprintln!("skipped: the naive and rogue libraries are not built");
            return;
        };
        let copies = PrivateCopies::new().unwrap();
        let first = open(&naive, copies.copy_in(&naive).unwrap()).unwrap();
        let second = open(&rogue, copies.copy_in(&rogue).unwrap()).unwrap();
        assert_eq!(first.description.name, "naive");
        assert_eq!(second.description.name, "rogue");
        first.instantiate().unwrap();
    }
}
