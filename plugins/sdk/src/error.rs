//! The error a model returns, and how it crosses the boundary.

use crate::wire;

/// What kind of failure a [`ModelError`] is; the server maps it to a gRPC code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The input is well-formed but this model cannot take it.
    InvalidArgument,
    /// The call does not fit the model.
    FailedPrecondition,
    /// The model itself failed.
    Internal,
}

/// A model's refusal or failure, with the request field at fault if any.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ModelError {
    /// The kind of failure.
    pub code: ErrorCode,
    /// A sentence telling the caller what is wrong and what to do.
    pub message: String,
    /// The request field at fault (e.g. `series.observations`), or empty.
    pub field: String,
}

impl ModelError {
    /// The input does not suit this model; `field` names the request field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: ErrorCode::InvalidArgument,
            message: message.into(),
            field: field.into(),
        }
    }

    /// The model failed on input it should have handled.
    pub fn internal(message: impl Into<String>) -> Self {
        Self {
            code: ErrorCode::Internal,
            message: message.into(),
            field: String::new(),
        }
    }

    /// The call does not fit this model.
    pub fn failed_precondition(message: impl Into<String>) -> Self {
        Self {
            code: ErrorCode::FailedPrecondition,
            message: message.into(),
            field: String::new(),
        }
    }
}

impl From<ModelError> for wire::PluginError {
    fn from(error: ModelError) -> Self {
        let code = match error.code {
            ErrorCode::InvalidArgument => wire::plugin_error::Code::InvalidArgument,
            ErrorCode::FailedPrecondition => wire::plugin_error::Code::FailedPrecondition,
            ErrorCode::Internal => wire::plugin_error::Code::Internal,
        };
        wire::PluginError {
            code: code as i32,
            message: error.message,
            field: error.field,
        }
    }
}
