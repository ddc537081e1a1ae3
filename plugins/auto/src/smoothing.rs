//! Exponential smoothing of a (seasonally adjusted) series in error-
//! correction form: simple (level only) and damped trend, with parameters chosen by least squares of the one-step errors
//! (argmin's Nelder–Mead over logit-transformed, bounded coordinates).

use argmin::core::{CostFunction, Error, Executor, State};
use argmin::solver::neldermead::NelderMead;
use nalgebra::SVector;

/// Which smoother.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Level only: the forecast is flat.
    Simple,
    /// Level and a trend that fades with damping φ.
    Damped,
}

/// Fitted smoothing parameters.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// Level smoothing, in (0, 1).
    pub alpha: f64,
    /// Trend smoothing, at most `alpha` (0 without a trend).
    pub beta: f64,
    /// Damping, 0.8–0.98 (unused without a trend).
    pub phi: f64,
}

/// A fitted smoother.
#[derive(Debug, Clone)]
pub struct Fit {
    /// Its parameters.
    pub params: Params,
    /// Level after the last observation.
    pub level: f64,
    /// Trend after the last observation (0 without one).
    pub trend: f64,
    /// One-step in-sample forecasts, for observations 1.. (the first has
    /// none).
    pub fitted: Vec<f64>,
}

impl Fit {
    /// Forecasts for steps 1..=horizon.
    pub fn forecast(&self, horizon: usize) -> Vec<f64> {
        let mut damp = 0.0;
        let mut power = 1.0;
        (1..=horizon)
            .map(|_| {
                power *= self.params.phi;
                damp += power;
                self.level + damp * self.trend
            })
            .collect()
    }
}

/// The state after filtering `y` with `params`: level, trend, the sum of
/// squared one-step errors and the one-step forecasts.
fn filter(y: &[f64], kind: Kind, params: Params) -> (f64, f64, f64, Vec<f64>) {
    let mut level = y[0];
    let mut trend = match (kind, y.get(1)) {
        (Kind::Simple, _) | (_, None) => 0.0,
        (_, Some(&second)) => second - y[0],
    };
    let mut sse = 0.0;
    let mut fitted = Vec::with_capacity(y.len().saturating_sub(1));
    for &value in &y[1..] {
        let forecast = level + params.phi * trend;
        let error = value - forecast;
        sse += error * error;
        fitted.push(forecast);
        level = forecast + params.alpha * error;
        trend = params.phi * trend + params.beta * error;
    }
    (level, trend, sse, fitted)
}

fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

const ALPHA: (f64, f64) = (1e-4, 0.9999);
const PHI: (f64, f64) = (0.8, 0.98);

/// Parameters from optimiser coordinates.
fn decode(kind: Kind, u: &[f64]) -> Params {
    let alpha = ALPHA.0 + (ALPHA.1 - ALPHA.0) * logistic(u[0]);
    match kind {
        Kind::Simple => Params {
            alpha,
            beta: 0.0,
            phi: 1.0,
        },
        Kind::Damped => Params {
            alpha,
            beta: alpha * logistic(u[1]),
            phi: PHI.0 + (PHI.1 - PHI.0) * logistic(u[2]),
        },
    }
}

struct Objective<'a, const D: usize> {
    y: &'a [f64],
    kind: Kind,
}

impl<const D: usize> CostFunction for Objective<'_, D> {
    type Param = SVector<f64, D>;
    type Output = f64;

    fn cost(&self, u: &Self::Param) -> Result<f64, Error> {
        let (_, _, sse, _) = filter(self.y, self.kind, decode(self.kind, u.as_slice()));
        Ok(if sse.is_finite() { sse } else { f64::MAX })
    }
}

fn minimise<const D: usize>(y: &[f64], kind: Kind, start: [f64; D]) -> Result<Vec<f64>, Error> {
    let objective = Objective::<D> { y, kind };
    let start = SVector::<f64, D>::from(start);
    let scale = objective.cost(&start)?.max(1e-12);
    let mut simplex = vec![start];
    for i in 0..D {
        let mut vertex = start;
        vertex[i] += 1.0;
        simplex.push(vertex);
    }
    let solver = NelderMead::new(simplex).with_sd_tolerance(1e-6 * scale)?;
    let result = Executor::new(objective, solver)
        .configure(|state| state.max_iters(300))
        .timer(false)
        .run()?;
    let best = result.state().get_best_param().copied().unwrap_or(start);
    Ok(best.as_slice().to_vec())
}

/// Fits `kind` to `y` (at least 2 observations; a trend needs 3 to be
/// estimated, with fewer it is held at the first difference).
pub fn fit(y: &[f64], kind: Kind) -> Result<Fit, Error> {
    let coordinates = if y.len() < 3 {
        // Too short to estimate anything: moderate smoothing.
        vec![logit(0.5), logit(0.5), logit(0.5)]
    } else {
        match kind {
            Kind::Simple => minimise::<1>(y, kind, [logit(0.5)])?,
            Kind::Damped => minimise::<3>(y, kind, [logit(0.5), logit(0.2), logit(0.5)])?,
        }
    };
    let mut padded = coordinates;
    padded.resize(3, 0.0);
    let params = decode(kind, &padded);
    let (level, trend, _, fitted) = filter(y, kind, params);
    Ok(Fit {
        params,
        level,
        trend,
        fitted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_damped_trend_follows_a_line_but_fades_and_simple_stays_flat() {
        let y: Vec<f64> = (0..20).map(|i| 10.0 + 2.0 * f64::from(i)).collect();
        let damped = fit(&y, Kind::Damped).unwrap();
        let path = damped.forecast(3);
        let phi = damped.params.phi;
        // Steps of 2φ, 2φ², 2φ³ after the last value, 48.
        let mut expected = 48.0;
        let mut power = 1.0;
        for value in &path {
            power *= phi;
            expected += 2.0 * power;
            assert!((value - expected).abs() < 0.1, "{path:?} (phi {phi})");
        }
        let simple = fit(&y, Kind::Simple).unwrap();
        let flat = simple.forecast(3);
        assert!(flat.windows(2).all(|w| w[0] == w[1]));
    }

    #[test]
    fn damping_keeps_parameters_in_range() {
        let y = [5.0, 7.0, 6.0, 9.0, 11.0, 10.0, 13.0, 14.0];
        let damped = fit(&y, Kind::Damped).unwrap();
        let p = damped.params;
        assert!((0.8..=0.98).contains(&p.phi) && p.beta <= p.alpha && p.alpha < 1.0);
    }
}
