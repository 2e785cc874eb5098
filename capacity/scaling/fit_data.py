"""Runs for `capacity.scaling.fit`: validation, packing, identifiability checks and the
seed-to-seed spread. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from capacity import fmt
from capacity.errors import CapacityError
from capacity.scaling.parametric import FloatArray, as_positive

MIN_SIZES = 3  # fewer distinct model sizes cannot separate E from A/N^alpha
MIN_RUNS = 6  # five parameters need more than five runs
MAX_RUNS = 5_000  # a ladder has tens of runs; this bounds memory (bootstraps x runs arrays)
MIN_LOSS_SPREAD = 0.03  # (max - min)/min of the losses; below this the curvature is noise
COLLINEAR_R = 0.995  # |corr(ln N, ln D)| above this: one tokens/param ratio, alpha ~ beta


@dataclass(frozen=True)
class RunData:
    """The runs to fit: parameters, tokens and final loss per run (1-d, same length)."""

    params: FloatArray
    tokens: FloatArray
    loss: FloatArray
    run_ids: tuple[str, ...]


def run_data(
    params: npt.ArrayLike,
    tokens: npt.ArrayLike,
    loss: npt.ArrayLike,
    run_ids: Sequence[str] | None = None,
) -> RunData:
    """Validate and pack runs; CapacityError naming the field on non-positive values."""
    n, d, lo = (
        np.atleast_1d(as_positive(v, f))
        for v, f in ((params, "params"), (tokens, "tokens"), (loss, "loss"))
    )
    if not (n.shape == d.shape == lo.shape) or n.ndim != 1:
        raise CapacityError("params, tokens and loss need one value per run", field="runs")
    if n.size > MAX_RUNS:
        raise CapacityError(
            f"{n.size:,} runs: at most {MAX_RUNS:,} (a ladder has tens)", field="runs"
        )
    ids = tuple(run_ids) if run_ids is not None else tuple(f"run{i + 1}" for i in range(n.size))
    if len(ids) != n.size:
        raise CapacityError("one run id per run", field="run_id")
    return RunData(params=n, tokens=d, loss=lo, run_ids=ids)


def identifiability(data: RunData) -> tuple[list[str], list[str]]:
    """(refusals, warnings) about whether the runs can pin down E, A, B, alpha and beta.

    Each message says what is missing and which runs would help.
    """
    refuse: list[str] = []
    warn: list[str] = []
    n, d, lo = data.params, data.tokens, data.loss
    sizes = np.unique(np.round(np.log(n), 3))
    budgets = np.unique(np.round(np.log(d), 3))
    n_sorted = np.sort(np.exp(sizes))
    if n.size < MIN_RUNS:
        refuse.append(
            f"{n.size} runs for 5 constants: need at least {MIN_RUNS}; run each size at a "
            "second token budget"
        )
    if sizes.size < MIN_SIZES:
        refuse.append(
            f"{sizes.size} distinct model size(s): need at least {MIN_SIZES} to separate E from "
            f"A/N^alpha; add sizes between {fmt.count(n_sorted[0] / 4)} and "
            f"{fmt.count(n_sorted[-1] * 2)}"
        )
    elif sizes.size < 5:
        warn.append(
            f"only {sizes.size} distinct model sizes: alpha and E trade off; 5-6 sizes spaced "
            "~2x apart identify them"
        )
    if budgets.size < 2:
        refuse.append(
            f"one token budget ({fmt.count(float(d[0]))} tokens) for every run: B and beta "
            "cannot be "
            f"fitted; rerun some sizes at {fmt.count(float(d[0]) * 4)} tokens"
        )
    elif n.size >= 3 and np.std(np.log(n)) > 0 and np.std(np.log(d)) > 0:
        corr = float(np.corrcoef(np.log(n), np.log(d))[0, 1])
        if abs(corr) > COLLINEAR_R:
            ratio = float(np.median(d / n))
            refuse.append(
                f"every run has the same ~{ratio:.0f} tokens/param (corr(ln N, ln D) = "
                f"{corr:.3f}): size and data effects cannot be told apart; add runs at "
                f"{ratio / 4:.0f} and {ratio * 4:.0f} tokens/param"
            )
    spread = float((lo.max() - lo.min()) / lo.min())
    if spread < MIN_LOSS_SPREAD:
        refuse.append(
            f"losses span only {spread:.1%} ({lo.min():.3f}-{lo.max():.3f}): too narrow to fit "
            "a curve; widen the ladder (a 4x smaller and a 4x larger size)"
        )
    elif spread < 3 * MIN_LOSS_SPREAD:
        warn.append(f"losses span only {spread:.1%}: the constants will be loose")
    for s in np.exp(sizes):
        at = np.isclose(np.log(n), np.log(s), atol=1e-3)
        if np.unique(np.round(np.log(d[at]), 3)).size < 2 and budgets.size >= 2 and sizes.size <= 4:
            warn.append(
                f"size {fmt.count(float(s))} has one token budget: a second one tightens beta"
            )
            break
    return refuse, warn


def seed_noise(data: RunData) -> tuple[float, int] | None:
    """Seed-to-seed spread of the loss: pooled SD of log-loss over configurations run more
    than once (same N and D), and how many such configurations; None without repeats."""
    key = np.round(np.log(data.params), 4) * 1e3 + np.round(np.log(data.tokens), 4)
    _, inv, counts = np.unique(key, return_inverse=True, return_counts=True)
    rep = counts[inv] > 1
    if not rep.any():
        return None
    logl = np.log(data.loss)
    means = np.bincount(inv, weights=logl) / counts
    resid = (logl - means[inv])[rep]
    dof = int(np.sum(counts[counts > 1] - 1))
    return float(np.sqrt(np.sum(resid**2) / dof)), int(np.sum(counts > 1))
