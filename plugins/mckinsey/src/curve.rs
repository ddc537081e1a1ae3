//! The logistic adoption curve and its fit to history.
//!
//! Market value at time `t` (years since the first observation):
//!
//! ```text
//! y(t) = P / (1 + exp(−r·(t − t₀)))
//! ```
//!
//! with `P` the market potential, `r` the adoption speed (per year) and `t₀`
//! the midpoint, where growth peaks and the value is `P/2`. It is fitted to
//! log values (so early, small values weigh as much as recent ones) by
//! Levenberg–Marquardt, with `P = ŷmax·(1 + eᵃ)` and `r = eᵇ` so the potential
//! can never fall below what the history already shows and the speed stays
//! positive.

use levenberg_marquardt::{LeastSquaresProblem, LevenbergMarquardt};
use nalgebra::{DVector, Dyn, OMatrix, Owned};

/// A fitted (or scenario) curve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Curve {
    /// Market potential `P`.
    pub potential: f64,
    /// Adoption speed `r`, per year.
    pub speed: f64,
    /// Midpoint `t₀`, in years since the first observation.
    pub midpoint: f64,
}

impl Curve {
    /// The value at time `t`.
    pub fn value(&self, t: f64) -> f64 {
        self.potential / (1.0 + (-self.speed * (t - self.midpoint)).exp())
    }

    /// The curve with this potential and speed that passes through `(t, y)`,
    /// so a scenario starts from the last observation. `None` if `y` is not
    /// below the potential (no S-curve can pass there).
    pub fn through(potential: f64, speed: f64, t: f64, y: f64) -> Option<Curve> {
        if !(y > 0.0 && y < potential && speed > 0.0) {
            return None;
        }
        // y = P / (1 + e^{−r(t − t₀)})  ⇔  t₀ = t + ln(P/y − 1) / r
        let midpoint = t + (potential / y - 1.0).ln() / speed;
        Some(Curve {
            potential,
            speed,
            midpoint,
        })
    }
}

/// A least-squares fit and what is needed to judge it.
#[derive(Debug, Clone)]
pub struct Fitted {
    /// The curve.
    pub curve: Curve,
    /// Sum of squared log residuals.
    pub sse: f64,
    /// Log residuals, oldest first.
    pub residuals: Vec<f64>,
    /// Covariance of the free coordinates (a, b[, t₀]), or `None` if singular.
    pub covariance: Option<Vec<Vec<f64>>>,
    /// Whether the potential was pinned by the caller.
    pub pinned: bool,
}

/// The log-residual problem for Levenberg–Marquardt. Coordinates: `a`
/// (potential) unless pinned, `b` (speed), `t₀` (midpoint).
#[derive(Debug, Clone)]
struct Problem<'a> {
    t: &'a [f64],
    log_y: &'a [f64],
    floor: f64,
    pinned: Option<f64>,
    coords: DVector<f64>,
}

impl Problem<'_> {
    fn curve(&self, c: &DVector<f64>) -> Curve {
        let (potential, rest) = match self.pinned {
            Some(p) => (p, 0),
            None => (self.floor * (1.0 + c[0].exp()), 1),
        };
        Curve {
            potential,
            speed: c[rest].exp(),
            midpoint: c[rest + 1],
        }
    }
}

impl LeastSquaresProblem<f64, Dyn, Dyn> for Problem<'_> {
    type ResidualStorage = Owned<f64, Dyn>;
    type JacobianStorage = Owned<f64, Dyn, Dyn>;
    type ParameterStorage = Owned<f64, Dyn>;

    fn set_params(&mut self, x: &DVector<f64>) {
        self.coords.copy_from(x);
    }

    fn params(&self) -> DVector<f64> {
        self.coords.clone()
    }

    fn residuals(&self) -> Option<DVector<f64>> {
        let curve = self.curve(&self.coords);
        let r = DVector::from_iterator(
            self.t.len(),
            self.t
                .iter()
                .zip(self.log_y)
                .map(|(&t, &ly)| ly - curve.value(t).ln()),
        );
        r.iter().all(|v| v.is_finite()).then_some(r)
    }

    fn jacobian(&self) -> Option<OMatrix<f64, Dyn, Dyn>> {
        let curve = self.curve(&self.coords);
        let free = self.coords.len();
        let mut j = OMatrix::<f64, Dyn, Dyn>::zeros(self.t.len(), free);
        for (i, &t) in self.t.iter().enumerate() {
            // log y(t) = ln P − ln(1 + E), E = exp(−r(t − t₀)); residual = data − model.
            let e = (-curve.speed * (t - curve.midpoint)).exp();
            let share = if e.is_finite() { e / (1.0 + e) } else { 1.0 };
            let mut col = 0;
            if self.pinned.is_none() {
                let a = self.coords[0].exp();
                j[(i, col)] = -(a / (1.0 + a));
                col += 1;
            }
            // ∂/∂b (r = eᵇ): −share·(t − t₀)·r ; ∂/∂t₀: share·r
            j[(i, col)] = -share * (t - curve.midpoint) * curve.speed;
            j[(i, col + 1)] = share * curve.speed;
        }
        j.iter().all(|v| v.is_finite()).then_some(j)
    }
}

/// Fits the curve to `y` observed at times `t` (years). With `pinned`, the
/// potential is the caller's; otherwise it is estimated, never below the
/// largest observation. Several starting points are tried (the objective has
/// flat valleys) and the best fit kept. `None` if no start converges.
pub fn fit(t: &[f64], y: &[f64], pinned: Option<f64>) -> Option<Fitted> {
    let log_y: Vec<f64> = y.iter().map(|v| v.ln()).collect();
    let floor = y.iter().copied().fold(f64::MIN_POSITIVE, f64::max);
    let span = t.last().copied().unwrap_or(0.0) - t.first().copied().unwrap_or(0.0);
    let growth = (log_y[log_y.len() - 1] - log_y[0]) / span.max(1e-9);
    let speed = (2.0 * growth).clamp(0.05, 5.0);
    let t_last = t.last().copied().unwrap_or(0.0);
    let mut best: Option<Fitted> = None;
    for start_potential in [1.5, 3.0, 10.0] {
        let midpoint = t_last + (start_potential - 1.0f64).ln() / speed;
        let mut coords = vec![];
        if pinned.is_none() {
            coords.push((start_potential - 1.0f64).ln());
        }
        coords.extend([speed.ln(), midpoint]);
        let problem = Problem {
            t,
            log_y: &log_y,
            floor,
            pinned,
            coords: DVector::from_vec(coords),
        };
        let (solved, report) = LevenbergMarquardt::new().minimize(problem);
        if !report.termination.was_successful() && report.objective_function.is_nan() {
            continue;
        }
        let Some(residuals) = solved.residuals() else {
            continue;
        };
        let sse = residuals.norm_squared();
        if best.as_ref().is_some_and(|b| b.sse <= sse) {
            continue;
        }
        let covariance = solved.jacobian().and_then(|j| {
            let dof = (t.len() as f64 - j.ncols() as f64).max(1.0);
            let info = j.transpose() * &j;
            info.try_inverse().map(|inv| {
                let scaled = inv * (sse / dof);
                (0..scaled.nrows())
                    .map(|r| scaled.row(r).iter().copied().collect())
                    .collect()
            })
        });
        best = Some(Fitted {
            curve: solved.curve(&solved.coords),
            sse,
            residuals: residuals.iter().copied().collect(),
            covariance,
            pinned: pinned.is_some(),
        });
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_curve_through_a_point_passes_through_it() {
        let curve = Curve::through(100.0, 0.5, 3.0, 40.0).unwrap();
        assert!((curve.value(3.0) - 40.0).abs() < 1e-9);
        assert!(Curve::through(100.0, 0.5, 3.0, 120.0).is_none());
    }

    #[test]
    fn recovers_a_noisy_s_curve() {
        let truth = Curve {
            potential: 90.0,
            speed: 0.6,
            midpoint: 8.0,
        };
        let t: Vec<f64> = (0..20).map(f64::from).collect();
        // Deterministic ±2% noise.
        let y: Vec<f64> = t
            .iter()
            .enumerate()
            .map(|(i, &t)| truth.value(t) * (1.0 + 0.02 * [1.0, -1.0, 0.5, -0.5][i % 4]))
            .collect();
        let fitted = fit(&t, &y, None).unwrap();
        let c = fitted.curve;
        assert!(
            (c.potential / 90.0 - 1.0).abs() < 0.05,
            "potential {}",
            c.potential
        );
        assert!((c.speed / 0.6 - 1.0).abs() < 0.05, "speed {}", c.speed);
        assert!((c.midpoint - 8.0).abs() < 0.3, "midpoint {}", c.midpoint);
    }

    #[test]
    fn the_potential_never_falls_below_the_history() {
        // A series that fell back: the fit may not put the ceiling below its peak.
        let t: Vec<f64> = (0..8).map(f64::from).collect();
        let y = [10.0, 20.0, 35.0, 50.0, 60.0, 58.0, 57.0, 56.0];
        let fitted = fit(&t, &y, None).unwrap();
        assert!(fitted.curve.potential >= 60.0);
    }
}
