"""Validation against published runs: parsing, predictions, the naive rule and the targets."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pytest

from capacity.catalog.runs_io import builtin_runs_path, read_runs_csv
from capacity.errors import CapacityError
from capacity.validation import validate
from capacity.validation.runs import parse_runs
from capacity.validation.summary import TARGETS, stats

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def runs():
    name, rows = read_runs_csv()
    return parse_runs(rows, name)


@pytest.fixture(scope="module")
def result(runs, catalog):
    return validate(runs, catalog)


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _shared_runs_csv() -> Path | None:
    """The research data set the built-in runs were transcribed from, when the environment
    names it (CAPACITY_SHARED_RUNS_CSV): no test depends on a path outside the checkout."""
    name = os.environ.get("CAPACITY_SHARED_RUNS_CSV")
    return Path(name) if name and Path(name).is_file() else None


def test_builtin_runs_keep_every_published_row_and_column():
    _, rows = read_runs_csv()
    assert builtin_runs_path().name == "published_runs.csv"
    shared = _shared_runs_csv()
    if shared is None:
        pytest.skip("set CAPACITY_SHARED_RUNS_CSV to the shared published_runs.csv")
    with open(shared, newline="") as fh:
        original = list(csv.DictReader(fh))
    assert [r["id"] for r in rows] == [r["id"] for r in original]
    for ours, theirs in zip(rows, original, strict=True):
        assert all(ours[k] == v for k, v in theirs.items())


def test_parser_names_row_and_column():
    header = "id,model,n_layers,recompute\n"
    with pytest.raises(CapacityError) as err:
        parse_runs(_rows(header + "a,A,many,full\n"))
    assert err.value.field == "n_layers" and "row a" in str(err.value)
    with pytest.raises(CapacityError) as err:
        parse_runs(_rows(header + "a,A,2,sometimes\n"))
    assert err.value.field == "recompute"
    with pytest.raises(CapacityError, match="duplicate"):
        parse_runs(_rows(header + "a,A,2,full\na,A,2,full\n"))
    assert parse_runs(_rows(header + "a,A,2,\n"))[0].recompute is None


def test_unreadable_runs_file_is_one_clear_error(tmp_path):
    with pytest.raises(CapacityError) as err:
        read_runs_csv(tmp_path / "missing.csv")
    assert err.value.field == "runs"
    bad = tmp_path / "bad.csv"
    bad.write_text("name,value\nx,1\n")
    with pytest.raises(CapacityError, match="no 'id' column"):
        read_runs_csv(bad)


def test_every_row_is_predicted_or_listed_with_a_reason(result, runs):
    assert [r.id for r in result.rows] == [r.id for r in runs]
    for r in result.rows:
        if r.skipped_reason is None:
            assert r.predicted_tokens_per_s_per_gpu and r.predicted_tokens_per_s_per_gpu > 0
            assert r.layout is not None
        else:
            assert len(r.skipped_reason) > 10
    lucie = next(r for r in result.rows if r.id == "lucie-7b")
    assert lucie.skipped_reason is None and lucie.hours_error is not None  # listed, not dropped
    assert {x["id"] for x in result.summary["low_confidence"]} >= {"lucie-7b"}


def test_duplicate_throughput_is_counted_once(result):
    dup = next(r for r in result.rows if r.id == "llama3.1-405b")
    assert not dup.counts_for_throughput
    ids = [r.id for r in result.rows if r.throughput_error is not None and r.counts_for_throughput]
    assert "llama3.1-405b" not in ids and "llama3-405b-cfg2" in ids


def test_rows_with_a_layout_keep_it(result, runs):
    given = {r.id: r for r in runs if r.tp is not None and r.pp is not None}
    for row in result.rows:
        if row.id in given and row.layout is not None:
            assert row.layout["tp"] == given[row.id].tp and row.layout["pp"] == given[row.id].pp


def test_json_document_has_the_documented_keys(result):
    doc = result.to_json()
    keys = {
        "id",
        "predicted_model_tflops_per_gpu",
        "predicted_hardware_tflops_per_gpu",
        "predicted_mfu",
        "predicted_tokens_per_s_per_gpu",
        "predicted_accelerator_hours",
        "predicted_wall_clock_days",
        "throughput_error",
        "hours_error",
        "layout",
        "skipped_reason",
    }
    assert all(keys <= set(r) for r in doc["rows"])
    assert {"throughput", "hours", "heldout_throughput", "naive_throughput"} <= set(doc["summary"])


def test_stats_of_signed_errors():
    s = stats([("a", 0.1), ("b", -0.3), ("c", 0.05)])
    assert s["median_abs_error"] == pytest.approx(0.1)
    assert s["worst_abs_error"] == pytest.approx(0.3) and s["worst_id"] == "b"
    assert stats([])["n"] == 0


def test_text_output_says_which_unseen_targets_fail(result):
    """`capacity validate` prints band coverage and every leave-one-source-out target with
    met / NOT met, as the README does, not only the in-fit targets."""
    from capacity.cli.validate_view import render_validation

    text = render_validation(result, "runs.csv")
    assert "P10-P90 bands, held out" in text and "unseen-source targets" in text
    unmet = [k for k, ok in result.summary["loso_meets"].items() if not ok]
    assert text.count("NOT met") >= len(unmet)
    assert "in-fit targets" in text


@pytest.mark.validation
def test_validation_targets_that_hold(result):
    """Issue 11's targets are leave-one-source-out over the corpus; the README's validation
    section says which are not met (throughput within/worst, hours vs naive, hours band
    coverage) and why. Asserted here: what holds, and that the summary reports each."""
    s = result.summary
    loso, bands = s["loso"], s["bands"]
    assert set(s["loso_meets"]) >= {"throughput_median", "hours_median", "throughput_band_coverage"}
    thr, hrs = loso["all"]["throughput"], loso["all"]["hours"]
    assert thr["n"] >= 35 and hrs["n"] >= 10
    assert hrs["median_abs_error"] <= s["loso_targets"]["hours_median_abs_error"]
    assert s["loso_meets"]["hours_median"]
    # held out, the A100 rows (5 sources) all land within 20 %, beating the naive rule
    a100 = loso["accelerator nvidia-a100"]["throughput"]
    assert a100["within_20"] == 1.0
    assert a100["median_abs_error"] < a100["naive_median_abs_error"]
    # 83 % held out (34 of 41; target 85 %, README says why): JUPITER and three one-source
    # misses; 0.80 leaves one row of slack (it was 78 % before the cross entropy's traffic)
    assert thr["within_20"] >= 0.80
    assert thr["median_abs_error"] <= s["loso_targets"]["throughput_median_abs_error"]
    assert s["loso_meets"]["throughput_median"]
    # bands: 75-90 % coverage held out (too narrow and too wide both fail), finite widths;
    # the hours bands hold once the end-to-end overhead's own P10-P90 (2 sources) is
    # widened for its number of sources as the throughput bands are
    assert 0.75 <= bands["throughput"]["coverage"] <= 0.90
    assert 0.75 <= bands["hours"]["coverage"] <= 0.90
    for what in ("throughput", "hours"):
        assert 0 < bands[what]["median_width"] < 2.0, what
    assert s["loso_meets"]["throughput_band_coverage"]
    assert s["loso_meets"]["hours_band_coverage"]
    # in the fit the five physical numbers describe the corpus
    assert s["throughput"]["all"]["median_abs_error"] <= TARGETS["throughput_median_abs_error"]
    assert s["throughput"]["all"]["worst_abs_error"] <= TARGETS["throughput_worst_abs_error"]


def test_rows_carry_p10_p90_around_the_prediction(result):
    keys = (
        "predicted_tokens_per_s_per_gpu",
        "predicted_model_tflops_per_gpu",
        "predicted_hardware_tflops_per_gpu",
        "predicted_mfu",
    )
    doc = result.to_json()
    banded = [r for r in doc["rows"] if r["predicted_tokens_per_s_per_gpu_p10"] is not None]
    assert len(banded) >= 40
    # a band comes from other sources' residuals, so it may sit off-centre (a biased
    # condition), but it is ordered and the same ratio for every throughput figure
    for r in banded:
        lo = r["predicted_tokens_per_s_per_gpu_p10"] / r["predicted_tokens_per_s_per_gpu"]
        for k in keys:
            assert 0 < r[k + "_p10"] < r[k + "_p90"]
            assert r[k + "_p10"] / r[k] == pytest.approx(lo)
        if r["predicted_accelerator_hours"] is not None:
            assert 0 < r["predicted_accelerator_hours_p10"] < r["predicted_accelerator_hours_p90"]


def test_readme_validation_block_is_generated_from_the_summary(result):
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "validation_readme", ROOT / "benchmarks" / "validation_readme.py"
    )
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    text = (ROOT / "README.md").read_text()
    block = text[text.index(mod.START) + len(mod.START) : text.index(mod.END)]
    assert block.strip() == mod.render(result.summary).strip()


def test_practical_efficiency_is_the_median_gap_of_unpublished_layouts():
    """Throughput +25 % too high -> 0.8; hours 20 % too low -> 0.8; median of both."""
    from capacity.validation import practical_efficiency
    from capacity.validation.predict import RowResult

    def row(**kw):
        base = dict(id="x", confidence="high", gave_layout=False, group="g")
        return RowResult(**{**base, **kw})

    rows = [row(throughput_error=0.25), row(hours_error=-0.2), row(hours_error=-0.2)]
    assert practical_efficiency(rows) == pytest.approx(0.8, abs=1e-4)
    # rows with a published layout, low confidence, or faster than predicted do not push it
    assert practical_efficiency([row(gave_layout=True, throughput_error=1.0)]) == 1.0
    assert practical_efficiency([row(confidence="low", throughput_error=1.0)]) == 1.0
    assert practical_efficiency([row(throughput_error=-0.5)]) == 1.0


def test_planner_estimates_carry_the_practical_gap(catalog):
    """With the planner choosing, the point estimate lies inside its own P10-P90 band and
    the gap shows in the step-time breakdown; a fixed layout is timed as is."""
    from capacity.estimate import PRACTICAL_GAP, Scenario, estimate
    from capacity.layout import Layout
    from capacity.system import resolve_system

    cal = catalog.efficiency["calibration"]
    assert 0.5 < cal.planner_practical_efficiency <= 1
    system = resolve_system(catalog, "jean-zay/h100")
    model = catalog.model("llama-3-8b")
    est = estimate(Scenario(model=model, tokens=1e12, system=system, n_gpus=256, calibration=cal))
    if cal.planner_practical_efficiency < 1:
        assert PRACTICAL_GAP in est.breakdown_s
    band = est.intervals["wall_clock_days"]
    assert band is not None and band.p10 <= est.wall_clock_days <= band.p90
    fixed = estimate(
        Scenario(
            model=model,
            tokens=1e12,
            system=system,
            calibration=cal,
            layout=Layout(tp=1, pp=1, dp=256, zero_stage=1),
        )
    )
    assert PRACTICAL_GAP not in fixed.breakdown_s


def test_plan_and_estimate_agree_on_the_best_layout(catalog):
    """`capacity plan` shows its layouts at the same practical efficiency as the estimate."""
    from capacity.estimate import Scenario, estimate, plan_scenario
    from capacity.system import resolve_system

    scn = Scenario(
        model=catalog.model("mixtral-8x7b"),
        tokens=2e12,
        system=resolve_system(catalog, "jean-zay/h100"),
        n_gpus=256,
        calibration=catalog.efficiency["calibration"],
    )
    est = estimate(scn)
    best = plan_scenario(scn, est.n_gpus, top=1).choices[0]
    assert best.layout == est.layout
    assert best.tokens_per_s == pytest.approx(est.throughput.tokens_per_s)
    assert best.step_time_s == pytest.approx(est.step_time_s)


def test_mi250x_rows_count_gcds_unless_the_node_has_four_modules(runs, catalog):
    from capacity.validation.runs import run_system

    falcon = next(r for r in runs if r.id == "falcon-40b")
    gcd = run_system(falcon.model_copy(update={"accelerator": "mi250x"}), catalog)
    assert gcd.accelerator.id == "amd-mi250x-gcd" and gcd.gpus_per_node == 8
    module = run_system(
        falcon.model_copy(update={"accelerator": "mi250x", "gpus_per_node": 4}), catalog
    )
    assert module.accelerator.id == "amd-mi250x"


def test_paired_comparison_with_the_naive_rule(result):
    """The summary counts the runs where the model's error is smaller than the naive rule's."""
    closer = result.summary["closer_than_naive"]
    rows = [r for r in result.rows if r.skipped_reason is None and r.confidence != "low"]
    hours = [r for r in rows if r.hours_error is not None and r.naive_hours_error is not None]
    assert closer["hours"]["n"] == len(hours)
    wins = sum(abs(r.hours_error) < abs(r.naive_hours_error) for r in hours)
    assert closer["hours"]["model_closer"] == wins
    assert closer["throughput"]["model_closer"] > closer["throughput"]["n"] / 2


def test_framework_defaults_fill_what_a_run_leaves_out(catalog):
    """FSDP runs fully sharded without TP or PP (llm-foundry's recipe), Megatron-LM with
    its distributed optimizer; a name not in catalogs/frameworks is one clear error."""
    from capacity.planner.framework import with_framework_defaults
    from capacity.planner.space import SearchSpace

    fsdp = with_framework_defaults(SearchSpace(), catalog.framework("llm-foundry"))
    assert (fsdp.tp, fsdp.pp, fsdp.zero_stage) == ((1,), (1,), (3,))
    given = with_framework_defaults(SearchSpace(tp=(8,)), catalog.framework("fsdp"))
    assert given.tp == (8,)  # what the user gives wins
    assert with_framework_defaults(SearchSpace(), catalog.framework("megatron-lm")).zero_stage == (
        1,
    )
    assert with_framework_defaults(SearchSpace(), catalog.framework("unknown")) == SearchSpace()
    with pytest.raises(CapacityError) as err:
        catalog.framework("no-such-stack")
    assert err.value.field == "framework"
    cal = catalog.efficiency["calibration"]
    share, fitted = cal.framework_share("fsdp")
    assert fitted and 0.5 <= share <= 1.5
    assert cal.framework_share(None) == (pytest.approx(share**0.5), False)


def test_validate_predicts_what_estimate_gives_for_every_run(runs, catalog):
    """One estimate path: every predicted run of the development set, given to `estimate()`
    (what `capacity estimate` calls) with the run's options -- its published layout, or the
    planner within the run's search space -- gets validation's tokens/s per GPU."""
    from capacity.estimate import estimate
    from capacity.layout import Layout
    from capacity.validation.predict import prepare, scenario_of
    from capacity.validation.runs import run_framework

    cal = catalog.efficiency["calibration"]
    val = validate(runs, catalog, heldout=False)
    checked = 0
    for run, row in zip(runs, val.rows, strict=True):
        if row.skipped_reason is not None:
            continue
        assert row.layout is not None
        p = prepare(run, catalog, cal)
        layout = Layout(**row.layout) if run.gave_layout else None
        est = estimate(scenario_of(p, layout, run_framework(run, catalog)))
        per_gpu = est.throughput.tokens_per_s / est.n_gpus
        assert per_gpu == pytest.approx(row.predicted_tokens_per_s_per_gpu, rel=1e-9), run.id
        checked += 1
    assert checked >= 50


def test_end_to_end_overhead_is_its_own_line_and_steady_state_leaves_it_out(catalog):
    """Fitted from runs publishing both a steady-state rate and whole-run hours (Llama 3.1
    405B, OLMo 3); wall-clock = productive x k / (1 - waste), with its own share."""
    import capacity
    from capacity.goodput import GoodputInputs, goodput
    from capacity.system import resolve_system

    cal = catalog.efficiency["calibration"]
    k = cal.end_to_end_overhead
    assert 1.0 < k < 1.5 and cal.end_to_end_overhead_p10 <= k <= cal.end_to_end_overhead_p90
    g = goodput(
        n_gpus=1024,
        gpus_per_node=8,
        state_bytes=1e11,
        productive_h=100.0,
        inputs=GoodputInputs(end_to_end_overhead=k),
    )
    waste = g.checkpoint_fraction + g.failure_fraction + g.job_chain_fraction
    assert waste + g.end_to_end_fraction == pytest.approx(1 - g.ettr)
    assert g.ettr == pytest.approx((1 - waste) / k)

    def wall(steady: bool) -> tuple[float, float]:
        scn = capacity.Scenario(
            model=catalog.model("llama-2-7b"),
            tokens=2e11,
            system=resolve_system(catalog, "leonardo-booster"),
            n_gpus=256,
            calibration=cal,
            steady_state=steady,
        )
        est = capacity.estimate_run(scn)
        assert est.goodput is not None
        return est.wall_clock_h, est.goodput.end_to_end_fraction

    (whole, share), (steady, none) = wall(False), wall(True)
    assert none == 0 and share > 0 and whole > steady


def test_estimate_band_follows_what_the_user_gave(catalog):
    """The estimate's band is validation's for its situation: a fixed layout with a named
    framework takes the framework-named pool; the planner has too few such rows and keeps
    its layout band; the note names the group."""
    from capacity.uncertainty import band_for

    cal = catalog.efficiency["calibration"]
    named = band_for(cal, layout_given=True, framework_known=True)
    plain = band_for(cal, layout_given=True)
    planner = band_for(cal, framework_known=True)
    assert named is not None and plain is not None and planner is not None
    assert "framework named" in named.explanation
    assert "framework" not in plain.explanation
    assert (named.ratio_p10, named.ratio_p90) != (plain.ratio_p10, plain.ratio_p90)
    assert planner == band_for(cal)


def test_reported_tflops_above_the_peak_is_not_predicted(catalog):
    """A row claiming more TFLOP/s per GPU than the accelerator's dense peak is a typo or
    the wrong accelerator: listed as not predicted with that reason, never fitted."""
    _, rows = read_runs_csv()
    row = dict(next(r for r in rows if r["id"] == "megatron-ptdp-1.7b"))
    row["reported_tflops_per_gpu"] = "5000"
    val = validate(parse_runs([row], "runs.csv"), catalog, heldout=False)
    reason = val.rows[0].skipped_reason or ""
    assert "above" in reason and "peak" in reason
