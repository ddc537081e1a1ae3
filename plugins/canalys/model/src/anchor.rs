//! What keeps annual growth from running away, and what not knowing it
//! costs.
//!
//! A damped trend fitted on log values extrapolates the latest growth; on
//! yearly series (M1 yearly in `bench/accuracy.py`) a burst of growth in the
//! last years then compounds into forecasts far above what follows. Annual
//! forecasts are therefore the mean of the fitted path and an anchor path:
//! the series' median yearly log growth, fading with [`ANCHOR_DAMPING`].
//! The median, not the mean, so one boom or bust year does not set it.
//!
//! The growth rate is estimated from few differences on short series; its
//! error moves an h-step forecast by h times that error, which the model's
//! own variance (parameters taken as exact) leaves out. [`growth_sd`] is the
//! standard error of the mean growth per period, added to the interval's
//! variance as `(h · growth_sd)²`.

/// Damping of the anchor path: its growth in forecast year j is g·φʲ.
/// Chosen on M1 yearly among 0.7, 0.8 and 0.9 (0.9 was best; the figures
/// are in README).
pub const ANCHOR_DAMPING: f64 = 0.9;

/// Replaces each log forecast in `log_means` (steps 1..) by its mean with
/// the anchor path after the log values `x` (at least two of them).
pub fn blend(x: &[f64], log_means: &mut [f64]) {
    let Some(&last) = x.last() else {
        return;
    };
    let mut differences: Vec<f64> = x.windows(2).map(|w| w[1] - w[0]).collect();
    if differences.is_empty() {
        return;
    }
    differences.sort_by(f64::total_cmp);
    let growth = median(&differences);
    let mut faded = 0.0;
    let mut power = 1.0;
    for mean in log_means {
        power *= ANCHOR_DAMPING;
        faded += power;
        *mean = 0.5 * (*mean + last + growth * faded);
    }
}

/// The standard error of the mean growth per period of the log values `x`
/// observed `per_year` times a year: from year-on-year differences (lag
/// `per_year`, so a season does not count as growth), divided by the lag to
/// be per period. 0 when there are fewer than two differences.
pub fn growth_sd(x: &[f64], per_year: usize) -> f64 {
    let lag = per_year.max(1);
    let per_period: Vec<f64> = x
        .windows(lag + 1)
        .map(|w| (w[lag] - w[0]) / lag as f64)
        .collect();
    let k = per_period.len();
    if k < 2 {
        return 0.0;
    }
    let mean = per_period.iter().sum::<f64>() / k as f64;
    let variance = per_period.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (k - 1) as f64;
    // Year-on-year differences overlap (each shares lag − 1 periods with the
    // next), so there are about k / lag independent ones.
    let independent = (k as f64 / lag as f64).max(1.0);
    (variance / lag as f64 / independent).sqrt()
}

fn median(sorted: &[f64]) -> f64 {
    let k = sorted.len();
    if k % 2 == 1 {
        sorted[k / 2]
    } else {
        0.5 * (sorted[k / 2 - 1] + sorted[k / 2])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_boom_year_does_not_set_the_anchor() {
        // 5% a year, then one year of +60%.
        let mut x: Vec<f64> = (0..8).map(|t| (1.05f64).ln() * f64::from(t)).collect();
        let boom = x[7] + 1.6f64.ln();
        x.push(boom);
        // A fitted path that extrapolates the boom at full speed.
        let mut path: Vec<f64> = (1..=3).map(|h| boom + 1.6f64.ln() * f64::from(h)).collect();
        blend(&x, &mut path);
        let anchor_first = boom + 1.05f64.ln() * ANCHOR_DAMPING;
        let expected = 0.5 * (boom + 1.6f64.ln() + anchor_first);
        assert!((path[0] - expected).abs() < 1e-12, "{path:?}");
    }

    #[test]
    fn growth_uncertainty_shrinks_with_history_and_ignores_the_season() {
        let noisy = |n: usize| -> Vec<f64> {
            (0..n)
                .map(|t| 0.05 * t as f64 + 0.1 * ((t * 7 % 5) as f64 - 2.0))
                .collect()
        };
        assert!(growth_sd(&noisy(40), 1) < growth_sd(&noisy(8), 1));
        assert_eq!(growth_sd(&[1.0, 2.0], 1), 0.0);
        // A pure seasonal pattern on a steady trend has no growth error.
        let seasonal: Vec<f64> = (0..16)
            .map(|t| 0.02 * t as f64 + [0.0, 0.3, -0.2, 0.1][t % 4])
            .collect();
        assert!(growth_sd(&seasonal, 4) < 1e-12);
    }
}
