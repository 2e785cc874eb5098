"""`capacity report`: the page, its JSON, escaping, atomic writes and a fast CLI start-up."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys

import pytest
from conftest import ROOT, run_cli

from capacity.cli import estimate_cmd, report_cmd
from capacity.report.data import scaling_node_counts, strong_scaling
from capacity.system import resolve_system

ARGS = ["--model", "llama-2-7b", "--tokens", "2T", "--cluster", "leonardo-booster", "--nodes", "64"]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "r.html"
    res = run_cli("report", *ARGS, "-o", str(out), "--json")
    assert res.returncode == 0, res.stderr
    return out, json.loads(res.stdout)


def test_json_extends_the_estimate_json(report):
    _out, doc = report
    est = run_cli("estimate", *ARGS, "--json")
    base = json.loads(est.stdout)
    assert {k: doc[k] for k in base} == base
    rep = doc["report"]
    assert rep["strong_scaling"]["points"] and rep["scaling_law"]["params"] > 0
    assert len(rep["cluster_comparison"]["rows"]) > 20


def test_page_is_self_contained(report):
    out, doc = report
    text = out.read_text(encoding="utf-8")
    assert text.count("plotly.js v") == 1  # embedded once
    assert "<script src" not in text and "<link" not in text and "@font-face" not in text
    for chart in ("chart-memory", "chart-scaling", "chart-compare", "chart-law"):
        assert f'id="{chart}"' in text
    assert f'data-value="{doc["gpu_hours"]!r}"' in text
    for section in ("Assumptions", "Strong scaling", "Cluster comparison", "Scaling law"):
        assert section in text


def test_user_text_is_escaped(tmp_path):
    out = tmp_path / "x.html"
    title = '<script>alert("t")</script>'
    res = run_cli("report", "--params", "1B", "--tokens", "20B", "--title", title, "-o", str(out))
    assert res.returncode == 0, res.stderr
    text = out.read_text(encoding="utf-8")
    assert title not in text and "&lt;script&gt;alert(&quot;t&quot;)" in text


def test_failure_leaves_no_file(tmp_path):
    out = tmp_path / "r.html"
    out.write_text("previous", encoding="utf-8")
    res = run_cli("report", *ARGS, "--law", "nope", "-o", str(out))
    assert res.returncode == 2 and "law" in res.stderr
    assert out.read_text(encoding="utf-8") == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]  # no temporary left behind
    bad = run_cli("report", *ARGS, "--nodes", "-3", "-o", str(tmp_path / "n.html"))
    assert bad.returncode == 2 and not (tmp_path / "n.html").exists()


def test_report_takes_every_estimate_option():
    est = set(inspect.signature(estimate_cmd.estimate).parameters)
    rep = set(inspect.signature(report_cmd.report).parameters)
    assert est <= rep
    help_text = run_cli("report", "--help").stdout
    for opt in ("--tokens", "--cluster", "--nodes", "--mfu", "--output", "--json"):
        assert opt in help_text


def test_cli_start_does_not_import_plotly():
    code = "import sys, capacity.cli; print('plotly' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "False", out.stderr


def test_strong_scaling_marks_the_chosen_point(catalog):
    from capacity.estimate import Scenario, estimate

    system = resolve_system(catalog, "leonardo-booster")
    assert scaling_node_counts(64, system) == [4, 8, 16, 32, 64, 128, 256, 512]
    est = estimate(
        Scenario(model=catalog.model("llama-2-7b"), tokens=2e12, system=system, n_gpus=256)
    )
    sc = strong_scaling(est)
    chosen = [p for p in sc.points if p.chosen]
    assert len(chosen) == 1 and chosen[0].nodes == 64
    assert chosen[0].wall_clock_days == pytest.approx(est.wall_clock_days)
    over = [p for p in sc.points if not p.within_job_limit]
    assert [p.nodes for p in over] == [512]
    effs = [p.efficiency for p in sc.points if p.efficiency is not None]
    assert effs and all(0 < e < 1.5 for e in effs)  # may exceed 1 slightly (goodput, layouts)


def test_gallery_regenerates_without_a_browser(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("gallery", ROOT / "tools" / "gallery.py")
    assert spec is not None and spec.loader is not None
    gallery = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gallery)
    written = gallery.build(tmp_path, screenshots=False, log=False)
    names = {p.relative_to(tmp_path).as_posix() for p in written}
    assert {f"{n}.html" for n in gallery.REPORTS} <= names
    for folder in gallery.PROPOSALS:
        assert {f"{folder}/request.md", f"{folder}/request.csv", f"{folder}/proposal.html"} <= names
    committed = {p.relative_to(ROOT / "reports").as_posix() for p in (ROOT / "reports").rglob("*")}
    assert names <= committed and set(gallery.SCREENSHOTS) <= committed
