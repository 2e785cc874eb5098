"""Invariants that must hold for any input (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capacity.cost import run_cost
from capacity.estimate import Scenario, estimate
from capacity.layout import Layout
from capacity.memory import memory_per_gpu, model_state_bytes
from capacity.system import resolve_system
from capacity.workload import model_from_params


@pytest.fixture(scope="module")
def systems(catalog):
    return {k: resolve_system(catalog, k) for k in ("leonardo-booster", "aws-p5-48xlarge")}


@pytest.fixture(scope="module")
def model7b():
    return model_from_params(7e9)


@settings(max_examples=40, deadline=None)
@given(tokens=st.floats(1e9, 1e14), factor=st.floats(1.1, 100))
def test_flops_and_time_linear_in_tokens(systems, model7b, tokens, factor):
    sys_ = systems["leonardo-booster"]
    a = estimate(Scenario(model=model7b, tokens=tokens, system=sys_, n_gpus=256))
    b = estimate(Scenario(model=model7b, tokens=tokens * factor, system=sys_, n_gpus=256))
    assert b.total_flops == pytest.approx(a.total_flops * factor, rel=1e-9)
    assert b.wall_clock_h == pytest.approx(a.wall_clock_h * factor, rel=1e-9)


@settings(max_examples=40, deadline=None)
@given(nodes=st.integers(1, 500), extra=st.integers(1, 500), mfu=st.floats(0.05, 0.9))
def test_time_non_increasing_in_gpus_at_fixed_mfu(systems, model7b, nodes, extra, mfu):
    sys_ = systems["leonardo-booster"]
    g = sys_.gpus_per_node
    small = estimate(Scenario(model=model7b, tokens=1e12, system=sys_, n_gpus=nodes * g, mfu=mfu))
    big = estimate(
        Scenario(model=model7b, tokens=1e12, system=sys_, n_gpus=(nodes + extra) * g, mfu=mfu)
    )
    assert big.wall_clock_h <= small.wall_clock_h


@settings(max_examples=60, deadline=None)
@given(
    params=st.floats(1e8, 1e12),
    stage=st.integers(0, 2),
    shards=st.integers(1, 4096),
)
def test_model_state_non_increasing_with_more_sharding(params, stage, shards):
    lo = sum(model_state_bytes(params, stage, shards))
    assert sum(model_state_bytes(params, stage + 1, shards)) <= lo
    assert sum(model_state_bytes(params, stage, shards * 2)) <= lo


@settings(max_examples=40, deadline=None)
@given(tp=st.sampled_from([1, 2, 4, 8]), pp=st.sampled_from([1, 2, 4]), zero=st.integers(0, 3))
def test_memory_non_increasing_with_tensor_parallel(model7b, tp, pp, zero):
    base = memory_per_gpu(model7b, Layout(tp=tp, pp=pp, dp=8, zero_stage=zero), 80)
    if tp < 8:
        more = memory_per_gpu(model7b, Layout(tp=tp * 2, pp=pp, dp=8, zero_stage=zero), 80)
        assert more.total_gib <= base.total_gib + 1e-9


@settings(max_examples=40, deadline=None)
@given(nodes=st.integers(1, 1000), hours=st.floats(0.1, 1e5))
def test_cost_is_hours_times_price(systems, nodes, hours):
    sys_ = systems["aws-p5-48xlarge"]
    run = run_cost(sys_, nodes * sys_.gpus_per_node, hours)
    assert run.cost is not None
    assert run.cost.amount == pytest.approx(nodes * hours * sys_.price_per_unit, rel=1e-9)
    assert run.gpu_hours == pytest.approx(nodes * sys_.gpus_per_node * hours, rel=1e-9)
