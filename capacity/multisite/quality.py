"""DiLoCo's quality cost against synchronous training, from the papers' published tables,
turned into a token efficiency (hence extra tokens) on the Epoch scaling law."""

from __future__ import annotations

import math

import numpy as np

from capacity.constants import Constant
from capacity.scaling.parametric import EPOCH

# DiLoCo's eval loss against data-parallel at equal tokens, H = 30, in percent, by model
# size and replicas M: Charles et al. 2025 (arXiv:2503.09799) Table 4 (35M-2.4B) and
# Table 5 (4B, 10B: the losses, turned into percentages here).
PENALTY_SOURCE = (
    "Charles et al. 2025 (arXiv:2503.09799) Tables 4-5: DiLoCo vs data-parallel eval loss, H=30"
)
PENALTY_PARAMS = (35e6, 90e6, 180e6, 335e6, 550e6, 1.3e9, 2.4e9, 4e9, 10e9)
PENALTY_PCT_H30: dict[int, tuple[float, ...]] = {
    2: (0.7, 0.5, 0.3, 0.1, 0.2, 0.2, -0.1, (2.220 / 2.224 - 1) * 100, (2.086 / 2.090 - 1) * 100),
    4: (2.0, 1.5, 1.1, 0.9, 0.7, 0.5, 0.3, (2.230 / 2.224 - 1) * 100, (2.096 / 2.090 - 1) * 100),
    8: (3.9, 3.1, 2.3, 2.0, 1.7, 1.3, 1.1),  # no 4B/10B run at M = 8
}
# Going from H = 30 to H = 100 at 1B costs this much more loss (percent), by M:
# Streaming DiLoCo (arXiv:2501.18512) Table 6, 2.48 -> 2.50 (M=2), 2.50 -> 2.53 (M=4).
H_SOURCE = "Streaming DiLoCo (arXiv:2501.18512) Table 6: 1B, H=30 vs H=100"
H_LOW, H_HIGH = 30, 100
H_PENALTY_PCT: dict[int, float] = {2: (2.50 / 2.48 - 1) * 100, 4: (2.53 / 2.50 - 1) * 100}

TOKENS_PER_PARAM_OF_TABLES = Constant(
    20,
    "tokens/parameter",
    "assumption: the scaling-law runs of arXiv:2503.09799 are read as compute-optimal "
    "(Chinchilla's ~20 tokens per parameter, Hoffmann et al. 2022)",
)


def _interp_log(x: float, xs: tuple[float, ...], ys: tuple[float, ...]) -> float:
    return float(np.interp(math.log(x), [math.log(v) for v in xs], ys))


def quality_penalty_pct(
    params: float, replicas: int, inner_steps: int
) -> tuple[float, bool, list[str]]:
    """DiLoCo's loss above synchronous data parallel at equal tokens (percent), whether the
    point lies inside the published tables, and what was extrapolated."""
    notes: list[str] = []
    in_range = True
    m = replicas
    ms = sorted(PENALTY_PCT_H30)
    if m > ms[-1]:
        notes.append(
            f"{m} replicas is beyond the published M <= {ms[-1]}: the M={ms[-1]} row is used"
        )
        in_range = False
        m = ms[-1]

    def at(mm: int) -> float:
        row = PENALTY_PCT_H30[mm]
        xs = PENALTY_PARAMS[: len(row)]
        nonlocal in_range
        if not xs[0] <= params <= xs[-1]:
            in_range = False
            notes.append(
                f"{params / 1e9:.3g}B parameters is outside the published {xs[0] / 1e6:.0f}M-"
                f"{xs[-1] / 1e9:.3g}B at M={mm}: the nearest size is used (the gap shrinks "
                "with size in the tables)"
            )
        return _interp_log(min(max(params, xs[0]), xs[-1]), xs, row)

    if m in PENALTY_PCT_H30:
        base = at(m)
    else:  # M = 3, 5, 6, 7: interpolate in log M between the published rows
        lo = max(k for k in ms if k < m)
        hi = min(k for k in ms if k > m)
        w = math.log(m / lo) / math.log(hi / lo)
        base = (1 - w) * at(lo) + w * at(hi)
    # H: the tables are at H=30; Streaming DiLoCo Table 6 gives the step to H=100
    slope = float(
        np.interp(
            math.log2(m),
            [math.log2(k) for k in sorted(H_PENALTY_PCT)],
            [H_PENALTY_PCT[k] for k in sorted(H_PENALTY_PCT)],
        )
    )
    if m > max(H_PENALTY_PCT):
        top = max(H_PENALTY_PCT)
        notes.append(f"the H sensitivity is published for M <= {top}; M={top}'s is used")
        in_range = False
    h_extra = 0.0
    if inner_steps > H_LOW:
        h_extra = slope * math.log(inner_steps / H_LOW) / math.log(H_HIGH / H_LOW)
        if inner_steps > H_HIGH:
            in_range = False
            notes.append(
                f"H={inner_steps} is beyond the published H <= {H_HIGH}: the H=30->100 step "
                "is extrapolated in log H"
            )
    return base + h_extra, in_range, notes


def token_efficiency(params: float, penalty_pct: float) -> float:
    """DiLoCo's tokens worth of synchronous training, per token (eta <= 1).

    The penalty is read where the tables measured it, near the compute-optimal
    TOKENS_PER_PARAM_OF_TABLES, on the Epoch law: DiLoCo after D tokens is where
    synchronous training is after eta D. The same eta is applied to the run's tokens.
    """
    if penalty_pct <= 0:
        return 1.0
    ref = TOKENS_PER_PARAM_OF_TABLES.value * params
    dp_loss = float(EPOCH.loss(params, ref))
    reached = float(EPOCH.tokens_for_loss(params, dp_loss * (1 + penalty_pct / 100)))
    return reached / ref if math.isfinite(reached) and reached > 0 else 0.0


def extra_tokens_for_same_loss(params: float, tokens: float, penalty_pct: float) -> float:
    """Tokens beyond `tokens` for DiLoCo to reach synchronous training's loss."""
    eta = token_efficiency(params, penalty_pct)
    return math.inf if eta <= 0 else tokens / eta - tokens


# -- the estimate ----------------------------------------------------------------------
