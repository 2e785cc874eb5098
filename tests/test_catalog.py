"""Catalog integrity: every figure sourced and dated, references resolve, sane values."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from conftest import ROOT, run_cli

from capacity.catalog.loader import builtin_catalog_dir, load_file, validate_folder
from capacity.catalog.schemas import KINDS, Accelerator, Sourced
from capacity.errors import CatalogError

FILES = sorted(p for p in (ROOT / "catalogs").rglob("*.toml") if p.parent.name in KINDS)


def _records(entry: Sourced):
    yield entry
    yield from getattr(entry, "partitions", ())


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_numeric_figure_has_a_dated_source(path):
    kind = path.parent.name
    entry = load_file(path, KINDS[kind])
    for rec in _records(entry):
        for name in rec.model_fields_set:
            value = getattr(rec, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            src = rec.source_for(name)
            assert src is not None, f"{path}: {name} has no source"
            assert src.as_of and (src.url or src.locator)


def test_counts_meet_the_issue(catalog):
    assert len(catalog.accelerators) >= 20
    assert sum(len(c.partitions) for c in catalog.clusters.values()) >= 15
    assert len(catalog.cloud) >= 20
    assert len(catalog.models) >= 11


def test_sane_ranges(catalog):
    for acc in catalog.accelerators.values():
        for prec in ("bf16", "fp16", "tf32"):
            peak = acc.peak_tflops(prec)
            assert peak is None or 0 < peak < 10_000, acc.id  # dense, < 10 PFLOP/s
        assert 8 <= acc.memory_gib <= 512, acc.id
    for off in catalog.cloud.values():
        if off.price_per_hour is None:  # listed without a public price
            continue
        per_gpu = off.price_per_hour / off.accelerators_per_instance
        assert 0.2 < per_gpu < 40, off.id
    for grid in catalog.grids.values():
        assert 0 <= grid.gco2_per_kwh < 1200, grid.id


def test_references_resolve(catalog):
    for cl in catalog.clusters.values():
        for part in cl.partitions:
            assert part.accelerator in catalog.accelerators
        assert cl.grid_id in catalog.grids
    for off in catalog.cloud.values():
        assert off.accelerator in catalog.accelerators and off.grid in catalog.grids


def test_alice_recoque_is_findable_by_both_names(catalog):
    assert catalog.cluster("alice-recoque").id == catalog.cluster("jules-verne").id


def test_figure_without_source_is_refused(tmp_path):
    bad = tmp_path / "accelerators"
    bad.mkdir()
    (bad / "x.toml").write_text(
        'id = "x"\nname = "X"\nvendor = "V"\nmemory_gib = 80\n'
        '[[sources]]\ntitle = "A datasheet"\nurl = "https://example.org"\nas_of = 2024-01-01\n'
        'fields = ["peak_tflops_bf16"]\n'
    )
    with pytest.raises(CatalogError) as err:
        load_file(bad / "x.toml", Accelerator)
    assert "memory_gib" in str(err.value)


def test_validate_names_file_and_field(tmp_path):
    (tmp_path / "grids").mkdir()
    (tmp_path / "grids" / "zz.toml").write_text(
        'id = "zz"\nname = "Z"\ngco2_per_kwh = -5\nyear = 2023\n'
        '[[sources]]\ntitle = "Some data"\nurl = "https://example.org"\nas_of = 2024-01-01\n'
    )
    res = run_cli("catalog", "validate", str(tmp_path))
    assert res.returncode == 2
    assert "zz.toml" in res.stderr and "gco2_per_kwh" in res.stderr
    with pytest.raises(CatalogError):
        validate_folder(tmp_path)


def test_user_catalog_override_is_announced(tmp_path):
    src = builtin_catalog_dir() / "grids" / "it.toml"
    data = tomllib.loads(src.read_text())
    (tmp_path / "grids").mkdir()
    text = src.read_text().replace(f"gco2_per_kwh = {data['gco2_per_kwh']}", "gco2_per_kwh = 1.0")
    (tmp_path / "grids" / "it.toml").write_text(text)
    res = run_cli("estimate", "--catalog", str(tmp_path), "--json")
    assert res.returncode == 0, res.stderr
    assert "override" in res.stderr and "grids/it" in res.stderr
    assert json.loads(res.stdout)["co2_t"] < 0.1


def test_catalog_commands():
    assert run_cli("catalog", "list", "clusters").returncode == 0
    doc = json.loads(run_cli("catalog", "list", "--json").stdout)
    assert set(doc) == {
        "accelerators",
        "clusters",
        "cloud",
        "models",
        "grids",
        "calls",
        "frameworks",
        "wan",
    }
    assert {r["id"] for r in doc["frameworks"]} >= {"megatron-lm", "fsdp", "unknown"}
    assert run_cli("catalog", "show", "torchtitan").stdout.startswith("id: fsdp")
    show = run_cli("catalog", "show", "leonardo-booster")
    assert show.returncode == 0 and "wiki.u-gov.it" in show.stdout
    schema = json.loads(run_cli("catalog", "schema", "accelerators").stdout)
    assert "memory_gib" in schema["properties"]
    assert run_cli("catalog", "validate").returncode == 0
    bad = run_cli("catalog", "show", "leonardo-boster")
    assert bad.returncode == 2 and "leonardo-booster" in bad.stderr


def test_exchange_rates_are_dated(catalog):
    rates = catalog.exchange_rates
    assert rates is not None and rates.base == "EUR" and "USD" in rates.rates
    assert rates.sources


def test_every_file_is_toml_with_matching_id():
    for path in FILES:
        data = tomllib.loads(Path(path).read_text())
        if path.parent.name in KINDS:
            assert data["id"] == path.stem
