//! Ensembles (`ForecastRequest.ensemble`): several forecast models run on
//! the same series, concurrently on the model pool, and their paths combined
//! point by point (mean, median, or a mean weighted by each member's
//! backtest accuracy on this series). Interval bounds are combined the same
//! way as the means; a caller who wants calibrated intervals for the
//! combination asks for conformal ones, which calibrate the combined path.

use std::collections::HashMap;

use stratus_proto::v1::{
    BacktestRequest, Combination, EnsembleMember, ForecastPoint, ForecastRequest, ForecastResponse,
    Interval, ModelInfo, ModelKind, backtest_request, forecast_request,
};

use super::AppState;
use super::forecast::run_model;
use crate::deadline::Budget;
use crate::error::{ApiError, FieldViolation};
use crate::evaluation::backtest;

/// Origins of the backtest that weighs `COMBINATION_BACKTEST_WEIGHTED`.
const WEIGHTING_ORIGINS: u32 = 3;

/// Runs the ensemble `request` names (see the module doc).
pub(crate) async fn run(
    state: &AppState,
    mut request: ForecastRequest,
    prefix: &str,
    budget: Budget,
) -> Result<ForecastResponse, ApiError> {
    let field = |name: &str| format!("{prefix}{name}");
    let Some(ensemble) = request.ensemble.take() else {
        return Err(ApiError::Internal(
            "an ensemble call without an ensemble".into(),
        ));
    };
    if request.model.is_some() {
        return Err(ApiError::invalid(
            field("model"),
            "set `model` or `ensemble`, not both",
        ));
    }
    let limits = state.limits;
    if ensemble.members.is_empty() {
        return Err(ApiError::invalid(
            field("ensemble.members"),
            "an ensemble needs at least one member",
        ));
    }
    if ensemble.members.len() > limits.max_ensemble_members {
        return Err(ApiError::LimitExceeded(FieldViolation::new(
            field("ensemble.members"),
            format!(
                "{} members is above this server's limit of {} (--max-ensemble-members)",
                ensemble.members.len(),
                limits.max_ensemble_members
            ),
        )));
    }
    let combination = Combination::try_from(ensemble.combination).map_err(|_| {
        ApiError::invalid(
            field("ensemble.combination"),
            format!(
                "{} is not a combination: COMBINATION_MEAN, COMBINATION_MEDIAN or COMBINATION_BACKTEST_WEIGHTED",
                ensemble.combination
            ),
        )
    })?;

    let budget = budget.fixed_from_now();
    // Each member gets the params it declares; a name no member declares is
    // refused.
    let mut calls = Vec::with_capacity(ensemble.members.len());
    let mut declared_somewhere = std::collections::HashSet::new();
    for (i, member) in ensemble.members.iter().enumerate() {
        let context = format!("{prefix}ensemble.members[{i}]");
        let model = super::resolve::model(state, Some(member), &context)?;
        let params =
            crate::evaluation::backtest::declared(&request.params, &model.description.params);
        declared_somewhere.extend(params.keys().cloned());
        let mut call = request.clone();
        call.model = Some(member.clone());
        call.params = params;
        calls.push(async move {
            run_model(state, call, prefix, budget)
                .await
                .map_err(|e| e.in_context(&context))
        });
    }
    if let Some(unknown) = request
        .params
        .keys()
        .find(|k| !declared_somewhere.contains(*k))
    {
        return Err(ApiError::invalid(
            format!("{prefix}params[{}]", crate::limits::shown(unknown)),
            "no member of the ensemble declares this parameter",
        ));
    }
    let answers: Vec<ForecastResponse> = super::run_bounded(state, calls.into_iter())
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;

    let k = answers.len();
    let mut notes = Vec::new();
    let weights = match combination {
        Combination::BacktestWeighted => {
            match backtest_weights(state, &request, &ensemble.members, budget).await {
                Ok(weights) => {
                    notes.push(format!(
                        "Ensemble: mean of {k} models weighted by inverse OWA in a {WEIGHTING_ORIGINS}-origin backtest on this series."
                    ));
                    weights
                }
                Err(reason) => {
                    notes.push(format!(
                        "Ensemble: backtest weights were asked for but {reason}; the members are weighted equally."
                    ));
                    vec![1.0 / k as f64; k]
                }
            }
        }
        Combination::Median => {
            notes.push(format!("Ensemble: median of {k} models, point by point."));
            vec![1.0 / k as f64; k]
        }
        Combination::Mean | Combination::Unspecified => {
            notes.push(format!("Ensemble: mean of {k} models, point by point."));
            vec![1.0 / k as f64; k]
        }
    };
    let median = combination == Combination::Median;
    let combine = |values: Vec<f64>| -> f64 {
        if median {
            median_of(values)
        } else {
            values.iter().zip(&weights).map(|(v, w)| v * w).sum()
        }
    };

    let horizon = answers[0].points.len();
    let mut points = Vec::with_capacity(horizon);
    for s in 0..horizon {
        let first = &answers[0].points[s];
        let mean = combine(answers.iter().map(|a| a.points[s].mean).collect());
        let intervals = first
            .intervals
            .iter()
            .enumerate()
            .map(|(l, interval)| Interval {
                level: interval.level,
                lower: combine(
                    answers
                        .iter()
                        .map(|a| a.points[s].intervals[l].lower)
                        .collect(),
                ),
                upper: combine(
                    answers
                        .iter()
                        .map(|a| a.points[s].intervals[l].upper)
                        .collect(),
                ),
            })
            .collect();
        points.push(ForecastPoint {
            period: first.period.clone(),
            mean,
            growth: 0.0,
            intervals,
        });
    }
    year_on_year(state, &request, &mut points);

    let names: Vec<String> = answers
        .iter()
        .filter_map(|a| a.model.as_ref())
        .map(|m| format!("{} {}", m.name, m.version))
        .collect();
    let members = answers
        .iter()
        .zip(&weights)
        .map(|(answer, &weight)| EnsembleMember {
            model: answer.model.clone(),
            weight,
        })
        .collect();
    notes.push(
        "Interval bounds are combined like the means; ask for conformal intervals to calibrate the combination."
            .into(),
    );
    Ok(ForecastResponse {
        model: Some(ModelInfo {
            name: "ensemble".into(),
            kind: ModelKind::Forecast as i32,
            description: format!(
                "{} of {}",
                match combination {
                    Combination::Median => "median",
                    Combination::BacktestWeighted => "backtest-weighted mean",
                    _ => "mean",
                },
                names.join(", ")
            ),
            ..Default::default()
        }),
        series_name: answers[0].series_name.clone(),
        points,
        scenarios: Vec::new(),
        fitted: HashMap::new(),
        notes,
        request_id: request.request_id,
        members,
    })
}

/// Weights ∝ 1/OWA from a short backtest of the members on the request's
/// series; `Err` says why there are none.
async fn backtest_weights(
    state: &AppState,
    request: &ForecastRequest,
    members: &[stratus_proto::v1::ModelRef],
    budget: Budget,
) -> Result<Vec<f64>, String> {
    let source = match &request.source {
        Some(forecast_request::Source::Series(s)) => backtest_request::Source::Series(s.clone()),
        Some(forecast_request::Source::Dataset(d)) => backtest_request::Source::Dataset(d.clone()),
        None => return Err("there is no series".into()),
    };
    let mut horizon = request.horizon;
    // Shorten the backtest's horizon until the series is long enough.
    loop {
        let trial = BacktestRequest {
            models: members.to_vec(),
            source: Some(source.clone()),
            horizon,
            origins: WEIGHTING_ORIGINS,
            step: 1,
            levels: request.levels.clone(),
            params: request.params.clone(),
            request_id: String::new(),
            interval_method: 0,
            ensembles: Vec::new(),
        };
        match backtest::plan(trial, state) {
            Ok(plan) => {
                let answer = backtest::run(state, plan, budget)
                    .await
                    .map_err(|e| format!("the backtest failed ({e})"))?;
                let inverse: Vec<f64> = answer
                    .scores
                    .iter()
                    .map(|s| {
                        if s.owa.is_finite() && s.owa > 0.0 {
                            1.0 / s.owa
                        } else {
                            0.0
                        }
                    })
                    .collect();
                let total: f64 = inverse.iter().sum();
                if total <= 0.0 {
                    return Err("no member could be scored".into());
                }
                return Ok(inverse.iter().map(|w| w / total).collect());
            }
            Err(_) if horizon > 1 => horizon -= 1,
            Err(e) => return Err(format!("the series is too short for a backtest ({e})")),
        }
    }
}

/// The median (the mean of the middle two for an even count).
fn median_of(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        values[n / 2]
    } else {
        0.5 * (values[n / 2 - 1] + values[n / 2])
    }
}

/// Fills each point's year-on-year growth in percent from the combined path
/// and the history (the value one year before each period).
fn year_on_year(state: &AppState, request: &ForecastRequest, points: &mut [ForecastPoint]) {
    let history: Vec<f64> = super::request_series(state, request)
        .observations
        .iter()
        .map(|o| o.value)
        .collect();
    let per_year = super::answer_cadence(points).map_or(1, |c| c.periods_per_year() as usize);
    let means: Vec<f64> = points.iter().map(|p| p.mean).collect();
    let growth = stratus_series::growth::year_on_year(&history, &means, per_year);
    for (point, growth) in points.iter_mut().zip(growth) {
        point.growth = growth;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_takes_the_middle() {
        assert_eq!(median_of(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median_of(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
    }
}
