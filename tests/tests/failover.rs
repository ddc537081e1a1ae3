//! Scaling out: one client over three replicas on loopback. Calls spread
//! over every replica; when one is killed (SIGKILL) and another drained
//! (SIGTERM) under load, the client fails over and no call fails; a stream
//! whose replica dies is resumed elsewhere with nothing lost or answered
//! twice; and `stratus models` over the replicas flags a version drift.

use std::process::Command;
use std::time::Duration;

use futures::StreamExt;
use stratus_client::bench::{self, Limits};
use stratus_client::{StratusClient, proto};
use stratus_e2e::fixtures::{annual, forecast};
use stratus_e2e::{CANALYS, FAULTY, NAIVE, Server, ServerOptions, binary};

fn replicas(n: usize, plugins: &[&'static str]) -> Vec<Server> {
    (0..n)
        .map(|_| {
            Server::start(ServerOptions {
                plugins: plugins.to_vec(),
                // A short drain keeps the test short; calls still in flight
                // on the drained replica finish well within it.
                args: vec!["--drain-timeout".into(), "5".into()],
                ..Default::default()
            })
        })
        .collect()
}

fn list(servers: &[Server]) -> String {
    servers
        .iter()
        .map(|s| s.url.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

fn series() -> proto::Series {
    annual(
        "failover",
        2015,
        &[10.0, 11.2, 12.9, 14.1, 15.8, 17.0, 19.3],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_one_replica_and_draining_another_fails_no_call() {
    let mut servers = replicas(3, &[NAIVE]);
    let client = StratusClient::connect(list(&servers))
        .await
        .expect("connect to the replicas");
    let request = forecast("naive", series(), 3);
    let limits = Limits {
        duration: Duration::from_secs(10),
        ..Default::default()
    };
    let load = tokio::spawn({
        let client = client.clone();
        bench::drive(8, limits, move || {
            let (client, request) = (client.clone(), request.clone());
            async move { client.forecast(request).await.map(|_| 1) }
        })
    });

    tokio::time::sleep(Duration::from_secs(3)).await;
    servers[0].signal("KILL");
    tokio::time::sleep(Duration::from_secs(3)).await;
    servers[1].signal("TERM");
    let report = load.await.expect("the load ran");

    assert!(
        report.ok > 1000,
        "too few calls to mean anything: {report:?}"
    );
    assert_eq!(
        report.errors,
        0,
        "{} of {} calls failed; first: {:?}",
        report.errors,
        report.ok + report.errors,
        report.first_error
    );
    let endpoints = client.endpoints();
    assert_eq!(endpoints.len(), 3);
    for endpoint in &endpoints {
        assert!(
            endpoint.calls > 100,
            "every replica took calls: {endpoints:?}"
        );
    }
    // The killed replica failed calls at the transport, which were retried.
    assert!(endpoints[0].failures > 0, "{endpoints:?}");
    let retries = client.retry_stats();
    assert!(
        retries.retried > 0 && retries.refused_by_budget == 0,
        "{retries:?}"
    );
    assert!(!servers[0].is_running(), "the killed replica is gone");
    // The drained replica finished: it exits 0 once its calls are done.
    let drained = servers.remove(1);
    let (status, log) = drained.terminate();
    assert!(
        status.success(),
        "the drained replica exited {status}: {log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_whose_replica_dies_resumes_elsewhere_losing_nothing() {
    let servers = replicas(2, &[FAULTY]);
    let client = StratusClient::connect(list(&servers))
        .await
        .expect("connect to the replicas");
    // Series arrive every 10 ms and each takes 20 ms to answer (the server
    // answers a stream in batches of what has arrived), so the stream is
    // mid-way when its replica is killed.
    let requests: Vec<proto::ForecastRequest> = (0..60)
        .map(|i| {
            let mut request = forecast("faulty", series(), 2);
            request.params.insert("sleep_ms".into(), 20.0);
            request.request_id = format!("series-{i}");
            request
        })
        .collect();
    let mut answers = client
        .forecast_stream(futures::stream::iter(requests).then(|request| async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            request
        }))
        .await
        .expect("stream opens");

    let mut ids = Vec::new();
    let mut killed = None;

    while let Some(answer) = answers.next().await {
        let answer = answer.expect("every series is answered");
        ids.push(answer.request_id);
        if ids.len() == 10 {
            // The replica the stream is on is the one with a call in flight.
            let busy = client
                .endpoints()
                .iter()
                .position(|e| e.in_flight > 0)
                .expect("the stream is in flight somewhere");
            servers[busy].signal("KILL");
            killed = Some(busy);
        }
    }
    let expected: Vec<String> = (0..60).map(|i| format!("series-{i}")).collect();
    assert_eq!(ids, expected, "each series answered once, in order");
    let killed = killed.expect("a replica was killed mid-stream");
    let endpoints = client.endpoints();
    assert!(endpoints[killed].failures > 0, "{endpoints:?}");
    assert!(endpoints[1 - killed].calls > 0, "{endpoints:?}");
    assert_eq!(client.retry_stats().retried, 1);
}

#[test]
fn models_over_replicas_flags_a_version_drift() {
    let same = replicas(2, &[NAIVE]);
    let out = Command::new(binary("stratus"))
        .args(["--server", &list(&same), "models"])
        .output()
        .expect("run stratus");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("all 2 replicas serve the same models"),
        "{stdout}"
    );
    assert!(stdout.contains("2/2"), "{stdout}");

    // A rollout half done: one replica also serves canalys.
    let mixed = [
        Server::start(ServerOptions {
            plugins: vec![NAIVE],
            ..Default::default()
        }),
        Server::start(ServerOptions {
            plugins: vec![NAIVE, CANALYS],
            ..Default::default()
        }),
    ];
    let out = Command::new(binary("stratus"))
        .args(["--server", &list(&mixed), "models"])
        .output()
        .expect("run stratus");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("DRIFT: 1 model version differs"),
        "{stdout}"
    );
    assert!(!out.status.success(), "a drift fails the check");
    let canalys = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("canalys"))
        .expect("a canalys row");
    assert!(
        canalys.contains("1/2") && canalys.contains(&format!("missing on {}", mixed[0].url)),
        "{canalys}"
    );
}
