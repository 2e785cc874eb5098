"""`capacity plan`, `capacity validate` and the planner-backed `capacity estimate`."""

from __future__ import annotations

import json

import pytest
from conftest import run_cli

JOB = ["--model", "llama-2-7b", "--tokens", "2T", "--cluster", "leonardo-booster"]


def test_plan_prints_ranked_layouts_breakdown_and_rejections():
    res = run_cli("plan", *JOB, "--nodes", "64", "--top", "3")
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "1. TP" in out and "MFU" in out and "HFU" in out and "GiB/GPU" in out
    assert "Breakdown of #1" in out and "GEMMs" in out
    assert "exceeds the 4-GPU node" in out
    assert "P10-P90" in out and "goodput" in out


def test_plan_json_layouts_are_sorted_and_complete():
    res = run_cli("plan", *JOB, "--nodes", "64", "--top", "5", "--json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    lay = doc["layouts"]
    assert 1 <= len(lay) <= 5
    assert [x["tokens_per_s"] for x in lay] == sorted(
        (x["tokens_per_s"] for x in lay), reverse=True
    )
    first = lay[0]
    assert (
        first["layout"]["tp"]
        * first["layout"]["pp"]
        * first["layout"]["dp"]
        * first["layout"]["cp"]
        == 256
    )
    assert sum(first["breakdown_s"].values()) == pytest.approx(first["step_time_s"], rel=1e-6)
    assert first["interval"]["p10"] < first["interval"]["p90"]
    assert first["interval"]["p90"] >= first["wall_clock_days"]
    assert any(r["code"] == "tp" for r in doc["rejected"])
    assert doc["n_feasible"] <= doc["n_candidates"]


def test_plan_reports_oom_families():
    res = run_cli(
        "plan",
        "--model",
        "gpt3-175b",
        "--tokens",
        "300B",
        "--cluster",
        "jean-zay/a100",
        "--gpus",
        "64",
        "--tp",
        "1",
        "--pp",
        "1",
        "--zero",
        "0",
    )
    assert res.returncode == 0, res.stderr
    assert "NO LAYOUT FITS" in res.stdout and "OOM:" in res.stdout


def test_estimate_json_has_step_time_breakdown_interval_and_goodput():
    res = run_cli("estimate", *JOB, "--nodes", "64", "--json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["mfu_origin"] == "planner"
    assert doc["step_time_s"] > 0 and doc["breakdown"]["step_s"]["gemm"] > 0
    iv = doc["interval"]["wall_clock_days"]
    assert iv["p10"] < iv["p90"] and doc["interval_note"]
    assert 0.9 < doc["goodput"]["ettr"] < 1
    assert doc["breakdown"]["wall_clock_h"] == pytest.approx(
        doc["breakdown"]["productive_h"] / doc["goodput"]["ettr"]
    )
    assert doc["goodput"]["jobs"] > 1  # Leonardo's 24 h limit: a chain of jobs


def test_estimate_accepts_a_fixed_layout_and_a_measured_step():
    fixed = ["--tp", "2", "--pp", "1", "--dp", "128", "--zero", "1", "--recompute", "selective"]
    res = run_cli("estimate", *JOB, *fixed, "--micro-batch", "1", "--json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["layout"]["tp"] == 2 and doc["layout"]["dp"] == 128 and doc["n_gpus"] == 256
    step = doc["step_time_s"]
    slow = run_cli(
        "estimate",
        *JOB,
        *fixed,
        "--micro-batch",
        "1",
        "--measured-step-time",
        str(step * 1.5),
        "--json",
    )
    assert slow.returncode == 0, slow.stderr
    doc2 = json.loads(slow.stdout)
    assert doc2["mfu_origin"] == "measured"
    assert doc2["step_time_s"] == pytest.approx(step * 1.5, rel=1e-3)
    width = doc["interval"]["wall_clock_days"]["p90"] / doc["interval"]["wall_clock_days"]["p10"]
    width2 = doc2["interval"]["wall_clock_days"]["p90"] / doc2["interval"]["wall_clock_days"]["p10"]
    assert width2 < width  # a measurement narrows the interval


def test_goodput_overrides_and_auto_batch():
    base = run_cli("estimate", *JOB, "--nodes", "64", "--json")
    off = run_cli("estimate", *JOB, "--nodes", "64", "--no-goodput", "--json")
    auto = run_cli("estimate", *JOB, "--nodes", "64", "--global-batch", "auto", "--json")
    assert base.returncode == off.returncode == auto.returncode == 0
    b, o, a = (json.loads(x.stdout) for x in (base, off, auto))
    assert o["goodput"]["ettr"] == 1 and o["wall_clock_days"] < b["wall_clock_days"]
    assert a["global_batch_tokens"] != b["global_batch_tokens"]
    assert any("DeepSeek" in n for n in a["notes"])


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["plan", "--tp", "16"], "tp"),
        (["plan", "--top", "0"], "top"),
        (["estimate", "--measured-step-time", "-1"], "measured-step-time"),
        (["estimate", "--failure-rate", "-1"], "failure-rate"),
        (["estimate", "--zero", "5"], "zero"),
        (["estimate", "--global-batch", "lots"], "global-batch"),
        (["validate", "--runs", "./no/such.csv"], "runs"),
        (["validate", "--write", "x.toml"], "write"),
    ],
)
def test_bad_planner_input_is_one_line_exit_2(args, field):
    res = run_cli(*args)
    assert res.returncode == 2, res.stdout
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and field in lines[0] and "Traceback" not in res.stderr


def test_validate_json_rows_and_summary():
    res = run_cli("validate", "--json", "--no-heldout")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    ids = [r["id"] for r in doc["rows"]]
    assert len(ids) == len(set(ids)) >= 30
    skipped = [r for r in doc["rows"] if r["skipped_reason"]]
    assert all(r["predicted_tokens_per_s_per_gpu"] is None for r in skipped)
    assert doc["summary"]["throughput"]["with_layout"]["n"] >= 12


def test_validate_text_lists_skipped_rows_and_the_naive_rule():
    res = run_cli("validate", "--no-heldout")
    assert res.returncode == 0, res.stderr
    assert "Not predicted:" in res.stdout and "naive rule" in res.stdout
    assert "lucie-7b" in res.stdout


def test_measured_steps_csv_reanchors_the_estimate(tmp_path):
    base = json.loads(run_cli("estimate", *JOB, "--nodes", "64", "--json").stdout)
    lay = base["layout"]
    csv_file = tmp_path / "steps.csv"
    cols = "tp,pp,dp,zero_stage,recompute,micro_batch_seqs,step_time_s"
    row = (
        f"{lay['tp']},{lay['pp']},{lay['dp']},{lay['zero_stage']},{lay['recompute']},"
        f"{lay['micro_batch_seqs']},{base['step_time_s'] * 2}"
    )
    csv_file.write_text(f"{cols}\n{row}\n")
    res = run_cli("estimate", *JOB, "--nodes", "64", "--measured-steps", str(csv_file), "--json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["mfu_origin"] == "measured"
    assert doc["tokens_per_s"] < base["tokens_per_s"] * 0.75
    bad = tmp_path / "bad.csv"
    bad.write_text("tp,pp,dp,step_time_s\n2,1,x,3\n")
    res = run_cli("estimate", *JOB, "--nodes", "64", "--measured-steps", str(bad))
    assert res.returncode == 2 and "line 2" in res.stderr and "Traceback" not in res.stderr
