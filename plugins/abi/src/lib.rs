//! The plugin boundary, in one place: what a Stratus server and a model
//! library agree on, and nothing else.
//!
//! - [`table`]: the `#[repr(C)]` function table, its entry symbol and version
//!   constants, and the buffer type plugins hand out. `include/stratus_plugin.h`
//!   declares the same items for C; a test compiles it and compares layouts.
//! - [`wire`]: the `stratus.plugin.v1` protobuf messages that travel through
//!   the table as bytes.
//! - [`roles`]: names with a meaning on both sides (the demand series).
//! - [`calls`]: the host's encoding of a call from a borrowed input.
//!
//! The server depends on this crate and never on the SDK, so no model code or
//! statistics library is in the host's dependency tree.

pub mod calls;
pub mod roles;
pub mod table;

pub use table::{
    ABI_MAJOR, ABI_MINOR, AbiHeader, ENTRY_SYMBOL, EntryPoint, PluginApiV1, PluginBuf,
    STATUS_ERROR, STATUS_OK,
};

/// The messages that cross the plugin boundary (package `stratus.plugin.v1`).
pub use stratus_proto::plugin::v1 as wire;
