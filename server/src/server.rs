//! Start-up and shutdown: load datasets and plugins, mount the services with
//! health and reflection, serve until SIGTERM/Ctrl-C, then drain.

use std::future::Future;
use std::sync::Arc;

use futures::StreamExt;

use stratus_proto::v1::dataset_service_server::DatasetServiceServer;
use stratus_proto::v1::evaluation_service_server::EvaluationServiceServer;
use stratus_proto::v1::forecast_service_server::ForecastServiceServer;
use stratus_proto::v1::model_service_server::ModelServiceServer;
use stratus_proto::v1::risk_service_server::RiskServiceServer;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::dataset::{DatasetCatalog, DatasetError};
use crate::plugin::PluginRegistry;
use crate::service::{AppState, DatasetApi, EvaluationApi, ForecastApi, ModelApi, RiskApi};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A dataset file is unreadable or malformed.
    #[error("datasets: {0}")]
    Datasets(#[from] DatasetError),
    /// The plugin folder cannot be read.
    #[error("plugin folder {dir}: {source}; pass an existing folder with --plugins")]
    Plugins {
        /// The folder.
        dir: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The listen address cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: std::net::SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// Reflection could not be built from the descriptor set.
    #[error("reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// The admin settings are inconsistent.
    #[error("admin: {0}")]
    Admin(String),
    /// A TLS file cannot be read.
    #[error("tls: {0}")]
    Tls(#[from] crate::tls::TlsError),
    /// The model-call threads cannot be started.
    #[error("cannot start the model-call threads: {0}")]
    Threads(std::io::Error),
    /// The plugin folder cannot be watched.
    #[error(
        "cannot watch the plugin folder: {0}; pass --no-watch to rely on ReloadModels and SIGHUP"
    )]
    Watch(#[from] notify::Error),
    /// The transport failed.
    #[error("transport: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// The names of the services, as health checks know them.
const SERVICES: &[&str] = &[
    "stratus.v1.ForecastService",
    "stratus.v1.RiskService",
    "stratus.v1.ModelService",
    "stratus.v1.DatasetService",
    "stratus.v1.EvaluationService",
];

/// Loads everything, binds, prints the bound address on stdout, and serves
/// until `shutdown` completes; then stops accepting and lets in-flight calls
/// finish.
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    // Settings that can be wrong are checked before anything is loaded.
    let connection_limits = config.connection_limits();
    let tls = crate::tls::server_config(&config, connection_limits.header_read_timeout)?;
    let admin = crate::admin::AdminPolicy::new(
        config.admin_token.clone(),
        config.admin_token_file.as_deref(),
        config.allow_unauthenticated_admin,
        config.listen,
        tls.is_some(),
    )
    .map_err(StartError::Admin)?;
    let datasets = DatasetCatalog::load(config.data_dir.as_deref())?;
    let plugin_error = |source| StartError::Plugins {
        dir: config.plugins.display().to_string(),
        source,
    };
    let registry = Arc::new(
        PluginRegistry::new(&config.plugins)
            .map_err(plugin_error)?
            .with_isolation(config.isolation()),
    );
    let scan_registry = Arc::clone(&registry);
    let snapshot = tokio::task::spawn_blocking(move || scan_registry.scan())
        .await
        .map_err(|e| plugin_error(std::io::Error::other(e)))?
        .map_err(plugin_error)?;
    tracing::info!(
        models = snapshot.models.values().map(Vec::len).sum::<usize>(),
        refused = snapshot.refused.len(),
        datasets = datasets.iter().count(),
        plugins = %config.plugins.display(),
        "registry loaded"
    );

    // Kept alive until the server stops.
    let reloader = crate::reload::Reloader::start(Arc::clone(&registry)).map_err(plugin_error)?;
    let _watcher = crate::reload::spawn(reloader.clone(), !config.no_watch)?;
    let state = Arc::new(AppState {
        registry,
        datasets,
        limits: config.limits(),
        call_timeout: std::time::Duration::from_millis(config.call_timeout_ms),
        admin,
        reloader,
        models: crate::model_pool::ModelPool::start(config.pool()).map_err(StartError::Threads)?,
    });

    let (health, health_service) = tonic_health::server::health_reporter();
    for service in SERVICES {
        health
            .set_service_status(*service, tonic_health::ServingStatus::Serving)
            .await;
    }
    health
        .set_service_status("", tonic_health::ServingStatus::Serving)
        .await;

    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(stratus_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(stratus_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;

    let limit = config.max_message_bytes;
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| StartError::Listen {
            addr: config.listen,
            source,
        })?;
    let local = listener.local_addr().map_err(|source| StartError::Listen {
        addr: config.listen,
        source,
    })?;
    crate::metrics::label_models_of(&state.registry);
    if let Some(addr) = config.metrics_listen {
        let (metrics, bound) = bind(addr).await?;
        tracing::info!(address = %bound, "metrics at /metrics");
        println!("stratus-server metrics on {bound}");
        tokio::spawn(crate::metrics::serve(
            metrics,
            config.side_limits(),
            Arc::clone(&state),
        ));
    }

    let console_port = match config.console_listen {
        Some(addr) => {
            let (console, bound) = bind(addr).await?;
            tracing::info!(address = %bound, "web console");
            println!("stratus-server console on http://{bound}");
            tokio::spawn(crate::console::serve(
                console,
                config.side_limits(),
                local,
                tls.is_some(),
            ));
            Some(bound.port())
        }
        None => None,
    };
    tracing::info!(address = %local, "serving");
    // Tests and scripts read this line to learn the port when --listen uses
    // port 0; printed last, once every listener is bound.
    println!("stratus-server listening on {local}");

    // gRPC-Web for the console's page: translated to gRPC before the budget
    // layer sees the body, so every limit applies as to any call.
    let web = console_port.map(|port| {
        tower::ServiceBuilder::new()
            .layer(crate::console::cors(port))
            .layer(tonic_web::GrpcWebLayer::new())
            .into_inner()
    });

    let drain_timeout = std::time::Duration::from_secs(config.drain_timeout);
    let (drain_started, drain_begun) = tokio::sync::oneshot::channel::<()>();
    let draining = async move {
        shutdown.await;
        let _ = drain_started.send(());
        tracing::info!(
            ?drain_timeout,
            "shutting down: no new calls, finishing in-flight ones (a second signal exits at once)"
        );
        health
            .set_service_status("", tonic_health::ServingStatus::NotServing)
            .await;
        for service in SERVICES {
            health
                .set_service_status(*service, tonic_health::ServingStatus::NotServing)
                .await;
        }
    };

    let budget = crate::request_budget::RequestBudget::new(config.budget());
    let admission = crate::transport::Admission::new(connection_limits);
    let keepalive = (config.keepalive_interval_s > 0)
        .then(|| std::time::Duration::from_secs(config.keepalive_interval_s));
    let mut builder = tonic::transport::Server::builder();
    if let Some(tls) = tls {
        builder = builder.tls_config(tls)?;
    }
    let serving = builder
        .max_concurrent_streams(config.max_streams_per_connection)
        // hyper's default windows (1 MiB each) would let every connection
        // park a megabyte the server has not read; see the flag.
        .initial_connection_window_size(config.connection_window_kib * 1024)
        .initial_stream_window_size(config.connection_window_kib * 512)
        .http2_keepalive_interval(keepalive)
        .http2_keepalive_timeout(Some(std::time::Duration::from_secs(
            config.keepalive_timeout_s,
        )))
        // Headers are small in gRPC; hyper's 16 MiB default would let one
        // stream hold that much before any limit here applies.
        .http2_max_header_list_size(64 * 1024)
        // Browsers speak gRPC-Web over HTTP/1.1 as well as HTTP/2.
        .accept_http1(web.is_some())
        .layer(tower::util::option_layer(web))
        .layer(crate::request_budget::RequestBudgetLayer(budget))
        // The RPC spans (a pass-through when traces are off).
        .layer(crate::traces::RpcSpanLayer)
        .add_service(health_service)
        .add_service(reflection)
        .add_service(reflection_alpha)
        // One message-size setting for every service and both directions:
        // no answer can grow past what a caller could send.
        .add_service(
            ForecastServiceServer::new(ForecastApi::new(Arc::clone(&state)))
                .max_decoding_message_size(limit)
                .max_encoding_message_size(limit),
        )
        .add_service(
            RiskServiceServer::new(RiskApi::new(Arc::clone(&state)))
                .max_decoding_message_size(limit)
                .max_encoding_message_size(limit),
        )
        .add_service(
            ModelServiceServer::new(ModelApi::new(Arc::clone(&state)))
                .max_decoding_message_size(limit)
                .max_encoding_message_size(limit),
        )
        .add_service(
            DatasetServiceServer::new(DatasetApi::new(Arc::clone(&state)))
                .max_decoding_message_size(limit)
                .max_encoding_message_size(limit),
        )
        .add_service(
            EvaluationServiceServer::new(EvaluationApi::new(Arc::clone(&state)))
                .max_decoding_message_size(limit)
                .max_encoding_message_size(limit),
        )
        // Our own listener (to report the bound port), so tonic's nodelay
        // setting does not apply: without TCP_NODELAY, small responses wait
        // on delayed ACKs (~40 ms a call).
        .serve_with_incoming_shutdown(
            tonic::transport::server::TcpIncoming::from(listener)
                .with_nodelay(Some(true))
                .filter_map(move |accepted| {
                    // Over the connection cap: dropped (closed) at once.
                    let admitted = match accepted {
                        Ok(stream) => admission.admit(stream).map(Ok),
                        Err(error) => Some(Err(error)),
                    };
                    futures::future::ready(admitted)
                }),
            draining,
        );
    let deadline = async move {
        match drain_begun.await {
            Ok(()) => tokio::time::sleep(drain_timeout).await,
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        served = serving => served?,
        () = deadline => tracing::warn!(
            ?drain_timeout,
            "in-flight calls did not finish within --drain-timeout; exiting anyway"
        ),
    }
    tracing::info!("stopped");
    Ok(())
}

/// Binds a listener beside the API (metrics, console); its bound address.
async fn bind(
    addr: std::net::SocketAddr,
) -> Result<(TcpListener, std::net::SocketAddr), StartError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Listen { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| StartError::Listen { addr, source })?;
    Ok((listener, bound))
}
