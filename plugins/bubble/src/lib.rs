//! `bubble`: scores the risk that investment in capacity (data centres, GPUs)
//! runs ahead of demand — the data-centre building bubble Alibaba's chairman
//! warned of while the industry committed tens of billions.
//!
//! A transparent scorecard ([`scorecard`]): each indicator maps through a
//! documented monotone transform to a 0–100 sub-score; weighted sub-scores add
//! up to the score, so every point of the score is attributed to a factor.
//! Missing indicators are named and the remaining weights renormalised.
//! Growth indicators can be derived from raw series ([`derive`](mod@derive)), including a
//! demand forecast composed by the server from any forecast model. Historical
//! episodes the defaults are checked against: [`calibration`].

pub mod calibration;
pub mod derive;
pub mod scorecard;

use std::collections::HashMap;

use scorecard::{INDICATORS, Indicator, sub_score};
use stratus_plugin::{ModelError, RiskModel, param, wire};

/// The bubble-risk model.
#[derive(Debug, Default)]
pub struct Bubble;

/// Fewest indicators a score needs.
pub const MIN_INDICATORS: usize = 3;

/// One scored indicator.
#[derive(Debug, Clone)]
struct Scored {
    indicator: &'static Indicator,
    value: f64,
    sub_score: f64,
    weight: f64,
    explanation: String,
}

impl RiskModel for Bubble {
    fn description(&self) -> wire::ModelDescription {
        let mut params = Vec::new();
        for i in INDICATORS {
            params.push(param(
                &format!("weight_{}", i.name),
                &format!("Weight of {} in the score.", i.name),
                i.weight,
                0.0,
                10.0,
            ));
            params.push(param(
                &format!("{}_calm", i.name),
                &format!(
                    "Value of {} that scores 0 (see the scorecard table).",
                    i.name
                ),
                i.calm,
                -10_000.0,
                10_000.0,
            ));
            params.push(param(
                &format!("{}_alarm", i.name),
                &format!("Value of {} that scores 100.", i.name),
                i.alarm,
                -10_000.0,
                10_000.0,
            ));
        }
        wire::ModelDescription {
            name: "bubble".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Over-investment (bubble) risk: a transparent 0-100 scorecard over capex, revenue, utilisation, \
                          prices, capacity, demand and leverage, each factor's contribution explained."
                .into(),
            params,
            inputs: INDICATORS
                .iter()
                .map(|i| param(i.name, i.description, i.calm, i.min, i.max))
                .collect(),
            ..Default::default()
        }
    }

    fn score(&self, input: &wire::RiskInput) -> Result<wire::RiskOutput, ModelError> {
        score(input)
    }
}

fn score(input: &wire::RiskInput) -> Result<wire::RiskOutput, ModelError> {
    let mut notes = Vec::new();
    let mut values: HashMap<&'static str, f64> = HashMap::new();
    for (name, &value) in &input.indicators {
        let indicator = scorecard::indicator(name).ok_or_else(|| {
            ModelError::invalid(format!("indicators[{name}]"), "unknown indicator")
        })?;
        if !(indicator.min..=indicator.max).contains(&value) {
            return Err(ModelError::invalid(
                format!("indicators[{name}]"),
                format!(
                    "{value} is outside the physical range [{}, {}]",
                    indicator.min, indicator.max
                ),
            ));
        }
        values.insert(indicator.name, value);
    }
    for derived in derive::from_series(&input.series, &mut notes) {
        if values.contains_key(derived.name) {
            notes.push(format!(
                "{} given explicitly; the value derivable {} was not used.",
                derived.name, derived.how
            ));
        } else {
            notes.push(format!(
                "{} = {:.2}, derived {}.",
                derived.name, derived.value, derived.how
            ));
            values.insert(derived.name, derived.value);
        }
    }
    if values.len() < MIN_INDICATORS {
        let names: Vec<&str> = INDICATORS.iter().map(|i| i.name).collect();
        return Err(ModelError::invalid(
            "indicators",
            format!(
                "bubble needs at least {MIN_INDICATORS} indicators (given or derived from series); got {}. Indicators: {}",
                values.len(),
                names.join(", ")
            ),
        ));
    }

    let param = |name: String, default: f64| input.params.get(&name).copied().unwrap_or(default);
    let mut scored = Vec::new();
    for indicator in &INDICATORS {
        let Some(&value) = values.get(indicator.name) else {
            continue;
        };
        let weight = param(format!("weight_{}", indicator.name), indicator.weight);
        let calm = param(format!("{}_calm", indicator.name), indicator.calm);
        let alarm = param(format!("{}_alarm", indicator.name), indicator.alarm);
        if calm == alarm {
            return Err(ModelError::invalid(
                format!("params[{}_alarm]", indicator.name),
                "must differ from the calm threshold",
            ));
        }
        let (sub, explanation) = assess(indicator, value, calm, alarm, &values);
        scored.push(Scored {
            indicator,
            value,
            sub_score: sub,
            weight,
            explanation,
        });
    }
    let total_weight: f64 = scored.iter().map(|s| s.weight).sum();
    if total_weight <= 0.0 {
        return Err(ModelError::invalid(
            "params",
            "the weights of the indicators given are all zero",
        ));
    }

    let missing: Vec<&str> = INDICATORS
        .iter()
        .filter(|i| !values.contains_key(i.name))
        .map(|i| i.name)
        .collect();
    if !missing.is_empty() {
        notes.push(format!(
            "Not given: {}; the other weights were renormalised to sum to 1 ({:.2} of the full weight was available).",
            missing.join(", "),
            total_weight / INDICATORS.iter().map(|i| i.weight).sum::<f64>()
        ));
    }

    let mut factors: Vec<wire::Factor> = scored
        .iter()
        .map(|s| wire::Factor {
            indicator: s.indicator.name.to_owned(),
            value: s.value,
            contribution: s.weight / total_weight * s.sub_score,
            explanation: format!(
                "{} (sub-score {:.0}/100, weight {:.2}).",
                s.explanation,
                s.sub_score,
                s.weight / total_weight
            ),
        })
        .collect();
    factors.sort_by(|a, b| b.contribution.total_cmp(&a.contribution));
    let score: f64 = factors
        .iter()
        .map(|f| f.contribution)
        .sum::<f64>()
        .clamp(0.0, 100.0);
    Ok(wire::RiskOutput {
        score,
        band: band(score) as i32,
        factors,
        notes,
    })
}

/// The band of a score: LOW < 25 ≤ MODERATE < 50 ≤ HIGH < 75 ≤ SEVERE.
pub fn band(score: f64) -> wire::RiskBand {
    match score {
        s if s < 25.0 => wire::RiskBand::Low,
        s if s < 50.0 => wire::RiskBand::Moderate,
        s if s < 75.0 => wire::RiskBand::High,
        _ => wire::RiskBand::Severe,
    }
}

/// The sub-score of one indicator and a sentence a reader can act on: a
/// growth with a partner (see [`scorecard::Against`]) is scored on the gap
/// to the partner's growth, or alone on its own thresholds when the partner
/// is missing; any other indicator on its value.
fn assess(
    indicator: &Indicator,
    value: f64,
    calm: f64,
    alarm: f64,
    values: &HashMap<&str, f64>,
) -> (f64, String) {
    let Some(against) = indicator.against else {
        return (sub_score(value, calm, alarm), (indicator.explain)(value));
    };
    let noun = against.noun;
    let Some(&other) = values.get(against.partner) else {
        return (
            sub_score(value, against.alone_calm, against.alone_alarm),
            format!(
                "{noun} grows {value:.1}% a year (no matching {} figure given)",
                against.partner_noun
            ),
        );
    };
    let gap = value - other;
    let pace = if gap >= 0.0 { "faster" } else { "slower" };
    let mut text = format!(
        "{noun} grows {:.0} points {pace} than {} ({value:.1}% vs {other:.1}%)",
        gap.abs(),
        against.partner_noun
    );
    if against.overhang && gap > 0.0 && other > 0.0 {
        text.push_str(&format!(
            "; about {:.1} years of {} growth to absorb one year's build",
            overhang_years(value, other),
            against.partner_noun
        ));
    }
    (sub_score(gap, calm, alarm), text)
}

/// Years of demand growth at `demand_pct` needed to absorb one year of
/// capacity growth at `capacity_pct`, beyond the year itself.
pub fn overhang_years(capacity_pct: f64, demand_pct: f64) -> f64 {
    let (c, d) = (1.0 + capacity_pct / 100.0, 1.0 + demand_pct / 100.0);
    if c <= d || d <= 1.0 {
        0.0
    } else {
        c.ln() / d.ln() - 1.0
    }
}

#[cfg(feature = "export")]
stratus_plugin::export!(risk: Bubble);

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> HashMap<String, f64> {
        Bubble
            .description()
            .params
            .into_iter()
            .map(|p| (p.name, p.default_value))
            .collect()
    }

    fn input(indicators: &[(&str, f64)]) -> wire::RiskInput {
        wire::RiskInput {
            indicators: indicators
                .iter()
                .map(|(k, v)| ((*k).to_owned(), *v))
                .collect(),
            params: defaults(),
            ..Default::default()
        }
    }

    fn score_of(indicators: &[(&str, f64)]) -> f64 {
        Bubble.score(&input(indicators)).unwrap().score
    }

    const TYPICAL: [(&str, f64); 8] = [
        ("capex_growth_pct", 35.0),
        ("revenue_growth_pct", 15.0),
        ("utilization_pct", 60.0),
        ("capex_to_revenue", 0.4),
        ("unit_price_change_pct", -15.0),
        ("capacity_growth_pct", 30.0),
        ("demand_growth_pct", 15.0),
        ("debt_to_ebitda", 2.5),
    ];

    #[test]
    fn worsening_any_one_indicator_never_lowers_the_score() {
        for (i, &(name, value)) in TYPICAL.iter().enumerate() {
            let worse = match scorecard::indicator(name).unwrap().worse {
                scorecard::Worse::Up => 1.0,
                scorecard::Worse::Down => -1.0,
            };
            let mut previous = score_of(&TYPICAL);
            for step in 1..=40 {
                let mut changed = TYPICAL;
                changed[i].1 = (value + worse * step as f64 * 0.05 * value.abs().max(1.0)).clamp(
                    scorecard::indicator(name).unwrap().min,
                    scorecard::indicator(name).unwrap().max,
                );
                let now = score_of(&changed);
                assert!(now >= previous - 1e-9, "{name}: {now} < {previous}");
                previous = now;
            }
        }
    }

    #[test]
    fn contributions_sum_to_the_score_largest_first() {
        let out = Bubble.score(&input(&TYPICAL)).unwrap();
        let sum: f64 = out.factors.iter().map(|f| f.contribution).sum();
        assert!((sum - out.score).abs() < 1e-9);
        assert!(
            out.factors
                .windows(2)
                .all(|w| w[0].contribution >= w[1].contribution)
        );
        assert_eq!(out.factors.len(), 8);
        let capex = out
            .factors
            .iter()
            .find(|f| f.indicator == "capex_growth_pct")
            .unwrap();
        assert!(
            capex
                .explanation
                .starts_with("capex grows 20 points faster than revenue"),
            "{}",
            capex.explanation
        );
    }

    #[test]
    fn bands_split_at_25_50_75() {
        assert_eq!(band(24.999), wire::RiskBand::Low);
        assert_eq!(band(25.0), wire::RiskBand::Moderate);
        assert_eq!(band(49.999), wire::RiskBand::Moderate);
        assert_eq!(band(50.0), wire::RiskBand::High);
        assert_eq!(band(75.0), wire::RiskBand::Severe);
        assert_eq!(band(100.0), wire::RiskBand::Severe);
    }

    #[test]
    fn missing_indicators_are_named_and_weights_renormalised() {
        // Utilisation alone at full alarm with two calm indicators: weight
        // 0.2 of 0.45 → 100 × 0.2/0.45.
        let out = Bubble
            .score(&input(&[
                ("utilization_pct", 10.0),
                ("capex_to_revenue", 0.1),
                ("debt_to_ebitda", 1.0),
            ]))
            .unwrap();
        assert!(
            (out.score - 100.0 * 0.2 / 0.45).abs() < 1e-9,
            "{}",
            out.score
        );
        let note = out
            .notes
            .iter()
            .find(|n| n.starts_with("Not given"))
            .unwrap();
        assert!(
            note.contains("capex_growth_pct") && note.contains("demand_growth_pct"),
            "{note}"
        );
    }

    #[test]
    fn invalid_inputs_name_the_indicator() {
        let err = Bubble
            .score(&input(&[
                ("utilization_pct", 120.0),
                ("capex_to_revenue", 0.1),
                ("debt_to_ebitda", 1.0),
            ]))
            .unwrap_err();
        assert_eq!(err.field, "indicators[utilization_pct]");
        let err = Bubble
            .score(&input(&[
                ("capex_to_revenue", -0.1),
                ("debt_to_ebitda", 1.0),
                ("utilization_pct", 50.0),
            ]))
            .unwrap_err();
        assert_eq!(err.field, "indicators[capex_to_revenue]");
        let err = Bubble
            .score(&input(&[
                ("gpu_vibes", 1.0),
                ("debt_to_ebitda", 1.0),
                ("utilization_pct", 50.0),
            ]))
            .unwrap_err();
        assert_eq!(err.field, "indicators[gpu_vibes]");
        let err = Bubble
            .score(&input(&[
                ("debt_to_ebitda", 1.0),
                ("utilization_pct", 50.0),
            ]))
            .unwrap_err();
        assert_eq!(err.field, "indicators");
        assert!(err.message.contains("at least 3"), "{}", err.message);
    }

    #[test]
    fn growth_indicators_are_derived_from_series() {
        let annual = |values: &[f64]| wire::Series {
            frequency: wire::Frequency::Annual as i32,
            observations: values
                .iter()
                .enumerate()
                .map(|(i, &value)| wire::Observation {
                    period: (2022 + i).to_string(),
                    value,
                })
                .collect(),
            ..Default::default()
        };
        let mut request = input(&[("utilization_pct", 50.0)]);
        request.series.insert("capex".into(), annual(&[10.0, 20.0]));
        request
            .series
            .insert("revenue".into(), annual(&[100.0, 110.0]));
        let out = Bubble.score(&request).unwrap();
        let names: Vec<&str> = out.factors.iter().map(|f| f.indicator.as_str()).collect();
        for expected in ["capex_growth_pct", "revenue_growth_pct", "capex_to_revenue"] {
            assert!(names.contains(&expected), "{names:?}");
        }
        assert!(
            out.notes
                .iter()
                .any(|n| n.contains("derived from series 'capex'")),
            "{:?}",
            out.notes
        );
    }

    #[test]
    fn overhang_is_years_of_demand_growth_to_absorb_the_build() {
        // 1.6 = 1.15^3.36: one year at +60% capacity needs 3.36 years at +15% demand.
        assert!((overhang_years(60.0, 15.0) - 2.363).abs() < 1e-3);
        assert_eq!(overhang_years(10.0, 15.0), 0.0);
    }

    #[test]
    fn historical_episodes_score_as_history_went() {
        let scores: Vec<(f64, wire::RiskBand)> = calibration::EPISODES
            .iter()
            .map(|e| {
                let out = Bubble.score(&input(e.indicators)).unwrap();
                (out.score, band(out.score))
            })
            .collect();
        let [telecom, china, hyperscalers, calm] = scores[..] else {
            panic!("four episodes")
        };
        assert_eq!(
            telecom.1,
            wire::RiskBand::Severe,
            "telecom 2000: {}",
            telecom.0
        );
        assert_eq!(calm.1, wire::RiskBand::Low, "Alphabet 2019: {}", calm.0);
        // Idle Chinese capacity scores above sold-out US capacity; both above calm.
        assert!(
            china.0 > hyperscalers.0 && hyperscalers.0 > calm.0,
            "{scores:?}"
        );
        assert!(china.1 as i32 >= wire::RiskBand::High as i32);
    }
}
