"""`capacity optimal`: from a budget to a model size, through the estimate's throughput."""

from __future__ import annotations

import json

import pytest
from conftest import run_cli

from capacity.budget import parse_budget
from capacity.budget_optimal import optimal_for_budget
from capacity.errors import CapacityError
from capacity.system import resolve_system


def test_flops_budget_matches_the_law_directly():
    """Gopher's budget 5.76e23 FLOPs (Hoffmann et al. 2022 Table 3 row 67B): the Epoch fit
    (Besiroglu et al. 2024) puts the optimum near 70B parameters and ~20 tokens/param."""
    res = optimal_for_budget(budget=parse_budget("5.76e23 flops"))
    assert res.optimum.params == pytest.approx(72e9, rel=0.05)
    assert 15 < res.optimum.tokens_per_param < 25
    assert res.estimate is None


@pytest.mark.parametrize("budget", ["500k gpu-hours", "40k node-hours"])
def test_hour_budget_is_spent_on_the_system(catalog, budget):
    system = resolve_system(catalog, "leonardo-booster")
    res = optimal_for_budget(budget=parse_budget(budget), system=system)
    assert res.estimate is not None
    used = res.estimate.run.gpu_hours if "gpu" in budget else res.estimate.run.node_hours
    assert used == pytest.approx(parse_budget(budget).amount, rel=0.01)


def test_money_budget_on_cloud(catalog):
    system = resolve_system(catalog, "aws-p5-48xlarge")
    res = optimal_for_budget(budget=parse_budget("2M USD"), system=system)
    assert res.estimate is not None and res.estimate.run.cost is not None
    assert res.estimate.run.cost.amount == pytest.approx(2e6, rel=0.01)


def test_days_budget_needs_gpus(catalog):
    system = resolve_system(catalog, "jean-zay/h100")
    with pytest.raises(CapacityError):
        optimal_for_budget(budget=parse_budget("60 days"), system=system)
    res = optimal_for_budget(budget=parse_budget("60 days"), system=system, n_gpus=512)
    assert res.estimate is not None
    assert res.estimate.wall_clock_days == pytest.approx(60, rel=0.01)


def test_more_budget_bigger_model(catalog):
    system = resolve_system(catalog, "leonardo-booster")
    small = optimal_for_budget(budget=parse_budget("100k gpu-hours"), system=system)
    big = optimal_for_budget(budget=parse_budget("1M gpu-hours"), system=system)
    assert big.optimum.params > small.optimum.params
    assert big.optimum.loss < small.optimum.loss


def test_cli_json_keys():
    res = run_cli(
        "optimal", "--budget", "500k gpu-hours", "--cluster", "leonardo-booster", "--json"
    )
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    for key in (
        "law",
        "params",
        "tokens",
        "tokens_per_param",
        "loss",
        "flops",
        "wall_clock_days",
        "cost",
    ):
        assert key in doc
    assert doc["law"] == "epoch"
    assert len(doc["alternatives"]) == 4


def test_cli_target_loss_and_text():
    res = run_cli("optimal", "--target-loss", "2.1", "--law", "chinchilla")
    assert res.returncode == 0, res.stderr
    assert "N* (parameters)" in res.stdout and "other sizes" in res.stdout


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--budget", "-5 gpu-hours", "--cluster", "leonardo-booster"], "budget"),
        (["--budget", "5e23 flops", "--law", "hoffmann"], "law"),
        (["--target-loss", "1.0"], "target_loss"),
        (["--budget", "500k gpu-hours"], "cluster"),
        (["--budget", "2M EUR", "--cluster", "leonardo-booster"], "budget"),
    ],
)
def test_cli_bad_input(args, field):
    res = run_cli("optimal", *args)
    assert res.returncode == 2, res.stdout
    assert field in res.stderr and "Traceback" not in res.stderr


def test_optimum_that_cannot_run_here_says_so():
    """A budget's optimum can outgrow the system (19B on one 80 GB GPU does not fit): the
    output carries the estimate's verdict and its reason, not only a plausible MFU."""
    args = ("optimal", "--budget", "50000 gpu-hours", "--cluster", "scaleway-h100-1-80g")
    text = run_cli(*args).stdout
    assert "NOT FEASIBLE: OOM" in text
    doc = json.loads(run_cli(*args, "--json").stdout)
    assert doc["feasible"] is False and any("OOM" in r for r in doc["reasons"])
    ok = json.loads(run_cli("optimal", "--budget", "1e21 flops", "--json").stdout)
    assert ok.get("feasible", True) is True
