//! Naive2, the M4 competition's benchmark: the last value carried forward on
//! the seasonally adjusted series, re-seasonalised. A series counts as
//! seasonal when its autocorrelation at the seasonal lag passes M4's 90%
//! test; its seasonal indices come from classical multiplicative
//! decomposition (a centred moving average of one year). Annual series, and
//! series too short to test (under three years), are forecast by plain naive.

/// Forecasts `horizon` steps after `train` (observed `m` times a year).
pub fn forecast(train: &[f64], m: usize, horizon: usize) -> Vec<f64> {
    let Some(&last) = train.last() else {
        return vec![f64::NAN; horizon];
    };
    let indices = seasonal_indices(train, m);
    match indices {
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

/// Multiplicative seasonal indices by position in the year (position `i %
/// m` of observation `i`), averaging to 1; `None` when the series is annual,
/// too short, not positive, or fails the seasonality test.
pub fn seasonal_indices(train: &[f64], m: usize) -> Option<Vec<f64>> {
    let n = train.len();
    if m < 2 || n < 3 * m || train.iter().any(|&v| v <= 0.0) || !is_seasonal(train, m) {
        return None;
    }
    // Centred moving average over one year: for even m, a 2×m average.
    let half = m / 2;
    let mut ratios: Vec<Vec<f64>> = vec![Vec::new(); m];
    for t in half..n - half {
        let trend = if m.is_multiple_of(2) {
            let window = &train[t - half..=t + half];
            let inner: f64 = window[1..window.len() - 1].iter().sum();
            (inner + 0.5 * (window[0] + window[window.len() - 1])) / m as f64
        } else {
            train[t - half..=t + half].iter().sum::<f64>() / m as f64
        };
        if trend > 0.0 {
            ratios[t % m].push(train[t] / trend);
        }
    }
    let raw: Vec<f64> = ratios
        .iter()
        .map(|r| crate::evaluation::metrics::mean(r))
        .collect();
    let level = crate::evaluation::metrics::mean(&raw);
    let indices: Vec<f64> = raw.iter().map(|r| r / level).collect();
    indices
        .iter()
        .all(|i| i.is_finite() && *i > 0.0)
        .then_some(indices)
}

/// M4's seasonality test: the autocorrelation at lag `m` exceeds
/// `1.645 · sqrt((1 + 2 · s) / n)`, where `s` is the lag-1 autocorrelation
/// plus the squares of those at lags 2..m−1 (as M4's code computes it).
fn is_seasonal(train: &[f64], m: usize) -> bool {
    let mut s = acf(train, 1);
    for lag in 2..m {
        s += acf(train, lag).powi(2);
    }
    let limit = 1.645 * ((1.0 + 2.0 * s) / train.len() as f64).sqrt();
    acf(train, m).abs() > limit
}

fn acf(data: &[f64], lag: usize) -> f64 {
    let mean = crate::evaluation::metrics::mean(data);
    let denominator: f64 = data.iter().map(|x| (x - mean).powi(2)).sum();
    if denominator == 0.0 || lag >= data.len() {
        return 0.0;
    }
    let numerator: f64 = (lag..data.len())
        .map(|i| (data[i] - mean) * (data[i - lag] - mean))
        .sum();
    numerator / denominator
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annual_naive2_carries_the_last_value() {
        assert_eq!(forecast(&[1.0, 5.0, 3.0], 1, 2), vec![3.0, 3.0]);
    }

    #[test]
    fn a_seasonal_quarterly_series_is_reseasonalised() {
        // A flat level of 100 with a strong quarterly pattern.
        let pattern = [0.8, 1.0, 1.2, 1.0];
        let train: Vec<f64> = (0..16).map(|i| 100.0 * pattern[i % 4]).collect();
        let indices = seasonal_indices(&train, 4).expect("seasonal");
        for (index, expected) in indices.iter().zip(pattern) {
            assert!((index - expected).abs() < 1e-9, "{indices:?}");
        }
        let path = forecast(&train, 4, 4);
        for (value, expected) in path.iter().zip(pattern) {
            assert!((value - 100.0 * expected).abs() < 1e-6, "{path:?}");
        }
    }

    #[test]
    fn a_series_without_a_season_is_plain_naive() {
        let train: Vec<f64> = (0..16).map(|i| 100.0 + f64::from(i)).collect();
        assert!(seasonal_indices(&train, 4).is_none());
        assert_eq!(forecast(&train, 4, 2), vec![115.0, 115.0]);
    }
}
