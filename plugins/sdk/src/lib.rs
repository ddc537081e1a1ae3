//! The Stratus plugin SDK: write a model as plain Rust, export it as a plugin.
//!
//! A model crate implements [`ForecastModel`] or [`RiskModel`] on a type that
//! is `Default`, builds as `cdylib` (plus `rlib`, so it can be tested and
//! benchmarked without any FFI), and adds one line:
//!
//! ```ignore
//! stratus_plugin::export!(forecast: MyModel);
//! ```
//!
//! The macro emits the C entry point [`abi::ENTRY_SYMBOL`] returning the v1
//! table ([`abi::PluginApiV1`]). Requests and responses cross the boundary as
//! protobuf bytes of the [`wire`] messages; panics are caught at the boundary
//! and returned as errors; buffers the plugin hands out are freed by the
//! plugin's own `free_buf`. See ARCHITECTURE.md for the full contract.

pub mod abi;
mod error;
#[doc(hidden)]
pub mod export;
pub mod growth;
pub mod input;
mod model;
pub mod output;
pub mod seasonal;
pub mod stats;

pub use error::{ErrorCode, ModelError};
pub use model::{ForecastModel, Model, RiskModel};

/// The messages that cross the plugin boundary (package `stratus.plugin.v1`).
pub use stratus_proto::plugin::v1 as wire;

/// Builds a [`wire::ParamSpec`]: a parameter or indicator a model declares.
pub fn param(
    name: &str,
    description: &str,
    default_value: f64,
    min: f64,
    max: f64,
) -> wire::ParamSpec {
    wire::ParamSpec {
        name: name.to_owned(),
        description: description.to_owned(),
        default_value,
        min,
        max,
    }
}
