"""Grids, exchange rates, access calls, WAN sites and training frameworks."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from capacity.catalog.schemas.base import ID_PATTERN, Entry, Sourced
from capacity.catalog.schemas.systems import BillingUnit


class Grid(Entry):
    kind: Literal["grid"] = "grid"
    gco2_per_kwh: float = Field(ge=0, le=2000)
    year: int = Field(ge=2000, le=2100)


# Far outside any exchange rate (the weakest currencies trade at ~10^5 per euro): a typo
# such as 1e-300 would make every converted cost vanish.
MIN_RATE, MAX_RATE = 1e-6, 1e6


class ExchangeRates(Sourced):
    """Dated exchange rates: 1 unit of `base` = rate units of each currency."""

    id: str = Field(pattern=ID_PATTERN)
    base: str = Field(pattern=r"^[A-Z]{3}$")
    date: dt.date
    rates: dict[str, float]

    @field_validator("rates")
    @classmethod
    def _positive(cls, rates: dict[str, float], info: ValidationInfo) -> dict[str, float]:
        base = info.data.get("base")
        if base in rates:
            raise ValueError(f"the base currency {base} has rate 1 by definition; remove it")
        for code, rate in rates.items():
            if not rate > 0:
                raise ValueError(f"rate of {code} must be positive, got {rate}")
            if not MIN_RATE <= rate <= MAX_RATE:
                raise ValueError(
                    f"rate of {code} is {rate:g}; a currency per unit of another lies "
                    f"between {MIN_RATE:g} and {MAX_RATE:g}"
                )
        return rates


# -- Access calls (catalogs/calls/, proposal, issue #13) -----------------------------------


class CallSystem(Sourced):
    """What one call offers on one system: per-project limits and the pool per cut-off."""

    system: str = Field(min_length=1, description="cluster id or cluster/partition")
    min_request: float | None = Field(default=None, gt=0, description="in the call's unit")
    max_request: float | None = Field(default=None, gt=0, description="in the call's unit")
    pool_per_cutoff: float | None = Field(
        default=None, gt=0, description="total the call offers on the system per cut-off"
    )
    notes: str | None = None


class Call(Entry):
    """An access call (EuroHPC mode, GENCI access...): unit, limits, pools and period."""

    kind: Literal["call"] = "call"
    funder: str
    unit: BillingUnit
    period_months: int | None = Field(default=None, gt=0, le=60)
    min_request: float | None = Field(
        default=None, gt=0, description="per project on any system, in the call's unit"
    )
    max_request: float | None = Field(
        default=None, gt=0, description="per project on any system, in the call's unit"
    )
    cutoffs: tuple[dt.date, ...] = ()
    systems: tuple[CallSystem, ...] = ()
    url: str | None = None

    def for_system(self, system_id: str) -> CallSystem | None:
        """The call's entry for 'cluster/partition' (or the whole cluster)."""
        cluster = system_id.split("/", 1)[0]
        exact = [s for s in self.systems if s.system == system_id]
        return exact[0] if exact else next((s for s in self.systems if s.system == cluster), None)


class WanSite(Entry):
    """What a training job at one site can send over the wide-area network (catalogs/wan/).

    The uplink is the site's research-network access, shared with all its other
    traffic: an upper bound on what a job gets, never a promise. Unknown figures are
    left out; the multi-site planner then states the assumption it uses instead.
    """

    kind: Literal["wan"] = "wan"
    cluster: str = Field(description="clusters/ id of the site's system")
    network: str = Field(description="research network the site is attached to, e.g. GARR")
    uplink_gbit_per_s: float | None = Field(
        default=None, gt=0, description="site access capacity to the research network"
    )


FRAMEWORK_FEATURES = (
    "flash_attention",
    "sequence_parallel",
    "interleaved_pipeline",
    "zero_stage",
    "recompute",
    "tensor_parallel",
    "pipeline_parallel",
)


TpOverlap = Literal["none", "backward", "all"]
TP_OVERLAP_CODES: dict[str, float] = {"none": 0.0, "backward": 1.0, "all": 2.0}


class FrameworkEra(Sourced):
    """What a framework did up to a year: a published run of that time that leaves a
    setting out gets these instead of today's defaults (None: as today)."""

    until_year: int = Field(ge=2000, le=2100)
    sequence_parallel: bool | None = None
    interleaved_pipeline: bool | None = None
    zero_stage: int | None = Field(default=None, ge=0, le=3)
    tp_overlap: TpOverlap | None = None
    dp_overlap: bool | None = None
    note: str = Field(min_length=3)


class Framework(Entry):
    """A training framework: what it does by default where a run or a user is silent.

    `fit_family` names the entry of the calibration's `frameworks` whose fitted GEMM
    share it uses (NeMo runs Megatron-Core; llm-foundry and torchtitan run FSDP).
    Defaults are left unset (None) where the framework has no single default.
    `eras` say what it did in earlier years (`as_of`).
    """

    kind: Literal["framework"] = "framework"
    fit_family: str = Field(pattern=ID_PATTERN)
    flash_attention: bool | None = None
    sequence_parallel: bool | None = None
    interleaved_pipeline: bool | None = None
    zero_stage: int | None = Field(default=None, ge=0, le=3)
    recompute: Literal["none", "selective", "full"] | None = None
    tensor_parallel: bool | None = Field(
        default=None, description="false: the framework's usual recipe runs without TP"
    )
    pipeline_parallel: bool | None = Field(
        default=None, description="false: the framework's usual recipe runs without PP"
    )
    tp_overlap: TpOverlap = Field(
        default="backward",
        description="TP traffic hidden behind GEMMs: none; backward (the input-gradient "
        "collectives of the column-parallel layers run during their weight-gradient GEMMs, "
        "Megatron-LM's asynchronous TP communication); all (every TP collective pipelined "
        "with the GEMMs, Transformer Engine's --tp-comm-overlap)",
    )
    dp_overlap: bool = Field(
        default=True,
        description="data-parallel traffic overlaps the backward pass (bucketed gradient "
        "reduction, parameter prefetch); false: gradients are all-reduced after it",
    )
    eras: tuple[FrameworkEra, ...] = ()

    def as_of(self, year: int | None) -> Framework:
        """The framework as a run of `year` used it: the earliest era that still covers
        the year overrides today's defaults (None or no era: as today)."""
        if year is None:
            return self
        for era in sorted(self.eras, key=lambda e: e.until_year):
            if year <= era.until_year:
                update = {
                    k: getattr(era, k)
                    for k in (
                        "sequence_parallel",
                        "interleaved_pipeline",
                        "zero_stage",
                        "tp_overlap",
                        "dp_overlap",
                    )
                    if getattr(era, k) is not None
                }
                return self.model_copy(update=update)
        return self
