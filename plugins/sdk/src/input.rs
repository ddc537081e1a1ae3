//! Reading a validated forecast input, and building one (for a model's own
//! tests, benchmarks and drivers, which call the model without a server).

use crate::{Cadence, ModelError, wire};

/// The series' values, oldest first.
pub fn history(input: &wire::ForecastInput) -> Vec<f64> {
    input
        .series
        .iter()
        .flat_map(|s| &s.observations)
        .map(|o| o.value)
        .collect()
}

/// Refuses a series with a zero or negative value, naming the first one;
/// `reason` says who needs positive values and why.
pub fn require_positive(values: &[f64], reason: &str) -> Result<(), ModelError> {
    match values.iter().position(|&v| v <= 0.0) {
        Some(i) => Err(ModelError::invalid(
            format!("series.observations[{i}].value"),
            format!("{reason}; {} is not", values[i]),
        )),
        None => Ok(()),
    }
}

/// A complete input as the server would send it: `values` as consecutive
/// periods from 2000 at `periods_per_year` (1, 4 or 12; anything else is
/// taken as annual), levels 80 and 95, and every declared parameter at its
/// default.
pub fn forecast_input(
    values: &[f64],
    periods_per_year: u32,
    horizon: u32,
    params: &[wire::ParamSpec],
) -> wire::ForecastInput {
    let cadence = Cadence::from_periods_per_year(periods_per_year).unwrap_or(Cadence::Annual);
    let label = |i: usize| cadence.period(2000, i as i64).to_string();
    wire::ForecastInput {
        series: Some(wire::Series {
            name: "series".into(),
            unit: String::new(),
            frequency: cadence.to_wire() as i32,
            observations: values
                .iter()
                .enumerate()
                .map(|(i, &value)| wire::Observation {
                    period: label(i),
                    value,
                })
                .collect(),
        }),
        horizon,
        levels: vec![80.0, 95.0],
        params: params
            .iter()
            .map(|p| (p.name.clone(), p.default_value))
            .collect(),
        future_periods: (values.len()..values.len() + horizon as usize)
            .map(label)
            .collect(),
        periods_per_year: cadence.periods_per_year(),
    }
}

/// Sets parameters of an input built by [`forecast_input`], for tests that
/// vary a few of them from their defaults.
pub fn with_params(mut input: wire::ForecastInput, params: &[(&str, f64)]) -> wire::ForecastInput {
    for (name, value) in params {
        input.params.insert((*name).to_owned(), *value);
    }
    input
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_labels_for_each_frequency_and_reads_them_back() {
        let input = forecast_input(&[1.0, 2.0, 3.0, 4.0, 5.0], 4, 2, &[]);
        let series = input.series.as_ref().unwrap();
        assert_eq!(series.observations[4].period, "2001-Q1");
        assert_eq!(input.future_periods, ["2001-Q2", "2001-Q3"]);
        assert_eq!(history(&input), [1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(
            forecast_input(&[1.0], 12, 1, &[]).future_periods,
            ["2000-02"]
        );
    }

    #[test]
    fn the_first_non_positive_value_is_named() {
        let err = require_positive(&[1.0, 0.0, -1.0], "m needs positive values").unwrap_err();
        assert_eq!(err.field, "series.observations[1].value");
        assert_eq!(err.message, "m needs positive values; 0 is not");
        assert!(require_positive(&[1.0], "m").is_ok());
    }
}
