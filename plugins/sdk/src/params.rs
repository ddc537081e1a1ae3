//! Declared parameters, written once: the same constant gives the model's
//! description its `ParamSpec` and reads the value from a call's input.
//!
//! ```
//! use stratus_plugin::params::Param;
//!
//! const DRIFT: Param = Param::new(
//!     "drift",
//!     "1 continues the average step; 0 holds the last value flat.",
//!     1.0,
//!     0.0,
//!     1.0,
//! );
//! let spec = DRIFT.spec(); // goes in ModelDescription.params
//! assert_eq!(spec.default_value, 1.0);
//! let params = std::collections::HashMap::from([("drift".to_owned(), 0.5)]);
//! assert_eq!(DRIFT.read(&params), 0.5);
//! assert_eq!(DRIFT.read(&Default::default()), 1.0);
//! ```
//!
//! The server fills every declared parameter in before the model is called,
//! so `read` finds the value; the declared default is what it falls back to
//! when a model is called directly (its tests, benchmarks), and it can no
//! longer disagree with the default the server applies.

use std::collections::HashMap;

use crate::wire;

/// A parameter (or, for a risk model, an indicator) a model declares.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Param {
    /// The key in `params` (or `indicators`).
    pub name: &'static str,
    /// What it does, for `ListModels`.
    pub description: &'static str,
    /// The value used when the caller gives none.
    pub default: f64,
    /// The smallest accepted value.
    pub min: f64,
    /// The largest accepted value.
    pub max: f64,
}

impl Param {
    /// A declaration; `min <= default <= max` (the server refuses a library
    /// whose description breaks this).
    pub const fn new(
        name: &'static str,
        description: &'static str,
        default: f64,
        min: f64,
        max: f64,
    ) -> Self {
        Self {
            name,
            description,
            default,
            min,
            max,
        }
    }

    /// The declaration as it goes in a `ModelDescription`.
    pub fn spec(&self) -> wire::ParamSpec {
        wire::ParamSpec {
            name: self.name.to_owned(),
            description: self.description.to_owned(),
            default_value: self.default,
            min: self.min,
            max: self.max,
        }
    }

    /// The value in a call's `params`, or the declared default.
    pub fn read(&self, params: &HashMap<String, f64>) -> f64 {
        params.get(self.name).copied().unwrap_or(self.default)
    }
}
