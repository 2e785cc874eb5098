"""The Python API: lazy top-level names, pydantic results and pandas tables."""

from __future__ import annotations

import subprocess
import sys

import pytest

import capacity


def test_top_level_api_and_frames(catalog):
    scn = capacity.Scenario(
        model=catalog.model("llama-2-7b"),
        tokens=2e12,
        system=capacity.resolve_system(catalog, "leonardo-booster"),
        n_gpus=256,
        calibration=catalog.efficiency.get("calibration"),
    )
    est = capacity.estimate_run(scn)
    df = capacity.estimates_frame([est])
    assert df.loc[0, "wall_clock_days"] == pytest.approx(est.wall_clock_days)
    assert df.loc[0, "wall_clock_days_p10"] <= df.loc[0, "wall_clock_days_p90"]
    rows = capacity.compare_systems(
        catalog.model("llama-2-7b"),
        2e12,
        capacity.all_systems(catalog),
        gpus=256,
        rates=catalog.exchange_rates,
    )
    table = capacity.compare_frame(rows)
    assert len(table) == len(rows) and "co2_t" in table.columns
    with pytest.raises(AttributeError):
        _ = capacity.no_such_name


def test_import_capacity_is_cheap():
    code = (
        "import capacity, sys; print(sorted(m for m in ('pandas', 'plotly', 'typer', "
        "'pydantic') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "[]"
