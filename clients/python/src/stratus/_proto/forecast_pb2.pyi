from stratus._proto import model_pb2 as _model_pb2
from stratus._proto import series_pb2 as _series_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Combination(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    COMBINATION_UNSPECIFIED: _ClassVar[Combination]
    COMBINATION_MEAN: _ClassVar[Combination]
    COMBINATION_MEDIAN: _ClassVar[Combination]
    COMBINATION_BACKTEST_WEIGHTED: _ClassVar[Combination]

class IntervalMethod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INTERVAL_METHOD_UNSPECIFIED: _ClassVar[IntervalMethod]
    INTERVAL_METHOD_MODEL: _ClassVar[IntervalMethod]
    INTERVAL_METHOD_CONFORMAL: _ClassVar[IntervalMethod]
COMBINATION_UNSPECIFIED: Combination
COMBINATION_MEAN: Combination
COMBINATION_MEDIAN: Combination
COMBINATION_BACKTEST_WEIGHTED: Combination
INTERVAL_METHOD_UNSPECIFIED: IntervalMethod
INTERVAL_METHOD_MODEL: IntervalMethod
INTERVAL_METHOD_CONFORMAL: IntervalMethod

class ForecastRequest(_message.Message):
    __slots__ = ("model", "series", "dataset", "horizon", "levels", "params", "request_id", "interval_method", "ensemble")
    class ParamsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    MODEL_FIELD_NUMBER: _ClassVar[int]
    SERIES_FIELD_NUMBER: _ClassVar[int]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    HORIZON_FIELD_NUMBER: _ClassVar[int]
    LEVELS_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_METHOD_FIELD_NUMBER: _ClassVar[int]
    ENSEMBLE_FIELD_NUMBER: _ClassVar[int]
    model: _model_pb2.ModelRef
    series: _series_pb2.Series
    dataset: str
    horizon: int
    levels: _containers.RepeatedScalarFieldContainer[float]
    params: _containers.ScalarMap[str, float]
    request_id: str
    interval_method: IntervalMethod
    ensemble: Ensemble
    def __init__(self, model: _Optional[_Union[_model_pb2.ModelRef, _Mapping]] = ..., series: _Optional[_Union[_series_pb2.Series, _Mapping]] = ..., dataset: _Optional[str] = ..., horizon: _Optional[int] = ..., levels: _Optional[_Iterable[float]] = ..., params: _Optional[_Mapping[str, float]] = ..., request_id: _Optional[str] = ..., interval_method: _Optional[_Union[IntervalMethod, str]] = ..., ensemble: _Optional[_Union[Ensemble, _Mapping]] = ...) -> None: ...

class Ensemble(_message.Message):
    __slots__ = ("members", "combination")
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    COMBINATION_FIELD_NUMBER: _ClassVar[int]
    members: _containers.RepeatedCompositeFieldContainer[_model_pb2.ModelRef]
    combination: Combination
    def __init__(self, members: _Optional[_Iterable[_Union[_model_pb2.ModelRef, _Mapping]]] = ..., combination: _Optional[_Union[Combination, str]] = ...) -> None: ...

class EnsembleMember(_message.Message):
    __slots__ = ("model", "weight")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    model: _model_pb2.ModelInfo
    weight: float
    def __init__(self, model: _Optional[_Union[_model_pb2.ModelInfo, _Mapping]] = ..., weight: _Optional[float] = ...) -> None: ...

class Interval(_message.Message):
    __slots__ = ("level", "lower", "upper")
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    LOWER_FIELD_NUMBER: _ClassVar[int]
    UPPER_FIELD_NUMBER: _ClassVar[int]
    level: float
    lower: float
    upper: float
    def __init__(self, level: _Optional[float] = ..., lower: _Optional[float] = ..., upper: _Optional[float] = ...) -> None: ...

class ForecastPoint(_message.Message):
    __slots__ = ("period", "mean", "growth", "intervals")
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    MEAN_FIELD_NUMBER: _ClassVar[int]
    GROWTH_FIELD_NUMBER: _ClassVar[int]
    INTERVALS_FIELD_NUMBER: _ClassVar[int]
    period: str
    mean: float
    growth: float
    intervals: _containers.RepeatedCompositeFieldContainer[Interval]
    def __init__(self, period: _Optional[str] = ..., mean: _Optional[float] = ..., growth: _Optional[float] = ..., intervals: _Optional[_Iterable[_Union[Interval, _Mapping]]] = ...) -> None: ...

class Scenario(_message.Message):
    __slots__ = ("name", "points")
    NAME_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    name: str
    points: _containers.RepeatedCompositeFieldContainer[ForecastPoint]
    def __init__(self, name: _Optional[str] = ..., points: _Optional[_Iterable[_Union[ForecastPoint, _Mapping]]] = ...) -> None: ...

class ForecastResponse(_message.Message):
    __slots__ = ("model", "series_name", "points", "scenarios", "fitted", "notes", "request_id", "members")
    class FittedEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    MODEL_FIELD_NUMBER: _ClassVar[int]
    SERIES_NAME_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    SCENARIOS_FIELD_NUMBER: _ClassVar[int]
    FITTED_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    model: _model_pb2.ModelInfo
    series_name: str
    points: _containers.RepeatedCompositeFieldContainer[ForecastPoint]
    scenarios: _containers.RepeatedCompositeFieldContainer[Scenario]
    fitted: _containers.ScalarMap[str, float]
    notes: _containers.RepeatedScalarFieldContainer[str]
    request_id: str
    members: _containers.RepeatedCompositeFieldContainer[EnsembleMember]
    def __init__(self, model: _Optional[_Union[_model_pb2.ModelInfo, _Mapping]] = ..., series_name: _Optional[str] = ..., points: _Optional[_Iterable[_Union[ForecastPoint, _Mapping]]] = ..., scenarios: _Optional[_Iterable[_Union[Scenario, _Mapping]]] = ..., fitted: _Optional[_Mapping[str, float]] = ..., notes: _Optional[_Iterable[str]] = ..., request_id: _Optional[str] = ..., members: _Optional[_Iterable[_Union[EnsembleMember, _Mapping]]] = ...) -> None: ...
