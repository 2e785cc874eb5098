"""Write an `EfficiencyCalibration` as the TOML of catalogs/efficiency/ (text only, no I/O)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

from capacity.catalog.schemas import EfficiencyCalibration, Source

HEADER = """\
# Efficiencies of capacity's step-time model (capacity/planner/step_time.py).
# Written by `capacity validate --fit --write catalogs/efficiency/calibration.toml`:
# do not edit the fitted values by hand; change the runs or the model and refit.
# Every figure names its source: the fit (with the runs it used) or a published system model.
"""


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, tuple | list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    return json.dumps(str(v), ensure_ascii=False)


def _scalars(model: BaseModel, skip: Iterable[str]) -> list[str]:
    out = []
    for name in type(model).model_fields:
        if name in skip:
            continue
        value = getattr(model, name)
        if value is None or value == () or (name == "kind"):
            continue
        out.append(f"{name} = {_value(value)}")
    return out


def _sources(sources: Iterable[Source], table: str) -> list[str]:
    out = []
    for s in sources:
        out.append(f"\n[[{table}]]")
        out += _scalars(s, ())
    return out


def calibration_toml(cal: EfficiencyCalibration) -> str:
    lines = [HEADER]
    lines += _scalars(cal, ("sources", "gemm", "fabrics", "residuals", "frameworks"))
    lines += _sources(cal.sources, "sources")
    for g in cal.gemm:
        lines.append("\n[[gemm]]")
        lines += _scalars(g, ("sources",))
        lines += _sources(g.sources, "gemm.sources")
    for f in cal.fabrics:
        lines.append("\n[[fabrics]]")
        lines += _scalars(f, ("sources",))
        lines += _sources(f.sources, "fabrics.sources")
    for fw in cal.frameworks:
        lines.append("\n[[frameworks]]")
        lines += _scalars(fw, ("sources",))
        lines += _sources(fw.sources, "frameworks.sources")
    for r in cal.residuals:
        lines.append("\n[[residuals]]")
        lines += _scalars(r, ("sources",))
        lines += _sources(r.sources, "residuals.sources")
    return "\n".join(lines) + "\n"
