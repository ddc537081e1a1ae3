#!/usr/bin/env python3
"""Regenerates the package's gRPC stubs from the repository's proto/ files.

    python clients/python/generate_stubs.py          # rewrite src/stratus/_proto
    python clients/python/generate_stubs.py --check  # exit 1 if they differ

The stubs are checked in so that `pip install ./clients/python` needs no
protoc. They are stock grpcio-tools output for proto/stratus/v1/*.proto
(messages, gRPC stubs and .pyi type stubs), with one change: the imports
between them (`from stratus.v1 import x_pb2`) point into this package
(`from stratus._proto import x_pb2`). `--check` regenerates them into a
temporary folder and compares file by file; CI runs it, so a change to
proto/ without regenerated stubs fails the build.

Needs grpcio-tools at exactly GRPC_TOOLS_VERSION: another version writes
different (equally valid) code, which --check would report as drift.
"""

from __future__ import annotations

import argparse
import difflib
import pathlib
import re
import shutil
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
PROTO_ROOT = HERE.parent.parent / "proto"
# The API protos; proto/stratus/plugin is the plugin boundary, not for callers.
PROTO_DIR = PROTO_ROOT / "stratus" / "v1"
OUT = HERE / "src" / "stratus" / "_proto"
# The grpcio-tools the checked-in stubs were made with (keep in step with
# the protobuf and grpcio lower bounds in pyproject.toml).
GRPC_TOOLS_VERSION = "1.85.1"

INIT = '''"""Stubs generated from proto/stratus/v1 by generate_stubs.py. Do not edit.

Package `stratus.v1` of the API, for calls the high-level client does not
cover: `from stratus._proto import forecast_pb2, forecast_pb2_grpc`.
"""
'''

IMPORT = re.compile(r"^from stratus\.v1 import ", re.MULTILINE)


def generate(out: pathlib.Path) -> None:
    """Writes the stubs for every proto/stratus/v1/*.proto into `out`."""
    try:
        import grpc_tools
        from grpc_tools import protoc
        from importlib.metadata import version
    except ImportError:
        sys.exit("generate_stubs.py needs grpcio-tools: pip install grpcio-tools==" + GRPC_TOOLS_VERSION)
    have = version("grpcio-tools")
    if have != GRPC_TOOLS_VERSION:
        sys.exit(
            f"generate_stubs.py needs grpcio-tools=={GRPC_TOOLS_VERSION} (have {have}): "
            "another version generates different code"
        )
    protos = sorted(str(p.relative_to(PROTO_ROOT)) for p in PROTO_DIR.glob("*.proto"))
    if not protos:
        sys.exit(f"no .proto files in {PROTO_DIR}")
    well_known = pathlib.Path(grpc_tools.__file__).parent / "_proto"
    with tempfile.TemporaryDirectory() as raw:
        args = [
            "grpc_tools.protoc",
            f"-I{PROTO_ROOT}",
            f"-I{well_known}",
            f"--python_out={raw}",
            f"--pyi_out={raw}",
            f"--grpc_python_out={raw}",
            *protos,
        ]
        if protoc.main(args) != 0:
            sys.exit("grpc_tools.protoc failed on " + " ".join(protos))
        out.mkdir(parents=True, exist_ok=True)
        for path in sorted((pathlib.Path(raw) / "stratus" / "v1").iterdir()):
            text = IMPORT.sub("from stratus._proto import ", path.read_text())
            (out / path.name).write_text(text)
    (out / "__init__.py").write_text(INIT)


def files(folder: pathlib.Path) -> dict[str, str]:
    """The generated files in `folder` by name (caches and the like ignored)."""
    if not folder.is_dir():
        return {}
    return {p.name: p.read_text() for p in folder.iterdir() if p.suffix in (".py", ".pyi")}


def check() -> int:
    """0 if the checked-in stubs are what generate() writes now, else 1."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh_dir = pathlib.Path(tmp) / "_proto"
        generate(fresh_dir)
        fresh, current = files(fresh_dir), files(OUT)
    drift = False
    for name in sorted(fresh.keys() | current.keys()):
        if name not in current:
            print(f"missing: {OUT / name}")
        elif name not in fresh:
            print(f"stale (no .proto makes it any more): {OUT / name}")
        elif fresh[name] != current[name]:
            print(f"differs: {OUT / name}")
            diff = difflib.unified_diff(
                current[name].splitlines(), fresh[name].splitlines(), "checked in", "generated", lineterm="", n=1
            )
            print("\n".join(list(diff)[:40]))
        else:
            continue
        drift = True
    if drift:
        print("the stubs do not match proto/: run python clients/python/generate_stubs.py", file=sys.stderr)
        return 1
    print(f"stubs match proto/ ({len(fresh)} files)")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the checked-in stubs instead of writing them")
    args = parser.parse_args()
    if args.check:
        return check()
    if OUT.exists():
        shutil.rmtree(OUT)
    generate(OUT)
    print(f"wrote {len(files(OUT))} files to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
