//! Series and interval levels: the shape every model may assume (a known
//! frequency, consecutive labels of that frequency, oldest first, finite
//! values of bounded magnitude) and coverages a normal quantile exists for.

use stratus_proto::mapping::frequency_to_wire;
use stratus_proto::v1::Series;
use stratus_series::{Cadence, Period};

use super::DEFAULT_LEVELS;
use super::sizes::{at_most, string_within};
use crate::error::{ApiError, Checked, FieldViolation, Violations};
use crate::limits::{Limits, MAX_ABS_VALUE, MAX_LEVEL, shown};

/// What a usable series looks like: its cadence and its last period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SeriesShape {
    /// How often it is observed.
    pub cadence: Cadence,
    /// The period of its last observation (forecast labels follow it).
    pub last: Period,
}

/// Checks a series at field path `name`, recording each problem (at most
/// ten per series) in `violations`; its shape when it is usable. Over-limit
/// series fail at once (the outer `Err`): their size is the problem, not a
/// field.
pub(crate) fn check_series(
    series: &Series,
    name: &str,
    limits: Limits,
    violations: &mut Violations,
) -> Result<Checked<SeriesShape>, ApiError> {
    const MAX_REPORTED: usize = 10;
    let observations = &series.observations;
    let path = |part: &str| format!("{name}.{part}");
    at_most(
        observations.len(),
        limits.max_observations,
        "observations",
        "--max-observations",
        || path("observations"),
    )?;
    string_within(&series.name, limits, || path("name"))?;
    string_within(&series.unit, limits, || path("unit"))?;
    let start = violations.len();
    let Ok(cadence) = Cadence::try_from(frequency_to_wire(series.frequency)) else {
        return Ok(Err(violations.reject(FieldViolation::new(
            path("frequency"),
            "must be FREQUENCY_ANNUAL, FREQUENCY_QUARTERLY or FREQUENCY_MONTHLY",
        ))));
    };
    if observations.is_empty() {
        return Ok(Err(violations.reject(FieldViolation::new(
            path("observations"),
            "must not be empty",
        ))));
    }
    let mut previous: Option<Period> = None;
    // Set by every problem recorded for this series: the proof that it is
    // unusable for a reason the caller is told.
    let mut rejected = None;
    for (i, observation) in observations.iter().enumerate() {
        if violations.len() - start >= MAX_REPORTED {
            break;
        }
        let at = |part: &str| format!("{name}.observations[{i}].{part}");
        string_within(&observation.period, limits, || at("period"))?;
        if !observation.value.is_finite() {
            rejected = Some(violations.reject(FieldViolation::new(
                at("value"),
                format!("{} is not a finite number", observation.value),
            )));
        } else if observation.value.abs() > MAX_ABS_VALUE {
            rejected = Some(violations.reject(FieldViolation::new(
                at("value"),
                format!(
                    "{:e} is beyond the accepted magnitude of {MAX_ABS_VALUE:e}; rescale the series (e.g. report in billions)",
                    observation.value
                ),
            )));
        }
        let Some(period) = cadence.parse(&observation.period) else {
            rejected = Some(violations.reject(FieldViolation::new(
                at("period"),
                format!(
                    "'{}' is not a {cadence} period ({})",
                    shown(&observation.period),
                    cadence.format_hint()
                ),
            )));
            previous = None;
            continue;
        };
        if let Some(previous) = previous {
            let problem = if period == previous {
                Some(format!("{period} repeats the previous period"))
            } else if period < previous {
                Some(format!(
                    "{period} comes before {previous}; periods must be oldest first"
                ))
            } else if !previous.is_followed_by(period) {
                Some(format!(
                    "{period} does not directly follow {previous}; periods must be consecutive"
                ))
            } else {
                None
            };
            if let Some(problem) = problem {
                rejected = Some(violations.reject(FieldViolation::new(at("period"), problem)));
            }
        }
        previous = Some(period);
    }
    Ok(match (rejected, previous) {
        (Some(rejected), _) => Err(rejected),
        (None, Some(last)) => Ok(SeriesShape { cadence, last }),
        // Unreachable by construction (a label that does not parse records
        // why), but an unusable series must still say so.
        (None, None) => Err(violations.reject(FieldViolation::new(
            path("observations"),
            "has no usable period",
        ))),
    })
}

/// The requested interval levels, sorted and deduplicated ([`DEFAULT_LEVELS`]
/// when none are given); each bad one is recorded at `name[i]`.
pub(crate) fn check_levels(levels: &[f64], name: &str, violations: &mut Violations) -> Vec<f64> {
    if levels.is_empty() {
        return DEFAULT_LEVELS.to_vec();
    }
    let mut valid = Vec::with_capacity(levels.len());
    for (i, &level) in levels.iter().enumerate() {
        if level.is_finite() && level > 0.0 && level <= MAX_LEVEL {
            valid.push(level);
        } else {
            violations.push(FieldViolation::new(
                format!("{name}[{i}]"),
                format!(
                    "{level} is not a coverage in percent above 0 and at most {MAX_LEVEL} (wider intervals are unbounded)"
                ),
            ));
        }
    }
    valid.sort_by(f64::total_cmp);
    valid.dedup();
    valid
}
