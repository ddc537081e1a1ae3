"""Python client for Stratus, the gRPC forecasting server.

    import pandas as pd
    import stratus

    with stratus.Client("127.0.0.1:50051") as client:
        history = pd.Series([10.0, 12.0, 15.0, 16.0], index=["2020", "2021", "2022", "2023"])
        frame = client.forecast(history, model="naive", horizon=2)
        # columns period, mean, growth, lo_80, hi_80, lo_95, hi_95
        print(frame, frame.attrs["sha256"])

Failed calls raise `StratusError` (a subclass per gRPC status code) carrying
the code, the message and the field violations.
"""

from stratus._client import DEFAULT_ADDRESS, Client, RiskResult
from stratus._convert import FREQUENCIES, Ensemble
from stratus._errors import (
    DeadlineExceeded,
    FailedPrecondition,
    FieldViolation,
    Internal,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    StratusError,
    Unavailable,
)

__version__ = "0.1.0"

# Shown as stratus.InvalidArgument etc. in tracebacks and reprs.
for _public in (Client, RiskResult, Ensemble, FieldViolation, StratusError, DeadlineExceeded,
                FailedPrecondition, Internal, InvalidArgument, NotFound, ResourceExhausted, Unavailable):
    _public.__module__ = "stratus"
del _public

__all__ = [
    "DEFAULT_ADDRESS",
    "FREQUENCIES",
    "Client",
    "DeadlineExceeded",
    "Ensemble",
    "FailedPrecondition",
    "FieldViolation",
    "Internal",
    "InvalidArgument",
    "NotFound",
    "ResourceExhausted",
    "RiskResult",
    "StratusError",
    "Unavailable",
]
