"""Inference-aware sizing: the cheapest model over its lifetime for a target loss.

Minimise 6 N D_tr + 2 N D_inf over N subject to L(N, D_tr) = target (Sardana & Frankle 2023,
Sec. 2): for each N on a log grid, D_tr = law.tokens_for_loss(N, target), e.g.
D_tr = (B/(target - E - A/N^alpha))^(1/beta) for Chinchilla-form laws, then refine around the
best grid point. With D_inf > 0 the optimum is a smaller model trained on more tokens than the
compute-optimal one.

References
----------
Sardana & Frankle 2023, "Beyond Chinchilla-Optimal: Accounting for Inference in Language
Model Scaling Laws", arXiv:2401.00448.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from capacity.errors import CapacityError
from capacity.scaling.parametric import (
    EPOCH,
    FloatArray,
    FloatOrArray,
    ScalingLaw,
    as_positive,
    below_floor_error,
    minimize_on_log_grid,
    out,
)

TRAIN_FLOPS_PER_PARAM_TOKEN = 6.0  # forward + backward (Kaplan et al. 2020 Sec. 2.1)
INFERENCE_FLOPS_PER_PARAM_TOKEN = 2.0  # forward only (Sardana & Frankle 2023 Sec. 2)


@dataclass(frozen=True)
class InferenceAwarePlan:
    """Lifetime-optimal model; fields broadcast over the inputs.

    Attributes
    ----------
    params : parameters N.
    train_tokens : training tokens D_tr.
    loss : nats/token reached (the target).
    train_flops : 6 N D_tr, FLOPs.
    inference_flops : 2 N D_inf, FLOPs.
    total_flops : train_flops + inference_flops, FLOPs.
    """

    params: FloatOrArray
    train_tokens: FloatOrArray
    loss: FloatOrArray
    train_flops: FloatOrArray
    inference_flops: FloatOrArray
    total_flops: FloatOrArray


def _check_inference_tokens(x: npt.ArrayLike) -> FloatArray:
    a = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(a) & (a >= 0)):
        raise CapacityError(f"must be finite and >= 0, got {x!r}", field="inference_tokens")
    return a


def inference_aware_optimal(
    target_loss: npt.ArrayLike,
    inference_tokens: npt.ArrayLike,
    law: ScalingLaw = EPOCH,
) -> InferenceAwarePlan:
    """Model minimising training plus inference FLOPs for a target loss.

    Parameters
    ----------
    target_loss : array_like
        Loss to reach, nats/token; must exceed the law's irreducible loss E.
    inference_tokens : array_like
        Tokens processed at inference over the model's lifetime (D_inf >= 0).
    law : ScalingLaw
        Loss model (default: Epoch replication of Chinchilla).

    Returns
    -------
    InferenceAwarePlan

    Raises
    ------
    CapacityError
        field="target_loss" when target <= E; field="inference_tokens" when D_inf < 0.

    Notes
    -----
    N is searched in (N_min, 10 N_co], where N_min = law.min_params_for_loss(target) (below it
    the target is unreachable) and N_co is the compute-optimal size for the target; with
    D_inf = 0 the result is the compute-optimal model.

    References
    ----------
    Sardana & Frankle 2023 (arXiv:2401.00448), Sec. 2, Eq. for the total-cost objective.
    """
    t = np.asarray(target_loss, dtype=np.float64)
    floor = law.irreducible_loss
    if not np.all(np.isfinite(t) & (t > floor)):
        raise below_floor_error(law.id, floor, target_loss)
    t, d_inf = np.broadcast_arrays(t, _check_inference_tokens(inference_tokens))
    n_min = np.asarray(law.min_params_for_loss(t), dtype=np.float64)
    n_co = np.asarray(law.compute_optimal(law.min_compute_for_loss(t))[0], dtype=np.float64)
    lo = np.log(n_min) + 1e-9
    hi = np.log(np.maximum(10.0 * n_co, n_min * 1.01))

    def total(log_n: FloatArray) -> FloatArray:
        n = np.exp(log_n)
        d_tr = np.asarray(law.tokens_for_loss(n, t[..., None]))
        cost = (
            TRAIN_FLOPS_PER_PARAM_TOKEN * d_tr + INFERENCE_FLOPS_PER_PARAM_TOKEN * d_inf[..., None]
        )
        return np.asarray(n * cost, dtype=np.float64)

    n = np.exp(minimize_on_log_grid(total, lo, hi))
    d_tr = np.asarray(law.tokens_for_loss(n, t), dtype=np.float64)
    train = TRAIN_FLOPS_PER_PARAM_TOKEN * n * d_tr
    infer = INFERENCE_FLOPS_PER_PARAM_TOKEN * n * d_inf
    return InferenceAwarePlan(
        params=out(n),
        train_tokens=out(d_tr),
        loss=out(t),
        train_flops=out(train),
        inference_flops=out(infer),
        total_flops=out(train + infer),
    )


def inference_aware_for_budget(
    C: npt.ArrayLike,
    inference_tokens: npt.ArrayLike,
    law: ScalingLaw = EPOCH,
) -> InferenceAwarePlan:
    """Lifetime-optimal model matching the loss of the compute-optimal model at C FLOPs.

    The target is law.optimal_loss(C); the returned model is smaller than the compute-optimal
    one and trains on more tokens, so its train_flops >= C while its total is lowest.

    Parameters
    ----------
    C : array_like
        Training budget that defines the target quality, FLOPs.
    inference_tokens : array_like
        Lifetime inference tokens D_inf.
    law : ScalingLaw
        Loss model (default: Epoch replication of Chinchilla).

    References
    ----------
    Sardana & Frankle 2023 (arXiv:2401.00448), Sec. 3.
    """
    return inference_aware_optimal(law.optimal_loss(as_positive(C, "flops")), inference_tokens, law)


def inference_aware_within_budget(
    C: npt.ArrayLike,
    inference_tokens: npt.ArrayLike,
    law: ScalingLaw = EPOCH,
) -> InferenceAwarePlan:
    """Lifetime-optimal model whose training costs exactly C FLOPs; the loss is what it reaches.

    Among the plans of `inference_aware_optimal` (cheapest training + inference for a target
    loss), the one whose train_flops equal C: the training budget is a hard limit (an
    allocation), so the loss gives way, not the budget. Its loss is at or above the
    compute-optimal loss at C (equal when D_inf = 0), its model smaller and trained longer.

    Parameters
    ----------
    C : array_like
        Training budget, FLOPs (6 N D_tr).
    inference_tokens : array_like
        Lifetime inference tokens D_inf >= 0.
    law : ScalingLaw
        Loss model.

    References
    ----------
    Sardana & Frankle 2023 (arXiv:2401.00448), Sec. 2-3 (the total-cost objective, solved
    here for the loss at which the training part equals the budget).
    """
    c = as_positive(C, "flops")
    d_inf = _check_inference_tokens(inference_tokens)
    c, d_inf = np.broadcast_arrays(c, d_inf)
    floor = law.irreducible_loss
    gap0 = np.asarray(law.optimal_loss(c), dtype=np.float64) - floor  # at D_inf = 0
    lo = np.log(gap0)
    hi = lo + np.log(50.0)  # train FLOPs fall steeply as the target rises; 50x the gap is ample

    def miss(log_gap: FloatArray) -> FloatArray:
        plan = inference_aware_optimal(floor + np.exp(log_gap), d_inf[..., None], law)
        return np.abs(np.log(np.asarray(plan.train_flops)) - np.log(c[..., None]))

    log_gap = minimize_on_log_grid(miss, lo, hi, points=33, rounds=8)
    return inference_aware_optimal(floor + np.exp(log_gap), d_inf, law)
