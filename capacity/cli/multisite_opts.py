"""`--sites/--sync/--inner-steps/--wan-gbps`: one run over several sites (capacity.multisite).

The options are fields of `capacity.inputs.ScenarioOptions` (checked there); this module
resolves --sites against the catalog into a `MultiSiteRequest` and renders a
`MultiSiteEstimate` as text. Used by `estimate` and `report`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from capacity.catalog.loader import Catalog
    from capacity.estimate import Scenario
    from capacity.inputs import ScenarioOptions
    from capacity.multisite import MultiSiteEstimate, MultiSiteRequest, SiteRequest


def parse_sites(cat: Catalog, text: str) -> list[tuple[str, int]]:
    """'a:256,b/p:128' -> [(key, nodes)]; one line naming --sites on any mistake."""
    from capacity.errors import CapacityError

    out: list[tuple[str, int]] = []
    for item in (x.strip() for x in text.split(",")):
        key, sep, nodes_s = item.rpartition(":")
        if not item or not sep or not key:
            raise CapacityError(
                f"'{item}' is not cluster[/partition]:nodes (e.g. leonardo-booster:256)",
                field="sites",
            )
        try:
            nodes = int(nodes_s)
        except ValueError:
            raise CapacityError(
                f"'{nodes_s}' in '{item}' is not a node count", field="sites"
            ) from None
        if nodes <= 0:
            raise CapacityError(f"{item}: nodes must be positive", field="sites")
        out.append((key, nodes))
    return out


def site_requests(cat: Catalog, sites: str) -> tuple[SiteRequest, ...]:
    """The sites of --sites resolved against the catalog, each error naming --sites."""
    from capacity.errors import CapacityError
    from capacity.multisite import SiteRequest, check_sites
    from capacity.system import resolve_system

    reqs = []
    for key, nodes in parse_sites(cat, sites):
        try:
            system = resolve_system(cat, key)
        except CapacityError as exc:
            raise CapacityError(str(exc).split(": ", 1)[-1], field="sites") from None
        if system.nodes is not None and nodes > system.nodes:
            raise CapacityError(
                f"{key}: {nodes} nodes but {system.name} has {system.nodes}", field="sites"
            )
        cluster = system.id.split("/", 1)[0]
        reqs.append(SiteRequest(system=system, nodes=nodes, wan=cat.wan.get(cluster)))
    check_sites(tuple(reqs))
    return tuple(reqs)


def multisite_request(scn: Scenario, cat: Catalog, opts: ScenarioOptions) -> MultiSiteRequest:
    from capacity.multisite import MultiSiteRequest

    assert opts.sites is not None
    return MultiSiteRequest(
        base=scn,
        sites=site_requests(cat, opts.sites),
        method=opts.sync,  # checked by ScenarioOptions
        inner_steps=opts.inner_steps,
        wan_gbit_per_s=opts.wan_gbps,
    )


def first_site(sites: str) -> str:
    """The cluster key of the first site (the base scenario is built on it)."""
    return sites.split(",", 1)[0].strip().rpartition(":")[0] or sites


def _days(hours: float) -> str:
    return f"{hours / 24:,.1f} days"


def render_multisite(ms: MultiSiteEstimate) -> str:
    """The multi-site plan as a text block for the terminal."""
    from capacity.cli.common import table as format_table

    rows = []
    for s in ms.sites:
        cost = (
            "no public price"
            if s.run.cost is None
            else f"{s.run.cost.amount:,.0f} {s.run.cost.currency}"
        )
        rows.append(
            [
                s.system_id,
                f"{s.n_gpus:,}",
                f"{s.share:.0%} ({s.even_share:.0%})",
                f"{s.step_time_s:.2f} ({s.even_step_time_s:.2f})",
                f"{s.tokens_per_s / 1e6:,.2f}M",
                s.layout,
                f"{s.run.allocation_units:,.0f} {s.run.allocation_unit}s",
                cost,
                _days(s.alone_wall_h),
            ]
        )
    table = format_table(
        rows,
        [
            "site",
            "GPUs",
            "share (by GPUs)",
            "step s (by GPUs)",
            "tokens/s",
            "layout",
            "request",
            "cost",
            "alone",
        ],
    )
    sync = {"ddp": "synchronous data parallel every step", "diloco": "DiLoCo"}.get(
        ms.method, "Streaming DiLoCo"
    )
    need = ", ".join(
        f"{k}: {'unreachable' if v is None else f'{v:,.1f} Gbit/s'}" for k, v in ms.gbps_for.items()
    )
    q = ms.quality
    lines = [
        f"multi-site run     {len(ms.sites)} sites, {sync}"
        + ("" if ms.method == "ddp" else f", H={ms.inner_steps} inner steps"),
        f"WAN                {ms.wan_gbit_per_s:g} Gbit/s ({ms.wan_origin}), "
        f"latency {ms.latency_s * 1e3:g} ms",
        f"per sync           {ms.wan_bytes_per_sync / 1e9:,.2f} GB per site ({ms.payload}: "
        f"{ms.payload_note}), {ms.sync_s:,.1f} s on the WAN, {ms.exposed_s:,.1f} s exposed per "
        f"{ms.outer_compute_s:,.0f} s of compute",
        f"utilisation        {ms.utilisation:.1%} (needs {need})",
        f"WAN traffic        {ms.wan_total_tbyte:,.2f} TB per site over the run",
        f"wall-clock         {_days(ms.wall_h)} (goodput ETTR {ms.ettr:.0%})",
        f"quality            {q.penalty_pct:+.2f} % loss at equal tokens"
        + ("" if q.in_range else " (outside the published range)")
        + f"; {q.extra_tokens / 1e9:,.0f}B extra tokens = +{_days(ms.extra_h)} for the same loss",
        f"vs one site        {ms.best_single_site} alone: {_days(ms.best_single_wall_h)}; "
        + (
            f"saves {_days(ms.time_saved_h)} after the extra tokens"
            if ms.time_saved_h > 0
            else f"does not pay off: {_days(-ms.time_saved_h)} longer after the extra tokens"
        ),
        f"verdict            {'feasible' if ms.feasible else 'NOT feasible (see notes)'}",
        "",
        table,
    ]
    if ms.notes:
        lines += ["", "notes:"] + [f"  - {n}" for n in ms.notes]
    lines += ["", "quality:"] + [f"  - {n}" for n in q.notes]
    if ms.assumptions:
        lines += ["", "assumptions:"] + [f"  - {a}" for a in ms.assumptions]
    return "\n".join(lines)
