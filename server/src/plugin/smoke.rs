//! The smoke check every library passes before it serves: one real call on a
//! small, valid input built from the model's own declarations (default
//! parameters; for risk models, every indicator at its declared default). A
//! library that panics, answers garbage, answers the wrong kind or hangs is
//! refused before any request reaches it.

use std::time::Duration;

use prost::Message;
use stratus_plugin_abi::wire;

use super::library::CallError;
use super::watchdog::{self, Stopped};

/// Why a library failed its smoke check.
#[derive(Debug, thiserror::Error)]
pub enum SmokeError {
    /// The call answered, but not acceptably.
    #[error("{0}")]
    Refused(String),
    /// The call did not answer (see [`watchdog`]).
    #[error(transparent)]
    Stopped(#[from] Stopped),
}

/// How long a smoke call may take before the library is refused.
pub const SMOKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The smoke input for a model: a gently growing 12-year annual series with a
/// 2-year horizon, or every declared indicator at its default.
pub fn input(description: &wire::ModelDescription) -> wire::InvokeRequest {
    let params = description
        .params
        .iter()
        .map(|p| (p.name.clone(), p.default_value))
        .collect();
    let call = if description.kind == wire::ModelKind::Risk as i32 {
        wire::invoke_request::Call::Risk(wire::RiskInput {
            subject: "smoke check".into(),
            indicators: description
                .inputs
                .iter()
                .map(|p| (p.name.clone(), p.default_value))
                .collect(),
            series: Default::default(),
            params,
        })
    } else {
        let observations = (0..12)
            .map(|i| wire::Observation {
                period: (2010 + i).to_string(),
                value: 10.0 * 1.1f64.powi(i) * (1.0 + 0.02 * f64::from(i % 3) - 0.02),
            })
            .collect();
        wire::invoke_request::Call::Forecast(wire::ForecastInput {
            series: Some(wire::Series {
                name: "smoke".into(),
                unit: String::new(),
                frequency: wire::Frequency::Annual as i32,
                observations,
            }),
            horizon: 2,
            levels: vec![80.0, 95.0],
            params,
            future_periods: vec!["2022".into(), "2023".into()],
            periods_per_year: 1,
        })
    };
    wire::InvokeRequest { call: Some(call) }
}

/// Runs the smoke call through `call` (the model's instance, in process or
/// in a host process) under [`SMOKE_TIMEOUT`], on a thread of its own so a
/// hanging library cannot hang the rescan (if it never returns, the thread
/// and what `call` holds are abandoned); `Err` says why the library is
/// refused.
pub fn check(
    call: impl FnOnce(&[u8]) -> Result<wire::InvokeResponse, CallError> + Send + 'static,
    description: &wire::ModelDescription,
) -> Result<(), SmokeError> {
    let request = input(description).encode_to_vec();
    let risk = description.kind == wire::ModelKind::Risk as i32;
    let answer = watchdog::run(
        "stratus-smoke",
        SMOKE_TIMEOUT,
        "the smoke call",
        move |_| call(&request),
    )?;
    let refused = |message: String| Err(SmokeError::Refused(message));
    let response = match answer {
        Ok(response) => response,
        Err(CallError::Plugin(error)) => {
            return refused(format!("the smoke call failed: {}", error.message));
        }
        Err(CallError::Garbage(what)) => {
            return refused(format!(
                "the smoke call broke the plugin contract: it {what}"
            ));
        }
        Err(other) => {
            return refused(format!(
                "the smoke call did not complete: {}",
                other.message()
            ));
        }
    };
    use wire::invoke_response::Result as Reply;
    match (risk, response.result) {
        (false, Some(Reply::Forecast(out))) => {
            let sane = out.points.len() == 2
                && out
                    .points
                    .iter()
                    .all(|p| p.mean.is_finite() && p.intervals.len() == 2);
            if sane {
                Ok(())
            } else {
                refused(
                    "the smoke forecast did not have 2 finite points with 2 intervals each".into(),
                )
            }
        }
        (true, Some(Reply::Risk(out))) => {
            if out.score.is_finite() && (0.0..=100.0).contains(&out.score) {
                Ok(())
            } else {
                refused(format!("the smoke score {} is outside 0-100", out.score))
            }
        }
        _ => refused("the smoke call answered with a result of the wrong kind".into()),
    }
}
