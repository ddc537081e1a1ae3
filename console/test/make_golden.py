#!/usr/bin/env python3
"""Regenerates console/test/golden.json: protobuf bytes made by the reference
implementation (Python `protobuf`, upb) for the messages the console's codec
(console/static/proto.js) encodes and decodes.

Each case holds
  type     the message name (as in proto.js `schemas`)
  value    the message as proto.js takes it (snake_case field names)
  hex      its bytes, serialized deterministically (map keys sorted)
  decoded  what proto.js must decode from `hex`: every field, defaults
           filled in, read back from the bytes by the reference decoder
  encode   false for decode-only cases (bytes no proto3 encoder writes:
           unknown fields, unpacked repeated numbers, split messages)
Doubles that JSON cannot hold are {"$double": "NaN" | "Infinity" |
"-Infinity" | "-0"}; bytes are {"$bytes": "<hex>"}.

Run from the repository root:

    python3 -m venv /tmp/cvenv
    /tmp/cvenv/bin/pip install grpcio-tools==1.85.1 protobuf==7.36.2 googleapis-common-protos==1.76.0
    /tmp/cvenv/bin/python console/test/make_golden.py

It compiles proto/stratus/v1/*.proto with grpc_tools.protoc into a
temporary folder and rewrites console/test/golden.json.
"""

import base64
import json
import math
import os
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "console", "test", "golden.json")


def compile_protos():
    out = tempfile.mkdtemp(prefix="stratus-golden-")
    import grpc_tools

    include = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    proto_dir = os.path.join(ROOT, "proto")
    files = sorted(
        os.path.join(proto_dir, "stratus", "v1", f)
        for f in os.listdir(os.path.join(proto_dir, "stratus", "v1"))
        if f.endswith(".proto")
    )
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{proto_dir}", f"-I{include}", f"--python_out={out}", *files],
        check=True,
    )
    sys.path.insert(0, out)
    return out


compile_protos()

from google.protobuf.descriptor import FieldDescriptor  # noqa: E402
from google.rpc import error_details_pb2, status_pb2  # noqa: E402
from google.protobuf import any_pb2, duration_pb2, timestamp_pb2  # noqa: E402
from stratus.v1 import dataset_pb2, evaluation_pb2, forecast_pb2, model_pb2, risk_pb2, series_pb2  # noqa: E402

TYPES = {
    "Timestamp": timestamp_pb2.Timestamp,
    "Duration": duration_pb2.Duration,
    "Any": any_pb2.Any,
    "Status": status_pb2.Status,
    "BadRequest": error_details_pb2.BadRequest,
    "ErrorInfo": error_details_pb2.ErrorInfo,
    "RetryInfo": error_details_pb2.RetryInfo,
    "Series": series_pb2.Series,
    "Observation": series_pb2.Observation,
    "ModelRef": model_pb2.ModelRef,
    "ModelInfo": model_pb2.ModelInfo,
    "ListModelsRequest": model_pb2.ListModelsRequest,
    "ListModelsResponse": model_pb2.ListModelsResponse,
    "Dataset": dataset_pb2.Dataset,
    "ListDatasetsRequest": dataset_pb2.ListDatasetsRequest,
    "ListDatasetsResponse": dataset_pb2.ListDatasetsResponse,
    "GetDatasetRequest": dataset_pb2.GetDatasetRequest,
    "ForecastRequest": forecast_pb2.ForecastRequest,
    "ForecastResponse": forecast_pb2.ForecastResponse,
    "BacktestRequest": evaluation_pb2.BacktestRequest,
    "BacktestResponse": evaluation_pb2.BacktestResponse,
    "OriginResult": evaluation_pb2.OriginResult,
    "RiskRequest": risk_pb2.RiskRequest,
    "RiskResponse": risk_pb2.RiskResponse,
}

def js_double(v):
    if math.isnan(v):
        return {"$double": "NaN"}
    if math.isinf(v):
        return {"$double": "Infinity" if v > 0 else "-Infinity"}
    if v == 0 and math.copysign(1, v) < 0:
        return {"$double": "-0"}
    return v


def fill(msg, value):
    """Sets message `msg` from a dict shaped like proto.js's objects."""
    d = msg.DESCRIPTOR
    for name, v in value.items():
        f = d.fields_by_name[name]
        if f.message_type is not None and f.message_type.GetOptions().map_entry:
            vf = f.message_type.fields_by_name["value"]
            target = getattr(msg, name)
            for k, x in v.items():
                key = k if f.message_type.fields_by_name["key"].type == FieldDescriptor.TYPE_STRING else int(k)
                if vf.message_type is not None:
                    fill(target[key], x)
                else:
                    target[key] = scalar_in(vf, x)
        elif f.is_repeated:
            target = getattr(msg, name)
            for x in v:
                if f.message_type is not None:
                    fill(target.add(), x)
                else:
                    target.append(scalar_in(f, x))
        elif f.message_type is not None:
            sub = getattr(msg, name)
            sub.SetInParent()
            fill(sub, v)
        else:
            setattr(msg, name, scalar_in(f, v))
    return msg


def scalar_in(f, v):
    if isinstance(v, dict) and "$double" in v:
        return float({"NaN": "nan", "Infinity": "inf", "-Infinity": "-inf", "-0": "-0.0"}[v["$double"]])
    if isinstance(v, dict) and "$bytes" in v:
        return bytes.fromhex(v["$bytes"])
    return v


def walk(msg):
    """The object proto.js must decode: every field, proto3 defaults filled in."""
    out = {}
    d = msg.DESCRIPTOR
    for f in d.fields:
        v = getattr(msg, f.name)
        if f.containing_oneof is not None and not msg.HasField(f.name):
            continue
        if f.message_type is not None and f.message_type.GetOptions().map_entry:
            vf = f.message_type.fields_by_name["value"]
            out[f.name] = {
                str(k): (walk(v[k]) if vf.message_type is not None else scalar_out(vf, v[k])) for k in sorted(v)
            }
        elif f.is_repeated:
            out[f.name] = [walk(x) if f.message_type is not None else scalar_out(f, x) for x in v]
        elif f.message_type is not None:
            out[f.name] = walk(v) if msg.HasField(f.name) else None
        else:
            out[f.name] = scalar_out(f, v)
    return out


def scalar_out(f, v):
    if f.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return js_double(v)
    if f.type == FieldDescriptor.TYPE_BYTES:
        return {"$bytes": v.hex()}
    if f.type == FieldDescriptor.TYPE_ENUM:
        return int(v)
    return v


def tag(number, wire):
    return varint(number << 3 | wire)


def varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def ld(number, payload):
    return tag(number, 2) + varint(len(payload)) + payload


def dbl(number, v):
    return tag(number, 1) + struct.pack("<d", v)


def model_info(name, kind, sha, **extra):
    v = {
        "name": name,
        "version": "1.0.0",
        "kind": kind,
        "description": f"{name} model",
        "library_path": f"/opt/stratus/plugins/lib{name}.so",
        "sha256": sha,
        "abi_version": "1.0",
        "state": 1,
        "isolation": 1,
    }
    v.update(extra)
    return v


NAIVE_SHA = "4298e849dffa" + "0" * 52
CANALYS_SHA = "f4248a93be4e" + "1" * 52
BUBBLE_SHA = "c2cd7eaf825d" + "2" * 52


def points(rows):
    return [
        {
            "period": p,
            "mean": m,
            "growth": g,
            "intervals": [{"level": 80.0, "lower": a, "upper": b}, {"level": 95.0, "lower": c, "upper": e}],
        }
        for p, m, g, a, b, c, e in rows
    ]


CASES = [
    ("empty ListModelsRequest", "ListModelsRequest", {}),
    ("empty ListDatasetsRequest", "ListDatasetsRequest", {}),
    ("GetDatasetRequest", "GetDatasetRequest", {"name": "china-cloud-infra-annual"}),
    (
        "ForecastRequest: dataset, horizon, levels, interval method",
        "ForecastRequest",
        {
            "model": {"name": "naive"},
            "dataset": "china-cloud-infra-annual",
            "horizon": 3,
            "levels": [80.0, 95.0],
            "interval_method": 1,
        },
    ),
    (
        "ForecastRequest: inline series, params map, conformal",
        "ForecastRequest",
        {
            "model": {"name": "canalys", "version": "1.0.0"},
            "series": {
                "name": "Série pasted €",
                "unit": "USD bn",
                "frequency": 2,
                "observations": [
                    {"period": "2024-Q1", "value": 10.5},
                    {"period": "2024-Q2", "value": 0.0},
                    {"period": "2024-Q3", "value": -3.25},
                    {"period": "2024-Q4", "value": 1e-300},
                    {"period": "2025-Q1", "value": {"$double": "-0"}},
                ],
            },
            "horizon": 4294967295,
            "levels": [50.0, 99.9],
            "params": {"phi": 0.9, "ai_uplift_pp": 2.0, "alpha": -0.5, "zero": 0.0},
            "request_id": "req-1",
            "interval_method": 2,
        },
    ),
    ("ForecastRequest: empty dataset name in the oneof is still sent", "ForecastRequest", {"dataset": ""}),
    (
        "ForecastRequest: map keys in UTF-8 byte order",
        "ForecastRequest",
        # No key is a prefix of another: for those, upb's order (the longer
        # key first) differs from C++'s and Java's (the shorter first);
        # proto.js writes the shorter first.
        {"params": {"9": 1.0, "10": 2.0, "a": 3.0, "B": 4.0, "é": 5.0, "\uffee": 6.0, "\U0001f600": 7.0}},
    ),
    (
        "ForecastRequest: ensemble",
        "ForecastRequest",
        {
            "dataset": "china-cloud-infra-quarterly",
            "horizon": 8,
            "ensemble": {"members": [{"name": "naive"}, {"name": "canalys"}], "combination": 3},
        },
    ),
    (
        "BacktestRequest",
        "BacktestRequest",
        {
            "models": [{"name": "naive"}, {"name": "canalys"}],
            "dataset": "china-cloud-infra-quarterly",
            "horizon": 4,
            "origins": 4,
            "levels": [80.0, 95.0],
            "interval_method": 1,
        },
    ),
    (
        "RiskRequest: indicators, series map, demand",
        "RiskRequest",
        {
            "model": {"name": "bubble"},
            "subject": "China AI data centres 2024-25",
            "indicators": {
                "capex_growth_pct": 202.0,
                "revenue_growth_pct": 13.0,
                "utilization_pct": 30.0,
                "capex_to_revenue": 0.52,
                "unit_price_change_pct": -22.0,
            },
            "series": {
                "capex": {
                    "name": "capex",
                    "frequency": 1,
                    "observations": [{"period": "2023", "value": 1.0}, {"period": "2024", "value": 3.02}],
                }
            },
            "params": {"capex_growth_pct_alarm": 150.0},
            "demand": {"model": {"name": "canalys"}, "dataset": "china-cloud-infra-annual", "horizon": 2},
        },
    ),
    (
        "ListModelsResponse",
        "ListModelsResponse",
        {
            "models": [
                model_info(
                    "naive",
                    1,
                    NAIVE_SHA,
                    loaded_at={"seconds": 1767225600, "nanos": 123456789},
                    restarts=3,
                    host_pid=4294967295,
                ),
                model_info(
                    "bubble",
                    2,
                    BUBBLE_SHA,
                    inputs=[
                        {
                            "name": "capex_growth_pct",
                            "description": "Capex growth, % a year.",
                            "default_value": 10.0,
                            "min": -100.0,
                            "max": 10000.0,
                        },
                        {"name": "utilization_pct", "description": "Utilisation, %.", "default_value": 80.0, "max": 100.0},
                    ],
                    params=[{"name": "capex_growth_pct_alarm", "default_value": 150.0, "min": -10000.0, "max": 10000.0}],
                    isolation=2,
                ),
                {
                    "name": "libbroken.so",
                    "state": 2,
                    "last_error": "symbol stratus_plugin_v1 not found",
                    "loaded_at": {"seconds": -1, "nanos": 999999999},
                },
            ]
        },
    ),
    (
        "ListDatasetsResponse",
        "ListDatasetsResponse",
        {
            "datasets": [
                {
                    "name": "china-cloud-infra-annual",
                    "description": "China cloud infrastructure services spending",
                    "source": "Canalys",
                    "origin": "builtin",
                    "series": {"name": "china-cloud-infra-annual", "unit": "USD bn", "frequency": 1},
                    "observation_count": 6,
                    "first_period": "2019",
                    "last_period": "2024",
                }
            ]
        },
    ),
    (
        "Dataset with observations",
        "Dataset",
        {
            "name": "tiny",
            "origin": "/data/tiny.csv",
            "series": {
                "name": "tiny",
                "frequency": 3,
                "observations": [{"period": "2024-11", "value": 1.5}, {"period": "2024-12", "value": 2.5}],
            },
            "observation_count": 2,
            "first_period": "2024-11",
            "last_period": "2024-12",
        },
    ),
    (
        "ForecastResponse",
        "ForecastResponse",
        {
            "model": model_info("naive", 1, NAIVE_SHA),
            "series_name": "china-cloud-infra-annual",
            "points": points(
                [
                    ("2025", 45.7, 14.285714285714285, 42.5719, 48.8281, 40.9139, 50.4861),
                    ("2026", 51.4, 12.47264770240700, 46.6059, 56.1941, 44.0823, 58.7177),
                    ("2027", 57.1, 11.08949416342412, 50.8264, 63.3736, 47.5095, 66.6905),
                ]
            ),
            "scenarios": [{"name": "conservative", "points": [{"period": "2025", "mean": 44.0}]}],
            "fitted": {"drift": 5.7, "sigma": 2.2327, "nan": {"$double": "NaN"}, "negzero": {"$double": "-0"}},
            "notes": ["Random walk with drift.", "Intervals assume normal errors."],
            "request_id": "r",
            "members": [{"model": {"name": "naive", "version": "1.0.0"}, "weight": 0.5}],
        },
    ),
    (
        "BacktestResponse with an unscored model (NaN metrics)",
        "BacktestResponse",
        {
            "series_name": "china-cloud-infra-quarterly",
            "scores": [
                {
                    "model": model_info("naive", 1, NAIVE_SHA),
                    "smape": 14.02,
                    "mase": 0.873,
                    "owa": 1.67,
                    "coverage": [{"level": 80.0, "coverage": 0.9375}, {"level": 95.0, "coverage": 1.0}],
                    "msis": 4.37,
                    "origins": [
                        {
                            "train_size": 20,
                            "points": [{"period": "2024-Q1", "mean": 10.0}],
                            "actuals": [10.5, 11.0, 0.0, -1.5],
                            "smape": 3.0,
                            "mase": 0.2,
                        }
                    ],
                },
                {
                    "model": model_info("canalys", 1, CANALYS_SHA),
                    "smape": 6.05,
                    "mase": 0.396,
                    "owa": 0.739,
                    "coverage": [{"level": 80.0, "coverage": 0.75}, {"level": 95.0, "coverage": 0.9375}],
                    "msis": 2.64,
                },
                {
                    "model": model_info("mckinsey", 1, "ab" * 32),
                    "smape": {"$double": "NaN"},
                    "mase": {"$double": "NaN"},
                    "owa": {"$double": "NaN"},
                    "msis": {"$double": "Infinity"},
                    "error": "origin 1: series too short",
                },
            ],
            "naive2": {"model": {"name": "naive2"}, "smape": 8.16, "mase": 0.538, "owa": 1.0},
        },
    ),
    (
        "RiskResponse",
        "RiskResponse",
        {
            "model": model_info("bubble", 2, BUBBLE_SHA),
            "subject": "China AI data centres 2024-25",
            "score": 78.5,
            "band": 4,
            "factors": [
                {
                    "indicator": "capex_growth_pct",
                    "value": 202.0,
                    "contribution": 26.7,
                    "explanation": "capex grows 189 points faster than revenue",
                },
                {"indicator": "revenue_growth_pct", "value": 13.0, "contribution": 6.4, "explanation": "x"},
            ],
            "notes": ["Not given: capacity_growth_pct."],
        },
    ),
]


def status_details():
    bad = error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field="horizon", description="must be at least 1"),
            error_details_pb2.BadRequest.FieldViolation(field="levels[1]", description="must be in (0, 100)"),
        ]
    )
    info = error_details_pb2.ErrorInfo(reason="MODEL_PROCESS_DIED", domain="stratus.v1", metadata={"model": "naive"})
    retry = error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=1, nanos=500000000))
    st = status_pb2.Status(code=3, message="horizon: must be at least 1; levels[1]: must be in (0, 100)")
    for m in (bad, info, retry):
        a = st.details.add()
        a.Pack(m)
    return st


def main():
    cases = []
    for name, type_name, value in CASES:
        cls = TYPES[type_name]
        msg = fill(cls(), value)
        raw = msg.SerializeToString(deterministic=True)
        back = cls.FromString(raw)
        cases.append({"name": name, "type": type_name, "value": value, "hex": raw.hex(), "decoded": walk(back)})

    # Decode-only: bytes a proto3 encoder does not write, which decoders must take.
    base = fill(
        model_pb2.ModelInfo(), model_info("naive", 1, NAIVE_SHA, loaded_at={"seconds": 5, "nanos": 6})
    ).SerializeToString(deterministic=True)
    first = tag(100, 0) + varint(2**64 - 1)  # varint, 10 bytes
    rest = (
        dbl(101, 1.5)  # fixed64
        + ld(102, b"\x08\x01unknown bytes")  # length-delimited
        + tag(103, 5)
        + struct.pack("<f", 2.5)  # fixed32
        + tag(2000000, 0)
        + varint(7)  # a large field number
    )
    mixed = first + base + rest
    msg = model_pb2.ModelInfo.FromString(mixed)
    cases.append(
        {
            "name": "ModelInfo with unknown fields of wire types 0, 1, 2, 5",
            "type": "ModelInfo",
            "hex": mixed.hex(),
            "decoded": walk(msg),
            "encode": False,
        }
    )

    unpacked = b"".join(dbl(3, v) for v in (1.0, 2.5, -3.0)) + tag(1, 0) + varint(7)
    cases.append(
        {
            "name": "OriginResult with unpacked repeated doubles",
            "type": "OriginResult",
            "hex": unpacked.hex(),
            "decoded": walk(evaluation_pb2.OriginResult.FromString(unpacked)),
            "encode": False,
        }
    )

    split = ld(1, ld(1, b"naive")) + tag(2, 2) + varint(0) + ld(1, ld(2, b"1.0.0")) + ld(3, b"")
    split += ld(5, ld(1, b"drift") + dbl(2, 5.7)) + ld(5, ld(1, b"drift") + dbl(2, 6.0)) + ld(5, dbl(2, 1.0))
    cases.append(
        {
            "name": "ForecastResponse: model message split in two (merged), empty point, repeated map key (last wins), entry without key",
            "type": "ForecastResponse",
            "hex": split.hex(),
            "decoded": walk(forecast_pb2.ForecastResponse.FromString(split)),
            "encode": False,
        }
    )

    st = status_details()
    raw = st.SerializeToString(deterministic=True)
    details = {
        "name": "grpc-status-details-bin: Status with BadRequest, ErrorInfo, RetryInfo",
        "base64": base64.b64encode(raw).decode(),
        "base64_unpadded": base64.b64encode(raw).decode().rstrip("="),
        "code": st.code,
        "message": st.message,
        "field_violations": [{"field": v.field, "description": v.description} for v in error_details_pb2.BadRequest.FromString(st.details[0].value).field_violations],
        "error_info": {"reason": "MODEL_PROCESS_DIED", "domain": "stratus.v1", "metadata": {"model": "naive"}},
        "retry_delay": 1.5,
    }

    import google.protobuf

    doc = {
        "generated_by": "console/test/make_golden.py",
        "protobuf_python": google.protobuf.__version__,
        "cases": cases,
        "status_details": details,
    }
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1, ensure_ascii=False, allow_nan=False)
        f.write("\n")
    print(f"wrote {len(cases)} cases to {os.path.relpath(OUT, ROOT)}")


if __name__ == "__main__":
    main()
