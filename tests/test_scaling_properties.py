"""Hypothesis properties of the scaling laws.

Each law is Hoffmann et al. 2022 (arXiv:2203.15556) Eq. 2 / Besiroglu et al. 2024
(arXiv:2404.10102) / Kaplan et al. 2020 (arXiv:2001.08361) Eq. 1.5 / Muennighoff et al. 2023
(arXiv:2305.16264); the properties are the ones those papers rely on: loss falls with N and D,
optimal N and D grow with compute, the optimum is the bottom of the isoFLOP profile
(Hoffmann Fig. 3), and serving demand shrinks the optimal model (Sardana & Frankle 2023,
arXiv:2401.00448).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capacity.errors import CapacityError
from capacity.scaling import (
    LAWS,
    MUENNIGHOFF_2023,
    ScalingLaw,
    effective_tokens,
    inference_aware_optimal,
    repetition_penalty,
)

ALL_LAWS: list[ScalingLaw] = [*LAWS.values(), MUENNIGHOFF_2023]
law_st = st.sampled_from(ALL_LAWS)
params_st = st.floats(1e7, 1e13)
tokens_st = st.floats(1e8, 1e14)
flops_st = st.floats(1e18, 1e27)
factor_st = st.floats(1.01, 100.0)


def test_all_laws_satisfy_protocol() -> None:
    for law in ALL_LAWS:
        assert isinstance(law, ScalingLaw)
        assert law.source and law.validity


@given(law_st, params_st, tokens_st, factor_st)
def test_loss_strictly_decreasing_in_params(law: ScalingLaw, n: float, d: float, k: float) -> None:
    assert float(law.loss(n * k, d)) < float(law.loss(n, d))


@given(law_st, params_st, tokens_st, factor_st)
def test_loss_strictly_decreasing_in_tokens(law: ScalingLaw, n: float, d: float, k: float) -> None:
    assert float(law.loss(n, d * k)) < float(law.loss(n, d))


@given(law_st, flops_st, factor_st)
def test_optimum_grows_with_compute(law: ScalingLaw, c: float, k: float) -> None:
    n1, d1 = law.compute_optimal(c)
    n2, d2 = law.compute_optimal(c * k)
    assert float(n2) > float(n1)
    assert float(d2) > float(d1)
    assert float(law.optimal_loss(c * k)) < float(law.optimal_loss(c))


@given(law_st, flops_st, st.floats(0.2, 5.0))
def test_optimum_is_isoflop_minimum(law: ScalingLaw, c: float, f: float) -> None:
    n_opt, d_opt = law.compute_optimal(c)
    assert 6 * float(n_opt) * float(d_opt) == pytest.approx(c, rel=1e-9)
    best = float(law.isoflop_curve(c, n_opt))
    assert float(law.isoflop_curve(c, float(n_opt) * f)) >= best - 1e-12


@given(law_st, flops_st)
def test_min_compute_inverts_optimal_loss(law: ScalingLaw, c: float) -> None:
    assert float(law.min_compute_for_loss(law.optimal_loss(c))) == pytest.approx(c, rel=1e-8)


@settings(deadline=None, max_examples=60)
@given(law_st, st.floats(1e19, 1e26), st.floats(1e9, 1e15))
def test_inference_aware_is_smaller(law: ScalingLaw, c: float, d_inf: float) -> None:
    target = float(law.optimal_loss(c))
    n_co, d_co = (float(x) for x in law.compute_optimal(c))
    plan = inference_aware_optimal(target, d_inf, law)
    assert float(plan.params) <= n_co * (1 + 1e-6)
    assert float(law.loss(plan.params, plan.train_tokens)) == pytest.approx(target, rel=1e-9)
    co_total = 6 * n_co * d_co + 2 * n_co * d_inf
    assert float(plan.total_flops) <= co_total * (1 + 1e-9)


@given(law_st, st.floats(0.0, 1.0))
def test_target_at_or_below_floor_raises(law: ScalingLaw, below: float) -> None:
    target = law.irreducible_loss - below
    for call in (
        lambda: law.min_compute_for_loss(target),
        lambda: inference_aware_optimal(target, 1e12, law),
    ):
        with pytest.raises(CapacityError) as err:
            call()
        assert err.value.field == "target_loss"


@given(st.floats(1e8, 1e13), st.floats(1.0, 1e4), st.floats(1.001, 10.0))
def test_effective_tokens_bounded_and_increasing(u: float, ep: float, k: float) -> None:
    d = u * ep
    d_eff = float(effective_tokens(d, u))
    assert d_eff <= d * (1 + 1e-12)
    assert float(effective_tokens(d * k, u)) >= d_eff


@given(st.floats(1e8, 1e11), st.floats(1e9, 1e12), st.floats(1.0, 100.0))
def test_repetition_penalty_nonnegative(n: float, u: float, ep: float) -> None:
    assert float(repetition_penalty(n, u * ep, u)) >= -1e-12
