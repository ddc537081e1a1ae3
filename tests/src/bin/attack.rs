//! Attack-mix command (a benchmark, not a test): runs the attacks of the
//! hardening work against the real server, one phase after another, while a
//! prober checks health and a sampler reads the server's memory. Prints, per
//! phase, how the attack's calls ended, and overall: peak RSS, health p99,
//! whether the server survived, and its CPU use in the second after the
//! attack ends. Targets: peak RSS < 128 MiB, health p99 < 50 ms, no crash,
//! CPU back to idle within a second.
//!
//! `cargo run --release -p stratus-e2e --bin attack -- [SECONDS_PER_PHASE]`
//!
//! Loopback only: it starts its own server on 127.0.0.1.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use stratus_client::{StratusClient, proto};
use stratus_e2e::fixtures::{annual, forecast};
use stratus_e2e::{CANALYS, NAIVE, Server, ServerOptions, proc_status_kib, raw_h2};
use tokio::sync::Mutex;

/// How the calls of one phase ended, by gRPC code name ("OK" included).
type Outcomes = BTreeMap<String, u64>;

#[tokio::main]
async fn main() {
    let seconds: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(3);
    let phase_time = Duration::from_secs(seconds);
    let server = Server::start(ServerOptions {
        plugins: vec![NAIVE, CANALYS],
        env: vec![("RUST_LOG", "warn".into())],
        ..Default::default()
    });
    let pid = server.pid();
    let url = server.url.clone();
    let addr = url.trim_start_matches("http://").to_owned();
    let idle_rss = proc_status_kib(pid, "VmRSS:") / 1024.0;

    let stop = Arc::new(AtomicBool::new(false));
    let phase = Arc::new(AtomicUsize::new(0));
    // The prober gets a thread and a runtime of its own, so the attack's
    // own work in this process cannot delay it: its figures are the server's.
    let health = {
        let (url, stop, phase) = (url.clone(), Arc::clone(&stop), Arc::clone(&phase));
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map(|runtime| runtime.block_on(probe_health(url, stop, phase)))
                .unwrap_or_default()
        })
    };
    let sampler = tokio::spawn(sample_rss(pid, Arc::clone(&stop)));

    let mut report: Vec<(usize, &str, Outcomes)> = Vec::new();
    let monthly = monthly_series(99_000);

    // STRATUS_ATTACK_PHASES=2,3 runs only those phases (to study one).
    let only: Option<Vec<usize>> = std::env::var("STRATUS_ATTACK_PHASES")
        .ok()
        .map(|v| v.split(',').filter_map(|p| p.trim().parse().ok()).collect());
    for n in 1..=PHASES.len() {
        if only.as_ref().is_some_and(|only| !only.contains(&n)) {
            continue;
        }
        phase.store(n, Ordering::Relaxed);
        let outcomes = run_phase(n, &url, &addr, phase_time, &monthly).await;
        report.push((n, PHASES[n - 1], outcomes));
    }

    phase.store(PHASES.len() + 1, Ordering::Relaxed);
    // CPU in the first second after the attack (calls already running
    // finish: native code cannot be stopped), then over half a second
    // starting one second after it: the server should be idle by then.
    let cpu_at_end = server.cpu_time();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let cpu_at_one = server.cpu_time();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let first_second = cpu_at_one.saturating_sub(cpu_at_end);
    let after_one = server.cpu_time().saturating_sub(cpu_at_one) * 2;
    stop.store(true, Ordering::Relaxed);
    let health = health.join().unwrap_or_default();
    let sampled_peak = sampler.await.unwrap_or_default();
    let peak = proc_status_kib(pid, "VmHWM:") / 1024.0;
    let mut server = server;
    let survived = server.is_running();

    println!("attack mix: {seconds} s per phase, server pid {pid}");
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!("{:<40} {:>14}  outcomes", "phase", "health p99");
    for (n, phase, outcomes) in &report {
        let line: Vec<String> = outcomes.iter().map(|(c, n)| format!("{c} {n}")).collect();
        let p99 = health.phase(*n).percentile(0.99);
        println!("{phase:<40} {:>11.2} ms  {}", ms(p99), line.join(", "));
    }
    let (failed, refused) = report.iter().flat_map(|(_, _, o)| o).fold(
        (0, 0),
        |(failed, refused), (code, n)| match code.as_str() {
            "Internal" | "Unknown" | "Unavailable" | "transport" => (failed + n, refused),
            "OK" => (failed, refused),
            _ => (failed, refused + n),
        },
    );
    println!(
        "refused (limits, deadlines) {refused}, failed (server faults or lost connections) {failed}"
    );
    println!(
        "health: {} probes, {} failed, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        health.latencies.len() + health.failures,
        health.failures,
        ms(health.percentile(0.5)),
        ms(health.percentile(0.99)),
        ms(health.latencies.last().copied().unwrap_or_default())
    );
    println!(
        "memory: idle {idle_rss:.1} MiB, peak {peak:.1} MiB (VmHWM; sampled max {sampled_peak:.1} MiB)"
    );
    println!(
        "cpu: {:.0}% of a core in the first second after the attack, {:.0}% from 1 s to 1.5 s after",
        first_second.as_secs_f64() * 100.0,
        after_one.as_secs_f64() * 100.0,
    );
    println!("server survived: {survived}");
}

/// The phases, in order.
const PHASES: [&str; 6] = [
    "amplification (100k levels)",
    "oversized + large messages",
    "abandoned slow calls (100 ms deadline)",
    "1,000 streams on one connection",
    "slow senders",
    "extreme values",
];

/// Runs phase `n` (1-based, see [`PHASES`]) for about `time`.
async fn run_phase(
    n: usize,
    url: &str,
    addr: &str,
    time: Duration,
    monthly: &proto::Series,
) -> Outcomes {
    match n {
        // 100,000 levels on a 100-step horizon.
        1 => {
            let mut request = forecast("naive", annual("amp", 2000, &[1.0, 2.0, 3.0, 4.0]), 100);
            request.levels = (0..100_000).map(|i| 1.0 + f64::from(i) * 0.0009).collect();
            unary_flood(url, 16, time, request, None).await
        }
        // Oversized (3 MiB) and numerous large (1.9 MiB) messages, encoded
        // once and sent raw, so the attacker spends its CPU on sending.
        2 => {
            let mut big = annual("big", 2000, &[]);
            big.observations = vec![proto::Observation::default(); 1_500_000];
            let oversized = encoded(&forecast("naive", big.clone(), 1));
            let mut outcomes = raw_flood(addr, 8, time / 2, oversized, None).await;
            big.observations.truncate(990_000);
            let large = encoded(&forecast("naive", big, 1));
            for (code, n) in raw_flood(addr, 16, time / 2, large, None).await {
                *outcomes.entry(code).or_default() += n;
            }
            outcomes
        }
        // canalys on a 99,000-point monthly series, each caller giving up
        // after 100 ms.
        3 => {
            let request = encoded(&forecast("canalys", monthly.clone(), 1));
            raw_flood(addr, 32, time, request, Some("100m")).await
        }
        4 => one_connection_flood(url, 1_000, time).await,
        // Calls that announce 1,000 bytes and trickle 10, and connections
        // that never speak.
        5 => slow_senders(addr, 200, 200, time).await,
        // Extreme values and levels.
        _ => {
            let series = annual("x", 2000, &[1.0, 1e300, 2.0, 3.0, 4.0]);
            let mut request = forecast("canalys", series, 10);
            request.levels = vec![99.999_999_999_999_99];
            unary_flood(url, 16, time, request, None).await
        }
    }
}

/// Health-check latencies seen during the attack.
#[derive(Debug, Default)]
struct Probes {
    latencies: Vec<Duration>,
    failures: usize,
    /// (phase, latency) of every answered probe.
    by_phase: Vec<(usize, Duration)>,
}

impl Probes {
    fn phase(&self, phase: usize) -> Probes {
        let mut latencies: Vec<Duration> = self
            .by_phase
            .iter()
            .filter(|(p, _)| *p == phase)
            .map(|(_, l)| *l)
            .collect();
        latencies.sort();
        Probes {
            latencies,
            ..Probes::default()
        }
    }

    fn percentile(&self, q: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let rank =
            ((q * self.latencies.len() as f64).ceil() as usize).clamp(1, self.latencies.len());
        self.latencies[rank - 1]
    }
}

/// Checks health every 20 ms on a connection of its own until `stop`,
/// noting the phase each probe fell in.
async fn probe_health(url: String, stop: Arc<AtomicBool>, phase: Arc<AtomicUsize>) -> Probes {
    let mut probes = Probes::default();
    let Ok(client) = StratusClient::connect(url).await else {
        return probes;
    };
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        match tokio::time::timeout(Duration::from_secs(2), client.health("")).await {
            Ok(Ok(_)) => {
                let latency = started.elapsed();
                probes.latencies.push(latency);
                probes
                    .by_phase
                    .push((phase.load(Ordering::Relaxed), latency));
            }
            _ => probes.failures += 1,
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    probes.latencies.sort();
    probes
}

/// The largest resident memory seen, sampling every 10 ms, in MiB.
async fn sample_rss(pid: u32, stop: Arc<AtomicBool>) -> f64 {
    let mut peak: f64 = 0.0;
    while !stop.load(Ordering::Relaxed) {
        peak = peak.max(proc_status_kib(pid, "VmRSS:") / 1024.0);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    peak
}

fn code_name(result: &Result<proto::ForecastResponse, tonic::Status>) -> String {
    match result {
        Ok(_) => "OK".into(),
        Err(status) => format!("{:?}", status.code()),
    }
}

/// `callers` workers, each on its own connection, send `request` again and
/// again for `time` (with a `grpc-timeout` when given).
async fn unary_flood(
    url: &str,
    callers: usize,
    time: Duration,
    request: proto::ForecastRequest,
    timeout: Option<&'static str>,
) -> Outcomes {
    let outcomes = Arc::new(Mutex::new(Outcomes::new()));
    let deadline = Instant::now() + time;
    let mut workers = Vec::new();
    for _ in 0..callers {
        let (url, request, outcomes) = (url.to_owned(), request.clone(), Arc::clone(&outcomes));
        workers.push(tokio::spawn(async move {
            let Ok(client) = StratusClient::connect(url).await else {
                *outcomes.lock().await.entry("transport".into()).or_default() += 1;
                return;
            };
            let mut raw =
                proto::forecast_service_client::ForecastServiceClient::new(client.channel())
                    .max_encoding_message_size(usize::MAX);
            while Instant::now() < deadline {
                let mut call = tonic::Request::new(request.clone());
                if let Some(timeout) = timeout
                    && let Ok(value) = timeout.parse()
                {
                    call.metadata_mut().insert("grpc-timeout", value);
                }
                let result = raw.forecast(call).await.map(tonic::Response::into_inner);
                *outcomes.lock().await.entry(code_name(&result)).or_default() += 1;
            }
        }));
    }
    for worker in workers {
        let _ = worker.await;
    }
    Arc::try_unwrap(outcomes)
        .map(Mutex::into_inner)
        .unwrap_or_default()
}

/// A `Forecast` request in gRPC framing.
fn encoded(request: &proto::ForecastRequest) -> bytes::Bytes {
    use prost::Message;
    raw_h2::framed(&request.encode_to_vec())
}

/// `callers` raw connections send the framed `body` as `Forecast` calls
/// again and again for `time`.
async fn raw_flood(
    addr: &str,
    callers: usize,
    time: Duration,
    body: bytes::Bytes,
    timeout: Option<&'static str>,
) -> Outcomes {
    let outcomes = Arc::new(Mutex::new(Outcomes::new()));
    let deadline = Instant::now() + time;
    let mut workers = Vec::new();
    for _ in 0..callers {
        let (addr, body, outcomes) = (addr.to_owned(), body.clone(), Arc::clone(&outcomes));
        workers.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let Ok(mut client) = raw_h2::connect(&addr).await else {
                    *outcomes.lock().await.entry("transport".into()).or_default() += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                while Instant::now() < deadline {
                    let path = "/stratus.v1.ForecastService/Forecast";
                    let code = raw_h2::unary(&mut client, path, body.clone(), timeout).await;
                    let name = code.map_or("transport".into(), |c| {
                        format!("{:?}", tonic::Code::from_i32(c))
                    });
                    let lost = code.is_none();
                    *outcomes.lock().await.entry(name).or_default() += 1;
                    if lost {
                        break;
                    }
                }
            }
        }));
    }
    for worker in workers {
        let _ = worker.await;
    }
    Arc::try_unwrap(outcomes)
        .map(Mutex::into_inner)
        .unwrap_or_default()
}

/// `in_flight` concurrent naive calls on a single connection, for `time`.
async fn one_connection_flood(url: &str, in_flight: usize, time: Duration) -> Outcomes {
    let outcomes = Arc::new(Mutex::new(Outcomes::new()));
    let Ok(client) = StratusClient::connect(url.to_owned()).await else {
        return Outcomes::from([("transport".to_owned(), 1)]);
    };
    let deadline = Instant::now() + time;
    let request = stratus_e2e::fixtures::forecast_dataset("naive", "china-cloud-infra-annual", 3);
    let mut workers = Vec::new();
    for _ in 0..in_flight {
        let (client, request, outcomes) = (client.clone(), request.clone(), Arc::clone(&outcomes));
        workers.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let result = client.forecast(request.clone()).await;
                *outcomes.lock().await.entry(code_name(&result)).or_default() += 1;
            }
        }));
    }
    for worker in workers {
        let _ = worker.await;
    }
    Arc::try_unwrap(outcomes)
        .map(Mutex::into_inner)
        .unwrap_or_default()
}

/// `trickling` raw calls that announce 1,000 bytes and send 10, and
/// `silent` TCP connections that send nothing; how each call ended.
async fn slow_senders(addr: &str, trickling: usize, silent: usize, time: Duration) -> Outcomes {
    let mut outcomes = Outcomes::new();
    let mut quiet = Vec::new();
    for _ in 0..silent {
        if let Ok(stream) = tokio::net::TcpStream::connect(addr).await {
            quiet.push(stream);
        }
    }
    let mut calls = Vec::new();
    for _ in 0..trickling {
        match raw_h2::try_forecast_call(addr).await {
            Ok((client, response, mut stream)) => {
                let mut start = raw_h2::message_header(1_000);
                start.extend_from_slice(&[0; 10]);
                let _ = stream.send_data(start.into(), false);
                calls.push(tokio::spawn(async move {
                    let _keep = (client, stream);
                    raw_h2::status(response).await
                }));
            }
            Err(_) => *outcomes.entry("transport".into()).or_default() += 1,
        }
    }
    let waited = tokio::time::timeout(
        time + Duration::from_secs(15),
        futures::future::join_all(calls),
    )
    .await;
    for status in waited.into_iter().flatten() {
        let name = match status {
            Ok(Some((code, _))) => format!("{:?}", tonic::Code::from_i32(code)),
            _ => "transport".into(),
        };
        *outcomes.entry(name).or_default() += 1;
    }
    drop(quiet);
    outcomes
}

/// A monthly series of `n` points starting in January 1000.
fn monthly_series(n: usize) -> proto::Series {
    proto::Series {
        name: "long-monthly".into(),
        unit: String::new(),
        frequency: proto::Frequency::Monthly as i32,
        observations: (0..n)
            .map(|i| proto::Observation {
                period: format!("{:04}-{:02}", 1000 + i / 12, i % 12 + 1),
                value: 100.0 * (1.0 + 0.001 * i as f64) * (1.0 + 0.1 * ((i % 12) as f64 / 12.0)),
            })
            .collect(),
    }
}
