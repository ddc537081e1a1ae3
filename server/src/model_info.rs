//! How a loaded (or refused) library is described to callers.

use std::time::SystemTime;

use stratus_proto::mapping::kind_to_api;
use stratus_proto::v1::{Isolation as ApiIsolation, ModelInfo, ModelState};

use crate::plugin::LoadedModel;
use crate::plugin::registry::Isolation;
use crate::plugin::registry::RefusedLibrary;

/// How much of a model's description to include.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// Everything, for `ListModels`/`GetModel`.
    Full,
    /// Identity only (name, version, kind, library hash, ABI), stamped on
    /// every forecast and score so results are reproducible without making
    /// bulk responses heavy.
    Identity,
}

/// The API view of a loaded model.
pub fn loaded(model: &LoadedModel, detail: Detail) -> ModelInfo {
    let d = &model.description;
    let mut info = ModelInfo {
        name: d.name.clone(),
        version: d.version.clone(),
        kind: kind_to_api(d.kind) as i32,
        sha256: model.sha256.clone(),
        abi_version: model.abi_version.clone(),
        state: ModelState::Ready as i32,
        isolation: match model.isolation() {
            Isolation::InProcess => ApiIsolation::InProcess,
            Isolation::Process => ApiIsolation::Process,
        } as i32,
        ..Default::default()
    };
    if let Some((pid, restarts, failed)) = model.host() {
        info.host_pid = pid;
        info.restarts = restarts;
        if let Some(failed) = failed {
            info.state = ModelState::Failed as i32;
            info.last_error = failed;
        }
    }
    if detail == Detail::Full {
        info.description = d.description.clone();
        info.params = d.params.iter().map(Into::into).collect();
        info.inputs = d.inputs.iter().map(Into::into).collect();
        info.library_path = model.library_path.display().to_string();
        info.loaded_at = Some(timestamp(model.loaded_at));
        if info.last_error.is_empty() {
            info.last_error = model.last_error();
        }
    }
    info
}

/// The API view of a refused library: its file name stands in for the model.
pub fn refused(library: &RefusedLibrary) -> ModelInfo {
    ModelInfo {
        name: library
            .library_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        library_path: library.library_path.display().to_string(),
        sha256: library.sha256.clone(),
        state: ModelState::Failed as i32,
        loaded_at: Some(timestamp(library.at)),
        last_error: library.error.to_string(),
        ..Default::default()
    }
}

fn timestamp(at: SystemTime) -> pbjson_types::Timestamp {
    let since = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    pbjson_types::Timestamp {
        seconds: since.as_secs() as i64,
        nanos: since.subsec_nanos() as i32,
    }
}
