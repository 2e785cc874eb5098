from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from capacity.catalog.loader import Catalog, load_catalog

ROOT = Path(__file__).resolve().parent.parent

# A small valid scaling-law file (`capacity fit-law` output shape) for the --law tests.
LAW_TOML = """id = "fit:t"
name = "t"
source = "test"
as_of = "2026-12-01"
E = 1.76
A = 355.3
B = 1189.1
alpha = 0.333
beta = 0.335
n_runs = 20
params_range = [1e8, 3e9]
tokens_range = [1e9, 1.2e11]
flops_range = [6e17, 2.2e21]
loss_range = [2.23, 3.66]
bootstrap = [[1.7, 350.0, 1200.0, 0.33, 0.34]]
"""
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


def capacity_exe() -> list[str]:
    """The installed entry point (falls back to the module for odd environments)."""
    exe = shutil.which("capacity")
    return [exe] if exe else [sys.executable, "-m", "capacity"]


def run_console(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """End to end: the installed console script in a new process (a few tests only)."""
    return subprocess.run(
        [*capacity_exe(), *args], capture_output=True, text=True, cwd=cwd, timeout=120
    )


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI in-process: `capacity.cli.main` with these arguments, its exit code and
    what it wrote to stdout and stderr (the same entry point as the console script,
    errors to one line and exit code 2 included, without a process start)."""
    import contextlib
    import io
    import os

    from capacity.cli import main

    out, err = io.StringIO(), io.StringIO()
    old_argv, old_cwd = sys.argv, os.getcwd()
    code = 0
    try:
        sys.argv = ["capacity", *args]
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main()
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = old_argv
        os.chdir(old_cwd)
    return subprocess.CompletedProcess(
        ["capacity", *args], code, stdout=out.getvalue(), stderr=err.getvalue()
    )
