"""What conformal intervals cost: the latency of one Forecast call with
INTERVAL_METHOD_CONFORMAL against the same call with the model's own
intervals, alternating, on a release server this script starts (naive,
canalys, auto). A conformal forecast runs the model once more per
calibration origin (at most 48, each with at least two years of history),
so the ratio must stay below origins + 1.

Run from the repository root, after `cargo build --release`, with the
virtualenv of bench/accuracy.py:

    target/bench-py/bin/python bench/conformal_cost.py [CALLS] [ROUNDS]
"""

import sys
import time

import numpy as np

import accuracy


def request(model, n, m, conformal):
    from stratus.v1 import forecast_pb2, series_pb2
    x = 100 * np.exp(0.05 * np.arange(n) + 0.05 * np.sin(np.arange(n) * 1.7))
    series = series_pb2.Series(
        name="s",
        frequency=series_pb2.FREQUENCY_ANNUAL if m == 1 else series_pb2.FREQUENCY_QUARTERLY,
        observations=[series_pb2.Observation(period=p, value=float(v))
                      for p, v in zip(accuracy.period_labels(n, m), x)])
    r = forecast_pb2.ForecastRequest(series=series, horizon=6 if m == 1 else 8, levels=[80, 95])
    r.model.name = model
    if conformal:
        r.interval_method = forecast_pb2.INTERVAL_METHOD_CONFORMAL
    return r


def main():
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    accuracy.stubs()
    import grpc
    from stratus.v1 import forecast_pb2_grpc
    server, address = accuracy.start_server()
    try:
        stub = forecast_pb2_grpc.ForecastServiceStub(grpc.insecure_channel(address))
        print("| model | series | origins | model's intervals | conformal | ratio |")
        print("|---|---|---:|---:|---:|---:|")
        for model in ["naive", "canalys", "auto"]:
            for n, m in [(20, 1), (60, 4)]:
                times = {False: [], True: []}
                for _ in range(rounds):
                    for conformal in (False, True):
                        r = request(model, n, m, conformal)
                        started = time.perf_counter()
                        for _ in range(calls):
                            stub.Forecast(r)
                        times[conformal].append((time.perf_counter() - started) / calls * 1e6)
                plain, conformal = np.median(times[False]), np.median(times[True])
                origins = n - max(n - 48, 2 * m + 1)
                kind = "annual" if m == 1 else "quarterly"
                print(f"| {model} | {kind}, {n} points | {origins} | {plain:,.0f} µs | {conformal:,.0f} µs "
                      f"| {conformal / plain:.1f}× |")
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
