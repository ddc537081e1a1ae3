//! Indicators derived from series, when the caller sends the raw figures
//! instead of (or beside) the ratios.
//!
//! Series roles: `capex`, `revenue`, `capacity` (each: growth over the last
//! year; capex and revenue together: their ratio) and `demand_forecast`
//! ([`DEMAND_FORECAST_SERIES`], put there by the server from a composed forecast: its compound growth per year).

use std::collections::HashMap;

use stratus_plugin::abi::roles::DEMAND_FORECAST_SERIES;
use stratus_plugin::{Cadence, wire};

/// A derived indicator value and how it was obtained, for the notes.
#[derive(Debug, Clone, PartialEq)]
pub struct Derived {
    /// Indicator name.
    pub name: &'static str,
    /// Its value.
    pub value: f64,
    /// How it was computed.
    pub how: String,
}

/// Periods a year of a series; the host always sets the frequency, so
/// annual is only the fallback of a hand-built input.
fn periods_per_year(series: &wire::Series) -> usize {
    Cadence::from_wire(series.frequency).map_or(1, |c| c.periods_per_year() as usize)
}

/// Growth in percent of the last observation over the one a year earlier.
fn last_year_growth(series: &wire::Series) -> Option<(f64, String)> {
    let lag = periods_per_year(series);
    let obs = &series.observations;
    let last = obs.last()?;
    let before = obs.get(obs.len().checked_sub(lag + 1)?)?;
    (before.value > 0.0).then(|| {
        let growth = (last.value / before.value - 1.0) * 100.0;
        (growth, format!("{} over {}", last.period, before.period))
    })
}

/// Everything derivable from `series`, with notes for what could not be.
pub fn from_series(
    series: &HashMap<String, wire::Series>,
    notes: &mut Vec<String>,
) -> Vec<Derived> {
    let mut derived = Vec::new();
    for (role, name) in [
        ("capex", "capex_growth_pct"),
        ("revenue", "revenue_growth_pct"),
        ("capacity", "capacity_growth_pct"),
    ] {
        if let Some(s) = series.get(role) {
            match last_year_growth(s) {
                Some((value, span)) => derived.push(Derived {
                    name,
                    value,
                    how: format!("from series '{role}', {span}"),
                }),
                None => notes.push(format!(
                    "Series '{role}' needs a year of history with a positive base to give {name}; not used."
                )),
            }
        }
    }
    if let (Some(capex), Some(revenue)) = (series.get("capex"), series.get("revenue"))
        && let (Some(c), Some(r)) = (capex.observations.last(), revenue.observations.last())
    {
        if c.period == r.period && r.value > 0.0 {
            derived.push(Derived {
                name: "capex_to_revenue",
                value: c.value / r.value,
                how: format!("from series 'capex' / 'revenue' in {}", c.period),
            });
        } else {
            notes.push("Series 'capex' and 'revenue' end in different periods; capex_to_revenue not derived.".into());
        }
    }
    if let Some(path) = series.get(DEMAND_FORECAST_SERIES) {
        let obs = &path.observations;
        match (obs.first(), obs.last()) {
            (Some(first), Some(last)) if obs.len() >= 2 && first.value > 0.0 && last.value > 0.0 => {
                let years = (obs.len() - 1) as f64 / periods_per_year(path) as f64;
                let growth = ((last.value / first.value).powf(1.0 / years) - 1.0) * 100.0;
                derived.push(Derived {
                    name: "demand_growth_pct",
                    value: growth,
                    how: format!("compound growth of the demand forecast {}..{}", first.period, last.period),
                });
            }
            _ => notes.push(
                "The demand forecast needs at least 2 positive periods (horizon ≥ 2) to give a growth rate; not used.".into(),
            ),
        }
    }
    derived
}

#[cfg(test)]
mod tests {
    use super::*;

    fn annual(values: &[f64]) -> wire::Series {
        wire::Series {
            frequency: wire::Frequency::Annual as i32,
            observations: values
                .iter()
                .enumerate()
                .map(|(i, &value)| wire::Observation {
                    period: (2020 + i).to_string(),
                    value,
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn growth_and_ratio_come_from_the_last_year() {
        let series: HashMap<String, wire::Series> = [
            ("capex".into(), annual(&[10.0, 20.0, 30.0])),
            ("revenue".into(), annual(&[100.0, 110.0, 121.0])),
        ]
        .into();
        let derived = from_series(&series, &mut Vec::new());
        let get = |n: &str| derived.iter().find(|d| d.name == n).unwrap().value;
        assert!((get("capex_growth_pct") - 50.0).abs() < 1e-9);
        assert!((get("revenue_growth_pct") - 10.0).abs() < 1e-9);
        assert!((get("capex_to_revenue") - 30.0 / 121.0).abs() < 1e-12);
    }

    #[test]
    fn demand_growth_is_the_forecasts_compound_rate() {
        let series: HashMap<String, wire::Series> =
            [("demand_forecast".into(), annual(&[100.0, 110.0, 121.0]))].into();
        let derived = from_series(&series, &mut Vec::new());
        assert!((derived[0].value - 10.0).abs() < 1e-9);
    }
}
