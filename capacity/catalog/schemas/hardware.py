"""Accelerators (catalogs/accelerators/)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from capacity.catalog.schemas.base import Entry

Precision = Literal["bf16", "fp16", "fp8", "tf32"]


class Accelerator(Entry):
    """One accelerator as the scheduler sees it (for MI250X: one GCD or the whole module)."""

    kind: Literal["accelerator"] = "accelerator"
    vendor: str
    status: Literal["available", "announced"] = "available"
    memory_gib: float = Field(gt=0, le=2048)
    hbm_tbyte_per_s: float | None = Field(default=None, gt=0, le=100)
    peak_tflops_bf16: float | None = Field(default=None, gt=0, le=10_000, description="dense")
    peak_tflops_fp16: float | None = Field(default=None, gt=0, le=10_000, description="dense")
    peak_tflops_fp8: float | None = Field(default=None, gt=0, le=20_000, description="dense")
    peak_tflops_tf32: float | None = Field(default=None, gt=0, le=10_000, description="dense")
    intra_node_gbyte_per_s: float | None = Field(
        default=None,
        gt=0,
        le=100_000,  # GB/s: far above NVLink 5's 1,800; a typo, not a part
        description="GPU-to-GPU link bandwidth per GPU, both directions added (vendor convention)",
    )
    tdp_w: float | None = Field(default=None, gt=0, le=5000)
    default_mfu: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="published model-FLOPs utilisation used when no planner or --mfu is given",
    )

    def peak_tflops(self, precision: Precision) -> float | None:
        value: float | None = getattr(self, f"peak_tflops_{precision}")
        return value
