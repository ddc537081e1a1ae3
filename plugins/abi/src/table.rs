//! The v1 plugin ABI: one C entry point returning a table of C functions.
//!
//! Only C types cross the boundary: integers, raw pointers and [`PluginBuf`].
//! Rules every plugin (in any language) follows:
//!
//! - The table begins with [`AbiHeader`]: the host reads the major version and
//!   the table's size before it touches anything else, refuses a different
//!   major, and refuses a table smaller than the one it was built against.
//!   A minor version may append fields; the host ignores what it does not know.
//! - Every slot is a nullable function pointer (`Option` here, a plain
//!   function pointer in C). The host checks them all at load and refuses a
//!   table with a null slot, naming it, rather than calling through it.
//! - Bytes the host lends (`config`, `request`) are read-only and valid only
//!   for the duration of the call.
//! - Every [`PluginBuf`] the plugin writes stays owned by the plugin. The host
//!   decodes it in place, without copying, and then hands it back to
//!   `free_buf`, since the plugin has its own allocator. A `len` above
//!   `isize::MAX`, or a non-zero `len` with a null `ptr`, is refused.
//! - Functions return [`STATUS_OK`] (the buffer holds the encoded response) or
//!   [`STATUS_ERROR`] (the buffer holds an encoded `PluginError`). No panic or
//!   foreign exception may unwind out of them.
//! - `invoke` may be called from many threads at once on one instance.

use std::ffi::c_void;

/// The major ABI version. It is part of [`ENTRY_SYMBOL`].
pub const ABI_MAJOR: u32 = 1;
/// The minor ABI version: fields appended to [`PluginApiV1`] bump it.
pub const ABI_MINOR: u32 = 0;
/// The symbol every v1 plugin exports, NUL-terminated for `dlsym`.
pub const ENTRY_SYMBOL: &[u8] = b"stratus_plugin_v1\0";

/// Success: the output buffer holds the encoded response.
pub const STATUS_OK: i32 = 0;
/// Failure: the output buffer holds an encoded `stratus.plugin.v1.PluginError`.
pub const STATUS_ERROR: i32 = 1;

/// The signature of [`ENTRY_SYMBOL`]: returns a pointer to a table that lives
/// as long as the library is loaded.
pub type EntryPoint = unsafe extern "C" fn() -> *const PluginApiV1;

/// The first bytes of every table, whatever its version.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct AbiHeader {
    /// Must equal the host's [`ABI_MAJOR`].
    pub abi_major: u32,
    /// The plugin's minor version; informative.
    pub abi_minor: u32,
    /// `size_of` the whole table, so later minors can append fields.
    pub table_size: usize,
}

/// Bytes owned by the plugin and lent to the host until it calls `free_buf`.
#[repr(C)]
#[derive(Debug)]
pub struct PluginBuf {
    /// Start of the bytes; null for an empty buffer.
    pub ptr: *mut u8,
    /// Number of valid bytes.
    pub len: usize,
    /// Allocation size, for the plugin's own deallocation.
    pub cap: usize,
}

impl PluginBuf {
    /// An empty buffer, which owns nothing (the host's initial value).
    pub const fn empty() -> Self {
        Self {
            ptr: std::ptr::null_mut(),
            len: 0,
            cap: 0,
        }
    }

    /// Hands a vector's allocation over to the host.
    pub fn from_vec(bytes: Vec<u8>) -> Self {
        let mut bytes = std::mem::ManuallyDrop::new(bytes);
        Self {
            ptr: bytes.as_mut_ptr(),
            len: bytes.len(),
            cap: bytes.capacity(),
        }
    }

    /// Takes the allocation back, to drop it.
    ///
    /// # Safety
    /// `self` must come from [`PluginBuf::from_vec`] in this same library (so
    /// the same allocator), and must not be used again.
    pub unsafe fn into_vec(self) -> Vec<u8> {
        if self.ptr.is_null() {
            return Vec::new();
        }
        // SAFETY: the caller guarantees ptr/len/cap came from a Vec<u8> built
        // by `from_vec` with this library's allocator and not freed since.
        unsafe { Vec::from_raw_parts(self.ptr, self.len, self.cap) }
    }
}

/// `describe`: writes the encoded `ModelDescription` into `out`.
pub type DescribeFn = unsafe extern "C" fn(out: *mut PluginBuf) -> i32;
/// `create`: builds an instance from an encoded `PluginConfig`; on success
/// writes an opaque handle into `instance`, on failure a `PluginError` into
/// `error`.
pub type CreateFn = unsafe extern "C" fn(
    config: *const u8,
    config_len: usize,
    instance: *mut *mut c_void,
    error: *mut PluginBuf,
) -> i32;
/// `invoke`: runs an encoded `InvokeRequest`; writes an `InvokeResponse` (or a
/// `PluginError`) into `out`. Safe to call concurrently on one instance.
pub type InvokeFn = unsafe extern "C" fn(
    instance: *const c_void,
    request: *const u8,
    request_len: usize,
    out: *mut PluginBuf,
) -> i32;
/// `destroy`: drops an instance made by `create`; the handle is invalid
/// afterwards.
pub type DestroyFn = unsafe extern "C" fn(instance: *mut c_void);
/// `free_buf`: frees a buffer this plugin wrote.
pub type FreeBufFn = unsafe extern "C" fn(buf: PluginBuf);

/// The v1 function table.
///
/// Slots are `Option`s because a table written in another language may hold
/// a null pointer: the host must be able to see that and refuse the library
/// (an `Option<fn>` has the same layout as a C function pointer).
#[repr(C)]
#[derive(Debug)]
pub struct PluginApiV1 {
    /// Version and size; see [`AbiHeader`].
    pub header: AbiHeader,
    /// See [`DescribeFn`].
    pub describe: Option<DescribeFn>,
    /// See [`CreateFn`].
    pub create: Option<CreateFn>,
    /// See [`InvokeFn`].
    pub invoke: Option<InvokeFn>,
    /// See [`DestroyFn`].
    pub destroy: Option<DestroyFn>,
    /// See [`FreeBufFn`].
    pub free_buf: Option<FreeBufFn>,
}

impl PluginApiV1 {
    /// The slot names in table order, as the C header spells them.
    pub const SLOTS: [&'static str; 5] = ["describe", "create", "invoke", "destroy", "free_buf"];

    /// The name of the first null slot, if any.
    pub fn first_null_slot(&self) -> Option<&'static str> {
        let present = [
            self.describe.is_some(),
            self.create.is_some(),
            self.invoke.is_some(),
            self.destroy.is_some(),
            self.free_buf.is_some(),
        ];
        present
            .iter()
            .zip(Self::SLOTS)
            .find_map(|(&ok, name)| (!ok).then_some(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_null_slot_is_named() {
        unsafe extern "C" fn describe(_: *mut PluginBuf) -> i32 {
            STATUS_OK
        }
        let table = PluginApiV1 {
            header: AbiHeader {
                abi_major: ABI_MAJOR,
                abi_minor: ABI_MINOR,
                table_size: size_of::<PluginApiV1>(),
            },
            describe: Some(describe),
            create: None,
            invoke: None,
            destroy: None,
            free_buf: None,
        };
        assert_eq!(table.first_null_slot(), Some("create"));
    }

    #[test]
    fn optional_slots_are_plain_pointers() {
        assert_eq!(size_of::<Option<InvokeFn>>(), size_of::<*const c_void>());
        assert_eq!(
            size_of::<PluginApiV1>(),
            size_of::<AbiHeader>() + 5 * size_of::<*const c_void>()
        );
    }

    #[test]
    fn a_vector_round_trips_through_a_buffer() {
        let buf = PluginBuf::from_vec(vec![1, 2, 3]);
        assert_eq!(buf.len, 3);
        // SAFETY: made by from_vec just above, in this crate, used once.
        assert_eq!(unsafe { buf.into_vec() }, [1, 2, 3]);
        // SAFETY: an empty buffer owns nothing.
        assert!(unsafe { PluginBuf::empty().into_vec() }.is_empty());
    }
}
