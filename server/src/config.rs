//! Server configuration: every flag is also an environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;

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

    /// Longest a single model call may take, in milliseconds; a caller's own
    /// gRPC deadline applies when earlier.
    #[arg(long, env = "STRATUS_CALL_TIMEOUT_MS", default_value_t = 30_000)]
    pub call_timeout_ms: u64,

    /// Token admin calls (ReloadModels) must present as `authorization: Bearer <token>`.
    #[arg(long, env = "STRATUS_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,

    /// Accept admin calls without a token; only allowed when listening on loopback.
    #[arg(long, env = "STRATUS_ALLOW_UNAUTHENTICATED_ADMIN")]
    pub allow_unauthenticated_admin: bool,

    /// Do not watch the plugin folder; reload only on ReloadModels or SIGHUP.
    #[arg(long, env = "STRATUS_NO_WATCH")]
    pub no_watch: bool,

    /// Largest request message accepted, in bytes.
    #[arg(long, env = "STRATUS_MAX_MESSAGE_BYTES", default_value_t = 16 * 1024 * 1024)]
    pub max_message_bytes: usize,
}

impl Config {
    /// The request limits this configuration sets.
    pub fn limits(&self) -> Limits {
        Limits {
            max_horizon: self.max_horizon,
            max_observations: self.max_observations,
        }
    }
}
