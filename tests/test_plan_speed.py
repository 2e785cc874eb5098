"""The planner's shortcuts change no answer: chunked timing, the top-k selection, plans
shared between systems with the same hardware. Counts of planner runs, no wall-clock."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import capacity.planner.search as search
import capacity.scenario_plan as scenario_plan
from capacity.planner import PlanRequest, SearchSpace, plan
from capacity.system import resolve_system


def _request(catalog, system: str, n_gpus: int, **kw) -> PlanRequest:
    model = catalog.model(kw.pop("model", "llama-3-8b"))
    return PlanRequest(
        model=model,
        system=resolve_system(catalog, system),
        n_gpus=n_gpus,
        seq_len=model.seq_len,
        global_batch_tokens=4 * 2**20,
        calibration=catalog.efficiency["calibration"],
        **kw,
    )


def _ranked(p):
    return [(c.layout, c.step_time_s, c.tokens_per_s, c.memory) for c in p.choices]


def test_chunked_timing_ranks_as_one_pass(catalog, monkeypatch):
    req = _request(catalog, "jean-zay/h100", 256, top=10)
    monkeypatch.setattr(search, "CHUNK_ROWS", 10**9)
    whole = plan(req)
    monkeypatch.setattr(search, "CHUNK_ROWS", 97)  # many chunks, ties across their borders
    chunked = plan(req)
    assert whole.n_feasible > 10 * 97
    assert _ranked(chunked) == _ranked(whole)
    assert chunked.choices[0].breakdown_s == whole.choices[0].breakdown_s


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 12),
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=40),
)
def test_top_rows_are_the_head_of_a_full_sort(top, rows):
    rate = np.array([r[0] for r in rows], dtype=float)
    mem = np.array([r[1] for r in rows], dtype=float)
    idx = np.arange(len(rows)) * 3
    want = np.lexsort((idx, mem, rate))[:top]
    assert search._first(top, rate, mem, idx).tolist() == want.tolist()


def test_systems_with_the_same_rates_share_a_plan_with_their_own_notes(catalog):
    # CoreWeave publishes no inter-node bandwidth (200 Gb/s per GPU assumed); GCP a3-mega
    # publishes 1,600 Gb/s per 8-GPU node: the same 25 GB/s per GPU, the same plan.
    scenario_plan._PLANS.clear()
    before = dict(scenario_plan.plan_stats)
    assumed = scenario_plan.cached_plan(_request(catalog, "coreweave-h100-8x", 256))
    published = scenario_plan.cached_plan(_request(catalog, "gcp-a3-megagpu-8g", 256))
    assert scenario_plan.plan_stats["made"] - before["made"] == 1
    assert scenario_plan.plan_stats["reused"] - before["reused"] == 1
    assert _ranked(published) == _ranked(assumed)
    assert any("publishes no inter-node bandwidth" in n for n in assumed.notes)
    assert not any("inter-node bandwidth" in n for n in published.notes)
    assert published.notes == plan(_request(catalog, "gcp-a3-megagpu-8g", 256)).notes
    assert published.request.system.id == "gcp-a3-megagpu-8g"


def _reference_layouts(m, n_gpus, g, seq_len, batch_seqs):
    """The structural rules of `capacity.planner.space`, one layout at a time, in the order
    of the full product (TP, PP, CP, EP, VPP, then micro-batch, ZeRO, recompute, SP)."""
    from capacity.layout import HSDP, RECOMPUTE_CODES, RECOMPUTES
    from capacity.planner import space as sp

    tps, _ = sp.tp_values(m, g, n_gpus, SearchSpace())
    pps = [p for p in sp._divisors(n_gpus) if p <= m.n_layers]
    eps = sp._divisors(m.moe_experts) if m.is_moe else [1]
    experts = m.moe_experts or 1
    out = []
    for tp, pp, cp, ep, v in itertools.product(
        tps, pps, sp.cp_values(m, seq_len, SearchSpace()), eps, sp.VPP_CHOICES
    ):
        if n_gpus % (tp * pp * cp) or (v > 1 and not (pp > 1 and pp * v <= m.n_layers)):
            continue
        dp = n_gpus // (tp * pp * cp)
        if experts % ep or dp % ep:
            continue
        for mb, zero, rc, seq_par in itertools.product(
            sp.MICRO_BATCHES, (0, 1, 2, 3, HSDP), RECOMPUTES, (True, False)
        ):
            steps = max(round(batch_seqs / max(dp * mb, 1)), 1)
            if tp == 1 and not seq_par:
                continue
            if abs(dp * mb * steps / batch_seqs - 1) > sp.BATCH_TOLERANCE.value:
                continue
            if v > 1 and steps < pp:
                continue
            out.append((tp, pp, dp, cp, ep, v, mb, zero, RECOMPUTE_CODES[rc], seq_par, steps))
    return out


@settings(max_examples=25, deadline=None)
@given(
    st.sampled_from(["llama-3-8b", "mixtral-8x7b"]),
    st.sampled_from([4, 8]),
    st.integers(1, 24),
    st.sampled_from([64, 256, 500, 1024, 4096]),
)
def test_enumeration_follows_the_rules_in_product_order(catalog, model, g, nodes, batch):
    from capacity.planner.space import enumerate_space

    m = catalog.model(model)
    c, _ = enumerate_space(
        m, n_gpus=nodes * g, gpus_per_node=g, seq_len=4096, batch_seqs=batch, space=SearchSpace()
    )
    got = list(
        zip(
            *(getattr(c, k).tolist() for k in ("tp", "pp", "dp", "cp", "ep", "vpp", "mb")),
            *(getattr(c, k).tolist() for k in ("zero", "recompute", "sp", "m")),
            strict=True,
        )
    )
    assert got == _reference_layouts(m, nodes * g, g, 4096, batch)


def test_deadline_sizing_plans_each_hardware_once(catalog):
    """Sizing a second system with the same accelerator, per-GPU rates and node grid (both
    elastic) runs no planner at all and gives the same size."""
    from capacity.compare import compare

    scenario_plan._PLANS.clear()
    common = dict(
        tokens=15e12, days=30, calibration=catalog.efficiency["calibration"],
        rates=catalog.exchange_rates,
    )  # fmt: skip
    model = catalog.model("llama-3-8b")
    before = dict(scenario_plan.plan_stats)
    (first,) = compare(model, systems=[resolve_system(catalog, "coreweave-h100-8x")], **common)
    made = scenario_plan.plan_stats["made"] - before["made"]
    (second,) = compare(model, systems=[resolve_system(catalog, "gcp-a3-megagpu-8g")], **common)
    assert made >= 2  # a sizing search (the guess, then the bracket)
    assert scenario_plan.plan_stats["made"] - before["made"] == made
    assert first.estimate and second.estimate
    assert second.estimate.n_gpus == first.estimate.n_gpus


@pytest.mark.parametrize("model", ["llama-3-8b", "mixtral-8x7b"])
def test_work_is_per_row(catalog, model):
    """Timing in chunks and GEMMs computed once per shape rely on `work` being per row:
    any subset of the candidates gets exactly the values it has among all of them."""
    from dataclasses import fields

    from capacity.planner.search import evaluate_space
    from capacity.planner.work import work

    req = _request(catalog, "jean-zay/h100", 256, model=model)
    ev = evaluate_space(req)
    every = work(req.model, req.seq_len, ev.candidates, ev.hardware, req.n_gpus)
    rows = np.random.default_rng(0).choice(len(ev.candidates), 40, replace=False)
    some = work(req.model, req.seq_len, ev.candidates.take(rows), ev.hardware, req.n_gpus)
    for f in fields(some):
        assert np.array_equal(getattr(some, f.name), getattr(every, f.name)[rows]), f.name


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 30),
    st.lists(st.sampled_from([3, 300, 2**20, 2**40]), min_size=1, max_size=8),
    st.integers(0, 10**6),
)
def test_family_groups_are_the_distinct_rows_in_order(n, highs, seed):
    from capacity.planner.space import family_groups

    rng = np.random.default_rng(seed)
    cols = [rng.integers(0, hi, n) for hi in highs]  # wide columns take the fallback
    first, inv = family_groups(*cols)
    rows = np.stack(cols, axis=1)
    _, want_first, want_inv = np.unique(rows, axis=0, return_index=True, return_inverse=True)
    assert first.tolist() == want_first.tolist() and inv.tolist() == want_inv.ravel().tolist()
