//! The errors a request can end in, and their gRPC statuses.
//!
//! Every message names the offending field first ("horizon: must be at least
//! 1"); invalid arguments also carry `google.rpc.BadRequest` field violations
//! so programs can act on them without parsing text.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// One problem with one request field.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldViolation {
    /// The field path, e.g. `series.observations[2].period`.
    pub field: String,
    /// What is wrong and what would be accepted.
    pub description: String,
}

impl FieldViolation {
    /// A violation of `field`.
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            description: description.into(),
        }
    }
}

/// `ErrorInfo.domain` of the errors Stratus itself describes.
pub const ERROR_DOMAIN: &str = "stratus.v1";

/// `ErrorInfo.reason` on an UNAVAILABLE whose model process died during the
/// call: not to be retried elsewhere (the call may be what killed it).
pub const MODEL_PROCESS_DIED: &str = "MODEL_PROCESS_DIED";

/// Why a request failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed; one or more fields are at fault.
    #[error("{}", summarize(.0))]
    InvalidArgument(Vec<FieldViolation>),
    /// A server limit was exceeded.
    #[error("{}", summarize(std::slice::from_ref(.0)))]
    LimitExceeded(FieldViolation),
    /// The server is at capacity; the caller may retry after the delay.
    #[error("{message}")]
    Busy {
        /// What is full and which flag sets its size.
        message: String,
        /// When a retry is likely to be admitted.
        retry_after: std::time::Duration,
    },
    /// A model, version or dataset does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The call does not fit the target (e.g. a forecast asked of a risk model).
    #[error("{0}")]
    FailedPrecondition(String),
    /// A plugin failed, panicked or answered garbage.
    #[error("{0}")]
    Internal(String),
    /// The model did not answer before the caller's deadline or the server's
    /// per-call limit.
    #[error("{0}")]
    DeadlineExceeded(String),
    /// The model's plugin host process is being restarted, or the call was
    /// not run (process isolation); retrying shortly may succeed.
    #[error("{0}")]
    Unavailable(String),
    /// The model's plugin host process died during this call. UNAVAILABLE,
    /// with an `ErrorInfo` whose reason is [`MODEL_PROCESS_DIED`]: the call
    /// itself may have killed it, so clients must not fail it over to other
    /// replicas (one poisonous request would take down every replica's host
    /// in turn).
    #[error("{0}")]
    ModelProcessDied(String),
    /// An admin call without credentials.
    #[error("{0}")]
    Unauthenticated(String),
    /// An admin call with wrong credentials, or admin calls disabled.
    #[error("{0}")]
    PermissionDenied(String),
}

/// Proof that a violation was recorded: only [`Violations::reject`] makes
/// one. A check that returns `Err(Rejected)` has said what is wrong, so
/// [`Violations::finish`] can always answer with a non-empty list, and no
/// caller needs an "impossible" branch for a value that is missing without a
/// reason.
#[derive(Debug)]
#[must_use = "a rejection is settled by Violations::finish"]
pub struct Rejected(());

/// The outcome of a check that records its problems in [`Violations`].
pub type Checked<T> = Result<T, Rejected>;

/// Field violations collected while checking one request, at most `cap` of
/// them listed: a request with a million bad observations gets a short answer
/// (and a short log line), with the number left out.
#[derive(Debug)]
pub struct Violations {
    listed: Vec<FieldViolation>,
    cap: usize,
    omitted: usize,
}

impl Violations {
    /// An empty collection listing at most `cap` (at least 1) violations.
    pub fn new(cap: usize) -> Self {
        Self {
            listed: Vec::new(),
            cap: cap.max(1),
            omitted: 0,
        }
    }

    /// Records a violation (counted only, once `cap` are listed).
    pub fn push(&mut self, violation: FieldViolation) {
        if self.listed.len() < self.cap {
            self.listed.push(violation);
        } else {
            self.omitted += 1;
        }
    }

    /// Records a violation that makes the checked value unusable.
    pub fn reject(&mut self, violation: FieldViolation) -> Rejected {
        self.push(violation);
        Rejected(())
    }

    /// `value` if it passed and nothing else was recorded; otherwise
    /// `INVALID_ARGUMENT` with every recorded violation.
    pub fn finish<T>(self, value: Checked<T>) -> Result<T, ApiError> {
        match value {
            Ok(value) => self.into_result().map(|()| value),
            Err(Rejected(())) => Err(self.into_error()),
        }
    }

    /// How many were recorded, listed or not.
    pub fn len(&self) -> usize {
        self.listed.len() + self.omitted
    }

    /// Whether none were recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the list is full: further checks of a long input can stop.
    pub fn is_full(&self) -> bool {
        self.listed.len() >= self.cap
    }

    /// `Ok` if nothing was recorded, else `INVALID_ARGUMENT` with the list
    /// (and, when some were left out, a last entry saying how many).
    pub fn into_result(self) -> Result<(), ApiError> {
        if self.is_empty() {
            return Ok(());
        }
        Err(self.into_error())
    }

    fn into_error(self) -> ApiError {
        let mut listed = self.listed;
        if self.omitted > 0 {
            listed.push(FieldViolation::new(
                "request",
                format!(
                    "{} more problems not listed (this server lists at most {}: --max-violations)",
                    self.omitted, self.cap
                ),
            ));
        }
        ApiError::InvalidArgument(listed)
    }
}

impl ApiError {
    /// The same error with `context` (which model, which origin) before its
    /// description, for errors of a forecast run on a caller's behalf.
    pub fn in_context(self, context: &str) -> Self {
        let prefix = |text: String| format!("{context}: {text}");
        match self {
            Self::InvalidArgument(violations) => Self::InvalidArgument(
                violations
                    .into_iter()
                    .map(|v| FieldViolation::new(v.field, prefix(v.description)))
                    .collect(),
            ),
            Self::LimitExceeded(v) => {
                Self::LimitExceeded(FieldViolation::new(v.field, prefix(v.description)))
            }
            Self::NotFound(message) => Self::NotFound(prefix(message)),
            Self::FailedPrecondition(message) => Self::FailedPrecondition(prefix(message)),
            Self::Internal(message) => Self::Internal(prefix(message)),
            Self::DeadlineExceeded(message) => Self::DeadlineExceeded(prefix(message)),
            Self::Unavailable(message) => Self::Unavailable(prefix(message)),
            Self::ModelProcessDied(message) => Self::ModelProcessDied(prefix(message)),
            Self::Busy {
                message,
                retry_after,
            } => Self::Busy {
                message: prefix(message),
                retry_after,
            },
            other @ (Self::Unauthenticated(_) | Self::PermissionDenied(_)) => other,
        }
    }

    /// The same error for a request nested at `prefix` (e.g. `demand.` for
    /// the forecast inside a risk request): field paths, and the messages
    /// this server writes beginning with a field path (not found, failed
    /// precondition), are prefixed. Validation reports paths relative to the
    /// request it checks; this is the one place they are placed in a larger
    /// one.
    pub fn within(self, prefix: &str) -> Self {
        if prefix.is_empty() {
            return self;
        }
        let field =
            |v: FieldViolation| FieldViolation::new(format!("{prefix}{}", v.field), v.description);
        match self {
            Self::InvalidArgument(violations) => {
                Self::InvalidArgument(violations.into_iter().map(field).collect())
            }
            Self::LimitExceeded(v) => Self::LimitExceeded(field(v)),
            Self::NotFound(message) => Self::NotFound(format!("{prefix}{message}")),
            Self::FailedPrecondition(message) => {
                Self::FailedPrecondition(format!("{prefix}{message}"))
            }
            other => other,
        }
    }

    /// A single invalid field.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self::InvalidArgument(vec![FieldViolation::new(field, description)])
    }
}

fn summarize(violations: &[FieldViolation]) -> String {
    const SHOWN: usize = 5;
    let mut text = violations
        .iter()
        .take(SHOWN)
        .map(|v| format!("{}: {}", v.field, v.description))
        .collect::<Vec<_>>()
        .join("; ");
    if violations.len() > SHOWN {
        text.push_str(&format!(" (and {} more)", violations.len() - SHOWN));
    }
    text
}

impl From<ApiError> for Status {
    fn from(error: ApiError) -> Self {
        let message = error.to_string();
        match error {
            ApiError::InvalidArgument(violations) => {
                bad_request(Code::InvalidArgument, message, &violations)
            }
            ApiError::LimitExceeded(violation) => {
                bad_request(Code::ResourceExhausted, message, &[violation])
            }
            ApiError::Busy { retry_after, .. } => {
                let mut details = ErrorDetails::new();
                details.set_retry_info(Some(retry_after));
                Status::with_error_details(Code::ResourceExhausted, message, details)
            }
            ApiError::NotFound(_) => Status::not_found(message),
            ApiError::FailedPrecondition(_) => Status::failed_precondition(message),
            ApiError::Internal(_) => Status::internal(message),
            ApiError::DeadlineExceeded(_) => Status::deadline_exceeded(message),
            ApiError::Unavailable(_) => Status::unavailable(message),
            ApiError::ModelProcessDied(_) => {
                let mut details = ErrorDetails::new();
                details.set_error_info(
                    MODEL_PROCESS_DIED,
                    ERROR_DOMAIN,
                    std::collections::HashMap::<String, String>::new(),
                );
                Status::with_error_details(Code::Unavailable, message, details)
            }
            ApiError::Unauthenticated(_) => Status::unauthenticated(message),
            ApiError::PermissionDenied(_) => Status::permission_denied(message),
        }
    }
}

fn bad_request(code: Code, message: String, violations: &[FieldViolation]) -> Status {
    let mut details = ErrorDetails::new();
    for v in violations {
        details.add_bad_request_violation(v.field.clone(), v.description.clone());
    }
    Status::with_error_details(code, message, details)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_argument_carries_bad_request_details() {
        let status: Status = ApiError::invalid("horizon", "must be at least 1").into();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(status.message(), "horizon: must be at least 1");
        let details = status.get_error_details();
        let bad = details.bad_request().unwrap();
        assert_eq!(bad.field_violations[0].field, "horizon");
    }

    #[test]
    fn violations_beyond_the_cap_are_counted_not_listed() {
        let mut violations = Violations::new(3);
        for i in 0..10 {
            violations.push(FieldViolation::new(format!("levels[{i}]"), "bad"));
        }
        assert!(violations.is_full());
        let Err(ApiError::InvalidArgument(listed)) = violations.into_result() else {
            panic!("violations make an error");
        };
        assert_eq!(listed.len(), 4);
        assert!(listed[3].description.starts_with("7 more problems"));
        assert!(listed[3].description.contains("--max-violations"));
    }

    #[test]
    fn a_rejected_value_always_answers_with_its_reason() {
        let mut violations = Violations::new(1);
        violations.push(FieldViolation::new("horizon", "must be at least 1"));
        // The list is full: the rejection is counted, and still an error.
        let rejected: Checked<u32> = Err(violations.reject(FieldViolation::new("series", "empty")));
        let Err(ApiError::InvalidArgument(listed)) = violations.finish(rejected) else {
            panic!("a rejection is an error");
        };
        assert_eq!(listed[0].field, "horizon");
        assert!(listed[1].description.starts_with("1 more problems"));
        assert_eq!(Violations::new(5).finish(Ok(7)).unwrap(), 7);
    }

    #[test]
    fn nested_requests_prefix_fields_once() {
        let error = ApiError::invalid("horizon", "must be at least 1").within("demand.");
        let ApiError::InvalidArgument(listed) = error else {
            panic!("still invalid");
        };
        assert_eq!(listed[0].field, "demand.horizon");
        let ApiError::NotFound(message) =
            ApiError::NotFound("dataset: no dataset 'x'".into()).within("demand.")
        else {
            panic!("still not found");
        };
        assert_eq!(message, "demand.dataset: no dataset 'x'");
        let ApiError::Internal(message) = ApiError::Internal("boom".into()).within("demand.")
        else {
            panic!("still internal");
        };
        assert_eq!(message, "boom");
    }

    #[test]
    fn busy_carries_retry_info() {
        let status: Status = ApiError::Busy {
            message: "full".into(),
            retry_after: std::time::Duration::from_millis(250),
        }
        .into();
        assert_eq!(status.code(), Code::ResourceExhausted);
        let retry = status.get_error_details().retry_info().cloned().unwrap();
        assert_eq!(
            retry.retry_delay,
            Some(std::time::Duration::from_millis(250))
        );
    }
}
