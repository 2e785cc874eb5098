"""Throughput v0: tokens/s from a model-FLOPs utilisation (MFU).

tokens/s = n_gpus x peak x MFU / model FLOPs per token.
The MFU comes from `--mfu`, else from the accelerator's catalog entry
(`default_mfu`, a published training figure with its source). The parallelism
planner (capacity.planner) replaces this with a bottom-up step-time model;
both return a `Throughput`, which is the seam the estimate uses.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from capacity.catalog.schemas import Accelerator, Precision
from capacity.constants import Constant
from capacity.errors import CapacityError
from capacity.flops import FlopsPerToken
from capacity.units import TERA

FALLBACK_MFU = Constant(
    0.40,
    "fraction",
    "Llama 3 (arXiv:2407.21783) Sec. 3.3.2: 38-43 % BF16 MFU at 8k-16k H100; used only for "
    "accelerators without a published training MFU",
)


class Throughput(BaseModel):
    model_config = ConfigDict(frozen=True)

    tokens_per_s: float
    mfu: float
    hfu: float
    model_tflops_per_gpu: float
    hardware_tflops_per_gpu: float
    peak_tflops: float
    precision: Precision
    mfu_origin: Literal["user", "catalog", "fallback", "planner", "measured"]
    mfu_source: str


def peak_tflops(acc: Accelerator, precision: Precision) -> float:
    peak = acc.peak_tflops(precision)
    if peak is None:
        raise CapacityError(
            f"{acc.name} has no published dense {precision} peak in the catalog", field="precision"
        )
    return peak


def throughput_from_mfu(
    fpt: FlopsPerToken,
    acc: Accelerator,
    n_gpus: int,
    *,
    mfu: float | None = None,
    precision: Precision = "bf16",
) -> Throughput:
    """Top-down throughput at a given (or catalog) MFU."""
    peak = peak_tflops(acc, precision)
    if mfu is not None:
        if not 0 < mfu <= 1:
            raise CapacityError(f"must lie in (0, 1], got {mfu}", field="mfu")
        origin: Literal["user", "catalog", "fallback"] = "user"
        source = "given with --mfu"
    elif acc.default_mfu is not None:
        mfu, origin = acc.default_mfu, "catalog"
        src = acc.source_for("default_mfu")
        source = f"{src.title}, {src.locator}" if src else "catalog"
    else:
        mfu, origin = FALLBACK_MFU.value, "fallback"
        source = FALLBACK_MFU.source
    tokens_per_s = n_gpus * peak * TERA * mfu / fpt.model
    hfu = mfu * fpt.hardware / fpt.model
    return Throughput(
        tokens_per_s=tokens_per_s,
        mfu=mfu,
        hfu=hfu,
        model_tflops_per_gpu=peak * mfu,
        hardware_tflops_per_gpu=peak * hfu,
        peak_tflops=peak,
        precision=precision,
        mfu_origin=origin,
        mfu_source=source,
    )
