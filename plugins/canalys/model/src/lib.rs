//! `canalys`: a growth forecaster in the style of Canalys' market outlooks
//! ("spending grew 13% to US$40bn in 2024 and will grow 15% to US$46bn in
//! 2025").
//!
//! The model is exponential smoothing with a damped additive trend on the
//! logarithm of the series ([`ets`]), so growth compounds and slowly fades;
//! quarterly and monthly series add an additive seasonal term on the log
//! scale. Parameters (and, with enough history, the initial states) are
//! estimated by least squares ([`fit`]). Annual paths are blended with the
//! series' five-year compound annual growth, fading, so a late boom does
//! not compound at full speed, unless the caller fixes the damping
//! ([`anchor`]). Prediction intervals come from the model's forecast
//! variance on the log scale plus the growth rate's own uncertainty, with a
//! Student-t quantile, and are back-transformed, so they widen with the
//! horizon, are asymmetric and never negative. The
//! `ai_uplift_pp` driver adds percentage points to every forecast period's
//! year-on-year growth, the way an analyst layers a demand driver (AI
//! adoption) on a statistical baseline ([`uplift`]).

pub mod anchor;
pub mod calibration;
pub mod ets;
pub mod fit;
pub mod uplift;

use stratus_plugin::params::Param;
use stratus_plugin::{ForecastModel, ModelError, growth, output, stats, wire};

/// The canalys model.
#[derive(Debug, Default)]
pub struct Canalys;

/// A demand driver's growth, added on top of the fitted path.
const AI_UPLIFT_PP: Param = Param::new(
    "ai_uplift_pp",
    "Percentage points added to every forecast period's year-on-year growth (a demand driver such as AI adoption).",
    0.0,
    -50.0,
    100.0,
);
/// The trend's damping, fixed or estimated.
const DAMPING: Param = Param::new(
    "damping",
    "Trend damping φ: 0 estimates it within [0.8, 0.98]; a value in (0, 1] fixes it (1 = undamped).",
    0.0,
    0.0,
    1.0,
);
/// Whether a season may be fitted.
const SEASONAL: Param = Param::new(
    "seasonal",
    "1 lets quarterly/monthly data have a seasonal pattern when it lowers AICc; 0 never. Ignored for annual data.",
    1.0,
    0.0,
    1.0,
);

/// Options read from the request's parameters.
#[derive(Debug, Clone, Copy)]
struct Options {
    uplift_pp: f64,
    phi: Option<f64>,
    seasonal: bool,
}

impl Options {
    fn from(params: &std::collections::HashMap<String, f64>) -> Self {
        let damping = DAMPING.read(params);
        Self {
            uplift_pp: AI_UPLIFT_PP.read(params),
            phi: (damping > 0.0).then_some(damping),
            seasonal: SEASONAL.read(params) >= 0.5,
        }
    }
}

/// Fewest observations for a frequency: enough to estimate the smoothing
/// parameters from the errors left after the heuristic start (annual), plus
/// two full years to separate trend from season (seasonal).
pub fn minimum_observations(periods_per_year: usize, seasonal: bool) -> usize {
    if seasonal && periods_per_year > 1 {
        2 * periods_per_year + 2
    } else {
        4
    }
}

/// History needed before the initial states are estimated rather than set
/// from the first observations: with less, freeing them overfits.
fn enough_to_estimate_initial(n: usize, season: usize) -> bool {
    n >= 10 + 4 * season
}

impl ForecastModel for Canalys {
    fn description(&self) -> wire::ModelDescription {
        wire::ModelDescription {
            name: "canalys".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Damped-trend exponential smoothing on log values (seasonal for quarterly/monthly), \
                          log-scale Student-t intervals that include the growth rate's uncertainty, and an AI-adoption \
                          growth uplift."
                .into(),
            params: [AI_UPLIFT_PP, DAMPING, SEASONAL]
                .iter()
                .map(Param::spec)
                .collect(),
            ..Default::default()
        }
    }

    fn forecast(&self, input: &wire::ForecastInput) -> Result<wire::ForecastOutput, ModelError> {
        let history = stratus_plugin::input::history(input);
        let options = Options::from(&input.params);
        let per_year = input.periods_per_year.max(1) as usize;
        let season = if options.seasonal && per_year > 1 {
            per_year
        } else {
            0
        };
        let output = forecast_values(
            &history,
            per_year,
            season,
            input.horizon as usize,
            &input.levels,
            options,
        )?;
        stratus_plugin::output::ensure_representable(&output)?;
        Ok(output)
    }
}

/// canalys with its default parameters on plain values observed `per_year`
/// times a year: what `auto` combines with its own forecasts.
pub fn forecast_with_defaults(
    history: &[f64],
    per_year: usize,
    horizon: usize,
    levels: &[f64],
) -> Result<wire::ForecastOutput, ModelError> {
    let options = Options::from(&std::collections::HashMap::new());
    let season = if per_year > 1 { per_year } else { 0 };
    forecast_values(history, per_year, season, horizon, levels, options)
}

/// Fits the damped-trend model, with a seasonal term when one is allowed, and
/// lets simpler variants compete on AICc: no season (a seasonally adjusted
/// quarterly series is not burdened with one) and, unless the caller fixed the
/// damping, no trend (a series that only wanders is not extrapolated). On a
/// series too short to estimate initial states AICc's small-sample penalty
/// would always drop the trend, so there the damped trend, the model's
/// premise, stays.
fn select(x: &[f64], season: usize, phi: Option<f64>) -> Result<(fit::Spec, fit::Fit), ModelError> {
    let seasons: &[usize] = if season > 0 { &[season, 0] } else { &[0] };
    let judge_trend = phi.is_none() && enough_to_estimate_initial(x.len(), 0);
    let trends: &[bool] = if judge_trend { &[true, false] } else { &[true] };
    let mut best: Option<(f64, fit::Spec, fit::Fit)> = None;
    for (&season, &trend) in seasons
        .iter()
        .flat_map(|s| trends.iter().map(move |t| (s, t)))
    {
        let spec = fit::Spec {
            season,
            trend,
            phi,
            estimate_initial: enough_to_estimate_initial(x.len(), season),
        };
        let fitted = fit::fit(x, spec)
            .map_err(|e| ModelError::internal(format!("the optimiser failed: {e}")))?;
        let score = aicc(fitted.sse, x.len(), spec.estimated() + 1);
        if best.as_ref().is_none_or(|(b, _, _)| score < *b) {
            best = Some((score, spec, fitted));
        }
    }
    best.map(|(_, spec, fitted)| (spec, fitted))
        .ok_or_else(|| ModelError::internal("no model could be fitted"))
}

/// Corrected Akaike information criterion of a Gaussian fit with `k`
/// estimated quantities (σ included).
fn aicc(sse: f64, n: usize, k: usize) -> f64 {
    let n_f = n as f64;
    let k_f = k as f64;
    let penalty = if n > k + 1 {
        2.0 * k_f * (k_f + 1.0) / (n_f - k_f - 1.0)
    } else {
        f64::INFINITY
    };
    n_f * (sse.max(f64::MIN_POSITIVE) / n_f).ln() + 2.0 * k_f + penalty
}

fn forecast_values(
    history: &[f64],
    per_year: usize,
    season: usize,
    horizon: usize,
    levels: &[f64],
    options: Options,
) -> Result<wire::ForecastOutput, ModelError> {
    stratus_plugin::input::require_positive(
        history,
        "canalys works on logarithms and needs positive values (naive takes any values)",
    )?;
    let needed = minimum_observations(per_year, season > 0);
    if history.len() < needed {
        let what = if season > 0 {
            "two full years plus two periods"
        } else {
            "four years"
        };
        return Err(ModelError::invalid(
            "series.observations",
            format!(
                "canalys needs at least {needed} observations ({what}) for this frequency; the series has {}",
                history.len()
            ),
        ));
    }

    let x: Vec<f64> = history.iter().map(|v| v.ln()).collect();
    let (spec, fitted) = select(&x, season, options.phi)?;
    let season = spec.season;
    let estimate_initial = spec.estimate_initial;

    // Residual variance with the estimated quantities' degrees of freedom
    // taken out (at least one left), so short series get honest widths.
    // Seasonal effects set from the first two cycles cost degrees of freedom
    // too: those observations' errors are small because they set them.
    let set_season = if estimate_initial {
        0
    } else {
        season.saturating_sub(1)
    };
    let dof = x.len().saturating_sub(spec.estimated() + set_season).max(1);
    let sigma2 = fitted.sse / dof as f64;
    let inflation =
        calibration::variance_inflation(&x, &fitted.params, &fitted.initial, sigma2, horizon);
    let sigma = (sigma2 * inflation).sqrt();
    let mut log_means = ets::forecast(&fitted.last, &fitted.params, x.len(), horizon);
    let anchored = per_year == 1 && options.phi.is_none();
    if anchored {
        anchor::blend(&x, &mut log_means);
    }
    let multipliers = ets::variance_multipliers(&fitted.params, season, horizon);
    let growth_sd = anchor::growth_sd(&x, per_year);

    let medians: Vec<f64> = log_means.iter().map(|m| m.exp()).collect();
    let cap = output::LogWidthCap::default();
    let t = stats::CentralT::new(levels, dof as f64);
    let bands: Vec<Vec<(f64, f64)>> = log_means
        .iter()
        .zip(&multipliers)
        .enumerate()
        .map(|(s, (&mean, &v))| {
            // The model's variance, plus what not knowing the growth rate
            // adds: it moves the path by h times its error.
            let h = (s + 1) as f64;
            let sd = (sigma * sigma * v + (h * growth_sd).powi(2)).sqrt();
            levels
                .iter()
                .map(|&level| {
                    let half = cap.apply(t.at(level) * sd);
                    ((mean - half).exp(), (mean + half).exp())
                })
                .collect()
        })
        .collect();

    let adjusted = uplift::apply(history, &medians, per_year, options.uplift_pp);
    let growth = growth::year_on_year(history, &adjusted, per_year);
    let points = adjusted
        .iter()
        .zip(&medians)
        .zip(bands)
        .zip(growth)
        .map(|(((&mean, &base), band), growth)| {
            let scale = mean / base;
            wire::ForecastPoint {
                mean,
                growth,
                intervals: levels
                    .iter()
                    .zip(band)
                    .map(|(&level, (lower, upper))| wire::Interval {
                        level,
                        lower: lower * scale,
                        upper: upper * scale,
                    })
                    .collect(),
            }
        })
        .collect();

    let p = fitted.params;
    let mut fitted_values = vec![
        ("alpha", p.alpha),
        ("beta", p.beta),
        ("phi", p.phi),
        ("sigma_log", sigma),
        ("interval_inflation", inflation),
        ("level", fitted.last.level.exp()),
        ("trend_growth_pct", (fitted.last.trend.exp() - 1.0) * 100.0),
    ];
    if season > 0 {
        fitted_values.push(("gamma", p.gamma));
    }
    let model = if !spec.trend {
        if season > 0 {
            "ETS(A,N,A)"
        } else {
            "ETS(A,N,N)"
        }
    } else if season > 0 {
        "ETS(A,Ad,A)"
    } else {
        "ETS(A,Ad,N)"
    };
    let shape = if spec.trend {
        format!("growth compounds and fades with damping φ = {:.3}", p.phi)
    } else {
        "the data showed no trend worth extrapolating (AICc), so the fitted model holds the level"
            .to_owned()
    };
    let mut notes = vec![
        format!("{model} on log values: {shape}."),
        if estimate_initial {
            "Smoothing parameters and initial states estimated by least squares (Gaussian likelihood).".into()
        } else {
            format!(
                "Smoothing parameters estimated by least squares; initial states set from the first observations \
                 (estimating them needs {} observations).",
                10 + 4 * season
            )
        },
        "Points are medians (exp of the log-scale forecast); intervals are log-normal with a Student-t quantile, \
         so asymmetric and positive, include the uncertainty of the growth rate itself, and are widened where \
         in-sample multi-step errors exceed the model's own variance."
            .into(),
    ];
    notes.extend(cap.note());
    if anchored {
        notes.push(format!(
            "Annual: the path is the mean of the fitted one and the series' {}-year compound annual growth fading by {} \
             a year, so a recent burst of growth is not compounded at full speed.",
            anchor::ANCHOR_YEARS,
            anchor::ANCHOR_DAMPING
        ));
    }
    if options.phi.is_some() {
        notes.push(format!("Damping fixed by the caller at {:.3}.", p.phi));
    }
    if options.uplift_pp != 0.0 {
        notes.push(format!(
            "AI uplift: {:+.1} percentage points added to every period's year-on-year growth; intervals scaled with the path.",
            options.uplift_pp
        ));
    }
    Ok(wire::ForecastOutput {
        points,
        fitted: fitted_values
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        notes,
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(
        values: &[f64],
        periods_per_year: u32,
        horizon: u32,
        params: &[(&str, f64)],
    ) -> wire::ForecastInput {
        use stratus_plugin::input::{forecast_input, with_params};
        with_params(
            forecast_input(
                values,
                periods_per_year,
                horizon,
                &Canalys.description().params,
            ),
            params,
        )
    }

    fn wiggly_growth(n: usize) -> Vec<f64> {
        (0..n)
            .map(|t| 20.0 * (0.1 * t as f64 + 0.04 * ((t * 7 % 5) as f64 - 2.0)).exp())
            .collect()
    }

    #[test]
    fn a_constant_growth_series_is_forecast_at_that_growth() {
        let series: Vec<f64> = (0..12).map(|t| 100.0 * 1.1f64.powi(t)).collect();
        // Undamped, the trend continues exactly.
        let out = Canalys
            .forecast(&input(&series, 1, 5, &[("damping", 1.0)]))
            .unwrap();
        for p in &out.points {
            assert!((p.growth - 10.0).abs() < 0.05, "growth {}", p.growth);
        }
        // Estimated damping (≤ 0.98), blended with the anchor fading at 0.9
        // a year, fades it, slowly and monotonically: the first year keeps
        // most of the 10%.
        let out = Canalys.forecast(&input(&series, 1, 5, &[])).unwrap();
        assert!(
            (9.0..10.0).contains(&out.points[0].growth),
            "first-year growth {}",
            out.points[0].growth
        );
        assert!(out.points[4].growth > 5.0, "{}", out.points[4].growth);
        assert!(
            out.points
                .windows(2)
                .all(|w| w[1].growth <= w[0].growth + 1e-9)
        );
    }

    #[test]
    fn intervals_nest_widen_and_stay_positive_and_asymmetric() {
        let out = Canalys
            .forecast(&input(&wiggly_growth(15), 1, 6, &[]))
            .unwrap();
        let mut previous_width = 0.0;
        for p in &out.points {
            let (i80, i95) = (&p.intervals[0], &p.intervals[1]);
            assert!(
                i95.lower < i80.lower
                    && i80.lower < p.mean
                    && p.mean < i80.upper
                    && i80.upper < i95.upper
            );
            assert!(i95.lower > 0.0);
            // Log-normal: more room above the median than below.
            assert!(i95.upper - p.mean > p.mean - i95.lower);
            let width = i95.upper - i95.lower;
            assert!(width > previous_width);
            previous_width = width;
        }
    }

    #[test]
    fn results_are_deterministic() {
        let request = input(&wiggly_growth(25), 1, 4, &[]);
        assert_eq!(
            Canalys.forecast(&request).unwrap(),
            Canalys.forecast(&request).unwrap()
        );
    }

    #[test]
    fn the_uplift_adds_points_to_growth() {
        let request = input(&wiggly_growth(15), 1, 3, &[]);
        let base = Canalys.forecast(&request).unwrap();
        let lifted = Canalys
            .forecast(&input(&wiggly_growth(15), 1, 3, &[("ai_uplift_pp", 5.0)]))
            .unwrap();
        for (b, l) in base.points.iter().zip(&lifted.points) {
            assert!(
                (l.growth - (b.growth + 5.0)).abs() < 1e-9,
                "{} vs {}",
                l.growth,
                b.growth
            );
        }
    }

    #[test]
    fn quarterly_seasonality_is_captured() {
        let pattern = [0.0, 0.15, -0.1, 0.25];
        let series: Vec<f64> = (0..40)
            .map(|t| 50.0 * (0.02 * t as f64 + pattern[t % 4]).exp())
            .collect();
        let out = Canalys.forecast(&input(&series, 4, 4, &[])).unwrap();
        // Next quarters are positions 0..3 of the cycle; the seasonal shape must show.
        let means: Vec<f64> = out.points.iter().map(|p| p.mean).collect();
        assert!(
            means[3] > means[1] && means[1] > means[0] && means[0] > means[2],
            "{means:?}"
        );
        assert!(out.fitted.contains_key("gamma"));
    }

    #[test]
    fn refuses_non_positive_values_and_short_series_naming_the_field() {
        let err = Canalys
            .forecast(&input(&[1.0, 2.0, 0.0, 3.0, 4.0], 1, 1, &[]))
            .unwrap_err();
        assert_eq!(err.field, "series.observations[2].value");
        let err = Canalys
            .forecast(&input(&[1.0, 2.0, 3.0], 1, 1, &[]))
            .unwrap_err();
        assert_eq!(err.field, "series.observations");
        assert!(err.message.contains("at least 4"), "{}", err.message);
        let err = Canalys.forecast(&input(&[1.0; 9], 4, 1, &[])).unwrap_err();
        assert!(err.message.contains("at least 10"), "{}", err.message);
    }
}
