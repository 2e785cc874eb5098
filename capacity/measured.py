"""Measured steps from a benchmark allocation: re-anchor the model on your own system.

A measured-steps CSV has one row per measured configuration, with the columns
`tp, pp, dp` (required), `cp, ep, vpp, zero_stage, recompute, sequence_parallel,
micro_batch_seqs, global_batch_tokens, seq_len` (optional; defaults of
`capacity.layout.Layout` and of the scenario) and `step_time_s` (required). Each
row gives the GEMM-efficiency scale at which the model reproduces it; the
estimate uses their geometric mean (the reading is in capacity.catalog.runs_io).
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from capacity.errors import CapacityError
from capacity.layout import Layout
from capacity.units import shown

LAYOUT_COLUMNS = (
    "tp",
    "pp",
    "dp",
    "cp",
    "ep",
    "vpp",
    "zero_stage",
    "recompute",
    "sequence_parallel",
    "micro_batch_seqs",
)


# Far above any real job; keeps the arithmetic of a measured layout finite.
MAX_DEGREE = 10**6


class MeasuredStep(BaseModel):
    model_config = ConfigDict(frozen=True, allow_inf_nan=False)

    layout: Layout
    step_time_s: float = Field(gt=0)
    global_batch_tokens: float | None = Field(default=None, gt=0, le=1e12)
    seq_len: int | None = Field(default=None, gt=0, le=10**7)


def parse_measured_steps(rows: list[dict[str, str]], origin: str) -> tuple[MeasuredStep, ...]:
    """Rows of strings -> measurements; errors name the line and the column."""
    out = []
    for n, row in enumerate(rows, start=2):
        clean = {k.strip(): (v or "").strip() for k, v in row.items() if k}
        lay: dict[str, Any] = {}
        for key in LAYOUT_COLUMNS:
            value = clean.get(key, "")
            if value == "":
                continue
            if key == "sequence_parallel":
                lay[key] = value.lower() in ("true", "yes", "1")
            else:
                lay[key] = value
                if key != "recompute" and _too_large(value):
                    raise CapacityError(
                        f"{origin}: line {n}: {shown(value)} is out of range "
                        f"(at most {MAX_DEGREE:,})",
                        field=key,
                    )
        try:
            out.append(
                MeasuredStep(
                    layout=Layout.model_validate(lay),
                    step_time_s=clean.get("step_time_s") or 0,
                    global_batch_tokens=clean.get("global_batch_tokens") or None,
                    seq_len=clean.get("seq_len") or None,
                )
            )
        except ValidationError as exc:
            err = exc.errors()[0]
            col = ".".join(str(p) for p in err["loc"] if p != "layout")
            raise CapacityError(f"{origin}: line {n}: {err['msg']}", field=col) from None
    if not out:
        raise CapacityError(f"{origin}: no measured steps", field="measured-steps")
    return tuple(out)


def _too_large(text: str) -> bool:
    try:
        value = float(text)
    except ValueError:
        return False  # not a number: the model's validation names it
    return not math.isfinite(value) or abs(value) > MAX_DEGREE


def geometric_mean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))
