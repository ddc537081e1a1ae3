//! The other half of `auto`: canalys' damped growth on log values
//! (seasonal on logs for quarterly and monthly data), weighted equally with
//! the simple forecasts' combination.
//!
//! Chosen on the benchmark collections (bench/accuracy.py): the simple
//! forecasts alone lost to DynamicOptimizedTheta on M1 series cut to 12
//! quarters (OWA 0.955 against 0.946) and to AutoARIMA on the statsmodels
//! yearly series; with canalys weighted 1/2, `auto` is ahead of every
//! statsforecast baseline on all eight rows (with weight 1/3, six). canalys
//! fits the season together with the trend on logs, where the simple
//! members adjust it out first, and damps its growth towards the five-year
//! CAGR, so its errors differ from theirs, which is what a combination
//! needs.
//!
//! Forecasts are combined quantile by quantile: each interval bound is the
//! weighted mean of the halves' bounds at that level (Vincentization), like
//! the means. canalys refuses zeros, negatives and histories shorter than
//! it can fit; then `auto` is the simple half alone, and the notes say why.

use stratus_plugin::{growth, output, wire};

/// The weight of canalys' forecast; the simple forecasts' combination has
/// the rest.
pub const WEIGHT: f64 = 0.5;

/// `simple` (the two simple members' combination) combined with canalys on
/// the same `values`.
pub fn combine(
    values: &[f64],
    m: usize,
    horizon: usize,
    levels: &[f64],
    mut simple: wire::ForecastOutput,
) -> wire::ForecastOutput {
    let answer = stratus_canalys_model::forecast_with_defaults(values, m, horizon, levels)
        .and_then(|member| output::ensure_representable(&member).map(|()| member));
    let reason = match answer {
        Ok(member) if member.points.len() == simple.points.len() => {
            return with_member(values, m, simple, &member);
        }
        Ok(member) => format!(
            "it answered {} steps for {}",
            member.points.len(),
            simple.points.len()
        ),
        Err(refusal) => refusal.message,
    };
    simple.notes.push(format!(
        "canalys' damped growth was left out of the combination ({reason}), so this is the simple forecasts alone."
    ));
    simple.fitted.insert("growth_member".into(), 0.0);
    simple
}

/// `simple` averaged with canalys' answer `member` (as many points).
fn with_member(
    values: &[f64],
    m: usize,
    mut simple: wire::ForecastOutput,
    member: &wire::ForecastOutput,
) -> wire::ForecastOutput {
    let blend = |own: f64, other: f64| (1.0 - WEIGHT) * own + WEIGHT * other;
    for (point, other) in simple.points.iter_mut().zip(&member.points) {
        point.mean = blend(point.mean, other.mean);
        for (interval, theirs) in point.intervals.iter_mut().zip(&other.intervals) {
            interval.lower = blend(interval.lower, theirs.lower);
            interval.upper = blend(interval.upper, theirs.upper);
        }
    }
    let means: Vec<f64> = simple.points.iter().map(|p| p.mean).collect();
    for (point, growth) in simple
        .points
        .iter_mut()
        .zip(growth::year_on_year(values, &means, m))
    {
        point.growth = growth;
    }
    if let Some(first) = simple.notes.first_mut() {
        *first = format!(
            "{first} Averaged with canalys' damped growth on log values (each weighted 1/2); each interval bound is the mean of the two halves' bounds."
        );
    }
    simple.fitted.insert("growth_member".into(), 1.0);
    simple
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forecast_values;

    #[test]
    fn the_combination_is_the_weighted_mean_of_its_members() {
        let values: Vec<f64> = (0..14)
            .map(|t| 50.0 * (0.08 * f64::from(t) + 0.05 * f64::from((t * 7) % 5)).exp())
            .collect();
        let levels = [80.0, 95.0];
        let simple = forecast_values(&values, 1, 4, &levels).unwrap();
        let canalys =
            stratus_canalys_model::forecast_with_defaults(&values, 1, 4, &levels).unwrap();
        let combined = combine(&values, 1, 4, &levels, simple.clone());
        for ((c, s), g) in combined
            .points
            .iter()
            .zip(&simple.points)
            .zip(&canalys.points)
        {
            assert!((c.mean - (s.mean + g.mean) / 2.0).abs() < 1e-9 * c.mean);
            for l in 0..2 {
                let expected = (s.intervals[l].upper + g.intervals[l].upper) / 2.0;
                assert!((c.intervals[l].upper - expected).abs() < 1e-9 * expected);
            }
        }
        assert_eq!(combined.fitted["growth_member"], 1.0);
    }

    #[test]
    fn a_series_canalys_refuses_keeps_the_two_members_and_says_why() {
        let values = [3.0, 0.0, 4.0, 5.0, 6.0, 8.0];
        let simple = forecast_values(&values, 1, 2, &[95.0]).unwrap();
        let combined = combine(&values, 1, 2, &[95.0], simple.clone());
        assert_eq!(combined.points, simple.points);
        assert!(
            combined.notes.iter().any(|n| n.contains("left out")),
            "{:?}",
            combined.notes
        );
    }
}
