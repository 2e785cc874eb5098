"""Multi-site training over a WAN: published figures reproduced, and the planner's logic."""

from __future__ import annotations

import pytest

from capacity.errors import CapacityError
from capacity.estimate import Scenario
from capacity.multisite import (
    MultiSiteRequest,
    SiteRequest,
    exposed_s,
    multisite_estimate,
    quality_penalty_pct,
    token_efficiency,
    traffic_reduction,
    utilisation,
)
from capacity.system import resolve_system


@pytest.mark.parametrize(("sync_s", "published"), [(103, 0.957), (382, 0.856), (469, 0.830)])
def test_intellect1_compute_utilisation(sync_s, published):
    """INTELLECT-1 (arXiv:2412.01152v1) Table 2: 100 inner steps take 38 min; median syncs
    of 103 s (USA), 382 s (USA + Europe), 469 s (global) give 95.7 / 85.6 / 83.0 %."""
    step_s = 38 * 60 / 100
    exp = exposed_s("diloco", step_s=step_s, inner_steps=100, sync_s=sync_s)
    assert utilisation(100 * step_s, exp) == pytest.approx(
        published, abs=0.001
    )  # 38 min is rounded


def test_intellect1_bandwidth_reduction():
    """INTELLECT-1 (arXiv:2412.01152) abstract: DiLoCo every 100 steps with an int8
    all-reduce is a 400x reduction against fp32 data-parallel training."""
    assert traffic_reduction(100, "fp32", "int8") == 400


def test_diloco_communication_reduction():
    """DiLoCo (Douillard et al. 2023, arXiv:2311.08105) abstract: 8 workers, H = 500,
    'communicating 500 times less' (Table 2: 8xN/H against 8xN)."""
    assert traffic_reduction(500, "fp32", "fp32") == 500


def test_streaming_diloco_bytes():
    """Streaming DiLoCo (arXiv:2501.18512) Table 1, 25B tokens: 441 TB for data parallel
    against 1.10 TB for Streaming FP4 at H = 100 (the paper's '400x fewer bits')."""
    assert traffic_reduction(100, "bf16", "fp4") == pytest.approx(441 / 1.10, rel=0.01)


def test_quality_penalty_reads_the_tables():
    # arXiv:2503.09799 Table 4 at H = 30: 2.4B, M=8 +1.1 %; 35M, M=4 +2.0 %
    assert quality_penalty_pct(2.4e9, 8, 30)[0] == pytest.approx(1.1)
    assert quality_penalty_pct(35e6, 4, 30)[0] == pytest.approx(2.0)
    # arXiv:2501.18512 Table 6: 1B, M=2, H 30 -> 100 adds 2.50/2.48 - 1
    step = quality_penalty_pct(1e9, 2, 100)[0] - quality_penalty_pct(1e9, 2, 30)[0]
    assert step == pytest.approx((2.50 / 2.48 - 1) * 100)
    pct, in_range, _ = quality_penalty_pct(1e9, 3, 60)
    assert (
        in_range and quality_penalty_pct(1e9, 2, 60)[0] < pct < quality_penalty_pct(1e9, 4, 60)[0]
    )
    for args in ((70e9, 2, 100), (1e9, 16, 100), (1e9, 2, 500)):
        _, in_range, notes = quality_penalty_pct(*args)
        assert not in_range and notes
    assert token_efficiency(1e9, -0.1) == 1.0
    assert token_efficiency(1e9, 0.5) < token_efficiency(1e9, 0.2) < 1.0


def _request(catalog, method, sites=(("leonardo-booster", 64), ("jupiter", 32)), **kw):
    reqs = []
    for key, nodes in sites:
        system = resolve_system(catalog, key)
        reqs.append(SiteRequest(system=system, nodes=nodes, wan=catalog.wan.get(key)))
    base = Scenario(
        model=catalog.model("llama-2-13b"),
        tokens=2e11,
        system=reqs[0].system,
        calibration=catalog.efficiency["calibration"],
    )
    return MultiSiteRequest(base=base, sites=tuple(reqs), method=method, **kw)


def test_methods_rank_and_the_slow_site_is_balanced(catalog):
    ddp = multisite_estimate(_request(catalog, "ddp", wan_gbit_per_s=10))
    diloco = multisite_estimate(_request(catalog, "diloco", inner_steps=100))
    streaming = multisite_estimate(_request(catalog, "streaming", inner_steps=100))
    assert ddp.utilisation < 0.5 < diloco.utilisation <= streaming.utilisation <= 1
    assert ddp.quality.penalty_pct == 0 and diloco.quality.penalty_pct > 0
    assert diloco.wan_bytes_per_sync == pytest.approx(ddp.wan_bytes_per_sync / 2)  # int8/bf16
    assert ddp.gbps_for["90%"] > 10 * diloco.gbps_for["90%"]
    # A100 (Leonardo) vs GH200 (JUPITER): the split by GPUs leaves one site waiting
    assert diloco.step_time_s < diloco.even_step_time_s
    steps = [s.step_time_s for s in diloco.sites]
    assert max(steps) / min(steps) < 1.15
    assert sum(s.share for s in diloco.sites) == pytest.approx(1)
    assert diloco.extra_h > 0 and diloco.gbps_for["90%"] is not None
    # Leonardo and JUPITER both have a sourced uplink (200 Gbit/s)
    assert diloco.wan_gbit_per_s == 200 and not diloco.assumptions[0].startswith("leonardo")


def test_unknown_uplink_is_assumed_and_flagged(catalog):
    est = multisite_estimate(
        _request(catalog, "diloco", sites=(("leonardo-booster", 64), ("marenostrum5/acc", 32)))
    )
    assert est.wan_origin.startswith("marenostrum5/acc: assumed")
    assert any("no published WAN uplink" in a for a in est.assumptions)
    given = multisite_estimate(
        _request(
            catalog,
            "diloco",
            sites=(("leonardo-booster", 64), ("marenostrum5/acc", 32)),
            wan_gbit_per_s=1.0,
        )
    )
    assert given.wan_origin.startswith("given") and given.sync_s > est.sync_s


def test_a_site_twice_is_refused(catalog):
    req = _request(catalog, "diloco", sites=(("jupiter", 8), ("jupiter", 16)))
    with pytest.raises(CapacityError, match="twice"):
        multisite_estimate(req)


def _main(monkeypatch, capsys, *args):
    import sys

    from capacity.cli import main

    monkeypatch.setattr(sys, "argv", ["capacity", *args])
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, capsys.readouterr()


SITES2 = "leonardo-booster:64,marenostrum5/acc:32"


def test_cli_estimate_two_sites(monkeypatch, capsys):
    import json

    args = ("estimate", "--model", "llama-2-13b", "--tokens", "200B", "--sites", SITES2)
    code, out = _main(monkeypatch, capsys, *args)
    assert code == 0, out.err
    assert "DiLoCo" in out.out and "assumed" in out.out and "quality" in out.out
    code, out = _main(monkeypatch, capsys, *args, "--sync", "ddp", "--json")
    doc = json.loads(out.out)["multisite"]
    assert doc["method"] == "ddp" and doc["utilisation"] < 0.5 and len(doc["sites"]) == 2


@pytest.mark.parametrize(
    ("sites", "extra", "field"),
    [
        ("leonardo-booster:64,nowhere:8", (), "sites"),
        ("leonardo-boster:64,jupiter:8", (), "sites"),
        ("jupiter:8,jupiter:16", (), "sites"),
        ("jupiter:8,leonardo-booster", (), "sites"),
        ("jupiter:0,leonardo-booster:8", (), "sites"),
        (SITES2, ("--wan-gbps", "0"), "wan-gbps"),
        (SITES2, ("--sync", "gossip"), "sync"),
        (SITES2, ("--nodes", "8"), "nodes"),
    ],
)
def test_cli_bad_sites_one_line_exit_2(monkeypatch, capsys, sites, extra, field):
    code, out = _main(monkeypatch, capsys, "estimate", "--sites", sites, *extra)
    assert code == 2 and out.err.count("\n") == 1 and field in out.err, out.err


def test_report_has_the_multisite_panel(monkeypatch, capsys, tmp_path):
    page = tmp_path / "ms.html"
    args = ("report", "--model", "llama-2-13b", "--tokens", "200B", "--sites", SITES2)
    code, out = _main(monkeypatch, capsys, *args, "--sync", "streaming", "-o", str(page))
    assert code == 0, out.err
    text = page.read_text()
    assert 'id="multisite"' in text and "Streaming DiLoCo" in text and "chart-multisite" in text


def test_campaign_run_over_three_sites_requests_on_each(catalog):
    from conftest import ROOT

    from capacity.campaign.io import load_plan

    _c, plan = load_plan(ROOT / "examples" / "campaigns" / "multisite-70b-diloco.toml", catalog)
    main = [r for r in plan.runs if r.name.startswith("main-70b")]
    assert [r.system_id for r in main] == ["leonardo", "mn5", "jupiter"]
    assert sum(r.tokens for r in main) == pytest.approx(2e12)
    assert len({r.wall_clock_h_per_job for r in main}) == 1  # the sites train together
    for r in main:
        assert r.billing_unit == "node-hour" and r.units == pytest.approx(
            r.node_counts[0] * r.wall_clock_h_per_job[0]
        )
    assert any("one run over 3 sites" in n for n in plan.notes)


@pytest.mark.parametrize(
    ("sites", "expect"),
    [("{ nowhere = 8 }", "unknown system 'nowhere'"), ("{ a = 8 }", "given twice")],
)
def test_campaign_bad_sites(catalog, tmp_path, sites, expect):
    from capacity.campaign.io import load_plan
    from capacity.campaign.spec import CampaignError

    text = f"""
[campaign]
name = "x"
start = 2027-01-01
months = 12

[[systems]]
id = "a"
system = "jupiter"

[[runs]]
name = "r"
kind = "main"
system = "a"
nodes = 8
sites = {sites}
params = "1B"
tokens = "10B"
"""
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(CampaignError, match=expect):
        load_plan(path, catalog)


def test_streaming_hides_fragments_behind_the_overlap():
    """Streaming DiLoCo (arXiv:2501.18512): each fragment's transfer overlaps tau inner steps;
    only what exceeds them is exposed."""
    kw = {"step_s": 1.0, "inner_steps": 100, "fragments": 10}
    assert exposed_s("streaming", sync_s=10.0, overlap_steps=1, **kw) == 0
    assert exposed_s("streaming", sync_s=30.0, overlap_steps=1, **kw) == pytest.approx(20.0)
    assert exposed_s("streaming", sync_s=30.0, overlap_steps=0, **kw) == pytest.approx(30.0)
    assert exposed_s("diloco", sync_s=30.0, **kw) == 30.0
