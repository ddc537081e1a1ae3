"""Forecasts through the package: frames checked against hand computations,
many series through ForecastStream, the metadata in attrs."""

from __future__ import annotations

import math
import random
from statistics import NormalDist

import pandas as pd
import pytest

import stratus

COLUMNS = ["period", "mean", "growth", "lo_80", "hi_80", "lo_95", "hi_95"]


def z(level: float) -> float:
    """The two-sided normal quantile of a level in percent."""
    return NormalDist().inv_cdf(0.5 + level / 200)


def test_naive_forecast_matches_a_hand_computation(client):
    history = pd.Series([10.0, 12.0, 15.0, 16.0], index=["2020", "2021", "2022", "2023"], name="hand")
    frame = client.forecast(history, model="naive", horizon=3)

    assert list(frame.columns) == COLUMNS
    assert list(frame["period"]) == ["2024", "2025", "2026"]
    # Random walk with drift: drift = (16 - 10) / 3 = 2; the one-step
    # residuals 2-2, 3-2, 1-2 = 0, 1, -1 give sigma^2 = 2 / (3 - 1) = 1, and
    # step h's standard error is sigma * sqrt(h * (1 + h/3)).
    drift, sigma, steps = 2.0, 1.0, 3
    path = [16.0 + h * drift for h in (1, 2, 3)]
    previous = [16.0, *path[:-1]]
    for h, row in enumerate(frame.itertuples(index=False), start=1):
        mean = path[h - 1]
        se = sigma * math.sqrt(h * (1 + h / steps))
        assert row.mean == pytest.approx(mean, abs=1e-12)
        assert row.growth == pytest.approx(100 * (mean / previous[h - 1] - 1), abs=1e-9)
        assert row.lo_80 == pytest.approx(mean - z(80) * se, abs=1e-6)
        assert row.hi_80 == pytest.approx(mean + z(80) * se, abs=1e-6)
        assert row.lo_95 == pytest.approx(mean - z(95) * se, abs=1e-6)
        assert row.hi_95 == pytest.approx(mean + z(95) * se, abs=1e-6)
    assert frame.loc[0, "growth"] == pytest.approx(12.5)

    assert frame.attrs["model"] == "naive"
    assert frame.attrs["version"]
    assert len(frame.attrs["sha256"]) == 64
    assert frame.attrs["series_name"] == "hand"
    assert frame.attrs["fitted"] == {"drift": 2.0, "sigma": 1.0}
    assert any("drift" in note for note in frame.attrs["notes"])


def test_the_sha256_in_attrs_is_the_loaded_library(client):
    frame = client.forecast("china-cloud-infra-annual", model="naive", horizon=1)
    models = client.models().set_index("name")
    assert frame.attrs["sha256"] == models.loc["naive", "sha256"]
    assert frame.attrs["version"] == models.loc["naive", "version"]


def test_quarterly_frame_input_is_seasonal_naive(client):
    # period,value columns; quarterly labels are recognised from their shape.
    history = pd.DataFrame(
        {
            "period": ["2022-Q1", "2022-Q2", "2022-Q3", "2022-Q4", "2023-Q1", "2023-Q2", "2023-Q3", "2023-Q4"],
            "value": [1.0, 2.0, 3.0, 4.0, 2.0, 3.0, 4.0, 6.0],
        }
    )
    frame = client.forecast(history, model="naive", horizon=6, levels=[90])

    assert list(frame.columns) == ["period", "mean", "growth", "lo_90", "hi_90"]
    assert list(frame["period"]) == ["2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4", "2025-Q1", "2025-Q2"]
    # Seasonal naive repeats the last year; growth is against the same quarter
    # a year earlier (0% for the repeated year).
    assert list(frame["mean"]) == [2.0, 3.0, 4.0, 6.0, 2.0, 3.0]
    assert list(frame["growth"]) == pytest.approx([0.0] * 6)
    # sigma^2 = mean of the squared seasonal differences (1, 1, 1, 2) = 7/4;
    # the second year's standard error is sqrt(2) times the first's.
    se = math.sqrt(7 / 4)
    assert frame.loc[0, "hi_90"] - frame.loc[0, "mean"] == pytest.approx(z(90) * se, abs=1e-6)
    assert frame.loc[4, "hi_90"] - frame.loc[4, "mean"] == pytest.approx(z(90) * se * math.sqrt(2), abs=1e-6)


def test_periods_as_pandas_periods_years_or_strings_forecast_alike(client):
    values = [11.5, 19.0, 27.4, 30.3, 35.4, 40.0]
    by_label = client.forecast(pd.Series(values, index=[str(y) for y in range(2019, 2025)]), model="naive", horizon=2)
    by_year = client.forecast(pd.Series(values, index=range(2019, 2025)), model="naive", horizon=2)
    by_period = client.forecast(
        pd.Series(values, index=pd.period_range("2019", periods=6, freq="Y")), model="naive", horizon=2
    )
    by_dataset = client.forecast("china-cloud-infra-annual", model="naive", horizon=2)
    for frame in (by_year, by_period, by_dataset):
        pd.testing.assert_frame_equal(frame, by_label)
    monthly = pd.Series(range(1, 13), index=pd.date_range("2024-01-01", periods=12, freq="MS"), dtype=float)
    assert list(client.forecast(monthly, model="naive", horizon=2)["period"]) == ["2025-01", "2025-02"]


def test_levels_name_their_columns(client):
    frame = client.forecast("china-cloud-infra-annual", model="naive", horizon=2, levels=(97.5, 50))
    # The server orders levels; each gets a lo_/hi_ pair.
    assert list(frame.columns) == ["period", "mean", "growth", "lo_50", "hi_50", "lo_97.5", "hi_97.5"]
    assert (frame["lo_97.5"] < frame["lo_50"]).all() and (frame["hi_50"] < frame["hi_97.5"]).all()


def test_params_and_conformal_intervals_reach_the_server(client):
    flat = client.forecast("china-cloud-infra-annual", model="naive", horizon=2, params={"drift": 0})
    assert list(flat["mean"]) == [40.0, 40.0]
    conformal = client.forecast(
        "china-cloud-infra-quarterly", model="naive", horizon=2, interval_method="conformal"
    )
    assert any("conformal" in note.lower() for note in conformal.attrs["notes"])


def test_an_ensemble_lists_its_members(client):
    frame = client.forecast(
        "china-cloud-infra-quarterly", ensemble=stratus.Ensemble(["naive", "canalys"], combine="median"), horizon=2
    )
    members = frame.attrs["members"]
    assert [m["model"] for m in members] == ["naive", "canalys"]
    assert all(len(m["sha256"]) == 64 for m in members)
    assert sum(m["weight"] for m in members) == pytest.approx(1.0)
    # A plain list of names is a mean ensemble.
    mean = client.forecast("china-cloud-infra-quarterly", ensemble=["naive", "canalys"], horizon=2)
    assert mean.attrs["model"] == "ensemble"


def test_scenarios_are_in_attrs(client):
    frame = client.forecast("china-cloud-infra-annual", model="mckinsey", horizon=3)
    scenarios = frame.attrs["scenarios"]
    assert set(scenarios) == {"conservative", "base", "accelerated"}
    assert [row["period"] for row in scenarios["base"]] == ["2025", "2026", "2027"]


def test_many_series_go_through_the_stream_in_input_order(client, monkeypatch):
    rng = random.Random(7)
    ids = rng.sample(range(1000, 9999), 40)  # not sorted: input order must be kept
    rows = []
    for n, series_id in enumerate(ids):
        length = 4 + n % 5
        start = 2000 + n % 7
        level = rng.uniform(10, 100)
        for i in range(length):
            level += rng.uniform(-2, 5)
            rows.append({"series_id": series_id, "period": str(start + i), "value": round(level, 3)})
    data = pd.DataFrame(rows)

    # Only ForecastStream may be used for a frame with series_id.
    def unary_forbidden(*args, **kwargs):
        raise AssertionError("many series must go through ForecastStream")

    monkeypatch.setattr(client._forecast, "Forecast", unary_forbidden)
    frame = client.forecast(data, model="naive", horizon=3)
    monkeypatch.undo()

    assert list(frame.columns) == ["series_id", *COLUMNS]
    assert len(frame) == 3 * len(ids)
    assert list(dict.fromkeys(frame["series_id"])) == ids
    assert frame.attrs["model"] == "naive" and len(frame.attrs["sha256"]) == 64
    assert list(frame.attrs["notes"]) == ids
    # Nothing lost or mixed up: each series' rows are its own forecast.
    for series_id in rng.sample(ids, 5):
        own = data[data["series_id"] == series_id][["period", "value"]]
        alone = client.forecast(own, model="naive", horizon=3)
        mine = frame[frame["series_id"] == series_id].drop(columns="series_id").reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, alone, check_like=False)
        assert frame.attrs["fitted"][series_id] == alone.attrs["fitted"]


def test_a_bad_series_in_a_stream_names_its_series_id(client):
    data = pd.DataFrame(
        {
            "series_id": ["ok", "ok", "ok", "gap", "gap", "gap"],
            "period": ["2020", "2021", "2022", "2020", "2021", "2023"],
            "value": [1.0, 2.0, 3.0, 1.0, 2.0, 3.0],
        }
    )
    with pytest.raises(stratus.InvalidArgument) as error:
        client.forecast(data, model="naive", horizon=2)
    assert error.value.series_id == "gap"
    assert error.value.code.name == "INVALID_ARGUMENT"
    assert [v.field for v in error.value.violations] == ["series.observations[2].period"]
    assert "request_id 'gap'" in error.value.message
