from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Frequency(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FREQUENCY_UNSPECIFIED: _ClassVar[Frequency]
    FREQUENCY_ANNUAL: _ClassVar[Frequency]
    FREQUENCY_QUARTERLY: _ClassVar[Frequency]
    FREQUENCY_MONTHLY: _ClassVar[Frequency]
FREQUENCY_UNSPECIFIED: Frequency
FREQUENCY_ANNUAL: Frequency
FREQUENCY_QUARTERLY: Frequency
FREQUENCY_MONTHLY: Frequency

class Observation(_message.Message):
    __slots__ = ("period", "value")
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    period: str
    value: float
    def __init__(self, period: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...

class Series(_message.Message):
    __slots__ = ("name", "unit", "frequency", "observations")
    NAME_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    FREQUENCY_FIELD_NUMBER: _ClassVar[int]
    OBSERVATIONS_FIELD_NUMBER: _ClassVar[int]
    name: str
    unit: str
    frequency: Frequency
    observations: _containers.RepeatedCompositeFieldContainer[Observation]
    def __init__(self, name: _Optional[str] = ..., unit: _Optional[str] = ..., frequency: _Optional[_Union[Frequency, str]] = ..., observations: _Optional[_Iterable[_Union[Observation, _Mapping]]] = ...) -> None: ...
