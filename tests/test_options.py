"""One input model (`ScenarioOptions`) and the shared options of the scenario commands."""

from __future__ import annotations

import inspect
import json

import pytest
from typer.testing import CliRunner

from capacity import scenario_plan
from capacity.cli import app, compare_cmd, estimate_cmd, optimal_cmd, plan_cmd, report_cmd
from capacity.errors import CapacityError
from capacity.inputs import MULTISITE_FIELDS, ScenarioOptions

runner = CliRunner()


@pytest.mark.parametrize(
    ("values", "field", "text"),
    [
        ({"seq_len": 0}, "seq-len", "must be positive, got 0"),
        ({"zero": 7}, "zero", "ZeRO stage must be 0-3, or 4 for HSDP, got 7"),
        ({"mfu": 1.5}, "mfu", "must lie in (0, 1], got 1.5"),
        ({"failure_rate": -1.0}, "failure-rate", "must not be negative, got -1.0"),
        ({"days": float("inf")}, "days", "finite"),
        ({"nodes": 2, "gpus": 8}, "gpus", "not both"),
        ({"model": "llama-2-7b", "params": "7B"}, "params", "not both"),
        ({"precision": "int4"}, "precision", "is not one of"),
        ({"inner_steps": 5}, "inner-steps", "only with --sites"),
        ({"sites": "jupiter:8,lumi:8", "nodes": 2}, "nodes", "in --sites instead"),
        ({"recompute": "some"}, "recompute", "is not one of"),
        ({"tokenz": "1T"}, "tokenz", "Extra inputs"),
    ],
)
def test_one_error_path_naming_the_flag(values, field, text):
    with pytest.raises(CapacityError) as err:
        ScenarioOptions.parse(**values)
    assert err.value.field == field and text in str(err.value)


def test_defaults_used_only_for_the_default_scenario():
    assert "model mistral-7b" in ScenarioOptions.parse().defaults_used
    assert ScenarioOptions.parse(model="llama-2-7b").defaults_used == ""


SCENARIO_FLAGS = set(ScenarioOptions.model_fields)


@pytest.mark.parametrize(
    ("command", "missing"),
    [
        (estimate_cmd.estimate, set()),
        (plan_cmd.plan, set(MULTISITE_FIELDS)),  # --sites: estimate and report only
        (report_cmd.report, set()),
        (
            compare_cmd.compare,
            {"cluster", "partition", "measured_step_time", "measured_steps", *MULTISITE_FIELDS},
        ),
        (optimal_cmd.optimal, set(optimal_cmd.NOT_OPTIONS_OF_OPTIMAL) - {"budget"}),  # own --budget
    ],
)
def test_scenario_commands_share_the_options(command, missing):
    params = set(inspect.signature(command).parameters)
    assert SCENARIO_FLAGS - params == missing


def test_compare_help_lists_batch_precision_layout_and_goodput():
    res = runner.invoke(app, ["compare", "--help"], terminal_width=200)
    assert res.exit_code == 0
    for flag in ("--global-batch", "--precision", "--tp", "--pp", "--zero", "--recompute"):
        assert flag in res.output
    for flag in ("--failure-rate", "--restart-min", "--job-hours", "--no-goodput"):
        assert flag in res.output


def _compare_gpus(*extra: str) -> int:
    args = ["compare", "--model", "llama-3-8b", "--tokens", "15T", "--days", "30"]
    res = runner.invoke(app, [*args, "--cluster", "leonardo-booster", "--json", *extra])
    assert res.exit_code == 0, res.output
    (row,) = json.loads(res.output)["rows"]
    return int(row["gpus"])


def test_compare_takes_the_global_batch():
    """Issue 10: with the 4M default batch Leonardo needs far more GPUs for 30 days than with
    the DeepSeek rule's batch, which compare could not be told before."""
    # 2,432 vs 3,584 GPUs with the 2026-12 calibration (end-to-end overhead included)
    assert _compare_gpus("--global-batch", "auto") < 0.8 * _compare_gpus()


def test_compare_takes_goodput_and_layout_options():
    base = ["compare", "--model", "llama-2-7b", "--tokens", "100B", "--nodes", "8"]
    base += ["--cluster", "jean-zay/h100", "--json"]
    plain = json.loads(runner.invoke(app, base).output)["rows"][0]
    off = json.loads(runner.invoke(app, [*base, "--no-goodput"]).output)["rows"][0]
    assert off["wall_clock_days"] < plain["wall_clock_days"]
    res = runner.invoke(app, [*base, "--zero", "9"])
    assert res.exit_code != 0


def test_plan_searches_once(monkeypatch):
    calls = []
    real = scenario_plan.plan

    def counting(req):
        calls.append(req.top)
        return real(req)

    monkeypatch.setattr(scenario_plan, "plan", counting)
    res = runner.invoke(
        app,
        ["plan", "--model", "llama-2-7b", "--tokens", "1T", "--nodes", "16", "--top", "3"],
    )
    assert res.exit_code == 0, res.output
    # one search of the job size (the batch hint may add one at another batch)
    assert calls.count(3) == 1 and len(calls) <= 2


def test_compare_scenario_keeps_the_template_options(catalog):
    import capacity

    systems = [capacity.resolve_system(catalog, "jean-zay/h100")]
    template = capacity.Scenario(
        model=catalog.model("llama-2-7b"),
        tokens=1e11,
        system=systems[0],
        global_batch_tokens=2_000_000,
        calibration=catalog.efficiency.get("calibration"),
    )
    (row,) = capacity.compare_scenario(template, systems, nodes=4)
    assert row.estimate is not None
    assert row.estimate.scenario.global_batch_tokens == 2_000_000
    assert row.estimate.n_gpus == 4 * systems[0].gpus_per_node
    assert capacity.ScenarioOptions.parse(global_batch="auto").global_batch == "auto"
