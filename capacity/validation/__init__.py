"""Validation of the step-time model against published training runs, and its calibration.

`validate(runs, catalog)` predicts every run, compares with what was reported
and summarises the errors (in-fit and held out by source group, with the naive
`6 N D at 40 % MFU` rule alongside). `calibrate(runs, catalog)` refits the
efficiencies and returns a new `EfficiencyCalibration` with provenance and the
residual bands used for intervals.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections import Counter
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict

from capacity.catalog.loader import Catalog
from capacity.catalog.schemas import EfficiencyCalibration, ResidualBand
from capacity.errors import CapacityError
from capacity.validation import fit as fitting
from capacity.validation.intervals import band_limits, coverage, pool_for, with_bands
from capacity.validation.predict import (
    Prepared,
    RowResult,
    end_to_end_ratio,
    evaluate_row,
    group_of,
    params_of,
    prepare_all,
    skipped_row,
)
from capacity.validation.runs import PublishedRun
from capacity.validation.summary import LOSO_TARGETS, loso_groups, loso_meets, summarize


class Validation(BaseModel):
    model_config = ConfigDict(frozen=True)

    rows: tuple[RowResult, ...]
    summary: dict[str, object]
    calibration_id: str

    def to_json(self) -> dict[str, object]:
        return {"rows": [r.to_json() for r in self.rows], "summary": self.summary}


def _group(p: Prepared) -> str:
    return group_of(p.run)


def calibration_of(catalog: Catalog) -> EfficiencyCalibration:
    cal = catalog.efficiency.get("calibration")
    if cal is None:
        raise CapacityError(
            "the catalog has no efficiency/calibration.toml (run `capacity validate --fit`)",
            field="catalog",
        )
    return cal


def validate(
    runs: Sequence[PublishedRun],
    catalog: Catalog,
    cal: EfficiencyCalibration | None = None,
    *,
    heldout: bool = True,
) -> Validation:
    """Predict every run with `cal` (default: the catalog's) and score the predictions."""
    cal = cal or calibration_of(catalog)
    ready, skipped = prepare_all(tuple(runs), catalog, cal)
    in_fit = {p.run.id for p in fitting.fit_rows(ready)} & set(cal.fit_rows)
    practical = cal.planner_practical_efficiency
    k = cal.end_to_end_overhead
    results = {p.run.id: evaluate_row(p, params_of(p, cal), practical, k) for p in ready}
    held: dict[str, RowResult] = {}
    if heldout and len(fitting.fit_rows(ready)) > 1:

        def k_without(g: str) -> float:
            # the end-to-end overhead is also re-derived without the group's own runs
            if k == 1.0:
                return 1.0
            derived = end_to_end_overhead(ready, exclude=g)
            return 1.0 if derived is None else derived[0]

        theta = fitting.theta_of(cal, sorted({p.family for p in ready}))
        thetas = fitting.heldout(ready, cal, theta, _group, k_without)
        for g in sorted({_group(p) for p in ready}):
            k_g = k_without(g)
            # the practical efficiency is also re-derived without the group's own runs
            others = [evaluate_row(p, params_of(p, cal), 1.0, k_g) for p in ready if _group(p) != g]
            prac = practical if practical == 1.0 else practical_efficiency(others)
            cal_g = fitting.calibration_for(cal, thetas[g]) if g in thetas else cal
            for p in ready:
                if _group(p) == g and (g in thetas or not p.run.gave_layout):
                    held[p.run.id] = evaluate_row(p, params_of(p, cal_g), prac, k_g)
    rows = []
    for run in runs:
        if run.id in skipped:
            rows.append(skipped_row(run, skipped[run.id]))
            continue
        r = results[run.id]
        h = held.get(run.id, r)
        rows.append(
            r.model_copy(
                update={
                    "in_fit": run.id in in_fit,
                    "heldout_throughput_error": h.throughput_error,
                    "heldout_hours_error": h.hours_error,
                }
            )
        )

    def band_without(g: str) -> tuple[float, float, float] | None:
        if not heldout or cal.end_to_end_overhead == 1.0:
            return None
        derived = end_to_end_overhead(ready, exclude=g)
        return None if derived is None else derived[:3]

    rows = with_bands(rows, cal, band_without)
    summary = summarize(rows)
    loso = loso_groups(rows)
    bands = coverage(rows)
    summary["heldout"] = bool(held)  # False: the "held-out" figures are the fit's own
    summary["loso"] = loso
    summary["bands"] = bands
    summary["loso_targets"] = dict(LOSO_TARGETS)
    summary["loso_meets"] = loso_meets(loso, bands)
    return Validation(rows=tuple(rows), summary=summary, calibration_id=cal.id)


def calibrate(
    runs: Sequence[PublishedRun], catalog: Catalog, today: dt.date
) -> tuple[EfficiencyCalibration, Validation]:
    """Refit the catalog's calibration on `runs`; return it and its validation."""
    cal = calibration_of(catalog)
    ready, _ = prepare_all(tuple(runs), catalog, cal)
    rows = fitting.fit_rows(ready)
    if not rows:
        raise CapacityError("no run with a throughput figure to fit on", field="runs")
    overhead = end_to_end_overhead(ready)
    theta = fitting.fit_theta(rows, cal, overhead=overhead[0] if overhead else 1.0)
    fit_ids = [p.run.id for p in rows]
    counts = dict(Counter(p.framework for p in rows))
    sources: dict[str, set[str]] = {}
    for p in rows:
        sources.setdefault(p.family, set()).add(_group(p))
    broad = [f for f, groups in sources.items() if len(groups) > 1]
    anchors = {
        f: ([p.run.id for p in rows if p.family == f], len(groups)) for f, groups in sources.items()
    }
    # the three stages share the fit; each adds what the previous one's validation derives
    apply = functools.partial(
        fitting.apply_theta,
        cal,
        theta,
        fit_ids=fit_ids,
        today=today,
        framework_counts=counts,
        default_from=broad,
        overhead=overhead,
    )
    raw = validate(runs, catalog, apply(), heldout=False)
    planner_rows = [r for r in raw.rows if not r.gave_layout]
    practical = (practical_efficiency(planner_rows), planner_ids(planner_rows))
    val = validate(runs, catalog, apply(practical=practical, family_anchors=anchors))
    final = apply(
        practical=practical, family_anchors=anchors, residuals=residual_bands(val.rows, today)
    )
    return final, val.model_copy(update={"calibration_id": final.id})


def end_to_end_overhead(
    ready: Sequence[Prepared], exclude: str | None = None
) -> tuple[float, float, float, list[str]] | None:
    """Median, P10 and P90 of whole-run over steady-state hours, over the runs (not of
    source `exclude`) that publish both a steady-state rate and their total hours; None
    when there is none. At least 1: a run cannot take fewer hours than its steps.

    The P10-P90 follow the throughput bands' rule (`intervals.band_limits`): the
    ratios of one source share its accounting, so the band is widened for the number
    of sources, not of runs. With a single source there is no spread to measure: the
    band reaches from the physical floor (no overhead) to the median's mirror image."""
    pairs = [
        (p.run.id, _group(p), x)
        for p in ready
        if _group(p) != exclude and (x := end_to_end_ratio(p)) is not None
    ]
    if not pairs:
        return None
    logs = [(g, math.log(max(x, 1.0))) for _, g, x in pairs]
    mid = float(np.median([v for _, v in logs]))
    if len({g for g, _ in logs}) > 1:
        lo, hi = band_limits(logs)
    else:
        lo, hi = 0.0, 2 * mid
    return math.exp(mid), math.exp(max(lo, 0.0)), math.exp(max(hi, mid)), [i for i, _, _ in pairs]


def _usable(rows: Sequence[RowResult]) -> list[RowResult]:
    return [
        r for r in rows if r.skipped_reason is None and r.confidence != "low" and not r.gave_layout
    ]


def planner_ids(rows: Sequence[RowResult]) -> list[str]:
    return [r.id for r in _usable(rows)]


def practical_efficiency(rows: Sequence[RowResult]) -> float:
    """Median reported / predicted throughput of runs predicted at the planner's optimum.

    Runs that publish no layout (Llama 1/2, OLMo 3...) ran slower than the fastest layout
    the planner finds: framework defaults, untuned layouts, data loading, evaluation. One
    global number (at most 1) carries that gap into estimates whose layout the planner
    picks. Throughput errors give reported / predicted = 1 / (1 + e); hours errors give
    predicted / reported hours = 1 + e. Returns 1 when no such run exists.
    """
    logs = []
    for r in _usable(rows):
        if r.throughput_error is not None and r.counts_for_throughput:
            logs.append(-float(np.log1p(r.throughput_error)))
        if r.hours_error is not None:
            logs.append(float(np.log1p(r.hours_error)))
    if not logs:
        return 1.0
    return min(1.0, round(float(np.exp(np.median(logs))), 4))


def residual_bands(rows: Sequence[RowResult], today: dt.date) -> list[ResidualBand]:
    """P10/P90 of reported / predicted time from held-out errors (not low confidence).

    "planner": runs predicted with the planner's layout (used when an estimate lets the
    planner choose); "layout": runs predicted with their published layout (used when
    the layout is fixed); each with "-framework" for runs whose framework is named
    (used when the estimate names one). These are pooled and widened by the same rule
    as validation's per-row bands (`intervals.band_limits`, `intervals.pool_for`), so
    an estimate carries the band whose coverage validation measured.
    "measured": predictions re-anchored on another run of the same source (used with
    a measured step time).
    """
    ok = [r for r in rows if r.skipped_reason is None and r.confidence != "low"]

    by_group: dict[str, list[float]] = {}
    for r in ok:
        if r.throughput_error is not None and r.counts_for_throughput:
            by_group.setdefault(r.group, []).append(float(np.log(1 + r.throughput_error)))
    anchored = [b - a for errs in by_group.values() for a in errs for b in errs if len(errs) > 1]
    anchored = [x for x in anchored if x != 0.0] or [0.0]
    out = []
    for layout_given, band_id in ((False, "planner"), (True, "layout")):
        for known in (False, True):
            pool, what = pool_for(ok, layout_given=layout_given, framework_known=known)
            # a pool that fell back past the framework condition is the layout band's
            if pool and (not known or "framework named" in what):
                lo, hi = band_limits(pool)  # log reported / predicted speed
                out.append(
                    fitting.residual_band_from_limits(
                        band_id + ("-framework" if known else ""),
                        (-hi, -lo),
                        len(pool),
                        today,
                        f"held-out runs ({what}), widened for {len({g for g, _ in pool})} sources",
                    )
                )
    out.append(
        fitting.residual_band(
            "measured", anchored, today, "step time re-anchored on another run of the same source"
        )
    )
    return out
