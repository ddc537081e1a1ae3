//! A thin typed client for Stratus: connect once, one method per RPC, over
//! one server or many replicas.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use stratus_client::{StratusClient, proto};
//!
//! // One server, a comma-separated list, or a name that resolves to several
//! // addresses (a Kubernetes headless Service): calls are spread over them,
//! // and a call whose replica is down or draining goes to another.
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
//! the field at fault. Every RPC but `ReloadModels` is idempotent, so the
//! client retries them on another endpoint when the server cannot have
//! answered (see [`RetryPolicy`]); the streams resend their unanswered
//! requests.

pub mod bench;
mod cluster;
mod error;
mod resume;
mod retry;
mod target;
mod tls;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::Stream;
use futures::stream::{FuturesUnordered, StreamExt};
use stratus_proto::v1::dataset_service_client::DatasetServiceClient;
use stratus_proto::v1::evaluation_service_client::EvaluationServiceClient;
use stratus_proto::v1::forecast_service_client::ForecastServiceClient;
use stratus_proto::v1::model_service_client::ModelServiceClient;
use stratus_proto::v1::risk_service_client::RiskServiceClient;
use tonic::Status;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

pub use cluster::EndpointStats;
use cluster::{Backend, Cluster};
pub use error::ConnectError;
pub use resume::ResponseStream;
use retry::Retrier;
pub use retry::RetryPolicy;
use target::Target;
pub use tls::TlsOptions;

/// The generated API types (`stratus.v1`).
pub use stratus_proto::v1 as proto;
pub use tonic::{Code, Status as RpcStatus};

/// The default server address.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:50051";

/// How long to wait for a TCP (and TLS) connection to one endpoint.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How often a connection with calls in flight is pinged (the server's own
/// keepalive is 60 s; pinging more often than that could be refused).
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(30);
/// How long a ping may go unanswered before the connection is dropped.
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(20);

/// How often host names in the server list are resolved again, so replicas
/// added behind a name are used and removed ones dropped.
const RESOLVE_EVERY: Duration = Duration::from_secs(30);

/// How many retries a client has made, for reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetryStats {
    /// Calls (or streams) sent again to another endpoint.
    pub retried: u64,
    /// Retries not made because the retry budget was spent (the call failed).
    pub refused_by_budget: u64,
}

/// A client of one Stratus server or a set of replicas. Cheap to clone;
/// clones share connections, counters and the retry budget.
#[derive(Debug, Clone)]
pub struct StratusClient {
    cluster: Arc<Cluster>,
    retrier: Arc<Retrier>,
    timeout: Option<Duration>,
}

impl StratusClient {
    /// Connects to `servers`: a URL (e.g. `http://127.0.0.1:50051`;
    /// `https://` uses TLS with the public roots), or a comma-separated list
    /// of them.
    pub async fn connect(servers: impl Into<String>) -> Result<Self, ConnectError> {
        Self::connect_with(servers, &TlsOptions::default()).await
    }

    /// Connects to `servers` (see [`connect`](Self::connect)); `https://`
    /// URLs use TLS with `tls`. A host name that resolves to several
    /// addresses becomes one endpoint per address (resolved again every 30
    /// s). Ready as soon as one endpoint connects; the others connect when
    /// first used.
    pub async fn connect_with(
        servers: impl Into<String>,
        tls: &TlsOptions,
    ) -> Result<Self, ConnectError> {
        let spec = servers.into();
        let entries = target::parse(&spec)?;
        if tls.is_set()
            && let Some(plain) = entries.iter().find(|e| !e.https)
        {
            return Err(ConnectError::TlsForPlaintext {
                url: plain.url.clone(),
            });
        }
        let targets = target::resolve(&entries).await;
        let endpoints = targets
            .iter()
            .map(|t| endpoint(t, tls))
            .collect::<Result<Vec<_>, _>>()?;

        // Connect to all at once; ready when the first one answers.
        let mut connecting: FuturesUnordered<_> = endpoints
            .iter()
            .enumerate()
            .map(|(i, endpoint)| async move { (i, endpoint.connect().await) })
            .collect();
        let mut results: Vec<Option<Result<Channel, tonic::transport::Error>>> =
            (0..endpoints.len()).map(|_| None).collect();
        while let Some((i, result)) = connecting.next().await {
            let connected = result.is_ok();
            results[i] = Some(result);
            if connected {
                break;
            }
        }
        drop(connecting);
        if !results.iter().any(|r| matches!(r, Some(Ok(_)))) {
            let first_error = results.into_iter().flatten().find_map(Result::err);
            let url = if targets.len() == 1 {
                targets[0].url.clone()
            } else {
                spec
            };
            return Err(match first_error {
                Some(source) => ConnectError::Unreachable { url, source },
                None => ConnectError::NoServer,
            });
        }
        let backends = targets
            .iter()
            .zip(endpoints)
            .zip(results)
            .map(|((target, endpoint), result)| {
                let (channel, failed) = match result {
                    Some(Ok(channel)) => (channel, false),
                    Some(Err(_)) => (endpoint.connect_lazy(), true),
                    None => (endpoint.connect_lazy(), false),
                };
                let backend = Backend::new(target.url.clone(), channel);
                if failed {
                    backend.failed();
                }
                Arc::new(backend)
            })
            .collect();
        let cluster = Arc::new(Cluster::new(backends));
        if entries.iter().any(target::Entry::is_name) {
            tokio::spawn(follow_dns(Arc::downgrade(&cluster), entries, tls.clone()));
        }
        Ok(Self {
            cluster,
            retrier: Arc::new(Retrier::new(RetryPolicy::default())),
            timeout: None,
        })
    }

    /// Wraps an existing channel (custom TLS, timeouts, balancing): one
    /// endpoint, retried on as the policy says.
    pub fn from_channel(channel: Channel) -> Self {
        let backend = Arc::new(Backend::new("channel".to_owned(), channel));
        Self {
            cluster: Arc::new(Cluster::new(vec![backend])),
            retrier: Arc::new(Retrier::new(RetryPolicy::default())),
            timeout: None,
        }
    }

    /// Gives every call (all its attempts together) at most `timeout`; the
    /// server is told the time left with each attempt.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Retries idempotent calls as `policy` says (the default: up to five
    /// attempts, on a budget of a fifth of recent calls plus ten a second).
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retrier = Arc::new(Retrier::new(policy));
        self
    }

    /// The channel of one endpoint (the one the next call would go to), for
    /// calls that need per-request settings (metadata) through the
    /// generated clients in [`proto`]. Calls made on it are not retried.
    pub fn channel(&self) -> Channel {
        self.cluster.pick(&[]).channel()
    }

    /// What this client has seen of each endpoint: calls, transport
    /// failures, calls in flight.
    pub fn endpoints(&self) -> Vec<EndpointStats> {
        self.cluster.stats()
    }

    /// How many calls were retried on another endpoint.
    pub fn retry_stats(&self) -> RetryStats {
        use std::sync::atomic::Ordering::Relaxed;
        RetryStats {
            retried: self.cluster.retries.load(Relaxed),
            refused_by_budget: self.cluster.retries_refused.load(Relaxed),
        }
    }

    /// One client per endpoint, each bound to that endpoint alone and never
    /// retrying: to ask every replica (do they serve the same models?).
    pub fn each_endpoint(&self) -> Vec<(String, StratusClient)> {
        self.cluster
            .backends()
            .iter()
            .map(|backend| {
                let client = StratusClient {
                    cluster: Arc::new(Cluster::new(vec![Arc::clone(backend)])),
                    retrier: Arc::new(Retrier::new(RetryPolicy::none())),
                    timeout: self.timeout,
                };
                (backend.url.clone(), client)
            })
            .collect()
    }

    fn deadline(&self) -> Option<Instant> {
        // A timeout too long to represent is no deadline at all.
        self.timeout.and_then(|t| Instant::now().checked_add(t))
    }

    /// An idempotent unary call, with failover.
    async fn unary<Req, Resp, F, Fut>(&self, request: Req, call: F) -> Result<Resp, Status>
    where
        Req: Clone,
        F: Fn(Channel, tonic::Request<Req>) -> Fut,
        Fut: std::future::Future<Output = Result<tonic::Response<Resp>, Status>>,
    {
        retry::unary(&self.cluster, &self.retrier, self.deadline(), request, call).await
    }

    /// `ForecastService.Forecast`.
    pub async fn forecast(
        &self,
        request: proto::ForecastRequest,
    ) -> Result<proto::ForecastResponse, Status> {
        self.unary(request, |channel, request| async move {
            ForecastServiceClient::new(channel).forecast(request).await
        })
        .await
    }

    /// `ForecastService.ForecastStream`: answers arrive in request order.
    /// If the endpoint fails mid-stream, the unanswered requests go to
    /// another one: each request is answered once.
    pub async fn forecast_stream(
        &self,
        requests: impl Stream<Item = proto::ForecastRequest> + Send + 'static,
    ) -> Result<ResponseStream<proto::ForecastResponse>, Status> {
        Ok(resume::stream(
            Arc::clone(&self.cluster),
            Arc::clone(&self.retrier),
            self.deadline(),
            requests,
            |channel, requests| async move {
                ForecastServiceClient::new(channel)
                    .forecast_stream(requests)
                    .await
            },
        ))
    }

    /// `EvaluationService.Backtest`: rolling-origin scores of one or more
    /// models on one series.
    pub async fn backtest(
        &self,
        request: proto::BacktestRequest,
    ) -> Result<proto::BacktestResponse, Status> {
        self.unary(request, |channel, request| async move {
            EvaluationServiceClient::new(channel)
                .backtest(request)
                .await
        })
        .await
    }

    /// `EvaluationService.BacktestStream`: answers arrive in request order,
    /// with the same failover as [`forecast_stream`](Self::forecast_stream).
    pub async fn backtest_stream(
        &self,
        requests: impl Stream<Item = proto::BacktestRequest> + Send + 'static,
    ) -> Result<ResponseStream<proto::BacktestResponse>, Status> {
        Ok(resume::stream(
            Arc::clone(&self.cluster),
            Arc::clone(&self.retrier),
            self.deadline(),
            requests,
            |channel, requests| async move {
                EvaluationServiceClient::new(channel)
                    .backtest_stream(requests)
                    .await
            },
        ))
    }

    /// `RiskService.ScoreRisk`.
    pub async fn score_risk(
        &self,
        request: proto::RiskRequest,
    ) -> Result<proto::RiskResponse, Status> {
        self.unary(request, |channel, request| async move {
            RiskServiceClient::new(channel).score_risk(request).await
        })
        .await
    }

    /// `ModelService.ListModels`.
    pub async fn list_models(&self) -> Result<Vec<proto::ModelInfo>, Status> {
        self.unary(proto::ListModelsRequest {}, |channel, request| async move {
            ModelServiceClient::new(channel).list_models(request).await
        })
        .await
        .map(|response| response.models)
    }

    /// `ModelService.GetModel`; an empty version means the newest.
    pub async fn get_model(&self, name: &str, version: &str) -> Result<proto::ModelInfo, Status> {
        let model = Some(proto::ModelRef {
            name: name.to_owned(),
            version: version.to_owned(),
        });
        self.unary(proto::GetModelRequest { model }, |channel, request| async move {
            ModelServiceClient::new(channel).get_model(request).await
        })
        .await
    }

    /// `ModelService.ReloadModels`, an admin call: `admin_token` is sent as
    /// `authorization: Bearer <token>` (none: for servers that allow
    /// unauthenticated admin calls on loopback). It is not idempotent, so it
    /// is sent once, to one endpoint: to reload every replica, call it on
    /// each of [`each_endpoint`](Self::each_endpoint).
    pub async fn reload_models(
        &self,
        admin_token: Option<&str>,
    ) -> Result<Vec<proto::ModelInfo>, Status> {
        let mut request = tonic::Request::new(proto::ReloadModelsRequest {});
        if let Some(token) = admin_token {
            let value = format!("Bearer {token}")
                .parse()
                .map_err(|_| Status::invalid_argument("the admin token must be printable ASCII"))?;
            request.metadata_mut().insert("authorization", value);
        }
        if let Some(timeout) = self.timeout {
            request.set_timeout(timeout);
        }
        let backend = self.cluster.pick(&[]);
        let _in_flight = backend.begin();
        let mut client = ModelServiceClient::new(backend.channel());
        Ok(client.reload_models(request).await?.into_inner().models)
    }

    /// `DatasetService.ListDatasets` (observations left out).
    pub async fn list_datasets(&self) -> Result<Vec<proto::Dataset>, Status> {
        self.unary(
            proto::ListDatasetsRequest {},
            |channel, request| async move {
                DatasetServiceClient::new(channel)
                    .list_datasets(request)
                    .await
            },
        )
        .await
        .map(|response| response.datasets)
    }

    /// `DatasetService.GetDataset`.
    pub async fn get_dataset(&self, name: &str) -> Result<proto::Dataset, Status> {
        let request = proto::GetDatasetRequest {
            name: name.to_owned(),
        };
        self.unary(request, |channel, request| async move {
            DatasetServiceClient::new(channel)
                .get_dataset(request)
                .await
        })
        .await
    }

    /// `grpc.health.v1.Health.Check` for `service` (empty: the whole
    /// server). With several endpoints this asks one that answers; ask each
    /// of [`each_endpoint`](Self::each_endpoint) for every replica's status.
    pub async fn health(&self, service: &str) -> Result<ServingStatus, Status> {
        let request = tonic_health::pb::HealthCheckRequest {
            service: service.to_owned(),
        };
        let response = self
            .unary(request, |channel, request| async move {
                HealthClient::new(channel).check(request).await
            })
            .await?;
        Ok(ServingStatus::try_from(response.status).unwrap_or(ServingStatus::Unknown))
    }
}

/// The endpoint for `target`: TLS for https (verifying the name it was
/// resolved from), and that name as the `:authority`.
fn endpoint(target: &Target, tls: &TlsOptions) -> Result<Endpoint, ConnectError> {
    let invalid = |source| ConnectError::InvalidUrl {
        url: target.url.clone(),
        source,
    };
    let mut endpoint = Endpoint::from_shared(target.url.clone())
        .map_err(invalid)?
        .connect_timeout(CONNECT_TIMEOUT)
        // A replica that vanishes without closing its connections (a node
        // lost, a process stopped) is found within a minute, not when TCP
        // gives up; its calls then fail over.
        .http2_keep_alive_interval(KEEPALIVE_INTERVAL)
        .keep_alive_timeout(KEEPALIVE_TIMEOUT)
        .keep_alive_while_idle(false);
    if let Some(origin) = target.origin.as_deref().and_then(|o| o.parse().ok()) {
        endpoint = endpoint.origin(origin);
    }
    if target.url.starts_with("https://") {
        endpoint = endpoint
            .tls_config(tls.config(target.domain.as_deref()))
            .map_err(|source| ConnectError::Tls {
                url: target.url.clone(),
                source,
            })?;
    }
    Ok(endpoint)
}

/// Resolves the server list's host names again every [`RESOLVE_EVERY`]
/// and updates the endpoint set when the addresses changed; ends when the
/// client is dropped.
async fn follow_dns(
    cluster: std::sync::Weak<Cluster>,
    entries: Vec<target::Entry>,
    tls: TlsOptions,
) {
    loop {
        tokio::time::sleep(RESOLVE_EVERY).await;
        let (targets, complete) = target::resolve_all(&entries).await;
        let Some(cluster) = cluster.upgrade() else {
            return;
        };
        // A name that did not resolve this time keeps its replicas: a DNS
        // hiccup must not shrink the set to one unresolved name.
        if !complete {
            continue;
        }
        let current = cluster.backends();
        let unchanged = targets.len() == current.len()
            && targets
                .iter()
                .all(|t| current.iter().any(|b| b.url == t.url));
        if unchanged {
            continue;
        }
        let backends = targets
            .iter()
            .filter_map(|target| {
                if let Some(kept) = current.iter().find(|b| b.url == target.url) {
                    return Some(Arc::clone(kept));
                }
                let endpoint = endpoint(target, &tls).ok()?;
                Some(Arc::new(Backend::new(
                    target.url.clone(),
                    endpoint.connect_lazy(),
                )))
            })
            .collect();
        cluster.replace(backends);
    }
}
