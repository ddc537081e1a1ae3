"""A Python caller using only stubs generated from proto/: health,
ListModels and Forecast against the real server."""

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc


@pytest.fixture()
def channel(stubs, server_address):
    with grpc.insecure_channel(server_address) as channel:
        yield channel


def test_health_is_serving(channel):
    stub = health_pb2_grpc.HealthStub(channel)
    response = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=10)
    assert response.status == health_pb2.HealthCheckResponse.SERVING


def test_list_models_shows_naive(channel):
    from stratus.v1 import model_pb2, model_pb2_grpc

    models = model_pb2_grpc.ModelServiceStub(channel).ListModels(model_pb2.ListModelsRequest(), timeout=10).models
    naive = [m for m in models if m.name == "naive"]
    assert naive, models
    assert naive[0].kind == model_pb2.MODEL_KIND_FORECAST
    assert naive[0].state == model_pb2.MODEL_STATE_READY
    assert len(naive[0].sha256) == 64


def test_forecast_of_an_inline_series(channel):
    from stratus.v1 import forecast_pb2, forecast_pb2_grpc, model_pb2, series_pb2

    series = series_pb2.Series(
        name="py",
        frequency=series_pb2.FREQUENCY_ANNUAL,
        observations=[series_pb2.Observation(period=str(2020 + i), value=v) for i, v in enumerate([10, 12, 15, 16])],
    )
    request = forecast_pb2.ForecastRequest(
        model=model_pb2.ModelRef(name="naive"), series=series, horizon=2, levels=[90], request_id="py-1"
    )
    response = forecast_pb2_grpc.ForecastServiceStub(channel).Forecast(request, timeout=10)
    assert [p.period for p in response.points] == ["2024", "2025"]
    # Drift (16 - 10) / 3 = 2.
    assert [p.mean for p in response.points] == [18.0, 20.0]
    assert response.points[0].intervals[0].level == 90
    assert response.request_id == "py-1"


def test_invalid_argument_names_the_field(channel):
    from stratus.v1 import forecast_pb2, forecast_pb2_grpc, model_pb2

    request = forecast_pb2.ForecastRequest(
        model=model_pb2.ModelRef(name="naive"), dataset="china-cloud-infra-annual", horizon=0
    )
    with pytest.raises(grpc.RpcError) as error:
        forecast_pb2_grpc.ForecastServiceStub(channel).Forecast(request, timeout=10)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "horizon" in error.value.details()
