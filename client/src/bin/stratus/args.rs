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
    /// Server URL (`https://` for a TLS server), or a comma-separated list
    /// of replicas; a host name that resolves to several addresses (a
    /// headless Service) means all of them. Calls are spread over the
    /// replicas and fail over between them; `models`, `health` and `reload`
    /// ask each one.
    #[arg(long, global = true, env = "STRATUS_SERVER", default_value = DEFAULT_SERVER)]
    pub server: String,

    /// Give each call (all its attempts on all replicas) at most this many
    /// seconds.
    #[arg(long, global = true, env = "STRATUS_TIMEOUT", value_name = "SECONDS", value_parser = positive_seconds)]
    pub timeout: Option<f64>,

    /// PEM CA certificate to trust for an https:// server (default: the
    /// public web PKI roots).
    #[arg(long, global = true, env = "STRATUS_CA", value_name = "FILE")]
    pub ca: Option<PathBuf>,

    /// PEM client certificate, for servers that require one (mutual TLS).
    #[arg(
        long,
        global = true,
        env = "STRATUS_CERT",
        value_name = "FILE",
        requires = "key"
    )]
    pub cert: Option<PathBuf>,

    /// PEM key of --cert.
    #[arg(
        long,
        global = true,
        env = "STRATUS_KEY",
        value_name = "FILE",
        requires = "cert"
    )]
    pub key: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print shell completions (needs no server), e.g.
    /// `stratus completions bash > /etc/bash_completion.d/stratus`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
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
    /// Forecast a dataset or a CSV file; or, with --input, many series from
    /// one CSV file to another.
    Forecast(ForecastArgs),
    /// Forecast one series with several models side by side, and rank them
    /// by a backtest on the series when it is long enough.
    Compare(CompareArgs),
    /// Score models by rolling-origin backtest (sMAPE, MASE, OWA against
    /// Naive2, interval coverage), ranked by OWA.
    Backtest(BacktestArgs),
    /// Load-test the server (loopback or your own servers only).
    Bench(BenchArgs),
    /// Score risk from indicators.
    Risk(RiskArgs),
}

#[derive(Debug, Args)]
pub struct ForecastArgs {
    /// Model name (see `stratus models`); repeat for an ensemble of models.
    #[arg(long = "model", required = true)]
    pub models: Vec<String>,
    /// Model version; default the newest loaded (one model only).
    #[arg(long, default_value = "")]
    pub version: String,
    /// Combine several `--model`s: mean, median, or weighted (by their
    /// backtest accuracy on this series). Default mean.
    #[arg(long, value_enum)]
    pub combine: Option<Combine>,
    /// A dataset the server holds (see `stratus datasets`).
    #[arg(
        long,
        conflicts_with_all = ["csv", "input"],
        required_unless_present_any = ["csv", "input"]
    )]
    pub dataset: Option<String>,
    /// A CSV file with `period,value` columns (periods 2024, 2024-Q3 or 2024-07).
    #[arg(long, conflicts_with = "input")]
    pub csv: Option<PathBuf>,
    /// Many series: a CSV file with `series_id,period,value` columns (rows of
    /// a series may be interleaved with others'; `-` reads standard input).
    /// Each series is forecast over ForecastStream and written to --output.
    #[arg(long, value_name = "FILE", requires = "output", conflicts_with_all = ["json", "plot"])]
    pub input: Option<PathBuf>,
    /// With --input: where the forecasts go, as CSV
    /// `series_id,period,mean,lo_80,hi_80,lo_95,hi_95` (a lo/hi pair per
    /// level); `-` writes to standard output.
    #[arg(long, value_name = "FILE", requires = "input")]
    pub output: Option<PathBuf>,
    /// With --input: where the series that could not be forecast go, as CSV
    /// `series_id,reason` (default: listed on standard error).
    #[arg(long, value_name = "FILE", requires = "input")]
    pub errors: Option<PathBuf>,
    /// Also draw a fan chart (history, mean, a band per level, scenarios)
    /// to this file: `.svg` or `.png`.
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Periods to forecast.
    #[arg(long)]
    pub horizon: u32,
    /// Interval coverage in percent; repeat for several (default 80 and 95).
    #[arg(long = "level")]
    pub levels: Vec<f64>,
    /// A model parameter, `name=value`; repeatable.
    #[arg(long = "param", value_parser = input::key_value)]
    pub params: Vec<(String, f64)>,
    /// Where intervals come from: the model's own, or conformal
    /// (calibrated by the server from the model's errors on this history).
    #[arg(long, value_enum, default_value = "model")]
    pub intervals: Intervals,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `--combine`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Combine {
    /// The members' mean, point by point.
    Mean,
    /// Their median.
    Median,
    /// Their mean weighted by backtest accuracy on the series.
    Weighted,
}

impl Combine {
    fn to_api(self) -> i32 {
        match self {
            Self::Mean => proto::Combination::Mean as i32,
            Self::Median => proto::Combination::Median as i32,
            Self::Weighted => proto::Combination::BacktestWeighted as i32,
        }
    }
}

/// An ensemble from model names (each `name` or `name@version`).
fn ensemble(names: &[String], combine: Option<Combine>) -> proto::Ensemble {
    proto::Ensemble {
        members: names.iter().map(|n| model_ref(n)).collect(),
        combination: combine.unwrap_or(Combine::Mean).to_api(),
    }
}

/// `name` or `name@version`.
fn model_ref(name: &str) -> proto::ModelRef {
    let (name, version) = name.split_once('@').unwrap_or((name, ""));
    proto::ModelRef {
        name: name.to_owned(),
        version: version.to_owned(),
    }
}

/// `--intervals`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Intervals {
    /// The model's own intervals.
    Model,
    /// Conformal intervals from rolling-origin errors.
    Conformal,
}

impl Intervals {
    fn to_api(self) -> i32 {
        match self {
            Self::Model => proto::IntervalMethod::Model as i32,
            Self::Conformal => proto::IntervalMethod::Conformal as i32,
        }
    }
}

impl ForecastArgs {
    pub fn into_request(self) -> anyhow::Result<proto::ForecastRequest> {
        // clap lets these through beside --dataset (which excludes --input).
        if self.output.is_some() || self.errors.is_some() {
            anyhow::bail!(
                "--output and --errors go with --input FILE (many series); one series' forecast is printed"
            );
        }
        let source = match (&self.dataset, &self.csv) {
            (Some(name), _) => proto::forecast_request::Source::Dataset(name.clone()),
            (None, Some(path)) => proto::forecast_request::Source::Series(input::read_csv(path)?),
            (None, None) => anyhow::bail!("give --dataset NAME or --csv FILE"),
        };
        let mut request = self.template();
        request.source = Some(source);
        Ok(request)
    }

    /// The request without a source: what every series of a bulk run
    /// shares (model or ensemble, horizon, levels, params, intervals).
    pub fn template(&self) -> proto::ForecastRequest {
        let several = self.models.len() > 1 || self.combine.is_some();
        let (model, ensemble) = if several {
            (None, Some(ensemble(&self.models, self.combine)))
        } else {
            // `name@version` works here too; --version applies when the
            // name carries none.
            let mut model = model_ref(self.models.first().map_or("", String::as_str));
            if model.version.is_empty() {
                model.version.clone_from(&self.version);
            }
            (Some(model), None)
        };
        proto::ForecastRequest {
            model,
            source: None,
            horizon: self.horizon,
            levels: self.levels.clone(),
            params: self.params.iter().cloned().collect(),
            request_id: String::new(),
            interval_method: self.intervals.to_api(),
            ensemble,
        }
    }
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// A model to compare, `name` or `name@version`; repeat (two or more).
    #[arg(long = "model", required = true, value_name = "NAME[@VERSION]")]
    pub models: Vec<String>,
    /// A dataset the server holds (see `stratus datasets`).
    #[arg(long, conflicts_with = "csv", required_unless_present = "csv")]
    pub dataset: Option<String>,
    /// A CSV file with `period,value` columns.
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// Periods to forecast (default: a year of periods and at least 3: 3
    /// annual, 4 quarterly, 12 monthly). The backtest uses it too, shortened
    /// if the series is short.
    #[arg(long)]
    pub horizon: Option<u32>,
    /// Interval coverage in percent; repeat for several (default 80 and 95).
    /// The table and chart show the widest.
    #[arg(long = "level")]
    pub levels: Vec<f64>,
    /// A model parameter, `name=value`, given to the models that declare it.
    #[arg(long = "param", value_parser = input::key_value)]
    pub params: Vec<(String, f64)>,
    /// Where intervals come from: each model's own, or conformal.
    #[arg(long, value_enum, default_value = "model")]
    pub intervals: Intervals,
    /// Also draw the forecasts over the history (each model's mean and
    /// widest interval) to this file: `.svg` or `.png`.
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Print JSON (the forecasts and the backtest) instead of tables.
    #[arg(long)]
    pub json: bool,
}

impl CompareArgs {
    /// The models as API references.
    pub fn model_refs(&self) -> Vec<proto::ModelRef> {
        self.models.iter().map(|m| model_ref(m)).collect()
    }

    /// The interval method, as the API numbers it.
    pub fn interval_method(&self) -> i32 {
        self.intervals.to_api()
    }
}

#[derive(Debug, Args)]
pub struct BacktestArgs {
    /// A model to score, `name` or `name@version`; repeat for several.
    #[arg(
        long = "model",
        required_unless_present = "ensembles",
        value_name = "NAME[@VERSION]"
    )]
    pub models: Vec<String>,
    /// A dataset the server holds (see `stratus datasets`).
    #[arg(long, conflicts_with = "csv", required_unless_present = "csv")]
    pub dataset: Option<String>,
    /// A CSV file with `period,value` columns.
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// Periods forecast from each origin.
    #[arg(long)]
    pub horizon: u32,
    /// Forecast origins (the last one forecasts the final `horizon` periods).
    #[arg(long, default_value_t = 3)]
    pub origins: u32,
    /// Periods between origins.
    #[arg(long, default_value_t = 1)]
    pub step: u32,
    /// Interval coverage in percent to score; repeat for several (default
    /// 80 and 95).
    #[arg(long = "level")]
    pub levels: Vec<f64>,
    /// A model parameter, `name=value`, given to the models that declare it.
    #[arg(long = "param", value_parser = input::key_value)]
    pub params: Vec<(String, f64)>,
    /// The intervals to score: the models' own, or conformal.
    #[arg(long, value_enum, default_value = "model")]
    pub intervals: Intervals,
    /// An ensemble to score beside the models: `COMBINATION:NAME,NAME,...`
    /// with COMBINATION mean, median or weighted; repeatable.
    #[arg(long = "ensemble", value_name = "COMBINATION:MODELS")]
    pub ensembles: Vec<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

impl BacktestArgs {
    pub fn into_request(self) -> anyhow::Result<proto::BacktestRequest> {
        let source = match (self.dataset, self.csv) {
            (Some(name), _) => proto::backtest_request::Source::Dataset(name),
            (None, Some(path)) => proto::backtest_request::Source::Series(input::read_csv(&path)?),
            (None, None) => anyhow::bail!("give --dataset NAME or --csv FILE"),
        };
        let models = self.models.iter().map(|m| model_ref(m)).collect();
        let ensembles = self
            .ensembles
            .iter()
            .map(|spec| {
                let (combination, names) = spec.split_once(':').ok_or_else(|| {
                    anyhow::anyhow!(
                        "--ensemble {spec}: write COMBINATION:MODEL,MODEL (e.g. mean:naive,canalys)"
                    )
                })?;
                let combine = match combination {
                    "mean" => Combine::Mean,
                    "median" => Combine::Median,
                    "weighted" => Combine::Weighted,
                    other => anyhow::bail!(
                        "--ensemble {spec}: '{other}' is not mean, median or weighted"
                    ),
                };
                let names: Vec<String> = names.split(',').map(str::to_owned).collect();
                Ok(ensemble(&names, Some(combine)))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(proto::BacktestRequest {
            models,
            source: Some(source),
            horizon: self.horizon,
            origins: self.origins,
            step: self.step,
            levels: self.levels,
            params: self.params.into_iter().collect(),
            request_id: String::new(),
            interval_method: self.intervals.to_api(),
            ensembles,
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
    /// Also draw the factors' contributions as a waterfall up to the score
    /// to this file: `.svg` or `.png`.
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
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

/// Which RPC `stratus bench` drives.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum BenchRpc {
    /// grpc.health.v1.Health/Check: the server's own floor.
    Health,
    /// ForecastService/Forecast, one series per call.
    Forecast,
    /// ForecastService/ForecastStream, `--stream-size` series per call.
    ForecastStream,
    /// RiskService/ScoreRisk.
    Risk,
    /// EvaluationService/BacktestStream, `--stream-size` series per call,
    /// `--origins` origins each.
    BacktestStream,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// The RPC to drive.
    #[arg(long, value_enum, default_value = "forecast")]
    pub rpc: BenchRpc,
    /// Model for forecast and risk calls.
    #[arg(long, default_value = "naive")]
    pub model: String,
    /// Forecast this dataset instead of a synthetic annual series.
    #[arg(long)]
    pub dataset: Option<String>,
    /// Length of the synthetic annual series.
    #[arg(long, default_value_t = 20)]
    pub points: usize,
    /// Forecast horizon.
    #[arg(long, default_value_t = 6)]
    pub horizon: u32,
    /// Indicators for risk calls, `name=value`; repeatable.
    #[arg(long = "indicator", value_parser = input::key_value)]
    pub indicators: Vec<(String, f64)>,
    /// Concurrent callers (each waits for its answer before the next call).
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// HTTP/2 connections the callers share (calls go round-robin), as a
    /// service's client pool would; the server works each connection's
    /// framing on one thread.
    #[arg(long, default_value_t = 4)]
    pub connections: usize,
    /// Seconds to run (per RPC measured).
    #[arg(long, default_value_t = 10.0, value_parser = positive_seconds)]
    pub duration: f64,
    /// Stop after this many calls in all.
    #[arg(long)]
    pub requests: Option<u64>,
    /// Series per ForecastStream call.
    #[arg(long, default_value_t = 1000)]
    pub stream_size: u64,
    /// Forecast origins per series for `--rpc backtest-stream`.
    #[arg(long, default_value_t = 3)]
    pub origins: u32,
    /// Measure the health RPC first, in the same run, and print the ratio.
    #[arg(long)]
    pub compare_health: bool,
    /// The server's process id, to report its resident memory (same machine).
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Write the request this run would send, gRPC-framed, to a file and exit
    /// (a body for an independent load generator such as `h2load -d FILE`).
    #[arg(long, value_name = "FILE")]
    pub write_body: Option<std::path::PathBuf>,
}

/// A number of seconds above zero and below a year (what `Duration` takes).
fn positive_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if s > 0.0 && s < 3.2e7 => Ok(s),
        _ => Err(format!("expected seconds above 0 (e.g. 2.5), got '{text}'")),
    }
}
