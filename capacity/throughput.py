"""Throughput: top-down from a model-FLOPs utilisation (MFU), or bottom-up from the planner.

Top-down: tokens/s = n_gpus x peak x MFU / model FLOPs per token, the MFU from
`--mfu`, else from the accelerator's catalog entry (`default_mfu`, a published
training figure with its source). Bottom-up: the parallelism planner's step-time
model (capacity.planner) for the chosen layout. Both return a `Throughput`, the
seam the estimate uses.
"""

from __future__ import annotations

from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict

from capacity.catalog.schemas import Accelerator, EfficiencyCalibration, Precision
from capacity.constants import Constant
from capacity.errors import CapacityError
from capacity.flops import FlopsPerToken
from capacity.layout import Layout
from capacity.units import TERA


class PlanChoiceLike(Protocol):
    """What the throughput needs of a planner choice (capacity.planner.search.PlanChoice);
    a protocol, so that this module does not import the planner, which imports it."""

    @property
    def layout(self) -> Layout: ...
    @property
    def tokens_per_s(self) -> float: ...
    @property
    def mfu(self) -> float: ...
    @property
    def hfu(self) -> float: ...
    @property
    def model_tflops_per_gpu(self) -> float: ...
    @property
    def hardware_tflops_per_gpu(self) -> float: ...


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


def default_precision(acc: Accelerator) -> Precision:
    """bf16, or fp16 on parts without bf16 (V100-class parts train in fp16 at the same
    tensor-core peak)."""
    if acc.peak_tflops_bf16 is None and acc.peak_tflops_fp16 is not None:
        return "fp16"
    return "bf16"


def peak_tflops(acc: Accelerator, precision: Precision) -> float:
    peak = acc.peak_tflops(precision)
    if peak is None:
        raise CapacityError(
            f"{acc.name} has no published dense {precision} peak in the catalog (see `capacity "
            f"catalog show {acc.id}`; add an assumed peak with --catalog DIR to plan anyway)",
            field="precision",
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


def throughput_from_plan(
    choice: PlanChoiceLike,
    fpt: FlopsPerToken,
    n_gpus: int,
    precision: Precision,
    origin: Literal["planner", "measured"],
    calibration: EfficiencyCalibration | None,
) -> Throughput:
    """Bottom-up throughput of the planner's layout (capacity.planner.step_time)."""
    peak = choice.model_tflops_per_gpu / choice.mfu if choice.mfu else 0.0
    source = f"step-time model of {choice.layout.describe()} (capacity.planner)"
    if calibration is not None and calibration.fit_rows:
        source += (
            f"; efficiencies fitted by `{calibration.fit_command}` on "
            f"{len(calibration.fit_rows)} published runs (catalogs/efficiency)"
        )
    elif calibration is not None:
        source += "; efficiencies from catalogs/efficiency (not fitted)"
    return Throughput(
        tokens_per_s=choice.tokens_per_s,
        mfu=choice.mfu,
        hfu=choice.hfu,
        model_tflops_per_gpu=choice.model_tflops_per_gpu,
        hardware_tflops_per_gpu=choice.hardware_tflops_per_gpu,
        peak_tflops=peak,
        precision=precision,
        mfu_origin=origin,
        mfu_source=source,
    )
