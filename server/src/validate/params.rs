//! Parameters and indicators: each name must be declared by the model, each
//! value finite and within the declared range; undeclared defaults are
//! filled in so a model always sees every parameter it declares.

use std::collections::{BTreeSet, HashMap};

use stratus_plugin_abi::wire;

use crate::error::{FieldViolation, Violations};
use crate::limits::shown;

/// The model's parameters for a call: every declared one, at the caller's
/// value or its default. Each unknown name and out-of-range value is
/// recorded at `field[name]`.
pub(crate) fn check_params(
    given: &HashMap<String, f64>,
    specs: &[wire::ParamSpec],
    field: &str,
    violations: &mut Violations,
) -> HashMap<String, f64> {
    for (name, value) in sorted(given) {
        let at = format!("{field}[{}]", shown(name));
        match specs.iter().find(|spec| &spec.name == name) {
            None => violations.push(FieldViolation::new(
                at,
                if specs.is_empty() {
                    "this model takes no parameters".to_owned()
                } else {
                    format!("unknown parameter; this model accepts: {}", names(specs))
                },
            )),
            Some(spec) => check_value(*value, spec, &at, violations),
        }
    }
    specs
        .iter()
        .map(|spec| {
            (
                spec.name.clone(),
                given.get(&spec.name).copied().unwrap_or(spec.default_value),
            )
        })
        .collect()
}

/// Records a non-finite value, or one outside `spec`'s range, at `field`.
pub(crate) fn check_value(
    value: f64,
    spec: &wire::ParamSpec,
    field: &str,
    violations: &mut Violations,
) {
    if !value.is_finite() {
        violations.push(FieldViolation::new(
            field,
            format!("{value} is not a finite number"),
        ));
    } else if value < spec.min || value > spec.max {
        violations.push(FieldViolation::new(
            field,
            format!(
                "{value} is outside the accepted range [{}, {}]",
                spec.min, spec.max
            ),
        ));
    }
}

/// The declared names, comma-separated, for messages.
pub(super) fn names(specs: &[wire::ParamSpec]) -> String {
    specs
        .iter()
        .map(|s| s.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Map entries in name order, so messages are deterministic.
pub(crate) fn sorted<V>(map: &HashMap<String, V>) -> Vec<(&String, &V)> {
    let order: BTreeSet<&String> = map.keys().collect();
    order
        .into_iter()
        .filter_map(|k| map.get_key_value(k))
        .collect()
}
