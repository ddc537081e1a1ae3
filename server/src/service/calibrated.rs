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
pub const CALIBRATION_ORIGINS: usize = 24;
/// The shortest history a calibration origin trains on.
const MIN_TRAIN: usize = 2;

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
    let first = n.saturating_sub(CALIBRATION_ORIGINS).max(MIN_TRAIN);
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
    match conformal::calibrate(&values, &origins, means.len(), &levels, &means) {
        Ok(calibration) => {
            // Levels with too few errors keep the model's own interval (a
            // calibration it cannot support would only pretend).
            let calibrated: Vec<Vec<Interval>> = response
                .points
                .iter()
                .enumerate()
                .map(|(h, point)| {
                    levels
                        .iter()
                        .enumerate()
                        .map(|(l, &level)| {
                            let own = point.intervals.get(l).cloned();
                            match own {
                                Some(own) if calibration.capped(l) => own,
                                _ => {
                                    let (lower, upper) =
                                        calibration.interval(l, h + 1, point.mean);
                                    Interval {
                                        level,
                                        lower,
                                        upper,
                                    }
                                }
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
                    "{refused} of the earliest calibration origins were left out: the model refused their short histories."
                ));
            }
        }
        Err(reason) => response.notes.push(format!(
            "Conformal intervals were asked for, but the history is too short: {reason}. The model's own intervals are kept."
        )),
    }
    Ok(response)
}
