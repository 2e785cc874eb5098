"""The fit's problem: which runs it uses and the vectorised log-ratio objective.

Fit rows are concatenated into one `Work` (each row's plausible winning layouts,
see `prune`), so one `step_times` call evaluates the objective for every row.
Public names are re-exported by `capacity.validation.fit`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from capacity.catalog.schemas import REFERENCE_FRAMEWORK, EfficiencyCalibration
from capacity.catalog.schemas.other_kinds import TP_OVERLAP_CODES
from capacity.planner.hardware import TimeParams, time_params
from capacity.planner.search import with_overlaps
from capacity.planner.step_time import step_times
from capacity.planner.work import Work
from capacity.validation.predict import (
    Prepared,
    hours_reference_tokens_per_s,
    reported_tokens_per_s,
)

Arr = npt.NDArray[np.float64]

# name: (lower, upper) bounds of the physically meaningful range
SHARED_BOUNDS: dict[str, tuple[float, float]] = {
    "gemm_memory_exposure": (0.0, 1.0),
    "flash_attention_fraction": (0.2, 1.0),
    "dp_overlap_fraction": (0.0, 1.0),
}
GEMM_BOUNDS = (0.3, 1.0)
# a framework's share of the reference (Megatron-LM) GEMM efficiency: from half to 1.5x
# (research sheet software_stacks_2026-12.md: stacks on the same GPUs differ by 0.5-1.8x)
FRAMEWORK_BOUNDS = (0.5, 1.5)
UNFITTED_FRAMEWORKS = (REFERENCE_FRAMEWORK, "unknown")


def _uses_throughput(p: Prepared) -> bool:
    return p.run.has_throughput and p.run.throughput_duplicate_of is None


def _uses_hours(p: Prepared) -> bool:
    return hours_reference_tokens_per_s(p) is not None


def fit_rows(prepared: Sequence[Prepared]) -> list[Prepared]:
    """Rows the fit may use: a published layout and GPU count, not low confidence, a
    figure to match.

    Runs without a published layout are predicted with the planner's optimum, which no
    real run is held to; runs without a published GPU count are timed on an assumed one
    (e.g. DeepSeek-V2's PP16 EP8 on 1,024 GPUs). Both are validation only, so they
    cannot bend the physics.
    """
    return [
        p
        for p in prepared
        if p.run.gave_layout
        and p.run.gave_gpu_count
        and p.run.confidence != "low"
        and (_uses_throughput(p) or _uses_hours(p))
    ]


@dataclasses.dataclass(frozen=True)
class Problem:
    """All fit rows' candidates concatenated, with what the objective needs."""

    work: Work
    starts: npt.NDArray[np.int64]  # first candidate of each row
    family: npt.NDArray[np.int64]  # gemm family index per candidate
    families: tuple[str, ...]
    fw: npt.NDArray[np.int64]  # framework family index per candidate
    fw_families: tuple[str, ...]
    tp_overlap: Arr  # per candidate: TP traffic its framework hides (TP_OVERLAP_CODES)
    dp_overlap: Arr  # per candidate: 1 where its framework overlaps DP traffic, else 0
    n_gpus: Arr  # per row
    reference: Arr  # reported tokens/s per GPU per row (per candidate's recompute)
    ids: tuple[str, ...]


PRUNE_DRAWS = 24  # random parameter sets used to keep each row's plausible winners
PRUNE_KEEP = 16  # best candidates kept per draw


def prune(rows: Sequence[Prepared], cal: EfficiencyCalibration) -> list[Prepared]:
    """Keep, per row, the candidates that win under some parameter set within the bounds.

    The planner's choice moves with the parameters, but only among a few layouts;
    keeping the best PRUNE_KEEP under PRUNE_DRAWS random draws (and the current
    calibration) makes each objective evaluation cheap without changing the optimum.
    """
    rng = np.random.default_rng(0)
    out = []
    for p in rows:
        base = with_overlaps(
            time_params(cal, p.request.system.accelerator.id)[0],
            p.request.tp_overlap,
            p.request.dp_overlap,
        )
        draws = [base]
        for _ in range(PRUNE_DRAWS):
            draws.append(
                dataclasses.replace(
                    base,
                    gemm_efficiency=rng.uniform(*GEMM_BOUNDS),
                    **{k: rng.uniform(*b) for k, b in SHARED_BOUNDS.items()},
                )
            )
            if not p.request.dp_overlap:
                draws[-1] = dataclasses.replace(draws[-1], dp_overlap_fraction=0.0)
        keep: set[int] = set()
        for params in draws:
            tps = step_times(p.work, params).tokens_per_s
            keep.update(np.argsort(-tps)[:PRUNE_KEEP].tolist())
        idx = np.array(sorted(keep))
        out.append(dataclasses.replace(p, candidates=p.candidates.take(idx), work=p.work.take(idx)))
    return out


def build_problem(rows: Sequence[Prepared], overhead: float = 1.0) -> Problem:
    """One term per reported figure: a run with a throughput and hours gives two terms."""
    families = tuple(sorted({p.family for p in rows}))
    fw_families = tuple(sorted({p.framework for p in rows}))
    works, fam, fws, refs, starts, ids, overlap, dp_on = [], [], [], [], [], [], [], []
    start = 0
    for p in rows:
        n = len(p.candidates)
        terms = []
        if _uses_throughput(p):
            # tokens/s per GPU per candidate (a hardware-FLOP basis depends on its recompute)
            terms.append(
                np.array([_reported(p, int(rc)) for rc in p.candidates.recompute], dtype=float)
            )
        hours_ref = hours_reference_tokens_per_s(p, overhead)
        if hours_ref is not None:
            terms.append(np.full(n, hours_ref))
        for ref in terms:
            starts.append(start)
            start += n
            works.append(p.work)
            fam.append(np.full(n, families.index(p.family)))
            fws.append(np.full(n, fw_families.index(p.framework)))
            overlap.append(np.full(n, TP_OVERLAP_CODES[p.request.tp_overlap]))
            dp_on.append(np.full(n, float(p.request.dp_overlap)))
            refs.append(ref)
            ids.append(p.run.id)
    return Problem(
        work=Work.concat(works),
        starts=np.array(starts),
        family=np.concatenate(fam),
        families=families,
        fw=np.concatenate(fws),
        fw_families=fw_families,
        tp_overlap=np.concatenate(overlap),
        dp_overlap=np.concatenate(dp_on),
        n_gpus=np.array([1.0]),
        reference=np.concatenate(refs),
        ids=tuple(ids),
    )


def _reported(p: Prepared, recompute: int) -> float:
    ref = reported_tokens_per_s(p, recompute)
    assert ref is not None
    return ref[0]


def framework_shares(theta: dict[str, float], families: Sequence[str]) -> list[float]:
    """GEMM share per framework family: fitted, 1 for the reference, else the geometric
    mean of the fitted ones (as `EfficiencyCalibration.framework_share`)."""
    fitted = {k[3:]: v for k, v in theta.items() if k.startswith("fw:")}
    mean = float(np.exp(np.mean([0.0] + [np.log(v) for v in fitted.values()])))
    return [fitted.get(f, 1.0 if f == REFERENCE_FRAMEWORK else mean) for f in families]


def _params(theta: dict[str, float], prob: Problem, base: TimeParams) -> TimeParams:
    gemm = np.array([theta[f"gemm:{f}"] for f in prob.families])[prob.family]
    share = np.array(framework_shares(theta, prob.fw_families))[prob.fw]
    shared: dict[str, float | Arr] = {k: theta[k] for k in SHARED_BOUNDS}
    shared["dp_overlap_fraction"] = theta["dp_overlap_fraction"] * prob.dp_overlap
    return dataclasses.replace(
        base,
        gemm_efficiency=gemm,
        framework_gemm_share=share,
        tp_overlap=prob.tp_overlap,
        **shared,
    )


def log_ratios(theta: dict[str, float], prob: Problem, base: TimeParams) -> Arr:
    """log(predicted / reported) per row, with the planner's best candidate per row."""
    t = step_times(prob.work, _params(theta, prob, base))
    tps = t.tokens_per_s / prob.work.n_gpus
    best = np.maximum.reduceat(tps, prob.starts)
    # reference of the chosen candidate (its recompute fixes the hardware-FLOP basis)
    is_best = tps == np.repeat(best, np.diff(np.append(prob.starts, len(tps))))
    idx = np.flatnonzero(is_best)
    first = np.searchsorted(idx, prob.starts)
    ref = prob.reference[idx[first]]
    return np.asarray(np.log(best / ref))
