//! `auto`: the forecast Stratus recommends when you do not know which model
//! to pick. The lesson of the M3 and M4 competitions is that simple
//! combinations beat single models; which forecasts to combine was chosen
//! on the two benchmark collections, M1 and the statsmodels series
//! (bench/accuracy.py; the figures are in README). It is the mean of two
//! halves:
//! - the mean of two simple forecasts that differ by frequency: **annual**,
//!   the random walk with drift and the damped trend (yearly market series
//!   trend strongly; the drift keeps it, the damping tempers it), on
//!   logarithms from ten years of history and on the values themselves
//!   below that (`LOG_SCALE_YEARS`); **quarterly and monthly**, the damped
//!   trend and the Theta method on the logarithms of the seasonally
//!   adjusted series (classical multiplicative indices when M4's test finds
//!   a season), so growth and season compound;
//! - canalys' damped growth on log values, which fits the season with the
//!   trend (the `growth_member` module).
//!
//! It serves any valid series: logarithms and seasonal adjustment need
//! positive values (otherwise the values are used as they are, canalys is
//! left out, and the notes say so), and a series of one or two observations
//! gets the most the data can say (a flat or straight path) with intervals
//! from an explicit assumption, noted. Intervals of the simple half: the
//! damped model's h-step variance with the combination's own one-step
//! residuals (never below half the variance of the series' own changes) and
//! a Student-t quantile, so short series get honest widths; on the log
//! scale they are asymmetric and positive. The two halves' bounds are then
//! averaged level by level, like their means.

mod growth_member;
mod smoothing;

use std::collections::HashMap;

use stratus_plugin::{ForecastModel, ModelError, growth, output, seasonal, stats, wire};

use smoothing::Kind;

/// The `auto` model.
#[derive(Default)]
pub struct Auto;

impl ForecastModel for Auto {
    fn description(&self) -> wire::ModelDescription {
        wire::ModelDescription {
            name: "auto".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "The recommended forecast: a simple combination chosen on public data (annual: random walk with \
                          drift and damped trend; quarterly/monthly: damped trend and Theta on the log of the seasonally \
                          adjusted series; averaged with canalys' damped growth on logs)."
                .into(),
            ..Default::default()
        }
    }

    fn forecast(&self, input: &wire::ForecastInput) -> Result<wire::ForecastOutput, ModelError> {
        let history = stratus_plugin::input::history(input);
        let output = forecast(
            &history,
            input.periods_per_year.max(1) as usize,
            input.horizon as usize,
            &input.levels,
        )?;
        stratus_plugin::output::ensure_representable(&output)?;
        Ok(output)
    }
}

/// The forecasts a recipe averages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Component {
    /// Random walk with drift: the last value plus the mean change.
    Drift,
    /// Damped-trend exponential smoothing.
    Damped,
    /// The Theta method (SES plus half the linear trend).
    Theta,
}

/// Years of history from which annual series are forecast on logarithms.
/// A trend estimated from fewer compounds its error: on the series cut to
/// 6 years, logs lost to the values' scale on M1 (OWA 0.752 against
/// 0.738), while on full-length series they won on the statsmodels
/// collection (0.601 against 0.650) and cost M1 little (0.727 against
/// 0.718). Ten is where canalys starts estimating its initial states.
const LOG_SCALE_YEARS: usize = 10;

/// What `auto` averages, and whether on logarithms, for `n` observations
/// `m` periods a year.
fn recipe(m: usize, n: usize) -> (&'static [Component], bool) {
    if m <= 1 {
        (&[Component::Drift, Component::Damped], n >= LOG_SCALE_YEARS)
    } else {
        (&[Component::Damped, Component::Theta], true)
    }
}

/// `auto`'s forecast of `values` (observed `m` times a year): the mean of
/// the two simple forecasts of [`forecast_values`] and canalys' damped
/// growth on logs (the `growth_member` module).
pub fn forecast(
    values: &[f64],
    m: usize,
    horizon: usize,
    levels: &[f64],
) -> Result<wire::ForecastOutput, ModelError> {
    let simple = forecast_values(values, m, horizon, levels)?;
    Ok(growth_member::combine(values, m, horizon, levels, simple))
}

/// The combined forecast of `values` (observed `m` times a year) from the
/// two simple members of its recipe (`recipe`).
pub fn forecast_values(
    values: &[f64],
    m: usize,
    horizon: usize,
    levels: &[f64],
) -> Result<wire::ForecastOutput, ModelError> {
    let n = values.len();
    if n == 0 {
        return Err(ModelError::invalid(
            "series.observations",
            "auto needs at least one observation",
        ));
    }
    let (components, wants_log) = recipe(m, n);
    let positive = values.iter().all(|&v| v > 0.0);
    let mut notes = Vec::new();
    let indices = if m > 1 {
        let found = seasonal::indices(values, m);
        match &found {
            Some(_) => notes.push(format!(
                "Seasonal: classical multiplicative indices over {m} periods a year were taken out before forecasting and put back after."
            )),
            None if !positive => notes.push(
                "Not seasonally adjusted: the series has zeros or negatives, which multiplicative seasonality cannot take."
                    .into(),
            ),
            None => notes.push("No significant seasonality (M4's 90% autocorrelation test): not adjusted.".into()),
        }
        found
    } else {
        None
    };
    let log = wants_log && positive;
    let names: Vec<&str> = components
        .iter()
        .map(|c| match c {
            Component::Drift => "random walk with drift",
            Component::Damped => "damped trend",
            Component::Theta => "Theta",
        })
        .collect();
    notes.insert(
        0,
        format!(
            "auto: the mean of {} forecasts{}.",
            names.join(" and "),
            if log {
                " on the logarithms of the (seasonally adjusted) values"
            } else {
                ""
            }
        ),
    );
    if wants_log && !positive {
        notes.push(
            "The series has zeros or negatives, so it is forecast as it is, not on logarithms."
                .into(),
        );
    }
    let index = |i: usize| indices.as_ref().map_or(1.0, |s| s[i % m]);
    let adjusted: Vec<f64> = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let v = v / index(i);
            if log { v.ln() } else { v }
        })
        .collect();

    let (path, spread, dof, mut fitted) = if n == 1 {
        notes.push(
            "One observation: the forecast is flat, and the intervals assume a 10% standard deviation per step \
             (there is nothing to estimate it from)."
                .into(),
        );
        let sigma = if log {
            0.1
        } else {
            (0.1 * adjusted[0].abs()).max(f64::MIN_POSITIVE)
        };
        let spread = Spread {
            sigma,
            // A random walk's widths: the variance grows by σ² a step.
            multipliers: vec![1.0; horizon],
        };
        (vec![adjusted[0]; horizon], spread, 1.0, HashMap::new())
    } else {
        combined(&adjusted, components, horizon, &mut notes)?
    };

    let cap = output::LogWidthCap::default();
    let t = stats::CentralT::new(levels, dof);
    let points: Vec<wire::ForecastPoint> = path
        .iter()
        .enumerate()
        .map(|(s, &centre)| {
            let season = index(n + s);
            let sd = spread.sd(s + 1);
            let back = |v: f64| if log { v.exp() * season } else { v * season };
            wire::ForecastPoint {
                mean: back(centre),
                growth: 0.0,
                intervals: output::intervals(
                    levels,
                    centre,
                    |level| {
                        let half = t.at(level) * sd;
                        // Only log-scale widths are capped (on the values'
                        // own scale nothing is exponentiated).
                        if log { cap.apply(half) } else { half }
                    },
                    back,
                ),
            }
        })
        .collect();
    let means: Vec<f64> = points.iter().map(|p| p.mean).collect();
    let growth = growth::year_on_year(values, &means, m);
    let points = points
        .into_iter()
        .zip(growth)
        .map(|(point, growth)| wire::ForecastPoint { growth, ..point })
        .collect();
    notes.extend(cap.note());
    fitted.insert("seasonal".into(), f64::from(u8::from(indices.is_some())));
    fitted.insert("log_scale".into(), f64::from(u8::from(log)));
    Ok(wire::ForecastOutput {
        points,
        scenarios: Vec::new(),
        fitted,
        notes,
    })
}

/// The standard deviation of the combined forecast `h` steps ahead.
#[derive(Debug, Clone)]
struct Spread {
    sigma: f64,
    /// The damped model's error multipliers c_j for j = 1..
    multipliers: Vec<f64>,
}

impl Spread {
    fn sd(&self, h: usize) -> f64 {
        let sum: f64 = self
            .multipliers
            .iter()
            .take(h.saturating_sub(1))
            .map(|c| c * c)
            .sum();
        self.sigma * (1.0 + sum).sqrt()
    }
}

/// A combined path, its spread, the residual degrees of freedom, and the
/// fitted values to report.
type Combined = (Vec<f64>, Spread, f64, HashMap<String, f64>);

/// Fits `components` to `y` (two or more values) and averages them.
fn combined(
    y: &[f64],
    components: &[Component],
    horizon: usize,
    notes: &mut Vec<String>,
) -> Result<Combined, ModelError> {
    let n = y.len();
    let fit = |kind| {
        smoothing::fit(y, kind)
            .map_err(|e| ModelError::internal(format!("auto: the smoothing fit failed: {e}")))
    };
    let damped = fit(Kind::Damped)?;
    let simple = fit(Kind::Simple)?;
    let drift = (y[n - 1] - y[0]) / (n - 1) as f64;
    let (theta_path, theta_drift) = theta(y, &simple, horizon);
    let mut paths = Vec::with_capacity(components.len());
    // One-step in-sample forecasts of each component, for observations 1..
    let mut in_sample: Vec<Vec<f64>> = Vec::with_capacity(components.len());
    for component in components {
        match component {
            Component::Drift => {
                paths.push((1..=horizon).map(|h| y[n - 1] + drift * h as f64).collect());
                in_sample.push(y[..n - 1].iter().map(|v| v + drift).collect());
            }
            Component::Damped => {
                paths.push(damped.forecast(horizon));
                in_sample.push(damped.fitted.clone());
            }
            Component::Theta => {
                paths.push(theta_path.clone());
                in_sample.push(simple.fitted.iter().map(|f| f + theta_drift).collect());
            }
        }
    }
    let k = paths.len() as f64;
    let path: Vec<f64> = (0..horizon)
        .map(|s| paths.iter().map(|p: &Vec<f64>| p[s]).sum::<f64>() / k)
        .collect();

    let residuals: Vec<f64> = (0..n - 1)
        .map(|i| y[i + 1] - in_sample.iter().map(|f| f[i]).sum::<f64>() / k)
        .collect();
    let dof = (n as f64 - 3.0).max(1.0);
    let residual_variance = residuals.iter().map(|e| e * e).sum::<f64>() / dof;
    let differences: Vec<f64> = y.windows(2).map(|w| w[1] - w[0]).collect();
    let mean_difference = differences.iter().sum::<f64>() / differences.len() as f64;
    let difference_variance = if differences.len() > 1 {
        differences
            .iter()
            .map(|d| (d - mean_difference).powi(2))
            .sum::<f64>()
            / (differences.len() - 1) as f64
    } else {
        mean_difference * mean_difference
    };
    let floor = 0.5 * difference_variance;
    if residual_variance < floor {
        notes.push(
            "The fit's residuals were smaller than half the variance of the series' own changes, which a short \
             history cannot support; the intervals use the latter."
                .into(),
        );
    }
    let sigma = residual_variance.max(floor).sqrt().max(f64::MIN_POSITIVE);
    // Each component's error multiplier c_j (the weight of a shock j steps
    // back in the j-step forecast), averaged like the paths: the drift's is
    // 1 (a random walk), the damped trend's α + β(φ + … + φʲ), Theta's the
    // SES α.
    let p = damped.params;
    let mut multipliers = Vec::with_capacity(horizon);
    let (mut damp, mut power) = (0.0, 1.0);
    for _ in 1..horizon.max(1) {
        power *= p.phi;
        damp += power;
        let c: f64 = components
            .iter()
            .map(|component| match component {
                Component::Drift => 1.0,
                Component::Damped => p.alpha + p.beta * damp,
                Component::Theta => simple.params.alpha,
            })
            .sum::<f64>()
            / k;
        multipliers.push(c);
    }
    if n < 3 {
        notes.push(
            "Two observations: the trend is their difference, and nothing is estimated.".into(),
        );
    }
    let fitted = [
        ("drift", drift),
        ("alpha_damped", p.alpha),
        ("beta_damped", p.beta),
        ("phi", p.phi),
        ("alpha_ses", simple.params.alpha),
        ("theta_drift", theta_drift),
        ("sigma", sigma),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    Ok((path, Spread { sigma, multipliers }, dof, fitted))
}

/// The Theta method (Assimakopoulos & Nikolopoulos; in the form of Hyndman
/// & Billah): simple exponential smoothing plus half the series' linear
/// trend, `ℓ + b/2 · ((h − 1) + 1/α − (1 − α)ⁿ/α)`. Returns the path and
/// the drift b/2.
fn theta(y: &[f64], simple: &smoothing::Fit, horizon: usize) -> (Vec<f64>, f64) {
    let n = y.len() as f64;
    let mean_t = (n - 1.0) / 2.0;
    let mean_y = y.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (t, &value) in y.iter().enumerate() {
        let dt = t as f64 - mean_t;
        sxy += dt * (value - mean_y);
        sxx += dt * dt;
    }
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    let alpha = simple.params.alpha;
    let drift = slope / 2.0;
    let tail = 1.0 / alpha - (1.0 - alpha).powf(n) / alpha;
    let path = (1..=horizon)
        .map(|h| simple.level + drift * ((h as f64 - 1.0) + tail))
        .collect();
    (path, drift)
}

#[cfg(feature = "export")]
stratus_plugin::export!(forecast: Auto);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_annual_trend_is_extrapolated_between_flat_and_linear() {
        // Fewer than ten years: the values' own scale.
        let y: Vec<f64> = (0..8).map(|i| 100.0 + 5.0 * f64::from(i)).collect();
        let out = forecast_values(&y, 1, 3, &[80.0, 95.0]).unwrap();
        // The drift continues the line (140, 145, 150), the damped trend
        // slightly less: the mean lies between flat and linear.
        for (h, p) in out.points.iter().enumerate() {
            let linear = 135.0 + 5.0 * (h as f64 + 1.0);
            assert!(
                p.mean > 135.0 && p.mean <= linear + 1e-6,
                "{:?}",
                out.points
            );
            let (i80, i95) = (&p.intervals[0], &p.intervals[1]);
            assert!(
                i95.lower < i80.lower
                    && i80.lower < p.mean
                    && p.mean < i80.upper
                    && i80.upper < i95.upper
            );
        }
    }

    #[test]
    fn a_long_annual_series_compounds_its_growth() {
        // Ten years and more: logarithms, so 10% a year continues as growth
        // (the drift exactly, the damped trend slightly less), not as a line.
        let y: Vec<f64> = (0..12).map(|i| 100.0 * 1.1f64.powi(i)).collect();
        let out = forecast_values(&y, 1, 3, &[80.0, 95.0]).unwrap();
        let last = y[11];
        for (h, p) in out.points.iter().enumerate() {
            let compounded = last * 1.1f64.powi(h as i32 + 1);
            let linear = last + (last - y[10]) * (h as f64 + 1.0);
            assert!(
                p.mean <= compounded + 1e-6 && p.mean > 0.99 * compounded,
                "{:?}",
                out.points
            );
            if h > 0 {
                assert!(p.mean > linear, "{} vs line {linear}", p.mean);
            }
        }
        assert_eq!(out.fitted["log_scale"], 1.0);
    }

    #[test]
    fn any_valid_series_is_served_with_notes_for_the_edge_cases() {
        let one = forecast_values(&[42.0], 1, 2, &[95.0]).unwrap();
        assert_eq!(one.points[0].mean, 42.0);
        assert!(one.notes.iter().any(|n| n.contains("One observation")));
        let two = forecast_values(&[10.0, 12.0], 1, 2, &[95.0]).unwrap();
        assert!(two.points[1].intervals[0].upper > two.points[1].intervals[0].lower);
        let negative = forecast_values(
            &[
                -3.0, 1.0, -2.0, 4.0, -1.0, 2.0, -3.0, 5.0, 0.0, 1.0, -2.0, 3.0,
            ],
            4,
            4,
            &[80.0],
        )
        .unwrap();
        assert!(
            negative
                .notes
                .iter()
                .any(|n| n.contains("zeros or negatives"))
        );
        assert!(negative.points.iter().all(|p| p.mean.is_finite()));
    }

    #[test]
    fn a_seasonal_quarterly_series_keeps_its_pattern() {
        let pattern = [0.8, 1.0, 1.3, 0.9];
        let y: Vec<f64> = (0..24)
            .map(|i| (100.0 + f64::from(i)) * pattern[i as usize % 4])
            .collect();
        let out = forecast_values(&y, 4, 4, &[80.0]).unwrap();
        assert!(out.notes.iter().any(|n| n.starts_with("Seasonal")));
        let means: Vec<f64> = out.points.iter().map(|p| p.mean).collect();
        // The third quarter of the year stays the highest.
        assert!(
            means[2] > means[0] && means[2] > means[1] && means[2] > means[3],
            "{means:?}"
        );
    }
}
