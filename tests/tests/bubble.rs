//! The bubble model through the real server, alone and composed with a
//! demand forecast from another plugin.

use stratus_client::proto;
use stratus_e2e::fixtures::{forecast_dataset, model, violated_fields};
use stratus_e2e::{BUBBLE, CANALYS, NAIVE, Server, ServerOptions};
use tonic::Code;

fn server() -> Server {
    Server::start(ServerOptions {
        plugins: vec![BUBBLE, NAIVE, CANALYS],
        ..Default::default()
    })
}

fn request(indicators: &[(&str, f64)]) -> proto::RiskRequest {
    proto::RiskRequest {
        model: model("bubble"),
        subject: "China AI data centres, 2025".into(),
        indicators: indicators
            .iter()
            .map(|(k, v)| ((*k).to_owned(), *v))
            .collect(),
        ..Default::default()
    }
}

#[tokio::test]
async fn explicit_indicators_give_an_explained_score() {
    let server = server();
    let client = server.client().await;
    let response = client
        .score_risk(request(&[
            ("capex_growth_pct", 202.0),
            ("revenue_growth_pct", 13.0),
            ("utilization_pct", 30.0),
            ("capex_to_revenue", 0.52),
            ("unit_price_change_pct", -22.0),
        ]))
        .await
        .unwrap();
    assert_eq!(response.subject, "China AI data centres, 2025");
    let sum: f64 = response.factors.iter().map(|f| f.contribution).sum();
    assert!((sum - response.score).abs() < 1e-9);
    assert_eq!(
        response.band,
        proto::RiskBand::Severe as i32,
        "score {}",
        response.score
    );
    assert_eq!(response.factors.len(), 5);
    assert!(response.notes.iter().any(|n| n.contains("Not given")));
    assert_eq!(response.model.unwrap().name, "bubble");
}

async fn composed_with(forecaster: &str) -> proto::RiskResponse {
    let server = server();
    let client = server.client().await;
    let mut req = request(&[
        ("capacity_growth_pct", 60.0),
        ("utilization_pct", 40.0),
        ("capex_to_revenue", 0.5),
    ]);
    req.demand = Some(forecast_dataset(forecaster, "china-cloud-infra-annual", 3));
    let response = client.score_risk(req).await.unwrap();

    // The same forecast, asked directly, gives the demand growth the scorer used.
    let path = client
        .forecast(forecast_dataset(forecaster, "china-cloud-infra-annual", 3))
        .await
        .unwrap();
    let (first, last) = (path.points[0].mean, path.points[2].mean);
    let demand = ((last / first).powf(0.5) - 1.0) * 100.0;
    let factor = response
        .factors
        .iter()
        .find(|f| f.indicator == "demand_growth_pct")
        .expect("demand factor");
    assert!(
        (factor.value - demand).abs() < 1e-9,
        "{} vs {demand}",
        factor.value
    );
    let capacity = response
        .factors
        .iter()
        .find(|f| f.indicator == "capacity_growth_pct")
        .unwrap();
    assert!(
        capacity.explanation.contains("faster than demand")
            && capacity.explanation.contains("years of demand growth"),
        "{}",
        capacity.explanation
    );
    assert!(
        response
            .notes
            .iter()
            .any(|n| n.contains(&format!("forecast model '{forecaster}'"))),
        "the notes name the forecast model: {:?}",
        response.notes
    );
    response
}

#[tokio::test]
async fn a_naive_demand_forecast_composes() {
    composed_with("naive").await;
}

#[tokio::test]
async fn a_canalys_demand_forecast_composes() {
    composed_with("canalys").await;
}

#[tokio::test]
async fn errors_name_the_indicator_or_the_nested_field() {
    let server = server();
    let client = server.client().await;
    let status = client
        .score_risk(request(&[
            ("utilization_pct", 130.0),
            ("capex_to_revenue", 0.5),
            ("debt_to_ebitda", 2.0),
        ]))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&status), ["indicators[utilization_pct]"]);

    let status = client
        .score_risk(request(&[("utilization_pct", 50.0)]))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("at least 3"),
        "{}",
        status.message()
    );

    let mut nested = request(&[
        ("utilization_pct", 50.0),
        ("capex_to_revenue", 0.5),
        ("debt_to_ebitda", 2.0),
    ]);
    nested.demand = Some(forecast_dataset("naive", "china-cloud-infra-annual", 0));
    let status = client.score_risk(nested).await.unwrap_err();
    assert_eq!(violated_fields(&status), ["demand.horizon"]);

    let mut wrong_kind = request(&[
        ("utilization_pct", 50.0),
        ("capex_to_revenue", 0.5),
        ("debt_to_ebitda", 2.0),
    ]);
    wrong_kind.demand = Some(forecast_dataset("bubble", "china-cloud-infra-annual", 2));
    let status = client.score_risk(wrong_kind).await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(
        status.message().starts_with("demand.model.name"),
        "{}",
        status.message()
    );
}
