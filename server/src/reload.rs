//! What makes the registry rescan besides `ReloadModels`: changes in the
//! plugin folder (file watch) and SIGHUP. Events are debounced, since copying
//! a library into the folder fires several events and a half-written file
//! would only be refused; a rescan that sees a half-written file refuses it
//! (the old version keeps serving) and the next event's rescan picks up the
//! finished one.

use std::sync::Arc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;

use crate::plugin::PluginRegistry;

/// Quiet time after the last event before rescanning.
const DEBOUNCE: Duration = Duration::from_millis(300);

/// Starts the rescan task and its triggers; the returned watcher must be
/// kept alive for the file watch to continue.
pub fn spawn(
    registry: Arc<PluginRegistry>,
    watch: bool,
) -> Result<Option<notify::RecommendedWatcher>, notify::Error> {
    let (tx, mut rx) = mpsc::unbounded_channel::<&'static str>();

    let watcher = if watch {
        let events = tx.clone();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                if event.is_ok_and(|e| !e.kind.is_access()) {
                    let _ = events.send("file change");
                }
            })?;
        watcher.watch(registry.dir(), RecursiveMode::NonRecursive)?;
        Some(watcher)
    } else {
        None
    };

    #[cfg(unix)]
    {
        let hangups = tx.clone();
        tokio::spawn(async move {
            let Ok(mut signal) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            else {
                tracing::warn!("cannot listen for SIGHUP; reload with ReloadModels instead");
                return;
            };
            while signal.recv().await.is_some() {
                let _ = hangups.send("SIGHUP");
            }
        });
    }
    drop(tx);

    tokio::spawn(async move {
        while let Some(reason) = rx.recv().await {
            // Wait for the folder to go quiet.
            while let Ok(Some(_)) = tokio::time::timeout(DEBOUNCE, rx.recv()).await {}
            let registry = Arc::clone(&registry);
            match tokio::task::spawn_blocking(move || registry.scan()).await {
                Ok(Ok(snapshot)) => tracing::info!(
                    reason,
                    models = snapshot.models.values().map(Vec::len).sum::<usize>(),
                    refused = snapshot.refused.len(),
                    "plugin folder rescanned"
                ),
                Ok(Err(error)) => {
                    tracing::error!(reason, %error, "cannot rescan the plugin folder")
                }
                Err(error) => tracing::error!(reason, %error, "the rescan did not complete"),
            }
        }
    });
    Ok(watcher)
}
