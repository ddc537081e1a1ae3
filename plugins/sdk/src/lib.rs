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
//!
//! The boundary itself (table, wire messages, role names) lives in the
//! `stratus-plugin-abi` crate, re-exported here as [`abi`] and [`wire`]; the
//! server depends on that crate alone. Period labels, growth and the
//! seasonality test come from `stratus-series`, which the server uses too, so
//! a model reads labels and quotes growth exactly as the server does.

mod error;
#[doc(hidden)]
pub mod export;
pub mod input;
mod model;
pub mod output;
pub mod params;
pub mod stats;

pub use error::{ErrorCode, ModelError};
pub use model::{ForecastModel, Model, RiskModel};
/// The plugin boundary: the C table, entry symbol, versions and role names.
pub use stratus_plugin_abi as abi;
/// The messages that cross the plugin boundary (package `stratus.plugin.v1`).
pub use stratus_plugin_abi::wire;
/// Period labels and frequencies, as the server writes and checks them.
pub use stratus_series::period;
pub use stratus_series::{Cadence, Period, growth, seasonal};

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
