//! What the server and the models must agree on about a series, beyond the
//! wire format: how period labels are spelled and counted, how growth is
//! quoted, and when a series counts as seasonal.
//!
//! The host uses these to validate requests, label forecasts and compute its
//! Naive2 baseline; the SDK re-exports them for models. One definition means a
//! label the server accepts is a label every model can read, and the server's
//! benchmark deseasonalises exactly as a model that uses the same test.
//! Nothing here allocates more than its output or depends on a statistics
//! library.

pub mod growth;
pub mod period;
pub mod seasonal;

pub use period::{Cadence, Period};

/// The arithmetic mean; NaN for no values.
pub fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        f64::NAN
    } else {
        values.iter().sum::<f64>() / values.len() as f64
    }
}
