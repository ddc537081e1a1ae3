//! The scorecard: each indicator's direction, thresholds, default weight and
//! physical range, and the transform from a value to a 0–100 sub-score.
//!
//! Every transform is linear between a *calm* value (sub-score 0) and an
//! *alarm* value (sub-score 100) and flat beyond them, so it is monotone and a
//! reader can check any sub-score by hand. Where a pair of indicators is
//! given together, the first is scored on the gap between them (capex growth
//! against revenue growth, capacity growth against demand growth), since a
//! build-out is a bubble only relative to what it serves.
//!
//! Default thresholds, and why:
//!
//! | indicator | calm | alarm | reasoning |
//! |---|---:|---:|---|
//! | capex vs revenue growth (pp) | 0 | 30 | capex growing with revenue is maintenance; capex outrunning revenue by 20–30 points a year was the telecom build-out of 1999–2000 (see [`crate::calibration`]) |
//! | capex growth alone (%) | 10 | 60 | hyperscalers' calm-year capex grows ~0–15%; +60% is a boom year (big-4 2025: +66%, PLAT_2025RETRO) |
//! | revenue growth (%) | 25 | 0 | cloud revenue grew 20–30% in healthy years (Synergy, Canalys); no growth cannot service new capacity |
//! | utilisation (%) | 85 | 30 | data-centre operators run at 80–90%+ (CBRE vacancy 1.6–3%); ~30% is China's reported AI-centre use (STDAILY_INSPUR) |
//! | capex / revenue (ratio) | 0.15 | 0.80 | Alphabet 2019: 0.15 (GOOG_10K_2019); big-4 capex vs the whole cloud market: 0.76–0.99 in 2024–25 (`big4_capex_to_global_cloud_infra_revenue` in data/published/indicators.csv) |
//! | unit price change (%) | 0 | −40 | GPU-hour rental prices fell 22% (FT_RBC_GPU) to 75% (LATENT_GPU, $8→<$2) when supply outran demand |
//! | capacity vs demand growth (pp) | 0 | 30 | 30 pp a year of excess takes years to absorb (see overhang) |
//! | capacity growth alone (%) | 15 | 60 | as capex growth, for physical capacity |
//! | demand growth (%) | 25 | 0 | as revenue growth, for demand |
//! | debt / EBITDA (×) | 1.5 | 5 | investment-grade tech runs under 1.5×; telecom carriers passed 5× before the 2001 defaults |

/// Which way an indicator worsens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Worse {
    /// Higher values mean more risk.
    Up,
    /// Lower values mean more risk.
    Down,
}

/// How a growth indicator is scored against the growth of what it serves
/// (capex against revenue, capacity against demand).
#[derive(Debug, Clone, Copy)]
pub struct Against {
    /// The indicator it is compared with.
    pub partner: &'static str,
    /// What this indicator measures, in a sentence ("capex").
    pub noun: &'static str,
    /// What the partner measures, in a sentence ("revenue").
    pub partner_noun: &'static str,
    /// Calm threshold of the growth alone, when the partner is not given.
    pub alone_calm: f64,
    /// Alarm threshold of the growth alone, when the partner is not given.
    pub alone_alarm: f64,
    /// Whether the factor also says how many years of the partner's growth
    /// absorb one year of this one (see [`crate::overhang_years`]).
    pub overhang: bool,
}

/// One scorecard indicator.
#[derive(Debug, Clone, Copy)]
pub struct Indicator {
    /// Normative name, as sent in `RiskRequest.indicators`.
    pub name: &'static str,
    /// What it measures, for `ModelInfo.inputs`.
    pub description: &'static str,
    /// Which way it worsens.
    pub worse: Worse,
    /// Default weight in the score.
    pub weight: f64,
    /// Default calm threshold (sub-score 0).
    pub calm: f64,
    /// Default alarm threshold (sub-score 100).
    pub alarm: f64,
    /// Physical range: values outside are refused.
    pub min: f64,
    /// Physical range: values outside are refused.
    pub max: f64,
    /// The factor's sentence for a value scored on its own.
    pub explain: fn(f64) -> String,
    /// For a growth judged against its partner's growth, how.
    pub against: Option<Against>,
}

/// The scorecard, in the order factors are explained when tied.
pub const INDICATORS: [Indicator; 8] = [
    Indicator {
        name: "capex_growth_pct",
        description: "Year-on-year growth of capital expenditure, percent (scored against revenue growth when given).",
        worse: Worse::Up,
        weight: 0.20,
        calm: 0.0,
        alarm: 30.0,
        min: -100.0,
        max: 10_000.0,
        explain: |value| format!("capex grows {value:.1}% a year"),
        against: Some(Against {
            partner: "revenue_growth_pct",
            noun: "capex",
            partner_noun: "revenue",
            alone_calm: 10.0,
            alone_alarm: 60.0,
            overhang: false,
        }),
    },
    Indicator {
        name: "revenue_growth_pct",
        description: "Year-on-year growth of the revenue the capacity serves, percent.",
        worse: Worse::Down,
        weight: 0.10,
        calm: 25.0,
        alarm: 0.0,
        min: -100.0,
        max: 10_000.0,
        explain: |value| format!("revenue grows {value:.1}% a year"),
        against: None,
    },
    Indicator {
        name: "utilization_pct",
        description: "Share of built capacity in use, percent.",
        worse: Worse::Down,
        weight: 0.20,
        calm: 85.0,
        alarm: 30.0,
        min: 0.0,
        max: 100.0,
        explain: |value| format!("capacity is {value:.0}% utilised"),
        against: None,
    },
    Indicator {
        name: "capex_to_revenue",
        description: "Capital expenditure divided by revenue, as a ratio (0.25 = 25%).",
        worse: Worse::Up,
        weight: 0.15,
        calm: 0.15,
        alarm: 0.80,
        min: 0.0,
        max: 100.0,
        explain: |value| format!("capex is {:.0}% of revenue", value * 100.0),
        against: None,
    },
    Indicator {
        name: "unit_price_change_pct",
        description: "Change in unit prices (e.g. GPU-hour rental), percent; falling prices signal surplus.",
        worse: Worse::Down,
        weight: 0.10,
        calm: 0.0,
        alarm: -40.0,
        min: -100.0,
        max: 10_000.0,
        explain: |value| {
            format!("unit prices changed {value:+.0}% (falling prices signal surplus capacity)")
        },
        against: None,
    },
    Indicator {
        name: "capacity_growth_pct",
        description: "Year-on-year growth of capacity, percent (scored against demand growth when given).",
        worse: Worse::Up,
        weight: 0.10,
        calm: 0.0,
        alarm: 30.0,
        min: -100.0,
        max: 10_000.0,
        explain: |value| format!("capacity grows {value:.1}% a year"),
        against: Some(Against {
            partner: "demand_growth_pct",
            noun: "capacity",
            partner_noun: "demand",
            alone_calm: 15.0,
            alone_alarm: 60.0,
            overhang: true,
        }),
    },
    Indicator {
        name: "demand_growth_pct",
        description: "Year-on-year growth of demand, percent (derived from a demand forecast when one is composed).",
        worse: Worse::Down,
        weight: 0.05,
        calm: 25.0,
        alarm: 0.0,
        min: -100.0,
        max: 10_000.0,
        explain: |value| format!("demand grows {value:.1}% a year"),
        against: None,
    },
    Indicator {
        name: "debt_to_ebitda",
        description: "Debt divided by EBITDA, times; use a large value when EBITDA is negative.",
        worse: Worse::Up,
        weight: 0.10,
        calm: 1.5,
        alarm: 5.0,
        min: 0.0,
        max: 1_000.0,
        explain: |value| format!("debt is {value:.1}× EBITDA"),
        against: None,
    },
];

/// The sub-score of `value` between `calm` (0) and `alarm` (100), linear and
/// clamped. Monotone in `value` in the direction from calm to alarm.
pub fn sub_score(value: f64, calm: f64, alarm: f64) -> f64 {
    let span = alarm - calm;
    if span == 0.0 {
        return if value >= alarm { 100.0 } else { 0.0 };
    }
    (100.0 * (value - calm) / span).clamp(0.0, 100.0)
}

/// The indicator called `name`.
pub fn indicator(name: &str) -> Option<&'static Indicator> {
    INDICATORS.iter().find(|i| i.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_scores_are_linear_and_clamped_in_both_directions() {
        assert_eq!(sub_score(20.0, 0.0, 40.0), 50.0);
        assert_eq!(sub_score(-5.0, 0.0, 40.0), 0.0);
        assert_eq!(sub_score(90.0, 0.0, 40.0), 100.0);
        // Falling utilisation worsens: calm 85, alarm 30.
        assert_eq!(sub_score(57.5, 85.0, 30.0), 50.0);
        assert_eq!(sub_score(95.0, 85.0, 30.0), 0.0);
        assert_eq!(sub_score(10.0, 85.0, 30.0), 100.0);
    }

    #[test]
    fn default_weights_sum_to_one_and_thresholds_point_the_right_way() {
        let total: f64 = INDICATORS.iter().map(|i| i.weight).sum();
        assert!((total - 1.0).abs() < 1e-12);
        for i in INDICATORS {
            match i.worse {
                Worse::Up => assert!(i.alarm > i.calm, "{}", i.name),
                Worse::Down => assert!(i.alarm < i.calm, "{}", i.name),
            }
        }
    }
}
