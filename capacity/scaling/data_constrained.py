"""Data-constrained scaling: repeated epochs are worth less than fresh tokens.

Muennighoff et al. 2023, Eq. 5:
    D' = U_D + U_D R_D* (1 - exp(-R_D/R_D*)),   R_D = max(D/U_D - 1, 0)
    N' = U_N + U_N R_N* (1 - exp(-R_N/R_N*)),   R_N = max(N/U_N - 1, 0)
with U_D = min(U, D) the unique tokens and U_N = min(N, N_opt(U_D)) the compute-optimal
model size for U_D unique tokens; the loss is the base law evaluated at (N', D').
R_D* = 15.387756, R_N* = 5.309743 (App. A). They were fitted jointly with the refit
`MUENNIGHOFF_2023` constants; combining them with another base law is an approximation.

References
----------
Muennighoff et al. 2023, "Scaling Data-Constrained Language Models", arXiv:2305.16264.
huggingface/datablations README, "Parametric Fit".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from capacity.scaling.parametric import (
    FloatArray,
    FloatOrArray,
    ParametricLaw,
    ScalingLaw,
    as_positive,
    minimize_on_log_grid,
    out,
)

R_D_STAR = 15.387756  # Muennighoff et al. 2023 App. A: decay constant of repeated data
R_N_STAR = 5.309743  # Muennighoff et al. 2023 App. A: decay constant of excess parameters

MUENNIGHOFF_2023 = ParametricLaw(
    id="muennighoff",
    name="Data-constrained refit (Muennighoff et al. 2023)",
    E=math.exp(0.6254804),  # ≈ 1.869
    A=math.exp(6.255414),  # ≈ 520.8
    B=math.exp(7.3049974),  # ≈ 1487.7
    alpha=0.3526596,
    beta=0.3526596,
    source=(
        "Muennighoff et al. 2023 (arXiv:2305.16264) App. A Eq. 17; log-space values "
        "6.255414, 7.3049974, 0.6254804 from the huggingface/datablations README 'Parametric Fit'"
    ),
    validity="fit on 10M-9B params, up to ~1500 epochs, C4 tokens; alpha tied to beta",
)


def epochs(D: npt.ArrayLike, U: npt.ArrayLike) -> FloatOrArray:
    """Passes over the unique data: D/U (D training tokens, U unique tokens)."""
    return out(as_positive(D, "tokens") / as_positive(U, "unique_tokens"))


def effective_tokens(D: npt.ArrayLike, U: npt.ArrayLike) -> FloatOrArray:
    """Effective data D' (tokens) of D training tokens drawn from U unique tokens.

    Parameters
    ----------
    D : array_like
        Training tokens, including repeats.
    U : array_like
        Unique tokens available.

    Returns
    -------
    D' : tokens; equals D for one epoch or less, saturates at U (1 + R_D*) ≈ 16.4 U.

    References
    ----------
    Muennighoff et al. 2023 (arXiv:2305.16264), Eq. 5 and App. A.
    """
    d, u = as_positive(D, "tokens"), as_positive(U, "unique_tokens")
    u_d = np.minimum(u, d)
    r_d = np.maximum(d / u_d - 1.0, 0.0)
    return out(u_d + u_d * R_D_STAR * (1.0 - np.exp(-r_d / R_D_STAR)))


def _params_for_unique_tokens(law: ScalingLaw, U: FloatArray) -> FloatArray:
    """N_opt at the budget whose compute-optimal D equals U (log-bisection on C)."""
    lo = np.full(U.shape, np.log(1.0))
    hi = np.full(U.shape, np.log(1e45))
    for _ in range(120):
        mid = 0.5 * (lo + hi)
        d = np.asarray(law.compute_optimal(np.exp(mid))[1])
        below = d < U
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return np.asarray(law.compute_optimal(np.exp(0.5 * (lo + hi)))[0], dtype=np.float64)


def _n_eff(n: FloatArray, u_n_opt: FloatArray) -> FloatArray:
    u_n = np.minimum(n, u_n_opt)
    r_n = np.maximum(n / u_n - 1.0, 0.0)
    return np.asarray(u_n + u_n * R_N_STAR * (1.0 - np.exp(-r_n / R_N_STAR)), dtype=np.float64)


def effective_params(
    N: npt.ArrayLike, U: npt.ArrayLike, law: ScalingLaw = MUENNIGHOFF_2023
) -> FloatOrArray:
    """Effective parameters N' of an N-parameter model trained on U unique tokens.

    U_N = min(N, N_opt(U)) with N_opt(U) the compute-optimal size, under `law`, at the budget
    whose optimal data is U tokens; the excess N - U_N decays with R_N*
    (Muennighoff et al. 2023, Eq. 5).
    """
    n, u = np.broadcast_arrays(as_positive(N, "params"), as_positive(U, "unique_tokens"))
    return out(_n_eff(n, _params_for_unique_tokens(law, u)))


def loss_data_constrained(
    N: npt.ArrayLike,
    D: npt.ArrayLike,
    U: npt.ArrayLike,
    law: ScalingLaw = MUENNIGHOFF_2023,
) -> FloatOrArray:
    """Loss (nats/token) of N params trained on D tokens of which U are unique.

    Evaluates `law.loss(N', D')` with N', D' from Muennighoff et al. 2023 Eq. 5 and
    U_D = min(U, D).

    References
    ----------
    Muennighoff et al. 2023 (arXiv:2305.16264), Eq. 5-6.
    """
    d = as_positive(D, "tokens")
    u_d = np.minimum(as_positive(U, "unique_tokens"), d)
    return law.loss(effective_params(N, u_d, law), effective_tokens(d, u_d))


def repetition_penalty(
    N: npt.ArrayLike,
    D: npt.ArrayLike,
    U: npt.ArrayLike,
    law: ScalingLaw = MUENNIGHOFF_2023,
) -> FloatOrArray:
    """Extra loss (nats/token, >= 0) of training on D tokens from U unique vs D fresh tokens."""
    return out(
        np.asarray(loss_data_constrained(N, D, U, law)) - np.asarray(law.loss(N, D)),
    )


@dataclass(frozen=True)
class DataConstrainedOptimum:
    """Best allocation of C FLOPs with U unique tokens (arrays broadcast over C and U).

    Attributes: params (N), tokens (D, repeats included), loss (nats/token), epochs (D/U),
    effective_tokens (D'), effective_params (N').
    """

    params: FloatOrArray
    tokens: FloatOrArray
    loss: FloatOrArray
    epochs: FloatOrArray
    effective_tokens: FloatOrArray
    effective_params: FloatOrArray


def compute_optimal_data_constrained(
    C: npt.ArrayLike, U: npt.ArrayLike, law: ScalingLaw = MUENNIGHOFF_2023
) -> DataConstrainedOptimum:
    """Model size minimising the data-constrained loss on the isoFLOP curve C = 6ND.

    Grid search plus refinement over ln N in [N_opt/1e3, N_opt*1e3] around the unconstrained
    optimum of `law`, vectorised over broadcast C and U.

    Parameters
    ----------
    C : array_like
        Training compute, FLOPs.
    U : array_like
        Unique tokens available.
    law : ScalingLaw
        Base law (default: Muennighoff et al.'s refit, fitted jointly with R_D*, R_N*).

    References
    ----------
    Muennighoff et al. 2023 (arXiv:2305.16264), Sec. 3 and Eq. 5.
    """
    c, u = np.broadcast_arrays(as_positive(C, "flops"), as_positive(U, "unique_tokens"))
    n0 = np.log(np.asarray(law.compute_optimal(c)[0]))

    def objective(log_n: FloatArray) -> FloatArray:
        n = np.exp(log_n)
        d = c[..., None] / (6.0 * n)
        return np.asarray(loss_data_constrained(n, d, u[..., None], law), dtype=np.float64)

    n = np.exp(minimize_on_log_grid(objective, n0 - np.log(1e3), n0 + np.log(1e3)))
    d = c / (6.0 * n)
    u_eff = np.minimum(u, d)
    return DataConstrainedOptimum(
        params=out(n),
        tokens=out(d),
        loss=loss_data_constrained(n, d, u, law),
        epochs=epochs(d, u),
        effective_tokens=effective_tokens(d, u),
        effective_params=effective_params(n, u_eff, law),
    )
