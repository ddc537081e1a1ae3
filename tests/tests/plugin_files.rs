//! Plugin files cannot be torn or swapped: a library still being written into
//! the watched folder is refused as truncated (never mapped, so the server
//! cannot crash on it) and served once its writer closes it, and a symlink in
//! the plugin folder is refused with a reason while the rest is served. The
//! private copies the server maps leave nothing in the temp dir.

use std::io::Write;
use std::time::{Duration, Instant};

use stratus_client::{StratusClient, proto};
use stratus_e2e::fixtures::forecast_dataset;
use stratus_e2e::{FAULTY, NAIVE, Server, ServerOptions, target_dir};
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

/// Polls `check` until it holds or 20 s pass.
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

/// The `ListModels` entry for the library file `name`, if listed.
async fn listed(client: &StratusClient, name: &str) -> Option<proto::ModelInfo> {
    client
        .list_models()
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.library_path.ends_with(name))
}

async fn naive_serves(client: &StratusClient) {
    client
        .forecast(forecast_dataset("naive", "china-cloud-infra-annual", 1))
        .await
        .unwrap();
}

async fn faulty_serves(client: &StratusClient) -> Result<(), tonic::Status> {
    client
        .forecast(forecast_dataset("faulty", "china-cloud-infra-annual", 1))
        .await
        .map(drop)
}

#[tokio::test]
async fn a_library_still_being_written_is_refused_until_its_writer_closes_it() {
    let mut server = Server::start(ServerOptions {
        plugins: vec![NAIVE],
        ..Default::default()
    });
    let client = server.client().await;
    let bytes = std::fs::read(target_dir().join(FAULTY)).unwrap();
    let (first, rest) = bytes.split_at(bytes.len() / 2);

    // A slow writer: half the library, then a pause with the file open.
    let mut file = std::fs::File::create(server.plugin_dir.path().join("libhalf.so")).unwrap();
    file.write_all(first).unwrap();
    file.flush().unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;

    assert!(server.is_running(), "the half-written library crashed it");
    assert_eq!(client.health("").await.unwrap(), ServingStatus::Serving);
    naive_serves(&client).await;
    assert_eq!(
        faulty_serves(&client).await.unwrap_err().code(),
        Code::NotFound,
        "half a library is never served"
    );
    // Its creation triggered a rescan, which saw half a file and refused it.
    let half = listed(&client, "libhalf.so")
        .await
        .expect("the half-written library is listed");
    assert_eq!(half.state, proto::ModelState::Failed as i32);
    assert!(
        half.last_error.contains("looks truncated")
            && half
                .last_error
                .contains(&format!("only {} bytes", first.len())),
        "{}",
        half.last_error
    );

    // The writer finishes and closes the file: that close loads it.
    file.write_all(rest).unwrap();
    drop(file);
    eventually("the finished library to be served", async || {
        faulty_serves(&client).await.is_ok()
    })
    .await;
    let loaded = listed(&client, "libhalf.so").await.unwrap();
    assert_eq!(loaded.state, proto::ModelState::Ready as i32);
    assert!(server.is_running());
    naive_serves(&client).await;
}

#[tokio::test]
async fn a_symlink_in_the_plugin_folder_is_refused_and_the_rest_served() {
    let server = Server::start(ServerOptions {
        plugins: vec![NAIVE],
        ..Default::default()
    });
    let client = server.client().await;
    // A perfectly good library, but outside the folder, linked in.
    let elsewhere = tempfile::tempdir().unwrap();
    let target = elsewhere.path().join(FAULTY);
    std::fs::copy(target_dir().join(FAULTY), &target).unwrap();
    std::os::unix::fs::symlink(&target, server.plugin_dir.path().join("liblinked.so")).unwrap();

    eventually("the symlink to be refused", async || {
        listed(&client, "liblinked.so").await.is_some()
    })
    .await;
    let linked = listed(&client, "liblinked.so").await.unwrap();
    assert_eq!(linked.state, proto::ModelState::Failed as i32);
    assert!(
        linked.last_error.contains("symbolic link") && linked.last_error.contains("symlinks"),
        "{}",
        linked.last_error
    );
    assert_eq!(
        faulty_serves(&client).await.unwrap_err().code(),
        Code::NotFound,
        "the link's target is not loaded"
    );
    naive_serves(&client).await;
}

/// A server leaves nothing in the temp dir, in process or with plugin host
/// processes, stopped by SIGTERM or killed: each library copy's folder is
/// removed as soon as the copy is made (they used to stay, one per run).
#[tokio::test]
async fn a_server_leaves_nothing_in_the_temp_dir() {
    for (isolation, stop) in [("in-process", "TERM"), ("process", "KILL")] {
        let tmp = tempfile::tempdir().unwrap();
        let server = Server::start(ServerOptions {
            plugins: vec![NAIVE],
            args: vec![
                "--isolation".into(),
                isolation.into(),
                "--allow-unauthenticated-admin".into(),
                // The reload below is explicit; a watcher's rescan racing
                // the kill could be mid-copy.
                "--no-watch".into(),
            ],
            env: vec![("TMPDIR", tmp.path().display().to_string())],
            ..Default::default()
        });
        let client = server.client().await;
        naive_serves(&client).await;
        // A library added later is copied at the reload.
        std::fs::copy(
            target_dir().join(FAULTY),
            server.plugin_dir.path().join(FAULTY),
        )
        .unwrap();
        client.reload_models(None).await.unwrap();
        faulty_serves(&client).await.unwrap();
        if stop == "TERM" {
            let (status, _) = server.terminate();
            assert!(status.success(), "{status:?}");
        } else {
            server.signal(stop);
            drop(server);
        }
        let left: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "{isolation}, SIG{stop}: left {left:?}");
    }
}
