//! `stratus compare`: one series, several models side by side. A table of
//! each model's mean and widest interval per period, an overlay chart with
//! `--plot`, and a ranking by OWA from a backtest on the series itself, with
//! as many origins (up to three) as its length allows.

use std::path::Path;

use anyhow::{Context as _, bail};
use comfy_table::Cell;
use futures::future::join_all;
use stratus_client::{StratusClient, proto};
use stratus_series::Cadence;

use crate::args::CompareArgs;
use crate::{AlreadyReported, input, plot, render};

/// Origins a comparison's backtest uses at most: enough to smooth one lucky
/// year, few enough that a short series can afford them.
const MAX_ORIGINS: u32 = 3;

/// One model's forecast, or why it has none.
struct Entry {
    name: String,
    forecast: Result<proto::ForecastResponse, tonic::Status>,
}

/// The backtest's answer, or why it was not run.
enum Ranking {
    Ranked {
        horizon: u32,
        origins: u32,
        response: Box<proto::BacktestResponse>,
    },
    NotRun(String),
}

/// The `stratus compare` command.
pub async fn run(client: &StratusClient, args: CompareArgs) -> anyhow::Result<()> {
    if args.models.len() < 2 {
        bail!("give two or more --model to compare (for one model, use `stratus forecast`)");
    }
    let source = match (&args.dataset, &args.csv) {
        (Some(name), _) => proto::forecast_request::Source::Dataset(name.clone()),
        (None, Some(path)) => proto::forecast_request::Source::Series(input::read_csv(path)?),
        (None, None) => bail!("give --dataset NAME or --csv FILE"),
    };
    let history = input::history(client, Some(&source)).await?;
    let per_year = Cadence::from_wire(history.frequency).map_or(1, Cadence::periods_per_year);
    let horizon = args.horizon.unwrap_or(per_year.max(3));
    let refs = args.model_refs();
    let params = params_by_model(client, &refs, &args.params).await?;

    let forecasts = join_all(refs.iter().zip(params).map(|(model, params)| {
        let request = proto::ForecastRequest {
            model: Some(model.clone()),
            source: Some(source.clone()),
            horizon,
            levels: args.levels.clone(),
            params,
            interval_method: args.interval_method(),
            ..Default::default()
        };
        async move { client.forecast(request).await }
    }));
    let ranking = async {
        let (horizon, origins) =
            match backtest_plan(history.observations.len(), per_year as usize, horizon) {
                Ok(plan) => plan,
                Err(reason) => return Ranking::NotRun(reason),
            };
        let request = proto::BacktestRequest {
            models: refs.clone(),
            source: Some(match &source {
                proto::forecast_request::Source::Series(s) => {
                    proto::backtest_request::Source::Series(s.clone())
                }
                proto::forecast_request::Source::Dataset(d) => {
                    proto::backtest_request::Source::Dataset(d.clone())
                }
            }),
            horizon,
            origins,
            step: 1,
            levels: args.levels.clone(),
            // The server gives each model the params it declares.
            params: args.params.iter().cloned().collect(),
            interval_method: args.interval_method(),
            ..Default::default()
        };
        match client.backtest(request).await {
            Ok(response) => Ranking::Ranked {
                horizon,
                origins,
                response: Box::new(response),
            },
            Err(status) => Ranking::NotRun(render::status(&status)),
        }
    };
    let (forecasts, ranking) = futures::join!(forecasts, ranking);
    let entries: Vec<Entry> = refs
        .iter()
        .zip(forecasts)
        .map(|(model, forecast)| Entry {
            name: model.name.clone(),
            forecast,
        })
        .collect();

    if args.json {
        print_json(&entries, &ranking)?;
    } else {
        print!("{}", table(&entries, &history, widest_level(&args.levels)));
        print!("{}", ranking_text(&ranking));
    }
    let answered: Vec<proto::ForecastResponse> = entries
        .iter()
        .filter_map(|e| e.forecast.as_ref().ok().cloned())
        .collect();
    if let Some(path) = &args.plot {
        write_chart(path, &answered, &history)?;
    }
    let failed: Vec<&Entry> = entries.iter().filter(|e| e.forecast.is_err()).collect();
    for entry in &failed {
        if let Err(status) = &entry.forecast {
            eprintln!("not forecast: {}: {}", entry.name, render::status(status));
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(AlreadyReported.into())
    }
}

/// Each model's share of `--param`: the ones it declares, as a backtest
/// does, so one command can pass `ai_uplift_pp` to canalys and nothing to
/// naive. A parameter no model declares is a typo: refused.
async fn params_by_model(
    client: &StratusClient,
    refs: &[proto::ModelRef],
    params: &[(String, f64)],
) -> anyhow::Result<Vec<std::collections::HashMap<String, f64>>> {
    if params.is_empty() {
        return Ok(vec![Default::default(); refs.len()]);
    }
    let infos = join_all(refs.iter().map(|m| client.get_model(&m.name, &m.version))).await;
    let mut declared = Vec::with_capacity(refs.len());
    for info in infos {
        let info = info?;
        declared.push(
            info.params
                .into_iter()
                .map(|p| p.name)
                .collect::<Vec<String>>(),
        );
    }
    for (name, _) in params {
        if !declared.iter().any(|names| names.contains(name)) {
            bail!(
                "--param {name}: none of the models declares it (`stratus models --json` lists each model's params)"
            );
        }
    }
    Ok(declared
        .iter()
        .map(|names| {
            params
                .iter()
                .filter(|(name, _)| names.contains(name))
                .cloned()
                .collect()
        })
        .collect())
}

/// The backtest a series of `n` observations allows: the horizon (shortened
/// to fit) and up to [`MAX_ORIGINS`] origins; or, in one line, why none
/// fits. The server needs horizon + (origins - 1) + a year + 1 observations,
/// so every origin trains on more than a year (MASE's scale).
fn backtest_plan(n: usize, per_year: usize, horizon: u32) -> Result<(u32, u32), String> {
    // horizon + origins - 1 may use this many observations.
    let room = n as i64 - per_year as i64 - 1;
    if room < 1 {
        return Err(format!(
            "the series is too short to rank the models: {n} observations, and a backtest needs at least {} (a period to forecast after more than a year to train on)",
            per_year + 2
        ));
    }
    let horizon = i64::from(horizon.max(1)).min(room);
    let origins = (room - horizon + 1).min(i64::from(MAX_ORIGINS));
    // Both fit in u32: horizon came from one, origins is at most 3.
    Ok((horizon as u32, origins as u32))
}

/// The widest level asked for (the API's default levels are 80 and 95).
fn widest_level(levels: &[f64]) -> f64 {
    levels.iter().copied().reduce(f64::max).unwrap_or(95.0)
}

/// Period, then each answered model's mean and widest interval.
fn table(entries: &[Entry], history: &proto::Series, level: f64) -> String {
    let answered: Vec<&proto::ForecastResponse> = entries
        .iter()
        .filter_map(|e| e.forecast.as_ref().ok())
        .collect();
    let Some(first) = answered.first() else {
        return String::new();
    };
    let mut out = format!(
        "series {} · {} periods ahead · {}% intervals\n",
        if first.series_name.is_empty() {
            &history.name
        } else {
            &first.series_name
        },
        first.points.len(),
        plot::tick(level)
    );
    let models: Vec<String> = answered
        .iter()
        .filter_map(|r| r.model.as_ref())
        .map(|m| {
            format!(
                "{} {} (sha256 {})",
                m.name,
                m.version,
                plot::short_sha(&m.sha256)
            )
        })
        .collect();
    out.push_str(&format!("models: {}\n", models.join(", ")));
    let mut header = vec!["PERIOD".to_owned()];
    for response in &answered {
        let name = response.model.as_ref().map_or("?", |m| m.name.as_str());
        header.push(format!("{name} MEAN"));
        header.push(format!("{name} {}%", plot::tick(level)));
    }
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut t = render::table(&header);
    for (i, point) in first.points.iter().enumerate() {
        let mut row = vec![Cell::new(&point.period)];
        for response in &answered {
            // Same series and horizon, so the same periods; matched by
            // label all the same.
            let own = response
                .points
                .get(i)
                .filter(|p| p.period == point.period)
                .or_else(|| response.points.iter().find(|p| p.period == point.period));
            match own {
                Some(p) => {
                    row.push(render::right(format!("{:.2}", p.mean)));
                    let interval = p.bounds(level).map_or("—".to_owned(), |(lower, upper)| {
                        format!("{lower:.2}–{upper:.2}")
                    });
                    row.push(render::right(interval));
                }
                None => row.extend([render::right("—"), render::right("—")]),
            }
        }
        t.add_row(row);
    }
    out.push_str(&format!("{t}\n"));
    out
}

/// The models ranked by OWA (best first), or why there is no ranking.
fn ranking_text(ranking: &Ranking) -> String {
    let (horizon, origins, response) = match ranking {
        Ranking::NotRun(reason) => return format!("ranking: not run: {reason}\n"),
        Ranking::Ranked {
            horizon,
            origins,
            response,
        } => (horizon, origins, response),
    };
    let mut out = format!(
        "ranking by backtest: {origins} origin{}, {horizon} period{} ahead each · OWA against Naive2 (below 1 beats it)\n",
        if *origins == 1 { "" } else { "s" },
        if *horizon == 1 { "" } else { "s" },
    );
    let mut scored: Vec<&proto::ModelScore> = response
        .scores
        .iter()
        .filter(|s| s.error.is_empty())
        .collect();
    scored.sort_by(|a, b| a.owa.total_cmp(&b.owa));
    let mut t = render::table(&["RANK", "MODEL", "OWA", "sMAPE", "MASE"]);
    for (rank, score) in scored.iter().enumerate() {
        let name = score.model.as_ref().map_or("?", |m| m.name.as_str());
        t.add_row(vec![
            Cell::new(rank + 1),
            Cell::new(name),
            render::right(format!("{:.3}", score.owa)),
            render::right(format!("{:.2}", score.smape)),
            render::right(format!("{:.3}", score.mase)),
        ]);
    }
    out.push_str(&format!("{t}\n"));
    for score in response.scores.iter().filter(|s| !s.error.is_empty()) {
        let name = score.model.as_ref().map_or("?", |m| m.name.as_str());
        out.push_str(&format!("not ranked: {name}: {}\n", score.error));
    }
    out
}

fn print_json(entries: &[Entry], ranking: &Ranking) -> anyhow::Result<()> {
    let forecasts: Vec<&proto::ForecastResponse> = entries
        .iter()
        .filter_map(|e| e.forecast.as_ref().ok())
        .collect();
    let failed: Vec<serde_json::Value> = entries
        .iter()
        .filter_map(|e| {
            let status = e.forecast.as_ref().err()?;
            Some(serde_json::json!({
                "model": e.name,
                "error": render::status(status),
            }))
        })
        .collect();
    let (backtest, not_run) = match ranking {
        Ranking::Ranked { response, .. } => (Some(response), None),
        Ranking::NotRun(reason) => (None, Some(reason)),
    };
    let value = serde_json::json!({
        "forecasts": forecasts,
        "failed": failed,
        "backtest": backtest,
        "backtestNotRun": not_run,
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&value).context("encoding the comparison as JSON")?
    );
    Ok(())
}

fn write_chart(
    path: &Path,
    answered: &[proto::ForecastResponse],
    history: &proto::Series,
) -> anyhow::Result<()> {
    if answered.is_empty() {
        eprintln!("no chart: no model answered");
        return Ok(());
    }
    plot::save(&plot::overlay(answered, history), path)?;
    eprintln!("chart written to {}", path.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backtest_shrinks_to_fit_the_series() {
        // China's annual series: 6 points, horizon 3 leaves room for 2 origins.
        assert_eq!(backtest_plan(6, 1, 3), Ok((3, 2)));
        assert_eq!(backtest_plan(6, 1, 1), Ok((1, 3)));
        // The quarterly one (23 points) affords the full three.
        assert_eq!(backtest_plan(23, 4, 4), Ok((4, 3)));
        // A long horizon on a short series is shortened to one origin.
        assert_eq!(backtest_plan(6, 1, 10), Ok((4, 1)));
        let short = backtest_plan(2, 1, 3).unwrap_err();
        assert!(short.contains("at least 3"), "{short}");
        assert!(backtest_plan(5, 4, 1).is_err());
    }

    #[test]
    fn the_widest_level_is_shown() {
        assert_eq!(widest_level(&[]), 95.0);
        assert_eq!(widest_level(&[50.0, 90.0, 80.0]), 90.0);
    }
}
