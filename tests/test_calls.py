"""Access calls, billing units and queue rules (catalogs/calls, [[partitions.queues]])."""

from __future__ import annotations

import pytest
from conftest import ROOT

from capacity.billing import all_units, bill
from capacity.estimate import Scenario, estimate
from capacity.queues import choose_queue
from capacity.system import resolve_system


def test_queue_follows_job_size(catalog):
    leo = resolve_system(catalog, "leonardo-booster")
    # CINECA Booster Section QoS table: normal <= 64 nodes; boost_qos_bprod 65-256 nodes
    assert choose_queue(leo, 32).name == "normal"
    big = choose_queue(leo, 128)
    assert big.name == "boost_qos_bprod" and big.needs_qos_flag
    assert "--qos=boost_qos_bprod" in (big.message or "")
    assert not choose_queue(leo, 300).admits
    jz = resolve_system(catalog, "jean-zay/h100")
    # qos_gpu_h100-t4 (100 h) admits 64 GPUs; a 512-GPU job runs in t3 (20 h)
    assert choose_queue(jz, 128).wall_limit_h == 20
    assert choose_queue(jz, 4).wall_limit_h == 100
    lumi = resolve_system(catalog, "lumi")
    # never a debug partition or one needing a request when a production one admits the job
    assert choose_queue(lumi, 512).name == "standard-g"
    assert choose_queue(lumi, 2).name == "small-g"


def test_billing_conversions(catalog):
    leo = resolve_system(catalog, "leonardo-booster")
    # CINECA activation letter (EHPC-DEV-2025D02-101): 144,000 local core hours = 4,500 node hours
    core = bill(leo, 4500, "core-hour")
    assert core is not None and core.amount == pytest.approx(144_000)
    assert bill(resolve_system(catalog, "marenostrum5/acc"), 1, "core-hour").amount == 80
    assert bill(resolve_system(catalog, "jean-zay/a100"), 1, "normalised-gpu-hour").amount == 16
    # no published normalisation factor for H100: unknown, never guessed
    assert bill(resolve_system(catalog, "jean-zay/h100"), 1, "normalised-gpu-hour") is None
    lumi = resolve_system(catalog, "lumi")
    units = {b.unit: b.amount for b in all_units(lumi, 10)}
    assert units == {"gpu-hour": 40, "node-hour": 10}  # LUMI billing: 4 GPU-h per node-hour


def test_calls_catalog(catalog):
    ai = catalog.call("EuroHPC AI and Data-Intensive")
    assert ai.unit == "node-hour"
    leo = ai.for_system("leonardo-booster/booster")
    # TRUBA summary of the 2024 AI and Data-Intensive call: 545,865 offered, 50,000 per project
    assert leo is not None and leo.pool_per_cutoff == 545_865 and leo.max_request == 50_000
    assert ai.for_system("jean-zay/h100") is None
    reg = catalog.call("eurohpc-regular").for_system("lumi/lumi-g")
    assert reg is not None and (reg.min_request, reg.max_request) == (35_000, 157_500)
    assert catalog.call("genci-dynamic-access").max_request == 50_000


def test_estimate_chains_by_the_queue(catalog):
    scn = Scenario(
        model=catalog.model("llama-2-7b"),
        tokens=3e11,
        system=resolve_system(catalog, "jean-zay/h100"),
        n_gpus=512,
        mfu=0.4,
    )
    est = estimate(scn)
    assert est.queue is not None and est.queue.name == "qos_gpu_h100-t3"
    assert est.goodput is not None and est.goodput.inputs.job_wall_limit_h == 20
    assert est.to_json()["billed"]["gpu-hour"] == pytest.approx(est.run.gpu_hours)


def test_chart_labels_never_merge_and_segments_never_share_a_colour(catalog):
    from capacity.report.figures import segment_colours, unique_labels

    # Proposal review 2026-12: cut at 46 characters, these two AWS regions became one bar.
    ids = ["aws-p5-48xlarge", "aws-p5-48xlarge-eu-north-1"]
    names = [catalog.cloud[i].name for i in ids]
    labels = unique_labels(names, ids)
    assert len(set(labels)) == 2 and all(len(lbl) < 80 for lbl in labels)
    assert unique_labels(["a", "a"], ["x", "x"]) == ["a [x]", "a [x] #2"]
    assert len(set(segment_colours(12))) == 12 and len(set(segment_colours(30))) == 30


def test_request_checked_against_the_call(catalog):
    from capacity.calls import check_request

    leo = resolve_system(catalog, "leonardo-booster")
    ai = catalog.call("eurohpc-ai-data-intensive")
    # the proposal review's Leonardo example: 68,544 node-hours against 50,000 and 545,865
    chk = check_request(ai, leo, 68_544, 12)
    assert not chk.ok and "50,000" in chk.warnings[0] and "TRUBA" in chk.warnings[0]
    assert chk.share_of_pool == pytest.approx(68_544 / 545_865)
    assert check_request(ai, leo, 40_000, 12).ok
    lumi = check_request(
        catalog.call("eurohpc-regular"), resolve_system(catalog, "lumi"), 11_170, 12
    )
    assert lumi.unit == "node-hour" and "minimum" in lumi.warnings[0]
    genci = check_request(
        catalog.call("genci-dynamic-access"), resolve_system(catalog, "jean-zay/h100"), 1000, 12
    )
    assert genci.requested is None and "cannot be checked" in genci.notes[0]


def test_largest_remainder_keeps_the_sum():
    from capacity.rounding import largest_remainder

    parts = [1723.4, 32889.3, 32889.3, 1042.4]  # the review's quarters of 68,544.4
    shown = largest_remainder(parts)
    assert sum(shown) == round(sum(parts)) and all(
        abs(a - b) < 1 for a, b in zip(shown, parts, strict=True)
    )
    assert sum(largest_remainder([34.5, 34.5, 5751.2])) == 5820


def test_measured_evidence_series(catalog):
    import csv

    from capacity.evidence import measured_evidence
    from capacity.measured import parse_measured_steps

    path = ROOT / "examples" / "campaigns" / "measured" / "mpt-7b-a100.csv"
    steps = parse_measured_steps(list(csv.DictReader(path.open())), str(path))
    scn = Scenario(
        model=catalog.model("mpt-7b"),
        tokens=1e11,
        system=resolve_system(catalog, "leonardo-booster"),
        n_gpus=128,
        calibration=catalog.efficiency.get("calibration"),
    )
    ev = measured_evidence(scn, steps, "llm-foundry")
    # llm-foundry benchmark README, A100 40GB, 7b at 128 GPUs: 3,623 tokens/s per GPU
    assert ev.points[-1].tokens_per_gpu_s == pytest.approx(3623, rel=1e-3)
    assert ev.weak_tokens_per_gpu == 36_864 and len(ev.weak) == 3
    assert ev.strong_batch_tokens is None and ev.notes
    assert all(p.anchored_step_s is not None for p in ev.points)


def test_example_packs_carry_call_units_queues_and_measurements(catalog):
    from capacity.campaign.io import load_plan
    from capacity.report.proposal import _quarter_rows, render_csv

    examples = ROOT / "examples" / "campaigns"
    _c, lumi = load_plan(examples / "lumi-1.8b-eurohpc-regular.toml", catalog)
    s = lumi.systems[0]
    chk = s.call_check
    # EuroHPC counts node-hours, LUMI bills GPU-hours (4 per node-hour, LUMI billing policy)
    assert chk is not None and chk.unit == "node-hour" and s.billing_unit == "gpu-hour"
    assert chk.requested == pytest.approx(s.total / 4)
    assert s.evidence is not None and s.evidence.points
    main = next(r for r in lumi.runs if r.kind == "main")
    assert main.queues == ("standard-g",) and main.steps and main.step_time_s
    assert main.estimates[0].scenario.measured_steps  # the request is re-anchored
    _c, leo = load_plan(examples / "leonardo-7b-eurohpc-ai.toml", catalog)
    assert leo.systems[0].call_check is not None
    assert "boost_qos_bprod" in next(r for r in leo.runs if r.kind == "main").queues
    # shown quarters add up to the shown totals; CSV run rows + contingency = total
    from capacity.report.proposal import _storage_tb_by_quarter, data_management

    assert len(data_management(lumi)) == len(lumi.systems)
    for plan in (lumi, leo):
        for sp in plan.systems:
            held = _storage_tb_by_quarter(plan, sp)
            assert held == sorted(held) and held[-1] == pytest.approx(sp.storage_tb)
            _h, rows = _quarter_rows(plan, sp)
            for row in rows:
                parts = [int(c.replace(",", "")) for c in row[3:-1] if c not in ("", "–")]
                if parts:
                    assert sum(parts) == int(row[-1].replace(",", "")), row
    import csv as csv_mod
    import io

    rows = list(csv_mod.DictReader(io.StringIO(render_csv(leo))))
    body = [r for r in rows if not r["run"].startswith("(") or r["run"] == "(contingency)"]
    total = next(r for r in rows if r["run"] == "(total)")
    for col in ("units", "energy_mwh", "co2_t"):
        assert sum(float(r[col]) for r in body) == pytest.approx(float(total[col]), rel=1e-6)


def test_feasible_with_cautions(catalog):
    from capacity.verdict import cautions

    est = estimate(
        Scenario(
            model=catalog.model("llama-3-70b"),
            tokens=15e12,
            system=resolve_system(catalog, "aws-p5-48xlarge"),
            n_gpus=512,
            calibration=catalog.efficiency.get("calibration"),
        )
    )
    assert est.feasible and est.memory.total_gib > 0.95 * est.memory.usable_gib
    got = cautions(est.memory, 0.78)  # the review's cloud run: 78 % of ideal, 71.7 of 72 GiB
    assert len(got) == 2 and "78%" in got[0] and "memory" in got[1]
