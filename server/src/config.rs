//! Server configuration: every flag is also an environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::model_pool::PoolConfig;
use crate::plugin::host::HostSpec;
use crate::plugin::registry::{Isolation, IsolationPolicy};
use crate::telemetry::LogFormat;
use crate::validate::Limits;

/// `stratus-server` flags.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "stratus-server",
    version,
    about = "Serves Stratus forecast and risk model plugins over gRPC."
)]
pub struct Config {
    /// Address to listen on (port 0 picks a free port; the chosen address is
    /// printed on stdout).
    #[arg(long, env = "STRATUS_LISTEN", default_value = "127.0.0.1:50051")]
    pub listen: SocketAddr,

    /// Folder of model plugin libraries (*.so) to load. Only libraries in this
    /// folder are ever loaded.
    #[arg(long, env = "STRATUS_PLUGINS", value_name = "DIR")]
    pub plugins: PathBuf,

    /// Folder of extra datasets (*.csv with period,value columns), served
    /// beside the built-in ones.
    #[arg(long, env = "STRATUS_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Log format.
    #[arg(long, env = "STRATUS_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,

    /// Largest forecast horizon accepted.
    #[arg(long, env = "STRATUS_MAX_HORIZON", default_value_t = Limits::default().max_horizon)]
    pub max_horizon: u32,

    /// Most observations accepted in one series.
    #[arg(long, env = "STRATUS_MAX_OBSERVATIONS", default_value_t = Limits::default().max_observations)]
    pub max_observations: usize,

    /// Most interval levels in one forecast request.
    #[arg(long, env = "STRATUS_MAX_LEVELS", default_value_t = Limits::default().max_levels)]
    pub max_levels: usize,

    /// Most entries in one request's `params`.
    #[arg(long, env = "STRATUS_MAX_PARAMS", default_value_t = Limits::default().max_params)]
    pub max_params: usize,

    /// Most entries in one risk request's `indicators`.
    #[arg(long, env = "STRATUS_MAX_INDICATORS", default_value_t = Limits::default().max_indicators)]
    pub max_indicators: usize,

    /// Most series in one risk request's `series`.
    #[arg(long, env = "STRATUS_MAX_SERIES", default_value_t = Limits::default().max_series)]
    pub max_series: usize,

    /// Longest string accepted in a request (names, periods, request_id,
    /// subject, map keys), in bytes.
    #[arg(long, env = "STRATUS_MAX_STRING_BYTES", default_value_t = Limits::default().max_string_bytes)]
    pub max_string_bytes: usize,

    /// Most intervals one forecast path may carry (horizon × levels).
    #[arg(long, env = "STRATUS_MAX_ANSWER_INTERVALS", default_value_t = Limits::default().max_answer_intervals)]
    pub max_answer_intervals: u64,

    /// Most models one backtest may score.
    #[arg(long, env = "STRATUS_MAX_BACKTEST_MODELS", default_value_t = Limits::default().max_backtest_models)]
    pub max_backtest_models: usize,

    /// Most forecast origins in one backtest (it runs models × origins
    /// forecasts).
    #[arg(long, env = "STRATUS_MAX_BACKTEST_ORIGINS", default_value_t = Limits::default().max_backtest_origins)]
    pub max_backtest_origins: u32,

    /// Most members in one ensemble.
    #[arg(long, env = "STRATUS_MAX_ENSEMBLE_MEMBERS", default_value_t = Limits::default().max_ensemble_members)]
    pub max_ensemble_members: usize,

    /// Most model forecasts one call may cause (backtests × conformal ×
    /// ensembles multiply).
    #[arg(long, env = "STRATUS_MAX_FORECASTS_PER_CALL", default_value_t = Limits::default().max_forecasts_per_call)]
    pub max_forecasts_per_call: u64,

    /// Most field violations listed in one error (the rest are counted).
    #[arg(long, env = "STRATUS_MAX_VIOLATIONS", default_value_t = Limits::default().max_violations)]
    pub max_violations: usize,

    /// Longest a single model call may take, in milliseconds; a caller's own
    /// gRPC deadline applies when earlier.
    #[arg(long, env = "STRATUS_CALL_TIMEOUT_MS", value_parser = clap::value_parser!(u64).range(1..=86_400_000), default_value_t = 30_000)]
    pub call_timeout_ms: u64,

    /// Address to serve Prometheus metrics on, at `/metrics` (off unless
    /// given; bind it where only your monitoring can reach it). Port 0
    /// picks a port and prints it.
    #[arg(long, env = "STRATUS_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,

    /// Address to serve the web console on (off unless given): a page that
    /// calls this server's API from the browser through gRPC-Web, which the
    /// API port then also accepts (over HTTP/1.1 too), from that page only.
    /// Port 0 picks a port and prints it.
    #[arg(long, env = "STRATUS_CONSOLE_LISTEN")]
    pub console_listen: Option<SocketAddr>,

    /// Connections open at once on each small HTTP listener (metrics,
    /// console); more are closed as they are accepted.
    #[arg(long, env = "STRATUS_HTTP_MAX_CONNECTIONS", default_value_t = 32)]
    pub http_max_connections: usize,

    /// The longest a connection to a small HTTP listener (metrics, console)
    /// stays open, in seconds.
    #[arg(long, env = "STRATUS_HTTP_CONNECTION_LIFETIME_S", default_value_t = 60)]
    pub http_connection_lifetime_s: u64,

    /// OTLP/gRPC collector to export traces to (e.g.
    /// `http://127.0.0.1:4317`; off unless given): a span per RPC,
    /// continuing the caller's W3C `traceparent`, and one per plugin call.
    #[arg(long, env = "STRATUS_OTLP_ENDPOINT", value_name = "URL")]
    pub otlp_endpoint: Option<String>,

    /// Share of the traces that start at this server to export (0 to 1); a
    /// caller's sampled trace (W3C `traceparent`) is always continued. Each
    /// traced call costs about 15 µs of CPU, so the default traces 1 in 100
    /// calls that arrive without a trace; 1 traces every call.
    #[arg(long, env = "STRATUS_TRACE_SAMPLE_RATIO", default_value_t = 0.01, value_parser = sample_ratio)]
    pub trace_sample_ratio: f64,

    /// Where model libraries run: `in-process` (fastest; a crash of a library
    /// is a crash of the server) or `process` (each library in a supervised
    /// plugin host process, restarted when it dies). A file
    /// `<library>.isolation` beside a library, holding either word,
    /// overrides this for that library.
    #[arg(long, env = "STRATUS_ISOLATION", value_enum, default_value_t = Isolation::InProcess)]
    pub isolation: Isolation,

    /// The `stratus-plugin-host` binary (default: beside this server's
    /// binary).
    #[arg(long, env = "STRATUS_PLUGIN_HOST")]
    pub plugin_host: Option<PathBuf>,

    /// The cap on each plugin host process's address space, in MiB (0: no
    /// cap); a host that needs more fails its allocation, dies and restarts.
    #[arg(long, env = "STRATUS_PLUGIN_MEMORY_LIMIT", default_value_t = 4096)]
    pub plugin_memory_limit: u64,

    /// Calls one plugin host process runs at once (default: one per core).
    #[arg(long, env = "STRATUS_PLUGIN_HOST_THREADS", default_value_t = PoolConfig::default().threads)]
    pub plugin_host_threads: usize,

    /// Threads that run model calls (default: one per core).
    #[arg(long, env = "STRATUS_MODEL_THREADS", default_value_t = PoolConfig::default().threads)]
    pub model_threads: usize,

    /// Most model calls waiting for a model thread; more are refused with
    /// RESOURCE_EXHAUSTED and a retry delay.
    #[arg(long, env = "STRATUS_MAX_QUEUED_CALLS", default_value_t = PoolConfig::default().max_queued)]
    pub max_queued_calls: usize,

    /// How long every model thread must have been on one call, with calls
    /// waiting, before the pool adds a thread, in milliseconds.
    #[arg(long, env = "STRATUS_STALL_AFTER_MS", value_parser = clap::value_parser!(u64).range(1..=3_600_000), default_value_t = PoolConfig::default().stall_after.as_millis() as u64)]
    pub stall_after_ms: u64,

    /// Most model threads added while every model thread is stalled.
    #[arg(long, env = "STRATUS_MAX_STALL_THREADS", default_value_t = PoolConfig::default().max_stall_threads)]
    pub max_stall_threads: usize,

    /// Token admin calls (ReloadModels) must present as `authorization:
    /// Bearer <token>`. Prefer --admin-token-file or the environment
    /// variable: a command line is visible to every user of the machine.
    #[arg(
        long,
        env = "STRATUS_ADMIN_TOKEN",
        hide_env_values = true,
        conflicts_with = "admin_token_file"
    )]
    pub admin_token: Option<String>,

    /// File holding the admin token (surrounding whitespace ignored).
    #[arg(long, env = "STRATUS_ADMIN_TOKEN_FILE", value_name = "FILE")]
    pub admin_token_file: Option<PathBuf>,

    /// Accept admin calls without a token from callers on loopback (this
    /// machine) only.
    #[arg(long, env = "STRATUS_ALLOW_UNAUTHENTICATED_ADMIN")]
    pub allow_unauthenticated_admin: bool,

    /// PEM certificate chain: serve TLS only (needs --tls-key).
    #[arg(
        long,
        env = "STRATUS_TLS_CERT",
        value_name = "FILE",
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key of --tls-cert.
    #[arg(
        long,
        env = "STRATUS_TLS_KEY",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,

    /// PEM CA certificate(s): also require and verify a client certificate
    /// signed by one of them (mutual TLS). Needs --tls-cert.
    #[arg(
        long,
        env = "STRATUS_TLS_CLIENT_CA",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    pub tls_client_ca: Option<PathBuf>,

    /// After SIGTERM/Ctrl-C, how long in-flight calls may take to finish
    /// before the server exits anyway, in seconds. A second signal exits at
    /// once.
    #[arg(long, env = "STRATUS_DRAIN_TIMEOUT", value_parser = clap::value_parser!(u64).range(0..=86_400), default_value_t = 10)]
    pub drain_timeout: u64,

    /// Do not watch the plugin folder; reload only on ReloadModels or SIGHUP.
    #[arg(long, env = "STRATUS_NO_WATCH")]
    pub no_watch: bool,

    /// Largest gRPC message accepted or sent, in bytes (every service, both
    /// directions).
    /// The default fits a 100,000-point monthly series.
    #[arg(long, env = "STRATUS_MAX_MESSAGE_BYTES", default_value_t = 2 * 1024 * 1024)]
    pub max_message_bytes: usize,

    /// Memory decoded requests may hold at once, across all calls, in MiB.
    /// Each message is charged 32 times its size on the wire (the worst
    /// expansion of decoding); one that does not fit is refused with
    /// RESOURCE_EXHAUSTED and a retry delay before it is buffered.
    #[arg(long, env = "STRATUS_REQUEST_MEMORY_MIB", default_value_t = 96)]
    pub request_memory_mib: usize,

    /// How long a request message may take to arrive whole once started
    /// (and a call's first message once the call opens; a unary request,
    /// end of stream included), in milliseconds.
    #[arg(
        long,
        env = "STRATUS_MESSAGE_READ_TIMEOUT_MS",
        value_parser = clap::value_parser!(u64).range(1..=3_600_000),
        default_value_t = 10_000
    )]
    pub message_read_timeout_ms: u64,

    /// The slowest request upload accepted, in KiB per second: a message
    /// gets --message-read-timeout-ms plus its size at this rate.
    #[arg(
        long,
        env = "STRATUS_MIN_REQUEST_RATE_KIB",
        value_parser = clap::value_parser!(u32).range(1..=1_048_576),
        default_value_t = 64
    )]
    pub min_request_rate_kib: u32,

    /// HTTP/2 receive window of a connection, in KiB (each stream gets
    /// half): the most a client can have sent that the server has not yet
    /// read, so unread data is at most --max-connections times this.
    #[arg(
        long,
        env = "STRATUS_CONNECTION_WINDOW_KIB",
        value_parser = clap::value_parser!(u32).range(64..=16_384),
        default_value_t = 256
    )]
    pub connection_window_kib: u32,

    /// Most concurrent calls (HTTP/2 streams) on one connection.
    #[arg(
        long,
        env = "STRATUS_MAX_STREAMS_PER_CONNECTION",
        default_value_t = 100
    )]
    pub max_streams_per_connection: u32,

    /// Most open client connections; further ones are closed at once.
    #[arg(long, env = "STRATUS_MAX_CONNECTIONS", default_value_t = 512)]
    pub max_connections: usize,

    /// How long a new connection may take to send its first bytes: the
    /// HTTP/2 preface, or with TLS the handshake (the preface after it then
    /// falls under --idle-timeout-s), in milliseconds.
    #[arg(long, env = "STRATUS_HEADER_READ_TIMEOUT_MS", value_parser = clap::value_parser!(u64).range(1..=3_600_000), default_value_t = 5_000)]
    pub header_read_timeout_ms: u64,

    /// Close a connection from which nothing (not even a keepalive
    /// acknowledgement) has arrived for this long, in seconds.
    #[arg(long, env = "STRATUS_IDLE_TIMEOUT_S", value_parser = clap::value_parser!(u64).range(1..=2_592_000), default_value_t = 300)]
    pub idle_timeout_s: u64,

    /// Interval of HTTP/2 keepalive pings to each client, in seconds
    /// (0: none).
    #[arg(long, env = "STRATUS_KEEPALIVE_INTERVAL_S", value_parser = clap::value_parser!(u64).range(0..=86_400), default_value_t = 60)]
    pub keepalive_interval_s: u64,

    /// How long a client may take to acknowledge a keepalive ping before
    /// its connection is closed, in seconds.
    #[arg(long, env = "STRATUS_KEEPALIVE_TIMEOUT_S", value_parser = clap::value_parser!(u64).range(1..=3_600), default_value_t = 20)]
    pub keepalive_timeout_s: u64,
}

impl Config {
    /// The bounds of the small HTTP listeners (metrics, console).
    pub fn side_limits(&self) -> crate::side_listener::SideLimits {
        crate::side_listener::SideLimits {
            max_connections: self.http_max_connections,
            lifetime: std::time::Duration::from_secs(self.http_connection_lifetime_s.max(1)),
        }
    }

    /// The request-body budget.
    pub fn budget(&self) -> crate::request_budget::BudgetConfig {
        crate::request_budget::BudgetConfig {
            max_message_bytes: self.max_message_bytes,
            request_memory_bytes: self.request_memory_mib.saturating_mul(1024 * 1024),
            message_read_timeout: std::time::Duration::from_millis(self.message_read_timeout_ms),
            min_rate: f64::from(self.min_request_rate_kib) * 1024.0,
        }
    }

    /// What each accepted connection may cost.
    pub fn connection_limits(&self) -> crate::transport::ConnectionLimits {
        crate::transport::ConnectionLimits {
            max_connections: self.max_connections,
            header_read_timeout: std::time::Duration::from_millis(self.header_read_timeout_ms),
            idle_timeout: std::time::Duration::from_secs(self.idle_timeout_s),
        }
    }

    /// How the model-call pool is sized.
    pub fn pool(&self) -> PoolConfig {
        PoolConfig {
            max_queued: self.max_queued_calls,
            stall_after: std::time::Duration::from_millis(self.stall_after_ms),
            max_stall_threads: self.max_stall_threads,
            threads: self.model_threads,
        }
    }

    /// Where libraries run and how plugin host processes start.
    pub fn isolation(&self) -> IsolationPolicy {
        let program = self.plugin_host.clone().unwrap_or_else(|| {
            std::env::current_exe()
                .map(|exe| exe.with_file_name("stratus-plugin-host"))
                .unwrap_or_else(|_| PathBuf::from("stratus-plugin-host"))
        });
        IsolationPolicy {
            default: self.isolation,
            host: HostSpec {
                program,
                memory_limit_mib: self.plugin_memory_limit,
                threads: self.plugin_host_threads,
                max_in_flight: self.max_queued_calls,
                call_timeout: std::time::Duration::from_millis(self.call_timeout_ms),
                runtime: tokio::runtime::Handle::try_current().ok(),
            },
        }
    }

    /// The request limits the flags set.
    pub fn limits(&self) -> Limits {
        Limits {
            max_horizon: self.max_horizon,
            max_observations: self.max_observations,
            max_levels: self.max_levels,
            max_params: self.max_params,
            max_indicators: self.max_indicators,
            max_series: self.max_series,
            max_string_bytes: self.max_string_bytes,
            max_answer_intervals: self.max_answer_intervals,
            max_violations: self.max_violations,
            max_backtest_models: self.max_backtest_models,
            max_backtest_origins: self.max_backtest_origins,
            max_ensemble_members: self.max_ensemble_members,
            max_forecasts_per_call: self.max_forecasts_per_call,
        }
    }
}

/// A sampling ratio: a number from 0 to 1.
fn sample_ratio(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err(format!(
            "expected a ratio from 0 to 1 (e.g. 0.1), got '{text}'"
        )),
    }
}
