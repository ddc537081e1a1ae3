//! Conformal prediction intervals for any model: the model is run at rolling
//! origins over the series' own history, and each level's interval at step
//! h is set from the empirical distribution of its errors at that step, so a
//! model author gets calibrated intervals without writing interval code.
//!
//! Errors are relative (differences of logs) when the series and every
//! forecast are positive, so intervals scale with the level and stay
//! positive; absolute otherwise. A level's half-width at step h is the
//! finite-sample conformal quantile of the absolute errors at that step
//! (rank ⌈(n+1)·p⌉ of n). Where a step has too few errors for a level, the
//! errors of all steps are pooled after dividing each by √step, and scaled
//! back by √h; where even the pool is too small, the level is marked capped
//! and the caller keeps the model's own interval for it (the note says so). Widths
//! are made non-decreasing in the horizon and nested across levels.

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
    /// Levels with too few errors to calibrate (the caller keeps the model's
    /// own interval for them).
    capped: Vec<bool>,
    log_scale: bool,
    /// What was done, for the response's notes.
    pub notes: Vec<String>,
}

/// Fewest errors a calibration needs at all.
pub const MIN_ERRORS: usize = 2;

/// Calibrates `levels` (percent, ascending) for `horizon` steps from the
/// origins' forecasts of `values`; `None` (with the reason) when the origins
/// give fewer than [`MIN_ERRORS`] errors.
pub fn calibrate(
    values: &[f64],
    origins: &[OriginForecast],
    horizon: usize,
    levels: &[f64],
    final_means: &[f64],
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
    let mut pooled: Vec<f64> = by_step
        .iter()
        .enumerate()
        .flat_map(|(s, errors)| {
            let scale = ((s + 1) as f64).sqrt();
            errors.iter().map(move |e| e / scale)
        })
        .collect();
    pooled.sort_by(f64::total_cmp);
    for errors in &mut by_step {
        errors.sort_by(f64::total_cmp);
    }

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
    let mut pooled_steps = false;
    let mut half_widths = Vec::with_capacity(levels.len());
    let mut capped_levels = Vec::with_capacity(levels.len());
    for &level in levels {
        let p = level / 100.0;
        let mut widths = Vec::with_capacity(horizon);
        let mut capped = false;
        for (s, errors) in by_step.iter().enumerate() {
            let root_h = ((s + 1) as f64).sqrt();
            let width = match quantile(errors, p) {
                Some(q) => q,
                None => {
                    pooled_steps = true;
                    match quantile(&pooled, p) {
                        Some(q) => q * root_h,
                        None => {
                            capped = true;
                            pooled.last().copied().unwrap_or(0.0) * root_h
                        }
                    }
                }
            };
            widths.push(width);
        }
        // Non-decreasing in the horizon.
        for s in 1..widths.len() {
            widths[s] = widths[s].max(widths[s - 1]);
        }
        if capped {
            notes.push(format!(
                "{level}%: too few errors for a calibrated {level}% interval ({} pooled; {} are needed), so the model's own {level}% interval is kept.",
                pooled.len(),
                needed(p),
            ));
        }
        capped_levels.push(capped);
        half_widths.push(widths);
    }
    if pooled_steps {
        notes.push(
            "Steps with too few errors of their own use all steps' errors pooled (each divided by √step) and scaled by √h."
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
        capped: capped_levels,
        log_scale,
        notes,
    })
}

impl Calibration {
    /// Whether level number `level` had too few errors to calibrate.
    pub fn capped(&self, level: usize) -> bool {
        self.capped.get(level).copied().unwrap_or(true)
    }

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

/// The conformal quantile: rank ⌈(n+1)·p⌉ of the sorted values, if n is
/// large enough for it.
fn quantile(sorted: &[f64], p: f64) -> Option<f64> {
    let n = sorted.len();
    let rank = ((n + 1) as f64 * p).ceil() as usize;
    (n > 0 && rank >= 1 && rank <= n).then(|| sorted[rank - 1])
}

/// Errors needed for a calibrated level `p`: the smallest n with
/// ⌈(n+1)·p⌉ ≤ n.
fn needed(p: f64) -> usize {
    (1..10_000)
        .find(|&n| ((n + 1) as f64 * p).ceil() as usize <= n)
        .unwrap_or(10_000)
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
        let calibration = calibrate(&values, &origins, 4, &[80.0, 95.0], &[100.0; 4]).unwrap();
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
    fn the_quantile_is_the_conformal_rank() {
        // 19 errors: the 95% quantile is rank ceil(20 * 0.95) = 19, the max.
        let sorted: Vec<f64> = (1..=19).map(f64::from).collect();
        assert_eq!(quantile(&sorted, 0.95), Some(19.0));
        assert_eq!(quantile(&sorted[..18], 0.95), None);
        assert_eq!(quantile(&sorted, 0.5), Some(10.0));
        assert_eq!(needed(0.95), 19);
        assert_eq!(needed(0.8), 4);
    }

    #[test]
    fn a_short_history_pools_steps_and_says_what_it_did() {
        let values = [10.0, 11.0, 13.0, 12.0, 15.0, 16.0];
        let origins = naive_origins(&values, 2, 3);
        let calibration = calibrate(&values, &origins, 2, &[80.0, 95.0], &[16.0, 16.0]).unwrap();
        let notes = calibration.notes.join(" ");
        assert!(notes.contains("pooled"), "{notes}");
        assert!(notes.contains("95%: too few errors"), "{notes}");
        assert!(calibration.capped(1) && !calibration.capped(0));
        let (lo, hi) = calibration.interval(1, 2, 16.0);
        assert!(lo > 0.0 && lo < 16.0 && hi > 16.0);
        assert!(calibrate(&values, &origins[..0], 2, &[80.0], &[16.0, 16.0]).is_err());
    }
}
