//! The `canalys` plugin: the model of `stratus-canalys-model` (damped-trend
//! exponential smoothing on log values, with an AI-adoption uplift) behind
//! the plugin entry point. The model lives in its own crate so that `auto`
//! can combine it without linking a second entry point.

pub use stratus_canalys_model::*;

#[cfg(feature = "export")]
stratus_plugin::export!(forecast: Canalys);
