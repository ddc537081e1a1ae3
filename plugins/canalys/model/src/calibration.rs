//! Honest interval widths: the model's own forecast variance assumes the
//! model is right and its parameters exact. Where the fitted model's
//! in-sample multi-step errors are larger than that variance says, the
//! intervals are widened by the observed ratio; they are never narrowed.

use crate::ets::{self, Params, States};

/// Fewest in-sample errors at a horizon for its ratio to count.
const MIN_ERRORS: usize = 8;

/// The factor (≥ 1) to multiply the model variance by: the median, over
/// horizons with enough in-sample errors, of mean squared h-step error
/// divided by the model's h-step variance.
pub fn variance_inflation(
    x: &[f64],
    params: &Params,
    initial: &States,
    sigma2: f64,
    horizon: usize,
) -> f64 {
    let n = x.len();
    let season = initial.season.len();
    let multipliers = ets::variance_multipliers(params, season, horizon);
    let path = ets::states_path(x, params, initial);
    // Origins after a short burn-in, so the initial states weigh little; each
    // origin's forecast serves every horizon it can be checked at.
    let burn_in = 3.max(season);
    let mut squared = vec![(0.0, 0usize); horizon];
    for t in burn_in..n.saturating_sub(1) {
        let steps = horizon.min(n - 1 - t);
        let forecasts = ets::forecast(&path[t], params, t + 1, steps);
        for (h, forecast) in forecasts.iter().enumerate() {
            let error = x[t + 1 + h] - forecast;
            squared[h].0 += error * error;
            squared[h].1 += 1;
        }
    }
    let mut ratios = Vec::new();
    for (&(sum, count), &multiplier) in squared.iter().zip(&multipliers) {
        if count < MIN_ERRORS {
            break;
        }
        let model = sigma2 * multiplier;
        if model > 0.0 {
            ratios.push(sum / count as f64 / model);
        }
    }
    if ratios.is_empty() {
        return 1.0;
    }
    ratios.sort_by(f64::total_cmp);
    ratios[ratios.len() / 2].max(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_narrows_and_widens_for_a_misspecified_model() {
        // A zigzag a trend model fits badly several steps ahead.
        let x: Vec<f64> = (0..40)
            .map(|t| 0.05 * t as f64 + if (t / 3) % 2 == 0 { 0.2 } else { -0.2 })
            .collect();
        let p = Params {
            alpha: 0.9,
            beta: 0.5,
            gamma: 0.0,
            phi: 0.95,
        };
        let init = States {
            level: 0.0,
            trend: 0.05,
            season: vec![],
        };
        let sse = ets::filter(&x, &p, &init).sse;
        let factor = variance_inflation(&x, &p, &init, sse / 40.0, 4);
        assert!(factor > 1.0, "{factor}");
        // A tiny σ² on a smooth series: the observed errors dominate anyway.
        assert!(variance_inflation(&x, &p, &init, 1e6, 4) == 1.0);
    }
}
