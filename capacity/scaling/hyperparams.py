"""Compute-optimal hyperparameters and allocation from DeepSeek LLM's scaling study.

DeepSeek-AI 2024, Eq. 1: eta_opt = 0.3118 C^-0.1250, B_opt = 0.2920 C^0.3271 (batch in
tokens), fitted on budgets 1e17-3e20 FLOPs. Eq. 4: M_opt = 0.1715 C^0.5243,
D_opt = 5.8316 C^0.4757, where M is non-embedding FLOPs per token (attention included, so
C = M D rather than 6 N D; M ≈ 6 N for short sequences).

References
----------
DeepSeek-AI 2024, "DeepSeek LLM: Scaling Open-Source Language Models with Longtermism",
arXiv:2401.02954.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict

from capacity.scaling.parametric import FloatOrArray, as_positive, out

DEEPSEEK_SOURCE = "DeepSeek-AI 2024 (arXiv:2401.02954)"
DEEPSEEK_LR_COEF, DEEPSEEK_LR_EXP = 0.3118, -0.1250  # Eq. 1, eta_opt
DEEPSEEK_BATCH_COEF, DEEPSEEK_BATCH_EXP = 0.2920, 0.3271  # Eq. 1, B_opt in tokens
DEEPSEEK_FIT_RANGE = (1e17, 3e20)  # FLOPs spanned by the Eq. 1 fit (Sec. 3.1)
DEEPSEEK_M_COEF, DEEPSEEK_M_EXP = 0.1715, 0.5243  # Eq. 4, M_opt (non-embedding FLOPs/token)
DEEPSEEK_D_COEF, DEEPSEEK_D_EXP = 5.8316, 0.4757  # Eq. 4, D_opt (tokens)


class HyperparameterEstimate(BaseModel):
    """Near-optimal peak learning rate and global batch size for a compute budget.

    Attributes
    ----------
    flops : training compute C, FLOPs.
    learning_rate : peak learning rate eta_opt (AdamW, DeepSeek's warmup + step schedule).
    batch_tokens : global batch size B_opt, tokens.
    extrapolated : True when C lies outside the 1e17-3e20 FLOPs range of the fit.
    source, validity : provenance and range.
    """

    model_config = ConfigDict(frozen=True)

    flops: float
    learning_rate: float
    batch_tokens: float
    extrapolated: bool
    source: str
    validity: str


def deepseek_learning_rate(C: npt.ArrayLike) -> FloatOrArray:
    """eta_opt = 0.3118 C^-0.1250 for C FLOPs (DeepSeek-AI 2024, Eq. 1)."""
    return out(DEEPSEEK_LR_COEF * as_positive(C, "flops") ** DEEPSEEK_LR_EXP)


def deepseek_batch_tokens(C: npt.ArrayLike) -> FloatOrArray:
    """B_opt = 0.2920 C^0.3271 tokens for C FLOPs (DeepSeek-AI 2024, Eq. 1)."""
    return out(DEEPSEEK_BATCH_COEF * as_positive(C, "flops") ** DEEPSEEK_BATCH_EXP)


def deepseek_hyperparams(C: float) -> HyperparameterEstimate:
    """Peak learning rate and batch size (tokens) for a training budget of C FLOPs.

    Parameters
    ----------
    C : float
        Training compute, FLOPs.

    Returns
    -------
    HyperparameterEstimate
        `extrapolated` is set outside the fitted 1e17-3e20 FLOPs.

    References
    ----------
    DeepSeek-AI 2024 (arXiv:2401.02954), Sec. 3.1, Eq. 1 and Fig. 3.
    """
    c = float(as_positive(C, "flops"))
    lo, hi = DEEPSEEK_FIT_RANGE
    return HyperparameterEstimate(
        flops=c,
        learning_rate=float(deepseek_learning_rate(c)),
        batch_tokens=float(deepseek_batch_tokens(c)),
        extrapolated=not (lo <= c <= hi),
        source=f"{DEEPSEEK_SOURCE} Sec. 3.1 Eq. 1",
        validity=f"fitted on {lo:.0e}-{hi:.0e} FLOPs; broad near-optimal basin (Fig. 3)",
    )


def deepseek_allocation(C: npt.ArrayLike) -> tuple[FloatOrArray, FloatOrArray]:
    """DeepSeek's compute-optimal allocation (M_opt, D_opt) for C = M D FLOPs.

    Parameters
    ----------
    C : array_like
        Training compute, FLOPs.

    Returns
    -------
    (M_opt, D_opt)
        Non-embedding FLOPs per token (≈ 6 N_non-embedding plus attention) and tokens.

    References
    ----------
    DeepSeek-AI 2024 (arXiv:2401.02954), Sec. 3.2, Eq. 4.
    """
    c = as_positive(C, "flops")
    return (
        out(DEEPSEEK_M_COEF * c**DEEPSEEK_M_EXP),
        out(DEEPSEEK_D_COEF * c**DEEPSEEK_D_EXP),
    )


def deepseek_params_estimate(C: npt.ArrayLike) -> FloatOrArray:
    """Rough non-embedding parameter count M_opt/6 (ignores the attention term of M)."""
    return out(np.asarray(deepseek_allocation(C)[0]) / 6.0)
