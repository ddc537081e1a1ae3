"""Fixtures for the tests of the Python package (clients/python).

Starts the real stratus-server binary on a free port with the five bundled
plugins, and hands the tests a `stratus.Client` connected to it.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence

import pytest

import stratus

ROOT = pathlib.Path(__file__).resolve().parents[2]
# Where the built binaries are; the Rust test that runs pytest sets this.
TARGET = pathlib.Path(os.environ.get("STRATUS_BIN_DIR", ROOT / "target" / "debug"))
BUNDLED = ("naive", "canalys", "mckinsey", "bubble", "auto")


@contextlib.contextmanager
def running_server(args: Sequence[str] = ()) -> Iterator[str]:
    """Starts stratus-server with the bundled plugins; yields its host:port."""
    server = TARGET / "stratus-server"
    libraries = [TARGET / f"libstratus_{name}.so" for name in BUNDLED]
    missing = [str(p) for p in [server, *libraries] if not p.exists()]
    if missing:
        pytest.fail(f"build first (cargo build): missing {', '.join(missing)}")
    plugins = tempfile.mkdtemp(prefix="stratus-py-package-")
    for library in libraries:
        shutil.copy(library, plugins)
    process = subprocess.Popen(
        [str(server), "--listen=127.0.0.1:0", "--plugins", plugins, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        address = None
        assert process.stdout is not None
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


@pytest.fixture(scope="session")
def start_server():
    """`running_server`, for tests that need a server of their own (TLS)."""
    return running_server


@pytest.fixture(scope="session")
def server_address() -> Iterator[str]:
    """host:port of a plaintext server with the bundled models."""
    with running_server() as address:
        yield address


@pytest.fixture(scope="session")
def client(server_address: str) -> Iterator[stratus.Client]:
    """A client of that server."""
    with stratus.Client(server_address, timeout=60) as client:
        yield client
