"""The checked-in stubs match proto/, and the check notices when they do not."""

from __future__ import annotations

import importlib.util
import pathlib
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "clients" / "python" / "generate_stubs.py"


def test_checked_in_stubs_match_the_protos():
    result = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "stubs match proto/" in result.stdout


def test_the_check_reports_drift(tmp_path, monkeypatch, capsys):
    spec = importlib.util.spec_from_file_location("generate_stubs", SCRIPT)
    assert spec and spec.loader
    generate_stubs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate_stubs)
    copy = tmp_path / "_proto"
    shutil.copytree(generate_stubs.OUT, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "forecast_pb2.py").write_text((copy / "forecast_pb2.py").read_text() + "# edited\n")
    (copy / "series_pb2.pyi").unlink()
    monkeypatch.setattr(generate_stubs, "OUT", copy)
    assert generate_stubs.check() == 1
    out = capsys.readouterr().out
    assert "differs:" in out and "forecast_pb2.py" in out
    assert "missing:" in out and "series_pb2.pyi" in out


def test_the_installed_package_uses_these_stubs():
    import stratus._proto.forecast_pb2 as installed

    checked_in = ROOT / "clients" / "python" / "src" / "stratus" / "_proto" / "forecast_pb2.py"
    assert pathlib.Path(installed.__file__).read_text() == checked_in.read_text()
