//! The Stratus protobuf contract, compiled.
//!
//! Two packages live here. [`plugin::v1`] is what crosses the plugin boundary
//! (always built; it needs only `prost`). [`v1`] is the public gRPC API with its
//! tonic clients and servers and a proto3-JSON mapping (feature `api`, on by
//! default). Keeping them apart lets the public API evolve without changing the
//! plugin ABI.

/// Messages exchanged with model plugins, as protobuf bytes.
pub mod plugin {
    /// Plugin ABI v1 messages (package `stratus.plugin.v1`).
    #[allow(missing_docs, clippy::all)]
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/stratus.plugin.v1.rs"));
    }
}

/// The public API (package `stratus.v1`): messages, clients and servers.
#[cfg(feature = "api")]
#[allow(missing_docs, clippy::all)]
pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/stratus.v1.rs"));
    include!(concat!(env!("OUT_DIR"), "/stratus.v1.serde.rs"));
}

/// Conversions between the API and the plugin packages (the only place
/// where they meet).
#[cfg(feature = "api")]
pub mod mapping;

/// The encoded `FileDescriptorSet` of every `.proto` file, for server reflection.
#[cfg(feature = "api")]
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/stratus_descriptor.bin"));
