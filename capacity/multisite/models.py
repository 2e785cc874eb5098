"""The multi-site request and its result: the per-site runs, the quality cost and the
JSON they print as."""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from capacity.catalog.schemas import WanSite
from capacity.cost import RunCost
from capacity.estimate import Estimate, Scenario
from capacity.multisite.wan import STREAMING_OVERLAP_STEPS, SyncMethod, WanPrecision
from capacity.system import System


class SiteRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    system: System
    nodes: int = Field(gt=0)
    wan: WanSite | None = None


class MultiSiteRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    base: Scenario  # model, tokens, batch, precision, calibration, goodput
    sites: tuple[SiteRequest, ...]
    method: SyncMethod = "diloco"
    inner_steps: int | None = Field(default=None, gt=0)
    wan_gbit_per_s: float | None = Field(default=None, gt=0)
    payload: WanPrecision | None = None
    overlap_steps: int = Field(default=int(STREAMING_OVERLAP_STEPS.value), ge=0)


class SiteRun(BaseModel):
    model_config = ConfigDict(frozen=True)

    system_id: str
    name: str
    n_gpus: int
    n_nodes: float
    share: float  # of the global batch and of the tokens
    even_share: float  # proportional to GPUs
    batch_tokens: float
    step_time_s: float
    even_step_time_s: float
    tokens_per_s: float
    layout: str
    uplink_gbit_per_s: float | None
    uplink_origin: str
    run: RunCost  # this site's hours (in its billing unit), cost, energy and CO2
    alone_wall_h: float  # the whole run on this site alone
    estimate: Estimate  # its share of the run, for layout, memory and verdict

    def to_json(self) -> dict[str, Any]:
        return {
            "system": self.system_id,
            "n_gpus": self.n_gpus,
            "n_nodes": self.n_nodes,
            "share": self.share,
            "even_share": self.even_share,
            "batch_tokens": self.batch_tokens,
            "step_time_s": self.step_time_s,
            "even_step_time_s": self.even_step_time_s,
            "tokens_per_s": self.tokens_per_s,
            "layout": self.layout,
            "uplink_gbit_per_s": self.uplink_gbit_per_s,
            "uplink_origin": self.uplink_origin,
            "gpu_hours": self.run.gpu_hours,
            "node_hours": self.run.node_hours,
            "allocation_units": self.run.allocation_units,
            "allocation_unit": self.run.allocation_unit,
            "cost": None if self.run.cost is None else self.run.cost.model_dump(),
            "energy_mwh": self.run.energy_mwh,
            "co2_t": self.run.co2_t,
            "alone_wall_clock_days": self.alone_wall_h / 24,
            "feasible": self.estimate.feasible,
            "reasons": [r.message for r in self.estimate.reasons],
        }


class Quality(BaseModel):
    model_config = ConfigDict(frozen=True)

    penalty_pct: float  # loss at equal tokens vs synchronous training, percent
    in_range: bool
    extra_tokens: float
    notes: tuple[str, ...]


class MultiSiteEstimate(BaseModel):
    model_config = ConfigDict(frozen=True)

    method: SyncMethod
    inner_steps: int
    payload: WanPrecision
    payload_note: str
    sites: tuple[SiteRun, ...]
    wan_gbit_per_s: float
    wan_origin: str
    latency_s: float
    params: float
    wan_bytes_per_sync: float  # sent by each site's edge per outer step (per step for ddp)
    sync_s: float  # WAN time of one sync (all fragments for streaming)
    exposed_s: float  # of it, not hidden behind compute, per outer step
    outer_compute_s: float  # H x the synchronous inner step
    step_time_s: float  # the synchronous inner step (slowest site, balanced split)
    even_step_time_s: float  # same with the batch split by GPUs
    utilisation: float
    outer_steps: float
    wan_total_tbyte: float  # per site edge over the run
    tokens: float
    productive_h: float
    wall_h: float
    ettr: float
    quality: Quality
    extra_h: float
    best_single_site: str
    best_single_wall_h: float
    gbps_for: dict[str, float | None]  # utilisation target -> Gbit/s needed
    feasible: bool
    notes: tuple[str, ...]
    assumptions: tuple[str, ...]

    @property
    def wall_clock_days(self) -> float:
        return self.wall_h / 24

    @property
    def time_saved_h(self) -> float:
        """Against the fastest single site alone, the extra tokens for equal loss included."""
        return self.best_single_wall_h - self.wall_h - self.extra_h

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "inner_steps": self.inner_steps,
            "payload": self.payload,
            "sites": [s.to_json() for s in self.sites],
            "wan_gbit_per_s": self.wan_gbit_per_s,
            "wan_origin": self.wan_origin,
            "latency_s": self.latency_s,
            "wan_gbyte_per_sync": self.wan_bytes_per_sync / 1e9,
            "sync_s": self.sync_s,
            "exposed_s": self.exposed_s,
            "outer_compute_s": self.outer_compute_s,
            "step_time_s": self.step_time_s,
            "even_step_time_s": self.even_step_time_s,
            "utilisation": self.utilisation,
            "outer_steps": self.outer_steps,
            "wan_total_tbyte": self.wan_total_tbyte,
            "tokens": self.tokens,
            "productive_h": self.productive_h,
            "wall_clock_days": self.wall_clock_days,
            "ettr": self.ettr,
            "quality": {
                "penalty_pct": self.quality.penalty_pct,
                "in_range": self.quality.in_range,
                "extra_tokens": _finite(self.quality.extra_tokens),
                "extra_days": _finite(self.extra_h / 24),
                "notes": list(self.quality.notes),
            },
            "best_single_site": self.best_single_site,
            "best_single_wall_clock_days": self.best_single_wall_h / 24,
            "time_saved_days": _finite(self.time_saved_h / 24),
            "gbps_for_utilisation": dict(self.gbps_for),
            "feasible": self.feasible,
            "notes": list(self.notes),
            "assumptions": list(self.assumptions),
        }


def _finite(x: float) -> float | None:
    """JSON has no infinity: an unreachable figure is null."""
    return x if math.isfinite(x) else None
