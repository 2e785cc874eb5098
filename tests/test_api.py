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


def test_scenario_defaults_to_fp16_on_parts_without_bf16(catalog):
    """V100 has no bf16 (NVIDIA V100 datasheet): a Scenario without a precision trains in
    fp16 there and in bf16 on A100/H100, as `--precision auto` does on the CLI."""
    import capacity
    from capacity.system import resolve_system

    def precision(system_id):
        system = resolve_system(catalog, system_id)
        return capacity.Scenario(model=catalog.model("llama-2-7b"), tokens=1e12, system=system)

    assert precision("jean-zay/v100-32g").precision == "fp16"
    assert precision("jean-zay/h100").precision == "bf16"
