//! `naive`: the benchmark every other Stratus model must beat, and the
//! smallest complete example of a plugin.
//!
//! - Annual and monthly data: random walk with drift. The forecast continues
//!   the average historical step, `ŷ(T+h) = y(T) + h·c` with
//!   `c = (y(T) − y(1)) / (T − 1)`; its error variance is
//!   `σ²·h·(1 + h/(T−1))`, the walk's `σ²h` plus the drift's estimation error.
//! - Quarterly data: seasonal naive. Each quarter repeats its value from the
//!   last year, `ŷ(T+h) = y(T+h−4(k+1))` with `k = ⌊(h−1)/4⌋`; variance `σ²(k+1)`.
//!
//! `σ²` is the residual variance of the one-step forecasts over the history
//! (Hyndman & Athanasopoulos, *Forecasting: Principles and Practice*, 3rd ed.,
//! §5.5). Intervals are normal: `ŷ ± z·σ_h`.

use stratus_plugin::output::normal_intervals;
use stratus_plugin::params::Param;
use stratus_plugin::{ForecastModel, ModelError, growth, wire};

/// The naive benchmark model.
#[derive(Debug, Default)]
pub struct Naive;

/// What was fitted: the path and its per-step standard errors.
struct Fit {
    means: Vec<f64>,
    std_errors: Vec<f64>,
    fitted: Vec<(&'static str, f64)>,
    note: String,
}

/// How much of the average historical step to continue.
const DRIFT: Param = Param::new(
    "drift",
    "1 continues the average historical step (random walk with drift); 0 holds the last value flat.",
    1.0,
    0.0,
    1.0,
);

impl ForecastModel for Naive {
    fn description(&self) -> wire::ModelDescription {
        wire::ModelDescription {
            name: "naive".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description:
                "Random walk with drift (seasonal naive for quarterly data): the benchmark to beat."
                    .into(),
            params: vec![DRIFT.spec()],
            ..Default::default()
        }
    }

    fn forecast(&self, input: &wire::ForecastInput) -> Result<wire::ForecastOutput, ModelError> {
        let history = stratus_plugin::input::history(input);
        let horizon = input.horizon as usize;
        let seasonal = input.periods_per_year == 4;
        let fit = if seasonal {
            seasonal_naive(&history, horizon, 4)?
        } else {
            let drift_weight = DRIFT.read(&input.params);
            random_walk(&history, horizon, drift_weight)?
        };

        let growth = growth::year_on_year(&history, &fit.means, input.periods_per_year as usize);
        let points = fit
            .means
            .iter()
            .zip(&fit.std_errors)
            .zip(growth)
            .map(|((&mean, &se), growth)| wire::ForecastPoint {
                mean,
                growth,
                intervals: normal_intervals(&input.levels, mean, se),
            })
            .collect();
        let output = wire::ForecastOutput {
            points,
            fitted: fit
                .fitted
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
            notes: vec![
                fit.note,
                "Intervals assume normal, independent one-step errors.".into(),
            ],
            ..Default::default()
        };
        stratus_plugin::output::ensure_representable(&output)?;
        Ok(output)
    }
}

/// Random walk, with the drift scaled by `drift_weight` (1 = with drift).
fn random_walk(y: &[f64], horizon: usize, drift_weight: f64) -> Result<Fit, ModelError> {
    let n = y.len();
    // Two points give a drift but no residual to size the intervals with.
    if n < 3 {
        return Err(too_short(n, 3, "a drift and its residual variance"));
    }
    let last = y[n - 1];
    let drift = drift_weight * (last - y[0]) / (n - 1) as f64;
    let residual_ss: f64 = y.windows(2).map(|w| (w[1] - w[0] - drift).powi(2)).sum();
    // n−1 residuals, one parameter (the drift) estimated when it is used.
    let dof = (n - 1) as f64 - drift_weight.ceil();
    let sigma = (residual_ss / dof).sqrt();
    let steps = (n - 1) as f64;
    let means = (1..=horizon).map(|h| last + h as f64 * drift).collect();
    let std_errors = (1..=horizon)
        .map(|h| {
            let h = h as f64;
            // The drift's estimation error only matters when there is a drift.
            sigma * (h * (1.0 + drift_weight * h / steps)).sqrt()
        })
        .collect();
    Ok(Fit {
        means,
        std_errors,
        fitted: vec![("drift", drift), ("sigma", sigma)],
        note: format!(
            "Random walk with drift: each period adds the average historical step ({drift:.4})."
        ),
    })
}

/// Seasonal naive with `season` periods per cycle.
fn seasonal_naive(y: &[f64], horizon: usize, season: usize) -> Result<Fit, ModelError> {
    let n = y.len();
    if n <= season {
        return Err(too_short(
            n,
            season + 1,
            "a full year plus one quarter to measure the seasonal error",
        ));
    }
    let residual_ss: f64 = (season..n).map(|t| (y[t] - y[t - season]).powi(2)).sum();
    let sigma = (residual_ss / (n - season) as f64).sqrt();
    let last_year = &y[n - season..];
    let means = (0..horizon).map(|h| last_year[h % season]).collect();
    let std_errors = (0..horizon)
        .map(|h| sigma * ((h / season + 1) as f64).sqrt())
        .collect();
    Ok(Fit {
        means,
        std_errors,
        fitted: vec![("sigma", sigma)],
        note: "Seasonal naive: each quarter repeats its value from the last observed year.".into(),
    })
}

fn too_short(have: usize, need: usize, why: &str) -> ModelError {
    ModelError::invalid(
        "series.observations",
        format!("naive needs at least {need} observations ({why}); the series has {have}"),
    )
}

#[cfg(feature = "export")]
stratus_plugin::export!(forecast: Naive);

#[cfg(test)]
mod tests {
    use super::*;

    fn input(values: &[f64], periods_per_year: u32, horizon: u32) -> wire::ForecastInput {
        stratus_plugin::input::forecast_input(
            values,
            periods_per_year,
            horizon,
            &Naive.description().params,
        )
    }

    #[test]
    fn drift_matches_hand_computation() {
        // Steps 2, 3, 1 → drift 2; residuals 0, 1, −1 → σ² = 2/(3−1) = 1.
        let out = Naive
            .forecast(&input(&[10.0, 12.0, 15.0, 16.0], 1, 2))
            .unwrap();
        assert_eq!(out.points[0].mean, 18.0);
        assert_eq!(out.points[1].mean, 20.0);
        // h = 1: se = √(1·(1 + 1/3)); the 95% interval is mean ± 1.96·se.
        let se1 = (4.0f64 / 3.0).sqrt();
        let i95 = &out.points[0].intervals[1];
        assert!((i95.upper - (18.0 + 1.959_964 * se1)).abs() < 1e-4);
        assert!((out.points[0].growth - 12.5).abs() < 1e-9);
        assert_eq!(out.fitted["drift"], 2.0);
    }

    #[test]
    fn intervals_nest_and_widen() {
        let out = Naive
            .forecast(&input(&[3.0, 5.0, 4.0, 7.0, 9.0, 8.0], 1, 5))
            .unwrap();
        let widths: Vec<f64> = out
            .points
            .iter()
            .map(|p| p.intervals[1].upper - p.intervals[1].lower)
            .collect();
        assert!(widths.windows(2).all(|w| w[1] > w[0]));
        for p in &out.points {
            assert!(
                p.intervals[1].lower < p.intervals[0].lower
                    && p.intervals[0].upper < p.intervals[1].upper
            );
        }
    }

    #[test]
    fn quarterly_repeats_last_year() {
        let q = [1.0, 2.0, 3.0, 4.0, 2.0, 3.0, 4.0, 6.0];
        let out = Naive.forecast(&input(&q, 4, 6)).unwrap();
        let means: Vec<f64> = out.points.iter().map(|p| p.mean).collect();
        assert_eq!(means, vec![2.0, 3.0, 4.0, 6.0, 2.0, 3.0]);
        // Residuals 1,1,1,2 → σ = √(7/4); the second year's intervals are √2 wider.
        let w = |p: &wire::ForecastPoint| p.intervals[0].upper - p.intervals[0].lower;
        assert!((w(&out.points[4]) / w(&out.points[0]) - 2f64.sqrt()).abs() < 1e-9);
    }

    #[test]
    fn too_short_names_the_field_and_the_need() {
        let err = Naive.forecast(&input(&[1.0, 2.0], 1, 1)).unwrap_err();
        assert_eq!(err.field, "series.observations");
        assert!(err.message.contains("at least 3"));
        assert!(Naive.forecast(&input(&[1.0, 2.0, 3.0, 4.0], 4, 1)).is_err());
    }
}
