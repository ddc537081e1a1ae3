"""models(), datasets(), backtest() and risk() as frames."""

from __future__ import annotations

import pandas as pd
import pytest

import stratus

BUNDLED = {"naive": "forecast", "canalys": "forecast", "mckinsey": "forecast", "auto": "forecast", "bubble": "risk"}


def test_models_is_a_frame_with_each_library_hash(client):
    models = client.models()
    assert isinstance(models, pd.DataFrame)
    assert {"name", "version", "kind", "state", "sha256", "library_path", "loaded_at", "params"} <= set(models.columns)
    by_name = models.set_index("name")
    for name, kind in BUNDLED.items():
        row = by_name.loc[name]
        assert row["kind"] == kind
        assert row["state"] == "ready"
        assert len(row["sha256"]) == 64 and int(row["sha256"], 16) >= 0
        assert row["library_path"].endswith(f"libstratus_{name}.so")
        assert row["loaded_at"].tzname() == "UTC"
    assert by_name.loc["naive", "params"] == ["drift"]
    assert "capex_growth_pct" in by_name.loc["bubble", "inputs"]

    naive = client.model("naive")
    assert naive["sha256"] == by_name.loc["naive", "sha256"]
    assert naive["params"][0]["name"] == "drift"
    assert (naive["params"][0]["min"], naive["params"][0]["max"]) == (0.0, 1.0)


def test_datasets_lists_the_built_in_series(client):
    datasets = client.datasets()
    assert {"china-cloud-infra-annual", "china-cloud-infra-quarterly", "global-cloud-infra-annual"} <= set(
        datasets["name"]
    )
    row = datasets.set_index("name").loc["china-cloud-infra-quarterly"]
    assert row["frequency"] == "quarterly"
    series = client.dataset("china-cloud-infra-quarterly")
    assert len(series) == row["observations"]
    assert (series.index[0], series.index[-1]) == (row["first_period"], row["last_period"])
    assert series.attrs["frequency"] == "quarterly" and series.attrs["source"]
    # What dataset() returns can be sent back inline.
    inline = client.forecast(series, model="naive", horizon=2)
    by_name = client.forecast("china-cloud-infra-quarterly", model="naive", horizon=2)
    pd.testing.assert_frame_equal(inline, by_name)


def test_backtest_returns_a_ranking(client):
    ranking = client.backtest(
        "china-cloud-infra-quarterly", ["naive", "canalys", "mckinsey"], horizon=4, origins=4
    )
    assert list(ranking.columns) == [
        "model", "version", "sha256", "smape", "mase", "owa", "cover_80", "cover_95", "msis", "error",
    ]
    assert set(ranking["model"]) == {"naive", "canalys", "mckinsey", "naive2"}
    assert list(ranking["owa"]) == sorted(ranking["owa"])
    naive2 = ranking.set_index("model").loc["naive2"]
    assert naive2["owa"] == pytest.approx(1.0)
    assert ranking.attrs["series_name"] == "china-cloud-infra-quarterly"
    assert ranking.attrs["origins"] == 4
    scored = ranking[ranking["model"] != "naive2"]
    assert (scored["cover_95"].between(0, 1)).all()
    assert (scored["error"] == "").all()


def test_backtest_of_many_series_uses_the_stream(client):
    quarterly = client.dataset("china-cloud-infra-quarterly")
    annual = client.dataset("global-cloud-infra-annual")
    data = pd.concat(
        [
            pd.DataFrame({"series_id": "q", "period": quarterly.index, "value": quarterly.values}),
            pd.DataFrame({"series_id": "a", "period": annual.index, "value": annual.values}),
        ]
    )
    ranking = client.backtest(data, "naive", horizon=1, origins=2, ensembles=[["naive", "auto"]])
    assert list(ranking["series_id"]) == ["q"] * 3 + ["a"] * 3
    assert set(ranking["model"]) == {"naive", "ensemble", "naive2"}


def test_an_unscored_model_comes_last_with_its_reason(client):
    # Origin 0 of 2 trains on 4 observations: enough for naive, too few for
    # mckinsey's S-curve (5), which is listed unscored and the others scored.
    short = pd.Series([1.0, 2.0, 3.5, 4.0, 5.5, 6.0], index=[str(y) for y in range(2018, 2024)])
    ranking = client.backtest(short, ["mckinsey", "naive"], horizon=1, origins=2)
    assert list(ranking["model"]) == ["naive2", "naive", "mckinsey"] or list(ranking["model"]) == [
        "naive", "naive2", "mckinsey",
    ]
    last = ranking.iloc[-1]
    assert pd.isna(last["owa"]) and pd.isna(last["smape"])
    assert "mckinsey needs at least 5 observations" in last["error"]
    assert (ranking.iloc[:-1]["error"] == "").all()


def test_risk_returns_score_band_and_factors(client):
    indicators = {
        "capex_growth_pct": 202,
        "revenue_growth_pct": 13,
        "utilization_pct": 30,
        "capex_to_revenue": 0.52,
        "unit_price_change_pct": -22,
    }
    result = client.risk("bubble", indicators, subject="China AI data centres 2024-25")
    assert isinstance(result, stratus.RiskResult)
    score, band, factors = result
    assert 0 <= score <= 100
    assert band in {"LOW", "MODERATE", "HIGH", "SEVERE"}
    assert list(factors.columns) == ["indicator", "value", "contribution", "explanation"]
    assert set(factors["indicator"]) == set(indicators)
    assert factors["contribution"].sum() == pytest.approx(score)
    assert list(factors["contribution"]) == sorted(factors["contribution"], reverse=True)
    assert result.subject == "China AI data centres 2024-25"
    assert result.model == "bubble" and len(result.sha256) == 64
    assert any("Not given" in note for note in result.notes)


def test_risk_with_a_demand_forecast(client):
    result = client.risk(
        "bubble",
        {"capex_growth_pct": 40, "revenue_growth_pct": 20},
        demand={"data": "china-cloud-infra-annual", "model": "canalys", "horizon": 3},
    )
    assert "demand_growth_pct" in set(result.factors["indicator"])
    assert any("canalys" in note for note in result.notes)
