"""The multi-site plan: each site's share of the batch (balanced so that no site waits
for another), the WAN sync and what it costs in utilisation, goodput over all sites,
the quality cost in extra hours, and each site alone for the time saved."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from capacity.catalog.schemas import Precision
from capacity.cost import run_cost
from capacity.errors import CapacityError
from capacity.estimate import Estimate, Scenario, estimate, global_batch
from capacity.flops import flops_per_token
from capacity.goodput import goodput
from capacity.memory import OPTIMIZER_BYTES
from capacity.multisite.models import (
    MultiSiteEstimate,
    MultiSiteRequest,
    Quality,
    SiteRequest,
    SiteRun,
)
from capacity.multisite.quality import (
    H_SOURCE,
    PENALTY_SOURCE,
    TOKENS_PER_PARAM_OF_TABLES,
    extra_tokens_for_same_loss,
    quality_penalty_pct,
    token_efficiency,
)
from capacity.multisite.wan import (
    ASSUMED_WAN_GBIT_PER_S,
    DEFAULT_INNER_STEPS,
    DEFAULT_PAYLOAD,
    STREAMING_LAYERS_PER_FRAGMENT,
    WAN_BYTES,
    WAN_LATENCY_S,
    SyncMethod,
    allreduce_bytes,
    allreduce_s,
    bandwidth_for,
    exposed_s,
    utilisation,
)
from capacity.scaling.parametric import EPOCH
from capacity.system import System
from capacity.throughput import default_precision
from capacity.units import SECONDS_PER_HOUR
from capacity.workload import param_counts


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


UTILISATION_TARGETS = (0.9, 0.95)
BALANCE_ROUNDS = 4  # rebalancing passes of the batch split (each re-plans every site)
BALANCE_TOLERANCE = 0.01  # stop when no share moves by more than this


class _Split(NamedTuple):
    gpus: list[int]
    even: list[float]  # shares proportional to GPUs
    even_est: list[Estimate]
    even_steps: list[float]
    balanced: list[float]  # shares after rebalancing
    bal_est: list[Estimate]
    steps: list[float]


class _Wan(NamedTuple):
    gbit_per_s: float
    origin: str
    uplinks: list[tuple[float, str]]


def _balance(base: Scenario, sites: tuple[SiteRequest, ...], tokens: float, batch: float) -> _Split:
    """The batch split: by GPUs first, then rebalanced so that no site waits for another."""
    gpus = [s.nodes * s.system.gpus_per_node for s in sites]
    even = [g / sum(gpus) for g in gpus]
    even_est = _split(base, sites, even, tokens, batch)
    even_steps = [_step_s(e) for e in even_est]
    shares, bal_est, steps = even, even_est, even_steps
    for _ in range(BALANCE_ROUNDS):
        # tokens per second of each site at the batch it runs (the estimate rounds a share's
        # batch to whole sequences per rank, so share / step mixed two batches); give each
        # the share it can keep up with
        rates = [e.throughput.tokens_per_s for e in bal_est]
        nxt = [r / sum(rates) for r in rates]
        if max(abs(a - b) for a, b in zip(nxt, shares, strict=True)) < BALANCE_TOLERANCE:
            break
        nxt_est = _split(base, sites, nxt, tokens, batch)
        nxt_steps = [_step_s(e) for e in nxt_est]
        if max(nxt_steps) >= max(steps):
            break
        shares, bal_est, steps = nxt, nxt_est, nxt_steps
    return _Split(gpus, even, even_est, even_steps, shares, bal_est, steps)


# Presentation: a split by GPUs within 1 % of the balanced step gets no imbalance note.
IMBALANCE_NOTE_RATIO = 1.01


def _imbalance_note(sites: tuple[SiteRequest, ...], sp: _Split) -> str | None:
    step_s, even_step_s = max(sp.steps), max(sp.even_steps)
    if even_step_s <= IMBALANCE_NOTE_RATIO * step_s:
        return None
    slow = sites[int(np.argmax(sp.even_steps))].system.id
    idle = 1 - min(sp.even_steps) / even_step_s
    split = ", ".join(f"{s.system.id} {f:.0%}" for s, f in zip(sites, sp.balanced, strict=True))
    return (
        f"with the batch split by GPUs the slowest site ({slow}) bounds every synchronous "
        f"step and the fastest idles {idle:.0%} of it; split the batch and tokens "
        f"{split} to balance them (used here: a step of {step_s:.2f} s instead of "
        f"{even_step_s:.2f} s)"
    )


def _wan(req: MultiSiteRequest, assumptions: list[str]) -> _Wan:
    """The WAN rate: given, or the slowest site's uplink (its assumptions appended)."""
    sites = req.sites
    uplinks = [_uplink(s) for s in sites]
    if req.wan_gbit_per_s is not None:
        return _Wan(req.wan_gbit_per_s, "given (--wan-gbps)", uplinks)
    i = int(np.argmin([u for u, _ in uplinks]))
    for s, (u, origin) in zip(sites, uplinks, strict=True):
        if origin.startswith("assumed"):
            assumptions.append(f"{s.system.id}: no published WAN uplink; {u:g} Gbit/s {origin}")
    assumptions.append(
        "the job gets the whole slowest uplink: an upper bound (uplinks are shared with "
        "all the site's traffic); INTELLECT-1's sync times imply far lower effective rates "
        "over the public internet. Measure an all-reduce between the sites and pass "
        "--wan-gbps"
    )
    return _Wan(uplinks[i][0], f"{sites[i].system.id}: {uplinks[i][1]}", uplinks)


def _ettr(
    base: Scenario, sites: tuple[SiteRequest, ...], n_gpus: int, params: float, productive_h: float
) -> float:
    """Goodput over all GPUs: a failure at any site stalls the synchronous step."""
    w, _, o = OPTIMIZER_BYTES["adam-mixed"]
    inputs = base.goodput
    limits = [s.system.max_wall_time_h for s in sites if s.system.max_wall_time_h is not None]
    if inputs.job_wall_limit_h is None and limits:
        inputs = inputs.model_copy(update={"job_wall_limit_h": min(limits)})
    gp = goodput(
        n_gpus=n_gpus,
        gpus_per_node=sites[0].system.gpus_per_node,
        state_bytes=params * (w + o),
        productive_h=productive_h,
        inputs=inputs,
    )
    return gp.ettr


def _quality(method: SyncMethod, params: float, n_sites: int, h: int, tokens: float) -> Quality:
    if method == "ddp":
        return Quality(
            penalty_pct=0.0,
            in_range=True,
            extra_tokens=0.0,
            notes=("synchronous data parallel is the same algorithm as on one site",),
        )
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
    return Quality(penalty_pct=pct, in_range=in_range, extra_tokens=extra, notes=tuple(qnotes))


def _site_runs(
    base: Scenario,
    sites: tuple[SiteRequest, ...],
    sp: _Split,
    uplinks: list[tuple[float, str]],
    tokens: float,
    batch: float,
    wall_h: float,
) -> list[SiteRun]:
    """Each site's part of the run, its cost over the run's wall-clock, and it alone."""
    runs: list[SiteRun] = []
    for s, g, f, ef, est, e_est, (u, origin) in zip(
        sites, sp.gpus, sp.balanced, sp.even, sp.bal_est, sp.even_est, uplinks, strict=True
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
                run=cost,
                alone_wall_h=alone.wall_clock_h,
                estimate=est,
            )
        )
    return runs


class _Sync(NamedTuple):
    fragments: int
    wire_bytes: float  # sent by each site's edge per sync
    sync_s: float
    exposed_s: float
    compute_s: float
    utilisation: float


def _sync(
    req: MultiSiteRequest, h: int, step_s: float, wan: float, latency: float, payload_bytes: float
) -> _Sync:
    """One outer step's WAN sync: its time, what compute hides of it, and the utilisation."""
    n_sites = len(req.sites)
    fragments = 1
    if req.method == "streaming":
        fragments = max(1, req.base.model.n_layers // int(STREAMING_LAYERS_PER_FRAGMENT.value))
    # streaming sends the same bytes in `fragments` all-reduces, each paying the latency
    sync = allreduce_s(payload_bytes, n_sites, wan, latency * fragments)
    exposed = exposed_s(
        req.method,
        step_s=step_s,
        inner_steps=h,
        sync_s=sync,
        fragments=fragments,
        overlap_steps=req.overlap_steps,
    )
    compute_s = h * step_s
    util = utilisation(compute_s, exposed)
    wire_bytes = allreduce_bytes(payload_bytes, n_sites)
    return _Sync(fragments, wire_bytes, sync, exposed, compute_s, util)


def _method_note(req: MultiSiteRequest, sy: _Sync, step_s: float, wan: float) -> str | None:
    if req.method == "ddp":
        return (
            f"synchronous data parallel over the WAN: {sy.wire_bytes / 1e9:.1f} GB per site every "
            f"{step_s:.2f} s step takes {sy.sync_s:.1f} s at {wan:g} Gbit/s: the accelerators "
            f"compute {sy.utilisation:.1%} of the time"
        )
    if req.method == "streaming":
        return (
            f"streaming: {sy.fragments} fragments of {int(STREAMING_LAYERS_PER_FRAGMENT.value)} "
            f"layers, each transfer overlapping {req.overlap_steps} inner step(s)"
        )
    return None


def _gbps_for(
    req: MultiSiteRequest, sy: _Sync, step_s: float, h: int, latency: float
) -> dict[str, float | None]:
    """WAN Gbit/s needed for each of UTILISATION_TARGETS."""
    return {
        f"{t:.0%}": bandwidth_for(
            t,
            req.method,
            step_s=step_s,
            h=h,
            wire_bytes=sy.wire_bytes,
            n_sites=len(req.sites),
            latency_s=latency,
            fragments=sy.fragments,
            overlap=req.overlap_steps,
        )
        for t in UTILISATION_TARGETS
    }


def multisite_estimate(req: MultiSiteRequest) -> MultiSiteEstimate:
    """Plan one run over `req.sites`; the steps are the helpers above, in order.

    Just over 80 lines: it only threads the helpers' results into the one result model,
    and 30 of its lines are the MultiSiteEstimate fields."""
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

    sp = _balance(base, sites, tokens, batch)
    step_s = max(sp.steps)
    even_step_s = max(sp.even_steps)
    batch_run = sum(e.global_batch_tokens for e in sp.bal_est)
    if (imbalance := _imbalance_note(sites, sp)) is not None:
        notes.append(imbalance)

    link = _wan(req, assumptions)
    wan = link.gbit_per_s
    latency = WAN_LATENCY_S.value
    assumptions.append(f"WAN latency {latency * 1e3:g} ms per hop ({WAN_LATENCY_S.source})")
    params = float(param_counts(base.model).total)
    sy = _sync(req, h, step_s, wan, latency, params * WAN_BYTES[payload])
    outer_steps = tokens / (h * batch_run)
    productive_h = outer_steps * (sy.compute_s + sy.exposed_s) / SECONDS_PER_HOUR
    if (method_note := _method_note(req, sy, step_s, wan)) is not None:
        notes.append(method_note)

    ettr = _ettr(base, sites, sum(sp.gpus), params, productive_h)
    wall_h = productive_h / ettr
    quality = _quality(method, params, n_sites, h, tokens)
    extra_h = (
        wall_h * quality.extra_tokens / tokens if math.isfinite(quality.extra_tokens) else math.inf
    )
    runs = _site_runs(base, sites, sp, link.uplinks, tokens, batch, wall_h)
    best = min(runs, key=lambda r: r.alone_wall_h)
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
        wan_origin=link.origin,
        latency_s=latency,
        params=params,
        wan_bytes_per_sync=sy.wire_bytes,
        sync_s=sy.sync_s,
        exposed_s=sy.exposed_s,
        outer_compute_s=sy.compute_s,
        step_time_s=step_s,
        even_step_time_s=even_step_s,
        utilisation=sy.utilisation,
        outer_steps=outer_steps,
        wan_total_tbyte=outer_steps * sy.wire_bytes / 1e12,
        tokens=tokens,
        productive_h=productive_h,
        wall_h=wall_h,
        ettr=ettr,
        quality=quality,
        extra_h=extra_h,
        best_single_site=best.system_id,
        best_single_wall_h=best.alone_wall_h,
        gbps_for=_gbps_for(req, sy, step_s, h, latency),
        feasible=all(r.estimate.feasible for r in runs),
        notes=tuple(notes),
        assumptions=tuple(assumptions),
    )
