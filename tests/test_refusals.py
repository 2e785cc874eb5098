"""Semantics that refuse the impossible, and deadline sizing (issue 12). In-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from capacity.catalog.loader import load_catalog
from capacity.cli import app
from capacity.estimate import Scenario, estimate
from capacity.sizing import max_job_nodes, node_grid
from capacity.system import resolve_system

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(app, list(args))
    return res.exit_code, res.stdout, res.stderr


def error_line(*args: str) -> str:
    code, _out, err = cli(*args)
    lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("note:")]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_measured_step_above_the_peak_is_refused_with_the_implied_mfu():
    line = error_line("estimate", "--params", "7B", "--tokens", "1T", "--measured-step-time", "2")
    assert "measured-step-time" in line and "MFU 1" in line and "peak" in line


def test_reanchoring_keeps_the_measured_layout():
    _, out, _ = cli("estimate", "--params", "7B", "--tokens", "1T", "--json")
    base = json.loads(out)
    slower = f"{base['step_time_s'] * 1.5:.3f}"
    code, out, err = cli(
        "estimate", "--params", "7B", "--tokens", "1T", "--measured-step-time", slower, "--json"
    )
    assert code == 0, err
    anchored = json.loads(out)
    assert anchored["layout"] == base["layout"]
    assert anchored["step_time_s"] == pytest.approx(float(slower), rel=1e-3)


@pytest.mark.parametrize("tokens", ["1", "1e-5", "1M"])
def test_tokens_fewer_than_one_global_batch_are_refused(tokens):
    assert "global batch" in error_line("estimate", "--params", "7B", "--tokens", tokens)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--model", "mixtral-8x7b", "--ep", "3"], "8 experts"),
        (["--params", "1B", "--ep", "8"], "mixture-of-experts"),
        (["--params", "1B", "--tp", "2", "--pp", "2", "--dp", "2", "--gpus", "256"], "256 GPUs"),
        (["--params", "1B", "--pp", "2", "--vpp", "1000"], "layers"),
    ],
)
def test_messages_name_the_real_cause(args, says):
    line = error_line("estimate", "--tokens", "20B", "--cluster", "leonardo-booster", *args)
    assert says in line and "exceeds the 4-GPU node" not in line


def test_single_gpu_offering_cannot_run_a_multi_node_job():
    line = error_line(
        "estimate", "--params", "1B", "--tokens", "20B", "--cluster", "scaleway-h100-1-80g",
        "--gpus", "8", "--json",
    )  # fmt: skip
    assert "gpus" in line and "no multi-node fabric" in line


def test_more_gpus_than_the_partition_is_refused_before_planning(monkeypatch):
    import capacity.scenario_plan as scenario_plan

    def no_planning(req):
        raise AssertionError("planned a job that cannot exist")

    monkeypatch.setattr(scenario_plan, "plan", no_planning)
    line = error_line("estimate", "--params", "1B", "--cluster", "jean-zay/a100", "--gpus", "1024")
    assert "416 GPUs in all" in line


def test_planned_system_is_not_yet_available(tmp_path):
    # Alice Recoque's MI430X has no published peak: assume one in a user catalog.
    acc = (ROOT / "catalogs/accelerators/amd-mi430x.toml").read_text()
    (tmp_path / "accelerators").mkdir()
    (tmp_path / "accelerators" / "amd-mi430x.toml").write_text(
        acc.replace('status = "announced"', 'status = "announced"\npeak_tflops_bf16 = 1000', 1)
        + '\n[[sources]]\ntitle = "assumed for a test"\nlocator = "test"\n'
        'as_of = 2026-01-01\nfields = ["peak_tflops_bf16"]\n'
    )
    code, out, err = cli(
        "estimate", "--params", "1B", "--tokens", "20B", "--cluster", "alice-recoque",
        "--catalog", str(tmp_path), "--json",
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    assert doc["feasible"] is False
    assert doc["verdict"] == "NOT YET AVAILABLE (expected not before 2027)"
    assert any(r.startswith("not yet available") for r in doc["reasons"])


def _scn(cat, system: str, days: float, **kw):
    return Scenario(
        model=cat.model("llama-3-8b"),
        tokens=15e12,
        system=resolve_system(cat, system),
        days=days,
        calibration=cat.efficiency.get("calibration"),
        exchange_rates=cat.exchange_rates,
        **kw,
    )


@pytest.mark.parametrize("system", ["jean-zay/h100", "aws-p5-48xlarge"])
def test_deadline_sizing_is_the_smallest_count_that_meets_it(system, monkeypatch):
    import capacity.sizing as sizing

    cat = load_catalog()
    seen: list[int] = []
    real = sizing.planned

    def counting(scn, n, *a, **k):
        seen.append(n)
        return real(scn, n, *a, **k)

    monkeypatch.setattr(sizing, "planned", counting)
    est = estimate(_scn(cat, system, 30))
    monkeypatch.undo()
    assert len(seen) == len(set(seen)), "a candidate was evaluated twice"
    assert est.wall_clock_days <= 30
    g = est.scenario.system.gpus_per_node
    grid = node_grid(max_job_nodes(est.scenario.system))
    below = grid[grid.index(est.n_gpus // g) - 1] * g
    smaller = estimate(_scn(cat, system, 30).model_copy(update={"n_gpus": below, "days": None}))
    assert smaller.wall_clock_days > 30  # one step down the node grid misses the deadline


def test_deadline_sizing_says_when_the_batch_is_the_limit():
    cat = load_catalog()
    est = estimate(_scn(cat, "aws-p5-48xlarge", 2, global_batch_tokens=1e6))
    assert not est.feasible
    note = next(n for n in est.notes if "no job size meets" in n)
    assert "global batch is the limit" in note and "--global-batch" in note


def test_impossible_deadline_is_bounded_by_the_partition():
    code, out, err = cli(
        "compare", "--params", "7B", "--tokens", "1T", "--days", "0.001", "--where", "eu", "--json"
    )
    assert code == 0, err
    rows = json.loads(out)["rows"]
    assert rows and not any(r["feasible"] for r in rows)


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("hours_per_job = 2.0", "hours_per_job = inf", "hours_per_job"),
        ("start = 2027-01-01", "start = 9999-06-01", "start"),
        ("quarters = [2, 3]", "quarters = [2, 2, 2]", "quarters"),
        ("nodes = 128\n", "nodes = 99999999999999999999999\n", "nodes"),
    ],
)
def test_campaign_values_are_checked(tmp_path, old, new, field):
    text = (ROOT / "examples/campaigns/leonardo-7b-eurohpc-ai.toml").read_text()
    assert old in text
    path = tmp_path / "c.toml"
    path.write_text(text.replace(old, new, 1))
    line = error_line("proposal", str(path), "-o", str(tmp_path / "out"))
    assert field in line
