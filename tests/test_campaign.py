"""Campaign files and `capacity proposal`: request arithmetic, limits, errors, atomic output."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest
from conftest import ROOT, run_cli

from capacity.campaign import (
    CHECKPOINT_BYTES_FULL_STATE,
    CHECKPOINT_BYTES_WEIGHTS,
    Campaign,
    CampaignError,
    plan_campaign,
    quarters_of,
)
from capacity.campaign.io import load_plan, read_campaign
from capacity.system import resolve_system
from capacity.workload import param_counts

EXAMPLES = ROOT / "examples" / "campaigns"

BASE = """
[campaign]
name = "test"
start = 2027-01-01
months = 12
contingency_fraction = 0.10

[[systems]]
id = "leo"
system = "leonardo-booster/booster"
access = "EuroHPC AI and Data-Intensive"
access_share = 0.5
access_share_source = "test"
dataset_tb = 5

[[runs]]
name = "main"
kind = "main"
system = "leo"
model = "llama-2-7b"
tokens = "1T"
nodes = 64
quarters = [1, 2]
"""


def write(tmp_path: Path, text: str, name: str = "c.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_quarters_split_the_period():
    qs = quarters_of(dt.date(2027, 1, 1), 12)
    assert [q.label for q in qs] == ["Q1", "Q2", "Q3", "Q4"]
    assert sum(q.hours for q in qs) == 365 * 24
    short = quarters_of(dt.date(2027, 11, 30), 4)  # last quarter one month long
    assert len(short) == 2 and short[1].start == dt.date(2028, 2, 29)
    assert short[1].end == dt.date(2028, 3, 30)


def test_request_adds_up_with_margin_and_matches_estimate(catalog, tmp_path):
    _c, plan = load_plan(write(tmp_path, BASE), catalog)
    (run,) = plan.runs
    (sp,) = plan.systems
    est = run.estimates[0]
    assert run.units == pytest.approx(est.run.node_hours)  # Leonardo bills node-hours
    assert run.units_by_quarter == {1: run.units / 2, 2: run.units / 2}
    assert sp.subtotal == pytest.approx(run.units)
    assert sp.total == pytest.approx(run.units * 1.10)
    assert sp.contingency == pytest.approx(run.units * 0.10)
    # capacity: 3456 nodes x 8760 h; the EuroHPC part is half of it
    assert sp.capacity_units == 3456 * 365 * 24
    assert sp.share_of_capacity == pytest.approx(sp.total / (3456 * 8760))
    assert sp.share_of_access == pytest.approx(2 * sp.share_of_capacity)
    # storage: dataset + 2 full checkpoints + final weights
    n = param_counts(catalog.model("llama-2-7b")).total
    per_param = 2 * CHECKPOINT_BYTES_FULL_STATE.value + CHECKPOINT_BYTES_WEIGHTS.value
    assert sp.checkpoint_tb == pytest.approx(n * per_param / 1e12)
    assert sp.storage_tb == pytest.approx(5 + sp.checkpoint_tb)
    assert plan.warnings == ()
    assert any("chained jobs" in n for n in plan.notes)  # > 24 h job limit


def test_gpu_hour_billing_counts_and_fixed_jobs(catalog, tmp_path):
    text = BASE.replace("leonardo-booster/booster", "jean-zay/h100").replace(
        'access = "EuroHPC AI and Data-Intensive"\n', ""
    )
    text += """
[[runs]]
name = "eval"
kind = "evaluation"
system = "leo"
hours_per_job = 2.5
nodes = [1, 2]
count = 4
"""
    _c, plan = load_plan(write(tmp_path, text), catalog)
    ev = plan.runs[1]
    assert ev.billing_unit == "gpu-hour"
    assert ev.units == pytest.approx(4 * 2.5 * (1 + 2) * 4)  # 4 GPUs per node
    assert ev.quarters == (1, 2, 3, 4) and ev.checkpoint_tb == 0
    assert plan.systems[0].subtotal == pytest.approx(plan.runs[0].units + ev.units)


def test_warnings_for_partition_and_allocation(catalog, tmp_path):
    text = BASE.replace("dataset_tb = 5", "dataset_tb = 5\nallocation = 1000")
    text = text.replace("nodes = 64", "nodes = 512")
    _c, plan = load_plan(write(tmp_path, text), catalog)
    codes = {w.code for w in plan.warnings}
    assert {"partition", "allocation"} <= codes
    assert not plan.runs[0].feasible
    joined = " ".join(str(w) for w in plan.warnings)
    assert "256-node limit" in joined and "allocation" in joined


def test_quarter_outside_the_period_is_refused(catalog, tmp_path):
    # a warning before, while the request counted its hours in the total and in no quarter
    text = BASE.replace("quarters = [1, 2]", "quarters = [5]")
    with pytest.raises(CampaignError, match="Q5 lie outside the 12-month period"):
        load_plan(write(tmp_path, text), catalog)


def test_run_longer_than_its_quarters_is_flagged(catalog, tmp_path):
    text = BASE.replace('tokens = "1T"', 'tokens = "20T"').replace("nodes = 64", "nodes = 16")
    _c, plan = load_plan(write(tmp_path, text), catalog)
    assert any(w.code == "period" and "wall-clock" in w.message for w in plan.warnings)


def test_examples_plan_cleanly(catalog):
    for path in sorted(EXAMPLES.glob("*.toml")):
        _c, plan = load_plan(path, catalog)
        assert plan.warnings == (), (path, plan.warnings)
        assert all(s.total > 0 for s in plan.systems)
    names = {p.name for p in EXAMPLES.glob("*.toml")}
    assert names >= {"leonardo-7b-eurohpc-ai.toml", "jean-zay-cloud-30b.toml"}


def test_plan_is_pure_given_resolved_inputs(catalog):
    campaign = Campaign.model_validate(
        {
            "campaign": {"name": "x", "start": dt.date(2027, 1, 1), "months": 6},
            "systems": [{"id": "a", "system": "leonardo"}],
            "runs": [
                {
                    "name": "r",
                    "kind": "ablation",
                    "system": "a",
                    "params": "1B",
                    "tokens": "20B",
                    "nodes": 4,
                    "count": 3,
                }
            ],
        }
    )
    from capacity.workload import model_from_params

    plan = plan_campaign(
        campaign,
        {"a": resolve_system(catalog, "leonardo")},
        {"r": model_from_params(1e9)},
        catalog.exchange_rates,
    )
    assert len(plan.quarters) == 2
    assert plan.runs[0].units == pytest.approx(3 * plan.runs[0].estimates[0].run.node_hours)


BAD = [
    # (replace this, by this, expected fragments of the one-line message)
    (
        'system = "leo"\nmodel',
        'system = "nowhere"\nmodel',
        ["runs[0] 'main'", "'system'", "nowhere"],
    ),
    (
        'system = "leonardo-booster/booster"',
        'system = "atlantis"',
        ["systems[0] 'leo'", "'system'", "atlantis"],
    ),
    ('tokens = "1T"', "hours_per_job = -3", ["runs[0] 'main'", "'hours_per_job'"]),
    ("nodes = 64", "nodes = -4", ["runs[0] 'main'", "'nodes'", "positive"]),
    ('kind = "main"\n', "", ["runs[0] 'main'", "'kind'", "missing"]),
    ("months = 12\n", "", ["[campaign]", "'months'", "missing"]),
    ("nodes = 64", "nodes = 64\nnodez = 3", ["runs[0] 'main'", "'nodez'", "unknown field"]),
    ('model = "llama-2-7b"', 'model = "llama-9"', ["runs[0] 'main'", "'model'", "llama-9"]),
    ('tokens = "1T"', 'tokens = "lots"', ["runs[0] 'main'", "'tokens'", "lots"]),
    ("access_share = 0.5", "access_share = 1.5", ["systems[0] 'leo'", "'access_share'"]),
    ('kind = "main"', 'kind = "party"', ["runs[0] 'main'", "'kind'"]),
    ("[[runs]]", "[[runs]\n", ["not valid TOML"]),
]


@pytest.mark.parametrize(("old", "new", "expect"), BAD)
def test_bad_campaign_names_file_entry_and_field(catalog, tmp_path, old, new, expect):
    assert old in BASE
    path = write(tmp_path, BASE.replace(old, new, 1))
    with pytest.raises(CampaignError) as info:
        load_plan(path, catalog)
    msg = str(info.value)
    assert msg.startswith(str(path)), msg
    for frag in expect:
        assert frag in msg, (frag, msg)


def test_cli_bad_campaign_one_line_exit_2(tmp_path):
    path = write(tmp_path, BASE.replace('tokens = "1T"', "hours_per_job = -1"))
    out = tmp_path / "out"
    res = run_cli("proposal", str(path), "-o", str(out))
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(path) in lines[0]
    assert "runs[0] 'main'" in lines[0] and "hours_per_job" in lines[0]
    assert not out.exists()  # nothing written on failure
    missing = run_cli("proposal", str(tmp_path / "nope.toml"), "-o", str(out))
    assert missing.returncode == 2 and "nope.toml" in missing.stderr


def test_cli_writes_the_pack(tmp_path):
    out = tmp_path / "pack"
    res = run_cli("proposal", str(EXAMPLES / "jean-zay-cloud-30b.toml"), "-o", str(out), "--json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert sorted(p.name for p in out.iterdir()) == ["proposal.html", "request.csv", "request.md"]
    systems = {s["id"]: s for s in doc["systems"]}
    assert systems["jean-zay"]["billing_unit"] == "gpu-hour"
    assert systems["cloud"]["billing_unit"] == "node-hour"
    assert systems["cloud"]["cost"]["currency"] == "EUR"
    # CSV totals agree with the JSON
    rows = list(csv.DictReader(io.StringIO((out / "request.csv").read_text())))
    totals = {r["system"]: float(r["units"]) for r in rows if r["run"] == "(total)"}
    for sid, s in systems.items():
        assert totals[sid] == pytest.approx(s["total"], abs=0.01)
    per_run = sum(
        float(r["units"])
        for r in rows
        if r["system"] == "jean-zay" and not r["run"].startswith("(")
    )
    assert per_run == pytest.approx(systems["jean-zay"]["subtotal"], rel=1e-6)
    md = (out / "request.md").read_text()
    assert "GPU-hours" in md and "node-hours" in md and "total with margin" in md
    assert f"{systems['jean-zay']['total']:,.0f}" in md
    html_text = (out / "proposal.html").read_text()
    # plotly.js embedded once, nothing loaded from elsewhere
    assert html_text.count("plotly.js v") == 1  # the bundle banner: embedded exactly once
    assert "<script src" not in html_text and "<link" not in html_text


def test_user_text_is_escaped_everywhere(catalog, tmp_path):
    evil = '<script>alert("x")</script> | =cmd'
    text = BASE.replace('name = "test"', f"name = '{evil}'").replace(
        'name = "main"', "name = '<b>main</b> | x'"
    )
    path = write(tmp_path, text)
    _c, plan = load_plan(path, catalog)
    from capacity.report.proposal import render_files

    files = render_files(plan, catalog)
    assert "<script>alert" not in files["proposal.html"]
    assert "&lt;script&gt;alert" in files["proposal.html"]
    assert "<b>main</b>" not in files["proposal.html"]
    assert "\\|" in files["request.md"]  # pipes cannot break the Markdown tables
    assert "<script>" not in files["request.md"] and "<b>" not in files["request.md"]
    rows = list(csv.reader(io.StringIO(files["request.csv"])))
    assert all(not cell.startswith("=") for row in rows for cell in row)


def test_read_campaign_rejects_folders(tmp_path):
    with pytest.raises(CampaignError, match="folder"):
        read_campaign(tmp_path)
