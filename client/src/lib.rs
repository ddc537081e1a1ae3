//! A thin typed client for Stratus: connect once, one method per RPC.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use stratus_client::{StratusClient, proto};
//!
//! let client = StratusClient::connect("http://127.0.0.1:50051").await?;
//! let forecast = client
//!     .forecast(proto::ForecastRequest {
//!         model: Some(proto::ModelRef { name: "naive".into(), version: String::new() }),
//!         source: Some(proto::forecast_request::Source::Dataset("china-cloud-infra-annual".into())),
//!         horizon: 3,
//!         ..Default::default()
//!     })
//!     .await?;
//! println!("{:?}", forecast.points);
//! # Ok(()) }
//! ```
//!
//! Errors are plain [`tonic::Status`]: match on its code; its message names
//! the field at fault.

pub mod bench;

use futures::Stream;
use stratus_proto::v1::dataset_service_client::DatasetServiceClient;
use stratus_proto::v1::evaluation_service_client::EvaluationServiceClient;
use stratus_proto::v1::forecast_service_client::ForecastServiceClient;
use stratus_proto::v1::model_service_client::ModelServiceClient;
use stratus_proto::v1::risk_service_client::RiskServiceClient;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use tonic::{Status, Streaming};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// The generated API types (`stratus.v1`).
pub use stratus_proto::v1 as proto;
pub use tonic::{Code, Status as RpcStatus};

/// The default server address.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:50051";

/// Why a connection could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The address is not a valid URL.
    #[error("'{url}' is not a valid server URL (expected e.g. {DEFAULT_SERVER}): {source}")]
    InvalidUrl {
        /// What was given.
        url: String,
        /// The parse error.
        source: tonic::transport::Error,
    },
    /// The TLS settings are unusable (a certificate or key that does not
    /// parse, or that rustls refuses).
    #[error(
        "cannot use the TLS settings for {url}: {source}; check the --ca, --cert and --key files (PEM, X.509 v3)"
    )]
    Tls {
        /// The server.
        url: String,
        /// What tonic/rustls said.
        source: tonic::transport::Error,
    },
    /// TLS files were given for a plaintext URL.
    #[error("--ca, --cert and --key apply to https:// servers; {url} is plaintext (use https://)")]
    TlsForPlaintext {
        /// The URL.
        url: String,
    },
    /// A TLS file could not be read.
    #[error("cannot read {what} {path}: {source}")]
    TlsFile {
        /// Which file (`--ca`, `--cert`, `--key`).
        what: &'static str,
        /// Its path.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// Nothing answered there.
    #[error("cannot connect to {url}: {source}; is stratus-server running there?")]
    Unreachable {
        /// Where we tried.
        url: String,
        /// The transport error.
        source: tonic::transport::Error,
    },
}

/// TLS settings for `https://` servers: the CA to trust (default: the public
/// web PKI roots) and, for servers that demand one (mutual TLS), a client
/// certificate and key. All PEM.
#[derive(Clone, Default)]
pub struct TlsOptions {
    /// PEM CA certificate(s) to trust instead of the public roots.
    pub ca: Option<Vec<u8>>,
    /// PEM client certificate and its key.
    pub identity: Option<(Vec<u8>, Vec<u8>)>,
}

impl std::fmt::Debug for TlsOptions {
    // Never print the private key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsOptions")
            .field("ca", &self.ca.as_ref().map(|_| "<pem>"))
            .field("identity", &self.identity.as_ref().map(|_| "<pem, key>"))
            .finish()
    }
}

impl TlsOptions {
    /// Whether any TLS file was given.
    pub fn is_set(&self) -> bool {
        self.ca.is_some() || self.identity.is_some()
    }

    /// Reads the PEM files named (any may be absent).
    pub fn from_files(
        ca: Option<&std::path::Path>,
        cert: Option<&std::path::Path>,
        key: Option<&std::path::Path>,
    ) -> Result<Self, ConnectError> {
        let read = |what: &'static str, path: &std::path::Path| {
            std::fs::read(path).map_err(|source| ConnectError::TlsFile {
                what,
                path: path.display().to_string(),
                source,
            })
        };
        let ca = ca.map(|p| read("--ca", p)).transpose()?;
        let identity = match (cert, key) {
            (Some(cert), Some(key)) => Some((read("--cert", cert)?, read("--key", key)?)),
            _ => None,
        };
        Ok(Self { ca, identity })
    }

    fn config(&self) -> ClientTlsConfig {
        let mut config = ClientTlsConfig::new();
        config = match &self.ca {
            Some(ca) => config.ca_certificate(Certificate::from_pem(ca)),
            None => config.with_webpki_roots(),
        };
        if let Some((cert, key)) = &self.identity {
            config = config.identity(Identity::from_pem(cert, key));
        }
        config
    }
}

/// One connection to a Stratus server, shared by all services. Cheap to clone.
#[derive(Debug, Clone)]
pub struct StratusClient {
    channel: Channel,
}

impl StratusClient {
    /// Connects to `url` (e.g. `http://127.0.0.1:50051`; `https://` uses
    /// TLS with the public roots).
    pub async fn connect(url: impl Into<String>) -> Result<Self, ConnectError> {
        Self::connect_with(url, &TlsOptions::default()).await
    }

    /// Connects to `url`; an `https://` URL uses TLS with `tls`.
    pub async fn connect_with(
        url: impl Into<String>,
        tls: &TlsOptions,
    ) -> Result<Self, ConnectError> {
        let url = url.into();
        let invalid = |source| ConnectError::InvalidUrl {
            url: url.clone(),
            source,
        };
        let mut endpoint = Endpoint::from_shared(url.clone()).map_err(invalid)?;
        let https = url
            .get(..8)
            .is_some_and(|s| s.eq_ignore_ascii_case("https://"));
        if tls.is_set() && !https {
            return Err(ConnectError::TlsForPlaintext { url });
        }
        if https {
            endpoint = endpoint
                .tls_config(tls.config())
                .map_err(|source| ConnectError::Tls {
                    url: url.clone(),
                    source,
                })?;
        }
        let channel = endpoint
            .connect()
            .await
            .map_err(|source| ConnectError::Unreachable { url, source })?;
        Ok(Self { channel })
    }

    /// The underlying channel, for calls that need per-request settings
    /// (deadlines, metadata) through the generated clients in [`proto`].
    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    /// Wraps an existing channel (custom TLS, timeouts, balancing).
    pub fn from_channel(channel: Channel) -> Self {
        Self { channel }
    }

    /// `ForecastService.Forecast`.
    pub async fn forecast(
        &self,
        request: proto::ForecastRequest,
    ) -> Result<proto::ForecastResponse, Status> {
        let mut client = ForecastServiceClient::new(self.channel.clone());
        Ok(client.forecast(request).await?.into_inner())
    }

    /// `ForecastService.ForecastStream`: responses arrive in request order.
    pub async fn forecast_stream(
        &self,
        requests: impl Stream<Item = proto::ForecastRequest> + Send + 'static,
    ) -> Result<Streaming<proto::ForecastResponse>, Status> {
        let mut client = ForecastServiceClient::new(self.channel.clone());
        Ok(client.forecast_stream(requests).await?.into_inner())
    }

    /// `EvaluationService.Backtest`: rolling-origin scores of one or more
    /// models on one series.
    pub async fn backtest(
        &self,
        request: proto::BacktestRequest,
    ) -> Result<proto::BacktestResponse, Status> {
        let mut client = EvaluationServiceClient::new(self.channel.clone());
        Ok(client.backtest(request).await?.into_inner())
    }

    /// `EvaluationService.BacktestStream`: responses arrive in request order.
    pub async fn backtest_stream(
        &self,
        requests: impl Stream<Item = proto::BacktestRequest> + Send + 'static,
    ) -> Result<Streaming<proto::BacktestResponse>, Status> {
        let mut client = EvaluationServiceClient::new(self.channel.clone());
        Ok(client.backtest_stream(requests).await?.into_inner())
    }

    /// `RiskService.ScoreRisk`.
    pub async fn score_risk(
        &self,
        request: proto::RiskRequest,
    ) -> Result<proto::RiskResponse, Status> {
        let mut client = RiskServiceClient::new(self.channel.clone());
        Ok(client.score_risk(request).await?.into_inner())
    }

    /// `ModelService.ListModels`.
    pub async fn list_models(&self) -> Result<Vec<proto::ModelInfo>, Status> {
        let mut client = ModelServiceClient::new(self.channel.clone());
        Ok(client
            .list_models(proto::ListModelsRequest {})
            .await?
            .into_inner()
            .models)
    }

    /// `ModelService.GetModel`; an empty version means the newest.
    pub async fn get_model(&self, name: &str, version: &str) -> Result<proto::ModelInfo, Status> {
        let mut client = ModelServiceClient::new(self.channel.clone());
        let model = Some(proto::ModelRef {
            name: name.to_owned(),
            version: version.to_owned(),
        });
        Ok(client
            .get_model(proto::GetModelRequest { model })
            .await?
            .into_inner())
    }

    /// `ModelService.ReloadModels`, an admin call: `admin_token` is sent as
    /// `authorization: Bearer <token>` (none: for servers that allow
    /// unauthenticated admin calls on loopback).
    pub async fn reload_models(
        &self,
        admin_token: Option<&str>,
    ) -> Result<Vec<proto::ModelInfo>, Status> {
        let mut client = ModelServiceClient::new(self.channel.clone());
        let mut request = tonic::Request::new(proto::ReloadModelsRequest {});
        if let Some(token) = admin_token {
            let value = format!("Bearer {token}")
                .parse()
                .map_err(|_| Status::invalid_argument("the admin token must be printable ASCII"))?;
            request.metadata_mut().insert("authorization", value);
        }
        Ok(client.reload_models(request).await?.into_inner().models)
    }

    /// `DatasetService.ListDatasets` (observations left out).
    pub async fn list_datasets(&self) -> Result<Vec<proto::Dataset>, Status> {
        let mut client = DatasetServiceClient::new(self.channel.clone());
        Ok(client
            .list_datasets(proto::ListDatasetsRequest {})
            .await?
            .into_inner()
            .datasets)
    }

    /// `DatasetService.GetDataset`.
    pub async fn get_dataset(&self, name: &str) -> Result<proto::Dataset, Status> {
        let mut client = DatasetServiceClient::new(self.channel.clone());
        let request = proto::GetDatasetRequest {
            name: name.to_owned(),
        };
        Ok(client.get_dataset(request).await?.into_inner())
    }

    /// `grpc.health.v1.Health.Check` for `service` (empty: the whole server).
    pub async fn health(&self, service: &str) -> Result<ServingStatus, Status> {
        let mut client = HealthClient::new(self.channel.clone());
        let request = tonic_health::pb::HealthCheckRequest {
            service: service.to_owned(),
        };
        let status = client.check(request).await?.into_inner().status;
        Ok(ServingStatus::try_from(status).unwrap_or(ServingStatus::Unknown))
    }
}
