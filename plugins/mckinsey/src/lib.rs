//! `mckinsey`: scenario sizing in the style of McKinsey's market outlooks,
//! which size a market top-down and give a range ("China's public cloud could
//! reach up to US$90bn by 2025").
//!
//! Market value is modelled as potential × an adoption S-curve (logistic),
//! fitted to the history ([`curve`]). Three named scenarios vary the potential
//! and the adoption speed: `conservative`, `base`, `accelerated`. Every
//! scenario starts from the last observation, so they fan out from today's
//! value rather than jump; the base path is also the response's central
//! `points`, with intervals on the log scale from the fit's parameter
//! uncertainty (delta method) plus the residual noise: a Student-t quantile
//! (few residuals are left after the curve's parameters on short series),
//! never narrowing with the horizon, and capped at a factor of 10 either
//! side of the path (noted). An analyst can pin the potential (a top-down
//! TAM) and set the scenario multipliers.

pub mod curve;

use std::collections::HashMap;

use curve::Curve;
use stratus_plugin::output;
use stratus_plugin::params::Param;
use stratus_plugin::{Cadence, ForecastModel, ModelError, Period, growth, stats, wire};

/// The mckinsey model.
#[derive(Debug, Default)]
pub struct McKinsey;

/// Fewest observations: three curve parameters plus two degrees of freedom.
pub const MIN_OBSERVATIONS: usize = 5;
/// A fitted potential above this multiple of the largest observation means
/// the history shows no bend yet: the potential is not identified.
const UNIDENTIFIED_RATIO: f64 = 20.0;
/// A potential within this factor of the latest value means saturation.
const SATURATED_RATIO: f64 = 1.02;

/// A top-down potential, or 0 to estimate it.
const POTENTIAL: Param = Param::new(
    "potential",
    "Pin the market potential (a top-down TAM, in the series' unit); 0 estimates it from the history.",
    0.0,
    0.0,
    1e15,
);
const CONSERVATIVE_POTENTIAL: Param = Param::new(
    "conservative_potential",
    "Conservative scenario: multiple of the room left to grow (potential − latest value).",
    0.5,
    0.1,
    1.0,
);
const CONSERVATIVE_SPEED: Param = Param::new(
    "conservative_speed",
    "Conservative scenario: multiple of the adoption speed.",
    0.8,
    0.1,
    1.0,
);
const ACCELERATED_POTENTIAL: Param = Param::new(
    "accelerated_potential",
    "Accelerated scenario: multiple of the room left to grow (potential − latest value).",
    2.0,
    1.0,
    10.0,
);
const ACCELERATED_SPEED: Param = Param::new(
    "accelerated_speed",
    "Accelerated scenario: multiple of the adoption speed.",
    1.25,
    1.0,
    5.0,
);

/// Scenario multipliers read from the request.
#[derive(Debug, Clone, Copy)]
struct Scenarios {
    conservative: (f64, f64),
    accelerated: (f64, f64),
}

impl ForecastModel for McKinsey {
    fn description(&self) -> wire::ModelDescription {
        wire::ModelDescription {
            name: "mckinsey".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Market potential × logistic adoption S-curve, fitted to history; conservative / base / \
                          accelerated scenarios vary the room left to grow and the adoption speed."
                .into(),
            params: [
                POTENTIAL,
                CONSERVATIVE_POTENTIAL,
                CONSERVATIVE_SPEED,
                ACCELERATED_POTENTIAL,
                ACCELERATED_SPEED,
            ]
            .iter()
            .map(Param::spec)
            .collect(),
            ..Default::default()
        }
    }

    fn forecast(&self, input: &wire::ForecastInput) -> Result<wire::ForecastOutput, ModelError> {
        let series = input
            .series
            .as_ref()
            .ok_or_else(|| ModelError::internal("no series"))?;
        let raw: Vec<f64> = series.observations.iter().map(|o| o.value).collect();
        let per_year = f64::from(input.periods_per_year.max(1));
        // An S-curve has no season: fit it to the seasonally adjusted series
        // (classical multiplicative indices, when M4's test finds a season)
        // and put the season back on every path and interval.
        let m = input.periods_per_year.max(1) as usize;
        let indices = stratus_plugin::seasonal::indices(&raw, m);
        let y: Vec<f64> = match &indices {
            Some(s) => raw.iter().enumerate().map(|(i, v)| v / s[i % m]).collect(),
            None => raw.clone(),
        };
        let params = &input.params;
        let scenarios = Scenarios {
            conservative: (
                CONSERVATIVE_POTENTIAL.read(params),
                CONSERVATIVE_SPEED.read(params),
            ),
            accelerated: (
                ACCELERATED_POTENTIAL.read(params),
                ACCELERATED_SPEED.read(params),
            ),
        };
        let pinned = Some(POTENTIAL.read(params)).filter(|&p| p > 0.0);
        // The host sends validated labels of this cadence; the start year
        // only dates the fitted curve's midpoint in the notes.
        let start_year = Cadence::from_periods_per_year(input.periods_per_year)
            .zip(series.observations.first())
            .and_then(|(cadence, o)| cadence.parse(&o.period))
            .map_or(0.0, Period::fractional_year);
        let sizing = Sizing {
            y: &y,
            per_year,
            start_year,
            horizon: input.horizon as usize,
            levels: &input.levels,
        };
        let mut output = size(&sizing, Assumptions { pinned, scenarios })?;
        if let Some(indices) = indices {
            reseasonalise(&mut output, &indices, raw.len(), &raw, m);
        }
        stratus_plugin::output::ensure_representable(&output)?;
        Ok(output)
    }
}

/// Multiplies every path and interval of `output` by the seasonal index of
/// its period (the first forecast period is observation `n`), recomputes
/// growth against the raw history, and says so in the notes.
fn reseasonalise(
    output: &mut wire::ForecastOutput,
    indices: &[f64],
    n: usize,
    raw: &[f64],
    m: usize,
) {
    let apply = |points: &mut Vec<wire::ForecastPoint>| {
        for (s, point) in points.iter_mut().enumerate() {
            let index = indices[(n + s) % m];
            point.mean *= index;
            for interval in &mut point.intervals {
                interval.lower *= index;
                interval.upper *= index;
            }
        }
        let means: Vec<f64> = points.iter().map(|p| p.mean).collect();
        for (point, growth) in points.iter_mut().zip(growth::year_on_year(raw, &means, m)) {
            point.growth = growth;
        }
    };
    apply(&mut output.points);
    for scenario in &mut output.scenarios {
        apply(&mut scenario.points);
    }
    output.notes.push(format!(
        "Seasonal: the curve was fitted to the seasonally adjusted series (classical multiplicative indices over {m} periods a year), and the season put back on every path."
    ));
}

/// The series being sized and what the caller asks of it.
#[derive(Debug, Clone, Copy)]
struct Sizing<'a> {
    /// The (seasonally adjusted) values, oldest first.
    y: &'a [f64],
    per_year: f64,
    /// The first observation's time in years: dates the curve's midpoint.
    start_year: f64,
    horizon: usize,
    levels: &'a [f64],
}

/// What the caller assumes beyond the data.
#[derive(Debug, Clone, Copy)]
struct Assumptions {
    /// A top-down potential, instead of the fitted one.
    pinned: Option<f64>,
    scenarios: Scenarios,
}

/// Fits the curve, draws the base path with intervals and the scenarios.
fn size(sizing: &Sizing<'_>, assumptions: Assumptions) -> Result<wire::ForecastOutput, ModelError> {
    let Sizing {
        y,
        per_year,
        start_year,
        horizon,
        levels,
    } = *sizing;
    let Assumptions { pinned, scenarios } = assumptions;
    let peak = check_sizable(y, pinned)?;

    let t: Vec<f64> = (0..y.len()).map(|i| i as f64 / per_year).collect();
    let (t_last, y_last) = (t[t.len() - 1], y[y.len() - 1]);
    // Every fit starts from three guesses; when none converges the series
    // has no S-shape the curve can follow (it swings wildly, say): that is
    // the input's doing, told to the caller, not a failure of the model.
    let fitted = curve::fit(&t, y, pinned).ok_or_else(|| {
        ModelError::invalid(
            "series.observations",
            "no S-curve fits this series (the fit did not converge from any start); \
             mckinsey suits series that grow towards a ceiling; try canalys or naive",
        )
    })?;
    let dof = (y.len() as f64 - if pinned.is_some() { 2.0 } else { 3.0 }).max(1.0);
    let sigma2 = fitted.sse / dof;
    let mut notes = vec![
        "Market value = potential × logistic adoption curve, fitted to log values by Levenberg–Marquardt.".to_owned(),
        "Scenarios start from the last observation and vary the room left to grow (potential − latest value) and the adoption speed.".to_owned(),
    ];
    let (base, unidentified) = base_curve(fitted.curve, y, &t, peak, pinned, &mut notes);
    let saturated = base.potential <= SATURATED_RATIO * y_last;
    if saturated {
        notes.push("The series has reached its fitted potential: the paths stay flat.".into());
    }

    let future: Vec<f64> = (1..=horizon)
        .map(|h| t_last + h as f64 / per_year)
        .collect();
    let path = |potential: f64, speed: f64| -> (Vec<f64>, f64) {
        // A scenario's potential can never sit below today's value.
        let potential = potential.max(y_last);
        match Curve::through(potential, speed, t_last, y_last) {
            Some(curve) if !saturated => {
                (future.iter().map(|&t| curve.value(t)).collect(), potential)
            }
            _ => (vec![y_last; horizon], potential),
        }
    };
    let (base_path, base_potential) = path(base.potential, base.speed);
    let (low_p, low_r) = scenarios.conservative;
    let (high_p, high_r) = scenarios.accelerated;
    // Scenarios scale the room left to grow (potential − today's value), not
    // the potential itself: 0.8 × a potential just above today's market
    // would fall below it and flatten the path, while a market still growing
    // grows in a conservative view too, only less.
    let headroom = (base.potential - y_last).max(0.0);
    let (conservative, conservative_potential) =
        path(y_last + headroom * low_p, base.speed * low_r);
    let (accelerated, accelerated_potential) =
        path(y_last + headroom * high_p, base.speed * high_r);

    let uncertainty = Uncertainty {
        fitted: &fitted,
        base,
        peak,
        fitted_potential: fitted.curve.potential,
        sigma2,
        no_covariance: unidentified || saturated,
        t_last,
        y_last,
        per_year,
        degenerate: std::cell::Cell::new(false),
    };
    let per_year_usize = per_year as usize;
    // Log-scale spreads per step, never narrowing with the horizon (a step
    // whose covariance is degenerate falls back to the noise alone, which
    // may be narrower than the step before).
    let log_sds: Vec<f64> = (1..=horizon)
        .scan(0.0f64, |widest, h| {
            *widest = widest.max(uncertainty.log_sd(h));
            Some(*widest)
        })
        .collect();
    let cap = output::LogWidthCap::default();
    let t = stats::CentralT::new(levels, dof);
    let points_of = |values: &[f64], with_intervals: bool| -> Vec<wire::ForecastPoint> {
        let growth = growth::year_on_year(y, values, per_year_usize);
        values
            .iter()
            .zip(growth)
            .enumerate()
            .map(|(h, (&mean, growth))| wire::ForecastPoint {
                mean,
                growth,
                intervals: if with_intervals {
                    // Student-t: σ² is estimated from the residuals left
                    // after the curve's parameters, few on short series.
                    output::intervals(
                        levels,
                        mean.ln(),
                        |level| cap.apply(t.at(level) * log_sds[h]),
                        f64::exp,
                    )
                } else {
                    Vec::new()
                },
            })
            .collect()
    };

    let fitted_values: HashMap<String, f64> = [
        ("potential", base_potential),
        ("growth_rate", base.speed),
        (
            "midpoint_year",
            start_year
                + Curve::through(base_potential, base.speed, t_last, y_last)
                    .map_or(base.midpoint, |c| c.midpoint),
        ),
        ("sigma_log", sigma2.sqrt()),
        ("conservative_potential", conservative_potential),
        ("accelerated_potential", accelerated_potential),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();

    let points = points_of(&base_path, true);
    notes.extend(cap.note());
    if uncertainty.degenerate.get() {
        notes.push(
            "The fit cannot measure its own parameter uncertainty on this series (the covariance of the potential and \
             speed is degenerate), so the intervals carry the residual noise only, widening like a random walk: \
             treat them as a lower bound on the uncertainty."
                .to_owned(),
        );
    }
    Ok(wire::ForecastOutput {
        points,
        scenarios: vec![
            wire::Scenario {
                name: "conservative".into(),
                points: points_of(&conservative, false),
            },
            wire::Scenario {
                name: "base".into(),
                points: points_of(&base_path, false),
            },
            wire::Scenario {
                name: "accelerated".into(),
                points: points_of(&accelerated, false),
            },
        ],
        fitted: fitted_values,
        notes,
    })
}

/// Refuses a series the curve cannot size, and a pinned potential at or
/// below the history; the historical peak otherwise.
fn check_sizable(y: &[f64], pinned: Option<f64>) -> Result<f64, ModelError> {
    stratus_plugin::input::require_positive(y, "mckinsey sizes markets and needs positive values")?;
    if y.len() < MIN_OBSERVATIONS {
        return Err(ModelError::invalid(
            "series.observations",
            format!(
                "mckinsey needs at least {MIN_OBSERVATIONS} observations to fit an S-curve (3 parameters); the series has {}",
                y.len()
            ),
        ));
    }
    let peak = y.iter().copied().fold(0.0, f64::max);
    if let Some(p) = pinned
        && p <= peak
    {
        return Err(ModelError::invalid(
            "params[potential]",
            format!("a pinned potential must exceed the largest observed value ({peak}); got {p}"),
        ));
    }

    Ok(peak)
}

/// The curve the paths follow: the fitted one, with its potential raised
/// when the latest growth contradicts it, or an inflection-now curve when the
/// data cannot place a ceiling; whether the latter (unidentified) applies.
/// Says what it changed in `notes`.
fn base_curve(
    fitted: Curve,
    y: &[f64],
    t: &[f64],
    peak: f64,
    pinned: Option<f64>,
    notes: &mut Vec<String>,
) -> (Curve, bool) {
    let (t_last, y_last) = (t[t.len() - 1], y[y.len() - 1]);
    let mut base = fitted;
    // Recent growth, per year on the log scale, over the last (up to) three steps.
    let recent = y.len().min(4);
    let recent_rate =
        (y_last / y[y.len() - recent]).ln() / (t_last - t[t.len() - recent]).max(1e-9);
    let mut unidentified = pinned.is_none() && base.potential > UNIDENTIFIED_RATIO * peak;
    if pinned.is_none() && !unidentified && recent_rate > 0.0 {
        // On a logistic, growth at value y is r·(1 − y/P). A fitted ceiling
        // that leaves less room than today's growth implies contradicts the
        // latest data; raise it so the curve starts at today's growth.
        if recent_rate >= 0.95 * base.speed {
            unidentified = true;
        } else {
            let implied = y_last / (1.0 - recent_rate / base.speed);
            if implied > base.potential {
                notes.push(format!(
                    "The best-fitting curve levels off at {:.2}, but the last years grew {:.1}% a year; the potential is \
                     raised to {implied:.2} so the curve starts at today's growth.",
                    base.potential,
                    (recent_rate.exp() - 1.0) * 100.0
                ));
                base.potential = implied;
            }
        }
    }
    if unidentified {
        // Still exponential: the data cannot place the ceiling. Assume the
        // market is at its inflection now (value = potential / 2), growing at
        // its recent rate, which on a logistic is half the speed.
        base = Curve {
            potential: 2.0 * y_last,
            speed: (2.0 * recent_rate).max(1e-3),
            midpoint: t_last,
        };
        notes.push(format!(
            "The history shows no S-bend yet, so the potential is set as if the market were at its inflection now: \
             2 × the latest value = {:.2}. Pin `potential` for a top-down TAM.",
            base.potential
        ));
    } else if let Some(p) = pinned {
        notes.push(format!("Potential pinned by the caller at {p}."));
    }
    (base, unidentified)
}

/// What the base path's interval widths are computed from.
struct Uncertainty<'a> {
    fitted: &'a curve::Fitted,
    base: Curve,
    /// The historical peak: the floor of the potential's coordinate.
    peak: f64,
    /// The potential the fit found (before any adjustment), where its
    /// coordinate's covariance was measured.
    fitted_potential: f64,
    sigma2: f64,
    /// Unidentified or saturated fits: the covariance does not describe them.
    no_covariance: bool,
    t_last: f64,
    y_last: f64,
    per_year: f64,
    /// Set when the covariance gave no usable width at some step (see
    /// [`MAX_LOG_SD`]), so the notes can say what was done instead.
    degenerate: std::cell::Cell<bool>,
}

/// The widest log-scale standard deviation the fit's covariance may give: at
/// 5 a 95% interval already spans a factor of e^19.6; beyond it (or when
/// the covariance is not finite, as for a weakly identified potential) the
/// parameter uncertainty is not measurable from the data, and the interval
/// falls back to the residual noise.
const MAX_LOG_SD: f64 = 5.0;

impl Uncertainty<'_> {
    /// Standard deviation of the log of the base path `h` steps ahead: the
    /// fit's parameter uncertainty carried through the anchored curve (delta
    /// method, numerical gradient in the potential and speed coordinates)
    /// plus the residual noise. Without a usable covariance, the noise alone,
    /// widening with the horizon like a random walk.
    fn log_sd(&self, h: usize) -> f64 {
        let years = h as f64 / self.per_year;
        let t = self.t_last + years;
        let covariance = self
            .fitted
            .covariance
            .as_ref()
            .filter(|_| !self.no_covariance);
        let noise_only = (self.sigma2 * (1.0 + years)).sqrt();
        let Some(cov) = covariance else {
            return noise_only;
        };
        let log_value = |potential: f64, speed: f64| {
            Curve::through(potential, speed, self.t_last, self.y_last)
                .map_or(self.y_last.ln(), |c| c.value(t).ln())
        };
        let eps = 1e-5;
        let (potential, speed) = (self.base.potential, self.base.speed);
        // Coordinates: a (potential, unless pinned), then b = ln(speed).
        let mut gradient = Vec::with_capacity(2);
        if !self.fitted.pinned {
            // P = peak·(1 + eᵃ) ⇒ dP/da = P − peak, at the fitted potential:
            // the absolute uncertainty of the potential carries over to an
            // adjusted one.
            let dp = (self.fitted_potential - self.peak).max(potential * 1e-6) * eps;
            gradient.push(
                (log_value(potential + dp, speed) - log_value(potential - dp, speed)) / (2.0 * eps),
            );
        }
        let (up, down) = (speed * eps.exp(), speed * (-eps).exp());
        gradient.push((log_value(potential, up) - log_value(potential, down)) / (2.0 * eps));
        let mut variance = self.sigma2;
        for (i, gi) in gradient.iter().enumerate() {
            for (j, gj) in gradient.iter().enumerate() {
                variance += gi * cov[i][j] * gj;
            }
        }
        // `f64::max` would hide a NaN variance (an infinite covariance times
        // a zero gradient): test it first.
        let sd = if variance.is_finite() {
            variance.max(self.sigma2).sqrt()
        } else {
            f64::INFINITY
        };
        if sd <= MAX_LOG_SD {
            sd
        } else {
            self.degenerate.set(true);
            noise_only
        }
    }
}

#[cfg(feature = "export")]
stratus_plugin::export!(forecast: McKinsey);

#[cfg(test)]
mod tests {
    use super::*;

    fn input(values: &[f64], horizon: u32, params: &[(&str, f64)]) -> wire::ForecastInput {
        use stratus_plugin::input::{forecast_input, with_params};
        with_params(
            forecast_input(values, 1, horizon, &McKinsey.description().params),
            params,
        )
    }

    fn s_curve(n: usize) -> Vec<f64> {
        (0..n)
            .map(|t| {
                100.0 / (1.0 + (-0.5 * (t as f64 - 9.0)).exp())
                    * (1.0 + 0.02 * ((t % 3) as f64 - 1.0))
            })
            .collect()
    }

    fn scenario<'a>(out: &'a wire::ForecastOutput, name: &str) -> &'a [wire::ForecastPoint] {
        &out.scenarios
            .iter()
            .find(|s| s.name == name)
            .unwrap()
            .points
    }

    #[test]
    fn scenarios_are_ordered_and_stay_under_their_potential() {
        let out = McKinsey.forecast(&input(&s_curve(14), 12, &[])).unwrap();
        let (c, b, a) = (
            scenario(&out, "conservative"),
            scenario(&out, "base"),
            scenario(&out, "accelerated"),
        );
        for h in 0..12 {
            assert!(
                c[h].mean <= b[h].mean + 1e-9 && b[h].mean <= a[h].mean + 1e-9,
                "step {h}"
            );
            assert_eq!(
                b[h].mean, out.points[h].mean,
                "the base scenario is the central path"
            );
        }
        for (name, key) in [
            ("conservative", "conservative_potential"),
            ("base", "potential"),
            ("accelerated", "accelerated_potential"),
        ] {
            let cap = out.fitted[key];
            assert!(
                scenario(&out, name).iter().all(|p| p.mean <= cap),
                "{name} exceeds {cap}"
            );
        }
    }

    #[test]
    fn a_growing_market_grows_in_every_scenario() {
        // The China series (US$bn, 2019–2024): the fitted potential sits
        // just above today's 40, so 0.8 × the potential would be below it.
        let china = [11.6, 19.3, 27.4, 30.3, 35.0, 40.0];
        let out = McKinsey.forecast(&input(&china, 6, &[])).unwrap();
        let conservative = scenario(&out, "conservative");
        assert!(conservative[0].mean > 40.0, "{conservative:?}");
        assert!(
            conservative.windows(2).all(|w| w[1].mean > w[0].mean),
            "{conservative:?}"
        );
    }

    #[test]
    fn a_seasonal_quarterly_series_keeps_its_season() {
        use stratus_plugin::input::forecast_input;
        let pattern = [0.8, 1.0, 1.3, 0.9];
        // A slow adoption curve under a strong season (M4's test, like the
        // competition's, finds a season only where it dominates the trend).
        let values: Vec<f64> = (0..28)
            .map(|t| 100.0 / (1.0 + (-0.08 * (t as f64 - 14.0)).exp()) * pattern[t % 4])
            .collect();
        let request = forecast_input(&values, 4, 4, &McKinsey.description().params);
        let out = McKinsey.forecast(&request).unwrap();
        assert!(
            out.notes.iter().any(|n| n.starts_with("Seasonal")),
            "{:?}",
            out.notes
        );
        let means: Vec<f64> = out.points.iter().map(|p| p.mean).collect();
        // The next quarters are Q1..Q4: the third is the peak.
        assert!(
            means[2] > means[1] && means[2] > means[3] && means[1] > means[0],
            "{means:?}"
        );
    }

    #[test]
    fn base_intervals_nest_around_the_path() {
        let out = McKinsey.forecast(&input(&s_curve(14), 6, &[])).unwrap();
        for p in &out.points {
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
    fn output_is_deterministic() {
        let request = input(&s_curve(12), 5, &[]);
        assert_eq!(
            McKinsey.forecast(&request).unwrap(),
            McKinsey.forecast(&request).unwrap()
        );
    }

    #[test]
    fn an_exponential_series_gets_a_note_and_a_finite_potential() {
        let exponential: Vec<f64> = (0..10).map(|t| 5.0 * 1.3f64.powi(t)).collect();
        let out = McKinsey.forecast(&input(&exponential, 5, &[])).unwrap();
        let last = exponential[9];
        assert!(
            out.fitted["potential"] <= 2.0 * last + 1e-9,
            "{}",
            out.fitted["potential"]
        );
        assert!(
            out.notes.iter().any(|n| n.contains("no S-bend")),
            "{:?}",
            out.notes
        );
        assert!(
            out.points
                .iter()
                .all(|p| p.mean.is_finite() && p.mean > last)
        );
    }

    #[test]
    fn a_saturated_series_gives_flat_paths() {
        let flat: Vec<f64> = (0..12)
            .map(|t| 50.0 * (1.0 - (-(t as f64) * 1.5).exp()) + 0.001)
            .collect();
        let out = McKinsey.forecast(&input(&flat, 4, &[])).unwrap();
        let last = flat[11];
        for s in &out.scenarios {
            assert!(
                s.points.iter().all(|p| (p.mean - last).abs() < 1e-6 * last),
                "{} not flat",
                s.name
            );
        }
    }

    #[test]
    fn a_pinned_potential_is_used_and_must_exceed_the_history() {
        let out = McKinsey
            .forecast(&input(&s_curve(12), 20, &[("potential", 150.0)]))
            .unwrap();
        assert_eq!(out.fitted["potential"], 150.0);
        assert!(out.points.last().unwrap().mean > 100.0 && out.points.last().unwrap().mean < 150.0);
        let err = McKinsey
            .forecast(&input(&s_curve(12), 2, &[("potential", 10.0)]))
            .unwrap_err();
        assert_eq!(err.field, "params[potential]");
    }

    #[test]
    fn too_few_points_say_how_many_are_needed() {
        let err = McKinsey
            .forecast(&input(&[1.0, 2.0, 3.0, 4.0], 2, &[]))
            .unwrap_err();
        assert_eq!(err.field, "series.observations");
        assert!(err.message.contains("at least 5"), "{}", err.message);
    }
}
