//! Process isolation (`--isolation process`): each library runs in a
//! `stratus-plugin-host` process of its own. A library that aborts,
//! segfaults, leaks past its memory cap or spins ends its host, not the
//! server: calls in flight on it fail naming the model and the signal, the
//! host restarts, and every other model keeps serving without one failed
//! call. Each fault runs under load from four callers on naive.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use stratus_client::{StratusClient, proto};
use stratus_e2e::fixtures::{annual, forecast};
use stratus_e2e::{FAULTY, NAIVE, Server, ServerOptions, proc_status_kib};
use tonic::Code;
use tonic_types::StatusExt;

fn isolated(extra: &[&str]) -> Server {
    let mut args = vec![
        "--isolation".to_owned(),
        "process".to_owned(),
        "--plugin-memory-limit".to_owned(),
        "512".to_owned(),
    ];
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    Server::start(ServerOptions {
        plugins: vec![NAIVE, FAULTY],
        args,
        ..Default::default()
    })
}

fn series() -> proto::Series {
    annual("s", 2015, &[10.0, 11.0, 12.5, 13.0, 14.2, 15.1])
}

fn faulty_call(fault: &str, value: f64) -> proto::ForecastRequest {
    let mut request = forecast("faulty", series(), 2);
    request.params.insert(fault.into(), value);
    request
}

async fn model(client: &StratusClient, name: &str) -> proto::ModelInfo {
    client
        .get_model(name, "")
        .await
        .expect("the model is loaded")
}

/// Four callers forecasting with naive until stopped; counts failures.
struct Load {
    stop: Arc<AtomicBool>,
    calls: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    async fn start(server: &Server) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let calls = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let client = server.client().await;
            let (stop, calls, failed) = (stop.clone(), calls.clone(), failed.clone());
            tasks.push(tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    if let Err(status) = client.forecast(forecast("naive", series(), 3)).await {
                        eprintln!("naive failed: {status:?}");
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                    calls.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
        Self {
            stop,
            calls,
            failed,
            tasks,
        }
    }

    /// Stops the callers; (calls, failed).
    async fn finish(self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        for task in self.tasks {
            task.await.unwrap();
        }
        (
            self.calls.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
        )
    }
}

/// Waits until faulty answers an ordinary call again (its host restarted).
async fn answers_again(client: &StratusClient) {
    let give_up = Instant::now() + Duration::from_secs(20);
    loop {
        match client.forecast(forecast("faulty", series(), 2)).await {
            Ok(_) => return,
            Err(status) if Instant::now() < give_up => {
                assert_eq!(status.code(), Code::Unavailable, "{status:?}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(status) => panic!("faulty never came back: {status:?}"),
        }
    }
}

/// Runs one fault under load; returns the fault's status.
async fn fault_under_load(server: &Server, fault: &str, value: f64) -> tonic::Status {
    let client = server.client().await;
    let before = model(&client, "faulty").await;
    assert_eq!(before.isolation, proto::Isolation::Process as i32);
    assert_ne!(before.host_pid, 0);
    let load = Load::start(server).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let status = client
        .forecast(faulty_call(fault, value))
        .await
        .expect_err("the fault fails the call");
    // A crash ends the host at once; a spin only when its watchdog sees the
    // call past --call-timeout-ms (the host's other worker answers
    // meanwhile). Either way a new host must take over.
    let give_up = Instant::now() + Duration::from_secs(20);
    loop {
        let info = model(&client, "faulty").await;
        if info.restarts >= 1 && info.host_pid != 0 && info.host_pid != before.host_pid {
            break;
        }
        assert!(Instant::now() < give_up, "no new host: {info:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    answers_again(&client).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (calls, failed) = load.finish().await;
    assert!(calls > 0);
    assert_eq!(
        failed, 0,
        "naive failed {failed} of {calls} calls during the {fault} fault"
    );
    let after = model(&client, "faulty").await;
    assert_eq!(after.state, proto::ModelState::Ready as i32);
    assert!(after.restarts >= 1, "{after:?}");
    assert_ne!(after.host_pid, before.host_pid, "a new host process");
    status
}

#[tokio::test]
async fn an_abort_ends_only_the_host_which_restarts() {
    let server = isolated(&[]);
    let status = fault_under_load(&server, "abort", 1.0).await;
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(
        status.message().contains("'faulty'") && status.message().contains("SIGABRT"),
        "{status:?}"
    );
}

#[tokio::test]
async fn a_segfault_ends_only_the_host_which_restarts() {
    let server = isolated(&[]);
    let status = fault_under_load(&server, "segfault", 1.0).await;
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(status.message().contains("SIGSEGV"), "{status:?}");
    // Marked so that clients do not fail the (perhaps poisonous) call over
    // to other replicas: the client made it once.
    let reason = status.get_details_error_info().map(|info| info.reason);
    assert_eq!(reason.as_deref(), Some("MODEL_PROCESS_DIED"), "{status:?}");
}

#[tokio::test]
async fn a_leak_past_the_memory_cap_ends_the_host_not_the_servers_memory() {
    let server = isolated(&[]);
    let client = server.client().await;
    let rss_before = proc_status_kib(server.pid(), "VmRSS:") / 1024.0;
    // 100 MiB a call, touched and kept, against a 512 MiB cap: the host's
    // memory really grows until an allocation fails and the host dies.
    let mut leaked = 0;
    while client.forecast(faulty_call("leak_mb", 100.0)).await.is_ok() {
        leaked += 100;
        assert!(leaked < 1024, "the cap never stopped the leak");
    }
    assert!(leaked >= 100, "the host died before leaking anything");
    answers_again(&client).await;
    let status = fault_under_load(&server, "leak_mb", 1024.0).await;
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(
        status.message().contains("--plugin-memory-limit"),
        "{status:?}"
    );
    let rss_after = proc_status_kib(server.pid(), "VmRSS:") / 1024.0;
    assert!(
        rss_after < rss_before + 32.0,
        "the server's RSS went from {rss_before:.1} to {rss_after:.1} MiB"
    );
}

#[tokio::test]
async fn a_spin_past_the_deadline_kills_the_host_which_restarts() {
    let server = isolated(&["--call-timeout-ms", "1500"]);
    // The caller gets DEADLINE_EXCEEDED at its deadline; the host, still
    // spinning at --call-timeout-ms, is killed by its watchdog and
    // restarted (checked in fault_under_load).
    let status = fault_under_load(&server, "spin", 1.0).await;
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert!(status.message().contains("'faulty'"), "{status:?}");
}

#[tokio::test]
async fn a_host_that_crashes_in_a_loop_is_marked_failed_and_others_serve() {
    let server = isolated(&[]);
    let client = server.client().await;
    let mut aborts = 0;
    let give_up = Instant::now() + Duration::from_secs(60);
    while model(&client, "faulty").await.state != proto::ModelState::Failed as i32 {
        assert!(Instant::now() < give_up, "never marked failed");
        if client.forecast(faulty_call("abort", 1.0)).await.is_err() {
            aborts += 1;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(aborts >= 5);
    let info = model(&client, "faulty").await;
    assert!(info.last_error.contains("no longer restarted"), "{info:?}");
    let status = client
        .forecast(forecast("faulty", series(), 2))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert!(status.message().contains("failed"), "{status:?}");
    client
        .forecast(forecast("naive", series(), 3))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_sidecar_file_keeps_a_trusted_model_in_process() {
    let server = Server::start(ServerOptions {
        plugins: vec![NAIVE, FAULTY],
        files: vec![("libstratus_naive.so.isolation", b"in-process\n".to_vec())],
        args: vec!["--isolation".into(), "process".into()],
        ..Default::default()
    });
    let client = server.client().await;
    let naive = model(&client, "naive").await;
    assert_eq!(naive.isolation, proto::Isolation::InProcess as i32);
    assert_eq!(naive.host_pid, 0);
    let faulty = model(&client, "faulty").await;
    assert_eq!(faulty.isolation, proto::Isolation::Process as i32);
    assert_ne!(faulty.host_pid, 0);
    // The host is a process of its own, not the server.
    assert_ne!(faulty.host_pid, server.pid());
    client
        .forecast(forecast("faulty", series(), 2))
        .await
        .unwrap();
}

#[tokio::test]
async fn hot_swaps_of_an_isolated_model_fail_no_call_and_leave_no_host_behind() {
    let server = Server::start(ServerOptions {
        plugins: vec![NAIVE, FAULTY],
        args: vec![
            "--isolation".into(),
            "process".into(),
            "--no-watch".into(),
            "--allow-unauthenticated-admin".into(),
        ],
        ..Default::default()
    });
    let client = server.client().await;
    let load = Load::start(&server).await;
    let faulty_path = server.plugin_dir.path().join(FAULTY);
    let mut rss = Vec::new();
    let mut pids = Vec::new();
    for i in 0..100 {
        // A distinct library each time (a new version of faulty).
        let marker = format!("SWAP{i:04}");
        std::fs::write(&faulty_path, stratus_e2e::faulty_variant(&marker)).unwrap();
        client.reload_models(None).await.unwrap();
        let info = model(&client, "faulty").await;
        assert!(info.version.contains(&marker), "{info:?}");
        pids.push(info.host_pid);
        client
            .forecast(forecast("faulty", series(), 2))
            .await
            .unwrap();
        rss.push(proc_status_kib(server.pid(), "VmRSS:") / 1024.0);
    }
    let (calls, failed) = load.finish().await;
    assert_eq!(
        failed, 0,
        "{failed} of {calls} naive calls failed during the swaps"
    );
    // Old hosts are gone: only the newest one still runs.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let alive = pids[..pids.len() - 1]
        .iter()
        .filter(|&&pid| std::path::Path::new(&format!("/proc/{pid}")).exists())
        .count();
    assert_eq!(alive, 0, "old plugin hosts still running");
    // The server maps none of the libraries, so its memory stays flat.
    let (first, last) = (rss[4], rss[rss.len() - 1]);
    assert!(
        last < first + 16.0,
        "RSS grew from {first:.1} to {last:.1} MiB over the swaps"
    );
}

#[tokio::test]
async fn a_stream_to_an_isolated_model_answers_in_order_and_a_crash_ends_it_cleanly() {
    let server = isolated(&[]);
    let client = server.client().await;
    let requests: Vec<proto::ForecastRequest> = (0..300)
        .map(|i| {
            let mut request = forecast("naive", series(), 2);
            request.request_id = format!("r{i}");
            request
        })
        .collect();
    let mut answers = client
        .forecast_stream(futures::stream::iter(requests))
        .await
        .unwrap();
    let mut ids = Vec::new();
    while let Some(answer) = answers.next().await.transpose().unwrap() {
        ids.push(answer.request_id);
    }
    let expected: Vec<String> = (0..300).map(|i| format!("r{i}")).collect();
    assert_eq!(ids, expected, "every series answered once, in order");

    // A series that crashes the host mid-stream: the batch that holds it
    // (one message to the host) fails, and the stream ends with the crash,
    // naming the model's host and the signal.
    let mut requests: Vec<proto::ForecastRequest> =
        (0..5).map(|_| forecast("faulty", series(), 2)).collect();
    requests.push(faulty_call("segfault", 1.0));
    let mut answers = client
        .forecast_stream(futures::stream::iter(requests))
        .await
        .unwrap();
    let mut answered = 0;
    let status = loop {
        match answers.next().await.transpose() {
            Ok(Some(_)) => answered += 1,
            Ok(None) => panic!("the stream ended without the crash"),
            Err(status) => break status,
        }
    };
    assert!(answered <= 5);
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(status.message().contains("SIGSEGV"), "{status:?}");
    answers_again(&client).await;
}

#[tokio::test]
async fn a_callers_short_deadline_does_not_kill_the_shared_host() {
    use stratus_client::proto::forecast_service_client::ForecastServiceClient;
    let server = isolated(&[]);
    let client = server.client().await;
    let before = model(&client, "faulty").await;
    // Five callers in a row give up after 20 ms on a model that takes 300:
    // each gets DEADLINE_EXCEEDED, and the host, which is not stuck (well
    // within --call-timeout-ms), keeps running.
    for _ in 0..5 {
        let mut request = tonic::Request::new(faulty_call("sleep_ms", 300.0));
        request.set_timeout(Duration::from_millis(20));
        let status = ForecastServiceClient::new(client.channel())
            .forecast(request)
            .await
            .unwrap_err();
        // The server's DEADLINE_EXCEEDED, or the client's own timeout if it
        // fires first: either way the caller gave up.
        assert!(
            matches!(status.code(), Code::DeadlineExceeded | Code::Cancelled),
            "{status:?}"
        );
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = model(&client, "faulty").await;
    assert_eq!(after.host_pid, before.host_pid, "the host was killed");
    assert_eq!(after.restarts, 0);
    assert_eq!(after.state, proto::ModelState::Ready as i32);
    client
        .forecast(forecast("faulty", series(), 2))
        .await
        .unwrap();
}
