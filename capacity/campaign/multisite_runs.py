"""A [[runs]] entry spread over several [[systems]] (`sites`): one request per site.

The run is planned by `capacity.multisite` (each site its own layout and batch share,
the WAN sync, the quality penalty); each site then gets its own `RunPlan`, so every
request is made on its system and in that system's billing unit, for the whole run's
wall-clock (the sites train together from start to end).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from capacity.campaign.result import CampaignWarning, Quarter, RunPlan
from capacity.campaign.runs import _checkpoint_tb, _partition_ok, _period_ok, run_scenario
from capacity.campaign.spec import Campaign, CampaignError, CampaignRun, entry_name
from capacity.catalog.schemas import EfficiencyCalibration, ExchangeRates, ModelSpec, WanSite
from capacity.cost import convert
from capacity.errors import CapacityError
from capacity.multisite import (
    MultiSiteEstimate,
    MultiSiteRequest,
    SiteRequest,
    multisite_estimate,
)
from capacity.queues import choose_queue
from capacity.system import System
from capacity.workload import param_counts


def plan_multisite_run(
    index: int,
    run: CampaignRun,
    campaign: Campaign,
    systems: Mapping[str, System],
    model: ModelSpec | None,
    quarters: tuple[Quarter, ...],
    rates: ExchangeRates | None,
    calibration: EfficiencyCalibration | None,
    wan: Mapping[str, WanSite],
    warnings: list[CampaignWarning],
) -> tuple[tuple[RunPlan, ...], str]:
    """The run's `RunPlan` on each of its sites, and a note summarising the multi-site plan.

    Long because each site's RunPlan gathers many per-site fields (hours in its unit, queue,
    energy, cost) in one constructor call; the logic itself is a loop over sites.
    """
    where = entry_name("runs", index, run.name)

    def warn(code: Any, message: str) -> None:
        warnings.append(CampaignWarning(entry=where, code=code, message=message))

    if model is None or run.tokens is None:
        raise CampaignError("no model resolved for this run", entry=where, field="model")
    sites = run.site_nodes
    reqs = tuple(
        SiteRequest(system=systems[sid], nodes=n, wan=wan.get(systems[sid].id.split("/", 1)[0]))
        for sid, n in sites.items()
    )
    first = reqs[0].system
    base = run_scenario(run, model, first, rates, calibration)
    try:
        ms = multisite_estimate(
            MultiSiteRequest(
                base=base,
                sites=reqs,
                method=run.sync,
                inner_steps=run.inner_steps,
                wan_gbit_per_s=run.wan_gbps,
            )
        )
    except CapacityError as exc:
        raise CampaignError(str(exc), entry=where, field=exc.field or "sites") from None

    plans = []
    for (sid, nodes), site in zip(sites.items(), ms.sites, strict=True):
        system = systems[sid]
        one = run.model_copy(update={"system": sid, "nodes": nodes, "sites": None})
        ok = _partition_ok(one, system, warn)
        for reason in site.estimate.reasons:
            if reason.code == "memory":
                ok = False
                warn("memory", f"{sid}, {nodes} nodes: {reason.message}")
        period_ok, qs, calendar_h = _period_ok(
            one, quarters, campaign.campaign.months, (ms.wall_h,), warn
        )
        # the site's job runs in the QoS that admits it, chained by that QoS's wall time
        queue = choose_queue(system, nodes, ms.wall_h)
        if not queue.admits and queue.message:
            ok = False
            warn("partition", queue.message)
        jobs = 1
        if queue.wall_limit_h is not None:
            jobs = max(1, math.ceil(ms.wall_h / queue.wall_limit_h))
        conv = (
            None
            if site.run.cost is None
            else convert(site.run.cost, campaign.campaign.currency, rates)
        )
        plans.append(
            RunPlan(
                index=index,
                name=f"{run.name} [{sid}]",
                kind=run.kind,
                system_id=sid,
                model_name=None if run.model is None else model.name,
                params=float(param_counts(model).total),
                tokens=run.tokens * site.share,
                node_counts=(nodes,),
                gpus_per_node=system.gpus_per_node,
                count=1,
                concurrent=1,
                quarters=qs,
                wall_clock_h_per_job=(ms.wall_h,),
                jobs_chained=jobs,
                calendar_h=calendar_h,
                billing_unit=system.allocation_unit,
                units=site.run.allocation_units,
                gpu_hours=site.run.gpu_hours,
                node_hours=site.run.node_hours,
                units_by_quarter={q: site.run.allocation_units / len(qs) for q in qs},
                energy_mwh=site.run.energy_mwh,
                co2_t=site.run.co2_t,
                cost=site.run.cost,
                cost_converted=conv,
                checkpoint_tb=_checkpoint_tb(one, campaign, model),
                peak_nodes=nodes,
                peak_concurrent_nodes=nodes,
                estimates=(site.estimate,),
                mfu=site.estimate.throughput.mfu,
                feasible=ok and period_ok,
                queues=(queue.name,),
            )
        )
    return tuple(plans), multisite_note(where, ms)


def multisite_note(where: str, ms: MultiSiteEstimate) -> str:
    q = ms.quality
    h = "" if ms.method == "ddp" else f" H={ms.inner_steps},"
    shares = ", ".join(f"{s.system_id} {s.share:.0%}" for s in ms.sites)
    return (
        f"{where}: one run over {len(ms.sites)} sites ({ms.method},{h} tokens split {shares}); "
        f"{ms.wall_h / 24:,.1f} days at {ms.utilisation:.0%} compute utilisation with "
        f"{ms.wan_bytes_per_sync / 1e9:,.1f} GB per site per sync over {ms.wan_gbit_per_s:g} "
        f"Gbit/s ({ms.wan_origin}); quality {q.penalty_pct:+.2f} % loss"
        + ("" if q.in_range else " (outside the published range)")
        + ", "
        + f"{q.extra_tokens / 1e9:,.0f}B extra tokens (+{ms.extra_h / 24:,.1f} days) for the "
        "same loss, not included in the request"
    )
