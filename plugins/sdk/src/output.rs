//! Building a model's answer: prediction intervals for each requested level,
//! and the check a model runs on its own answer before returning it.
//!
//! A model's arithmetic can leave the range of `f64` on input the server
//! accepts (every value is bounded, but a series that swings by a factor of
//! 1e200 between periods has a log-volatility whose 99.9999% interval is
//! `exp(1000)`). That is the request's doing, not the model's: it must reach
//! the caller as `INVALID_ARGUMENT` saying what to change, not as a model
//! failure counted against the model.

use crate::{ModelError, stats, wire};

/// One interval per level, in the order given: `centre ± half_width(level)`,
/// each bound then mapped through `back` (the identity for a model that
/// works on the data's own scale, `f64::exp` for one that works on logs).
pub fn intervals(
    levels: &[f64],
    centre: f64,
    half_width: impl Fn(f64) -> f64,
    back: impl Fn(f64) -> f64,
) -> Vec<wire::Interval> {
    levels
        .iter()
        .map(|&level| {
            let half = half_width(level);
            wire::Interval {
                level,
                lower: back(centre - half),
                upper: back(centre + half),
            }
        })
        .collect()
}

/// The widest a log-scale interval gets: a factor of 10 either side of the
/// median. Past that, a log-scale model's widths (which a handful of wild
/// observations can make astronomical) say only "anything can happen", and
/// a bound a billion times the series' level misleads more than it informs;
/// a model that caps should say so in its notes.
pub const MAX_LOG_HALF_WIDTH: f64 = std::f64::consts::LN_10;

/// Caps log-scale half-widths at [`MAX_LOG_HALF_WIDTH`] and remembers
/// whether it had to, so the model can say so in its notes.
#[derive(Debug, Default)]
pub struct LogWidthCap {
    hit: std::cell::Cell<bool>,
}

impl LogWidthCap {
    /// `half` (a half-width on the log scale), at most the cap.
    pub fn apply(&self, half: f64) -> f64 {
        if half > MAX_LOG_HALF_WIDTH {
            self.hit.set(true);
            MAX_LOG_HALF_WIDTH
        } else {
            half
        }
    }

    /// The note to add when some width was capped.
    pub fn note(&self) -> Option<String> {
        self.hit.get().then(|| {
            format!(
                "The series is too volatile on the log scale for the widest intervals to mean anything; they were \
                 capped at a factor of {:.0} either side of the forecast.",
                MAX_LOG_HALF_WIDTH.exp()
            )
        })
    }
}

/// Normal intervals: `mean ± z(level) · sd`.
pub fn normal_intervals(levels: &[f64], mean: f64, sd: f64) -> Vec<wire::Interval> {
    intervals(levels, mean, |level| stats::central_z(level) * sd, |x| x)
}

/// Log-normal intervals around `median`: `median · exp(± z(level) · log_sd)`,
/// for a model whose errors are relative (they never cross zero).
pub fn log_normal_intervals(levels: &[f64], median: f64, log_sd: f64) -> Vec<wire::Interval> {
    intervals(
        levels,
        median.ln(),
        |level| stats::central_z(level) * log_sd,
        f64::exp,
    )
}

/// `Ok` if every mean and interval bound in `output` is finite; otherwise an
/// invalid-argument error on `series.observations` naming the step and level
/// that overflowed and what the caller can do.
pub fn ensure_representable(output: &wire::ForecastOutput) -> Result<(), ModelError> {
    let paths = std::iter::once(("the forecast", &output.points)).chain(
        output
            .scenarios
            .iter()
            .map(|s| (s.name.as_str(), &s.points)),
    );
    for (path, points) in paths {
        for (step, point) in points.iter().enumerate() {
            let step = step + 1;
            if !point.mean.is_finite() {
                return Err(out_of_range(format!("{path}'s mean at step {step}")));
            }
            if let Some(interval) = point
                .intervals
                .iter()
                .find(|i| !(i.lower.is_finite() && i.upper.is_finite()))
            {
                return Err(out_of_range(format!(
                    "{path}'s {}% interval at step {step}",
                    interval.level
                )));
            }
        }
    }
    Ok(())
}

fn out_of_range(what: String) -> ModelError {
    ModelError::invalid(
        "series.observations",
        format!(
            "the series swings so widely that {what} is beyond the range of a double; \
             ask for a shorter horizon or a lower level, or check the series' units"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_cap_bounds_widths_and_says_so_only_when_it_bound() {
        let cap = LogWidthCap::default();
        assert_eq!(cap.apply(0.5), 0.5);
        assert!(cap.note().is_none());
        assert_eq!(cap.apply(9.0), MAX_LOG_HALF_WIDTH);
        assert!(cap.note().is_some_and(|n| n.contains("factor of 10")));
    }

    #[test]
    fn intervals_follow_the_levels_and_nest() {
        let normal = normal_intervals(&[80.0, 95.0], 100.0, 10.0);
        assert_eq!(normal[0].level, 80.0);
        assert!((normal[1].upper - 119.599_64).abs() < 1e-3);
        assert!((normal[1].lower - 80.400_36).abs() < 1e-3);
        assert!(normal[1].lower < normal[0].lower && normal[0].upper < normal[1].upper);

        let relative = log_normal_intervals(&[95.0], 100.0, 0.1);
        assert!((relative[0].upper - 100.0 * (1.959_964f64 * 0.1).exp()).abs() < 1e-3);
        assert!((relative[0].lower * relative[0].upper - 100.0 * 100.0).abs() < 1e-6);
    }

    fn point(mean: f64, upper: f64) -> wire::ForecastPoint {
        wire::ForecastPoint {
            mean,
            growth: 0.0,
            intervals: vec![wire::Interval {
                level: 95.0,
                lower: 0.0,
                upper,
            }],
        }
    }

    #[test]
    fn finite_answers_pass_and_overflow_names_step_and_level() {
        let mut output = wire::ForecastOutput {
            points: vec![point(1.0, 2.0), point(1.0, f64::INFINITY)],
            ..Default::default()
        };
        let error = ensure_representable(&output).unwrap_err();
        assert_eq!(error.code, crate::ErrorCode::InvalidArgument);
        assert_eq!(error.field, "series.observations");
        assert!(
            error.message.contains("95% interval at step 2"),
            "{}",
            error.message
        );
        output.points[1] = point(1.0, 3.0);
        assert!(ensure_representable(&output).is_ok());
    }
}
