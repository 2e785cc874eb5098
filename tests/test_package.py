"""The catalogs ship inside the wheel and are found from a non-editable install."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import zipfile

import pytest
from conftest import ROOT


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    # Reuse the build backend when it is installed (fast, offline); else let pip isolate.
    isolation = [] if importlib.util.find_spec("hatchling") is None else ["--no-build-isolation"]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            *isolation,
            "-q",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return next(out.glob("capacity-*.whl"))


def test_wheel_contains_catalogs(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tomls = [n for n in names if n.startswith("capacity/_catalogs/") and n.endswith(".toml")]
    repo = list((ROOT / "catalogs").rglob("*.toml"))
    assert len(tomls) == len(repo) > 10


def test_installed_wheel_finds_catalog_from_another_folder(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}
    res = subprocess.run(
        [sys.executable, "-m", "capacity", "estimate", "--json"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    assert '"feasible"' in res.stdout
    check = subprocess.run(
        [
            sys.executable,
            "-c",
            "from capacity.catalog.loader import builtin_catalog_dir as d; print(d())",
        ],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "_catalogs" in check.stdout and str(target) in check.stdout
