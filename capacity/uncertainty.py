"""Intervals on time-like estimates (hours, days, cost, energy, CO2) from validation residuals.

The fit (`capacity validate --fit`) stores, in catalogs/efficiency/calibration.toml,
the 10th and 90th percentiles of reported / predicted accelerator-hours over the
published runs it did not fit on (held out by source group). An estimate x
becomes the interval [x * p10, x * p90]: if the model erred on a new run as it
did on those, the truth falls inside in about 8 cases out of 10. With a measured
step time the band is the one of predictions re-anchored on another run of the
same source (narrower). Cost, energy and CO2 scale with the hours, so they get
the same band. With few runs the percentiles are themselves uncertain.
"""

from __future__ import annotations

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


def band_for(cal: EfficiencyCalibration | None, *, measured: bool = False) -> Band | None:
    """The hours band (or the re-anchored one when a step time was measured)."""
    if cal is None:
        return None
    res: ResidualBand | None = None
    if measured:
        res = cal.residual("measured")
    if res is None:
        res = cal.residual("hours")
    if res is None:
        return None
    what = (
        "step time re-anchored on a measurement"
        if res.id == "measured"
        else "end-to-end accelerator-hours"
    )
    return Band(
        ratio_p10=res.ratio_p10,
        ratio_p90=res.ratio_p90,
        explanation=(
            f"P10-P90 from the model's held-out errors on {res.n_rows} published runs "
            f"({what}: reported / predicted {res.ratio_p10:.2f}-{res.ratio_p90:.2f})"
        ),
    )


def interval(value: float | None, band: Band | None) -> Interval | None:
    if value is None or band is None:
        return None
    return Interval(p10=value * band.ratio_p10, p90=value * band.ratio_p90)


def step_band(cal: EfficiencyCalibration | None) -> Band | None:
    """Band on a step time / throughput (held-out throughput errors)."""
    res = None if cal is None else cal.residual("step-time")
    if res is None:
        return None
    return Band(
        ratio_p10=res.ratio_p10,
        ratio_p90=res.ratio_p90,
        explanation=(
            f"P10-P90 from held-out throughput errors on {res.n_rows} published runs "
            f"(reported / predicted step time {res.ratio_p10:.2f}-{res.ratio_p90:.2f})"
        ),
    )
