//! Reload soak benchmark (a command, not a test): serves the `faulty` fixture
//! model under continuous load from concurrent clients, measures a baseline,
//! then swaps the library between two versions N times (deploy + ReloadModels)
//! while the load goes on. Prints failed calls (target 0), p99 latency during
//! reloads against without (target under 2×), and the server's resident
//! memory before and after (target: growth under 5 MiB after 100 reloads).
//!
//! `cargo run --release -p stratus-e2e --bin soak -- [RELOADS] [CONCURRENCY] [PAUSE_MS]`
//!
//! PAUSE_MS (default 100) spaces the reloads: deployments arrive seconds or
//! minutes apart in practice; 0 makes a back-to-back reload storm.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use stratus_client::bench::{self, Limits};
use stratus_client::proto;
use stratus_e2e::{FAULTY, Server, ServerOptions, faulty_variant};

fn mib(bytes: Option<u64>) -> f64 {
    bytes.unwrap_or(0) as f64 / (1024.0 * 1024.0)
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let reloads: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100);
    let concurrency: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(8);
    let pause = Duration::from_millis(args.next().and_then(|a| a.parse().ok()).unwrap_or(100));

    let server = Server::start(ServerOptions {
        plugins: vec![FAULTY],
        args: vec!["--no-watch".into(), "--allow-unauthenticated-admin".into()],
        env: vec![("RUST_LOG", "warn".into())],
        ..Default::default()
    });
    let client = server.client().await;
    let versions = [faulty_variant("AAAAAAAA"), faulty_variant("BBBBBBBB")];
    let request = proto::ForecastRequest {
        model: Some(proto::ModelRef {
            name: "faulty".into(),
            version: String::new(),
        }),
        source: Some(proto::forecast_request::Source::Dataset(
            "china-cloud-infra-annual".into(),
        )),
        horizon: 3,
        ..Default::default()
    };
    let call = {
        let client = client.clone();
        move || {
            let (client, request) = (client.clone(), request.clone());
            async move { client.forecast(request).await.map(|_| 1) }
        }
    };

    // Warm up, then the baseline.
    let warm = Limits {
        duration: Duration::from_secs(1),
        ..Default::default()
    };
    bench::drive(concurrency, warm, call.clone()).await;
    let rss_before = bench::resident_bytes(server.pid());
    let baseline = bench::drive(
        concurrency,
        Limits {
            duration: Duration::from_secs(5),
            ..Default::default()
        },
        call.clone(),
    )
    .await;

    // The same load while the library is swapped `reloads` times.
    let stop = Arc::new(AtomicBool::new(false));
    let load = tokio::spawn(bench::drive(
        concurrency,
        Limits {
            duration: Duration::from_secs(3600),
            max_calls: None,
            stop: Some(Arc::clone(&stop)),
        },
        call,
    ));
    let dir = server.plugin_dir.path().to_owned();
    let mut reload_errors = 0;
    for i in 0..reloads {
        let temporary = dir.join(".soak.partial");
        std::fs::write(&temporary, &versions[(i + 1) % 2]).expect("write the library");
        std::fs::rename(&temporary, dir.join(FAULTY)).expect("deploy the library");
        if client.reload_models(None).await.is_err() {
            reload_errors += 1;
        }
        tokio::time::sleep(pause).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let during = load.await.expect("load task");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_after = bench::resident_bytes(server.pid());

    let p99 = |r: &bench::Report| r.percentile(0.99).as_secs_f64() * 1e3;
    println!("reload soak: {reloads} reloads {pause:?} apart, {concurrency} concurrent callers");
    println!("baseline      {}", baseline.summary());
    println!("during reload {}", during.summary());
    println!(
        "failed calls: {} (baseline {}, during reloads {}); failed reloads: {reload_errors}",
        baseline.errors + during.errors,
        baseline.errors,
        during.errors
    );
    println!(
        "p99 during reloads / without: {:.2}× ({:.3} ms vs {:.3} ms)",
        p99(&during) / p99(&baseline).max(1e-9),
        p99(&during),
        p99(&baseline)
    );
    println!(
        "server RSS: {:.1} MiB before, {:.1} MiB after, growth {:.1} MiB",
        mib(rss_before),
        mib(rss_after),
        mib(rss_after) - mib(rss_before)
    );
    if let Some(error) = during.first_error.or(baseline.first_error) {
        println!("first error: {error}");
    }
}
