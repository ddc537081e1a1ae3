//! The canalys model through the real server.

use stratus_e2e::fixtures::forecast_dataset;
use stratus_e2e::{CANALYS, Server, ServerOptions};

fn server() -> Server {
    Server::start(ServerOptions {
        plugins: vec![CANALYS],
        ..Default::default()
    })
}

#[tokio::test]
async fn the_ai_uplift_adds_its_points_to_every_years_growth() {
    let server = server();
    let client = server.client().await;
    let base = client
        .forecast(forecast_dataset("canalys", "china-cloud-infra-annual", 3))
        .await
        .unwrap();
    let mut request = forecast_dataset("canalys", "china-cloud-infra-annual", 3);
    request.params.insert("ai_uplift_pp".into(), 5.0);
    let lifted = client.forecast(request).await.unwrap();

    // By hand: 2025 = 40 × (1 + g₂₀₂₅ + 5%), then each year compounds on the
    // uplifted year before: y'(t) = y'(t−1) × (1 + g(t) + 5%).
    let mut previous = 40.0;
    for (b, l) in base.points.iter().zip(&lifted.points) {
        let expected = previous * (1.0 + b.growth / 100.0 + 0.05);
        assert!(
            (l.mean - expected).abs() < 1e-9,
            "{}: {} vs {expected}",
            l.period,
            l.mean
        );
        assert!((l.growth - (b.growth + 5.0)).abs() < 1e-9);
        previous = l.mean;
    }
    assert!(
        lifted
            .notes
            .iter()
            .any(|n| n.contains("+5.0 percentage points")),
        "{:?}",
        lifted.notes
    );
    for key in ["alpha", "beta", "phi", "sigma_log"] {
        assert!(
            base.fitted.contains_key(key),
            "fitted carries {key}: {:?}",
            base.fitted
        );
    }
    let phi = base.fitted["phi"];
    assert!((0.8..=0.98).contains(&phi), "estimated damping {phi}");
}

#[tokio::test]
async fn quarterly_china_series_forecasts_with_positive_asymmetric_intervals() {
    let server = server();
    let client = server.client().await;
    let response = client
        .forecast(forecast_dataset(
            "canalys",
            "china-cloud-infra-quarterly",
            8,
        ))
        .await
        .unwrap();
    assert_eq!(response.points.first().unwrap().period, "2025-Q2");
    for p in &response.points {
        let i95 = &p.intervals[1];
        assert!(i95.lower > 0.0 && i95.lower < p.mean && p.mean < i95.upper);
    }
    assert!(response.fitted.contains_key("gamma"));
}

#[tokio::test]
async fn non_positive_values_are_refused_naming_the_observation() {
    let server = server();
    let client = server.client().await;
    let series = stratus_e2e::fixtures::annual("s", 2010, &[3.0, 4.0, -1.0, 5.0, 6.0]);
    let status = client
        .forecast(stratus_e2e::fixtures::forecast("canalys", series, 2))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert_eq!(
        stratus_e2e::fixtures::violated_fields(&status),
        ["series.observations[2].value"]
    );
}
