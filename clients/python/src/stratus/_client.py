"""The client: one channel, one method per call, pandas in and out."""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Union

import grpc
import pandas as pd

from stratus import _convert as convert
from stratus._convert import Ensemble, SeriesLike
from stratus._errors import StratusError, from_rpc_error
from stratus._proto import (
    dataset_pb2,
    dataset_pb2_grpc,
    evaluation_pb2,
    evaluation_pb2_grpc,
    forecast_pb2,
    forecast_pb2_grpc,
    model_pb2,
    model_pb2_grpc,
    risk_pb2,
    risk_pb2_grpc,
)

#: Where the server listens by default.
DEFAULT_ADDRESS = "127.0.0.1:50051"

#: PEM material: a path to a file, or the PEM itself as bytes.
Pem = Union[str, "os.PathLike[str]", bytes]

ModelsArg = Union[str, Sequence[str], None]
EnsembleArg = Union[Ensemble, Sequence[str], None]


@dataclass(frozen=True)
class RiskResult:
    """A risk score, explained.

    Unpacks as `score, band, factors = client.risk(...)`.

    Attributes:
        score: From 0 (no risk) to 100.
        band: `"LOW"`, `"MODERATE"`, `"HIGH"` or `"SEVERE"`.
        factors: One row per indicator the score used, largest contribution
            first: `indicator, value, contribution, explanation` (the
            contributions sum to the score).
        notes: What the model assumed or could not use, in plain words.
        model, version, sha256: The model and the library hash that scored it.
        subject: What was scored, as given.
    """

    score: float
    band: str
    factors: pd.DataFrame = field(repr=False)
    notes: list[str]
    model: str
    version: str
    sha256: str
    subject: str

    def __iter__(self) -> Iterator[Any]:
        return iter((self.score, self.band, self.factors))


def _pem(value: Optional[Pem], what: str) -> Optional[bytes]:
    """PEM bytes from bytes, a PEM string, or a path."""
    if value is None:
        return None
    if isinstance(value, bytes):
        return value
    if isinstance(value, str) and value.lstrip().startswith("-----BEGIN"):
        return value.encode()
    try:
        with open(value, "rb") as file:
            return file.read()
    except OSError as e:
        raise ValueError(f"cannot read {what} {value}: {e.strerror}") from None


def _target(address: str) -> tuple[str, Optional[bool]]:
    """`host:port` for gRPC, and whether the address asks for TLS (None: it does not say)."""
    if "://" not in address:
        if not address:
            raise ValueError("the server address is empty (expected e.g. 127.0.0.1:50051)")
        return address, None
    url = urllib.parse.urlsplit(address)
    scheme = url.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError(f"'{address}': the scheme must be http:// or https://")
    if url.path not in ("", "/") or url.query or url.fragment:
        raise ValueError(f"'{address}': a server address has no path (expected e.g. https://host:443)")
    if not url.hostname:
        raise ValueError(f"'{address}' names no host")
    host = f"[{url.hostname}]" if ":" in url.hostname else url.hostname
    port = url.port or (443 if scheme == "https" else 80)
    return f"{host}:{port}", scheme == "https"


class Client:
    """A connection to a Stratus server.

    Args:
        address: `host:port`, `http://host:port` (plaintext) or
            `https://host:port` (TLS). A bare `host:port` uses TLS when any
            of `ca`, `cert`, `key` is given, or `tls=True`.
        ca: CA certificate(s) to trust instead of the system roots (PEM: a
            path, a PEM string, or bytes).
        cert, key: Client certificate and its private key, for servers that
            require mutual TLS (both or neither).
        tls: Force TLS on (`True`) or off (`False`) for a bare `host:port`.
        server_name: The name to check the server's certificate against,
            when it differs from the host in `address`.
        timeout: Default deadline of each call in seconds (None: no deadline).
            Every method also takes `timeout=`.
        options: Extra gRPC channel options, as (name, value) pairs.

    The connection is made lazily on the first call. Use as a context manager,
    or call `close()`, to release it.

    Every method raises `stratus.StratusError` (a subclass per status code,
    e.g. `stratus.InvalidArgument`) when the server refuses or fails a call,
    and `ValueError`/`TypeError` for arguments it cannot send.
    """

    def __init__(
        self,
        address: str = DEFAULT_ADDRESS,
        *,
        ca: Optional[Pem] = None,
        cert: Optional[Pem] = None,
        key: Optional[Pem] = None,
        tls: Optional[bool] = None,
        server_name: Optional[str] = None,
        timeout: Optional[float] = 30.0,
        options: Sequence[tuple[str, Any]] = (),
    ) -> None:
        target, scheme_tls = _target(address)
        files = ca is not None or cert is not None or key is not None
        if (cert is None) != (key is None):
            raise ValueError("cert and key go together: give both for mutual TLS, or neither")
        if scheme_tls is False and (files or tls):
            raise ValueError(f"'{address}' is plaintext (http://); TLS options need https:// or a bare host:port")
        if scheme_tls is True and tls is False:
            raise ValueError(f"'{address}' is https://; tls=False contradicts it")
        use_tls = scheme_tls if scheme_tls is not None else bool(tls or files)
        channel_options: list[tuple[str, Any]] = [
            # The server bounds its answers; a backtest of many origins can pass 4 MiB.
            ("grpc.max_receive_message_length", -1),
            ("grpc.primary_user_agent", "stratus-python"),
        ]
        if server_name:
            channel_options.append(("grpc.ssl_target_name_override", server_name))
        channel_options.extend(options)
        if use_tls:
            credentials = grpc.ssl_channel_credentials(
                root_certificates=_pem(ca, "ca"),
                private_key=_pem(key, "key"),
                certificate_chain=_pem(cert, "cert"),
            )
            self._channel = grpc.secure_channel(target, credentials, options=channel_options)
        else:
            self._channel = grpc.insecure_channel(target, options=channel_options)
        self.address = address
        self.target = target
        self.tls = use_tls
        self.timeout = timeout
        self._forecast = forecast_pb2_grpc.ForecastServiceStub(self._channel)
        self._evaluation = evaluation_pb2_grpc.EvaluationServiceStub(self._channel)
        self._risk = risk_pb2_grpc.RiskServiceStub(self._channel)
        self._models = model_pb2_grpc.ModelServiceStub(self._channel)
        self._datasets = dataset_pb2_grpc.DatasetServiceStub(self._channel)

    def __repr__(self) -> str:
        return f"stratus.Client({self.address!r}, tls={self.tls})"

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Closes the connection; the client cannot be used afterwards."""
        self._channel.close()

    @property
    def channel(self) -> grpc.Channel:
        """The underlying gRPC channel, for calls through the generated stubs
        in `stratus._proto` that the methods here do not cover."""
        return self._channel

    # -- plumbing ---------------------------------------------------------------

    def _deadline(self, timeout: Optional[float]) -> Optional[float]:
        return self.timeout if timeout is None else timeout

    def _unary(self, method: Callable[..., Any], request: Any, timeout: Optional[float]) -> Any:
        try:
            return method(request, timeout=self._deadline(timeout))
        except grpc.RpcError as e:
            raise from_rpc_error(e) from None

    def _stream(
        self,
        method: Callable[..., Any],
        requests: list[Any],
        ids: list[Hashable],
        timeout: Optional[float],
    ) -> list[Any]:
        """Sends every request on one stream; the answers, in request order."""
        answers: list[Any] = []
        try:
            for answer in method(iter(requests), timeout=self._deadline(timeout)):
                expected = requests[len(answers)].request_id if len(answers) < len(requests) else None
                if answer.request_id != expected:
                    raise StratusError(
                        grpc.StatusCode.INTERNAL,
                        f"the stream answered request_id {answer.request_id!r} where {expected!r} was due",
                    )
                answers.append(answer)
        except grpc.RpcError as e:
            failed = ids[len(answers)] if len(answers) < len(ids) else None
            raise from_rpc_error(e, series_id=failed) from None
        if len(answers) != len(requests):
            raise StratusError(
                grpc.StatusCode.UNKNOWN,
                f"the stream ended after {len(answers)} of {len(requests)} answers",
                series_id=ids[len(answers)],
            )
        return answers

    # -- forecasts ----------------------------------------------------------------

    def forecast(
        self,
        data: Union[SeriesLike, str],
        model: Optional[str] = None,
        horizon: Optional[int] = None,
        levels: Sequence[float] = (80, 95),
        params: Optional[Mapping[str, float]] = None,
        interval_method: Optional[str] = None,
        ensemble: EnsembleArg = None,
        *,
        frequency: Optional[str] = None,
        name: Optional[str] = None,
        unit: str = "",
        timeout: Optional[float] = None,
    ) -> pd.DataFrame:
        """Forecasts one series, or many over one `ForecastStream` call.

        Args:
            data: A pandas Series indexed by period labels (`"2024"`,
                `"2024-Q3"`, `"2024-07"`; also years as integers, pandas
                Periods, or timestamps), oldest first; or a DataFrame with
                `period` and `value` columns, plus `series_id` for many series;
                or the name of a dataset the server holds.
            model: The model, `"name"` or `"name@version"`; default `"auto"`
                (when no `ensemble` is given).
            horizon: Periods to forecast.
            levels: Interval coverages in percent.
            params: Model parameters (see `models()` for each model's).
            interval_method: None or `"model"` for the model's own intervals;
                `"conformal"` for intervals the server calibrates from the
                model's errors on the series' own history.
            ensemble: Instead of `model`: model names to combine by their
                mean, or a `stratus.Ensemble` choosing the combination.
            frequency: `"annual"`, `"quarterly"` or `"monthly"`; by default
                inferred from the periods.
            name: The series' name (default: the Series' own name, or
                "series"); with `series_id` each series is named by its id.
            unit: The series' unit, free text.
            timeout: Deadline in seconds for this call (default: the client's).

        Returns:
            A DataFrame with columns `period, mean, growth` (year-on-year, in
            percent; NaN where there is no base a year earlier) and `lo_L,
            hi_L` for each level L, e.g. `lo_80, hi_80, lo_95, hi_95`; with
            `series_id` first for many series, in input order. `attrs` holds
            `model`, `version` and `sha256` (the library that produced it),
            `series_name`, `notes`, `fitted` (parameters the model estimated),
            `members` (for an ensemble: each member's model, version, sha256
            and weight) and `scenarios` (name → records of the same columns).
            For many series, `notes`, `fitted`, `members` and `scenarios` are
            dicts by `series_id`.
        """
        build: dict[str, Any] = dict(
            model=model,
            horizon=horizon,
            levels=levels,
            params=params,
            interval_method=interval_method,
            ensemble=ensemble,
            frequency=frequency,
            unit=unit,
        )
        if isinstance(data, pd.DataFrame) and "series_id" in data.columns:
            parts = convert.split_series(data)
            ids = [key for key, _ in parts]
            requests = []
            for key, rows in parts:
                request = _forecast_request(rows, name=str(key), **build)
                request.request_id = str(key)
                requests.append(request)
            if not requests:
                raise ValueError("the frame has no rows")
            answers = self._stream(self._forecast.ForecastStream, requests, ids, timeout)
            frames = []
            for key, answer in zip(ids, answers):
                frame = convert.points_frame(answer.points)
                frame.insert(0, "series_id", [key] * len(frame))
                frames.append(frame)
            out = pd.concat(frames, ignore_index=True)
            details = [convert.forecast_attrs(a) for a in answers]
            out.attrs = {
                **convert.model_attrs(answers[0].model),
                **{part: {k: d[part] for k, d in zip(ids, details)} for part in ("notes", "fitted", "members", "scenarios")},
            }
            return out
        request = _forecast_request(data, name=name, **build)
        answer = self._unary(self._forecast.Forecast, request, timeout)
        frame = convert.points_frame(answer.points)
        frame.attrs = convert.forecast_attrs(answer)
        return frame

    def backtest(
        self,
        data: Union[SeriesLike, str],
        models: ModelsArg = None,
        horizon: Optional[int] = None,
        origins: int = 1,
        step: int = 1,
        levels: Sequence[float] = (80, 95),
        params: Optional[Mapping[str, float]] = None,
        interval_method: Optional[str] = None,
        ensembles: Optional[Sequence[Union[Ensemble, Sequence[str]]]] = None,
        *,
        frequency: Optional[str] = None,
        name: Optional[str] = None,
        unit: str = "",
        timeout: Optional[float] = None,
    ) -> pd.DataFrame:
        """Scores forecast models on a series' own history (rolling origins).

        Origin j of k trains on all but the last `horizon + (k-1-j)*step`
        observations and is scored on the `horizon` after them; each metric is
        averaged over origins. Naive2 (M4's benchmark) is scored by the server
        on the same origins as the reference every OWA is measured against.

        Args:
            data: As for `forecast()`: a Series, a `period,value` frame (with
                `series_id` for many series, over one `BacktestStream` call),
                or a dataset name.
            models: Model names (`"name"` or `"name@version"`), or one name.
            horizon: Periods forecast from each origin.
            origins: How many forecast origins.
            step: Observations between consecutive origins.
            levels: Interval coverages to score, in percent.
            params: Parameters, given to each model that declares them.
            interval_method: None/`"model"` or `"conformal"`.
            ensembles: Ensembles to score beside the models (each a
                `stratus.Ensemble` or a list of model names, combined by mean).
            frequency, name, unit: As for `forecast()`.
            timeout: Deadline in seconds for this call (default: the client's).

        Returns:
            A ranking: one row per model, ensemble and `naive2`, best OWA
            first (a model that could not be scored has NaN metrics, the
            reason in `error`, and comes last). Columns `model, version,
            sha256, smape, mase, owa, cover_L` (share of outcomes inside each
            level's interval, 0 to 1), `msis` (95% interval score) and
            `error`; `series_id` first for many series. `attrs` holds
            `series_name` (for one series), `horizon` and `origins`.
        """
        if isinstance(models, str):
            models = [models]
        request_template = evaluation_pb2.BacktestRequest(
            models=[convert.model_ref(m) for m in (models or [])],
            horizon=_horizon(horizon),
            origins=origins,
            step=step,
            levels=[float(level) for level in levels],
            params=convert.params_map(params),
            interval_method=convert.interval_method(interval_method),
            ensembles=[convert.ensemble_proto(e) for e in (ensembles or [])],
        )
        if isinstance(data, pd.DataFrame) and "series_id" in data.columns:
            parts = convert.split_series(data)
            if not parts:
                raise ValueError("the frame has no rows")
            ids = [key for key, _ in parts]
            requests = []
            for key, rows in parts:
                request = evaluation_pb2.BacktestRequest()
                request.CopyFrom(request_template)
                request.series.CopyFrom(convert.series_proto(rows, str(key), unit, frequency))
                request.request_id = str(key)
                requests.append(request)
            answers = self._stream(self._evaluation.BacktestStream, requests, ids, timeout)
            frames = []
            for key, answer in zip(ids, answers):
                frame = convert.scores_frame(answer)
                frame.insert(0, "series_id", [key] * len(frame))
                frames.append(frame)
            out = pd.concat(frames, ignore_index=True)
            out.attrs = {"horizon": request_template.horizon, "origins": max(origins, 1)}
            return out
        request = request_template
        _set_source(request, data, name, unit, frequency)
        answer = self._unary(self._evaluation.Backtest, request, timeout)
        frame = convert.scores_frame(answer)
        frame.attrs = {"series_name": answer.series_name, "horizon": request.horizon, "origins": max(origins, 1)}
        return frame

    # -- risk ---------------------------------------------------------------------

    def risk(
        self,
        model: str = "bubble",
        indicators: Optional[Mapping[str, float]] = None,
        *,
        subject: str = "",
        series: Optional[Mapping[str, SeriesLike]] = None,
        params: Optional[Mapping[str, float]] = None,
        demand: Optional[Mapping[str, Any]] = None,
        timeout: Optional[float] = None,
    ) -> RiskResult:
        """Scores over-investment risk with a risk model.

        Args:
            model: The risk model, `"name"` or `"name@version"`.
            indicators: Indicator values by name (see the `inputs` column of
                `models()`), e.g. `{"capex_growth_pct": 202, "utilization_pct": 30}`.
            subject: What is being scored, e.g. "China AI data centres 2025".
            series: Series the model may derive indicators from, by role
                (e.g. `{"capex": capex_series}`), each as for `forecast()`.
            params: Model parameters.
            demand: A forecast for the server to run first and hand to the
                model as its demand path: the arguments of `forecast()` as a
                dict, e.g. `{"data": "china-cloud-infra-annual", "model":
                "canalys", "horizon": 3}` (one series).
            timeout: Deadline in seconds for this call (default: the client's).

        Returns:
            A `RiskResult`: `score`, `band` and the `factors` frame (also
            unpacked in that order), with `notes` and the model's `model`,
            `version` and `sha256`.
        """
        request = risk_pb2.RiskRequest(
            model=convert.model_ref(model),
            subject=subject,
            indicators=convert.params_map(indicators),
            params=convert.params_map(params),
        )
        for role, data in (series or {}).items():
            request.series[role].CopyFrom(convert.series_proto(data, convert.series_name(data, role)))
        if demand is not None:
            request.demand.CopyFrom(_forecast_request(**demand))
        answer = self._unary(self._risk.ScoreRisk, request, timeout)
        factors = pd.DataFrame(
            [
                {
                    "indicator": f.indicator,
                    "value": f.value,
                    "contribution": f.contribution,
                    "explanation": f.explanation,
                }
                for f in answer.factors
            ],
            columns=["indicator", "value", "contribution", "explanation"],
        )
        factors = factors.sort_values("contribution", ascending=False, kind="stable").reset_index(drop=True)
        info = convert.model_attrs(answer.model)
        factors.attrs = {**info, "subject": answer.subject}
        return RiskResult(
            score=answer.score,
            band=convert.band_name(answer.band),
            factors=factors,
            notes=list(answer.notes),
            subject=answer.subject,
            **info,
        )

    # -- models and datasets ----------------------------------------------------------

    def models(self, *, timeout: Optional[float] = None) -> pd.DataFrame:
        """Every model the server knows: loaded ones and libraries it refused.

        Returns:
            One row per model: `name, version, kind` ("forecast"/"risk"),
            `state` ("ready"/"failed"), `sha256` (of the library as loaded),
            `abi_version, isolation, library_path, loaded_at` (UTC),
            `last_error, description, params` and `inputs` (names; see
            `model()` for their ranges), `host_pid, restarts`.
        """
        answer = self._unary(self._models.ListModels, model_pb2.ListModelsRequest(), timeout)
        return pd.DataFrame(
            [convert.model_record(m) for m in answer.models],
            columns=list(convert.model_record(model_pb2.ModelInfo()).keys()),
        )

    def model(self, name: str, *, timeout: Optional[float] = None) -> dict[str, Any]:
        """One model (`"name"` or `"name@version"`; no version: the newest).

        Returns:
            The fields of a `models()` row, with `params` and `inputs` as
            lists of dicts: `name, description, default, min, max`.
        """
        request = model_pb2.GetModelRequest(model=convert.model_ref(name))
        info = self._unary(self._models.GetModel, request, timeout)
        record = convert.model_record(info)
        record["params"] = convert.param_specs(info.params)
        record["inputs"] = convert.param_specs(info.inputs)
        return record

    def datasets(self, *, timeout: Optional[float] = None) -> pd.DataFrame:
        """The datasets the server holds (built-in and from its --data-dir).

        Returns:
            One row per dataset: `name, description, source, origin,
            frequency, unit, observations` (their count), `first_period,
            last_period`. Pass a name to `forecast()`, or get the figures with
            `dataset()`.
        """
        answer = self._unary(self._datasets.ListDatasets, dataset_pb2.ListDatasetsRequest(), timeout)
        return pd.DataFrame(
            [convert.dataset_record(d) for d in answer.datasets],
            columns=list(convert.dataset_record(dataset_pb2.Dataset()).keys()),
        )

    def dataset(self, name: str, *, timeout: Optional[float] = None) -> pd.Series:
        """One dataset's figures: a Series indexed by period, named after it.

        `attrs` holds `unit`, `frequency`, `description`, `source` and `origin`.
        """
        answer = self._unary(self._datasets.GetDataset, dataset_pb2.GetDatasetRequest(name=name), timeout)
        series = convert.series_from_proto(answer.series)
        series.name = answer.name
        series.attrs.update(description=answer.description, source=answer.source, origin=answer.origin)
        return series


def _horizon(horizon: Optional[int]) -> int:
    if horizon is None:
        raise TypeError("horizon is required: how many periods to forecast")
    if isinstance(horizon, bool) or not isinstance(horizon, int) and not hasattr(horizon, "__index__"):
        raise TypeError(f"horizon must be an integer, not {horizon!r}")
    if horizon < 0:
        # uint32 on the wire; the server explains what is accepted.
        horizon = 0
    return int(horizon)


def _set_source(
    request: Union[forecast_pb2.ForecastRequest, evaluation_pb2.BacktestRequest],
    data: Union[SeriesLike, str],
    name: Optional[str],
    unit: str,
    frequency: Optional[str],
) -> None:
    if isinstance(data, str):
        request.dataset = data
    else:
        request.series.CopyFrom(convert.series_proto(data, convert.series_name(data, name), unit, frequency))


def _forecast_request(
    data: Union[SeriesLike, str],
    model: Optional[str] = None,
    horizon: Optional[int] = None,
    levels: Sequence[float] = (80, 95),
    params: Optional[Mapping[str, float]] = None,
    interval_method: Optional[str] = None,
    ensemble: EnsembleArg = None,
    frequency: Optional[str] = None,
    name: Optional[str] = None,
    unit: str = "",
) -> forecast_pb2.ForecastRequest:
    """One ForecastRequest (one series) from `forecast()`'s arguments."""
    if model is not None and ensemble is not None:
        raise ValueError("give model or ensemble, not both")
    if isinstance(data, pd.DataFrame) and "series_id" in data.columns:
        raise ValueError("one series here: drop the series_id column")
    request = forecast_pb2.ForecastRequest(
        horizon=_horizon(horizon),
        levels=[float(level) for level in levels],
        params=convert.params_map(params),
        interval_method=convert.interval_method(interval_method),
    )
    if ensemble is not None:
        request.ensemble.CopyFrom(convert.ensemble_proto(ensemble))
    else:
        request.model.CopyFrom(convert.model_ref(model if model is not None else "auto"))
    _set_source(request, data, name, unit, frequency)
    return request
