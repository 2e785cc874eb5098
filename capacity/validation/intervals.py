"""P10-P90 bands of each validated run from the other sources' held-out residuals.

A residual is log(reported / predicted speed): -log(1 + e) for a throughput error e,
log(1 + e) for an accelerator-hours error (more hours = less speed). A run's band is
built from the leave-one-source-out residuals of the *other* sources (its own source
never sets its band), among runs predicted the same way: published layout or the
planner's, framework named or unknown. Where that pool has fewer than
MIN_BAND_RESIDUALS residuals or MIN_BAND_SOURCES sources, the layout condition alone,
then all runs, are used.

The rule (`band_limits`): the empirical P10 and P90 of the pooled log-residuals, their
distance from the pool's median widened by sqrt(1 + 1/k) * t(0.9, k - 1) / z(0.9),
k = the number of sources in the pool. Residuals of one source share its reporting
and setup, so the effective sample size is the number of sources, not of rows; the
factor is the normal-theory prediction-interval correction for a new draw from k.
An accelerator family or framework that no other source has gets the band widened
by the spread between the fitted families' GEMM efficiencies (or frameworks'
shares): what the fit cannot know about it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from capacity.catalog.schemas import EfficiencyCalibration
from capacity.constants import Constant
from capacity.uncertainty import widen_for_end_to_end
from capacity.validation.predict import RowResult

MIN_BAND_RESIDUALS = Constant(
    8,
    "residuals",
    "planning choice: fewer than 8 residuals give no stable 10th/90th percentile, so the "
    "pool falls back to a broader condition",
)
MIN_BAND_SOURCES = Constant(
    4,
    "sources",
    "planning choice: residuals of fewer than 4 sources are mostly one or two papers' "
    "reporting, so the pool falls back to a broader condition",
)
_OVERHEAD = ("end_to_end_overhead", "end_to_end_overhead_p10", "end_to_end_overhead_p90")
Z_90 = 1.2815515655446004  # standard normal 0.9 quantile (pure arithmetic)


def speed_residuals(r: RowResult) -> list[float]:
    out = []
    if r.heldout_throughput_error is not None and r.counts_for_throughput:
        out.append(-math.log1p(r.heldout_throughput_error))
    if r.heldout_hours_error is not None:
        out.append(math.log1p(r.heldout_hours_error))
    return out


def _usable(r: RowResult) -> bool:
    return r.skipped_reason is None and r.confidence != "low"


def _conditions(layout_given: bool, framework_known: bool) -> list[tuple[bool | None, bool | None]]:
    """(layout given, framework known) from the narrowest to all runs."""
    return [(layout_given, framework_known), (layout_given, None), (None, None)]


def pool_for(
    rows: Sequence[RowResult],
    *,
    layout_given: bool,
    framework_known: bool,
    exclude_group: str | None = None,
) -> tuple[list[tuple[str, float]], str]:
    """(source group, residual) pairs of the narrowest condition that is wide enough,
    and that condition in words (for the interval note)."""
    others = [r for r in rows if _usable(r) and r.group != exclude_group]
    pool: list[tuple[str, float]] = []
    what = "all runs"
    for layout, known in _conditions(layout_given, framework_known):
        pool = [
            (r.group, x)
            for r in others
            if (layout is None or r.gave_layout == layout)
            and (known is None or (r.framework != "unknown") == known)
            for x in speed_residuals(r)
        ]
        parts = []
        if layout is not None:
            parts.append("published layout" if layout else "planner's layout")
        if known is not None:
            parts.append("framework named" if known else "framework unknown")
        what = ", ".join(parts) or "all runs"
        enough_sources = len({g for g, _ in pool}) >= MIN_BAND_SOURCES.value
        if len(pool) >= MIN_BAND_RESIDUALS.value and enough_sources:
            break
    return pool, what


def _pool(rows: Sequence[RowResult], target: RowResult) -> list[tuple[str, float]]:
    return pool_for(
        rows,
        layout_given=target.gave_layout,
        framework_known=target.framework != "unknown",
        exclude_group=target.group,
    )[0]


def _t90(df: int) -> float:
    """Student t 0.9 quantile, Cornish-Fisher expansion (Abramowitz & Stegun 26.7.5);
    within 1 % of the tables from 3 degrees of freedom."""
    z = Z_90
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


def band_limits(pool: Sequence[tuple[str, float]]) -> tuple[float, float]:
    """Log P10/P90 of a new source's residual from (source, residual) pairs: the
    pooled empirical quantiles, widened about the median for k sources (module doc)."""
    x = np.asarray([v for _, v in pool], dtype=float)
    k = len({g for g, _ in pool})
    med = float(np.median(x))
    lo, hi = float(np.quantile(x, 0.1)), float(np.quantile(x, 0.9))
    widen = math.sqrt(1 + 1 / k) * _t90(max(k - 1, 1)) / Z_90 if k > 1 else 1.0
    return med - (med - lo) * widen, med + (hi - med) * widen


def _spread(values: Sequence[float]) -> float:
    """Half the log range of fitted efficiencies: the widening for an unseen family."""
    vals = [v for v in values if v > 0]
    return 0.5 * math.log(max(vals) / min(vals)) if len(vals) > 1 else 0.0


def with_bands(
    rows: Sequence[RowResult],
    cal: EfficiencyCalibration,
    overhead_without: Callable[[str], tuple[float, float, float] | None] | None = None,
) -> list[RowResult]:
    """`rows` with the `_p10`/`_p90` keys filled where a prediction and a band exist.

    `overhead_without(group)`: the end-to-end overhead's (median, P10, P90) derived
    without that source, so a run's hours band, like its prediction, never uses its
    own source; None keeps the calibration's."""
    gemm_spread = _spread([g.gemm_efficiency for g in cal.gemm if g.calibrated])
    fw_spread = _spread([f.gemm_share for f in cal.frameworks if f.calibrated])
    out = []
    for r in rows:
        if r.skipped_reason is not None or r.predicted_tokens_per_s_per_gpu is None:
            out.append(r)
            continue
        pool = _pool(rows, r)
        if not pool:
            out.append(r)
            continue
        lo, hi = band_limits(pool)
        others = [o for o in rows if _usable(o) and o.group != r.group]
        widen = 0.0
        if r.accelerator not in {o.accelerator for o in others}:
            widen += gemm_spread
        if r.framework != "unknown" and r.framework not in {o.framework for o in others}:
            widen += fw_spread
        lo, hi = math.exp(lo - widen), math.exp(hi + widen)
        upd: dict[str, float] = {}
        for key in (
            "predicted_tokens_per_s_per_gpu",
            "predicted_model_tflops_per_gpu",
            "predicted_hardware_tflops_per_gpu",
            "predicted_mfu",
        ):
            value = getattr(r, key)
            if value is not None:
                upd[key + "_p10"], upd[key + "_p90"] = value * lo, value * hi
        if r.predicted_accelerator_hours is not None:
            band = overhead_without(r.group) if overhead_without is not None else None
            cal_r = (
                cal
                if band is None
                else cal.model_copy(update=dict(zip(_OVERHEAD, band, strict=True)))
            )
            h10, h90 = widen_for_end_to_end(1 / hi, 1 / lo, cal_r)  # speed band -> hours
            upd["predicted_accelerator_hours_p10"] = r.predicted_accelerator_hours * h10
            upd["predicted_accelerator_hours_p90"] = r.predicted_accelerator_hours * h90
        out.append(r.model_copy(update=upd))
    return out


def coverage(rows: Sequence[RowResult]) -> dict[str, object]:
    """Share of reported figures inside their band around the *held-out* prediction (the
    fit without the run's source), and the median band width (P90 / P10 - 1)."""

    def block(pairs: list[tuple[float, float, float]]) -> dict[str, object]:
        if not pairs:
            return {"n": 0, "coverage": None, "median_width": None}
        inside = [lo <= s <= hi for s, lo, hi in pairs]
        return {
            "n": len(pairs),
            "coverage": float(np.mean(inside)),
            "median_width": float(np.median([hi / lo - 1 for _, lo, hi in pairs])),
        }

    thr, hrs = [], []
    for r in rows:
        pred, p10, p90 = (
            r.predicted_tokens_per_s_per_gpu,
            r.predicted_tokens_per_s_per_gpu_p10,
            r.predicted_tokens_per_s_per_gpu_p90,
        )
        if not _usable(r) or pred is None or p10 is None or p90 is None:
            continue
        lo, hi = p10 / pred, p90 / pred  # reported / predicted speed
        if r.counts_for_throughput and r.heldout_throughput_error is not None:
            thr.append((1 / (1 + r.heldout_throughput_error), lo, hi))
        hours, h10, h90 = (
            r.predicted_accelerator_hours,
            r.predicted_accelerator_hours_p10,
            r.predicted_accelerator_hours_p90,
        )
        if r.heldout_hours_error is not None and hours and h10 and h90:
            # reported / predicted speed against the hours band turned into speed
            hrs.append((1 + r.heldout_hours_error, hours / h90, hours / h10))
    return {"throughput": block(thr), "hours": block(hrs)}
