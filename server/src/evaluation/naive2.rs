//! Naive2, the M4 competition's benchmark: the last value carried forward on
//! the seasonally adjusted series, re-seasonalised. Seasonality (M4's 90%
//! autocorrelation test, classical multiplicative indices) comes from
//! `stratus_series::seasonal`, which models share; annual series, and series
//! too short to test (under three years), are forecast by plain naive.

use stratus_series::seasonal;

/// Forecasts `horizon` steps after `train` (observed `m` times a year).
pub fn forecast(train: &[f64], m: usize, horizon: usize) -> Vec<f64> {
    let Some(&last) = train.last() else {
        return vec![f64::NAN; horizon];
    };
    match seasonal::indices(train, m) {
        None => vec![last; horizon],
        Some(indices) => {
            let n = train.len();
            let adjusted_last = last / indices[(n - 1) % m];
            (0..horizon)
                .map(|h| adjusted_last * indices[(n + h) % m])
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annual_naive2_carries_the_last_value() {
        assert_eq!(forecast(&[1.0, 5.0, 3.0], 1, 2), vec![3.0, 3.0]);
    }

    #[test]
    fn a_seasonal_quarterly_series_is_reseasonalised_in_step() {
        // 18 quarters: the history ends in a second quarter, so step 1 is a
        // third quarter (index 18 % 4 = 2), not the first.
        let pattern = [0.8, 1.0, 1.2, 1.0];
        let train: Vec<f64> = (0..18).map(|i| 100.0 * pattern[i % 4]).collect();
        let path = forecast(&train, 4, 4);
        for (h, value) in path.iter().enumerate() {
            let expected = 100.0 * pattern[(18 + h) % 4];
            assert!((value - expected).abs() < 1e-6, "{path:?}");
        }
    }

    #[test]
    fn a_series_without_a_season_is_plain_naive() {
        let train: Vec<f64> = (0..16).map(|i| 100.0 + f64::from(i)).collect();
        assert_eq!(forecast(&train, 4, 2), vec![115.0, 115.0]);
    }
}
