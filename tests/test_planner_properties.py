"""Planner invariants (hypothesis): scaling out and sharding behave as physics says."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from capacity.memory import memory_arrays
from capacity.planner import PlanRequest, SearchSpace, plan
from capacity.system import resolve_system
from capacity.workload import model_from_params


@pytest.fixture(scope="module")
def setup(catalog):
    return (
        catalog.efficiency["calibration"],
        {k: resolve_system(catalog, k) for k in ("jean-zay/h100", "aws-p5-48xlarge")},
        {p: model_from_params(p) for p in (1e9, 7e9, 30e9)},
    )


def _best(setup, params, system, n_gpus, batch_seqs):
    cal, systems, models = setup
    m = models[params]
    req = PlanRequest(
        model=m,
        system=systems[system],
        n_gpus=n_gpus,
        seq_len=m.seq_len,
        global_batch_tokens=batch_seqs * m.seq_len,
        calibration=cal,
        space=SearchSpace(zero_stage=(1, 3), vpp=(1, 2), micro_batch_seqs=(1, 2)),
        top=1,
    )
    return plan(req).best


@settings(max_examples=12, deadline=None)
@given(
    params=st.sampled_from([1e9, 7e9, 30e9]),
    system=st.sampled_from(["jean-zay/h100", "aws-p5-48xlarge"]),
    nodes_log2=st.integers(0, 5),
    batch_log2=st.integers(8, 11),
)
def test_doubling_the_gpus_never_lowers_aggregate_throughput(
    setup, params, system, nodes_log2, batch_log2
):
    """Unless the batch binds (one micro-batch per pipeline already), twice the GPUs
    run the same global batch at least as fast: the best layout at n, with DP doubled
    and half the accumulation steps, is a candidate at 2n."""
    g = setup[1][system].gpus_per_node
    n = g * 2**nodes_log2
    small = _best(setup, params, system, n, 2**batch_log2)
    assume(small is not None and small.microbatches >= 2)
    big = _best(setup, params, system, 2 * n, 2**batch_log2)
    assert big is not None
    assert big.tokens_per_s >= small.tokens_per_s * (1 - 1e-9)


@settings(max_examples=60, deadline=None)
@given(
    params=st.sampled_from([1e9, 7e9, 30e9]),
    tp=st.sampled_from([1, 2, 4, 8]),
    pp=st.sampled_from([1, 2, 4]),
    dp=st.sampled_from([1, 2, 8, 64]),
    zero=st.integers(0, 2),
    rc=st.integers(0, 2),
)
def test_memory_never_grows_with_more_sharding(setup, params, tp, pp, dp, zero, rc):
    m = setup[2][params]

    def total(**kw):
        base = dict(tp=tp, pp=pp, dp=dp, zero_stage=zero, recompute=rc, microbatches=8)
        base.update(kw)
        return float(memory_arrays(m, m.seq_len, **base).total_b)

    now = total()
    if dp > 1:  # a higher ZeRO stage shards more (with one replica it only adds buffers)
        assert total(zero_stage=zero + 1) <= now + 1e-6
    assert total(dp=dp * 2) <= now + 1e-6  # more data-parallel shards
    assert total(tp=tp * 2) <= now + 1e-6  # more tensor parallelism
    assert total(recompute=min(rc + 1, 2)) <= now + 1e-6  # more recompute


def test_memory_arrays_match_the_one_layout_api(setup):
    from capacity.layout import Layout
    from capacity.memory import memory_per_gpu

    m = setup[2][7e9]
    lay = Layout(tp=2, pp=2, dp=4, vpp=2, zero_stage=2, recompute="full", micro_batch_seqs=2)
    one = memory_per_gpu(m, lay, 80, microbatches=8)
    arr = memory_arrays(
        m,
        m.seq_len,
        tp=np.array([2]),
        pp=np.array([2]),
        dp=np.array([4]),
        vpp=np.array([2]),
        zero_stage=np.array([2]),
        recompute=np.array([2]),
        micro_batch=np.array([2]),
        microbatches=np.array([8]),
    )
    assert one.total_gib * 2**30 == pytest.approx(float(arr.total_b[0]))
