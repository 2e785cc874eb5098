"""`capacity optimal`: one rule for what is spent, one basis for the other sizes, --law FILE."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli

from capacity.budget import parse_budget
from capacity.budget_optimal import optimal_for_budget
from capacity.scaling import EPOCH
from capacity.scaling.fit import fit_law, law_to_toml, run_data
from capacity.system import resolve_system

ROOT = Path(__file__).resolve().parent.parent


def _main(*args: str) -> tuple[int, str, str]:
    res = run_cli(*args)
    return res.returncode, res.stdout, res.stderr


def test_budget_is_echoed_as_given():
    assert parse_budget("1e24 flops").describe() == "1e24 FLOPs"
    assert parse_budget("5.76e23 FLOPs").describe() == "5.76e23 FLOPs"
    assert parse_budget("500k gpu-hours").describe() == "500k gpu-hours"


def test_inference_aware_spends_the_budget_and_says_so(monkeypatch, capsys):
    """Sardana & Frankle 2023 sizing under the one rule: training FLOPs = the budget; the
    smaller model's loss is shown beside the compute-optimal one on the same FLOPs."""
    res = optimal_for_budget(budget=parse_budget("1e24 flops"), inference_tokens=2e13)
    opt = res.optimum
    assert opt.flops == pytest.approx(1e24, rel=1e-6)
    assert opt.compute_optimal_params is not None and opt.compute_optimal_loss is not None
    assert opt.params < opt.compute_optimal_params and opt.loss > opt.compute_optimal_loss
    # One basis: every other size costs the same training FLOPs as the chosen one.
    for a in res.alternatives:
        assert 6 * a.params * a.tokens == pytest.approx(opt.flops, rel=1e-9)
    code, out, _ = _main("optimal", "--budget", "1e24 flops", "--inference-tokens", "2e13")
    assert code == 0
    assert "1e24 FLOPs" in out and "1e+" not in out.split("suggested")[0]
    assert "1e24 (6ND) = the budget" in out and "vs compute-optimal" in out
    labels = [line.split("  ")[0] for line in out.split("other sizes")[1].splitlines()[3:]]
    assert labels == ["1/4 x N", "1/2 x N", "N (chosen)", "2 x N", "compute-optimal", "4 x N"]


def test_compute_optimal_is_the_lowest_loss_on_its_flops():
    """No larger (or smaller) model on the same FLOPs beats the reported optimum."""
    for text in ("1e24 flops", "5.76e23 flops"):
        res = optimal_for_budget(budget=parse_budget(text))
        assert all(a.loss > res.optimum.loss for a in res.alternatives)
        assert sorted(a.size_factor for a in res.alternatives) == [0.25, 0.5, 2.0, 4.0]
        assert all(
            6 * a.params * a.tokens == pytest.approx(text_flops(text)) for a in res.alternatives
        )


def text_flops(text: str) -> float:
    return parse_budget(text).amount


def test_hour_budget_with_inference_stays_within_the_hours(catalog):
    system = resolve_system(catalog, "leonardo-booster")
    res = optimal_for_budget(
        budget=parse_budget("500k gpu-hours"), system=system, inference_tokens=1e13
    )
    assert res.estimate is not None
    assert res.estimate.run.gpu_hours == pytest.approx(5e5, rel=0.01)
    assert res.optimum.method == "inference_aware"


@pytest.fixture(scope="module")
def law_file(tmp_path_factory) -> Path:
    sizes = np.array([100e6, 200e6, 400e6, 800e6, 1.6e9, 3e9])
    n, r = np.meshgrid(sizes, [10.0, 20.0, 40.0])
    n, d = n.ravel(), (r * n).ravel()
    rng = np.random.default_rng(7)
    loss = np.asarray(EPOCH.loss(n, d)) * np.exp(rng.normal(0, 0.005, n.size))
    fit = fit_law(run_data(n, d, loss), source="synthetic ladder", as_of="2026-12-01", n_boot=60)
    path = tmp_path_factory.mktemp("law") / "law.toml"
    path.write_text(law_to_toml(fit))
    return path


def test_optimal_with_a_fitted_law_shows_its_interval(law_file, monkeypatch, capsys):
    code, out, _ = _main("optimal", "--budget", "1e22 flops", "--law", str(law_file), "--json")
    assert code == 0
    doc = json.loads(out)
    iv = doc["loss_interval"]
    assert iv["low"] < doc["loss"] < iv["high"]
    assert doc["params_interval"]["low"] < doc["params"] < doc["params_interval"]["high"]
    assert doc["extrapolation"] > 1  # 1e22 FLOPs lies beyond a ladder that stops at 3B
    code, out, _ = _main("optimal", "--budget", "1e24 flops", "--law", str(law_file))
    assert code == 0 and "bootstrap refits" in out and "beyond the fitted runs" in out


def test_missing_law_file_is_one_line(tmp_path, monkeypatch, capsys):
    code, _, err = _main("optimal", "--budget", "1e22 flops", "--law", str(tmp_path / "no.toml"))
    assert code == 2 and "law" in err and err.strip().count("\n") == 0


def test_report_law_panel_carries_the_fit(law_file, catalog):
    """`capacity report --law FILE`: the panel gets the bootstrap range of the run's loss."""
    from capacity.cli.law_io import load_law
    from capacity.estimate import Scenario, estimate
    from capacity.report.data import law_panel
    from capacity.scaling.fit import LawFit
    from capacity.workload import model_from_params

    fit = load_law(str(law_file))
    assert isinstance(fit, LawFit)
    system = resolve_system(catalog, "leonardo-booster")
    est = estimate(Scenario(model=model_from_params(7e9), tokens=2e11, system=system))
    panel = law_panel(est, fit.law, fit)
    assert panel.loss_interval is not None
    assert panel.loss_interval[0] < panel.loss < panel.loss_interval[1]
    assert panel.to_json()["interval"].startswith("P10-P90")


def test_proposal_pack_shows_the_fitted_law(law_file, catalog):
    """The pack's scaling-evidence section: the ladder, the frontier band and the main run
    extrapolated with its loss range, in proposal.html and request.md."""
    from capacity.campaign.io import load_plan
    from capacity.cli.law_io import load_law
    from capacity.report.law_evidence import main_targets
    from capacity.report.proposal import render_files
    from capacity.scaling.fit import LawFit

    fit = load_law(str(law_file))
    assert isinstance(fit, LawFit)
    _campaign, plan = load_plan(ROOT / "examples/campaigns/leonardo-7b-eurohpc-ai.toml", catalog)
    targets = main_targets(plan)
    assert targets, "the example campaign has a main run with a size and tokens"
    files = render_files(plan, catalog, law=fit)
    _name, n, d = targets[0]
    iv = fit.loss_interval(n, d)
    html = files["proposal.html"]
    assert 'id="fitted-law"' in html and "chart-fitted-law" in html
    assert (
        f"{iv.low:.3f}-{iv.high:.3f}" in html
        and f"{iv.low:.3f}-{iv.high:.3f}" in files["request.md"]
    )
    assert 'id="fitted-law"' not in render_files(plan, catalog)["proposal.html"]
