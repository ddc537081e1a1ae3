//! Model plugins: loading libraries ([`library`]) and keeping the set of
//! loaded models that requests resolve against ([`registry`]). Loading is
//! guarded by a completeness check of the file ([`elf`]), time limits on the
//! plugin's own code ([`watchdog`]) and a smoke call ([`smoke`]). A library
//! can also run in a process of its own ([`host`]: process isolation).

pub mod elf;
pub mod host;
pub mod library;
pub mod registry;
pub mod smoke;
pub mod watchdog;

pub use registry::{LoadedModel, PluginRegistry};
