//! Exponential smoothing with a damped additive trend and optional additive
//! seasonality, in state-space form (Hyndman, Koehler, Ord & Snyder,
//! *Forecasting with Exponential Smoothing*, 2008: ETS(A,Ad,N) and
//! ETS(A,Ad,A)). Applied here to log values, so the trend is a growth rate.
//!
//! For each observation `x(t)`, with `m` seasons:
//!
//! ```text
//! prediction  x̂(t) = l(t−1) + φ·b(t−1) + s(t−m)
//! error       e(t) = x(t) − x̂(t)
//! level       l(t) = l(t−1) + φ·b(t−1) + α·e(t)
//! trend       b(t) = φ·b(t−1) + β·e(t)
//! season      s(t) = s(t−m) + γ·e(t)
//! ```

/// Smoothing and damping parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    /// Level smoothing, in (0, 1).
    pub alpha: f64,
    /// Trend smoothing, in (0, α).
    pub beta: f64,
    /// Seasonal smoothing, in (0, 1 − α); 0 without seasonality.
    pub gamma: f64,
    /// Trend damping, in (0, 1]; 1 is Holt's undamped trend.
    pub phi: f64,
}

/// The model's states at one time.
#[derive(Debug, Clone, PartialEq)]
pub struct States {
    /// Level.
    pub level: f64,
    /// Trend (growth per period, on the log scale).
    pub trend: f64,
    /// Seasonal effects by position in the cycle (`t mod m`); empty when
    /// non-seasonal.
    pub season: Vec<f64>,
}

/// The result of running the recursions over a series.
#[derive(Debug, Clone)]
pub struct Filtered {
    /// Sum of squared one-step errors.
    pub sse: f64,
    /// States after the last observation.
    pub last: States,
}

/// One step of the recursions: observation `value` at time `t` moves
/// `states` on and returns the one-step error.
fn advance(states: &mut States, p: &Params, t: usize, value: f64) -> f64 {
    let m = states.season.len();
    let s = if m > 0 { states.season[t % m] } else { 0.0 };
    let damped = p.phi * states.trend;
    let error = value - (states.level + damped + s);
    states.level += damped + p.alpha * error;
    states.trend = damped + p.beta * error;
    if m > 0 {
        states.season[t % m] = s + p.gamma * error;
    }
    error
}

/// Runs the recursions over `x` from the initial states `init`.
pub fn filter(x: &[f64], p: &Params, init: &States) -> Filtered {
    let mut last = init.clone();
    let sse = x
        .iter()
        .enumerate()
        .map(|(t, &value)| advance(&mut last, p, t, value).powi(2))
        .sum();
    Filtered { sse, last }
}

/// The states after each observation of `x` (index `t`: after `x[t]`), with
/// seasonal effects indexed like `init`'s (position `t mod m`).
pub fn states_path(x: &[f64], p: &Params, init: &States) -> Vec<States> {
    let mut states = init.clone();
    x.iter()
        .enumerate()
        .map(|(t, &value)| {
            advance(&mut states, p, t, value);
            states.clone()
        })
        .collect()
}

/// Point forecasts for steps 1..=horizon after `n` observations ending in
/// states `last`.
pub fn forecast(last: &States, p: &Params, n: usize, horizon: usize) -> Vec<f64> {
    let m = last.season.len();
    let mut damped_sum = 0.0;
    let mut power = 1.0;
    (1..=horizon)
        .map(|h| {
            power *= p.phi;
            damped_sum += power;
            let s = if m > 0 {
                last.season[(n + h - 1) % m]
            } else {
                0.0
            };
            last.level + damped_sum * last.trend + s
        })
        .collect()
}

/// Forecast variance multipliers: `var(h) = σ² · v[h−1]`, with
/// `v = 1 + Σ_{j<h} c(j)²` and `c(j) = α + β·(φ + … + φ^j) + γ·[j mod m = 0]`
/// (Hyndman et al. 2008, table 6.1, class 1).
pub fn variance_multipliers(p: &Params, m: usize, horizon: usize) -> Vec<f64> {
    let mut v = Vec::with_capacity(horizon);
    let mut total = 1.0;
    let mut damped_sum = 0.0;
    let mut power = 1.0;
    for h in 1..=horizon {
        v.push(total);
        // c(j) for j = h, used from step h + 1 on.
        power *= p.phi;
        damped_sum += power;
        let seasonal = if m > 0 && h % m == 0 { p.gamma } else { 0.0 };
        let c = p.alpha + p.beta * damped_sum + seasonal;
        total += c * c;
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recursions_match_a_hand_computation() {
        // α = 0.5, β = 0.2, φ = 0.9, l0 = 1, b0 = 0.1, no season.
        let p = Params {
            alpha: 0.5,
            beta: 0.2,
            gamma: 0.0,
            phi: 0.9,
        };
        let init = States {
            level: 1.0,
            trend: 0.1,
            season: vec![],
        };
        // t=1: x̂ = 1 + 0.09 = 1.09, e = 0.11, l = 1.09 + 0.055 = 1.145, b = 0.09 + 0.022 = 0.112
        // t=2: x̂ = 1.145 + 0.1008 = 1.2458, e = −0.0458, l = 1.2458 − 0.0229 = 1.2229,
        //      b = 0.1008 − 0.00916 = 0.09164
        let out = filter(&[1.2, 1.2], &p, &init);
        assert!((out.last.level - 1.2229).abs() < 1e-12);
        assert!((out.last.trend - 0.09164).abs() < 1e-12);
        assert!((out.sse - (0.11f64.powi(2) + 0.0458f64.powi(2))).abs() < 1e-12);
        // Forecast: l + φb, l + (φ + φ²)b.
        let f = forecast(&out.last, &p, 2, 2);
        assert!((f[0] - (1.2229 + 0.9 * 0.09164)).abs() < 1e-12);
        assert!((f[1] - (1.2229 + (0.9 + 0.81) * 0.09164)).abs() < 1e-12);
    }

    #[test]
    fn seasonal_recursions_use_the_right_position() {
        let p = Params {
            alpha: 0.0,
            beta: 0.0,
            gamma: 0.5,
            phi: 1.0,
        };
        let init = States {
            level: 0.0,
            trend: 0.0,
            season: vec![1.0, -1.0],
        };
        // t=0 uses s[0]=1: e = 2−1 = 1 → s[0] = 1.5; t=1 uses s[1]=−1: e = 0 → unchanged.
        let out = filter(&[2.0, -1.0], &p, &init);
        assert_eq!(out.last.season, vec![1.5, -1.0]);
        // Next step (t=2) is position 0 again.
        assert_eq!(forecast(&out.last, &p, 2, 3), vec![1.5, -1.0, 1.5]);
    }

    #[test]
    fn variance_grows_with_the_horizon() {
        let p = Params {
            alpha: 0.5,
            beta: 0.1,
            gamma: 0.0,
            phi: 0.9,
        };
        let v = variance_multipliers(&p, 0, 3);
        assert_eq!(v[0], 1.0);
        let c1 = 0.5 + 0.1 * 0.9;
        assert!((v[1] - (1.0 + c1 * c1)).abs() < 1e-12);
        assert!(v[2] > v[1]);
    }
}
