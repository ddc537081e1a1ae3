//! Estimating the model by least squares on one-step errors, which is
//! Gaussian maximum likelihood for additive errors.
//!
//! Two nested steps:
//! - For fixed smoothing parameters the one-step errors are an affine function
//!   of the initial states (the model is a linear innovations state-space
//!   model), so the best initial states follow from a small linear least-squares
//!   problem ([`optimal_initial`]), solved exactly with nalgebra.
//! - The smoothing parameters (2 to 4 of them) are then found by argmin's
//!   Nelder–Mead: derivative-free, robust to the flat regions these
//!   objectives have, and deterministic from a fixed starting simplex.
//!
//! Bounds hold by construction: each smoothing parameter is a logistic
//! transform of an unbounded coordinate (0 < β < α < 1, 0 < γ < 1 − α, φ in
//! its range), so every point the optimiser visits is admissible.

use argmin::core::{CostFunction, Error, Executor, State};
use argmin::solver::neldermead::NelderMead;
use nalgebra::{DMatrix, DVector, SVector};

use crate::ets::{self, Params, States};

/// Damping range when it is estimated (the usual bounds: strong enough damping
/// to temper long horizons, never below 0.8).
pub const PHI_RANGE: (f64, f64) = (0.8, 0.98);
const ALPHA_RANGE: (f64, f64) = (1e-4, 0.9999);
const MAX_ITERS: u64 = 400;
/// The optimiser stops when the simplex's SSEs agree to this fraction of the
/// starting SSE. Chosen on the accuracy benchmark (`benches/accuracy.py`):
/// from 10⁻⁷ to 10⁻⁴ the reported accuracy moves by less than 0.05 sMAPE
/// points and 0.5 coverage points while the evaluations fall by 40%; at 10⁻³
/// quarterly figures start to move.
const RELATIVE_TOLERANCE: f64 = 1e-4;

/// What is fixed before fitting.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// Seasons per year modelled (0: non-seasonal).
    pub season: usize,
    /// Whether the model has a (damped) trend; without one it is simple
    /// exponential smoothing of the level.
    pub trend: bool,
    /// A fixed damping, or `None` to estimate it within [`PHI_RANGE`].
    pub phi: Option<f64>,
    /// Whether initial states are estimated (else kept at their heuristic
    /// values, for series too short to estimate them without overfitting).
    pub estimate_initial: bool,
}

impl Spec {
    /// How many quantities the fit estimates: smoothing parameters plus free
    /// initial states (seasonal effects sum to zero, so m − 1 of them).
    pub fn estimated(&self) -> usize {
        let trend = if self.trend {
            1 + usize::from(self.phi.is_none())
        } else {
            0
        };
        let smoothing = 1 + trend + usize::from(self.season > 0);
        let states = if self.estimate_initial {
            1 + usize::from(self.trend) + self.season.saturating_sub(1)
        } else {
            0
        };
        smoothing + states
    }
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

/// Heuristic initial states from the first observations: the average step of
/// the first few (non-seasonal), or a classical decomposition of the first
/// two cycles (seasonal).
pub fn heuristic_initial(x: &[f64], season: usize, trend: bool) -> States {
    let mut states = heuristic_with_trend(x, season);
    if !trend {
        // Without a trend the level starts at the first cycle's mean.
        let m = season.max(1);
        states.level = x[..m].iter().sum::<f64>() / m as f64;
        states.trend = 0.0;
    }
    states
}

fn heuristic_with_trend(x: &[f64], season: usize) -> States {
    if season == 0 {
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
    // The first cycle's mean sits (m + 1) / 2 steps after the initial state.
    let level = first - trend * (m as f64 + 1.0) / 2.0;
    let detrended = |t: usize| x[t] - (level + trend * (t as f64 + 1.0));
    let mut effects: Vec<f64> = (0..m)
        .map(|i| (detrended(i) + detrended(i + m)) / 2.0)
        .collect();
    let shift = mean(&effects);
    effects.iter_mut().for_each(|e| *e -= shift);
    States {
        level,
        trend,
        season: effects,
    }
}

/// Most seasons per cycle the fit supports (monthly data).
pub const MAX_SEASON: usize = 12;
/// Free initial states at most: level, trend and m − 1 seasonal effects.
const MAX_FREE: usize = 2 + MAX_SEASON - 1;

/// The initial states that minimise the SSE for fixed parameters, and that SSE.
///
/// Moving the initial states by `δ` along a direction `d` moves every one-step
/// error by `δ · r(d)`, where `r(d)` are the errors of a zero series started
/// from `d` (the recursions are linear). So with `e₀` the errors from `start`,
/// the best move solves the least-squares problem `min ‖e₀ + R δ‖²`, i.e. the
/// normal equations `RᵀR δ = −Rᵀe₀`. Directions: level, trend (if any), and
/// for each of the first m − 1 seasons "+1 here, −1 in the last season" (the
/// effects keep summing to zero). All systems run in one pass over the data,
/// without allocating. Returns `start` if the problem is singular.
///
/// This is the objective's inner loop (it runs once per optimiser step), so
/// the shapes the server sends (annual, quarterly, monthly; with and without
/// trend) get sizes fixed at compile time, which lets the compiler unroll the
/// loops over systems; other season lengths share one general instance.
pub fn optimal_initial(x: &[f64], p: &Params, start: &States, trend: bool) -> (States, f64) {
    match (start.season.len(), trend) {
        (0, false) => optimal_initial_sized::<2, 0>(x, p, start, trend),
        (0, true) => optimal_initial_sized::<3, 0>(x, p, start, trend),
        (4, false) => optimal_initial_sized::<5, 4>(x, p, start, trend),
        (4, true) => optimal_initial_sized::<6, 4>(x, p, start, trend),
        (12, false) => optimal_initial_sized::<13, 12>(x, p, start, trend),
        (12, true) => optimal_initial_sized::<14, 12>(x, p, start, trend),
        _ => optimal_initial_sized::<{ MAX_FREE + 1 }, MAX_SEASON>(x, p, start, trend),
    }
}

/// [`optimal_initial`] with at most `S` systems and `M` seasons.
fn optimal_initial_sized<const S: usize, const M: usize>(
    x: &[f64],
    p: &Params,
    start: &States,
    trend: bool,
) -> (States, f64) {
    let m = start.season.len().min(M);
    let first_season = 1 + usize::from(trend);
    let k = first_season + m.saturating_sub(1);
    let equations = NormalEquations::<S>::accumulate::<M>(x, p, start, trend);
    let (normal, rhs, base_sse) = (equations.normal, equations.rhs, equations.base_sse);
    let Some(delta) = solve_normal(&normal, &rhs[..k]) else {
        return (start.clone(), base_sse);
    };
    // ‖e₀ + Rδ‖² at the optimum is ‖e₀‖² − δᵀ(−Rᵀe₀).
    let explained: f64 = delta.iter().zip(&rhs[..k]).map(|(d, r)| d * r).sum();
    let sse = (base_sse - explained).max(0.0);
    let mut best = start.clone();
    best.level += delta[0];
    if trend {
        best.trend += delta[1];
    }
    for s in 0..m.saturating_sub(1) {
        best.season[s] += delta[first_season + s];
        best.season[m - 1] -= delta[first_season + s];
    }
    (best, sse)
}

/// The normal equations `RᵀR δ = −Rᵀe₀` of [`optimal_initial`] (lower
/// triangle of `RᵀR` filled), for `S − 1` unknowns at most, and `‖e₀‖²`.
struct NormalEquations<const S: usize> {
    normal: [[f64; S]; S],
    rhs: [f64; S],
    base_sse: f64,
}

impl<const S: usize> NormalEquations<S> {
    /// Runs the `S` systems (the data, then one per direction) over `x` with
    /// seasonal arrays of `M` ≥ the season length. Systems beyond those the
    /// shape needs stay zero and add nothing.
    fn accumulate<const M: usize>(x: &[f64], p: &Params, start: &States, trend: bool) -> Self {
        let m = start.season.len().min(M);
        let first_season = 1 + usize::from(trend);
        let k = first_season + m.saturating_sub(1);
        let mut level = [0.0; S];
        let mut slope = [0.0; S];
        let mut season = [[0.0; M]; S];
        level[0] = start.level;
        slope[0] = start.trend;
        season[0][..m].copy_from_slice(&start.season[..m]);
        for j in 0..k.min(S - 1) {
            let system = j + 1;
            match j {
                0 => level[system] = 1.0,
                1 if trend => slope[system] = 1.0,
                s => {
                    season[system][s - first_season] = 1.0;
                    season[system][m - 1] = -1.0;
                }
            }
        }
        let mut normal = [[0.0; S]; S];
        let mut rhs = [0.0; S];
        let mut base_sse = 0.0;
        let mut errors = [0.0; S];
        let mut position = 0;
        for &value in x {
            for i in 0..S {
                let observed = if i == 0 { value } else { 0.0 };
                let s = if M > 0 { season[i][position] } else { 0.0 };
                let damped = p.phi * slope[i];
                let error = observed - (level[i] + damped + s);
                errors[i] = error;
                level[i] += damped + p.alpha * error;
                slope[i] = damped + p.beta * error;
                if M > 0 {
                    season[i][position] = s + p.gamma * error;
                }
            }
            if M > 0 {
                position += 1;
                if position == m {
                    position = 0;
                }
            }
            base_sse += errors[0] * errors[0];
            for a in 0..S - 1 {
                rhs[a] -= errors[a + 1] * errors[0];
                for b in 0..=a {
                    normal[a][b] += errors[a + 1] * errors[b + 1];
                }
            }
        }
        Self {
            normal,
            rhs,
            base_sse,
        }
    }
}

/// Solves the symmetric positive-definite system `A δ = b` (lower triangle of
/// `A` filled). The one- and two-unknown cases, the common non-seasonal ones,
/// are solved directly; larger ones by nalgebra's Cholesky. `None` if `A` is
/// singular.
fn solve_normal<const S: usize>(a: &[[f64; S]; S], b: &[f64]) -> Option<[f64; S]> {
    const TINY: f64 = 1e-12;
    let mut delta = [0.0; S];
    match b.len() {
        1 => {
            if a[0][0] <= TINY {
                return None;
            }
            delta[0] = b[0] / a[0][0];
        }
        2 => {
            let det = a[0][0] * a[1][1] - a[1][0] * a[1][0];
            if det <= TINY * a[0][0].max(a[1][1]).max(1.0) {
                return None;
            }
            delta[0] = (b[0] * a[1][1] - b[1] * a[1][0]) / det;
            delta[1] = (a[0][0] * b[1] - a[1][0] * b[0]) / det;
        }
        k => {
            let matrix = DMatrix::from_fn(k, k, |i, j| if j <= i { a[i][j] } else { a[j][i] });
            let solution = matrix.cholesky()?.solve(&DVector::from_column_slice(b));
            delta[..k].copy_from_slice(solution.as_slice());
        }
    }
    Some(delta)
}

/// The objective: the optimiser's coordinates decoded into parameters, the
/// initial states concentrated out, scored by the SSE of the one-step errors.
struct Problem<'a> {
    x: &'a [f64],
    spec: Spec,
    start: States,
}

impl Problem<'_> {
    fn decode(&self, u: &[f64]) -> Params {
        let alpha = within(ALPHA_RANGE, u[0]);
        let mut rest = u[1..].iter();
        let mut next = || rest.next().copied().unwrap_or(0.0);
        let (beta, phi) = if self.spec.trend {
            let beta = alpha * logistic(next());
            let phi = match self.spec.phi {
                Some(phi) => phi,
                None => within(PHI_RANGE, next()),
            };
            (beta, phi)
        } else {
            // No trend: β and φ play no part (the trend state stays 0).
            (0.0, 1.0)
        };
        let gamma = if self.spec.season > 0 {
            (1.0 - alpha) * logistic(next())
        } else {
            0.0
        };
        Params {
            alpha,
            beta,
            gamma,
            phi,
        }
    }

    /// The initial states to use with `p`, and the SSE they give.
    fn initial(&self, p: &Params) -> (States, f64) {
        if self.spec.estimate_initial {
            optimal_initial(self.x, p, &self.start, self.spec.trend)
        } else {
            (self.start.clone(), ets::filter(self.x, p, &self.start).sse)
        }
    }

    fn start_point(&self) -> Vec<f64> {
        let mut u = vec![inverse_within(ALPHA_RANGE, 0.5)];
        if self.spec.trend {
            u.push(logit(0.2));
            if self.spec.phi.is_none() {
                u.push(inverse_within(PHI_RANGE, 0.9));
            }
        }
        if self.spec.season > 0 {
            u.push(logit(0.1));
        }
        u
    }

    /// The objective at coordinates `u`.
    fn cost(&self, u: &[f64]) -> Result<f64, Error> {
        let (_, sse) = self.initial(&self.decode(u));
        Ok(if sse.is_finite() { sse } else { f64::MAX })
    }
}

/// Fits the model to log values `x`. Errors only if the optimiser fails,
/// which with finite input it does not.
pub fn fit(x: &[f64], spec: Spec) -> Result<Fit, Error> {
    let start = heuristic_initial(x, spec.season, spec.trend);
    let problem = Problem { x, spec, start };
    let start_point = problem.start_point();
    let best = match start_point.len() {
        1 => minimize::<1>(&problem, &start_point)?,
        2 => minimize::<2>(&problem, &start_point)?,
        3 => minimize::<3>(&problem, &start_point)?,
        4 => minimize::<4>(&problem, &start_point)?,
        n => return Err(Error::msg(format!("no optimiser for {n} coordinates"))),
    };
    let params = problem.decode(&best);
    let (initial, _) = problem.initial(&params);
    let filtered = ets::filter(x, &params, &initial);
    Ok(Fit {
        params,
        last: filtered.last,
        sse: filtered.sse,
        initial,
    })
}

/// Nelder–Mead over `D` coordinates held on the stack.
fn minimize<const D: usize>(problem: &Problem, start: &[f64]) -> Result<Vec<f64>, Error> {
    let objective = OnStack::<D>(problem);
    let start_point = SVector::<f64, D>::from_column_slice(start);
    let tolerance = RELATIVE_TOLERANCE * objective.cost(&start_point)?.max(1e-12);
    // The start point and one unit step (in logit space) along each axis.
    let mut simplex = vec![start_point];
    for i in 0..D {
        let mut v = start_point;
        v[i] += 1.0;
        simplex.push(v);
    }
    let solver = NelderMead::new(simplex).with_sd_tolerance(tolerance)?;
    let result = Executor::new(objective, solver)
        .configure(|state| state.max_iters(MAX_ITERS))
        .timer(false)
        .run()?;
    let best = result
        .state()
        .get_best_param()
        .copied()
        .unwrap_or(start_point);
    Ok(best.as_slice().to_vec())
}

/// The objective with its `D` coordinates in a stack vector.
struct OnStack<'a, const D: usize>(&'a Problem<'a>);

impl<const D: usize> CostFunction for OnStack<'_, D> {
    type Param = SVector<f64, D>;
    type Output = f64;

    fn cost(&self, u: &Self::Param) -> Result<f64, Error> {
        self.0.cost(u.as_slice())
    }
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
                trend: true,
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
            let p = problem.decode(&[u, u, u, u]);
            assert!(p.alpha > 0.0 && p.alpha < 1.0);
            assert!(p.beta >= 0.0 && p.beta <= p.alpha);
            assert!(p.gamma >= 0.0 && p.gamma <= 1.0 - p.alpha);
            assert!(p.phi >= PHI_RANGE.0 && p.phi <= PHI_RANGE.1);
        }
    }

    #[test]
    fn optimal_initial_states_beat_nearby_ones() {
        let x: Vec<f64> = (0..24)
            .map(|t| (t as f64 * 0.7).sin() * 0.2 + 0.05 * t as f64 + [0.1, -0.2, 0.3, -0.2][t % 4])
            .collect();
        let p = Params {
            alpha: 0.3,
            beta: 0.05,
            gamma: 0.1,
            phi: 0.9,
        };
        let start = heuristic_initial(&x, 4, true);
        let (best, best_sse) = optimal_initial(&x, &p, &start, true);
        let sse = |s: &States| ets::filter(&x, &p, s).sse;
        assert!(
            (best.season.iter().sum::<f64>()).abs() < 1e-9,
            "effects still sum to zero"
        );
        for (dl, db) in [(0.01, 0.0), (-0.01, 0.0), (0.0, 0.001), (0.0, -0.001)] {
            let mut near = best.clone();
            near.level += dl;
            near.trend += db;
            assert!(sse(&best) < sse(&near));
        }
        assert!(sse(&best) <= sse(&start));
        assert!(
            (sse(&best) - best_sse).abs() < 1e-9,
            "the SSE shortcut matches a full run"
        );
    }

    #[test]
    fn fitting_never_does_worse_than_its_start() {
        let x: Vec<f64> = (0..20)
            .map(|t| (t as f64 * 0.1).sin() + 0.05 * t as f64)
            .collect();
        let spec = Spec {
            season: 0,
            trend: true,
            phi: None,
            estimate_initial: true,
        };
        let fitted = fit(&x, spec).unwrap();
        let problem = Problem {
            x: &x,
            spec,
            start: heuristic_initial(&x, 0, true),
        };
        let start_cost = problem.cost(&problem.start_point()).unwrap();
        assert!(fitted.sse <= start_cost);
    }
}
