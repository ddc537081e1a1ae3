//! What keeps annual growth from running away, and what not knowing it
//! costs.
//!
//! A damped trend fitted on log values extrapolates the latest growth; on
//! yearly series (M1 yearly in `bench/accuracy.py`) a burst of growth in the
//! last years then compounds into forecasts far above what follows. Annual
//! forecasts are therefore the mean of the fitted path (with or without a
//! trend, as AICc chose) and an anchor path:
//! the series' compound annual growth rate over the last five years (the
//! figure market analysts quote), fading with [`ANCHOR_DAMPING`].
//!
//! Chosen on both benchmark collections (OWA, full length and cut to 6
//! years): the median yearly growth over the whole history gave M1 0.746
//! but cost the statsmodels collection most (0.570 without an anchor, 0.650
//! with it); the five-year CAGR gives 0.741 and 0.584 (0.753 and 0.654 cut,
//! 0.796 and 0.654 without an anchor). The anchor applies unless the caller
//! fixes the damping (then the fitted path is what was asked for).
//!
//! The growth rate is estimated from few differences on short series; its
//! error moves an h-step forecast by h times that error, which the model's
//! own variance (parameters taken as exact) leaves out. [`growth_sd`] is the
//! standard error of the mean growth per period, added to the interval's
//! variance as `(h · growth_sd)²`.

/// Years over which the anchor's growth rate is measured.
pub const ANCHOR_YEARS: usize = 5;

/// Damping of the anchor path: its growth in forecast year j is g·φʲ.
/// Chosen on M1 yearly among 0.7, 0.8 and 0.9 (0.9 was best) for the
/// median-growth anchor this one replaced, and kept (not re-tuned).
pub const ANCHOR_DAMPING: f64 = 0.9;

/// Replaces each log forecast in `log_means` (steps 1..) by its mean with
/// the anchor path after the log values `x` of an annual series (at least
/// two of them).
pub fn blend(x: &[f64], log_means: &mut [f64]) {
    let n = x.len();
    if n < 2 {
        return;
    }
    let years = ANCHOR_YEARS.min(n - 1);
    let last = x[n - 1];
    let growth = (last - x[n - 1 - years]) / years as f64;
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
    // next), so their mean is as uncertain as that of about k / lag
    // independent ones.
    let independent = (k as f64 / lag as f64).max(1.0);
    (variance / independent).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_anchor_is_the_five_year_cagr_fading() {
        // 2% a year for ten years, then five years of 10%.
        let mut x: Vec<f64> = (0..10).map(|t| 1.02f64.ln() * f64::from(t)).collect();
        for _ in 0..5 {
            let last = x[x.len() - 1];
            x.push(last + 1.1f64.ln());
        }
        let last = x[x.len() - 1];
        // A fitted path that holds the level.
        let mut path = vec![last; 3];
        blend(&x, &mut path);
        let g = 1.1f64.ln();
        let (d, d2, d3) = (
            ANCHOR_DAMPING,
            ANCHOR_DAMPING.powi(2),
            ANCHOR_DAMPING.powi(3),
        );
        let expected = [d, d + d2, d + d2 + d3].map(|faded| last + 0.5 * g * faded);
        for (got, want) in path.iter().zip(expected) {
            assert!((got - want).abs() < 1e-12, "{path:?}");
        }
        // Two observations: their one growth.
        let mut short = vec![0.0; 1];
        blend(&[0.0, 0.2], &mut short);
        assert!((short[0] - 0.5 * (0.0 + 0.2 + 0.2 * d)).abs() < 1e-12);
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

    #[test]
    fn quarterly_growth_uncertainty_counts_overlapping_differences_once() {
        // An annual series with these yearly steps, and a quarterly one whose
        // every quarter grows by the same step a year (so its per-period
        // year-on-year differences are those steps, each four times). The
        // quarterly series has four times the differences but they overlap:
        // no more is known about its growth, so the standard errors agree
        // (counting each difference as independent would halve it).
        let yearly: Vec<f64> = [0.0, 1.0, 0.0, 2.0, 0.0, 1.0, 3.0, 1.0, 0.0].to_vec();
        let mut cumulative = vec![0.0];
        for d in &yearly {
            let last = cumulative[cumulative.len() - 1];
            cumulative.push(last + d);
        }
        let annual = growth_sd(&cumulative, 1);
        // A quarterly series whose year-on-year differences (over 4 periods)
        // are 4 × those annual steps, one per quarter.
        let mut quarterly = vec![0.0; 4];
        for d in &yearly {
            for _ in 0..4 {
                let back = quarterly[quarterly.len() - 4];
                quarterly.push(back + 4.0 * d);
            }
        }
        let per_period = growth_sd(&quarterly, 4);
        assert!(
            (per_period - annual).abs() < 0.15 * annual,
            "{per_period} vs {annual}"
        );
    }
}
