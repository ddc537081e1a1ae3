//! Backtests through the real server: metrics against a hand computation,
//! refusals, several models at once, the stream, and the CLI.

use futures::StreamExt;
use stratus_client::proto;
use stratus_e2e::fixtures::{annual, model};
use stratus_e2e::{CANALYS, MCKINSEY, NAIVE, Server, ServerOptions};
use tonic::Code;

fn backtest(
    models: &[&str],
    series: proto::Series,
    horizon: u32,
    origins: u32,
) -> proto::BacktestRequest {
    proto::BacktestRequest {
        models: models.iter().filter_map(|m| model(m)).collect(),
        source: Some(proto::backtest_request::Source::Series(series)),
        horizon,
        origins,
        step: 1,
        ..Default::default()
    }
}

fn smape(actuals: &[f64], forecasts: &[f64]) -> f64 {
    let sum: f64 = actuals
        .iter()
        .zip(forecasts)
        .map(|(y, f)| (y - f).abs() / (y.abs() + f.abs()))
        .sum();
    200.0 * sum / actuals.len() as f64
}

fn mae(actuals: &[f64], forecasts: &[f64]) -> f64 {
    actuals
        .iter()
        .zip(forecasts)
        .map(|(y, f)| (y - f).abs())
        .sum::<f64>()
        / actuals.len() as f64
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9 * b.abs().max(1.0)
}

#[tokio::test]
async fn naive_backtest_matches_a_hand_computation() {
    let server = Server::with_naive();
    let client = server.client().await;
    let y = [10.0, 12.0, 15.0, 14.0, 18.0, 21.0];
    let answer = client
        .backtest(backtest(&["naive"], annual("s", 2015, &y), 2, 2))
        .await
        .unwrap();
    assert_eq!(answer.series_name, "s");
    let score = &answer.scores[0];
    assert_eq!(score.model.as_ref().unwrap().name, "naive");
    assert_eq!(score.origins.len(), 2);
    // Origin 0 trains on 10, 12, 15: drift 2.5 → 17.5, 20 against 14, 18;
    // the MASE scale is the mean of |2|, |3| = 2.5.
    // Origin 1 trains on 10, 12, 15, 14: drift 4/3 → 15.33, 16.67 against
    // 18, 21; the scale is the mean of 2, 3, 1 = 2.
    let o0 = (
        smape(&[14.0, 18.0], &[17.5, 20.0]),
        mae(&[14.0, 18.0], &[17.5, 20.0]) / 2.5,
    );
    let f1 = [14.0 + 4.0 / 3.0, 14.0 + 8.0 / 3.0];
    let o1 = (smape(&[18.0, 21.0], &f1), mae(&[18.0, 21.0], &f1) / 2.0);
    assert_eq!(score.origins[0].train_size, 3);
    assert_eq!(score.origins[0].actuals, vec![14.0, 18.0]);
    assert!(
        close(score.origins[0].smape, o0.0),
        "{}",
        score.origins[0].smape
    );
    assert!(
        close(score.origins[1].mase, o1.1),
        "{}",
        score.origins[1].mase
    );
    assert!(close(score.smape, (o0.0 + o1.0) / 2.0));
    assert!(close(score.mase, (o0.1 + o1.1) / 2.0));
    // Naive2 on annual data is the last value: 15, 15 and 14, 14.
    let n0 = (
        smape(&[14.0, 18.0], &[15.0, 15.0]),
        mae(&[14.0, 18.0], &[15.0, 15.0]) / 2.5,
    );
    let n1 = (
        smape(&[18.0, 21.0], &[14.0, 14.0]),
        mae(&[18.0, 21.0], &[14.0, 14.0]) / 2.0,
    );
    let naive2 = answer.naive2.as_ref().unwrap();
    assert_eq!(naive2.model.as_ref().unwrap().name, "naive2");
    let (n2_smape, n2_mase) = ((n0.0 + n1.0) / 2.0, (n0.1 + n1.1) / 2.0);
    assert!(close(naive2.smape, n2_smape));
    assert!(close(naive2.mase, n2_mase));
    let owa = 0.5 * (score.smape / n2_smape + score.mase / n2_mase);
    assert!(close(score.owa, owa), "{} vs {owa}", score.owa);
    // Coverage is a share for each default level; MSIS is scored at 95%.
    assert_eq!(score.coverage.len(), 2);
    assert!(
        score
            .coverage
            .iter()
            .all(|c| (0.0..=1.0).contains(&c.coverage))
    );
    assert!(score.msis.is_finite() && score.msis > 0.0);
}

#[tokio::test]
async fn a_series_too_short_for_the_origins_is_refused_with_what_it_needs() {
    let server = Server::with_naive();
    let client = server.client().await;
    let status = client
        .backtest(backtest(
            &["naive"],
            annual("s", 2015, &[1.0, 2.0, 3.0, 4.0, 5.0]),
            2,
            3,
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().starts_with("series.observations:"),
        "{}",
        status.message()
    );
    assert!(
        status.message().contains("at least 6 observations"),
        "{}",
        status.message()
    );
    assert!(status.message().contains("has 5"), "{}", status.message());

    let mut request = backtest(&["naive"], annual("s", 2000, &[1.0; 20]), 2, 3);
    request.origins = 1_000;
    let status = client.backtest(request).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert!(
        status.message().contains("--max-backtest-origins"),
        "{}",
        status.message()
    );

    let status = client
        .backtest(backtest(&["nope"], annual("s", 2000, &[1.0; 20]), 2, 3))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert!(
        status.message().starts_with("models[0]"),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn several_models_are_scored_on_the_same_origins_and_streamed_in_order() {
    let server = Server::start(ServerOptions {
        plugins: vec![NAIVE, CANALYS, MCKINSEY],
        ..Default::default()
    });
    let client = server.client().await;
    let values: Vec<f64> = (0..16)
        .map(|i| 20.0 * 1.12f64.powi(i) * (1.0 + 0.03 * f64::from(i % 3)))
        .collect();
    let answer = client
        .backtest(backtest(
            &["naive", "canalys", "mckinsey"],
            annual("growth", 2005, &values),
            3,
            4,
        ))
        .await
        .unwrap();
    assert_eq!(answer.scores.len(), 3);
    for score in &answer.scores {
        assert!(score.owa.is_finite(), "{score:?}");
        let sizes: Vec<u32> = score.origins.iter().map(|o| o.train_size).collect();
        assert_eq!(sizes, vec![10, 11, 12, 13]);
    }

    let requests: Vec<proto::BacktestRequest> = (0..5)
        .map(|i| {
            let mut request = backtest(&["naive"], annual(&format!("s{i}"), 2000, &values), 2, 3);
            request.request_id = format!("r{i}");
            request
        })
        .collect();
    let mut stream = client
        .backtest_stream(futures::stream::iter(requests))
        .await
        .unwrap();
    let mut ids = Vec::new();
    while let Some(answer) = stream.next().await.transpose().unwrap() {
        ids.push(answer.request_id);
    }
    assert_eq!(ids, ["r0", "r1", "r2", "r3", "r4"]);
}

#[test]
fn the_cli_ranks_models_by_owa_beside_naive2() {
    let server = Server::start(ServerOptions {
        plugins: vec![NAIVE, CANALYS],
        ..Default::default()
    });
    let output = std::process::Command::new(stratus_e2e::binary("stratus"))
        .args([
            "--server",
            &server.url,
            "backtest",
            "--model",
            "naive",
            "--model",
            "canalys",
        ])
        .args([
            "--dataset",
            "china-cloud-infra-annual",
            "--horizon",
            "1",
            "--origins",
            "2",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(text.contains("OWA") && text.contains("naive2"), "{text}");
    let rows: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("naive") || l.contains("canalys"))
        .collect();
    assert_eq!(rows.len(), 3, "{text}");
    assert!(
        rows[2].contains("naive2"),
        "Naive2 comes last, as the reference: {text}"
    );
}

#[tokio::test]
async fn a_model_that_refuses_an_origin_is_reported_unscored_beside_the_others() {
    let server = Server::start(ServerOptions {
        plugins: vec![NAIVE, CANALYS, MCKINSEY],
        ..Default::default()
    });
    let client = server.client().await;
    // Origin 0 trains on 3 observations: canalys needs 4.
    let request = proto::BacktestRequest {
        models: vec![model("naive").unwrap(), model("canalys").unwrap()],
        source: Some(proto::backtest_request::Source::Dataset(
            "china-cloud-infra-annual".into(),
        )),
        horizon: 1,
        origins: 3,
        ..Default::default()
    };
    let answer = client.backtest(request).await.unwrap();
    assert!(answer.scores[0].error.is_empty() && answer.scores[0].owa.is_finite());
    let canalys = &answer.scores[1];
    assert!(canalys.error.contains("origin 0"), "{}", canalys.error);
    assert!(canalys.owa.is_nan());

    // mckinsey on the quarterly China series, where its parameter covariance
    // degenerates at some origins: finite intervals, never a failure.
    let request = proto::BacktestRequest {
        models: vec![model("mckinsey").unwrap()],
        source: Some(proto::backtest_request::Source::Dataset(
            "china-cloud-infra-quarterly".into(),
        )),
        horizon: 4,
        origins: 4,
        ..Default::default()
    };
    let answer = client.backtest(request).await.unwrap();
    let score = &answer.scores[0];
    assert!(score.error.is_empty(), "{}", score.error);
    for origin in &score.origins {
        for point in &origin.points {
            assert!(
                point
                    .intervals
                    .iter()
                    .all(|i| i.lower.is_finite() && i.upper.is_finite())
            );
        }
    }
}

fn conformal(mut request: proto::ForecastRequest) -> proto::ForecastRequest {
    request.interval_method = proto::IntervalMethod::Conformal as i32;
    request
}

#[tokio::test]
async fn conformal_intervals_nest_widen_with_the_horizon_and_say_how_they_were_made() {
    let server = Server::start(ServerOptions {
        plugins: vec![NAIVE, CANALYS],
        ..Default::default()
    });
    let client = server.client().await;
    let values: Vec<f64> = (0..30)
        .map(|i| 50.0 * 1.05f64.powi(i) * (1.0 + 0.04 * f64::from((i * 7) % 5 - 2)))
        .collect();
    for name in ["naive", "canalys"] {
        let request = conformal(stratus_e2e::fixtures::forecast(
            name,
            annual("s", 1990, &values),
            5,
        ));
        let answer = client.forecast(request).await.unwrap();
        assert!(
            answer.notes.iter().any(|n| n.contains("conformal")),
            "{name}: {:?}",
            answer.notes
        );
        // Widening is relative (the errors are relative on a positive
        // series): upper / lower never shrinks with the horizon.
        let mut previous = 1.0;
        for point in &answer.points {
            let (i80, i95) = (&point.intervals[0], &point.intervals[1]);
            assert!(
                i95.lower <= i80.lower && i80.lower <= point.mean,
                "{name}: {point:?}"
            );
            assert!(
                point.mean <= i80.upper && i80.upper <= i95.upper,
                "{name}: {point:?}"
            );
            let spread = i95.upper / i95.lower;
            assert!(
                spread >= previous - 1e-12,
                "{name}: widens ({spread} after {previous})"
            );
            previous = spread;
        }
    }

    // Too short to calibrate: the model's own intervals, and a note saying so.
    let request = conformal(stratus_e2e::fixtures::forecast(
        "naive",
        annual("s", 2020, &[1.0, 2.0, 3.0]),
        2,
    ));
    let answer = client.forecast(request).await.unwrap();
    assert!(
        answer
            .notes
            .iter()
            .any(|n| n.contains("too short") && n.contains("own intervals are kept")),
        "{:?}",
        answer.notes
    );

    // Backtests can score conformal intervals.
    let mut request = backtest(&["naive"], annual("s", 1990, &values), 3, 4);
    request.interval_method = proto::IntervalMethod::Conformal as i32;
    let answer = client.backtest(request).await.unwrap();
    assert!(
        answer.scores[0].error.is_empty(),
        "{}",
        answer.scores[0].error
    );
    assert!(
        answer.scores[0]
            .coverage
            .iter()
            .all(|c| c.coverage.is_finite())
    );

    let mut bad = stratus_e2e::fixtures::forecast("naive", annual("s", 2020, &[1.0, 2.0, 3.0]), 2);
    bad.interval_method = 7;
    let status = client.forecast(bad).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().starts_with("interval_method"),
        "{}",
        status.message()
    );
}

fn ensemble_request(
    members: &[&str],
    combination: proto::Combination,
    series: proto::Series,
    horizon: u32,
) -> proto::ForecastRequest {
    proto::ForecastRequest {
        source: Some(proto::forecast_request::Source::Series(series)),
        horizon,
        ensemble: Some(proto::Ensemble {
            members: members.iter().filter_map(|m| model(m)).collect(),
            combination: combination as i32,
        }),
        ..Default::default()
    }
}

#[tokio::test]
async fn ensembles_combine_their_members_own_forecasts() {
    let server = Server::start(ServerOptions {
        plugins: vec![NAIVE, CANALYS, MCKINSEY, stratus_e2e::BUBBLE],
        ..Default::default()
    });
    let client = server.client().await;
    let values: Vec<f64> = (0..16)
        .map(|i| 20.0 * 1.12f64.powi(i) * (1.0 + 0.03 * f64::from(i % 3)))
        .collect();
    let series = annual("growth", 2005, &values);
    let members = ["naive", "canalys", "mckinsey"];
    let mut own = Vec::new();
    for name in members {
        let answer = client
            .forecast(stratus_e2e::fixtures::forecast(name, series.clone(), 3))
            .await
            .unwrap();
        own.push(answer);
    }

    let mean = client
        .forecast(ensemble_request(
            &members,
            proto::Combination::Mean,
            series.clone(),
            3,
        ))
        .await
        .unwrap();
    assert_eq!(mean.model.as_ref().unwrap().name, "ensemble");
    assert_eq!(mean.members.len(), 3);
    for (s, point) in mean.points.iter().enumerate() {
        let expected: f64 = own.iter().map(|a| a.points[s].mean).sum::<f64>() / 3.0;
        assert!(close(point.mean, expected), "{} vs {expected}", point.mean);
        assert_eq!(point.period, own[0].points[s].period);
    }
    for (member, answer) in mean.members.iter().zip(&own) {
        let model = member.model.as_ref().unwrap();
        assert_eq!(model.sha256, answer.model.as_ref().unwrap().sha256);
        assert!(close(member.weight, 1.0 / 3.0));
    }

    let median = client
        .forecast(ensemble_request(
            &members,
            proto::Combination::Median,
            series.clone(),
            3,
        ))
        .await
        .unwrap();
    for (s, point) in median.points.iter().enumerate() {
        let mut values: Vec<f64> = own.iter().map(|a| a.points[s].mean).collect();
        values.sort_by(f64::total_cmp);
        assert!(close(point.mean, values[1]));
    }

    let weighted = client
        .forecast(ensemble_request(
            &members,
            proto::Combination::BacktestWeighted,
            series.clone(),
            3,
        ))
        .await
        .unwrap();
    let total: f64 = weighted.members.iter().map(|m| m.weight).sum();
    assert!(close(total, 1.0), "{total}");
    assert!(
        weighted.notes.iter().any(|n| n.contains("inverse OWA")),
        "{:?}",
        weighted.notes
    );

    // Ensembles work as a risk request's demand, in streams and backtests.
    let mut risk = proto::RiskRequest {
        model: model("bubble"),
        ..Default::default()
    };
    for (name, value) in [
        ("capex_growth_pct", 40.0),
        ("revenue_growth_pct", 20.0),
        ("utilization_pct", 60.0),
    ] {
        risk.indicators.insert(name.into(), value);
    }
    risk.demand = Some(ensemble_request(
        &members,
        proto::Combination::Mean,
        series.clone(),
        3,
    ));
    let scored = client.score_risk(risk).await.unwrap();
    assert!(
        scored.notes.iter().any(|n| n.contains("'ensemble'")),
        "{:?}",
        scored.notes
    );
    let mut stream = client
        .forecast_stream(futures::stream::iter(vec![ensemble_request(
            &members,
            proto::Combination::Mean,
            series.clone(),
            3,
        )]))
        .await
        .unwrap();
    let streamed = stream.next().await.transpose().unwrap().unwrap();
    assert!(close(streamed.points[0].mean, mean.points[0].mean));
    let mut request = backtest(&["naive"], series.clone(), 2, 3);
    request.ensembles = vec![proto::Ensemble {
        members: members.iter().filter_map(|m| model(m)).collect(),
        combination: proto::Combination::Mean as i32,
    }];
    let answer = client.backtest(request).await.unwrap();
    assert_eq!(answer.scores.len(), 2);
    assert_eq!(answer.scores[1].model.as_ref().unwrap().name, "ensemble");
    assert!(
        answer.scores[1].owa.is_finite(),
        "{}",
        answer.scores[1].error
    );

    let mut both = ensemble_request(&members, proto::Combination::Mean, series, 3);
    both.model = model("naive");
    let status = client.forecast(both).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().starts_with("model:"),
        "{}",
        status.message()
    );
}

/// Series that have broken forecasters before: short, flat, with zeros or
/// negatives, spikes, steps, steep growth and collapse, seasonal patterns.
fn hard_series() -> Vec<proto::Series> {
    let mut out = vec![
        annual("one", 2020, &[5.0]),
        annual("two", 2020, &[5.0, 7.0]),
        annual("flat", 2010, &[3.0; 8]),
        annual("zeros", 2010, &[0.0, 0.0, 1.0, 0.0, 2.0, 0.0]),
        annual("negative", 2010, &[-5.0, 3.0, -2.0, 8.0, -1.0, 4.0]),
        annual("spike", 2000, &[10.0, 11.0, 10.5, 900.0, 11.0, 12.0, 11.5]),
        annual(
            "step",
            2000,
            &[1.0, 1.0, 1.0, 1000.0, 1000.0, 1000.0, 1000.0],
        ),
        annual(
            "boom",
            2000,
            &(0..12).map(|i| 2f64.powi(i)).collect::<Vec<_>>(),
        ),
        annual(
            "bust",
            2000,
            &(0..12).map(|i| 1e6 * 0.3f64.powi(i)).collect::<Vec<_>>(),
        ),
        annual("tiny", 2000, &[1e-9, 2e-9, 1.5e-9, 3e-9, 2.5e-9, 4e-9]),
        annual("huge", 2000, &[1e90, 2e90, 1.5e90, 3e90, 2.5e90, 4e90]),
    ];
    let pattern = [0.7, 1.0, 1.4, 0.9];
    let quarterly = |name: &str, n: usize, scale: f64| proto::Series {
        name: name.into(),
        unit: String::new(),
        frequency: proto::Frequency::Quarterly as i32,
        observations: (0..n)
            .map(|i| proto::Observation {
                period: format!("{}-Q{}", 2000 + i / 4, i % 4 + 1),
                value: scale * (1.0 + 0.05 * i as f64) * pattern[i % 4],
            })
            .collect(),
    };
    out.push(quarterly("seasonal", 24, 100.0));
    out.push(quarterly("seasonal-short", 9, 100.0));
    out.push(quarterly("seasonal-negative", 16, -100.0));
    out
}

#[tokio::test]
async fn no_bundled_forecaster_answers_internal_on_hard_series_or_the_datasets() {
    let server = Server::start(ServerOptions {
        plugins: vec![NAIVE, CANALYS, MCKINSEY, stratus_e2e::AUTO],
        ..Default::default()
    });
    let client = server.client().await;
    let mut requests = Vec::new();
    for series in hard_series() {
        for name in ["naive", "canalys", "mckinsey", "auto"] {
            requests.push(stratus_e2e::fixtures::forecast(name, series.clone(), 6));
        }
        requests.push(ensemble_request(
            &["naive", "auto"],
            proto::Combination::Median,
            series.clone(),
            6,
        ));
    }
    for dataset in [
        "china-cloud-infra-annual",
        "china-cloud-infra-quarterly",
        "global-cloud-infra-annual",
    ] {
        for name in ["naive", "canalys", "mckinsey", "auto"] {
            requests.push(stratus_e2e::fixtures::forecast_dataset(name, dataset, 6));
        }
    }
    let conformal: Vec<proto::ForecastRequest> = requests.iter().cloned().map(conformal).collect();
    for request in requests.into_iter().chain(conformal) {
        let what = format!(
            "{:?} {:?} conformal={}",
            request.model.as_ref().map(|m| m.name.clone()),
            match &request.source {
                Some(proto::forecast_request::Source::Series(s)) => s.name.clone(),
                Some(proto::forecast_request::Source::Dataset(d)) => d.clone(),
                None => String::new(),
            },
            request.interval_method
        );
        match client.forecast(request).await {
            Ok(answer) => {
                for point in &answer.points {
                    assert!(point.mean.is_finite(), "{what}");
                    assert!(
                        point.intervals.iter().all(|i| i.lower.is_finite()
                            && i.upper.is_finite()
                            && i.lower <= i.upper),
                        "{what}: {point:?}"
                    );
                }
            }
            Err(status) => assert!(
                matches!(
                    status.code(),
                    Code::InvalidArgument | Code::FailedPrecondition
                ),
                "{what}: {:?} {}",
                status.code(),
                status.message()
            ),
        }
    }
    for name in ["naive", "canalys", "mckinsey", "auto"] {
        let info = client.get_model(name, "").await.unwrap();
        assert_eq!(info.last_error, "", "{name}");
    }
}

#[tokio::test]
async fn composite_calls_are_bounded_and_params_reach_the_members_that_declare_them() {
    let server = Server::start(ServerOptions {
        plugins: vec![NAIVE, CANALYS, stratus_e2e::BUBBLE],
        args: vec!["--max-forecasts-per-call=100".into()],
        ..Default::default()
    });
    let client = server.client().await;
    let values: Vec<f64> = (0..30).map(|i| 10.0 * 1.05f64.powi(i)).collect();
    // 2 models × 4 origins × 49 (conformal calibration) = 392 forecasts.
    let mut request = backtest(&["naive", "canalys"], annual("s", 1990, &values), 2, 4);
    request.interval_method = proto::IntervalMethod::Conformal as i32;
    let status = client.backtest(request).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert!(
        status.message().contains("--max-forecasts-per-call"),
        "{}",
        status.message()
    );

    // A risk request's demand forecast is held to the same bound: 8 members
    // × 49 (conformal calibration) = 392 forecasts.
    let mut demand = ensemble_request(
        &["naive"; 8],
        proto::Combination::Mean,
        annual("s", 1990, &values),
        2,
    );
    demand.interval_method = proto::IntervalMethod::Conformal as i32;
    let risk = proto::RiskRequest {
        model: model("bubble"),
        subject: "s".into(),
        indicators: [
            ("capex_growth_pct".to_owned(), 30.0),
            ("revenue_growth_pct".to_owned(), 10.0),
            ("utilization_pct".to_owned(), 60.0),
        ]
        .into(),
        demand: Some(demand),
        ..Default::default()
    };
    let status = client.score_risk(risk).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(
        status.message().contains("--max-forecasts-per-call"),
        "{}",
        status.message()
    );

    // canalys declares ai_uplift_pp, naive does not: the ensemble passes it
    // to canalys alone; a name no member declares is refused.
    let mut ensemble = ensemble_request(
        &["naive", "canalys"],
        proto::Combination::Mean,
        annual("s", 1990, &values),
        2,
    );
    ensemble.params.insert("ai_uplift_pp".into(), 2.0);
    client.forecast(ensemble.clone()).await.unwrap();
    let mut crowd = ensemble.clone();
    crowd.ensemble.as_mut().unwrap().members = (0..9).filter_map(|_| model("naive")).collect();
    let status = client.forecast(crowd).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert!(
        status.message().contains("--max-ensemble-members"),
        "{}",
        status.message()
    );
    ensemble.params.insert("nope".into(), 1.0);
    let status = client.forecast(ensemble).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().starts_with("params[nope]"),
        "{}",
        status.message()
    );
}
