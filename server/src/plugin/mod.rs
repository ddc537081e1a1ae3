//! Model plugins: loading libraries ([`library`]) and keeping the set of
//! loaded models that requests resolve against ([`registry`]).

pub mod library;
pub mod registry;
pub mod smoke;

pub use registry::{LoadedModel, PluginRegistry};
