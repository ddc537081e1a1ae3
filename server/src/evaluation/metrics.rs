//! Forecast accuracy metrics as the M4 competition defined them: sMAPE,
//! MASE, the mean scaled interval score (MSIS) and interval coverage, for one
//! forecast origin. Averages over origins and OWA are the backtest's.

/// Symmetric MAPE in percent: `200/h · Σ |y − f| / (|y| + |f|)`; a step where
/// both are 0 counts as a perfect forecast.
pub fn smape(actuals: &[f64], forecasts: &[f64]) -> f64 {
    let terms: Vec<f64> = actuals
        .iter()
        .zip(forecasts)
        .map(|(&y, &f)| {
            let denominator = y.abs() + f.abs();
            if denominator == 0.0 {
                0.0
            } else {
                (y - f).abs() / denominator
            }
        })
        .collect();
    200.0 * mean(&terms)
}

/// The MASE scale of a training series: the mean absolute difference at lag
/// `m` (1 annual, 4 quarterly, 12 monthly). `None` if the series is not
/// longer than `m`; 0 for a series that repeats itself exactly.
pub fn seasonal_scale(train: &[f64], m: usize) -> Option<f64> {
    let m = m.max(1);
    if train.len() <= m {
        return None;
    }
    let differences: Vec<f64> = train.windows(m + 1).map(|w| (w[m] - w[0]).abs()).collect();
    Some(mean(&differences))
}

/// Mean absolute scaled error against `scale` (see [`seasonal_scale`]); NaN
/// when the scale is 0 (a constant training series has no natural unit).
pub fn mase(actuals: &[f64], forecasts: &[f64], scale: f64) -> f64 {
    let errors: Vec<f64> = actuals
        .iter()
        .zip(forecasts)
        .map(|(y, f)| (y - f).abs())
        .collect();
    if scale > 0.0 {
        mean(&errors) / scale
    } else {
        f64::NAN
    }
}

/// Mean scaled interval score of `(1 − alpha)` intervals: the width plus
/// `2/alpha` times how far each actual falls outside, over the scale.
pub fn msis(actuals: &[f64], bounds: &[(f64, f64)], alpha: f64, scale: f64) -> f64 {
    let scores: Vec<f64> = actuals
        .iter()
        .zip(bounds)
        .map(|(&y, &(lower, upper))| {
            let below = if y < lower { lower - y } else { 0.0 };
            let above = if y > upper { y - upper } else { 0.0 };
            (upper - lower) + 2.0 / alpha * (below + above)
        })
        .collect();
    if scale > 0.0 {
        mean(&scores) / scale
    } else {
        f64::NAN
    }
}

/// Share of actuals inside their intervals (bounds included).
pub fn coverage(actuals: &[f64], bounds: &[(f64, f64)]) -> f64 {
    let inside: Vec<f64> = actuals
        .iter()
        .zip(bounds)
        .map(|(&y, &(lower, upper))| f64::from(u8::from(lower <= y && y <= upper)))
        .collect();
    mean(&inside)
}

pub use stratus_series::mean;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smape_and_mase_match_a_hand_computation() {
        // Actuals 10, 12; forecasts 11, 11.
        // sMAPE = 200/2 * (1/21 + 1/23) = 9.1097...
        let s = smape(&[10.0, 12.0], &[11.0, 11.0]);
        assert!((s - 100.0 * (1.0 / 21.0 + 1.0 / 23.0)).abs() < 1e-12, "{s}");
        // Training 1, 3, 4, 8: lag-1 differences 2, 1, 4 → scale 7/3.
        let scale = seasonal_scale(&[1.0, 3.0, 4.0, 8.0], 1).unwrap();
        assert!((scale - 7.0 / 3.0).abs() < 1e-12);
        // Mean absolute error 1 → MASE 3/7.
        assert!((mase(&[10.0, 12.0], &[11.0, 11.0], scale) - 3.0 / 7.0).abs() < 1e-12);
        assert!(seasonal_scale(&[1.0, 2.0, 3.0, 4.0], 4).is_none());
        assert!(mase(&[1.0], &[1.0], 0.0).is_nan());
    }

    #[test]
    fn msis_charges_width_and_misses() {
        // Width 2 each; the second actual is 1 above its upper bound:
        // (2 + 2 + 2/0.05 * 1) / 2 = 22, over scale 2 → 11.
        let value = msis(&[5.0, 8.0], &[(4.0, 6.0), (5.0, 7.0)], 0.05, 2.0);
        assert!((value - 11.0).abs() < 1e-12, "{value}");
        assert_eq!(coverage(&[5.0, 8.0], &[(4.0, 6.0), (5.0, 7.0)]), 0.5);
    }
}
