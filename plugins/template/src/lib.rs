//! `template`: a complete, deliberately simple model to copy when writing a
//! new one (see this crate's README). It forecasts the mean of the last
//! `window` observations, flat, with normal intervals whose variance is that
//! of a mean of `window` draws plus one new draw:
//! `σ²·(1 + 1/window)`, `σ²` the variance of the window's values.
//!
//! Everything a model needs is here: a declared parameter read through
//! [`Param`], a refusal that names the request field, intervals for whatever
//! levels are asked, year-on-year growth, and the final range check.

use stratus_plugin::output::{ensure_representable, normal_intervals};
use stratus_plugin::params::Param;
use stratus_plugin::{ForecastModel, ModelError, growth, input, wire};

/// The model. `Default` is how the plugin glue builds it.
#[derive(Debug, Default)]
pub struct Template;

/// How many of the latest observations the forecast averages.
const WINDOW: Param = Param::new(
    "window",
    "How many of the latest observations the forecast averages.",
    3.0,
    1.0,
    100.0,
);

impl ForecastModel for Template {
    fn description(&self) -> wire::ModelDescription {
        wire::ModelDescription {
            // The name callers use; one model may be served at several
            // versions (semver) side by side.
            name: "template".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Template model: the mean of the last `window` observations, flat.".into(),
            params: vec![WINDOW.spec()],
            ..Default::default()
        }
    }

    fn forecast(&self, input: &wire::ForecastInput) -> Result<wire::ForecastOutput, ModelError> {
        // The server has validated the input: a non-empty series of finite
        // values at consecutive periods, levels in (0, 100), and every
        // declared parameter present and within its range.
        let history = input::history(input);
        let window = WINDOW.read(&input.params) as usize;
        if history.len() < window {
            // INVALID_ARGUMENT for the caller, naming the field at fault.
            return Err(ModelError::invalid(
                "series.observations",
                format!(
                    "template averages the last {window} observations; the series has {}. Send more history or a smaller `window`",
                    history.len()
                ),
            ));
        }
        let recent = &history[history.len() - window..];
        let mean = recent.iter().sum::<f64>() / window as f64;
        let variance = if window > 1 {
            recent.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (window - 1) as f64
        } else {
            0.0
        };
        let sd = (variance * (1.0 + 1.0 / window as f64)).sqrt();

        let path = vec![mean; input.horizon as usize];
        let growth = growth::year_on_year(&history, &path, input.periods_per_year as usize);
        let points = path
            .iter()
            .zip(growth)
            .map(|(&mean, growth)| wire::ForecastPoint {
                mean,
                growth,
                // One interval per requested level, in the order requested.
                intervals: normal_intervals(&input.levels, mean, sd),
            })
            .collect();
        let output = wire::ForecastOutput {
            points,
            fitted: [("sd".to_owned(), sd)].into(),
            notes: vec![format!("Mean of the last {window} observations.")],
            ..Default::default()
        };
        // A huge series can push a bound out of f64's range: that is the
        // caller's INVALID_ARGUMENT, not a failure of this model.
        ensure_representable(&output)?;
        Ok(output)
    }
}

// The plugin's C entry point (see the crate's `export` feature).
#[cfg(feature = "export")]
stratus_plugin::export!(forecast: Template);

#[cfg(test)]
mod tests {
    use super::*;
    use stratus_plugin::input::{forecast_input, with_params};

    #[test]
    fn forecasts_the_mean_of_the_window_with_nested_intervals() {
        let params = Template.description().params;
        let input = forecast_input(&[1.0, 2.0, 4.0, 6.0, 8.0], 1, 3, &params);
        let output = Template.forecast(&input).unwrap();
        assert_eq!(output.points.len(), 3);
        assert!((output.points[0].mean - 6.0).abs() < 1e-12);
        let [i80, i95] = [
            &output.points[0].intervals[0],
            &output.points[0].intervals[1],
        ];
        assert_eq!((i80.level, i95.level), (80.0, 95.0));
        assert!(i95.lower < i80.lower && i80.upper < i95.upper);
        // 6 against the last observation, 8: −25%.
        assert!((output.points[0].growth + 25.0).abs() < 1e-9);
    }

    #[test]
    fn a_window_longer_than_the_series_is_refused_naming_the_field() {
        let params = Template.description().params;
        let input = with_params(
            forecast_input(&[1.0, 2.0], 1, 1, &params),
            &[("window", 5.0)],
        );
        let error = Template.forecast(&input).unwrap_err();
        assert_eq!(error.field, "series.observations");
        assert!(error.message.contains("the series has 2"));
    }
}
