//! Classical multiplicative seasonality, as the M4 competition's benchmarks
//! use it: a 90% autocorrelation test at the seasonal lag decides whether a
//! series is seasonal, and a centred one-year moving average gives the
//! seasonal indices. Shared by the server's Naive2 benchmark and models that
//! forecast a seasonally adjusted series.

/// Multiplicative seasonal indices by position in the year (position `i %
/// m` of observation `i`), averaging to 1; `None` when the series is annual,
/// too short, not positive, or fails the seasonality test.
pub fn indices(train: &[f64], m: usize) -> Option<Vec<f64>> {
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
    let raw: Vec<f64> = ratios.iter().map(|r| mean(r)).collect();
    let level = mean(&raw);
    let indices: Vec<f64> = raw.iter().map(|r| r / level).collect();
    indices
        .iter()
        .all(|i| i.is_finite() && *i > 0.0)
        .then_some(indices)
}

/// M4's seasonality test: the autocorrelation at lag `m` exceeds
/// `1.645 · sqrt((1 + 2 · s) / n)`, where `s` is the sum of the squared
/// autocorrelations at lags 1..m−1 (as in M4's R benchmark code).
fn is_seasonal(train: &[f64], m: usize) -> bool {
    // M4's R benchmark code (which produced its Naive2 figures):
    // `limit <- 1.645 * sqrt(cumsum(c(1, 2 * xacf^2)) / n)` at lag m − 1,
    // i.e. s = Σ_{k=1}^{m−1} acf(k)².
    let s: f64 = (1..m).map(|lag| acf(train, lag).powi(2)).sum();
    let limit = 1.645 * ((1.0 + 2.0 * s) / train.len() as f64).sqrt();
    acf(train, m).abs() > limit
}

fn acf(data: &[f64], lag: usize) -> f64 {
    let mean = mean(data);
    let denominator: f64 = data.iter().map(|x| (x - mean).powi(2)).sum();
    if denominator == 0.0 || lag >= data.len() {
        return 0.0;
    }
    let numerator: f64 = (lag..data.len())
        .map(|i| (data[i] - mean) * (data[i - lag] - mean))
        .sum();
    numerator / denominator
}

use crate::mean;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_strong_quarterly_pattern_is_found_and_a_trend_is_not_a_season() {
        let pattern = [0.8, 1.0, 1.2, 1.0];
        let seasonal: Vec<f64> = (0..16).map(|i| 100.0 * pattern[i % 4]).collect();
        let found = indices(&seasonal, 4).expect("seasonal");
        for (index, expected) in found.iter().zip(pattern) {
            assert!((index - expected).abs() < 1e-9, "{found:?}");
        }
        let trend: Vec<f64> = (0..16).map(|i| 100.0 + f64::from(i)).collect();
        assert!(indices(&trend, 4).is_none());
        assert!(indices(&[1.0, 2.0, 3.0], 1).is_none());
    }
}
