//! Command-line arguments, and turning them into requests.

use std::collections::HashMap;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use stratus_client::{DEFAULT_SERVER, proto};

use crate::input;

/// Talk to a Stratus server: list models and datasets, forecast, score risk.
#[derive(Debug, Parser)]
#[command(name = "stratus", version)]
pub struct Cli {
    /// Server URL.
    #[arg(long, global = true, env = "STRATUS_SERVER", default_value = DEFAULT_SERVER)]
    pub server: String,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List loaded models (and refused libraries).
    Models {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// List the datasets the server holds.
    Datasets {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Check the server's health (SERVING, NOT_SERVING).
    Health {
        /// A service name, e.g. stratus.v1.ForecastService; empty for the server.
        #[arg(long, default_value = "")]
        service: String,
    },
    /// Rescan the server's plugin folder now (an admin call).
    Reload {
        /// The server's admin token.
        #[arg(long, env = "STRATUS_ADMIN_TOKEN", hide_env_values = true)]
        admin_token: Option<String>,
    },
    /// Forecast a dataset or a CSV file.
    Forecast(ForecastArgs),
    /// Score risk from indicators.
    Risk(RiskArgs),
}

#[derive(Debug, Args)]
pub struct ForecastArgs {
    /// Model name (see `stratus models`).
    #[arg(long)]
    pub model: String,
    /// Model version; default the newest loaded.
    #[arg(long, default_value = "")]
    pub version: String,
    /// A dataset the server holds (see `stratus datasets`).
    #[arg(long, conflicts_with = "csv", required_unless_present = "csv")]
    pub dataset: Option<String>,
    /// A CSV file with `period,value` columns (periods 2024, 2024-Q3 or 2024-07).
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// Periods to forecast.
    #[arg(long)]
    pub horizon: u32,
    /// Interval coverage in percent; repeat for several (default 80 and 95).
    #[arg(long = "level")]
    pub levels: Vec<f64>,
    /// A model parameter, `name=value`; repeatable.
    #[arg(long = "param", value_parser = input::key_value)]
    pub params: Vec<(String, f64)>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

impl ForecastArgs {
    pub fn into_request(self) -> anyhow::Result<proto::ForecastRequest> {
        let source = match (self.dataset, self.csv) {
            (Some(name), _) => proto::forecast_request::Source::Dataset(name),
            (None, Some(path)) => proto::forecast_request::Source::Series(input::read_csv(&path)?),
            (None, None) => anyhow::bail!("give --dataset NAME or --csv FILE"),
        };
        Ok(proto::ForecastRequest {
            model: Some(proto::ModelRef {
                name: self.model,
                version: self.version,
            }),
            source: Some(source),
            horizon: self.horizon,
            levels: self.levels,
            params: self.params.into_iter().collect(),
            request_id: String::new(),
        })
    }
}

#[derive(Debug, Args)]
pub struct RiskArgs {
    /// Model name (see `stratus models`).
    #[arg(long)]
    pub model: String,
    /// Model version; default the newest loaded.
    #[arg(long, default_value = "")]
    pub version: String,
    /// What is being scored, echoed in the answer.
    #[arg(long, default_value = "")]
    pub subject: String,
    /// An indicator, `name=value`; repeatable.
    #[arg(long = "indicator", value_parser = input::key_value)]
    pub indicators: Vec<(String, f64)>,
    /// A model parameter, `name=value`; repeatable.
    #[arg(long = "param", value_parser = input::key_value)]
    pub params: Vec<(String, f64)>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

impl RiskArgs {
    pub fn into_request(self) -> anyhow::Result<proto::RiskRequest> {
        Ok(proto::RiskRequest {
            model: Some(proto::ModelRef {
                name: self.model,
                version: self.version,
            }),
            subject: self.subject,
            indicators: self.indicators.into_iter().collect::<HashMap<_, _>>(),
            params: self.params.into_iter().collect(),
            ..Default::default()
        })
    }
}
