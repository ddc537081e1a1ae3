//! Plugin lifecycle with real libraries: pick-up while serving, hot swap under
//! load with zero failed calls, versions side by side, broken replacements,
//! in-place overwrites, removal, slow plugins and the admin token.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use stratus_client::{StratusClient, proto};
use stratus_e2e::fixtures::forecast_dataset;
use stratus_e2e::{FAULTY, NAIVE, ROGUE, Server, ServerOptions, faulty_variant, target_dir};
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

const V_A: &str = "0.1.0-build.AAAAAAAA";

fn version(marker: &str) -> String {
    format!("0.1.0-build.{marker}")
}

/// Polls `check` until it holds (the file watch debounces for 300 ms).
async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(20);
    while Instant::now() < until {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for: {what}");
}

fn faulty_request(version: &str) -> proto::ForecastRequest {
    let mut request = forecast_dataset("faulty", "china-cloud-infra-annual", 1);
    request.model = Some(proto::ModelRef {
        name: "faulty".into(),
        version: version.into(),
    });
    request
}

async fn served_version(client: &StratusClient, pinned: &str) -> Result<String, tonic::Status> {
    Ok(client
        .forecast(faulty_request(pinned))
        .await?
        .model
        .unwrap_or_default()
        .version)
}

/// Writes `bytes` to `name` in `dir` the way deploy tools do: a temporary
/// file, then an atomic rename over the old one.
fn deploy(dir: &std::path::Path, name: &str, bytes: &[u8]) {
    let temporary = dir.join(format!(".{name}.partial"));
    std::fs::write(&temporary, bytes).unwrap();
    std::fs::rename(&temporary, dir.join(name)).unwrap();
}

#[tokio::test]
async fn a_library_added_while_serving_is_picked_up_by_the_file_watch() {
    let server = Server::start(ServerOptions::default());
    let client = server.client().await;
    assert!(client.list_models().await.unwrap().is_empty());
    deploy(
        server.plugin_dir.path(),
        NAIVE,
        &std::fs::read(target_dir().join(NAIVE)).unwrap(),
    );
    eventually("naive to be served", async || {
        client
            .forecast(forecast_dataset("naive", "china-cloud-infra-annual", 1))
            .await
            .is_ok()
    })
    .await;
}

#[tokio::test]
async fn sighup_triggers_a_rescan() {
    let server = Server::start(ServerOptions {
        args: vec!["--no-watch".into()],
        ..Default::default()
    });
    let client = server.client().await;
    std::fs::copy(
        target_dir().join(NAIVE),
        server.plugin_dir.path().join(NAIVE),
    )
    .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        client.list_models().await.unwrap().is_empty(),
        "--no-watch: nothing picked up by itself"
    );
    server.signal("HUP");
    eventually("naive after SIGHUP", async || {
        !client.list_models().await.unwrap().is_empty()
    })
    .await;
}

#[tokio::test]
async fn a_new_version_replaces_the_old_under_load_with_zero_failed_calls() {
    let server = Server::start(ServerOptions {
        plugins: vec![FAULTY],
        ..Default::default()
    });
    let dir = server.plugin_dir.path().to_owned();
    let client = server.client().await;
    assert_eq!(served_version(&client, "").await.unwrap(), V_A);

    let failed = Arc::new(AtomicU64::new(0));
    let succeeded = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut workers = Vec::new();
    for _ in 0..4 {
        let (client, failed, succeeded, stop) = (
            client.clone(),
            Arc::clone(&failed),
            Arc::clone(&succeeded),
            Arc::clone(&stop),
        );
        workers.push(tokio::spawn(async move {
            let mut versions = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                match served_version(&client, "").await {
                    Ok(v) => {
                        succeeded.fetch_add(1, Ordering::Relaxed);
                        versions.push(v);
                    }
                    Err(status) => {
                        eprintln!("failed call: {status:?}");
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            versions
        }));
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    deploy(&dir, FAULTY, &faulty_variant("BBBBBBBB"));
    // Load continues until the new version answers, and a little beyond.
    eventually("the new version to answer", async || {
        served_version(&client, "")
            .await
            .is_ok_and(|v| v == version("BBBBBBBB"))
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let mut seen = Vec::new();
    for worker in workers {
        seen.extend(worker.await.unwrap());
    }
    assert_eq!(
        failed.load(Ordering::Relaxed),
        0,
        "failed calls during the swap"
    );
    assert!(succeeded.load(Ordering::Relaxed) > 20);
    assert_eq!(seen.first().map(String::as_str), Some(V_A));
    assert_eq!(
        seen.last(),
        Some(&version("BBBBBBBB")),
        "the new version took over"
    );
}

#[tokio::test]
async fn versions_side_by_side_can_be_pinned() {
    let server = Server::start(ServerOptions {
        plugins: vec![FAULTY],
        files: vec![("libfaulty_next.so", faulty_variant("BBBBBBBB"))],
        ..Default::default()
    });
    let client = server.client().await;
    assert_eq!(
        served_version(&client, "").await.unwrap(),
        version("BBBBBBBB"),
        "empty = newest"
    );
    assert_eq!(served_version(&client, V_A).await.unwrap(), V_A);
    let listed: Vec<String> = client
        .list_models()
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.version)
        .collect();
    assert!(
        listed.contains(&V_A.to_owned()) && listed.contains(&version("BBBBBBBB")),
        "{listed:?}"
    );
}

async fn broken_replacement_keeps_the_old_version(
    bytes: Vec<u8>,
    env: Vec<(&'static str, String)>,
    reason: &str,
) {
    let server = Server::start(ServerOptions {
        plugins: vec![FAULTY],
        env,
        ..Default::default()
    });
    let client = server.client().await;
    deploy(server.plugin_dir.path(), FAULTY, &bytes);
    eventually("the refusal to show", async || {
        client
            .list_models()
            .await
            .unwrap()
            .iter()
            .any(|m| m.state == proto::ModelState::Failed as i32)
    })
    .await;
    let models = client.list_models().await.unwrap();
    let refused = models
        .iter()
        .find(|m| m.state == proto::ModelState::Failed as i32)
        .unwrap();
    assert!(
        refused.last_error.contains(reason),
        "{}",
        refused.last_error
    );
    assert_eq!(
        served_version(&client, "").await.unwrap(),
        V_A,
        "the old version keeps serving"
    );
    let old = client.get_model("faulty", "").await.unwrap();
    assert!(
        old.last_error.contains("replacement library"),
        "GetModel shows it: {}",
        old.last_error
    );
}

#[tokio::test]
async fn a_replacement_that_is_not_a_library_leaves_the_old_one_serving() {
    broken_replacement_keeps_the_old_version(
        b"not an ELF file".to_vec(),
        vec![],
        "not a loadable shared library",
    )
    .await;
}

#[tokio::test]
async fn a_replacement_with_the_wrong_abi_leaves_the_old_one_serving() {
    let rogue = std::fs::read(target_dir().join(ROGUE)).unwrap();
    broken_replacement_keeps_the_old_version(
        rogue,
        vec![("STRATUS_ROGUE_MODE", "abi2".into())],
        "ABI 2.3",
    )
    .await;
}

#[tokio::test]
async fn a_replacement_that_panics_in_its_self_check_leaves_the_old_one_serving() {
    broken_replacement_keeps_the_old_version(faulty_variant("PANICKY0"), vec![], "panicked").await;
}

#[tokio::test]
async fn overwriting_a_loaded_library_in_place_is_safe_and_serves_the_new_code() {
    let server = Server::start(ServerOptions {
        plugins: vec![FAULTY],
        args: vec!["--no-watch".into(), "--allow-unauthenticated-admin".into()],
        ..Default::default()
    });
    let client = server.client().await;
    assert_eq!(served_version(&client, "").await.unwrap(), V_A);
    // Truncate and rewrite the very file that was loaded (no rename).
    std::fs::write(
        server.plugin_dir.path().join(FAULTY),
        faulty_variant("CCCCCCCC"),
    )
    .unwrap();
    // The running code is a private copy: calls still work before the reload.
    assert_eq!(served_version(&client, "").await.unwrap(), V_A);
    client.reload_models(None).await.unwrap();
    assert_eq!(
        served_version(&client, "").await.unwrap(),
        version("CCCCCCCC")
    );
}

#[tokio::test]
async fn a_removed_model_is_not_found_after_the_rescan() {
    let server = Server::start(ServerOptions {
        plugins: vec![NAIVE, FAULTY],
        ..Default::default()
    });
    let client = server.client().await;
    std::fs::remove_file(server.plugin_dir.path().join(FAULTY)).unwrap();
    eventually("faulty to go", async || {
        served_version(&client, "")
            .await
            .is_err_and(|s| s.code() == Code::NotFound)
    })
    .await;
    client
        .forecast(forecast_dataset("naive", "china-cloud-infra-annual", 1))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_slow_plugin_hits_the_deadline_and_health_checks_still_answer() {
    let server = Server::start(ServerOptions {
        plugins: vec![FAULTY],
        args: vec!["--call-timeout-ms=20000".into()],
        ..Default::default()
    });
    let client = server.client().await;
    let slow_client = client.clone();
    let slow = tokio::spawn(async move {
        let mut request = tonic::Request::new(faulty_request(""));
        request.get_mut().params.insert("sleep_ms".into(), 5000.0);
        // The header alone (no client-side timer), so the answer seen is the
        // server's; `set_timeout` would race it with a client-side Cancelled.
        request
            .metadata_mut()
            .insert("grpc-timeout", "700m".parse().unwrap());
        let mut raw =
            proto::forecast_service_client::ForecastServiceClient::new(slow_client.channel());
        let started = Instant::now();
        (raw.forecast(request).await, started.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(client.health("").await.unwrap(), ServingStatus::Serving);
    // Health answered while the model call was still stalled in the plugin.
    assert!(
        !slow.is_finished(),
        "health must not wait for the stalled plugin"
    );
    let (result, took) = slow.await.unwrap();
    assert_eq!(result.unwrap_err().code(), Code::DeadlineExceeded);
    assert!(
        took < Duration::from_secs(5),
        "answered at the deadline, not when the plugin finished (5 s): {took:?}"
    );
}

#[tokio::test]
async fn models_stuck_on_every_model_thread_do_not_block_another_model() {
    let server = Server::start(ServerOptions {
        plugins: vec![FAULTY, NAIVE],
        args: vec![
            // Room for calls that wait for an added thread before their
            // 2.5 s stall.
            "--call-timeout-ms=8000".into(),
            // Stalls count after 200 ms here (default: seconds), so the
            // added thread comes well before the stuck calls end.
            "--stall-after-ms=200".into(),
        ],
        ..Default::default()
    });
    let client = server.client().await;
    // More stuck calls than this machine has cores, so every model-call
    // thread is held by a hung plugin.
    let stuck_calls = std::thread::available_parallelism().map_or(2, |n| n.get()) + 2;
    let mut stuck = Vec::new();
    for _ in 0..stuck_calls {
        let client = client.clone();
        stuck.push(tokio::spawn(async move {
            let mut request = faulty_request("");
            request.params.insert("sleep_ms".into(), 2500.0);
            client.forecast(request).await
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let answer = client
        .forecast(forecast_dataset("naive", "china-cloud-infra-annual", 2))
        .await
        .unwrap();
    assert_eq!(answer.points.len(), 2);
    assert!(
        stuck.iter().all(|call| !call.is_finished()),
        "naive answered while every stuck call was still running"
    );
    for call in stuck {
        call.await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn the_server_wide_call_limit_applies_without_a_caller_deadline() {
    let server = Server::start(ServerOptions {
        plugins: vec![FAULTY],
        args: vec!["--call-timeout-ms=300".into()],
        ..Default::default()
    });
    let client = server.client().await;
    let mut request = faulty_request("");
    request.params.insert("sleep_ms".into(), 3000.0);
    let status = client.forecast(request).await.unwrap_err();
    assert_eq!(
        status.code(),
        Code::DeadlineExceeded,
        "{}",
        status.message()
    );
    assert!(status.message().contains("faulty"), "{}", status.message());
}

#[tokio::test]
async fn the_admin_token_is_enforced() {
    let server = Server::start(ServerOptions {
        args: vec!["--admin-token=s3cret".into()],
        ..Default::default()
    });
    let client = server.client().await;
    assert_eq!(
        client.reload_models(None).await.unwrap_err().code(),
        Code::Unauthenticated
    );
    assert_eq!(
        client
            .reload_models(Some("guess"))
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    client.reload_models(Some("s3cret")).await.unwrap();

    let closed = Server::start(ServerOptions::default());
    let status = closed.client().await.reload_models(None).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert!(
        status.message().contains("--admin-token"),
        "{}",
        status.message()
    );
}
