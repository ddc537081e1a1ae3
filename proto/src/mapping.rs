//! The one place where the public API (`stratus.v1`) and the plugin boundary
//! (`stratus.plugin.v1`) meet.
//!
//! The two packages are kept apart on purpose (the API may evolve without an
//! ABI change), so their enums are distinct types whose numbers merely happen
//! to agree today. Every crossing goes through an exhaustive `match` here,
//! never a numeric cast: a variant added on one side fails to compile until
//! it is mapped. Messages convert field by field for the same reason.
//!
//! Conversions that can meet a value the other side has no name for (an
//! unknown enum number decoded from a plugin's bytes) map it to the
//! `UNSPECIFIED` variant, which every consumer treats as invalid.

use crate::plugin::v1 as wire;
use crate::v1 as api;

impl From<api::Frequency> for wire::Frequency {
    fn from(frequency: api::Frequency) -> Self {
        match frequency {
            api::Frequency::Unspecified => Self::Unspecified,
            api::Frequency::Annual => Self::Annual,
            api::Frequency::Quarterly => Self::Quarterly,
            api::Frequency::Monthly => Self::Monthly,
        }
    }
}

impl From<wire::Frequency> for api::Frequency {
    fn from(frequency: wire::Frequency) -> Self {
        match frequency {
            wire::Frequency::Unspecified => Self::Unspecified,
            wire::Frequency::Annual => Self::Annual,
            wire::Frequency::Quarterly => Self::Quarterly,
            wire::Frequency::Monthly => Self::Monthly,
        }
    }
}

impl From<wire::ModelKind> for api::ModelKind {
    fn from(kind: wire::ModelKind) -> Self {
        match kind {
            wire::ModelKind::Unspecified => Self::Unspecified,
            wire::ModelKind::Forecast => Self::Forecast,
            wire::ModelKind::Risk => Self::Risk,
        }
    }
}

impl From<wire::RiskBand> for api::RiskBand {
    fn from(band: wire::RiskBand) -> Self {
        match band {
            wire::RiskBand::Unspecified => Self::Unspecified,
            wire::RiskBand::Low => Self::Low,
            wire::RiskBand::Moderate => Self::Moderate,
            wire::RiskBand::High => Self::High,
            wire::RiskBand::Severe => Self::Severe,
        }
    }
}

/// A `Frequency` field of an API message (an `i32` on the wire) as the
/// plugin enum; unknown numbers are `Unspecified`.
pub fn frequency_to_wire(frequency: i32) -> wire::Frequency {
    api::Frequency::try_from(frequency)
        .unwrap_or(api::Frequency::Unspecified)
        .into()
}

/// A plugin's `ModelKind` field as the API enum.
pub fn kind_to_api(kind: i32) -> api::ModelKind {
    wire::ModelKind::try_from(kind)
        .unwrap_or(wire::ModelKind::Unspecified)
        .into()
}

/// A plugin's `RiskBand` field as the API enum.
pub fn band_to_api(band: i32) -> api::RiskBand {
    wire::RiskBand::try_from(band)
        .unwrap_or(wire::RiskBand::Unspecified)
        .into()
}

impl From<api::Observation> for wire::Observation {
    fn from(o: api::Observation) -> Self {
        Self {
            period: o.period,
            value: o.value,
        }
    }
}

impl From<api::Series> for wire::Series {
    fn from(series: api::Series) -> Self {
        Self {
            name: series.name,
            unit: series.unit,
            frequency: frequency_to_wire(series.frequency) as i32,
            observations: series.observations.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<&wire::ParamSpec> for api::ParamSpec {
    fn from(spec: &wire::ParamSpec) -> Self {
        Self {
            name: spec.name.clone(),
            description: spec.description.clone(),
            default_value: spec.default_value,
            min: spec.min,
            max: spec.max,
        }
    }
}

impl From<wire::Interval> for api::Interval {
    fn from(i: wire::Interval) -> Self {
        Self {
            level: i.level,
            lower: i.lower,
            upper: i.upper,
        }
    }
}

impl api::ForecastPoint {
    /// A plugin's point for the period labelled `period` (plugin points carry
    /// no labels: the host computed them and keeps them).
    pub fn from_wire(point: wire::ForecastPoint, period: String) -> Self {
        Self {
            period,
            mean: point.mean,
            growth: point.growth,
            intervals: point.intervals.into_iter().map(Into::into).collect(),
        }
    }

    /// The (lower, upper) bounds of this point's `level` interval, if it
    /// has one.
    pub fn bounds(&self, level: f64) -> Option<(f64, f64)> {
        self.intervals
            .iter()
            .find(|i| i.level == level)
            .map(|i| (i.lower, i.upper))
    }
}

impl From<wire::Factor> for api::Factor {
    fn from(f: wire::Factor) -> Self {
        Self {
            indicator: f.indicator,
            value: f.value,
            contribution: f.contribution,
            explanation: f.explanation,
        }
    }
}

impl api::ForecastResponse {
    /// The forecast's path as a plugin series (label and mean per forecast
    /// period), at `frequency`: how a risk model receives a demand forecast.
    pub fn path_as_wire_series(&self, frequency: wire::Frequency) -> wire::Series {
        wire::Series {
            name: self.series_name.clone(),
            unit: String::new(),
            frequency: frequency as i32,
            observations: self
                .points
                .iter()
                .map(|p| wire::Observation {
                    period: p.period.clone(),
                    value: p.mean,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_frequency_round_trips_by_name_not_number() {
        for api_frequency in [
            api::Frequency::Unspecified,
            api::Frequency::Annual,
            api::Frequency::Quarterly,
            api::Frequency::Monthly,
        ] {
            let wire_frequency = wire::Frequency::from(api_frequency);
            assert_eq!(
                wire_frequency
                    .as_str_name()
                    .trim_start_matches("FREQUENCY_"),
                api_frequency.as_str_name().trim_start_matches("FREQUENCY_")
            );
            assert_eq!(api::Frequency::from(wire_frequency), api_frequency);
        }
        assert_eq!(frequency_to_wire(99), wire::Frequency::Unspecified);
    }

    #[test]
    fn kinds_and_bands_keep_their_names_and_unknown_numbers_are_unspecified() {
        assert_eq!(
            kind_to_api(wire::ModelKind::Risk as i32),
            api::ModelKind::Risk
        );
        assert_eq!(kind_to_api(7), api::ModelKind::Unspecified);
        for band in [
            wire::RiskBand::Low,
            wire::RiskBand::Moderate,
            wire::RiskBand::High,
            wire::RiskBand::Severe,
        ] {
            assert_eq!(band_to_api(band as i32).as_str_name(), band.as_str_name(),);
        }
        assert_eq!(band_to_api(-1), api::RiskBand::Unspecified);
    }

    #[test]
    fn a_series_keeps_every_field() {
        let series = api::Series {
            name: "cloud".into(),
            unit: "USD bn".into(),
            frequency: api::Frequency::Quarterly as i32,
            observations: vec![api::Observation {
                period: "2024-Q1".into(),
                value: 1.5,
            }],
        };
        let wire_series = wire::Series::from(series);
        assert_eq!(wire_series.name, "cloud");
        assert_eq!(wire_series.unit, "USD bn");
        assert_eq!(wire_series.frequency, wire::Frequency::Quarterly as i32);
        assert_eq!(wire_series.observations[0].period, "2024-Q1");
        assert_eq!(wire_series.observations[0].value, 1.5);
    }

    #[test]
    fn a_point_takes_its_label_and_keeps_interval_order() {
        let point = wire::ForecastPoint {
            mean: 10.0,
            growth: 5.0,
            intervals: vec![
                wire::Interval {
                    level: 80.0,
                    lower: 9.0,
                    upper: 11.0,
                },
                wire::Interval {
                    level: 95.0,
                    lower: 8.0,
                    upper: 12.0,
                },
            ],
        };
        let api_point = api::ForecastPoint::from_wire(point, "2031".into());
        assert_eq!(api_point.period, "2031");
        assert_eq!((api_point.mean, api_point.growth), (10.0, 5.0));
        assert_eq!(api_point.intervals[1].level, 95.0);
        assert_eq!(api_point.intervals[1].lower, 8.0);
    }

    #[test]
    fn a_forecast_path_becomes_the_demand_series() {
        let response = api::ForecastResponse {
            series_name: "capex".into(),
            points: vec![api::ForecastPoint {
                period: "2026".into(),
                mean: 3.0,
                ..Default::default()
            }],
            ..Default::default()
        };
        let series = response.path_as_wire_series(wire::Frequency::Annual);
        assert_eq!(series.name, "capex");
        assert_eq!(series.frequency, wire::Frequency::Annual as i32);
        assert_eq!(series.observations.len(), 1);
        assert_eq!(series.observations[0].value, 3.0);
    }
}
