//! `stratus bench`: drives a server with concurrent calls of one RPC and
//! prints throughput, latency percentiles, errors and the server's memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::StreamExt;
use stratus_client::TlsOptions;
use stratus_client::bench::{self, Limits, Report};
use stratus_client::{StratusClient, proto};

use crate::args::{BenchArgs, BenchRpc};

/// A synthetic annual series: `points` values of steady growth with a wiggle.
fn series(points: usize) -> proto::Series {
    proto::Series {
        name: "bench".into(),
        unit: String::new(),
        frequency: proto::Frequency::Annual as i32,
        observations: (0..points)
            .map(|i| proto::Observation {
                period: (2000 + i).to_string(),
                value: 10.0
                    * 1.12f64.powi(i as i32)
                    * (1.0 + 0.03 * ((i * 7 % 5) as f64 - 2.0) / 2.0),
            })
            .collect(),
    }
}

fn forecast_request(args: &BenchArgs) -> proto::ForecastRequest {
    let source = match &args.dataset {
        Some(name) => proto::forecast_request::Source::Dataset(name.clone()),
        None => proto::forecast_request::Source::Series(series(args.points)),
    };
    proto::ForecastRequest {
        model: Some(proto::ModelRef {
            name: args.model.clone(),
            version: String::new(),
        }),
        source: Some(source),
        horizon: args.horizon,
        ..Default::default()
    }
}

fn backtest_request(args: &BenchArgs) -> proto::BacktestRequest {
    let source = match &args.dataset {
        Some(name) => proto::backtest_request::Source::Dataset(name.clone()),
        None => proto::backtest_request::Source::Series(series(args.points)),
    };
    proto::BacktestRequest {
        models: vec![proto::ModelRef {
            name: args.model.clone(),
            version: String::new(),
        }],
        source: Some(source),
        horizon: args.horizon,
        origins: args.origins,
        ..Default::default()
    }
}

fn risk_request(args: &BenchArgs) -> proto::RiskRequest {
    let indicators = if args.indicators.is_empty() {
        vec![
            ("capex_growth_pct".into(), 40.0),
            ("revenue_growth_pct".into(), 20.0),
            ("utilization_pct".into(), 60.0),
        ]
    } else {
        args.indicators.clone()
    };
    proto::RiskRequest {
        model: Some(proto::ModelRef {
            name: args.model.clone(),
            version: String::new(),
        }),
        indicators: indicators.into_iter().collect(),
        ..Default::default()
    }
}

/// Connections shared round-robin by the callers.
#[derive(Clone)]
struct Pool {
    clients: Arc<[StratusClient]>,
    next: Arc<AtomicUsize>,
}

impl Pool {
    async fn connect(
        first: &StratusClient,
        url: &str,
        tls: &TlsOptions,
        connections: usize,
    ) -> anyhow::Result<Self> {
        let mut clients = vec![first.clone()];
        for _ in 1..connections.max(1) {
            clients.push(StratusClient::connect_with(url, tls).await?);
        }
        Ok(Self {
            clients: clients.into(),
            next: Arc::new(AtomicUsize::new(0)),
        })
    }

    fn next_client(&self) -> StratusClient {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        self.clients[i % self.clients.len()].clone()
    }
}

/// Runs one RPC under load and returns its report.
async fn run(pool: &Pool, rpc: BenchRpc, args: &BenchArgs) -> Report {
    let limits = Limits {
        duration: Duration::from_secs_f64(args.duration),
        max_calls: args.requests,
        stop: None,
    };
    let pool = pool.clone();
    match rpc {
        BenchRpc::Health => {
            bench::drive(args.concurrency, limits, move || {
                let client = pool.next_client();
                async move { client.health("").await.map(|_| 1) }
            })
            .await
        }
        BenchRpc::Forecast => {
            let request = forecast_request(args);
            bench::drive(args.concurrency, limits, move || {
                let (client, request) = (pool.next_client(), request.clone());
                async move { client.forecast(request).await.map(|_| 1) }
            })
            .await
        }
        BenchRpc::ForecastStream => {
            let request = forecast_request(args);
            let size = args.stream_size;
            bench::drive(args.concurrency, limits, move || {
                let (client, request) = (pool.next_client(), request.clone());
                async move {
                    let requests = futures::stream::iter((0..size).map(move |i| {
                        let mut r = request.clone();
                        r.request_id = i.to_string();
                        r
                    }));
                    count_answers(client.forecast_stream(requests).await?).await
                }
            })
            .await
        }
        BenchRpc::Risk => {
            let request = risk_request(args);
            bench::drive(args.concurrency, limits, move || {
                let (client, request) = (pool.next_client(), request.clone());
                async move { client.score_risk(request).await.map(|_| 1) }
            })
            .await
        }
        BenchRpc::BacktestStream => {
            let request = backtest_request(args);
            let size = args.stream_size;
            bench::drive(args.concurrency, limits, move || {
                let (client, request) = (pool.next_client(), request.clone());
                async move {
                    let requests = futures::stream::iter((0..size).map(move |i| {
                        let mut r = request.clone();
                        r.request_id = i.to_string();
                        r
                    }));
                    count_answers(client.backtest_stream(requests).await?).await
                }
            })
            .await
        }
    }
}

/// Reads a response stream to its end; the number of answers, or the
/// status that ended it.
async fn count_answers<T>(
    mut responses: stratus_client::ResponseStream<T>,
) -> Result<u64, tonic::Status> {
    let mut items = 0;
    while let Some(response) = responses.next().await {
        response?;
        items += 1;
    }
    Ok(items)
}

/// Calls per endpoint and retries, over all the pool's connections: how the
/// load was spread, and what failover cost.
fn endpoint_report(pool: &Pool) -> String {
    let mut per_endpoint: Vec<stratus_client::EndpointStats> = Vec::new();
    let (mut retried, mut refused) = (0, 0);
    for client in pool.clients.iter() {
        for stats in client.endpoints() {
            match per_endpoint.iter_mut().find(|e| e.url == stats.url) {
                Some(total) => {
                    total.calls += stats.calls;
                    total.failures += stats.failures;
                }
                None => per_endpoint.push(stats),
            }
        }
        let retries = client.retry_stats();
        retried += retries.retried;
        refused += retries.refused_by_budget;
    }
    let mut report = String::new();
    if per_endpoint.len() > 1 || retried > 0 {
        for endpoint in &per_endpoint {
            report.push_str(&format!(
                "endpoint {}: {} calls, {} failed at the transport\n",
                endpoint.url, endpoint.calls, endpoint.failures
            ));
        }
        report.push_str(&format!(
            "retries: {retried} sent to another endpoint, {refused} refused by the retry budget\n"
        ));
    }
    report
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// The request `--rpc` sends, as one gRPC length-prefixed message (flag 0 for
/// uncompressed, 4-byte big-endian length, then the protobuf bytes), and the
/// RPC's HTTP/2 path.
fn framed_body(args: &BenchArgs) -> (Vec<u8>, &'static str) {
    use prost::Message;
    let (message, path) = match args.rpc {
        BenchRpc::Health => (Vec::new(), "/grpc.health.v1.Health/Check"),
        BenchRpc::Forecast => (
            forecast_request(args).encode_to_vec(),
            "/stratus.v1.ForecastService/Forecast",
        ),
        BenchRpc::ForecastStream => (
            forecast_request(args).encode_to_vec(),
            "/stratus.v1.ForecastService/ForecastStream",
        ),
        BenchRpc::Risk => (
            risk_request(args).encode_to_vec(),
            "/stratus.v1.RiskService/ScoreRisk",
        ),
        BenchRpc::BacktestStream => (
            backtest_request(args).encode_to_vec(),
            "/stratus.v1.EvaluationService/BacktestStream",
        ),
    };
    let mut body = Vec::with_capacity(5 + message.len());
    body.push(0);
    body.extend_from_slice(&(message.len() as u32).to_be_bytes());
    body.extend_from_slice(&message);
    (body, path)
}

/// `stratus bench --write-body FILE`: the request this run would send,
/// gRPC-framed, for an independent load generator.
pub fn write_body(args: &BenchArgs, file: &std::path::Path) -> anyhow::Result<()> {
    let (body, path) = framed_body(args);
    std::fs::write(file, &body)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", file.display()))?;
    println!(
        "wrote {} bytes to {}: replay with h2load -H 'content-type: application/grpc' -H 'te: trailers' -d {} http://ADDRESS{path}",
        body.len(),
        file.display(),
        file.display()
    );
    Ok(())
}

/// The `stratus bench` command.
pub async fn bench(
    client: &StratusClient,
    url: &str,
    tls: &TlsOptions,
    args: BenchArgs,
) -> anyhow::Result<()> {
    let pool = Pool::connect(client, url, tls, args.connections).await?;
    let memory = || args.server_pid.and_then(bench::resident_bytes);
    let before = memory();
    println!(
        "rpc {:?} · model {} · concurrency {} over {} connections · {} s{}",
        args.rpc,
        args.model,
        args.concurrency,
        pool.clients.len(),
        args.duration,
        if matches!(
            args.rpc,
            BenchRpc::ForecastStream | BenchRpc::BacktestStream
        ) {
            format!(" · {} series per stream", args.stream_size)
        } else {
            String::new()
        }
    );
    let baseline = if args.compare_health && !matches!(args.rpc, BenchRpc::Health) {
        let report = run(&pool, BenchRpc::Health, &args).await;
        println!("health    {}", report.summary());
        Some(report)
    } else {
        None
    };
    let report = run(&pool, args.rpc, &args).await;
    println!(
        "{:<9} {}",
        format!("{:?}", args.rpc).to_lowercase(),
        report.summary()
    );
    if let Some(error) = &report.first_error {
        println!("first error: {error}");
    }
    if let Some(health) = baseline {
        println!(
            "ratio: {:.1}% of the health RPC's calls/s in the same run",
            100.0 * report.calls_per_second() / health.calls_per_second().max(1e-9)
        );
    }
    print!("{}", endpoint_report(&pool));
    match (before, memory()) {
        (Some(before), Some(after)) => println!(
            "server RSS: {:.1} MiB before, {:.1} MiB after",
            mib(before),
            mib(after)
        ),
        _ if args.server_pid.is_some() => println!("server RSS: not readable (/proc/<pid>/status)"),
        _ => {}
    }
    Ok(())
}
