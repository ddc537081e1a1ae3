//! Faults are contained: a panicking or garbage-answering plugin fails only
//! its own call, and broken libraries are refused with a reason while the
//! rest is served.

use stratus_client::proto;
use stratus_e2e::fixtures::{forecast_dataset, model};
use stratus_e2e::{FAULTY, NAIVE, ROGUE, Server, ServerOptions};
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

#[tokio::test]
async fn a_panicking_plugin_fails_its_call_only() {
    let mut server = Server::start(ServerOptions {
        plugins: vec![NAIVE, FAULTY],
        ..Default::default()
    });
    let client = server.client().await;
    for _ in 0..3 {
        let mut request = forecast_dataset("faulty", "china-cloud-infra-annual", 2);
        request.params.insert("panic".into(), 1.0);
        let status = client.forecast(request).await.unwrap_err();
        assert_eq!(status.code(), Code::Internal);
        assert!(
            status.message().contains("panicked"),
            "{}",
            status.message()
        );
    }
    assert!(server.is_running());
    assert_eq!(client.health("").await.unwrap(), ServingStatus::Serving);
    client
        .forecast(forecast_dataset("naive", "china-cloud-infra-annual", 2))
        .await
        .unwrap();
    let faulty = client.get_model("faulty", "").await.unwrap();
    assert!(
        faulty.last_error.contains("panicked") && faulty.last_error.contains("3 failures"),
        "GetModel reports the repeated failure: {:?}",
        faulty.last_error
    );
}

#[tokio::test]
async fn a_plugin_answering_garbage_fails_its_call_only() {
    let server = Server::start(ServerOptions {
        plugins: vec![NAIVE, ROGUE],
        ..Default::default()
    });
    let client = server.client().await;
    let mut request = proto::RiskRequest {
        model: model("rogue"),
        ..Default::default()
    };
    request.indicators.insert("x".into(), 10.0);
    let status = client.score_risk(request).await.unwrap_err();
    assert_eq!(status.code(), Code::Internal);
    assert!(
        status.message().contains("do not decode"),
        "{}",
        status.message()
    );
    client
        .forecast(forecast_dataset("naive", "china-cloud-infra-annual", 1))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_file_that_is_not_a_library_is_reported_and_the_rest_served() {
    let server = Server::start(ServerOptions {
        plugins: vec![NAIVE],
        files: vec![
            ("libnotes.so", b"this is not an ELF file".to_vec()),
            ("README.txt", b"ignored".to_vec()),
        ],
        ..Default::default()
    });
    let client = server.client().await;
    let models = client.list_models().await.unwrap();
    let refused: Vec<&proto::ModelInfo> = models
        .iter()
        .filter(|m| m.state == proto::ModelState::Failed as i32)
        .collect();
    assert_eq!(refused.len(), 1, "only the .so is a candidate: {models:?}");
    assert!(refused[0].library_path.ends_with("libnotes.so"));
    assert!(
        refused[0]
            .last_error
            .contains("not a loadable shared library"),
        "{}",
        refused[0].last_error
    );
    assert!(
        !refused[0].last_error.contains("stratus-plugins-"),
        "names the user's file, not a private copy"
    );
    client
        .forecast(forecast_dataset("naive", "china-cloud-infra-annual", 1))
        .await
        .unwrap();
}

async fn refusal(mode: &str) -> String {
    let server = Server::start(ServerOptions {
        plugins: vec![NAIVE, ROGUE],
        env: vec![("STRATUS_ROGUE_MODE", mode.to_owned())],
        ..Default::default()
    });
    let client = server.client().await;
    let models = client.list_models().await.unwrap();
    assert!(
        models
            .iter()
            .any(|m| m.name == "naive" && m.state == proto::ModelState::Ready as i32)
    );
    let rogue = models
        .iter()
        .find(|m| m.library_path.ends_with(ROGUE))
        .expect("the rogue library is listed");
    assert_eq!(rogue.state, proto::ModelState::Failed as i32);
    rogue.last_error.clone()
}

#[tokio::test]
async fn a_library_of_another_abi_major_is_refused_naming_both_versions() {
    let error = refusal("abi2").await;
    assert!(
        error.contains("ABI 2.3") && error.contains("ABI 1"),
        "{error}"
    );
}

#[tokio::test]
async fn a_table_with_a_null_slot_is_refused_naming_the_slot() {
    let error = refusal("null-slot").await;
    assert!(error.contains("null `invoke` slot"), "{error}");
}

#[tokio::test]
async fn a_buffer_longer_than_any_slice_is_refused_not_read() {
    // The smoke check's answer claims usize::MAX bytes: reading it would be
    // undefined behaviour, so the library fails its self-check instead.
    let error = refusal("huge-len").await;
    assert!(error.contains("above isize::MAX"), "{error}");
}

#[tokio::test]
async fn a_table_smaller_than_v1_is_refused() {
    let error = refusal("small-table").await;
    assert!(
        error.contains("8 bytes") && error.contains("needs at least"),
        "{error}"
    );
}
