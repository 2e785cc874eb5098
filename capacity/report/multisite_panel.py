"""The report's multi-site panel: per-site throughput, WAN traffic per sync, utilisation
and the quality penalty of a `MultiSiteEstimate` (capacity.multisite)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from capacity.report import html as h

if TYPE_CHECKING:
    from plotly.graph_objects import Figure

    from capacity.multisite import MultiSiteEstimate

METHOD_NAMES = {
    "ddp": "synchronous data parallel every step",
    "diloco": "DiLoCo",
    "streaming": "Streaming DiLoCo",
}


def step_figure(ms: MultiSiteEstimate) -> Figure:
    """Seconds per inner step of each site: batch split by GPUs against the balanced split
    (the slowest site bounds every synchronous step)."""
    import plotly.graph_objects as go

    from capacity.report.figures import PALETTE, _layout

    names = [h.esc(s.system_id) for s in ms.sites]
    fig = go.Figure()
    fig.add_bar(
        name="batch split by GPUs",
        x=names,
        y=[s.even_step_time_s for s in ms.sites],
        marker_color=PALETTE[5],
        hovertemplate="%{x}: %{y:.2f} s per inner step<extra></extra>",
    )
    fig.add_bar(
        name="balanced split (used)",
        x=names,
        y=[s.step_time_s for s in ms.sites],
        marker_color=PALETTE[0],
        hovertemplate="%{x}: %{y:.2f} s per inner step<extra></extra>",
    )
    fig.update_layout(barmode="group", yaxis={"title": "s per inner step"})
    return _layout(fig, "Inner-step time per site", 340)


def section(ms: MultiSiteEstimate) -> str:
    """The multi-site section of the report. Long on purpose: HTML cards, the per-site
    table and the chart, in page order."""
    from capacity.report.figures import to_div

    q = ms.quality
    h_text = "" if ms.method == "ddp" else f", H = {ms.inner_steps} inner steps"
    cards = [
        h.card("Wall-clock", "multisite.wall_clock_days", ms.wall_clock_days, "days"),
        h.card(
            "Compute utilisation",
            "multisite.utilisation",
            ms.utilisation * 100,
            "%",
            note=f"{ms.exposed_s:,.1f} s exposed per {ms.outer_compute_s:,.0f} s of compute",
        ),
        h.card(
            "WAN per sync",
            "multisite.wan_gbyte_per_sync",
            ms.wan_bytes_per_sync / 1e9,
            "GB per site",
            note=f"{ms.payload}, {ms.sync_s:,.1f} s at {ms.wan_gbit_per_s:g} Gbit/s",
        ),
        h.card(
            "Quality penalty",
            "multisite.penalty_pct",
            q.penalty_pct,
            "% loss",
            note=f"+{q.extra_tokens / 1e9:,.0f}B tokens = +{ms.extra_h / 24:,.1f} days"
            + ("" if q.in_range else " (outside the published range)"),
        ),
    ]
    rows = [
        (
            s.system_id,
            h.fmt_int(s.n_gpus),
            f"{s.share:.0%} ({s.even_share:.0%})",
            f"{s.step_time_s:.2f} ({s.even_step_time_s:.2f})",
            h.fmt_int(s.tokens_per_s),
            s.layout,
            "—" if s.uplink_gbit_per_s is None else f"{s.uplink_gbit_per_s:g}",
            f"{h.fmt_int(s.run.allocation_units)} {s.run.allocation_unit}s",
            h.fmt_num(s.alone_wall_h / 24),
        )
        for s in ms.sites
    ]
    table = h.table(
        [
            "site",
            "GPUs",
            "batch share (by GPUs)",
            "s/step (by GPUs)",
            "tokens/s",
            "layout",
            "uplink Gbit/s",
            "request",
            "alone, days",
        ],
        rows,
        numeric=(1, 4, 6, 8),
    )
    need = ", ".join(
        f"{k} utilisation: {'unreachable' if v is None else f'{v:,.1f} Gbit/s'}"
        for k, v in ms.gbps_for.items()
    )
    saved = (
        f"saves {ms.time_saved_h / 24:,.1f} days"
        if ms.time_saved_h > 0
        else f"does not pay off ({-ms.time_saved_h / 24:,.1f} days longer)"
    )
    intro = (
        f"<p>{len(ms.sites)} sites, {h.esc(METHOD_NAMES[ms.method])}{h.esc(h_text)}; WAN "
        f"{ms.wan_gbit_per_s:g} Gbit/s ({h.esc(ms.wan_origin)}). Needed for {h.esc(need)}. "
        f"Against {h.esc(ms.best_single_site)} alone ({ms.best_single_wall_h / 24:,.1f} days) "
        f"the run {h.esc(saved)} once the extra tokens for the same loss are counted. "
        f"The sections below this one show the first site, {h.esc(ms.sites[0].system_id)}, "
        "running the whole training alone.</p>"
    )
    notes = h.bullet_list([*ms.notes, *q.notes, *ms.assumptions], cls="small")
    body = (
        intro
        + f'<div class="cards">{"".join(cards)}</div>'
        + to_div(step_figure(ms), "chart-multisite")
        + table
        + notes
    )
    return h.section("Multi-site run", body, id_="multisite")
