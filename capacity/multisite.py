"""One training run spread over several sites joined by a wide-area network (WAN).

Each site runs data-parallel replicas with its own best layout (the single-site
`estimate` path on its share of the batch) and the sites synchronise with one of:

- `ddp`: plain synchronous data parallel across the WAN, a gradient all-reduce every
  step. Shown to explain why it fails: even with the transfer fully hidden behind the
  step, the WAN time per step dwarfs the compute.
- `diloco` (Douillard et al. 2023, arXiv:2311.08105): each site is one DiLoCo replica,
  takes H inner steps alone, then the sites all-reduce their pseudo-gradients (the
  parameter change) once, blocking.
- `streaming` (Douillard et al. 2025, arXiv:2501.18512): the model is synced in
  fragments of 3 layers at staggered times, each transfer overlapping tau inner steps,
  with FP4 pseudo-gradients.

Heterogeneous sites: the slowest site bounds every synchronous step, so the global
batch is split in proportion to each site's throughput (the balanced split); the
proportional-to-GPUs split is reported beside it. The quality cost of DiLoCo against
synchronous training comes from the papers' tables (valid ranges stated; outside them
the result says so) and is turned into extra tokens, hence hours, with the Epoch
scaling law.

The quality tables were transcribed from the papers by the project's research sheet
(shared/research/wan_multisite_2026-12.md); the abstracts' headline figures were checked
at the source, the table cells were not re-read in the PDFs.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from capacity.catalog.schemas import Precision, WanSite
from capacity.constants import Constant
from capacity.cost import Money, run_cost
from capacity.errors import CapacityError
from capacity.estimate import Estimate, Scenario, estimate, global_batch
from capacity.flops import flops_per_token
from capacity.goodput import goodput
from capacity.memory import OPTIMIZER_BYTES
from capacity.scaling.parametric import EPOCH
from capacity.system import System
from capacity.throughput import default_precision
from capacity.units import SECONDS_PER_HOUR
from capacity.workload import param_counts

SyncMethod = Literal["ddp", "diloco", "streaming"]
SYNC_METHODS: tuple[SyncMethod, ...] = ("ddp", "diloco", "streaming")
WanPrecision = Literal["fp32", "bf16", "int8", "fp4"]
WAN_BYTES: dict[str, float] = {"fp32": 4, "bf16": 2, "int8": 1, "fp4": 0.5}  # bits / 8
BITS_PER_BYTE = 8

DEFAULT_PAYLOAD: dict[SyncMethod, tuple[WanPrecision, str]] = {
    "ddp": ("bf16", "bf16 gradients, the default mixed-precision all-reduce"),
    "diloco": (
        "int8",
        "int8 pseudo-gradients with fp32 accumulation, as INTELLECT-1 (arXiv:2412.01152 Sec. 2.2)",
    ),
    "streaming": (
        "fp4",
        "FP4 (E3M0) outer gradients, no regression reported (Streaming DiLoCo, "
        "arXiv:2501.18512 Sec. 2.3)",
    ),
}
DEFAULT_INNER_STEPS = Constant(
    100,
    "inner steps",
    "INTELLECT-1 (arXiv:2412.01152) and Streaming DiLoCo Table 1 (arXiv:2501.18512) "
    "synchronise every 100 inner steps",
)
ASSUMED_WAN_GBIT_PER_S = Constant(
    10,
    "Gbit/s",
    "assumption where a site's uplink is not published: the 10 Gbit/s cross-datacenter "
    "network archetype of Charles et al. 2025 (arXiv:2503.09799) App. A; override with "
    "--wan-gbps",
)
WAN_LATENCY_S = Constant(
    0.01,
    "s",
    "assumption: the latency of the same 10 Gbit/s archetype (arXiv:2503.09799 App. A)",
)
STREAMING_LAYERS_PER_FRAGMENT = Constant(
    3,
    "layers",
    "Streaming DiLoCo (arXiv:2501.18512) Table 4: fragments of 3 layers (24 layers: 8 fragments)",
)
STREAMING_OVERLAP_STEPS = Constant(
    1,
    "inner steps",
    "Streaming DiLoCo (arXiv:2501.18512) Sec. 4: tau = 1 in the main runs, tau <= 5 advised",
)

# DiLoCo's eval loss against data-parallel at equal tokens, H = 30, in percent, by model
# size and replicas M: Charles et al. 2025 (arXiv:2503.09799) Table 4 (35M-2.4B) and
# Table 5 (4B, 10B: the losses, turned into percentages here).
PENALTY_SOURCE = (
    "Charles et al. 2025 (arXiv:2503.09799) Tables 4-5: DiLoCo vs data-parallel eval loss, H=30"
)
PENALTY_PARAMS = (35e6, 90e6, 180e6, 335e6, 550e6, 1.3e9, 2.4e9, 4e9, 10e9)
PENALTY_PCT_H30: dict[int, tuple[float, ...]] = {
    2: (0.7, 0.5, 0.3, 0.1, 0.2, 0.2, -0.1, (2.220 / 2.224 - 1) * 100, (2.086 / 2.090 - 1) * 100),
    4: (2.0, 1.5, 1.1, 0.9, 0.7, 0.5, 0.3, (2.230 / 2.224 - 1) * 100, (2.096 / 2.090 - 1) * 100),
    8: (3.9, 3.1, 2.3, 2.0, 1.7, 1.3, 1.1),  # no 4B/10B run at M = 8
}
# Going from H = 30 to H = 100 at 1B costs this much more loss (percent), by M:
# Streaming DiLoCo (arXiv:2501.18512) Table 6, 2.48 -> 2.50 (M=2), 2.50 -> 2.53 (M=4).
H_SOURCE = "Streaming DiLoCo (arXiv:2501.18512) Table 6: 1B, H=30 vs H=100"
H_LOW, H_HIGH = 30, 100
H_PENALTY_PCT: dict[int, float] = {2: (2.50 / 2.48 - 1) * 100, 4: (2.53 / 2.50 - 1) * 100}

TOKENS_PER_PARAM_OF_TABLES = Constant(
    20,
    "tokens/parameter",
    "assumption: the scaling-law runs of arXiv:2503.09799 are read as compute-optimal "
    "(Chinchilla's ~20 tokens per parameter, Hoffmann et al. 2022)",
)


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
    gpu_hours: float
    node_hours: float
    allocation_units: float
    allocation_unit: str
    cost: Money | None
    energy_mwh: float | None
    co2_t: float | None
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
            "gpu_hours": self.gpu_hours,
            "node_hours": self.node_hours,
            "allocation_units": self.allocation_units,
            "allocation_unit": self.allocation_unit,
            "cost": None if self.cost is None else self.cost.model_dump(),
            "energy_mwh": self.energy_mwh,
            "co2_t": self.co2_t,
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


# -- communication ---------------------------------------------------------------------


def allreduce_bytes(payload_bytes: float, n_sites: int) -> float:
    """Bytes each site's edge sends in a ring all-reduce: 2 P (S-1)/S (the lower bound of
    Charles et al. 2025, arXiv:2503.09799 App. A)."""
    return 2 * payload_bytes * (n_sites - 1) / n_sites


def allreduce_s(payload_bytes: float, n_sites: int, gbit_per_s: float, latency_s: float) -> float:
    """Ring all-reduce time over the WAN: bytes / bandwidth + 2 (S-1) latency hops."""
    wire = allreduce_bytes(payload_bytes, n_sites) * BITS_PER_BYTE / (gbit_per_s * 1e9)
    return wire + 2 * (n_sites - 1) * latency_s


def traffic_reduction(inner_steps: int, baseline: WanPrecision, payload: WanPrecision) -> float:
    """Bytes over the WAN of per-step data parallel / those of one sync every H steps."""
    return inner_steps * WAN_BYTES[baseline] / WAN_BYTES[payload]


def exposed_s(
    method: SyncMethod,
    *,
    step_s: float,
    inner_steps: int,
    sync_s: float,
    fragments: int = 1,
    overlap_steps: int = 1,
) -> float:
    """WAN seconds not hidden behind compute, per outer step (per step for ddp).

    ddp and diloco: the sync blocks (ddp: with gradient accumulation the all-reduce
    could only hide behind the last micro-batch's backward pass, small against a WAN
    transfer); streaming: each of the fragments' transfers overlaps `overlap_steps`
    inner steps.
    """
    if method in ("ddp", "diloco"):
        return sync_s
    per_fragment = sync_s / fragments
    return fragments * max(0.0, per_fragment - overlap_steps * step_s)


def utilisation(compute_s: float, exposed: float) -> float:
    """Share of the wall-clock the accelerators compute (INTELLECT-1's 'compute utilisation')."""
    return compute_s / (compute_s + exposed)


# -- quality ---------------------------------------------------------------------------


def _interp_log(x: float, xs: tuple[float, ...], ys: tuple[float, ...]) -> float:
    return float(np.interp(math.log(x), [math.log(v) for v in xs], ys))


def quality_penalty_pct(
    params: float, replicas: int, inner_steps: int
) -> tuple[float, bool, list[str]]:
    """DiLoCo's loss above synchronous data parallel at equal tokens (percent), whether the
    point lies inside the published tables, and what was extrapolated."""
    notes: list[str] = []
    in_range = True
    m = replicas
    ms = sorted(PENALTY_PCT_H30)
    if m > ms[-1]:
        notes.append(
            f"{m} replicas is beyond the published M <= {ms[-1]}: the M={ms[-1]} row is used"
        )
        in_range = False
        m = ms[-1]

    def at(mm: int) -> float:
        row = PENALTY_PCT_H30[mm]
        xs = PENALTY_PARAMS[: len(row)]
        nonlocal in_range
        if not xs[0] <= params <= xs[-1]:
            in_range = False
            notes.append(
                f"{params / 1e9:.3g}B parameters is outside the published {xs[0] / 1e6:.0f}M-"
                f"{xs[-1] / 1e9:.3g}B at M={mm}: the nearest size is used (the gap shrinks "
                "with size in the tables)"
            )
        return _interp_log(min(max(params, xs[0]), xs[-1]), xs, row)

    if m in PENALTY_PCT_H30:
        base = at(m)
    else:  # M = 3, 5, 6, 7: interpolate in log M between the published rows
        lo = max(k for k in ms if k < m)
        hi = min(k for k in ms if k > m)
        w = math.log(m / lo) / math.log(hi / lo)
        base = (1 - w) * at(lo) + w * at(hi)
    # H: the tables are at H=30; Streaming DiLoCo Table 6 gives the step to H=100
    slope = float(
        np.interp(
            math.log2(m),
            [math.log2(k) for k in sorted(H_PENALTY_PCT)],
            [H_PENALTY_PCT[k] for k in sorted(H_PENALTY_PCT)],
        )
    )
    if m > max(H_PENALTY_PCT):
        top = max(H_PENALTY_PCT)
        notes.append(f"the H sensitivity is published for M <= {top}; M={top}'s is used")
        in_range = False
    h_extra = 0.0
    if inner_steps > H_LOW:
        h_extra = slope * math.log(inner_steps / H_LOW) / math.log(H_HIGH / H_LOW)
        if inner_steps > H_HIGH:
            in_range = False
            notes.append(
                f"H={inner_steps} is beyond the published H <= {H_HIGH}: the H=30->100 step "
                "is extrapolated in log H"
            )
    return base + h_extra, in_range, notes


def token_efficiency(params: float, penalty_pct: float) -> float:
    """DiLoCo's tokens worth of synchronous training, per token (eta <= 1).

    The penalty is read where the tables measured it, near the compute-optimal
    TOKENS_PER_PARAM_OF_TABLES, on the Epoch law: DiLoCo after D tokens is where
    synchronous training is after eta D. The same eta is applied to the run's tokens.
    """
    if penalty_pct <= 0:
        return 1.0
    ref = TOKENS_PER_PARAM_OF_TABLES.value * params
    dp_loss = float(EPOCH.loss(params, ref))
    reached = float(EPOCH.tokens_for_loss(params, dp_loss * (1 + penalty_pct / 100)))
    return reached / ref if math.isfinite(reached) and reached > 0 else 0.0


def extra_tokens_for_same_loss(params: float, tokens: float, penalty_pct: float) -> float:
    """Tokens beyond `tokens` for DiLoCo to reach synchronous training's loss."""
    eta = token_efficiency(params, penalty_pct)
    return math.inf if eta <= 0 else tokens / eta - tokens


# -- the estimate ----------------------------------------------------------------------


def _site_scenario(
    base: Scenario, system: System, n_gpus: int, tokens: float, batch: float
) -> Scenario:
    precision: Precision = base.precision
    if system.accelerator.peak_tflops(precision) is None:
        precision = default_precision(system.accelerator)
    return base.model_copy(
        update={
            "system": system,
            "n_gpus": n_gpus,
            "tokens": tokens,
            "global_batch_tokens": batch,
            "global_batch_auto": False,
            "layout": None,
            "days": None,
            "budget": None,
            "measured_step_time_s": None,
            "measured_steps": (),
            "precision": precision,
        }
    )


def _step_s(est: Estimate) -> float:
    return est.global_batch_tokens / est.throughput.tokens_per_s


def _split(
    base: Scenario, sites: tuple[SiteRequest, ...], shares: list[float], tokens: float, batch: float
) -> list[Estimate]:
    return [
        estimate(
            _site_scenario(base, s.system, s.nodes * s.system.gpus_per_node, tokens * f, batch * f)
        )
        for s, f in zip(sites, shares, strict=True)
    ]


def _uplink(site: SiteRequest) -> tuple[float, str]:
    if site.wan is not None and site.wan.uplink_gbit_per_s is not None:
        src = site.wan.source_for("uplink_gbit_per_s")
        where = f"{src.title}, {src.as_of}" if src else "catalog"
        return site.wan.uplink_gbit_per_s, f"site uplink, shared ({where})"
    return ASSUMED_WAN_GBIT_PER_S.value, "assumed, no published uplink"


def check_sites(sites: tuple[SiteRequest, ...]) -> None:
    if len(sites) < 2:
        raise CapacityError("a multi-site run needs at least two sites", field="sites")
    seen: set[str] = set()
    for s in sites:
        if s.system.id in seen:
            raise CapacityError(f"site '{s.system.id}' is given twice", field="sites")
        seen.add(s.system.id)


def _bandwidth_for(
    target: float,
    method: SyncMethod,
    *,
    step_s: float,
    h: int,
    wire_bytes: float,
    n_sites: int,
    latency_s: float,
    fragments: int,
    overlap: int,
) -> float | None:
    """Smallest WAN Gbit/s reaching `target` utilisation (None if latency alone forbids it)."""

    def util(gbps: float) -> float:
        hops = 2 * (n_sites - 1) * latency_s * (fragments if method == "streaming" else 1)
        sync = wire_bytes * BITS_PER_BYTE / (gbps * 1e9) + hops
        exp = exposed_s(
            method,
            step_s=step_s,
            inner_steps=h,
            sync_s=sync,
            fragments=fragments,
            overlap_steps=overlap,
        )
        return utilisation(step_s * h, exp)

    lo, hi = math.log(1e-4), math.log(1e6)
    if util(math.exp(hi)) < target:
        return None
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if util(math.exp(mid)) >= target:
            hi = mid
        else:
            lo = mid
    return math.exp(hi)


UTILISATION_TARGETS = (0.9, 0.95)
BALANCE_ROUNDS = 4  # rebalancing passes of the batch split (each re-plans every site)
BALANCE_TOLERANCE = 0.01  # stop when no share moves by more than this


def multisite_estimate(req: MultiSiteRequest) -> MultiSiteEstimate:
    sites = req.sites
    check_sites(sites)
    base = req.base
    if base.space is not None and base.space.dp is not None:
        raise CapacityError(
            "--dp cannot be combined with --sites: each site sizes its own", field="dp"
        )
    method = req.method
    n_sites = len(sites)
    h = 1 if method == "ddp" else (req.inner_steps or int(DEFAULT_INNER_STEPS.value))
    payload, payload_note = DEFAULT_PAYLOAD[method]
    if req.payload is not None:
        payload, payload_note = req.payload, "given"
    notes: list[str] = []
    assumptions: list[str] = []
    seq_len = base.seq_len or base.model.seq_len
    batch, batch_note = global_batch(base, flops_per_token(base.model, seq_len))
    if batch_note:
        notes.append(batch_note)
    tokens = base.tokens

    # the batch split: by GPUs first, then rebalanced so that no site waits for another
    gpus = [s.nodes * s.system.gpus_per_node for s in sites]
    even = [g / sum(gpus) for g in gpus]
    even_est = _split(base, sites, even, tokens, batch)
    even_steps = [_step_s(e) for e in even_est]
    shares, bal_est, steps = even, even_est, even_steps
    for _ in range(BALANCE_ROUNDS):
        # tokens per second of each site at its share; give each the share it can keep up with
        rates = [f / t for f, t in zip(shares, steps, strict=True)]
        nxt = [r / sum(rates) for r in rates]
        if max(abs(a - b) for a, b in zip(nxt, shares, strict=True)) < BALANCE_TOLERANCE:
            break
        nxt_est = _split(base, sites, nxt, tokens, batch)
        nxt_steps = [_step_s(e) for e in nxt_est]
        if max(nxt_steps) >= max(steps):
            break
        shares, bal_est, steps = nxt, nxt_est, nxt_steps
    balanced = shares
    step_s = max(steps)
    even_step_s = max(even_steps)
    batch_run = sum(e.global_batch_tokens for e in bal_est)
    if even_step_s > 1.01 * step_s:
        slow = sites[int(np.argmax(even_steps))].system.id
        idle = 1 - min(even_steps) / even_step_s
        split = ", ".join(f"{s.system.id} {f:.0%}" for s, f in zip(sites, balanced, strict=True))
        notes.append(
            f"with the batch split by GPUs the slowest site ({slow}) bounds every synchronous "
            f"step and the fastest idles {idle:.0%} of it; split the batch and tokens "
            f"{split} to balance them (used here: a step of {step_s:.2f} s instead of "
            f"{even_step_s:.2f} s)"
        )

    # the wide-area network
    uplinks = [_uplink(s) for s in sites]
    if req.wan_gbit_per_s is not None:
        wan, wan_origin = req.wan_gbit_per_s, "given (--wan-gbps)"
    else:
        i = int(np.argmin([u for u, _ in uplinks]))
        wan = uplinks[i][0]
        wan_origin = f"{sites[i].system.id}: {uplinks[i][1]}"
        for s, (u, origin) in zip(sites, uplinks, strict=True):
            if origin.startswith("assumed"):
                assumptions.append(f"{s.system.id}: no published WAN uplink; {u:g} Gbit/s {origin}")
        assumptions.append(
            "the job gets the whole slowest uplink: an upper bound (uplinks are shared with "
            "all the site's traffic); INTELLECT-1's sync times imply far lower effective rates "
            "over the public internet. Measure an all-reduce between the sites and pass "
            "--wan-gbps"
        )
    latency = WAN_LATENCY_S.value
    assumptions.append(f"WAN latency {latency * 1e3:g} ms per hop ({WAN_LATENCY_S.source})")
    params = float(param_counts(base.model).total)
    payload_bytes = params * WAN_BYTES[payload]
    fragments = 1
    if method == "streaming":
        fragments = max(1, base.model.n_layers // int(STREAMING_LAYERS_PER_FRAGMENT.value))
    # streaming sends the same bytes in `fragments` all-reduces, each paying the latency
    sync = allreduce_s(payload_bytes, n_sites, wan, latency * fragments)
    exposed = exposed_s(
        method,
        step_s=step_s,
        inner_steps=h,
        sync_s=sync,
        fragments=fragments,
        overlap_steps=req.overlap_steps,
    )
    compute_s = h * step_s
    util = utilisation(compute_s, exposed)
    outer_steps = tokens / (h * batch_run)
    productive_h = outer_steps * (compute_s + exposed) / SECONDS_PER_HOUR
    wire_bytes = allreduce_bytes(payload_bytes, n_sites)
    if method == "ddp":
        notes.append(
            f"synchronous data parallel over the WAN: {wire_bytes / 1e9:.1f} GB per site every "
            f"{step_s:.2f} s step takes {sync:.1f} s at {wan:g} Gbit/s: the accelerators compute "
            f"{util:.1%} of the time"
        )
    elif method == "streaming":
        notes.append(
            f"streaming: {fragments} fragments of {int(STREAMING_LAYERS_PER_FRAGMENT.value)} "
            f"layers, each transfer overlapping {req.overlap_steps} inner step(s)"
        )

    # goodput over all GPUs: a failure at any site stalls the synchronous step
    w, _, o = OPTIMIZER_BYTES["adam-mixed"]
    inputs = base.goodput
    limits = [s.system.max_wall_time_h for s in sites if s.system.max_wall_time_h is not None]
    if inputs.job_wall_limit_h is None and limits:
        inputs = inputs.model_copy(update={"job_wall_limit_h": min(limits)})
    gp = goodput(
        n_gpus=sum(gpus),
        gpus_per_node=sites[0].system.gpus_per_node,
        state_bytes=params * (w + o),
        productive_h=productive_h,
        inputs=inputs,
    )
    wall_h = productive_h / gp.ettr

    # quality
    if method == "ddp":
        quality = Quality(
            penalty_pct=0.0,
            in_range=True,
            extra_tokens=0.0,
            notes=("synchronous data parallel is the same algorithm as on one site",),
        )
    else:
        pct, in_range, qnotes = quality_penalty_pct(params, n_sites, h)
        extra = extra_tokens_for_same_loss(params, tokens, pct)
        qnotes = [
            f"{pct:+.2f} % loss vs synchronous training at equal tokens ({PENALTY_SOURCE}; "
            f"{H_SOURCE}); Streaming DiLoCo matches DiLoCo (arXiv:2501.18512 Table 5)",
            *qnotes,
            "table losses are rounded to 0.01 (about +-0.2 %); at this size 0.1 % of loss is "
            f"worth {1 / token_efficiency(params, 0.1) - 1:.0%} more tokens, so the extra "
            "tokens are as uncertain as the penalty",
            f"extra tokens for the same loss: the penalty read as a token efficiency at "
            f"{TOKENS_PER_PARAM_OF_TABLES.value:g} tokens/parameter on {EPOCH.name} "
            f"({TOKENS_PER_PARAM_OF_TABLES.source})",
        ]
        quality = Quality(
            penalty_pct=pct, in_range=in_range, extra_tokens=extra, notes=tuple(qnotes)
        )
    extra_h = (
        wall_h * quality.extra_tokens / tokens if math.isfinite(quality.extra_tokens) else math.inf
    )

    # each site alone, for the time saved
    runs: list[SiteRun] = []
    for s, g, f, ef, est, e_est, (u, origin) in zip(
        sites, gpus, balanced, even, bal_est, even_est, uplinks, strict=True
    ):
        alone = estimate(_site_scenario(base, s.system, g, tokens, batch))
        cost = run_cost(s.system, g, wall_h)
        runs.append(
            SiteRun(
                system_id=s.system.id,
                name=s.system.name,
                n_gpus=g,
                n_nodes=g / s.system.gpus_per_node,
                share=f,
                even_share=ef,
                batch_tokens=est.global_batch_tokens,
                step_time_s=_step_s(est),
                even_step_time_s=_step_s(e_est),
                tokens_per_s=est.throughput.tokens_per_s,
                layout=est.layout.describe(),
                uplink_gbit_per_s=None if origin.startswith("assumed") else u,
                uplink_origin=origin,
                gpu_hours=cost.gpu_hours,
                node_hours=cost.node_hours,
                allocation_units=cost.allocation_units,
                allocation_unit=cost.allocation_unit,
                cost=cost.cost,
                energy_mwh=cost.energy_mwh,
                co2_t=cost.co2_t,
                alone_wall_h=alone.wall_clock_h,
                estimate=est,
            )
        )
    best = min(runs, key=lambda r: r.alone_wall_h)
    gbps_for = {
        f"{t:.0%}": _bandwidth_for(
            t,
            method,
            step_s=step_s,
            h=h,
            wire_bytes=wire_bytes,
            n_sites=n_sites,
            latency_s=latency,
            fragments=fragments,
            overlap=req.overlap_steps,
        )
        for t in UTILISATION_TARGETS
    }
    feasible = all(r.estimate.feasible for r in runs)
    for r in runs:
        for reason in r.estimate.reasons:
            notes.append(f"{r.system_id}: {reason.message}")
    return MultiSiteEstimate(
        method=method,
        inner_steps=h,
        payload=payload,
        payload_note=payload_note,
        sites=tuple(runs),
        wan_gbit_per_s=wan,
        wan_origin=wan_origin,
        latency_s=latency,
        params=params,
        wan_bytes_per_sync=wire_bytes,
        sync_s=sync,
        exposed_s=exposed,
        outer_compute_s=compute_s,
        step_time_s=step_s,
        even_step_time_s=even_step_s,
        utilisation=util,
        outer_steps=outer_steps,
        wan_total_tbyte=outer_steps * wire_bytes / 1e12,
        tokens=tokens,
        productive_h=productive_h,
        wall_h=wall_h,
        ettr=gp.ettr,
        quality=quality,
        extra_h=extra_h,
        best_single_site=best.system_id,
        best_single_wall_h=best.alone_wall_h,
        gbps_for=gbps_for,
        feasible=feasible,
        notes=tuple(notes),
        assumptions=tuple(assumptions),
    )
