"""Accuracy and speed of `canalys` against statsforecast baselines.

Real yearly and quarterly series shipped inside statsmodels (no download):
yearly: World Bank fertility rates by country (1960-2011), Grunfeld's firm
investment data, the Nile flow, Longley's macro series, and US macro data
averaged by year; quarterly: US macro data, the Danish money-demand data, the
Danish bond rate, and quarterly means of the Mauna Loa CO2 (weekly) and
El Nino sea-temperature (monthly) records.
Only strictly positive series are used (canalys works on logarithms).

Each series holds out its last 6 years / 8 quarters; every model is fitted on
the rest and forecasts the hold-out. Reported per frequency: mean sMAPE (%),
mean MASE (scaled by the in-sample seasonal-naive MAE), and the share of
hold-out values inside the 80% and 95% intervals. Speed: mean time of one
fit-and-forecast per series, canalys in process (release build, via
examples/forecast_jsonl.rs) against statsforecast's AutoETS on the same
series in the same run (after a warm-up that excludes numba compilation).

Run from the repository root:

    python3 -m venv target/bench-py
    target/bench-py/bin/pip install statsforecast statsmodels pandas
    cargo build --release -p stratus-canalys --example forecast_jsonl
    target/bench-py/bin/python plugins/canalys/benches/accuracy.py
"""

import json
import pathlib
import subprocess
import sys
import time
import warnings

import numpy as np
import pandas as pd
from statsforecast import StatsForecast
from statsforecast.models import AutoETS, Holt, Naive, RandomWalkWithDrift, Theta

warnings.filterwarnings("ignore")
ROOT = pathlib.Path(__file__).resolve().parents[3]
DRIVER = ROOT / "target" / "release" / "examples" / "forecast_jsonl"
LEVELS = [80, 95]

# The series (and their hold-out lengths) are loaded as the main accuracy
# benchmark loads them.
sys.path.insert(0, str(ROOT / "bench"))
from collections_data import HOLDOUT, quarterly_series, yearly_series  # noqa: E402


def smape(actual, forecast):
    return float(np.mean(200 * np.abs(forecast - actual) / (np.abs(actual) + np.abs(forecast))))


def mase(train, actual, forecast, m):
    lag = m if len(train) > m else 1
    scale = np.mean(np.abs(train[lag:] - train[:-lag]))
    return float(np.mean(np.abs(forecast - actual)) / scale) if scale > 0 else np.nan


def run_canalys(series, m):
    h = HOLDOUT[m]
    lines = [json.dumps({"id": k, "values": list(v[:-h]), "periods_per_year": m, "horizon": h}) for k, v in series.items()]
    done = subprocess.run([str(DRIVER)], input="\n".join(lines), capture_output=True, text=True, check=True)
    results = {}
    for line in done.stdout.splitlines():
        answer = json.loads(line)
        if "error" in answer:
            raise SystemExit(f"canalys refused {answer['id']}: {answer['error']}")
        results[answer["id"]] = answer
    return results


def statsforecast_models(m):
    return [
        Naive(),
        RandomWalkWithDrift(),
        Holt(season_length=m),
        AutoETS(season_length=m, damped=True, alias="AutoETS(damped)"),
        Theta(season_length=m),
    ]


def run_statsforecast(series, m):
    h = HOLDOUT[m]
    freq = "YS" if m == 1 else "QS"
    frames = []
    for key, values in series.items():
        train = values[:-h]
        frames.append(pd.DataFrame({"unique_id": key, "ds": pd.date_range("1900-01-01", periods=len(train), freq=freq), "y": train}))
    frame = pd.concat(frames)
    sf = StatsForecast(models=statsforecast_models(m), freq=freq, n_jobs=1)
    forecast = sf.forecast(df=frame, h=h, level=LEVELS)
    results = {}
    for key, rows in forecast.groupby("unique_id"):
        results[key] = rows
    return results


def time_autoets(series, m):
    """Mean seconds per series of one AutoETS fit-and-forecast, same series."""
    h = HOLDOUT[m]
    model = AutoETS(season_length=m, damped=True)
    first = next(iter(series.values()))[:-h]
    model.forecast(y=first, h=h, level=LEVELS)  # numba compilation, not timed
    started = time.perf_counter()
    for values in series.values():
        AutoETS(season_length=m, damped=True).forecast(y=values[:-h], h=h, level=LEVELS)
    return (time.perf_counter() - started) / len(series)


def evaluate(series, m):
    h = HOLDOUT[m]
    ours = run_canalys(series, m)
    theirs = run_statsforecast(series, m)
    names = ["canalys"] + [getattr(model, "alias", type(model).__name__) for model in statsforecast_models(m)]
    scores = {name: {"smape": [], "mase": [], "c80": [], "c95": []} for name in names}
    for key, values in series.items():
        train, actual = values[:-h], values[-h:]
        forecasts = {"canalys": (np.array(ours[key]["mean"]), ours[key])}
        rows = theirs[key]
        for name in names[1:]:
            bands = {f"{side}{lvl}": rows[f"{name}-{side}-{lvl}"].values for side in ("lo", "hi") for lvl in LEVELS}
            forecasts[name] = (rows[name].values, bands)
        for name, (mean, bands) in forecasts.items():
            s = scores[name]
            s["smape"].append(smape(actual, mean))
            s["mase"].append(mase(train, actual, mean, m))
            for lvl in LEVELS:
                lo, hi = np.asarray(bands[f"lo{lvl}"]), np.asarray(bands[f"hi{lvl}"])
                s[f"c{lvl}"].append(float(np.mean((actual >= lo) & (actual <= hi))))
    ours_us = float(np.mean([ours[k]["fit_us"] for k in series]))
    return scores, ours_us, time_autoets(series, m)


def main():
    if not DRIVER.exists():
        raise SystemExit(f"build the driver first: cargo build --release -p stratus-canalys --example forecast_jsonl")
    report = []
    for label, m, series in [("Yearly", 1, yearly_series()), ("Quarterly", 4, quarterly_series())]:
        scores, ours_us, autoets_s = evaluate(series, m)
        report.append(f"**{label}**: {len(series)} series, last {HOLDOUT[m]} periods held out.\n")
        report.append("| model | sMAPE % | MASE | 80% coverage | 95% coverage |")
        report.append("|---|---:|---:|---:|---:|")
        for name, s in scores.items():
            row = [f"{np.nanmean(s['smape']):.2f}", f"{np.nanmean(s['mase']):.3f}", f"{100 * np.mean(s['c80']):.1f}%", f"{100 * np.mean(s['c95']):.1f}%"]
            report.append(f"| {name} | " + " | ".join(row) + " |")
        ratio = autoets_s * 1e6 / ours_us
        report.append(
            f"\nOne fit-and-forecast per series: canalys {ours_us:.1f} µs, statsforecast AutoETS(damped) "
            f"{autoets_s * 1e6:.0f} µs — canalys is {ratio:.0f}× faster.\n"
        )
    text = "\n".join(report)
    print(text)
    (pathlib.Path(__file__).parent / "accuracy-results.md").write_text(text + "\n")


if __name__ == "__main__":
    sys.exit(main())
