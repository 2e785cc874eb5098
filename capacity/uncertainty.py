"""Intervals on time-like estimates (hours, days, cost, energy, CO2) from validation residuals.

The fit (`capacity validate --fit`) stores, in catalogs/efficiency/calibration.toml,
the 10th and 90th percentiles of reported / predicted time (step time or
accelerator-hours) over held-out predictions of published runs (each refitted
without its source group): runs predicted with the planner's layout or with their
published layout, each also for a named framework where at least 4 sources have
such runs, and predictions re-anchored on a measured run of the same source. All but
the last use validation's rule (pooled P10/P90 widened for the number of sources,
`capacity.validation.intervals`), whose held-out coverage is 75-90 %. An estimate
x becomes [x * p10, x * p90]: if the model errs on a new run as it did on those,
the truth falls inside about 8 times in 10. The band need not be centred on x: the
planner's layout is an optimum that published runs did not reach. Cost, energy and CO2 scale
with the hours and get the same band. Whole-run time (the end-to-end overhead applied, not
--steady-state) also carries that overhead's own P10-P90, added in quadrature on the log
scale (`with_end_to_end`; validation's hours bands do the same). With few runs the
percentiles are rough.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict

from capacity.catalog.schemas import EfficiencyCalibration, ResidualBand


class Interval(BaseModel):
    model_config = ConfigDict(frozen=True)

    p10: float
    p90: float


class Band(BaseModel):
    """Multipliers for P10 and P90 and the one-line explanation shown beside them."""

    model_config = ConfigDict(frozen=True)

    ratio_p10: float
    ratio_p90: float
    explanation: str


_WHAT = {
    "planner": "runs predicted with the planner's layout",
    "planner-framework": "runs predicted with the planner's layout, framework named",
    "layout": "runs predicted with their published layout",
    "layout-framework": "runs predicted with their published layout, framework named",
    "measured": "predictions re-anchored on a measured run",
}


def band_for(
    cal: EfficiencyCalibration | None,
    *,
    measured: bool = False,
    layout_given: bool = False,
    framework_known: bool = False,
    caveats: tuple[str, ...] = (),
) -> Band | None:
    """The band matching how the estimate was made (measured > fixed layout > planner,
    each for a named framework where the calibration has that band).

    `caveats` say why this estimate may fall outside it (e.g. an accelerator with no
    published run in the fit)."""
    if cal is None:
        return None
    order = ["planner"]
    if layout_given:
        order.insert(0, "layout")
    if framework_known:
        order = [b for o in order for b in (o + "-framework", o)]
    if measured:
        order.insert(0, "measured")
    res: ResidualBand | None = None
    for band_id in order:
        res = cal.residual(band_id)
        if res is not None:
            break
    if res is None:
        return None
    return Band(
        ratio_p10=res.ratio_p10,
        ratio_p90=res.ratio_p90,
        explanation=(
            f"P10-P90 = reported / predicted time over {res.n_rows} held-out figures of "
            f"published runs ({_WHAT.get(res.id, res.id)}"
            + ("" if res.id == "measured" else "; percentiles widened for the few sources")
            + "): "
            f"x{res.ratio_p10:.2f} to x{res.ratio_p90:.2f}" + "".join(f"; {c}" for c in caveats)
        ),
    )


def widen_for_end_to_end(
    ratio_p10: float, ratio_p90: float, cal: EfficiencyCalibration
) -> tuple[float, float]:
    """A time band [ratio_p10, ratio_p90] for whole-run time that includes the end-to-end
    overhead: its own P10-P90 about its median (evaluations, ramp-up, extra phases, not
    tied to the step time) added in quadrature to the band's half-widths (log scale)."""
    k, k10, k90 = cal.end_to_end_overhead, cal.end_to_end_overhead_p10, cal.end_to_end_overhead_p90
    centre = 0.5 * (math.log(ratio_p10) + math.log(ratio_p90))
    half = 0.5 * (math.log(ratio_p90) - math.log(ratio_p10))
    below = max(math.log(k / k10), 0.0) if k10 is not None else 0.0
    above = max(math.log(k90 / k), 0.0) if k90 is not None else 0.0
    return math.exp(centre - math.hypot(half, below)), math.exp(centre + math.hypot(half, above))


def with_end_to_end(band: Band | None, cal: EfficiencyCalibration | None) -> Band | None:
    """`band` widened for the end-to-end overhead of a whole run (`widen_for_end_to_end`)."""
    if band is None or cal is None or cal.end_to_end_overhead_p90 is None:
        return band
    lo, hi = widen_for_end_to_end(band.ratio_p10, band.ratio_p90, cal)
    return Band(
        ratio_p10=lo,
        ratio_p90=hi,
        explanation=band.explanation
        + f"; widened for the end-to-end overhead's own P10-P90 (x{cal.end_to_end_overhead_p10:.2f}"
        f"-x{cal.end_to_end_overhead_p90:.2f} around x{cal.end_to_end_overhead:.2f})",
    )


def interval(value: float | None, band: Band | None) -> Interval | None:
    if value is None or band is None:
        return None
    return Interval(p10=value * band.ratio_p10, p90=value * band.ratio_p90)
