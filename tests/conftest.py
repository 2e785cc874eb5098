from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from capacity.catalog.loader import Catalog, load_catalog

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


def capacity_exe() -> list[str]:
    """The installed entry point (falls back to the module for odd environments)."""
    exe = shutil.which("capacity")
    return [exe] if exe else [sys.executable, "-m", "capacity"]


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*capacity_exe(), *args], capture_output=True, text=True, cwd=cwd, timeout=120
    )
