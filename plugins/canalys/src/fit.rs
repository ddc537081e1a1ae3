//! Estimating the smoothing parameters (and, with enough data, the initial
//! states) by least squares on one-step errors, which is Gaussian maximum
//! likelihood for additive errors. The optimiser is argmin's Nelder–Mead:
//! derivative-free, robust to the flat regions these objectives have, and
//! deterministic from a fixed starting simplex.
//!
//! Bounds are enforced by construction: each smoothing parameter is a
//! logistic transform of an unbounded coordinate, so any point the optimiser
//! visits is admissible (0 < β < α < 1, 0 < γ < 1 − α, φ in its range).

use argmin::core::{CostFunction, Error, Executor, State};
use argmin::solver::neldermead::NelderMead;

use crate::ets::{self, Params, States};

/// Damping range when it is estimated (the usual bounds: strong enough damping
/// to temper long horizons, never below 0.8).
pub const PHI_RANGE: (f64, f64) = (0.8, 0.98);
const ALPHA_RANGE: (f64, f64) = (1e-4, 0.9999);
const MAX_ITERS: u64 = 600;

/// What is fixed before fitting.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// Seasons per year used (0 or 1: non-seasonal).
    pub season: usize,
    /// A fixed damping, or `None` to estimate it within [`PHI_RANGE`].
    pub phi: Option<f64>,
    /// Whether initial states are estimated (else kept at their heuristic values).
    pub estimate_initial: bool,
}

/// A fitted model.
#[derive(Debug, Clone)]
pub struct Fit {
    /// Estimated parameters.
    pub params: Params,
    /// Initial states used.
    pub initial: States,
    /// States after the last observation.
    pub last: States,
    /// Sum of squared one-step errors.
    pub sse: f64,
    /// Number of estimated quantities (parameters and free initial states).
    pub estimated: usize,
}

fn logistic(u: f64) -> f64 {
    1.0 / (1.0 + (-u).exp())
}

fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

fn within((lo, hi): (f64, f64), u: f64) -> f64 {
    lo + (hi - lo) * logistic(u)
}

fn inverse_within((lo, hi): (f64, f64), value: f64) -> f64 {
    logit(((value - lo) / (hi - lo)).clamp(1e-6, 1.0 - 1e-6))
}

/// Heuristic initial states from the first observations (classical
/// decomposition of the first two cycles when seasonal).
pub fn heuristic_initial(x: &[f64], season: usize) -> States {
    if season <= 1 {
        let steps = (x.len() - 1).min(3);
        let trend = (x[steps] - x[0]) / steps as f64;
        return States {
            level: x[0] - trend,
            trend,
            season: vec![],
        };
    }
    let m = season;
    let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len() as f64;
    let (first, second) = (mean(&x[..m]), mean(&x[m..2 * m]));
    let trend = (second - first) / m as f64;
    // The first cycle's mean sits at step (m + 1) / 2 after the initial state.
    let level = first - trend * (m as f64 + 1.0) / 2.0;
    let mut effects: Vec<f64> = (0..m)
        .map(|i| {
            let detrended = |t: usize| x[t] - (level + trend * (t as f64 + 1.0));
            (detrended(i) + detrended(i + m)) / 2.0
        })
        .collect();
    let shift = mean(&effects);
    effects.iter_mut().for_each(|e| *e -= shift);
    States {
        level,
        trend,
        season: effects,
    }
}

/// The objective: the optimiser's coordinates decoded into a model, scored
/// by the SSE of its one-step errors.
struct Problem<'a> {
    x: &'a [f64],
    spec: Spec,
    start: States,
}

impl Problem<'_> {
    fn seasonal(&self) -> bool {
        self.spec.season > 1
    }

    fn decode(&self, u: &[f64]) -> (Params, States) {
        let alpha = within(ALPHA_RANGE, u[0]);
        let beta = alpha * logistic(u[1]);
        let mut i = 2;
        let phi = match self.spec.phi {
            Some(phi) => phi,
            None => {
                i += 1;
                within(PHI_RANGE, u[i - 1])
            }
        };
        let gamma = if self.seasonal() {
            i += 1;
            (1.0 - alpha) * logistic(u[i - 1])
        } else {
            0.0
        };
        let mut init = self.start.clone();
        if self.spec.estimate_initial {
            init.level = u[i];
            init.trend = u[i + 1];
            i += 2;
            if self.seasonal() {
                let m = init.season.len();
                init.season[..m - 1].copy_from_slice(&u[i..i + m - 1]);
                // Seasonal effects sum to zero, so the last one is implied.
                init.season[m - 1] = -init.season[..m - 1].iter().sum::<f64>();
            }
        }
        (
            Params {
                alpha,
                beta,
                gamma,
                phi,
            },
            init,
        )
    }

    fn start_point(&self) -> Vec<f64> {
        let alpha = 0.5;
        let mut u = vec![inverse_within(ALPHA_RANGE, alpha), logit(0.2)];
        if self.spec.phi.is_none() {
            u.push(inverse_within(PHI_RANGE, 0.9));
        }
        if self.seasonal() {
            u.push(logit(0.1));
        }
        if self.spec.estimate_initial {
            u.push(self.start.level);
            u.push(self.start.trend);
            if self.seasonal() {
                u.extend_from_slice(&self.start.season[..self.start.season.len() - 1]);
            }
        }
        u
    }

    /// The starting simplex: the start point and one step along each axis,
    /// scaled to each coordinate's units (logit units for parameters, the
    /// series' own spread for states).
    fn simplex(&self, start: &[f64]) -> Vec<Vec<f64>> {
        let smoothing = 2 + usize::from(self.spec.phi.is_none()) + usize::from(self.seasonal());
        let spread = spread(self.x);
        let mut vertices = vec![start.to_vec()];
        for i in 0..start.len() {
            let mut v = start.to_vec();
            v[i] += match i.checked_sub(smoothing) {
                None => 1.0,
                // The trend is a per-period change: scale its step to one.
                Some(1) => 0.1 * spread / self.x.len() as f64,
                Some(_) => 0.1 * spread,
            };
            vertices.push(v);
        }
        vertices
    }
}

fn spread(x: &[f64]) -> f64 {
    let (lo, hi) = x
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    (hi - lo).max(1e-6)
}

impl CostFunction for Problem<'_> {
    type Param = Vec<f64>;
    type Output = f64;

    fn cost(&self, u: &Self::Param) -> Result<f64, Error> {
        let (params, init) = self.decode(u);
        let sse = ets::filter(self.x, &params, &init).sse;
        Ok(if sse.is_finite() { sse } else { f64::MAX })
    }
}

/// Fits the model to log values `x`. Errors only if the optimiser fails,
/// which with finite input it does not.
pub fn fit(x: &[f64], spec: Spec) -> Result<Fit, Error> {
    let start = heuristic_initial(x, spec.season);
    let problem = Problem { x, spec, start };
    let start_point = problem.start_point();
    let solver = NelderMead::new(problem.simplex(&start_point)).with_sd_tolerance(1e-10)?;
    let result = Executor::new(problem, solver)
        .configure(|state| state.max_iters(MAX_ITERS))
        .run()?;
    let best = result
        .state()
        .get_best_param()
        .cloned()
        .unwrap_or(start_point);
    let problem = result
        .problem()
        .problem
        .as_ref()
        .ok_or_else(|| Error::msg("the optimiser lost its problem"))?;
    let (params, initial) = problem.decode(&best);
    let filtered = ets::filter(x, &params, &initial);
    Ok(Fit {
        params,
        last: filtered.last,
        sse: filtered.sse,
        estimated: best.len(),
        initial,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transforms_respect_the_bounds() {
        let problem = Problem {
            x: &[1.0, 2.0, 3.0, 4.0],
            spec: Spec {
                season: 4,
                phi: None,
                estimate_initial: false,
            },
            start: States {
                level: 0.0,
                trend: 0.0,
                season: vec![0.0; 4],
            },
        };
        for u in [-50.0, -1.0, 0.0, 1.0, 50.0] {
            let (p, _) = problem.decode(&[u, u, u, u]);
            assert!(p.alpha > 0.0 && p.alpha < 1.0);
            assert!(p.beta >= 0.0 && p.beta <= p.alpha);
            assert!(p.gamma >= 0.0 && p.gamma <= 1.0 - p.alpha);
            assert!(p.phi >= PHI_RANGE.0 && p.phi <= PHI_RANGE.1);
        }
    }

    #[test]
    fn fitting_never_does_worse_than_its_start() {
        let x: Vec<f64> = (0..20)
            .map(|t| (t as f64 * 0.1).sin() + 0.05 * t as f64)
            .collect();
        let spec = Spec {
            season: 1,
            phi: None,
            estimate_initial: true,
        };
        let fitted = fit(&x, spec).unwrap();
        let problem = Problem {
            x: &x,
            spec,
            start: heuristic_initial(&x, 1),
        };
        let start_cost = problem.cost(&problem.start_point()).unwrap();
        assert!(fitted.sse <= start_cost);
    }
}
