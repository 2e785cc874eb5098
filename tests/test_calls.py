"""Access calls, billing units and queue rules (catalogs/calls, [[partitions.queues]])."""

from __future__ import annotations

import pytest

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
