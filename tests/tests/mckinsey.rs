//! The mckinsey model through the real server.

use stratus_e2e::fixtures::forecast_dataset;
use stratus_e2e::{MCKINSEY, Server, ServerOptions};

#[tokio::test]
async fn china_series_to_2030_gives_three_ordered_scenarios() {
    let server = Server::start(ServerOptions {
        plugins: vec![MCKINSEY],
        ..Default::default()
    });
    let client = server.client().await;
    let response = client
        .forecast(forecast_dataset("mckinsey", "china-cloud-infra-annual", 6))
        .await
        .unwrap();
    let names: Vec<&str> = response.scenarios.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["conservative", "base", "accelerated"]);
    let path = |name: &str| {
        &response
            .scenarios
            .iter()
            .find(|s| s.name == name)
            .unwrap()
            .points
    };
    let (c, b, a) = (path("conservative"), path("base"), path("accelerated"));
    assert_eq!(b.last().unwrap().period, "2030");
    for h in 0..6 {
        assert!(
            c[h].mean <= b[h].mean && b[h].mean <= a[h].mean,
            "{}",
            b[h].period
        );
        assert_eq!(
            b[h].mean, response.points[h].mean,
            "base is the central path"
        );
        assert!(
            b[h].mean > 40.0,
            "a growing market stays above its last value"
        );
    }
    // The base path carries intervals; scenarios need not.
    assert_eq!(response.points[0].intervals.len(), 2);
    for key in ["potential", "growth_rate", "midpoint_year"] {
        assert!(
            response.fitted.contains_key(key),
            "{key}: {:?}",
            response.fitted
        );
    }
    assert!(response.fitted["potential"] >= 40.0);
}

#[tokio::test]
async fn a_pinned_top_down_potential_bounds_every_path() {
    let server = Server::start(ServerOptions {
        plugins: vec![MCKINSEY],
        ..Default::default()
    });
    let client = server.client().await;
    let mut request = forecast_dataset("mckinsey", "china-cloud-infra-annual", 6);
    request.params.insert("potential".into(), 90.0);
    request.params.insert("accelerated_potential".into(), 1.0);
    let response = client.forecast(request).await.unwrap();
    for scenario in &response.scenarios {
        assert!(
            scenario.points.iter().all(|p| p.mean < 90.0),
            "{} exceeds the pinned potential",
            scenario.name
        );
    }
}
