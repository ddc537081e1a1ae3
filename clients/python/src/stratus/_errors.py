"""gRPC statuses as Python exceptions."""

from __future__ import annotations

from typing import Any, Hashable, NamedTuple, Optional

import grpc
from google.rpc import error_details_pb2, status_pb2

# The trailer a rich gRPC status travels in: a serialized google.rpc.Status.
_DETAILS_KEY = "grpc-status-details-bin"


class FieldViolation(NamedTuple):
    """One problem with one request field, from `google.rpc.BadRequest`."""

    field: str
    """The field path, e.g. `series.observations[2].period` or `horizon`."""
    description: str
    """What is wrong and what would be accepted."""


class StratusError(Exception):
    """A call the server refused or could not complete.

    Attributes:
        code: The gRPC status code, e.g. `grpc.StatusCode.INVALID_ARGUMENT`.
        message: The server's message; it starts with the field at fault.
        violations: Every field violation the server listed
            (`google.rpc.BadRequest`), empty for other errors.
        retry_after: Seconds after which a retry is likely to be admitted
            (`google.rpc.RetryInfo`, sent when the server is at capacity), or None.
        series_id: For a call with many series, the `series_id` whose request
            failed, when known; None otherwise.
    """

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        violations: Optional[list[FieldViolation]] = None,
        retry_after: Optional[float] = None,
        series_id: Optional[Hashable] = None,
    ) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message
        self.violations: list[FieldViolation] = list(violations or [])
        self.retry_after = retry_after
        self.series_id = series_id

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickle every attribute, not only Exception.args.
        return (type(self), (self.code, self.message, self.violations, self.retry_after, self.series_id))

    def __str__(self) -> str:
        # A stream's message already names the request_id (the series_id).
        return f"{self.code.name}: {self.message}"


class InvalidArgument(StratusError):
    """INVALID_ARGUMENT: the request is malformed; see `violations`."""


class NotFound(StratusError):
    """NOT_FOUND: no such model, version or dataset."""


class FailedPrecondition(StratusError):
    """FAILED_PRECONDITION: the call does not fit the target (e.g. a forecast
    asked of a risk model)."""


class ResourceExhausted(StratusError):
    """RESOURCE_EXHAUSTED: over a server limit (`violations` names it) or the
    server is at capacity (`retry_after` says when to retry)."""


class DeadlineExceeded(StratusError):
    """DEADLINE_EXCEEDED: no answer within the call's timeout."""


class Unavailable(StratusError):
    """UNAVAILABLE: the server cannot be reached, or a model's plugin host is
    restarting; retrying shortly may succeed."""


class Internal(StratusError):
    """INTERNAL: the model's plugin failed or answered garbage (that call only)."""


_BY_CODE: dict[grpc.StatusCode, type[StratusError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhausted,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.INTERNAL: Internal,
}


def from_rpc_error(error: grpc.RpcError, series_id: Optional[Hashable] = None) -> StratusError:
    """The exception for a failed call, with the details the server attached.

    The details are read from the `grpc-status-details-bin` trailer directly
    rather than through `grpc_status.rpc_status.from_call`, which refuses a
    status whose detailed message differs from the call's (stream errors are
    prefixed with their `request_id`).
    """
    code = error.code() if isinstance(error, grpc.Call) else grpc.StatusCode.UNKNOWN
    message = (error.details() if isinstance(error, grpc.Call) else None) or str(error)
    violations: list[FieldViolation] = []
    retry_after: Optional[float] = None
    trailers = error.trailing_metadata() if isinstance(error, grpc.Call) else None
    for key, value in trailers or ():
        if key != _DETAILS_KEY:
            continue
        status = status_pb2.Status()
        try:
            status.ParseFromString(value)
        except Exception:  # a malformed trailer: keep the code and message
            continue
        for detail in status.details:
            if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad_request = error_details_pb2.BadRequest()
                detail.Unpack(bad_request)
                violations.extend(FieldViolation(v.field, v.description) for v in bad_request.field_violations)
            elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
                retry = error_details_pb2.RetryInfo()
                detail.Unpack(retry)
                retry_after = retry.retry_delay.seconds + retry.retry_delay.nanos / 1e9
    cls = _BY_CODE.get(code, StratusError)
    return cls(code, message, violations, retry_after, series_id)
