"""gRPC errors become Python exceptions carrying the status code and the
field violations; arguments that cannot be sent are refused before a call."""

from __future__ import annotations

import socket

import grpc
import pandas as pd
import pytest

import stratus


def test_invalid_argument_carries_code_message_and_field_violations(client):
    with pytest.raises(stratus.InvalidArgument) as error:
        client.forecast("china-cloud-infra-annual", model="naive", horizon=0)
    e = error.value
    assert isinstance(e, stratus.StratusError)
    assert e.code == grpc.StatusCode.INVALID_ARGUMENT
    assert e.message == "horizon: must be at least 1"
    assert e.violations == [stratus.FieldViolation("horizon", "must be at least 1")]
    field, description = e.violations[0]
    assert (field, description) == ("horizon", "must be at least 1")
    assert str(e) == "INVALID_ARGUMENT: horizon: must be at least 1"


def test_every_violation_is_listed(client):
    history = pd.Series([1.0, 2.0, float("nan"), 4.0], index=["2020", "2021", "2022", "2023"])
    with pytest.raises(stratus.InvalidArgument) as error:
        client.forecast(history, model="naive", horizon=2, levels=(80, 120))
    fields = {v.field for v in error.value.violations}
    assert "series.observations[2].value" in fields
    assert any(f.startswith("levels") for f in fields), fields
    assert all(v.description for v in error.value.violations)


def test_an_unknown_model_is_not_found(client):
    with pytest.raises(stratus.NotFound) as error:
        client.forecast("china-cloud-infra-annual", model="no-such-model", horizon=1)
    assert error.value.code == grpc.StatusCode.NOT_FOUND
    assert "no-such-model" in error.value.message
    assert error.value.violations == []
    with pytest.raises(stratus.NotFound):
        client.forecast("no-such-dataset", model="naive", horizon=1)
    with pytest.raises(stratus.NotFound):
        client.model("naive@9.9.9")


def test_a_risk_model_cannot_forecast(client):
    with pytest.raises(stratus.FailedPrecondition) as error:
        client.forecast("china-cloud-infra-annual", model="bubble", horizon=1)
    assert error.value.code == grpc.StatusCode.FAILED_PRECONDITION


def test_no_server_is_unavailable():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with stratus.Client(f"http://127.0.0.1:{port}", timeout=10) as client:
        with pytest.raises(stratus.Unavailable) as error:
            client.models()
    assert error.value.code == grpc.StatusCode.UNAVAILABLE


def test_arguments_that_cannot_be_sent_are_refused_locally(client):
    with pytest.raises(ValueError, match="not annual"):
        client.forecast(pd.Series([1.0, 2.0, 3.0], index=["Jan", "Feb", "Mar"]), model="naive", horizon=1)
    with pytest.raises(ValueError, match="period and value"):
        client.forecast(pd.DataFrame({"when": ["2020"], "value": [1.0]}), model="naive", horizon=1)
    with pytest.raises(TypeError, match="horizon"):
        client.forecast("china-cloud-infra-annual", model="naive")
    with pytest.raises(ValueError, match="not both"):
        client.forecast("china-cloud-infra-annual", model="naive", ensemble=["naive"], horizon=1)
    with pytest.raises(ValueError, match="interval_method"):
        client.forecast("china-cloud-infra-annual", model="naive", horizon=1, interval_method="bootstrap")
    with pytest.raises(ValueError, match="combine"):
        stratus.Ensemble(["naive"], combine="mode").to_proto()


def test_addresses_and_tls_options_are_checked():
    assert stratus.Client("localhost:50051").target == "localhost:50051"
    assert stratus.Client("http://localhost:50051").tls is False
    https = stratus.Client("https://example.com")
    assert (https.target, https.tls) == ("example.com:443", True)
    assert stratus.Client("http://[::1]:7000").target == "[::1]:7000"
    with pytest.raises(ValueError, match="plaintext"):
        stratus.Client("http://localhost:50051", ca=b"-----BEGIN CERTIFICATE-----")
    with pytest.raises(ValueError, match="both"):
        stratus.Client("https://localhost:50051", cert=b"pem")
    with pytest.raises(ValueError, match="scheme"):
        stratus.Client("ftp://localhost:50051")
    with pytest.raises(ValueError, match="cannot read ca"):
        stratus.Client("https://localhost:50051", ca="/no/such/ca.pem")
