//! Server configuration: every flag is also an environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::model_pool::PoolConfig;
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

    /// Most field violations listed in one error (the rest are counted).
    #[arg(long, env = "STRATUS_MAX_VIOLATIONS", default_value_t = Limits::default().max_violations)]
    pub max_violations: usize,

    /// Longest a single model call may take, in milliseconds; a caller's own
    /// gRPC deadline applies when earlier.
    #[arg(long, env = "STRATUS_CALL_TIMEOUT_MS", default_value_t = 30_000)]
    pub call_timeout_ms: u64,

    /// Threads that run model calls (default: one per core).
    #[arg(long, env = "STRATUS_MODEL_THREADS", default_value_t = PoolConfig::default().threads)]
    pub model_threads: usize,

    /// Most model calls waiting for a model thread; more are refused with
    /// RESOURCE_EXHAUSTED and a retry delay.
    #[arg(long, env = "STRATUS_MAX_QUEUED_CALLS", default_value_t = PoolConfig::default().max_queued)]
    pub max_queued_calls: usize,

    /// How long every model thread must have been on one call, with calls
    /// waiting, before the pool adds a thread, in milliseconds.
    #[arg(long, env = "STRATUS_STALL_AFTER_MS", default_value_t = PoolConfig::default().stall_after.as_millis() as u64)]
    pub stall_after_ms: u64,

    /// Most model threads added while every model thread is stalled.
    #[arg(long, env = "STRATUS_MAX_STALL_THREADS", default_value_t = PoolConfig::default().max_stall_threads)]
    pub max_stall_threads: usize,

    /// Token admin calls (ReloadModels) must present as `authorization: Bearer <token>`.
    #[arg(long, env = "STRATUS_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,

    /// Accept admin calls without a token; only allowed when listening on loopback.
    #[arg(long, env = "STRATUS_ALLOW_UNAUTHENTICATED_ADMIN")]
    pub allow_unauthenticated_admin: bool,

    /// Do not watch the plugin folder; reload only on ReloadModels or SIGHUP.
    #[arg(long, env = "STRATUS_NO_WATCH")]
    pub no_watch: bool,

    /// Largest gRPC message accepted or sent, in bytes (every service, both
    /// directions).
    #[arg(long, env = "STRATUS_MAX_MESSAGE_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub max_message_bytes: usize,
}

impl Config {
    /// How the model-call pool is sized.
    pub fn pool(&self) -> PoolConfig {
        PoolConfig {
            max_queued: self.max_queued_calls,
            stall_after: std::time::Duration::from_millis(self.stall_after_ms),
            max_stall_threads: self.max_stall_threads,
            threads: self.model_threads,
        }
    }

    /// The request limits this configuration sets.
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
        }
    }
}
