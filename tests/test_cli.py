"""The installed `capacity` entry point, as a user runs it."""

from __future__ import annotations

import json

import pytest
from conftest import DATA, run_cli, run_console

JSON_KEYS = {
    "params",
    "flops_per_token",
    "total_flops",
    "tokens_per_s",
    "mfu",
    "wall_clock_days",
    "gpu_hours",
    "node_hours",
    "cost",
    "energy_mwh",
    "co2_t",
    "memory_per_gpu_gib",
    "fits_memory",
    "feasible",
    "reasons",
}


def test_default_scenario_runs_and_says_so():
    res = run_console("estimate")  # end to end, through the installed console script
    assert res.returncode == 0, res.stderr
    assert "Default scenario" in res.stdout
    assert "Mistral 7B" in res.stdout and "Leonardo" in res.stdout
    assert "wall-clock" in res.stdout and "verdict" in res.stdout


def test_version_and_help():
    assert run_console("--version").stdout.startswith("capacity ")  # console script
    help_text = run_cli("estimate", "--help").stdout
    assert "--tokens" in help_text and "Examples" in help_text


def test_json_keys_and_values():
    res = run_cli(
        "estimate",
        "--model",
        "llama-2-7b",
        "--tokens",
        "2T",
        "--cluster",
        "leonardo-booster",
        "--nodes",
        "64",
        "--json",
    )
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert set(doc) >= JSON_KEYS
    assert doc["params"] == pytest.approx(6.74e9, rel=0.01)
    assert doc["total_flops"] == pytest.approx(doc["flops_per_token"] * 2e12)
    assert doc["gpu_hours"] == pytest.approx(doc["node_hours"] * 4)
    assert doc["cost"] is None  # no public price for Leonardo
    assert doc["feasible"] is True and doc["reasons"] == []


def test_cloud_cost_and_config_json():
    res = run_cli(
        "estimate",
        "--model",
        str(DATA / "hf_configs" / "llama-2-7b.json"),
        "--tokens",
        "1T",
        "--cluster",
        "aws-p5-48xlarge",
        "--gpus",
        "64",
        "--json",
    )
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["cost"]["currency"] == "USD"
    assert doc["cost"]["amount"] == pytest.approx(doc["node_hours"] * 55.04, rel=1e-6)


def test_params_and_deadline():
    res = run_cli(
        "estimate",
        "--params",
        "13B",
        "--tokens",
        "300B",
        "--cluster",
        "jean-zay/h100",
        "--days",
        "30",
        "--json",
    )
    doc = json.loads(res.stdout)
    assert res.returncode == 0, res.stderr
    assert doc["wall_clock_days"] <= 30


def test_infeasible_job_reports_reasons():
    res = run_cli(
        "estimate",
        "--model",
        "llama-3-405b",
        "--tokens",
        "15T",
        "--cluster",
        "jean-zay/a100",
        "--gpus",
        "1024",
        "--json",
    )
    # issue 12: more GPUs than the partition has is refused at once, before any planning
    assert res.returncode == 2 and "416 GPUs in all" in res.stderr


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--tokens", "-5T"], "tokens"),
        (["--tokens", "0"], "tokens"),
        (["--tokens", "lots"], "tokens"),
        (["--cluster", "no-such-cluster"], "cluster"),
        (["--cluster", "leonardo-boster"], "cluster"),
        (["--model", "lama-2-7b"], "model"),
        (["--model", "./no/such/config.json"], "model"),
        (["--gpus", "6"], "gpus"),
        (["--nodes", "-1"], "nodes"),
        (["--mfu", "1.5"], "mfu"),
        (["--tp", "3", "--gpus", "12"], "tp"),
        (["--budget", "5 parsecs"], "budget"),
        (["--precision", "fp4"], "precision"),
    ],
)
def test_bad_input_is_one_line_exit_2(args, field):
    res = run_cli("estimate", *args)
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    assert field in lines[0]


def test_unknown_name_suggests_close_match():
    res = run_cli("estimate", "--cluster", "leonardo-boster")
    assert "leonardo-booster" in res.stderr


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"model_type": "t5"}'])
def test_malformed_config_json(tmp_path, content):
    path = tmp_path / "config.json"
    path.write_text(content)
    res = run_cli("estimate", "--model", str(path))
    assert res.returncode == 2 and "model" in res.stderr and "Traceback" not in res.stderr


def test_malformed_user_catalog(tmp_path):
    (tmp_path / "grids").mkdir()
    (tmp_path / "grids" / "xx.toml").write_text("id = 'xx'\nname = [broken")
    res = run_console("estimate", "--catalog", str(tmp_path))  # end to end: exit code 2
    assert res.returncode == 2
    assert "xx.toml" in res.stderr and "Traceback" not in res.stderr


def test_estimate_json_for_a_cluster():
    res = run_cli(
        "estimate",
        "--model",
        "llama-2-7b",
        "--tokens",
        "2T",
        "--cluster",
        "leonardo-booster",
        "--nodes",
        "64",
        "--json",
    )
    assert res.returncode == 0  # speed: benchmarks/bench_planner.py, not a timed test
    assert json.loads(res.stdout)["system"].startswith("leonardo-booster")


def test_currency_conversion_says_rate_and_date():
    """Issue 3: prices stay native; --currency converts with the dated table and says so."""
    res = run_cli(
        "estimate",
        "--params",
        "7B",
        "--cluster",
        "aws-p5-48xlarge",
        "--gpus",
        "64",
        "--currency",
        "EUR",
        "--json",
    )
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    conv = doc["cost_converted"]
    assert doc["cost"]["currency"] == "USD" and conv["currency"] == "EUR"
    assert conv["amount"] == pytest.approx(doc["cost"]["amount"] / conv["rate"])
    assert conv["rate_date"]
    text = run_cli(
        "estimate",
        "--params",
        "7B",
        "--cluster",
        "aws-p5-48xlarge",
        "--gpus",
        "64",
        "--currency",
        "EUR",
    ).stdout
    assert "ECB rate of" in text
    bad = run_cli("estimate", "--currency", "XYZ")
    assert bad.returncode == 2 and "currency" in bad.stderr


def test_v100_trains_in_fp16_by_default_and_empty_model_is_refused():
    res = run_cli(
        "estimate", "--cluster", "jean-zay/v100-32g", "--params", "1B", "--tokens", "20B", "--json"
    )
    assert res.returncode == 0, res.stderr
    bad = run_cli("estimate", "--model", "")
    assert bad.returncode == 2 and "model" in bad.stderr
