//! Loading one plugin library and calling through its C table safely.
//!
//! This is the only module that touches the plugin ABI from the host side.
//! It upholds the contract in `stratus_plugin::abi`: it reads the header
//! before the table, lends request bytes only for the duration of a call,
//! copies every buffer the plugin returns and hands it back to the plugin's
//! own `free_buf`, and never unloads a library (so the `'static` table and
//! function pointers stay valid for the life of the process).

use std::ffi::c_void;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};

use prost::Message;
use stratus_plugin::abi::{
    ABI_MAJOR, AbiHeader, ENTRY_SYMBOL, EntryPoint, PluginApiV1, PluginBuf, STATUS_OK,
};
use stratus_plugin::wire;

/// Why a library was refused.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read or copied.
    #[error("cannot read the library: {0}")]
    Io(#[from] std::io::Error),
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
    /// `describe` or `create` failed, or the description is unusable.
    #[error("failed its self-check: {0}")]
    SelfCheck(String),
}

/// A call that did not produce a usable response.
#[derive(Debug)]
pub enum CallError {
    /// The plugin reported an error (or a panic it caught).
    Plugin(wire::PluginError),
    /// The plugin broke the ABI contract: bytes that do not decode, a null
    /// buffer with a length, a status it may not return.
    Garbage(String),
}

/// Where libraries are copied before `dlopen`, so that each load maps a
/// private, unique file: the loader caches by path, and a file overwritten in
/// place while mapped would change code under the running process.
#[derive(Debug)]
pub struct PrivateCopies {
    dir: PathBuf,
    next: AtomicU64,
}

impl PrivateCopies {
    /// Uses (and creates) a per-process folder under the system temp dir.
    pub fn new() -> std::io::Result<Self> {
        let dir = std::env::temp_dir().join(format!("stratus-plugins-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        Ok(Self {
            dir,
            next: AtomicU64::new(0),
        })
    }

    /// Copies `original` to a new private file (a kernel-side copy: the
    /// library's bytes never sit in the server's heap) and returns its path.
    /// The caller hashes and loads that copy, so the hash reported is always
    /// of the code that runs, even if the original changes meanwhile.
    pub fn copy_in(&self, original: &Path) -> std::io::Result<PathBuf> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let name = original.file_name().unwrap_or_default().to_string_lossy();
        let private = self.dir.join(format!("{n}-{name}"));
        std::fs::copy(original, &private)?;
        Ok(private)
    }
}

/// A mapped library that passed the ABI and self-description checks. Cheap
/// to clone: the mapping is never released, so the table stays valid.
#[derive(Debug, Clone)]
pub struct OpenedLibrary {
    api: &'static PluginApiV1,
    /// What the model says about itself.
    pub description: wire::ModelDescription,
    /// "major.minor" from the table header.
    pub abi_version: String,
}

impl OpenedLibrary {
    /// A new instance of the model (the plugin's `create`).
    pub fn instantiate(&self) -> Result<PluginInstance, LoadError> {
        create(self.api)
    }
}

/// Maps the private copy `private` of the plugin-folder file `path` (see
/// [`PrivateCopies::copy_in`]) and checks it: `dlopen`, ABI check,
/// `describe`, description check. The private file is removed either way.
pub fn open(path: &Path, private: &Path) -> Result<OpenedLibrary, LoadError> {
    // SAFETY: loading runs the library's initialisers. We accept that for
    // files in the operator-configured plugin folder only (see ARCHITECTURE.md:
    // plugins are trusted not to be malicious, only not to be correct).
    let opened = unsafe { libloading::Library::new(private) };
    // The mapping keeps the code alive; the private file is no longer needed.
    let _ = std::fs::remove_file(private);
    // The loader's message names the private copy; name the caller's file.
    let library = opened.map_err(|e| {
        let message = e
            .to_string()
            .replace(&private.display().to_string(), &path.display().to_string());
        LoadError::NotALibrary(message)
    })?;
    // Never unloaded: unloading Rust libraries with thread-locals is not
    // reliable, and the `'static` references below depend on it.
    let library: &'static libloading::Library = Box::leak(Box::new(library));

    let api = entry_table(library)?;
    let abi_version = format!("{}.{}", api.header.abi_major, api.header.abi_minor);
    let description = describe(api)?;
    check_description(&description)?;
    Ok(OpenedLibrary {
        api,
        description,
        abi_version,
    })
}

fn entry_table(library: &'static libloading::Library) -> Result<&'static PluginApiV1, LoadError> {
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
    // SAFETY: every table version begins with an `AbiHeader`; reading only the
    // header is valid before we know the rest of the layout.
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
    // SAFETY: same major and at least our size, so the layout we know is a
    // prefix of the plugin's table; it is static in a library never unloaded.
    Ok(unsafe { &*table })
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

fn describe(api: &'static PluginApiV1) -> Result<wire::ModelDescription, LoadError> {
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

fn check_description(description: &wire::ModelDescription) -> Result<(), LoadError> {
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

fn create(api: &'static PluginApiV1) -> Result<PluginInstance, LoadError> {
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
fn take(api: &'static PluginApiV1, buf: PluginBuf) -> Result<Vec<u8>, String> {
    read_and_free(api, buf, <[u8]>::to_vec)
}

/// Lets `read` look at a plugin-owned buffer, then gives the buffer back to
/// the plugin to free. Decoding straight from the plugin's bytes saves a copy
/// per call on the hot path.
fn read_and_free<T>(
    api: &'static PluginApiV1,
    buf: PluginBuf,
    read: impl FnOnce(&[u8]) -> T,
) -> Result<T, String> {
    if buf.ptr.is_null() {
        if buf.len != 0 {
            return Err(format!("returned a null buffer of length {}", buf.len));
        }
        return Ok(read(&[]));
    }
    // SAFETY: the plugin wrote `len` readable bytes at `ptr` and keeps them
    // alive until we call `free_buf`, which happens only after `read` is done
    // with the slice (it cannot keep it: the borrow ends with the call).
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
    api: &'static PluginApiV1,
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
    /// Sends an encoded `InvokeRequest`; returns the decoded response.
    pub fn invoke(&self, request: &[u8]) -> Result<wire::InvokeResponse, CallError> {
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
        read_and_free(self.api, out, |bytes| match status {
            STATUS_OK => wire::InvokeResponse::decode(bytes).map_err(|e| {
                CallError::Garbage(format!(
                    "returned bytes that do not decode as a response: {e}"
                ))
            }),
            stratus_plugin::abi::STATUS_ERROR => match wire::PluginError::decode(bytes) {
                Ok(error) => Err(CallError::Plugin(error)),
                Err(e) => Err(CallError::Garbage(format!(
                    "returned an error that does not decode: {e}"
                ))),
            },
            other => Err(CallError::Garbage(format!(
                "returned status {other}, which the ABI does not define"
            ))),
        })
        .map_err(CallError::Garbage)?
    }
}

impl Drop for PluginInstance {
    fn drop(&mut self) {
        // SAFETY: the handle came from this plugin's `create` and is destroyed
        // exactly once; no call can be in flight since we hold `&mut self`.
        unsafe { (self.api.destroy)(self.handle.as_ptr()) };
    }
}
