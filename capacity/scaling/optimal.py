"""Law registry and the planner-facing helpers that return `OptimalAllocation` rows.

Units: params (N), tokens (D), FLOPs (C = 6ND for training), loss in nats/token.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from capacity.errors import CapacityError
from capacity.scaling.data_constrained import compute_optimal_data_constrained
from capacity.scaling.inference_aware import inference_aware_optimal, inference_aware_within_budget
from capacity.scaling.kaplan import KAPLAN
from capacity.scaling.parametric import CHINCHILLA, EPOCH, ScalingLaw, as_positive

LAWS: dict[str, ScalingLaw] = {
    "chinchilla": CHINCHILLA,
    "epoch": EPOCH,
    "kaplan": KAPLAN,
}
DEFAULT_LAW = "epoch"

Method = Literal["compute_optimal", "data_constrained", "inference_aware", "alternative"]


def get_law(name: str) -> ScalingLaw:
    """The registered law `name`; CapacityError(field="law") listing valid ids otherwise."""
    try:
        return LAWS[name]
    except (KeyError, TypeError):
        valid = ", ".join(sorted(LAWS))
        raise CapacityError(f"unknown scaling law {name!r}; valid: {valid}", field="law") from None


def resolve_law(law: str | ScalingLaw) -> ScalingLaw:
    """Accept a registry id or a law object."""
    return get_law(law) if isinstance(law, str) else law


class OptimalAllocation(BaseModel):
    """One (params, tokens) choice for a training budget, with its predicted loss.

    Attributes
    ----------
    law : id of the scaling law used.
    params : model parameters N.
    tokens : training tokens D (repeats included).
    tokens_per_param : D / N.
    loss : predicted loss, nats/token.
    flops : training compute 6 N D, FLOPs.
    method : how the row was chosen.
    size_factor : N relative to the chosen N (1 for the chosen row; alternatives are round
        multiples of it on the same training FLOPs).
    unique_tokens, epochs : data-constrained rows only (U and D/U).
    inference_tokens, inference_flops : inference-aware rows only (D_inf and 2 N D_inf).
    total_flops : flops + inference_flops.
    compute_optimal_params, compute_optimal_loss : inference-aware rows only: the
        compute-optimal model on the same training FLOPs, for comparison.
    """

    model_config = ConfigDict(frozen=True)

    law: str
    params: float
    tokens: float
    tokens_per_param: float
    loss: float
    flops: float
    total_flops: float
    method: Method = "compute_optimal"
    size_factor: float = 1.0
    unique_tokens: float | None = None
    epochs: float | None = None
    inference_tokens: float | None = None
    inference_flops: float | None = None
    compute_optimal_params: float | None = None
    compute_optimal_loss: float | None = None


def _row(
    law: ScalingLaw,
    n: float,
    d: float,
    loss: float,
    *,
    method: Method = "compute_optimal",
    size_factor: float = 1.0,
    unique_tokens: float | None = None,
    inference_tokens: float | None = None,
    inference_flops: float | None = None,
    compute_optimal: tuple[float, float] | None = None,
) -> OptimalAllocation:
    flops = 6.0 * n * d
    return OptimalAllocation(
        law=law.id,
        params=n,
        tokens=d,
        tokens_per_param=d / n,
        loss=loss,
        flops=flops,
        total_flops=flops + (inference_flops or 0.0),
        method=method,
        size_factor=size_factor,
        unique_tokens=unique_tokens,
        epochs=None if unique_tokens is None else d / unique_tokens,
        inference_tokens=inference_tokens,
        inference_flops=inference_flops,
        compute_optimal_params=None if compute_optimal is None else compute_optimal[0],
        compute_optimal_loss=None if compute_optimal is None else compute_optimal[1],
    )


def optimal_for_flops(
    C: float,
    law_id: str | ScalingLaw = DEFAULT_LAW,
    unique_tokens: float | None = None,
    inference_tokens: float | None = None,
) -> OptimalAllocation:
    """Best model size and token count for a training budget.

    Parameters
    ----------
    C : float
        Training compute, FLOPs.
    law_id : str or ScalingLaw
        "epoch" (default), "chinchilla", "kaplan", or a law object.
    unique_tokens : float, optional
        Unique tokens available; switches to the data-constrained optimum
        (Muennighoff et al. 2023, arXiv:2305.16264, Eq. 5).
    inference_tokens : float, optional
        Lifetime inference tokens; switches to inference-aware sizing with training FLOPs kept
        at C: the model with the least training + inference compute for the loss it reaches,
        among those whose training costs exactly C (Sardana & Frankle 2023,
        arXiv:2401.00448). Its loss is at or above the compute-optimal loss at C.

    Returns
    -------
    OptimalAllocation

    Raises
    ------
    CapacityError
        Unknown law, non-positive inputs, or both `unique_tokens` and `inference_tokens`.

    References
    ----------
    Hoffmann et al. 2022 (arXiv:2203.15556) Eq. 4; Besiroglu et al. 2024 (arXiv:2404.10102).
    """
    law = resolve_law(law_id)
    c = float(as_positive(C, "flops"))
    if unique_tokens is not None and inference_tokens is not None:
        raise CapacityError(
            "give unique_tokens or inference_tokens, not both", field="inference_tokens"
        )
    if unique_tokens is not None:
        u = float(as_positive(unique_tokens, "unique_tokens"))
        dc = compute_optimal_data_constrained(c, u, law)
        n, d = float(dc.params), float(dc.tokens)
        return _row(law, n, d, float(dc.loss), method="data_constrained", unique_tokens=u)
    if inference_tokens is not None:
        plan = inference_aware_within_budget(c, inference_tokens, law)
        return _inference_row(law, plan, float(inference_tokens))
    n, d = (float(x) for x in law.compute_optimal(c))
    return _row(law, n, d, float(law.loss(n, d)))


def _inference_row(law: ScalingLaw, plan: Any, inference_tokens: float) -> OptimalAllocation:
    n, d = float(plan.params), float(plan.train_tokens)
    c = 6.0 * n * d
    n_co, d_co = (float(x) for x in law.compute_optimal(c))
    return _row(
        law,
        n,
        d,
        float(plan.loss),
        method="inference_aware",
        inference_tokens=inference_tokens,
        inference_flops=float(plan.inference_flops),
        compute_optimal=(n_co, float(law.loss(n_co, d_co))),
    )


def alternatives(
    C: float,
    law: str | ScalingLaw = DEFAULT_LAW,
    factors: Sequence[float] = (0.25, 0.5, 2.0, 4.0),
) -> list[OptimalAllocation]:
    """Off-optimum rows on the same isoFLOP curve: N = factor * N_opt, D = C / (6 N).

    The "half-size model on twice the tokens" table: each row costs the same C FLOPs and shows
    the loss given up relative to the compute-optimal point.

    References
    ----------
    Hoffmann et al. 2022 (arXiv:2203.15556), Sec. 3.2 (isoFLOP profiles).
    """
    lw = resolve_law(law)
    c = float(as_positive(C, "flops"))
    n_opt = float(lw.compute_optimal(c)[0])
    rows = []
    for f in factors:
        n = float(as_positive(f, "factors")) * n_opt
        d = c / (6.0 * n)
        rows.append(_row(lw, n, d, float(lw.loss(n, d)), method="alternative", size_factor=f))
    return rows


def budget_for_loss(
    target: float,
    law: str | ScalingLaw = DEFAULT_LAW,
    inference_tokens: float | None = None,
) -> OptimalAllocation:
    """Cheapest training run reaching `target` loss (nats/token).

    Without inference tokens: the compute-optimal run. With them: the run with the least
    training + inference FLOPs at that loss (Sardana & Frankle 2023, arXiv:2401.00448); its
    training FLOPs are what the target costs.

    Raises CapacityError(field="target_loss") when target <= the law's irreducible loss E.

    References
    ----------
    Hoffmann et al. 2022 (arXiv:2203.15556) Eq. 4, inverted.
    """
    lw = resolve_law(law)
    if inference_tokens is not None:
        plan = inference_aware_optimal(target, inference_tokens, lw)
        return _inference_row(lw, plan, float(inference_tokens))
    c = float(lw.min_compute_for_loss(target))
    n, d = (float(x) for x in lw.compute_optimal(c))
    return _row(lw, n, d, float(lw.loss(n, d)))
