"""pandas in, protobuf out, and back."""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Optional, Union

import pandas as pd

from stratus._proto import (
    dataset_pb2,
    evaluation_pb2,
    forecast_pb2,
    model_pb2,
    risk_pb2,
    series_pb2,
)

#: What `frequency=` accepts, and what frames report.
FREQUENCIES: dict[str, series_pb2.Frequency] = {
    "annual": series_pb2.FREQUENCY_ANNUAL,
    "quarterly": series_pb2.FREQUENCY_QUARTERLY,
    "monthly": series_pb2.FREQUENCY_MONTHLY,
}
_FREQUENCY_NAMES: dict[int, str] = {v: k for k, v in FREQUENCIES.items()}

# The shape of each frequency's labels; the server checks the rest (Q5,
# month 13, gaps) and names the observation at fault.
_LABEL_SHAPES = (
    (re.compile(r"\d{4}"), "annual"),
    (re.compile(r"\d{4}-Q\d"), "quarterly"),
    (re.compile(r"\d{4}-\d{2}"), "monthly"),
)

_COMBINATIONS: dict[str, forecast_pb2.Combination] = {
    "mean": forecast_pb2.COMBINATION_MEAN,
    "median": forecast_pb2.COMBINATION_MEDIAN,
    "weighted": forecast_pb2.COMBINATION_BACKTEST_WEIGHTED,
}

_INTERVAL_METHODS: dict[Optional[str], forecast_pb2.IntervalMethod] = {
    None: forecast_pb2.INTERVAL_METHOD_UNSPECIFIED,
    "model": forecast_pb2.INTERVAL_METHOD_MODEL,
    "conformal": forecast_pb2.INTERVAL_METHOD_CONFORMAL,
}

SeriesLike = Union[pd.Series, pd.DataFrame]
"""A pandas Series indexed by period labels, or a frame with `period` and
`value` columns (and `series_id` for many series)."""


@dataclass(frozen=True)
class Ensemble:
    """Several forecast models run on the same series and combined point by point.

    Args:
        members: Model names, each `name` or `name@version`.
        combine: `"mean"`, `"median"`, or `"weighted"` (a mean weighted by each
            member's inverse OWA in a 3-origin backtest on the series).
    """

    members: Sequence[str]
    combine: str = "mean"

    def to_proto(self) -> forecast_pb2.Ensemble:
        """The `stratus.v1.Ensemble` message."""
        if isinstance(self.members, str):
            raise TypeError("Ensemble.members is a list of model names, not one string")
        if self.combine not in _COMBINATIONS:
            raise ValueError(f"combine must be one of {sorted(_COMBINATIONS)}, not {self.combine!r}")
        return forecast_pb2.Ensemble(
            members=[model_ref(m) for m in self.members], combination=_COMBINATIONS[self.combine]
        )


def model_ref(model: str) -> model_pb2.ModelRef:
    """`"naive"` or `"naive@1.0.0"` as a ModelRef (no version: the newest loaded)."""
    if not isinstance(model, str):
        raise TypeError(f"a model is named by a string such as 'naive' or 'naive@1.0.0', not {model!r}")
    name, _, version = model.partition("@")
    return model_pb2.ModelRef(name=name, version=version)


def ensemble_proto(ensemble: Union[Ensemble, Sequence[str]]) -> forecast_pb2.Ensemble:
    """An Ensemble, or a list of model names combined by their mean."""
    if isinstance(ensemble, Ensemble):
        return ensemble.to_proto()
    if isinstance(ensemble, str):
        raise TypeError("ensemble is a list of model names (or an Ensemble), not one string")
    return Ensemble(list(ensemble)).to_proto()


def interval_method(method: Optional[str]) -> forecast_pb2.IntervalMethod:
    """None (the model's own), `"model"` or `"conformal"`."""
    if method not in _INTERVAL_METHODS:
        raise ValueError(f"interval_method must be None, 'model' or 'conformal', not {method!r}")
    return _INTERVAL_METHODS[method]


def params_map(params: Optional[Mapping[str, float]]) -> dict[str, float]:
    """Model parameters as floats."""
    return {str(k): float(v) for k, v in (params or {}).items()}


# -- periods ------------------------------------------------------------------


def _frequency_of_offset(freq: Any) -> Optional[str]:
    """`annual`, `quarterly` or `monthly` from a pandas frequency ("Y-DEC", "QS", "ME", ...)."""
    if freq is None:
        return None
    code = getattr(freq, "freqstr", freq)
    code = str(code).upper().lstrip("B")
    if code.startswith(("Y", "A")):
        return "annual"
    if code.startswith("Q"):
        return "quarterly"
    if code.startswith("M"):
        return "monthly"
    return None


def _frequency_of_dates(dates: Sequence[Union[pd.Timestamp, datetime.date]]) -> Optional[str]:
    """The frequency of dates a constant whole number of months apart (12, 3 or 1)."""
    months = [d.year * 12 + d.month for d in dates]
    gaps = {b - a for a, b in zip(months, months[1:])}
    return {frozenset({12}): "annual", frozenset({3}): "quarterly", frozenset({1}): "monthly"}.get(frozenset(gaps))


def _label_of_time(value: Union[pd.Period, pd.Timestamp, datetime.date], frequency: str) -> str:
    if frequency == "annual":
        return f"{value.year:04d}"
    if frequency == "quarterly":
        return f"{value.year:04d}-Q{(value.month - 1) // 3 + 1}"
    return f"{value.year:04d}-{value.month:02d}"


def period_labels(values: Iterable[Any], frequency: Optional[str] = None) -> tuple[list[str], str]:
    """Period labels ("2024", "2024-Q3", "2024-07") and their frequency.

    Accepts labels as strings, years as integers, pandas Periods, and
    timestamps or dates (whose frequency comes from `frequency=`, or from
    the spacing of the dates: 12, 3 or 1 months).
    """
    if frequency is not None and frequency not in FREQUENCIES:
        raise ValueError(f"frequency must be one of {sorted(FREQUENCIES)}, not {frequency!r}")
    values = list(values)
    if not values:
        return [], frequency or "annual"
    first = values[0]
    if isinstance(first, pd.Period):
        freq = frequency or _frequency_of_offset(first.freqstr)
        if freq is None:
            raise ValueError(f"periods of frequency {first.freqstr} are not annual, quarterly or monthly")
        return [_label_of_time(p, freq) for p in values], freq
    if isinstance(first, (pd.Timestamp, datetime.date)):
        freq = frequency or _frequency_of_dates(values)
        if freq is None:
            raise ValueError(
                "cannot tell the frequency of these dates (not evenly 12, 3 or 1 months apart): "
                "pass frequency='annual', 'quarterly' or 'monthly'"
            )
        return [_label_of_time(pd.Timestamp(t), freq) for t in values], freq
    labels = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, (str, int)) and not hasattr(value, "__index__"):
            raise ValueError(f"period {value!r} is not a label such as '2024', '2024-Q3' or '2024-07'")
        labels.append(value if isinstance(value, str) else f"{int(value):04d}")
    if frequency is None:
        for shape, name in _LABEL_SHAPES:
            if shape.fullmatch(labels[0]):
                frequency = name
                break
        else:
            raise ValueError(
                f"period {labels[0]!r} is not annual ('2024'), quarterly ('2024-Q3') or monthly ('2024-07')"
            )
    return labels, frequency


def series_proto(
    data: SeriesLike, name: str = "", unit: str = "", frequency: Optional[str] = None
) -> series_pb2.Series:
    """A `stratus.v1.Series` from a pandas Series indexed by period, or a frame
    with `period` and `value` columns. Observations are sent in the given
    order (the server wants them oldest first, consecutive)."""
    if isinstance(data, pd.DataFrame):
        missing = {"period", "value"} - set(data.columns)
        if missing:
            raise ValueError(f"the frame needs columns period and value (missing: {', '.join(sorted(missing))})")
        periods, values = data["period"], data["value"]
    elif isinstance(data, pd.Series):
        periods, values = data.index, data
    else:
        raise TypeError(f"data must be a pandas Series or DataFrame, not {type(data).__name__}")
    labels, freq = period_labels(periods, frequency)
    try:
        numbers = [float(v) for v in values]
    except (TypeError, ValueError) as e:
        raise ValueError(f"values must be numbers: {e}") from None
    return series_pb2.Series(
        name=name,
        unit=unit,
        frequency=FREQUENCIES[freq],
        observations=[series_pb2.Observation(period=p, value=v) for p, v in zip(labels, numbers)],
    )


def series_name(data: SeriesLike, name: Optional[str]) -> str:
    """The name to send: `name=`, else a Series' own name, else "series"."""
    if name is not None:
        return name
    if isinstance(data, pd.Series) and data.name is not None:
        return str(data.name)
    return "series"


def split_series(frame: pd.DataFrame) -> list[tuple[Hashable, pd.DataFrame]]:
    """A frame with `series_id` as (series_id, rows) in order of first appearance."""
    ids = frame["series_id"]
    if ids.isna().any():
        raise ValueError("series_id has missing values; every row needs one")
    return [(key, rows.drop(columns="series_id")) for key, rows in frame.groupby("series_id", sort=False)]


def series_from_proto(series: series_pb2.Series) -> pd.Series:
    """A `stratus.v1.Series` as a pandas Series indexed by period."""
    index = pd.Index([o.period for o in series.observations], name="period", dtype=object)
    out = pd.Series([o.value for o in series.observations], index=index, name=series.name, dtype=float)
    out.attrs.update(unit=series.unit, frequency=_FREQUENCY_NAMES.get(series.frequency, ""))
    return out


# -- answers --------------------------------------------------------------------


def level_label(level: float) -> str:
    """80.0 → "80", 97.5 → "97.5": the suffix of `lo_`/`hi_` columns."""
    return str(int(level)) if float(level).is_integer() else repr(float(level))


def points_frame(points: Sequence[forecast_pb2.ForecastPoint]) -> pd.DataFrame:
    """period, mean, growth, then lo_L, hi_L for each interval level."""
    levels: list[float] = []
    for point in points:
        for interval in point.intervals:
            if interval.level not in levels:
                levels.append(interval.level)
    columns: dict[str, list[Any]] = {
        "period": [p.period for p in points],
        "mean": [p.mean for p in points],
        "growth": [p.growth for p in points],
    }
    for level in levels:
        bounds = [{i.level: i for i in p.intervals}.get(level) for p in points]
        label = level_label(level)
        columns[f"lo_{label}"] = [b.lower if b is not None else math.nan for b in bounds]
        columns[f"hi_{label}"] = [b.upper if b is not None else math.nan for b in bounds]
    frame = pd.DataFrame(columns)
    frame["period"] = frame["period"].astype(object)
    return frame.astype({c: float for c in frame.columns if c != "period"})


def model_attrs(info: model_pb2.ModelInfo) -> dict[str, str]:
    """model, version and sha256 of a ModelInfo."""
    return {"model": info.name, "version": info.version, "sha256": info.sha256}


def forecast_attrs(response: forecast_pb2.ForecastResponse) -> dict[str, Any]:
    """Everything in a forecast answer besides its points, as plain values."""
    return {
        **model_attrs(response.model),
        "series_name": response.series_name,
        "notes": list(response.notes),
        "fitted": dict(sorted(response.fitted.items())),
        "members": [{**model_attrs(m.model), "weight": m.weight} for m in response.members],
        "scenarios": {
            s.name: points_frame(s.points).to_dict(orient="records") for s in response.scenarios
        },
    }


def scores_frame(response: evaluation_pb2.BacktestResponse) -> pd.DataFrame:
    """One row per scored model (and Naive2), best OWA first, unscored last."""
    rows = []
    scores = list(response.scores)
    if response.HasField("naive2"):
        scores.append(response.naive2)
    for score in scores:
        row: dict[str, Any] = {
            **model_attrs(score.model),
            "smape": score.smape,
            "mase": score.mase,
            "owa": score.owa,
        }
        for coverage in score.coverage:
            row[f"cover_{level_label(coverage.level)}"] = coverage.coverage
        row["msis"] = score.msis
        row["error"] = score.error
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    cover = [c for c in frame.columns if c.startswith("cover_")]
    frame = frame[["model", "version", "sha256", "smape", "mase", "owa", *cover, "msis", "error"]]
    return frame.sort_values("owa", na_position="last", kind="stable").reset_index(drop=True)


_KINDS: dict[int, str] = {model_pb2.MODEL_KIND_FORECAST: "forecast", model_pb2.MODEL_KIND_RISK: "risk"}
_STATES: dict[int, str] = {model_pb2.MODEL_STATE_READY: "ready", model_pb2.MODEL_STATE_FAILED: "failed"}
_ISOLATION: dict[int, str] = {model_pb2.ISOLATION_IN_PROCESS: "in_process", model_pb2.ISOLATION_PROCESS: "process"}
_BANDS: dict[int, str] = {
    risk_pb2.RISK_BAND_LOW: "LOW",
    risk_pb2.RISK_BAND_MODERATE: "MODERATE",
    risk_pb2.RISK_BAND_HIGH: "HIGH",
    risk_pb2.RISK_BAND_SEVERE: "SEVERE",
}


def band_name(band: int) -> str:
    """RISK_BAND_SEVERE → "SEVERE" ("" when unspecified)."""
    return _BANDS.get(band, "")


def param_specs(specs: Sequence[model_pb2.ParamSpec]) -> list[dict[str, Any]]:
    """Parameter (or indicator) specs as dicts."""
    return [
        {"name": p.name, "description": p.description, "default": p.default_value, "min": p.min, "max": p.max}
        for p in specs
    ]


def model_record(info: model_pb2.ModelInfo) -> dict[str, Any]:
    """A ModelInfo as one row of `Client.models()`."""
    loaded_at = (
        pd.Timestamp(info.loaded_at.ToDatetime(tzinfo=datetime.timezone.utc))
        if info.HasField("loaded_at")
        else pd.NaT
    )
    return {
        "name": info.name,
        "version": info.version,
        "kind": _KINDS.get(info.kind, ""),
        "state": _STATES.get(info.state, ""),
        "sha256": info.sha256,
        "abi_version": info.abi_version,
        "isolation": _ISOLATION.get(info.isolation, ""),
        "library_path": info.library_path,
        "loaded_at": loaded_at,
        "last_error": info.last_error,
        "description": info.description,
        "params": [p.name for p in info.params],
        "inputs": [p.name for p in info.inputs],
        "host_pid": info.host_pid,
        "restarts": info.restarts,
    }


def dataset_record(dataset: dataset_pb2.Dataset) -> dict[str, Any]:
    """A Dataset (without its observations) as one row of `Client.datasets()`."""
    return {
        "name": dataset.name,
        "description": dataset.description,
        "source": dataset.source,
        "origin": dataset.origin,
        "frequency": _FREQUENCY_NAMES.get(dataset.series.frequency, ""),
        "unit": dataset.series.unit,
        "observations": dataset.observation_count,
        "first_period": dataset.first_period,
        "last_period": dataset.last_period,
    }
