"""Fixtures for the Python client test.

Generates Python stubs from the repository's .proto files with stock
grpc_tools (no Stratus code involved), and starts the real stratus-server
binary with the naive plugin on a free port.
"""

import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
# Where the built binaries are; the Rust test that runs pytest sets this.
TARGET = pathlib.Path(os.environ.get("STRATUS_BIN_DIR", ROOT / "target" / "debug"))


@pytest.fixture(scope="session")
def stubs(tmp_path_factory):
    """Compiles proto/stratus/**/*.proto into importable Python modules."""
    from grpc_tools import protoc

    out = tmp_path_factory.mktemp("stubs")
    protos = sorted(str(p.relative_to(ROOT / "proto")) for p in (ROOT / "proto" / "stratus").rglob("*.proto"))
    include = pathlib.Path(protoc.__file__).parent / "_proto"
    args = ["protoc", f"-I{ROOT / 'proto'}", f"-I{include}", f"--python_out={out}", f"--grpc_python_out={out}", *protos]
    assert protoc.main(args) == 0, "grpc_tools.protoc failed on the repository's .proto files"
    sys.path.insert(0, str(out))
    return out


@pytest.fixture(scope="session")
def server_address():
    """Starts stratus-server with the naive plugin; yields host:port."""
    server = TARGET / "stratus-server"
    library = TARGET / "libstratus_naive.so"
    if not server.exists() or not library.exists():
        pytest.fail(f"build first: {server} and {library} are needed (cargo build)")
    plugins = tempfile.mkdtemp(prefix="stratus-py-plugins-")
    shutil.copy(library, plugins)
    process = subprocess.Popen(
        [str(server), "--listen=127.0.0.1:0", "--plugins", plugins],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        address = None
        for line in process.stdout:
            if line.startswith("stratus-server listening on "):
                address = line.strip().rsplit(" ", 1)[-1]
                break
        assert address, "stratus-server exited before listening"
        yield address
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(plugins, ignore_errors=True)
