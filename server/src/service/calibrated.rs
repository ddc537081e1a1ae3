//! Forecasts with conformal intervals (`INTERVAL_METHOD_CONFORMAL`): the
//! model forecasts the series as usual, and from up to
//! [`CALIBRATION_ORIGINS`] rolling origins over the series' own history
//! (concurrently, on the model pool); its errors there set the intervals
//! (`evaluation::conformal`). At most origins + 1 forecasts in all.

use stratus_proto::v1::{
    ForecastRequest, ForecastResponse, Interval, IntervalMethod, Series, forecast_request,
};

use super::AppState;
use super::forecast::run_uncalibrated;
use crate::deadline::Budget;
use crate::error::ApiError;
use crate::evaluation::conformal::{self, OriginForecast};
use crate::validate::DEFAULT_LEVELS;

/// Most calibration origins: the last ones before the end of the series.
///
/// 48: on M1 quarterly (`bench/accuracy.py`) 48 origins brought 95%
/// coverage from 0.91–0.92 to 0.92–0.93 over 24; yearly series are rarely
/// that long, so they use what they have.
pub const CALIBRATION_ORIGINS: usize = 48;
/// The shortest history a calibration origin trains on, in years: two
/// years plus one period. A forecast from less (two quarters of a seasonal
/// series) tells little about the errors of the model fitted to the whole
/// series, and on M1 its errors made the long steps' widths absurd (95%
/// bounds a million times the series' level on some 12-quarter series).
const MIN_TRAIN_YEARS: usize = 2;

/// Runs `request` with conformal intervals (see the module doc).
pub(crate) async fn run(
    state: &AppState,
    mut request: ForecastRequest,
    prefix: &str,
    budget: Budget,
) -> Result<ForecastResponse, ApiError> {
    let budget = budget.fixed_from_now();
    request.interval_method = IntervalMethod::Model as i32;
    let mut response = run_uncalibrated(state, request.clone(), prefix, budget).await?;
    // Valid by now: the forecast above checked it.
    let series = super::request_series(state, &request);
    let values: Vec<f64> = series.observations.iter().map(|o| o.value).collect();
    let n = values.len();
    let per_year =
        super::answer_cadence(&response.points).map_or(1, |c| c.periods_per_year() as usize);
    let first = n
        .saturating_sub(CALIBRATION_ORIGINS)
        .max(MIN_TRAIN_YEARS * per_year + 1);
    let calls = (first..n).map(|train| {
        let mut calibration = request.clone();
        calibration.source = Some(forecast_request::Source::Series(Series {
            observations: series.observations[..train].to_vec(),
            ..series.clone()
        }));
        async move {
            run_uncalibrated(state, calibration, prefix, budget)
                .await
                .map(|answer| OriginForecast {
                    train,
                    means: answer.points.iter().map(|p| p.mean).collect(),
                })
        }
    });
    let mut origins = Vec::new();
    let mut refused = 0;
    for result in super::run_bounded(state, calls).await {
        match result {
            Ok(origin) => origins.push(origin),
            // A model may refuse its shortest histories; those origins are
            // left out, and counted in the notes.
            Err(ApiError::InvalidArgument(_) | ApiError::FailedPrecondition(_)) => refused += 1,
            // A failure, the server at capacity or out of time: the caller
            // should know.
            Err(error) => return Err(error),
        }
    }
    let levels: Vec<f64> = response
        .points
        .first()
        .map(|p| p.intervals.iter().map(|i| i.level).collect())
        .filter(|l: &Vec<f64>| !l.is_empty())
        .unwrap_or_else(|| DEFAULT_LEVELS.to_vec());
    let means: Vec<f64> = response.points.iter().map(|p| p.mean).collect();
    // The model's own bounds, the floor where the errors cannot rank a level.
    let own: Vec<Vec<(f64, f64)>> = response
        .points
        .iter()
        .map(|p| p.intervals.iter().map(|i| (i.lower, i.upper)).collect())
        .collect();
    match conformal::calibrate(&values, &origins, means.len(), &levels, &means, &own) {
        Ok(calibration) => {
            let calibrated: Vec<Vec<Interval>> = response
                .points
                .iter()
                .enumerate()
                .map(|(h, point)| {
                    levels
                        .iter()
                        .enumerate()
                        .map(|(l, &level)| {
                            let (lower, upper) = calibration.interval(l, h + 1, point.mean);
                            Interval {
                                level,
                                lower,
                                upper,
                            }
                        })
                        .collect()
                })
                .collect();
            let finite = calibrated
                .iter()
                .flatten()
                .all(|i| i.lower.is_finite() && i.upper.is_finite() && i.lower <= i.upper);
            if finite {
                for (point, intervals) in response.points.iter_mut().zip(calibrated) {
                    point.intervals = intervals;
                }
                response.notes.extend(calibration.notes);
            } else {
                response.notes.push(
                    "Conformal intervals were asked for, but the calibrated widths leave the range of a double on this series; the model's own intervals are kept."
                        .into(),
                );
            }
            if refused > 0 {
                response.notes.push(format!(
                    "Earliest calibration origins left out because the model refused their short histories: {refused}."
                ));
            }
        }
        Err(reason) => response.notes.push(format!(
            "Conformal intervals were asked for, but the history is too short: {reason}. The model's own intervals are kept."
        )),
    }
    Ok(response)
}
