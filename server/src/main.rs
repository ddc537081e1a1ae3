//! `stratus-server`: parse flags, set up logs, serve until SIGTERM or Ctrl-C
//! (then drain, up to `--drain-timeout`); a second signal exits at once.

use clap::Parser;
use stratus_server::config::Config;
use stratus_server::{server, telemetry, traces};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    let traces = match &config.otlp_endpoint {
        Some(endpoint) => Some(traces::Exporter::start(
            endpoint,
            config.trace_sample_ratio,
        )?),
        None => None,
    };
    telemetry::init(config.log_format, traces.as_ref());
    let (first, first_signal) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = first.send(());
        shutdown_signal().await;
        tracing::warn!("second signal: exiting now, abandoning in-flight calls");
        std::process::exit(130);
    });
    let served = server::run(config, async move {
        let _ = first_signal.await;
    })
    .await;
    // Send the spans still queued before the process ends.
    if let Some(traces) = traces {
        traces.shutdown().await;
    }
    // Exit without waiting for model threads still running abandoned calls
    // (a drain that timed out leaves some).
    match served {
        Ok(()) => std::process::exit(0),
        Err(error) => Err(error.into()),
    }
}

/// Completes on SIGTERM (how orchestrators stop a process) or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
