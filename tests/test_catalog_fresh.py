"""Estimated figures, the freshness rule and the regions of `--where` (issue #14)."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from capacity.catalog.freshness import catalog_stale, months_between, record_stale
from capacity.catalog.schemas import Grid, Source
from capacity.cli import app
from capacity.compare import EU_MEMBERS, EUROPE, region_of, select_systems
from capacity.system import all_systems

TODAY = dt.date(2026, 12, 1)
RUNNER = CliRunner()


def _grid(year: int, **src: object) -> Grid:
    source = {"title": "test grid", "url": "https://example.org", "as_of": dt.date(year + 1, 2, 1)}
    return Grid.model_validate(
        {"id": "xx", "name": "X", "gco2_per_kwh": 100, "year": year, "sources": [source | src]}
    )


def test_an_estimate_needs_its_basis_and_a_basis_needs_the_flag():
    base = {"title": "test", "url": "https://example.org", "as_of": TODAY}
    with pytest.raises(ValidationError, match="basis"):
        Source.model_validate(base | {"estimated": True})
    with pytest.raises(ValidationError, match="estimated = true"):
        Source.model_validate(base | {"basis": "guess"})
    src = Source.model_validate(base | {"estimated": True, "basis": "1 EF / peak"})
    assert src.label().startswith("(estimate: 1 EF / peak)")


def test_freshness_rule_dates_a_grid_by_its_year():
    assert months_between(dt.date(2025, 12, 1), TODAY) == 12
    assert months_between(dt.date(2025, 12, 2), TODAY) == 11
    assert record_stale(_grid(2025), "grids/xx", TODAY) == []
    (old,) = record_stale(_grid(2024), "grids/xx", TODAY)
    assert (old.as_of, old.limit_months, old.note) == (dt.date(2024, 12, 31), 12, None)
    (kept,) = record_stale(_grid(2024, stale_note="newest published"), "grids/xx", TODAY)
    assert kept.note == "newest published"


def test_builtin_catalog_keeps_the_freshness_rule(catalog):
    """Done-when of issue #14: nothing older than the rule without a note saying why."""
    unnoted = [s.describe() for s in catalog_stale(catalog, TODAY) if s.note is None]
    assert unnoted == []
    res = RUNNER.invoke(app, ["catalog", "validate", "--stale"])
    assert res.exit_code == 0, res.output
    assert "0 without a note" in res.output


def test_where_eu_is_the_member_states_and_europe_adds_eea_uk_ch(catalog):
    assert len(EU_MEMBERS) == 27 and {"ch", "gb", "no"} <= EUROPE - EU_MEMBERS
    systems = all_systems(catalog)
    eu = {s.id for s in select_systems(systems, ["eu"])}
    europe = {s.id for s in select_systems(systems, ["europe"])}
    assert "leonardo-booster/booster" in eu and eu < europe
    assert not any(region_of(s) in {"ch", "gb"} for s in systems if s.id in eu)
    assert any(s.id.startswith("alps") for s in systems if s.id in europe)


def test_estimated_figures_are_labelled_in_show_and_estimate(catalog):
    res = RUNNER.invoke(app, ["catalog", "show", "alice-recoque"])
    assert res.exit_code == 0, res.output
    assert "(estimate:" in res.output
    res = RUNNER.invoke(app, ["catalog", "list", "clusters"])
    assert "(estimate)" in res.output


def test_one_energy_basis_node_power_everywhere(catalog):
    """Issue #14: every operational system has a node power (TOP500 HPL per node, or
    estimated from the nearest measured system), so compare rows share one basis."""
    from capacity.cost import run_cost

    systems = [s for s in all_systems(catalog) if s.status == "operational"]
    assert [s.id for s in systems if s.node_power_kw is None] == []
    mn5 = next(s for s in systems if s.id == "marenostrum5/acc")
    run = run_cost(mn5, 64, 10.0)
    # TOP500 June 2025: MareNostrum 5 ACC 4,158.9 kW over 1,120 nodes = 3.713 kW
    assert run.energy_mwh == pytest.approx(16 * 10.0 * 3.713 * 1.2 / 1000)
    assert not run.energy_estimated and "(default)" in run.power_basis
    jz = next(s for s in systems if s.id == "jean-zay/h100")
    assert run_cost(jz, 64, 10.0).energy_estimated


def test_estimate_labels_estimates_and_notes_stale_figures(catalog):
    from capacity.estimate import Scenario, estimate
    from capacity.system import resolve_system

    model = catalog.model("llama-2-7b")
    scn = Scenario(
        model=model, tokens=1e11, system=resolve_system(catalog, "jean-zay/v100-16g"), n_gpus=64
    )
    est = estimate(scn)
    estimated = [a for a in est.assumptions if "(estimate:" in a.source]
    assert any("nodes" in a.name for a in estimated)  # 1,404 / 4, not published
    assert any(n.startswith("stale figure: jean-zay/v100-16g") for n in est.notes)


def test_new_systems_are_sourced_and_planned_ones_say_when(catalog):
    """Issue #14 coverage: Deucalion's two A100 partitions (MACC user documentation: 17 x 4
    A100-40, 16 x 4 A100-80) and the contracted AI Factory systems, which are planned and
    carry when they are expected; compare gives every one of them a row, never a crash."""
    deucalion = catalog.clusters["deucalion"]
    shape = {p.id: (p.nodes, p.accelerators_per_node) for p in deucalion.partitions}
    assert shape == {"a100-40": (17, 4), "a100-80": (16, 4)}
    planned = [p for c in catalog.clusters.values() for p in c.partitions if p.status == "planned"]
    assert {"ai", "gb200"} <= {p.id for p in planned}
    assert all(p.expected_available and p.source_for("expected_available") for p in planned)
    res = RUNNER.invoke(
        app, ["compare", "--params", "1B", "--tokens", "20B", "--nodes", "4", "--where", "all"]
    )
    assert res.exit_code == 0, res.output
    for sid in ("deucalion/a100-40", "meluxina/ai", "hammerhai/gb200", "alice-recoque/gpu"):
        assert sid in res.output
