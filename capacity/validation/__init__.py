"""Validation of the step-time model against published training runs, and its calibration.

`validate(runs, catalog)` predicts every run, compares with what was reported
and summarises the errors (in-fit and held out by source group, with the naive
`6 N D at 40 % MFU` rule alongside). `calibrate(runs, catalog)` refits the
efficiencies and returns a new `EfficiencyCalibration` with provenance and the
residual bands used for intervals.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict

from capacity.catalog.loader import Catalog
from capacity.catalog.schemas import EfficiencyCalibration, ResidualBand
from capacity.errors import CapacityError
from capacity.validation import fit as fitting
from capacity.validation.predict import (
    Prepared,
    RowResult,
    evaluate_row,
    group_of,
    params_of,
    prepare_all,
    skipped_row,
)
from capacity.validation.runs import PublishedRun
from capacity.validation.summary import summarize


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
    results: dict[str, RowResult] = {}
    for p in ready:
        results[p.run.id] = evaluate_row(p, params_of(p, cal))
    held: dict[str, RowResult] = {}
    if heldout and len(fitting.fit_rows(ready)) > 1:
        theta = fitting.theta_of(cal, sorted({p.family for p in ready}))
        for g, th in fitting.heldout(ready, cal, theta, _group).items():
            cal_g = fitting.calibration_for(cal, th)
            for p in ready:
                if _group(p) == g:
                    held[p.run.id] = evaluate_row(p, params_of(p, cal_g))
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
    return Validation(rows=tuple(rows), summary=summarize(rows), calibration_id=cal.id)


def calibrate(
    runs: Sequence[PublishedRun], catalog: Catalog, today: dt.date
) -> tuple[EfficiencyCalibration, Validation]:
    """Refit the catalog's calibration on `runs`; return it and its validation."""
    cal = calibration_of(catalog)
    ready, _ = prepare_all(tuple(runs), catalog, cal)
    rows = fitting.fit_rows(ready)
    if not rows:
        raise CapacityError("no run with a throughput figure to fit on", field="runs")
    theta = fitting.fit_theta(rows, cal)
    fitted = fitting.apply_theta(cal, theta, fit_ids=[p.run.id for p in rows], today=today)
    val = validate(runs, catalog, fitted)
    bands = residual_bands(val.rows, today)
    final = fitting.apply_theta(
        cal, theta, fit_ids=[p.run.id for p in rows], today=today, residuals=bands
    )
    return final, val.model_copy(update={"calibration_id": final.id})


def residual_bands(rows: Sequence[RowResult], today: dt.date) -> list[ResidualBand]:
    """P10/P90 of reported / predicted time from held-out errors (not low confidence).

    "planner": runs predicted with the planner's layout (used when an estimate lets the
    planner choose); "layout": runs predicted with their published layout (used when
    the layout is fixed); "measured": predictions re-anchored on another run of the
    same source (used with a measured step time). Throughput errors count as time
    ratios (1 + error), hours errors as 1 / (1 + error).
    """
    ok = [r for r in rows if r.skipped_reason is None and r.confidence != "low"]

    def ratios(subset: list[RowResult]) -> list[float]:
        out = [
            float(np.log(1 + r.heldout_throughput_error))
            for r in subset
            if r.heldout_throughput_error is not None and r.counts_for_throughput
        ]
        out += [
            float(-np.log(1 + r.heldout_hours_error))
            for r in subset
            if r.heldout_hours_error is not None
        ]
        return out

    by_group: dict[str, list[float]] = {}
    for r in ok:
        if r.throughput_error is not None and r.counts_for_throughput:
            by_group.setdefault(r.group, []).append(float(np.log(1 + r.throughput_error)))
    anchored = [b - a for errs in by_group.values() for a in errs for b in errs if len(errs) > 1]
    anchored = [x for x in anchored if x != 0.0] or [0.0]
    out = []
    planner = ratios([r for r in ok if not r.gave_layout])
    layout = ratios([r for r in ok if r.gave_layout])
    if planner:
        what = "runs predicted with the planner's layout"
        out.append(fitting.residual_band("planner", planner, today, what))
    if layout:
        what = "runs predicted with their published layout"
        out.append(fitting.residual_band("layout", layout, today, what))
    out.append(
        fitting.residual_band(
            "measured", anchored, today, "step time re-anchored on another run of the same source"
        )
    )
    return out
