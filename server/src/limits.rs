//! What one request may ask of the server, and the bounds that keep its
//! arithmetic finite.
//!
//! Every network caller is untrusted, so each thing a request can make the
//! server hold or compute has a bound here, set by a flag (named in every
//! refusal, so an operator knows which knob a caller hit). The counts are
//! checked before anything proportional to them is built: a request with
//! 100,000 `levels` is refused before a single interval is computed.

use std::borrow::Cow;

/// The largest magnitude accepted for an observation value. Models square
/// and sum values (variances) and multiply them by horizons; 1e100 squared,
/// summed over every accepted observation and scaled by any horizon, stays
/// far inside `f64`, so a request within this bound cannot make a model's
/// arithmetic overflow. No market is measured in units near it.
pub const MAX_ABS_VALUE: f64 = 1e100;

/// The widest interval coverage accepted, in percent. Its normal quantile is
/// about 4.9; at 99.99999999999999 the quantile is infinite in `f64`
/// (0.5 + level/200 rounds to 1), so the interval could not be finite.
pub const MAX_LEVEL: f64 = 99.9999;

/// Server-side limits on what one request may ask. Each field is a flag of
/// `stratus-server` (see `config.rs`); the defaults are generous for market
/// series and small against the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted `horizon` (`--max-horizon`).
    pub max_horizon: u32,
    /// Most observations in one series (`--max-observations`).
    pub max_observations: usize,
    /// Most interval `levels` in one forecast (`--max-levels`).
    pub max_levels: usize,
    /// Most entries in one `params` map (`--max-params`).
    pub max_params: usize,
    /// Most entries in a risk request's `indicators` (`--max-indicators`).
    pub max_indicators: usize,
    /// Most series in a risk request's `series` (`--max-series`).
    pub max_series: usize,
    /// Longest string a caller may send, in bytes: names, versions, periods,
    /// units, `request_id`, `subject`, map keys (`--max-string-bytes`).
    pub max_string_bytes: usize,
    /// Most intervals one forecast answer may carry per path: horizon ×
    /// levels (`--max-answer-intervals`).
    pub max_answer_intervals: u64,
    /// Most field violations reported in one `BadRequest`
    /// (`--max-violations`); the rest are counted, not listed.
    pub max_violations: usize,
    /// Most models one backtest may score (`--max-backtest-models`).
    pub max_backtest_models: usize,
    /// Most forecast origins in one backtest (`--max-backtest-origins`):
    /// a backtest runs models × origins forecasts.
    pub max_backtest_origins: u32,
    /// Most members in one ensemble (`--max-ensemble-members`).
    pub max_ensemble_members: usize,
    /// Most model forecasts one call may cause (`--max-forecasts-per-call`):
    /// backtests run models × origins, conformal intervals 49 per forecast,
    /// ensembles one per member (plus a weighting backtest), and they nest.
    pub max_forecasts_per_call: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_horizon: 100,
            max_observations: 100_000,
            max_levels: 10,
            max_params: 64,
            max_indicators: 64,
            max_series: 16,
            max_string_bytes: 256,
            max_answer_intervals: 1_000,
            max_violations: 20,
            max_backtest_models: 8,
            max_backtest_origins: 24,
            max_ensemble_members: 8,
            max_forecasts_per_call: 2_000,
        }
    }
}

/// A caller's string as it may appear in a message or field path: at most
/// 64 characters, so an error never echoes a large input back (or into the
/// log).
pub fn shown(text: &str) -> Cow<'_, str> {
    const SHOWN: usize = 64;
    match text.char_indices().nth(SHOWN) {
        None => Cow::Borrowed(text),
        Some((end, _)) => Cow::Owned(format!("{}…", &text[..end])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_strings_are_cut_at_a_character_boundary() {
        assert_eq!(shown("naive"), "naive");
        let long = "é".repeat(100);
        let cut = shown(&long);
        assert_eq!(cut.chars().count(), 65);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn the_level_bound_has_a_finite_quantile_and_the_next_one_does_not() {
        let probability = |level: f64| 0.5 + level / 200.0;
        assert!(probability(std::hint::black_box(MAX_LEVEL)) < 1.0);
        assert_eq!(probability(std::hint::black_box(99.99999999999999)), 1.0);
    }

    #[test]
    fn the_value_bound_leaves_room_for_variances() {
        let worst = (2.0 * MAX_ABS_VALUE).powi(2) * 100_000.0 * 100.0;
        assert!(worst.is_finite());
    }
}
