//! Process isolation: a model's library loaded in a `stratus-plugin-host`
//! process of its own instead of the server's, so a crash, an abort, a leak
//! past its memory cap or a spin ends that process, not the server.
//!
//! - [`protocol`]: the frames on the socket between the two (the plugin
//!   ABI's own protobuf messages, with a length, an id and a kind).
//! - [`child`]: the host process's side (load, say hello, answer calls).
//! - [`supervisor`]: the server's side (start, call, restart, give up).

pub mod child;
pub mod protocol;
pub mod supervisor;

pub use supervisor::{HostSpec, HostedModel};
