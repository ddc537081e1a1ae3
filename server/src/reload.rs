//! What makes the registry rescan besides `ReloadModels`: changes in the
//! plugin folder (file watch) and SIGHUP.
//!
//! The watch reacts to events that mark a file as finished or gone — closed
//! after writing, renamed into (or out of) the folder, created, removed,
//! re-permissioned — and not to the writes themselves, so a file still being
//! written is not taken for finished just because its writer paused. Events
//! are debounced, since deploying a library fires several. A rescan that
//! still sees a half-written file (say, after its creation event) refuses it
//! as truncated before mapping it (the old version, if any, keeps serving),
//! and the close-write event at the end of the write triggers the rescan
//! that loads the finished file.

use std::sync::Arc;
use std::time::Duration;

use notify::event::{AccessKind, AccessMode, ModifyKind};
use notify::{EventKind, RecursiveMode, Watcher};
use tokio::sync::{mpsc, oneshot};

use crate::plugin::PluginRegistry;
use crate::plugin::registry::Snapshot;

type Reply = oneshot::Sender<std::io::Result<Arc<Snapshot>>>;

/// Runs rescans on one dedicated thread at lowered CPU priority (nice 10), so
/// hashing, copying and smoke-checking new libraries never compete with
/// serving calls; rescans requested while one runs queue behind it.
#[derive(Debug, Clone)]
pub struct Reloader {
    requests: std::sync::mpsc::Sender<Reply>,
    registry: Arc<PluginRegistry>,
}

impl Reloader {
    /// Starts the reload thread.
    pub fn start(registry: Arc<PluginRegistry>) -> std::io::Result<Self> {
        let (requests, queue) = std::sync::mpsc::channel::<Reply>();
        let worker = Arc::clone(&registry);
        std::thread::Builder::new()
            .name("stratus-reload".into())
            .spawn(move || {
                lower_priority();
                while let Ok(reply) = queue.recv() {
                    let _ = reply.send(worker.scan());
                }
            })?;
        Ok(Self { requests, registry })
    }

    /// The registry this reloader rescans.
    pub fn registry(&self) -> &Arc<PluginRegistry> {
        &self.registry
    }

    /// Rescans the plugin folder and returns what is served afterwards.
    pub async fn rescan(&self) -> std::io::Result<Arc<Snapshot>> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(reply)
            .map_err(|_| std::io::Error::other("the reload thread has stopped"))?;
        answer
            .await
            .map_err(|_| std::io::Error::other("the reload thread dropped the request"))?
    }
}

/// Lowers the calling thread's scheduling priority (Linux: `nice` is per
/// thread); threads it starts, such as smoke checks, inherit it.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: setpriority only reads its integer arguments; `who = 0`
        // means the calling thread, and failure (e.g. not permitted) leaves
        // the priority unchanged, which is harmless.
        let _ = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 10) };
    }
}

/// Quiet time after the last event before rescanning.
const DEBOUNCE: Duration = Duration::from_millis(300);

/// Whether a file event in the plugin folder calls for a rescan. Writes in
/// progress (`Modify(Data)`) do not: their close-write event will. Nor do
/// opens and read-only closes, which the rescan itself causes when it copies
/// the libraries (they would make it rescan forever).
fn triggers_rescan(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        EventKind::Create(_) | EventKind::Remove(_) => true,
        // Any rename: into the folder brings a library, out of it removes one.
        EventKind::Modify(ModifyKind::Name(_)) => true,
        // Permissions or ownership changed: a library may have become readable.
        EventKind::Modify(ModifyKind::Metadata(_)) => true,
        EventKind::Modify(_) => false,
        // Backends that cannot say what happened.
        EventKind::Any | EventKind::Other => true,
    }
}

/// Starts the rescan task and its triggers; the returned watcher must be
/// kept alive for the file watch to continue.
pub fn spawn(
    reloader: Reloader,
    watch: bool,
) -> Result<Option<notify::RecommendedWatcher>, notify::Error> {
    let registry = Arc::clone(reloader.registry());
    let (tx, mut rx) = mpsc::unbounded_channel::<&'static str>();

    let watcher = if watch {
        let events = tx.clone();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                if event.is_ok_and(|e| e.need_rescan() || triggers_rescan(&e.kind)) {
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
            match reloader.rescan().await {
                Ok(snapshot) => tracing::info!(
                    reason,
                    models = snapshot.models.values().map(Vec::len).sum::<usize>(),
                    refused = snapshot.refused.len(),
                    "plugin folder rescanned"
                ),
                Err(error) => tracing::error!(reason, %error, "cannot rescan the plugin folder"),
            }
        }
    });
    Ok(watcher)
}

#[cfg(test)]
mod tests {
    use notify::event::{CreateKind, DataChange, MetadataKind, RemoveKind, RenameMode};

    use super::*;

    #[test]
    fn finished_and_removed_files_trigger_a_rescan() {
        for kind in [
            EventKind::Access(AccessKind::Close(AccessMode::Write)),
            EventKind::Create(CreateKind::File),
            EventKind::Remove(RemoveKind::File),
            EventKind::Modify(ModifyKind::Name(RenameMode::To)),
            EventKind::Modify(ModifyKind::Name(RenameMode::Both)),
            EventKind::Modify(ModifyKind::Name(RenameMode::From)),
            EventKind::Modify(ModifyKind::Metadata(MetadataKind::Permissions)),
        ] {
            assert!(triggers_rescan(&kind), "{kind:?}");
        }
    }

    #[test]
    fn writes_in_progress_and_the_scans_own_reads_do_not() {
        for kind in [
            EventKind::Modify(ModifyKind::Data(DataChange::Any)),
            EventKind::Access(AccessKind::Open(AccessMode::Any)),
            EventKind::Access(AccessKind::Close(AccessMode::Read)),
            EventKind::Access(AccessKind::Read),
        ] {
            assert!(!triggers_rescan(&kind), "{kind:?}");
        }
    }
}
