from stratus._proto import forecast_pb2 as _forecast_pb2
from stratus._proto import model_pb2 as _model_pb2
from stratus._proto import series_pb2 as _series_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class BacktestRequest(_message.Message):
    __slots__ = ("models", "series", "dataset", "horizon", "origins", "step", "levels", "params", "request_id", "interval_method", "ensembles")
    class ParamsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    MODELS_FIELD_NUMBER: _ClassVar[int]
    SERIES_FIELD_NUMBER: _ClassVar[int]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    HORIZON_FIELD_NUMBER: _ClassVar[int]
    ORIGINS_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    LEVELS_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_METHOD_FIELD_NUMBER: _ClassVar[int]
    ENSEMBLES_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[_model_pb2.ModelRef]
    series: _series_pb2.Series
    dataset: str
    horizon: int
    origins: int
    step: int
    levels: _containers.RepeatedScalarFieldContainer[float]
    params: _containers.ScalarMap[str, float]
    request_id: str
    interval_method: _forecast_pb2.IntervalMethod
    ensembles: _containers.RepeatedCompositeFieldContainer[_forecast_pb2.Ensemble]
    def __init__(self, models: _Optional[_Iterable[_Union[_model_pb2.ModelRef, _Mapping]]] = ..., series: _Optional[_Union[_series_pb2.Series, _Mapping]] = ..., dataset: _Optional[str] = ..., horizon: _Optional[int] = ..., origins: _Optional[int] = ..., step: _Optional[int] = ..., levels: _Optional[_Iterable[float]] = ..., params: _Optional[_Mapping[str, float]] = ..., request_id: _Optional[str] = ..., interval_method: _Optional[_Union[_forecast_pb2.IntervalMethod, str]] = ..., ensembles: _Optional[_Iterable[_Union[_forecast_pb2.Ensemble, _Mapping]]] = ...) -> None: ...

class BacktestResponse(_message.Message):
    __slots__ = ("series_name", "scores", "request_id", "naive2")
    SERIES_NAME_FIELD_NUMBER: _ClassVar[int]
    SCORES_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    NAIVE2_FIELD_NUMBER: _ClassVar[int]
    series_name: str
    scores: _containers.RepeatedCompositeFieldContainer[ModelScore]
    request_id: str
    naive2: ModelScore
    def __init__(self, series_name: _Optional[str] = ..., scores: _Optional[_Iterable[_Union[ModelScore, _Mapping]]] = ..., request_id: _Optional[str] = ..., naive2: _Optional[_Union[ModelScore, _Mapping]] = ...) -> None: ...

class ModelScore(_message.Message):
    __slots__ = ("model", "smape", "mase", "owa", "coverage", "msis", "origins", "error")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    SMAPE_FIELD_NUMBER: _ClassVar[int]
    MASE_FIELD_NUMBER: _ClassVar[int]
    OWA_FIELD_NUMBER: _ClassVar[int]
    COVERAGE_FIELD_NUMBER: _ClassVar[int]
    MSIS_FIELD_NUMBER: _ClassVar[int]
    ORIGINS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    model: _model_pb2.ModelInfo
    smape: float
    mase: float
    owa: float
    coverage: _containers.RepeatedCompositeFieldContainer[LevelCoverage]
    msis: float
    origins: _containers.RepeatedCompositeFieldContainer[OriginResult]
    error: str
    def __init__(self, model: _Optional[_Union[_model_pb2.ModelInfo, _Mapping]] = ..., smape: _Optional[float] = ..., mase: _Optional[float] = ..., owa: _Optional[float] = ..., coverage: _Optional[_Iterable[_Union[LevelCoverage, _Mapping]]] = ..., msis: _Optional[float] = ..., origins: _Optional[_Iterable[_Union[OriginResult, _Mapping]]] = ..., error: _Optional[str] = ...) -> None: ...

class LevelCoverage(_message.Message):
    __slots__ = ("level", "coverage")
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    COVERAGE_FIELD_NUMBER: _ClassVar[int]
    level: float
    coverage: float
    def __init__(self, level: _Optional[float] = ..., coverage: _Optional[float] = ...) -> None: ...

class OriginResult(_message.Message):
    __slots__ = ("train_size", "points", "actuals", "smape", "mase")
    TRAIN_SIZE_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    ACTUALS_FIELD_NUMBER: _ClassVar[int]
    SMAPE_FIELD_NUMBER: _ClassVar[int]
    MASE_FIELD_NUMBER: _ClassVar[int]
    train_size: int
    points: _containers.RepeatedCompositeFieldContainer[_forecast_pb2.ForecastPoint]
    actuals: _containers.RepeatedScalarFieldContainer[float]
    smape: float
    mase: float
    def __init__(self, train_size: _Optional[int] = ..., points: _Optional[_Iterable[_Union[_forecast_pb2.ForecastPoint, _Mapping]]] = ..., actuals: _Optional[_Iterable[float]] = ..., smape: _Optional[float] = ..., mase: _Optional[float] = ...) -> None: ...
