"""Throughput-model efficiency parameters (catalogs/efficiency/)."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, model_validator

from capacity.catalog.schemas.base import ID_PATTERN, Entry, Sourced

REFERENCE_FRAMEWORK = "megatron-lm"  # GEMM efficiencies are fitted relative to it


class GemmEfficiency(Sourced):
    """Achievable dense-GEMM efficiency of one accelerator family (fitted or assumed)."""

    id: str = Field(pattern=ID_PATTERN)
    accelerators: tuple[str, ...] = Field(
        default=(), description="accelerator ids it applies to; empty for the default entry"
    )
    gemm_efficiency: float = Field(
        gt=0, le=1, description="fraction of the dense peak reached by large GEMMs"
    )
    calibrated: bool = Field(description="fitted on published runs of this family")
    note: str | None = None
    anchors: tuple[str, ...] = Field(
        default=(), description="ids of the published runs (catalogs/runs) it is fitted on"
    )
    anchor_sources: int | None = Field(
        default=None, ge=0, description="distinct sources of the anchors"
    )


class FrameworkEfficiency(Sourced):
    """Fitted speed parameters of one training framework family (relative to Megatron-LM)."""

    id: str = Field(pattern=ID_PATTERN)
    gemm_share: float = Field(
        gt=0,
        le=1.5,
        description="achieved share of the accelerator's fitted GEMM efficiency "
        "(kernels, fusion, compile); Megatron-LM = 1 by definition",
    )
    calibrated: bool = Field(description="fitted on published runs of this framework")
    n_rows: int = Field(default=0, ge=0)
    note: str | None = None


class FabricEfficiency(Sourced):
    """Bus efficiency and per-hop latency of a class of links."""

    id: Literal["intra-node", "inter-node"]
    bus_efficiency: float = Field(gt=0, le=1)
    latency_us: float = Field(ge=0, le=1000)
    note: str | None = None


class ResidualBand(Sourced):
    """Quantiles of predicted / reported ratios on the validation set (for intervals)."""

    id: str = Field(pattern=ID_PATTERN, description="throughput, hours or measured")
    ratio_p10: float = Field(gt=0)
    ratio_p90: float = Field(gt=0)
    n_rows: int = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> ResidualBand:
        if self.ratio_p10 > self.ratio_p90:
            raise ValueError("ratio_p10 must not exceed ratio_p90")
        return self


class EfficiencyCalibration(Entry):
    """The few physical efficiency parameters of the step-time model, with provenance."""

    kind: Literal["efficiency"] = "efficiency"
    gemm: tuple[GemmEfficiency, ...] = Field(min_length=1)
    fabrics: tuple[FabricEfficiency, ...] = Field(min_length=2)
    gemm_memory_exposure: float = Field(
        ge=0, le=1, description="share of a GEMM's HBM traffic time not hidden behind compute"
    )
    flash_attention_fraction: float = Field(
        gt=0, le=1, description="FlashAttention speed relative to the GEMM efficiency"
    )
    hbm_efficiency: float = Field(gt=0, le=1, description="achieved / peak HBM bandwidth")
    dp_overlap_fraction: float = Field(
        ge=0, le=1, description="share of one micro-batch's compute that hides DP traffic"
    )
    planner_practical_efficiency: float = Field(
        default=1.0,
        gt=0,
        le=1,
        description="share of the planner's optimum that runs without a published, tuned "
        "layout reached (median over such runs); applied when the planner picks the layout",
    )
    residuals: tuple[ResidualBand, ...] = ()
    frameworks: tuple[FrameworkEfficiency, ...] = ()
    end_to_end_overhead: float = Field(
        default=1.0,
        ge=1.0,
        description="whole-run hours over steady-state hours (evaluations, ramp-up, extra "
        "phases), median over runs publishing both; 1 = not derived",
    )
    end_to_end_overhead_p10: float | None = Field(default=None, ge=1.0)
    end_to_end_overhead_p90: float | None = Field(default=None, ge=1.0)
    fit_command: str | None = None
    fit_rows: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _has_default(self) -> EfficiencyCalibration:
        if "default" not in {g.id for g in self.gemm}:
            raise ValueError("gemm needs an entry with id = 'default'")
        if {f.id for f in self.fabrics} != {"intra-node", "inter-node"}:
            raise ValueError("fabrics needs one 'intra-node' and one 'inter-node' entry")
        return self

    def gemm_for(self, accelerator_id: str) -> GemmEfficiency:
        for g in self.gemm:
            if accelerator_id in g.accelerators:
                return g
        return next(g for g in self.gemm if g.id == "default")

    def framework_share(self, family: str | None) -> tuple[float, bool]:
        """GEMM share of a framework family, and whether it was fitted.

        A family without a fitted entry (or `unknown`) gets the geometric mean of the
        fitted families (the reference family counts as 1): the spread across
        frameworks then goes into the interval.
        """
        fitted = {f.id: f.gemm_share for f in self.frameworks if f.calibrated}
        if family is not None and family in fitted:
            return fitted[family], True
        if not fitted:
            return 1.0, False
        logs = [0.0] + [math.log(v) for k, v in fitted.items() if k != REFERENCE_FRAMEWORK]
        return math.exp(sum(logs) / len(logs)), False

    def fabric(self, fabric_id: str) -> FabricEfficiency:
        return next(f for f in self.fabrics if f.id == fabric_id)

    def residual(self, band_id: str) -> ResidualBand | None:
        return next((r for r in self.residuals if r.id == band_id), None)
