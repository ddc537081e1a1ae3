//! The glue behind [`export!`](crate::export): C functions that decode, call
//! the model, encode, and never let a panic unwind into the host.
//!
//! Everything here is called through the macro; plugin authors never touch it.

use std::any::Any;
use std::ffi::c_void;
use std::panic::{AssertUnwindSafe, catch_unwind};

use prost::Message;

use crate::abi::{PluginBuf, STATUS_ERROR, STATUS_OK};
use crate::{Model, ModelError, wire};

/// Builds the model; the macro passes a function made from the user's type.
pub type Constructor = fn() -> Model;

/// Runs `body`, turning an error or a panic into an encoded `PluginError`,
/// and writes the resulting bytes into `out`.
///
/// # Safety
/// `out` must be null or valid for one write of a `PluginBuf`.
unsafe fn respond(out: *mut PluginBuf, body: impl FnOnce() -> Result<Vec<u8>, ModelError>) -> i32 {
    let (status, bytes) = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(bytes)) => (STATUS_OK, bytes),
        Ok(Err(error)) => (STATUS_ERROR, wire::PluginError::from(error).encode_to_vec()),
        Err(payload) => (STATUS_ERROR, panic_error(payload.as_ref()).encode_to_vec()),
    };
    if out.is_null() {
        return STATUS_ERROR;
    }
    // SAFETY: `out` is non-null and the caller guarantees it is writable.
    unsafe { out.write(PluginBuf::from_vec(bytes)) };
    status
}

fn panic_error(payload: &(dyn Any + Send)) -> wire::PluginError {
    let detail = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned());
    ModelError::internal(format!("the model panicked: {detail}")).into()
}

/// Borrows `len` bytes at `ptr`, treating null as empty.
///
/// # Safety
/// Unless null, `ptr` must be valid for reads of `len` bytes for `'a`.
unsafe fn lent_bytes<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if ptr.is_null() || len == 0 {
        &[]
    } else {
        // SAFETY: non-null, and the caller guarantees `len` readable bytes.
        unsafe { std::slice::from_raw_parts(ptr, len) }
    }
}

fn decode<M: Message + Default>(bytes: &[u8], what: &str) -> Result<M, ModelError> {
    M::decode(bytes).map_err(|e| {
        ModelError::internal(format!("the host sent a {what} that does not decode: {e}"))
    })
}

/// `describe` for a model built by `make`.
///
/// # Safety
/// As [`DescribeFn`](crate::abi::table::DescribeFn).
pub unsafe fn describe(make: Constructor, out: *mut PluginBuf) -> i32 {
    // SAFETY: forwarded from the caller.
    unsafe { respond(out, || Ok(make().description().encode_to_vec())) }
}

/// `create` for a model built by `make`.
///
/// # Safety
/// As [`CreateFn`](crate::abi::table::CreateFn).
pub unsafe fn create(
    make: Constructor,
    config: *const u8,
    config_len: usize,
    instance: *mut *mut c_void,
    error: *mut PluginBuf,
) -> i32 {
    if instance.is_null() {
        return STATUS_ERROR;
    }
    // SAFETY: the host lends `config_len` bytes at `config` for this call.
    let config = unsafe { lent_bytes(config, config_len) };
    let mut handle: *mut c_void = std::ptr::null_mut();
    // SAFETY: `error` is writable per the ABI contract.
    let status = unsafe {
        respond(error, || {
            let _config: wire::PluginConfig = decode(config, "PluginConfig")?;
            handle = Box::into_raw(Box::new(make())).cast();
            Ok(Vec::new())
        })
    };
    // SAFETY: checked non-null above; the host provides a writable slot.
    unsafe { instance.write(handle) };
    status
}

/// `invoke` on an instance made by [`create`].
///
/// # Safety
/// As [`InvokeFn`](crate::abi::table::InvokeFn).
pub unsafe fn invoke(
    instance: *const c_void,
    request: *const u8,
    request_len: usize,
    out: *mut PluginBuf,
) -> i32 {
    // SAFETY: the host lends `request_len` bytes at `request` for this call.
    let request = unsafe { lent_bytes(request, request_len) };
    let body = || {
        if instance.is_null() {
            return Err(ModelError::internal(
                "invoke was called without an instance",
            ));
        }
        // SAFETY: a non-null handle came from `create` (a leaked Box<Model>)
        // and the host keeps it alive for the call; `Model` is Sync, so
        // shared use across threads is sound.
        let model = unsafe { &*instance.cast::<Model>() };
        let request: wire::InvokeRequest = decode(request, "InvokeRequest")?;
        Ok(model.invoke(request)?.encode_to_vec())
    };
    // SAFETY: `out` is writable per the ABI contract.
    unsafe { respond(out, body) }
}

/// `destroy` for an instance made by [`create`].
///
/// # Safety
/// As [`DestroyFn`](crate::abi::table::DestroyFn).
pub unsafe fn destroy(instance: *mut c_void) {
    if instance.is_null() {
        return;
    }
    // A panic in a model's Drop must not unwind into the host; leaking the
    // rest of the instance is the lesser harm.
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the handle came from `create`'s Box::into_raw and the host
        // destroys it exactly once.
        drop(unsafe { Box::from_raw(instance.cast::<Model>()) });
    }));
}

/// `free_buf` for a buffer this library wrote.
///
/// # Safety
/// As [`FreeBufFn`](crate::abi::table::FreeBufFn).
pub unsafe fn free_buf(buf: PluginBuf) {
    // SAFETY: the host returns only buffers written by this library, once.
    drop(unsafe { buf.into_vec() });
}

/// Turns a `Default` model type into a plugin: emits the C entry point
/// `stratus_plugin_v1` returning the v1 table.
///
/// ```ignore
/// stratus_plugin::export!(forecast: Naive);   // a ForecastModel
/// stratus_plugin::export!(risk: Bubble);      // a RiskModel
/// ```
#[macro_export]
macro_rules! export {
    (forecast: $model:ty) => {
        $crate::export!(@table || $crate::Model::Forecast(::std::boxed::Box::new(<$model as ::std::default::Default>::default())));
    };
    (risk: $model:ty) => {
        $crate::export!(@table || $crate::Model::Risk(::std::boxed::Box::new(<$model as ::std::default::Default>::default())));
    };
    (@table $make:expr) => {
        const _: () = {
            use ::std::ffi::c_void;
            use $crate::abi::{AbiHeader, PluginApiV1, PluginBuf, ABI_MAJOR, ABI_MINOR};

            fn make() -> $crate::Model {
                ($make)()
            }
            unsafe extern "C" fn describe(out: *mut PluginBuf) -> i32 {
                // SAFETY: the host upholds the ABI contract for `out`.
                unsafe { $crate::export::describe(make, out) }
            }
            unsafe extern "C" fn create(
                config: *const u8,
                config_len: usize,
                instance: *mut *mut c_void,
                error: *mut PluginBuf,
            ) -> i32 {
                // SAFETY: the host upholds the ABI contract for every pointer.
                unsafe { $crate::export::create(make, config, config_len, instance, error) }
            }
            unsafe extern "C" fn invoke(
                instance: *const c_void,
                request: *const u8,
                request_len: usize,
                out: *mut PluginBuf,
            ) -> i32 {
                // SAFETY: the host upholds the ABI contract for every pointer.
                unsafe { $crate::export::invoke(instance, request, request_len, out) }
            }
            unsafe extern "C" fn destroy(instance: *mut c_void) {
                // SAFETY: the host passes a handle from `create`, once.
                unsafe { $crate::export::destroy(instance) }
            }
            unsafe extern "C" fn free_buf(buf: PluginBuf) {
                // SAFETY: the host passes a buffer this library wrote, once.
                unsafe { $crate::export::free_buf(buf) }
            }

            static TABLE: PluginApiV1 = PluginApiV1 {
                header: AbiHeader {
                    abi_major: ABI_MAJOR,
                    abi_minor: ABI_MINOR,
                    table_size: ::std::mem::size_of::<PluginApiV1>(),
                },
                describe: Some(describe),
                create: Some(create),
                invoke: Some(invoke),
                destroy: Some(destroy),
                free_buf: Some(free_buf),
            };

            /// The plugin's entry point: the v1 function table.
            #[unsafe(no_mangle)]
            pub extern "C" fn stratus_plugin_v1() -> *const PluginApiV1 {
                &TABLE
            }
        };
    };
}
