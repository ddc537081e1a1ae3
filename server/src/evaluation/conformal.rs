//! Conformal prediction intervals for any model: the model is run at rolling
//! origins over the series' own history, and each level's interval at step
//! h is set from the distribution of its errors at that step, so a model
//! author gets calibrated intervals without writing interval code.
//!
//! Errors are relative (differences of logs) when the series and every
//! forecast are positive, so intervals scale with the level and stay
//! positive; absolute otherwise.
//!
//! A level's half-width at step h is the finite-sample conformal quantile of
//! the absolute errors at that step (rank ⌈(k+1)·p⌉ of k) when that rank
//! falls below the largest error. When it does not (a 95% interval from
//! fewer than 39 errors, an 80% one from fewer than 9), the errors cannot
//! rank the level: the largest of k errors is not an estimate of a
//! quantile beyond it, and on M1 (`bench/accuracy.py`) taking it covered 90%
//! of outcomes where 95% were promised. There the width is a Student-t
//! quantile (k − 1 degrees of freedom) of the errors' root mean square,
//! never narrower than the largest error nor than the model's own interval
//! (which may know of uncertainty a short history does not show). A step
//! with fewer than three errors uses all steps' errors pooled, each divided
//! by √step, scaled back by √h. Widths are made non-decreasing in the
//! horizon and nested across levels; the notes say what was done.

use statrs::distribution::{ContinuousCDF, StudentsT};

/// A model's forecast from one calibration origin.
#[derive(Debug, Clone)]
pub struct OriginForecast {
    /// Observations it was trained on (the first `train` of the series).
    pub train: usize,
    /// Its forecast means, steps 1.. (as many as were asked).
    pub means: Vec<f64>,
}

/// Half-widths per level and step, and how they were found.
#[derive(Debug, Clone)]
pub struct Calibration {
    /// `[level][step]`: half-width on the log scale or the value scale.
    half_widths: Vec<Vec<f64>>,
    log_scale: bool,
    /// What was done, for the response's notes.
    pub notes: Vec<String>,
}

/// The widest half-width on the log scale: a factor of 10 either side of
/// the forecast, as the bundled log-scale models cap theirs. A few wild
/// early observations (a series starting at 5 and at 8,536 a year later)
/// otherwise give bounds billions of times the series' level.
const MAX_LOG_HALF_WIDTH: f64 = std::f64::consts::LN_10;

/// Fewest errors a calibration needs at all.
pub const MIN_ERRORS: usize = 2;
/// Fewest errors at a step for its own root mean square to be used.
const MIN_STEP_ERRORS: usize = 3;

/// Calibrates `levels` (percent, ascending) for `horizon` steps from the
/// origins' forecasts of `values`. `final_means` is the forecast being
/// calibrated and `own[step][level]` the model's own (lower, upper) bounds
/// of it, the floor where the errors cannot rank a level. Errs (with the
/// reason) when the origins give fewer than [`MIN_ERRORS`] errors.
pub fn calibrate(
    values: &[f64],
    origins: &[OriginForecast],
    horizon: usize,
    levels: &[f64],
    final_means: &[f64],
    own: &[Vec<(f64, f64)>],
) -> Result<Calibration, String> {
    let log_scale = values.iter().all(|&v| v > 0.0)
        && final_means.iter().all(|&m| m > 0.0)
        && origins.iter().all(|o| o.means.iter().all(|&m| m > 0.0));
    // Absolute errors by step (index h-1).
    let mut by_step: Vec<Vec<f64>> = vec![Vec::new(); horizon];
    for origin in origins {
        for (s, &mean) in origin.means.iter().enumerate().take(horizon) {
            let Some(&actual) = values.get(origin.train + s) else {
                break;
            };
            let error = if log_scale {
                (actual.ln() - mean.ln()).abs()
            } else {
                (actual - mean).abs()
            };
            if error.is_finite() {
                by_step[s].push(error);
            }
        }
    }
    let total: usize = by_step.iter().map(Vec::len).sum();
    if total < MIN_ERRORS {
        return Err(format!(
            "{} calibration origins gave {total} forecast errors (at least {MIN_ERRORS} are needed)",
            origins.len()
        ));
    }
    let pooled: Vec<f64> = by_step
        .iter()
        .enumerate()
        .flat_map(|(s, errors)| {
            let scale = ((s + 1) as f64).sqrt();
            errors.iter().map(move |e| e / scale)
        })
        .collect();
    for errors in &mut by_step {
        errors.sort_by(f64::total_cmp);
    }
    let own_width = |step: usize, level: usize| -> f64 {
        let Some(&(lower, upper)) = own.get(step).and_then(|l| l.get(level)) else {
            return 0.0;
        };
        let mean = final_means.get(step).copied().unwrap_or(f64::NAN);
        let width = if log_scale {
            let above = (upper / mean).ln();
            let below = if lower > 0.0 {
                (mean / lower).ln()
            } else {
                0.0
            };
            above.max(below)
        } else {
            (upper - mean).max(mean - lower)
        };
        if width.is_finite() {
            width.max(0.0)
        } else {
            0.0
        }
    };

    let mut notes = vec![format!(
        "Intervals: conformal, from the model's {} errors at {} rolling origins over this series' own history ({}).",
        total,
        origins.len(),
        if log_scale {
            "relative errors, on the log scale"
        } else {
            "absolute errors"
        }
    )];
    let (mut beyond_rank, mut pooled_steps, mut capped) = (false, false, false);
    let mut half_widths = Vec::with_capacity(levels.len());
    for (l, &level) in levels.iter().enumerate() {
        let p = level / 100.0;
        // The pooled errors' width is the same at every step that needs it.
        let pooled_width = std::cell::OnceCell::new();
        let mut widths = Vec::with_capacity(horizon);
        for (s, errors) in by_step.iter().enumerate() {
            let width = match ranked(errors, p) {
                Some(q) => q,
                None => {
                    beyond_rank = true;
                    let root_h = ((s + 1) as f64).sqrt();
                    let studentized = if errors.len() >= MIN_STEP_ERRORS {
                        student(errors, p)
                    } else {
                        pooled_steps = true;
                        *pooled_width.get_or_init(|| student(&pooled, p)) * root_h
                    };
                    let largest = errors.last().copied().unwrap_or(0.0);
                    studentized.max(largest).max(own_width(s, l))
                }
            };
            widths.push(width);
        }
        // Non-decreasing in the horizon.
        for s in 1..widths.len() {
            widths[s] = widths[s].max(widths[s - 1]);
        }
        if log_scale && widths.iter().any(|&w| w > MAX_LOG_HALF_WIDTH) {
            capped = true;
            widths
                .iter_mut()
                .for_each(|w| *w = w.min(MAX_LOG_HALF_WIDTH));
        }
        half_widths.push(widths);
    }
    if beyond_rank {
        notes.push(
            "Where too few errors rank a level at a step (the conformal rank would be the largest error), the width is \
             a Student-t quantile of the errors' root mean square, never narrower than the largest error or the \
             model's own interval."
                .into(),
        );
    }
    if pooled_steps {
        notes.push(
            "Steps with fewer than three errors of their own use all steps' errors pooled (each divided by √step) and scaled by √h."
                .into(),
        );
    }
    if capped {
        notes.push(
            "Some relative errors in this history were so large that a bound past a factor of 10 from the forecast \
             would follow; such bounds say only that anything can happen, and were capped at that factor."
                .into(),
        );
    }
    // Nested: a wider level is never narrower.
    for l in 1..half_widths.len() {
        let (narrower, wider) = half_widths.split_at_mut(l);
        let narrower = &narrower[l - 1];
        for (width, floor) in wider[0].iter_mut().zip(narrower) {
            *width = width.max(*floor);
        }
    }
    Ok(Calibration {
        half_widths,
        log_scale,
        notes,
    })
}

impl Calibration {
    /// The interval of level number `level` (in the calibrated order) at
    /// step `step` (1-based) around `mean`.
    pub fn interval(&self, level: usize, step: usize, mean: f64) -> (f64, f64) {
        let width = self
            .half_widths
            .get(level)
            .and_then(|w| w.get(step.saturating_sub(1)))
            .copied()
            .unwrap_or(f64::NAN);
        if self.log_scale {
            (mean * (-width).exp(), mean * width.exp())
        } else {
            (mean - width, mean + width)
        }
    }
}

/// The conformal quantile of the sorted errors (rank ⌈(k+1)·p⌉), when that
/// rank is below the largest error.
fn ranked(sorted: &[f64], p: f64) -> Option<f64> {
    let k = sorted.len();
    let rank = ((k + 1) as f64 * p).ceil() as usize;
    (rank >= 1 && rank < k).then(|| sorted[rank - 1])
}

/// The central `p` quantile of a Student-t with k − 1 degrees of freedom
/// times the root mean square of the `errors` (two or more); 0 with fewer.
fn student(errors: &[f64], p: f64) -> f64 {
    let k = errors.len();
    if k < 2 {
        return 0.0;
    }
    let rms = (errors.iter().map(|e| e * e).sum::<f64>() / k as f64).sqrt();
    let quantile = StudentsT::new(0.0, 1.0, (k - 1) as f64)
        .map(|t| t.inverse_cdf(0.5 + p / 2.0))
        .unwrap_or(f64::NAN);
    quantile * rms
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A series with noise, and origins that forecast its last value.
    fn naive_origins(values: &[f64], horizon: usize, count: usize) -> Vec<OriginForecast> {
        (values.len() - count..values.len())
            .map(|train| OriginForecast {
                train,
                means: vec![values[train - 1]; horizon],
            })
            .collect()
    }

    #[test]
    fn intervals_nest_and_widen_with_the_horizon() {
        let values: Vec<f64> = (0..40)
            .map(|i| 100.0 + 10.0 * ((i * 7 % 11) as f64 - 5.0))
            .collect();
        let origins = naive_origins(&values, 4, 24);
        let calibration = calibrate(&values, &origins, 4, &[80.0, 95.0], &[100.0; 4], &[]).unwrap();
        let mut previous = (f64::INFINITY, f64::NEG_INFINITY);
        for step in 1..=4 {
            let (lo80, hi80) = calibration.interval(0, step, 100.0);
            let (lo95, hi95) = calibration.interval(1, step, 100.0);
            assert!(lo95 <= lo80 && lo80 < 100.0 && 100.0 < hi80 && hi80 <= hi95);
            assert!(lo95 <= previous.0 && hi95 >= previous.1, "widens with h");
            previous = (lo95, hi95);
        }
    }

    #[test]
    fn a_level_the_errors_rank_is_their_conformal_quantile() {
        // 19 errors: the 80% rank is ceil(20 * 0.8) = 16, below the largest.
        let sorted: Vec<f64> = (1..=19).map(f64::from).collect();
        assert_eq!(ranked(&sorted, 0.8), Some(16.0));
        assert_eq!(ranked(&sorted, 0.5), Some(10.0));
        // The 95% rank would be the largest: not an estimate.
        assert_eq!(ranked(&sorted, 0.95), None);
        assert_eq!(
            ranked(&(1..=39).map(f64::from).collect::<Vec<_>>(), 0.95),
            Some(38.0)
        );
    }

    #[test]
    fn beyond_the_ranks_the_width_is_studentized_and_never_below_the_largest_error() {
        // Errors 1..=10: RMS = sqrt(38.5) = 6.205; t(9) at 0.975 = 2.262.
        let errors: Vec<f64> = (1..=10).map(f64::from).collect();
        let width = student(&errors, 0.95);
        assert!((width - 2.262_157 * 38.5f64.sqrt()).abs() < 1e-3, "{width}");
        assert!(width > 10.0);
        // One huge error and small ones: the largest error is the floor.
        let skewed = [0.1, 0.1, 0.1, 0.1, 50.0];
        let values: Vec<f64> = vec![-1.0; 12];
        let origins: Vec<OriginForecast> = skewed
            .iter()
            .enumerate()
            .map(|(i, e)| OriginForecast {
                train: 6 + i,
                means: vec![-1.0 - e],
            })
            .collect();
        let calibration = calibrate(&values, &origins, 1, &[95.0], &[0.0], &[]).unwrap();
        let (lo, hi) = calibration.interval(0, 1, 0.0);
        assert!(hi >= 50.0 && lo <= -50.0, "{lo} {hi}");
    }

    #[test]
    fn a_short_history_pools_steps_keeps_the_models_width_as_a_floor_and_says_so() {
        let values = [10.0, 11.0, 13.0, 12.0, 15.0, 16.0];
        let origins = naive_origins(&values, 2, 3);
        // The model's own 95% interval at step 2 is very wide.
        let own = vec![
            vec![(14.0, 18.0), (12.0, 21.0)],
            vec![(13.0, 19.0), (2.0, 128.0)],
        ];
        let calibration =
            calibrate(&values, &origins, 2, &[80.0, 95.0], &[16.0, 16.0], &own).unwrap();
        let notes = calibration.notes.join(" ");
        assert!(notes.contains("pooled"), "{notes}");
        assert!(notes.contains("Student-t"), "{notes}");
        let (lo, hi) = calibration.interval(1, 2, 16.0);
        assert!(
            (hi - 128.0).abs() < 1e-9 && (lo - 2.0).abs() < 1e-9,
            "{lo} {hi}"
        );
        assert!(calibrate(&values, &origins[..0], 2, &[80.0], &[16.0, 16.0], &[]).is_err());
    }
}
