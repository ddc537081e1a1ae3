from stratus._proto import forecast_pb2 as _forecast_pb2
from stratus._proto import model_pb2 as _model_pb2
from stratus._proto import series_pb2 as _series_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RiskBand(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RISK_BAND_UNSPECIFIED: _ClassVar[RiskBand]
    RISK_BAND_LOW: _ClassVar[RiskBand]
    RISK_BAND_MODERATE: _ClassVar[RiskBand]
    RISK_BAND_HIGH: _ClassVar[RiskBand]
    RISK_BAND_SEVERE: _ClassVar[RiskBand]
RISK_BAND_UNSPECIFIED: RiskBand
RISK_BAND_LOW: RiskBand
RISK_BAND_MODERATE: RiskBand
RISK_BAND_HIGH: RiskBand
RISK_BAND_SEVERE: RiskBand

class RiskRequest(_message.Message):
    __slots__ = ("model", "subject", "indicators", "series", "params", "demand")
    class IndicatorsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class SeriesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _series_pb2.Series
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_series_pb2.Series, _Mapping]] = ...) -> None: ...
    class ParamsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    MODEL_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    INDICATORS_FIELD_NUMBER: _ClassVar[int]
    SERIES_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    DEMAND_FIELD_NUMBER: _ClassVar[int]
    model: _model_pb2.ModelRef
    subject: str
    indicators: _containers.ScalarMap[str, float]
    series: _containers.MessageMap[str, _series_pb2.Series]
    params: _containers.ScalarMap[str, float]
    demand: _forecast_pb2.ForecastRequest
    def __init__(self, model: _Optional[_Union[_model_pb2.ModelRef, _Mapping]] = ..., subject: _Optional[str] = ..., indicators: _Optional[_Mapping[str, float]] = ..., series: _Optional[_Mapping[str, _series_pb2.Series]] = ..., params: _Optional[_Mapping[str, float]] = ..., demand: _Optional[_Union[_forecast_pb2.ForecastRequest, _Mapping]] = ...) -> None: ...

class Factor(_message.Message):
    __slots__ = ("indicator", "value", "contribution", "explanation")
    INDICATOR_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    CONTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    EXPLANATION_FIELD_NUMBER: _ClassVar[int]
    indicator: str
    value: float
    contribution: float
    explanation: str
    def __init__(self, indicator: _Optional[str] = ..., value: _Optional[float] = ..., contribution: _Optional[float] = ..., explanation: _Optional[str] = ...) -> None: ...

class RiskResponse(_message.Message):
    __slots__ = ("model", "subject", "score", "band", "factors", "notes")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    BAND_FIELD_NUMBER: _ClassVar[int]
    FACTORS_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    model: _model_pb2.ModelInfo
    subject: str
    score: float
    band: RiskBand
    factors: _containers.RepeatedCompositeFieldContainer[Factor]
    notes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, model: _Optional[_Union[_model_pb2.ModelInfo, _Mapping]] = ..., subject: _Optional[str] = ..., score: _Optional[float] = ..., band: _Optional[_Union[RiskBand, str]] = ..., factors: _Optional[_Iterable[_Union[Factor, _Mapping]]] = ..., notes: _Optional[_Iterable[str]] = ...) -> None: ...
