"""plotly figures of the report and the proposal (plotly is imported here only).

Each function returns a `Figure` or None when there is nothing to draw. Text that
may come from a user is escaped (plotly reads a small HTML subset in labels).
`to_div` renders one figure without plotly.js: the page embeds it once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from capacity.report.html import FONT_STACK, esc

if TYPE_CHECKING:
    from plotly.graph_objects import Figure

    from capacity.campaign import CampaignPlan
    from capacity.compare import CompareRow
    from capacity.evidence import Evidence
    from capacity.report.data import LawPanel, StrongScaling
    from capacity.scaling.fit import LawFit

PALETTE = ("#1f5fa8", "#e07b00", "#2a9d5c", "#b3261e", "#7b4fa6", "#5b6b7b", "#c2a000", "#0f8b8d")
# 16 mutually distinct colours (the palette, then 8 more of other hues and lightness) for
# stacked segments: no two segments of one bar may share a colour.
SEGMENT_COLOURS = (
    *PALETTE,
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#9edae5",
    "#bcbd22",
    "#ff9896",
    "#393b79",
    "#f7b6d2",
)
WIDE = "scroll"  # layout.meta.narrow: the chart scrolls sideways on a phone instead of shrinking


def segment_colours(n: int) -> list[str]:
    """`n` distinct colours: the fixed list, then evenly spaced hues beyond it."""
    if n <= len(SEGMENT_COLOURS):
        return list(SEGMENT_COLOURS[:n])
    extra = [f"hsl({round(360 * i / (n - len(SEGMENT_COLOURS)))}, 55%, 42%)" for i in range(n)]
    return [*SEGMENT_COLOURS, *extra[: n - len(SEGMENT_COLOURS)]]


def unique_labels(labels: Sequence[str], keys: Sequence[str], max_len: int = 48) -> list[str]:
    """Labels cut to `max_len`, made unique with their key: plotly stacks bars that share a
    category, so two systems whose names shorten alike would be drawn as one summed bar."""
    cut = [lbl if len(lbl) <= max_len else lbl[: max_len - 2] + "…" for lbl in labels]
    out = []
    for lbl, key in zip(cut, keys, strict=True):
        out.append(f"{lbl} [{key}]" if cut.count(lbl) > 1 else lbl)
    seen: dict[str, int] = {}
    final = []
    for lbl in out:  # identical keys too: number them
        seen[lbl] = seen.get(lbl, 0) + 1
        final.append(lbl if seen[lbl] == 1 else f"{lbl} #{seen[lbl]}")
    return final


CONFIG = {"displaylogo": False, "responsive": True}
BOTTOM_LEGEND = {
    "orientation": "h",
    "yanchor": "top",
    "y": -0.45,
    "xanchor": "left",
    "x": 0,
    "traceorder": "normal",
}


def _layout(fig: Figure, title: str, height: int) -> Figure:
    fig.update_layout(
        template="plotly_white",
        title={"text": title, "x": 0.01, "xanchor": "left", "font": {"size": 16}},
        font={"family": FONT_STACK, "size": 12, "color": "#1d2733"},
        height=height,
        margin={"l": 70, "r": 30, "t": 60, "b": 60},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1},
    )
    return fig


def to_div(fig: Figure, div_id: str) -> str:
    body = fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=div_id,
        config=CONFIG,
        default_width="100%",
        default_height=f"{fig.layout.height or 450}px",
    )
    meta = fig.layout.meta if isinstance(fig.layout.meta, dict) else {}
    klass = "chart wide" if meta.get("narrow") == WIDE else "chart"
    return f'<div class="{klass}" data-chart="{esc(div_id)}">{body}</div>'


# -- Memory ---------------------------------------------------------------------------

MEMORY_ORDER = ("weights", "gradients", "optimizer", "activations", "buffers")


def memory_figure(
    parts: dict[str, float],
    total_gib: float,
    capacity: float | None,
    usable: float | None,
    accelerator: str,
) -> Figure | None:
    """Stacked bar of the most loaded GPU's memory against the device capacity."""
    import plotly.graph_objects as go

    if not parts:
        return None
    parts = {k: float(v or 0.0) for k, v in parts.items() if isinstance(v, int | float)}
    rest = total_gib - sum(parts.values())
    if rest > 0.05:  # the total counts something the breakdown does not itemise
        parts["other"] = rest
    keys = [k for k in MEMORY_ORDER if k in parts] + [k for k in parts if k not in MEMORY_ORDER]
    fig = go.Figure()
    colours = segment_colours(len(keys))
    for i, k in enumerate(keys):
        v = float(parts[k] or 0.0)
        label = k.replace("_", " ")
        fig.add_trace(
            go.Bar(
                y=["per GPU"],
                x=[v],
                name=f"{label} {v:,.1f} GiB",
                orientation="h",
                marker_color=colours[i],
                hovertemplate=f"{esc(label)}: %{{x:.2f}} GiB<extra></extra>",
            )
        )
    total = total_gib
    top = max(total, capacity or 0.0) * 1.08
    if capacity:
        fig.add_vline(
            x=capacity,
            line={"color": "#b3261e", "width": 3},
            annotation_text=f"capacity {capacity:g} GiB",
            annotation_position="top left",
        )
    if usable and capacity and usable < capacity:
        fig.add_vline(
            x=usable,
            line={"color": "#b3261e", "width": 1, "dash": "dash"},
            annotation_text=f"usable {usable:,.1f} GiB",
            annotation_position="bottom left",
        )
    fig.update_layout(barmode="stack")
    fig.update_xaxes(title_text="memory per GPU (GiB)", range=[0, top])
    fig.update_yaxes(showticklabels=False)
    title = (
        f"Predicted memory per GPU: {total:,.1f} GiB of {capacity or 0:g} GiB ({esc(accelerator)})"
    )
    _layout(fig, title, 280)
    fig.update_layout(margin={"t": 50, "b": 40}, legend=BOTTOM_LEGEND)
    return fig


# -- Step time ------------------------------------------------------------------------


def step_time_figure(components_s: dict[str, float], title: str) -> Figure | None:
    """One horizontal stacked bar: where the seconds of a training step go."""
    import plotly.graph_objects as go

    if not components_s:
        return None
    fig = go.Figure()
    colours = segment_colours(len(components_s))
    for i, (name, sec) in enumerate(components_s.items()):
        fig.add_trace(
            go.Bar(
                y=["step"],
                x=[sec],
                name=f"{name} {sec:,.3g} s",
                orientation="h",
                marker_color=colours[i],
                hovertemplate=f"{esc(name)}: %{{x:.3g}} s<extra></extra>",
            )
        )
    fig.update_layout(barmode="stack")
    fig.update_xaxes(title_text="seconds per optimizer step")
    fig.update_yaxes(showticklabels=False)
    if "predicted" not in title.lower():  # model output: say so in the title itself
        title = f"{title} (predicted)"
    _layout(fig, title, 300)
    fig.update_layout(margin={"t": 50, "b": 40}, legend=BOTTOM_LEGEND)
    return fig


# -- Strong scaling -------------------------------------------------------------------


def scaling_figure(data: StrongScaling, max_nodes_per_job: int | None) -> Figure | None:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    ok = [p for p in data.points if p.wall_clock_days is not None]
    if len(ok) < 2:
        return None
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fits = [p for p in ok if p.fits_memory]
    oom = [p for p in ok if not p.fits_memory]
    fig.add_trace(
        go.Scatter(
            x=[p.nodes for p in fits],
            y=[p.wall_clock_days for p in fits],
            mode="lines+markers",
            name="wall-clock (days)",
            line={"color": PALETTE[0], "width": 3},
            hovertemplate="%{x} nodes: %{y:.1f} days<extra></extra>",
        ),
        secondary_y=False,
    )
    if oom:
        fig.add_trace(
            go.Scatter(
                x=[p.nodes for p in oom],
                y=[p.wall_clock_days for p in oom],
                mode="markers",
                name="does not fit memory",
                marker={"symbol": "x", "size": 11, "color": "#b3261e"},
                hovertemplate="%{x} nodes: out of memory<extra></extra>",
            ),
            secondary_y=False,
        )
    eff = [p for p in ok if p.efficiency is not None]
    fig.add_trace(
        go.Scatter(
            x=[p.nodes for p in eff],
            y=[100 * (p.efficiency or 0) for p in eff],
            mode="lines+markers",
            name="efficiency (%)",
            line={"color": PALETTE[1], "dash": "dot"},
            hovertemplate="%{x} nodes: %{y:.0f} %<extra></extra>",
        ),
        secondary_y=True,
    )
    chosen = [p for p in ok if p.chosen]
    if chosen:
        fig.add_trace(
            go.Scatter(
                x=[chosen[0].nodes],
                y=[chosen[0].wall_clock_days],
                mode="markers",
                name="this run",
                marker={
                    "size": 16,
                    "color": "rgba(0,0,0,0)",
                    "line": {"width": 3, "color": "#000"},
                },
                hovertemplate="this run: %{x} nodes, %{y:.1f} days<extra></extra>",
            ),
            secondary_y=False,
        )
    # Vertical markers as line traces on the efficiency axis (fixed 0-110 %): shapes and
    # annotations disagree on log-axis units across plotly.js versions.
    markers = []
    if data.knee_nodes is not None:
        markers.append(
            (
                data.knee_nodes,
                f"efficiency < {data.floor:.0%} from {data.knee_nodes} nodes",
                "#8a5a00",
            )
        )
    if max_nodes_per_job is not None and max_nodes_per_job <= max(p.nodes for p in ok):
        markers.append((max_nodes_per_job, f"job limit {max_nodes_per_job} nodes", "#5b6b7b"))
    for x, label, colour in markers:
        fig.add_trace(
            go.Scatter(
                x=[x, x],
                y=[0, 105],
                mode="lines",
                name=label,
                line={"color": colour, "dash": "dash", "width": 1.5},
                hovertemplate=f"{label}<extra></extra>",
            ),
            secondary_y=True,
        )
    fig.update_xaxes(title_text="nodes (log scale)", type="log", tickvals=[p.nodes for p in ok])
    fig.update_yaxes(
        title_text="wall-clock (days, log scale)",
        type="log",
        tickvals=_log_ticks([p.wall_clock_days or 1.0 for p in ok]),
        secondary_y=False,
    )
    fig.update_yaxes(
        title_text="efficiency (% of ideal)",
        range=[0, 110],
        tickvals=[0, 20, 40, 60, 80, 100],
        showgrid=False,
        secondary_y=True,
    )
    _layout(fig, f"Predicted strong scaling on {esc(data.system)}", 430)
    fig.update_layout(margin={"t": 90})
    return fig


# -- Cluster comparison ---------------------------------------------------------------


def compare_figure(rows: Sequence[CompareRow], chosen_id: str, currency: str) -> Figure | None:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    good = [r for r in rows if r.estimate is not None and r.estimate.feasible]
    if not good:
        return None
    names = [
        esc(n) for n in unique_labels([r.system.name for r in good], [r.system.id for r in good])
    ]
    colors = [PALETTE[1] if r.system.id == chosen_id else PALETTE[0] for r in good]
    days = [r.estimate.wall_clock_days if r.estimate else None for r in good]
    cost = [r.cost_converted.amount if r.cost_converted else None for r in good]
    co2 = [r.estimate.run.co2_t if r.estimate else None for r in good]
    fig = make_subplots(
        rows=1,
        cols=3,
        shared_yaxes=True,
        horizontal_spacing=0.03,
        subplot_titles=("wall-clock (days)", f"cost ({currency}, where priced)", "CO2e (t)"),
    )
    for col, (vals, fmt) in enumerate(((days, ".1f"), (cost, ",.0f"), (co2, ".1f")), start=1):
        fig.add_trace(
            go.Bar(
                y=names,
                x=vals,
                orientation="h",
                marker_color=colors,
                showlegend=False,
                hovertemplate=f"%{{y}}: %{{x:{fmt}}}<extra></extra>",
            ),
            row=1,
            col=col,
        )
    fig.update_yaxes(autorange="reversed", tickfont={"size": 11})
    height = max(320, 80 + 22 * len(good))
    _layout(fig, "Cluster comparison (predicted): the same run on every feasible system", height)
    fig.update_layout(margin={"l": 330, "t": 90}, meta={"narrow": WIDE})
    return fig


# -- Scaling law ----------------------------------------------------------------------


def law_figure(panel: LawPanel, model_name: str) -> Figure:
    import plotly.graph_objects as go

    fig = go.Figure()
    for i, (c, ns, ls) in enumerate(panel.curves):
        fig.add_trace(
            go.Scatter(
                x=ns,
                y=ls,
                mode="lines",
                name=f"isoFLOP {c:.1e} FLOPs",
                line={"color": PALETTE[(i + 2) % len(PALETTE)], "width": 1.5},
                hovertemplate="N=%{x:.3s} params, loss %{y:.3f}<extra></extra>",
            )
        )
    _c, n_f, l_f = panel.frontier
    fig.add_trace(
        go.Scatter(
            x=n_f,
            y=l_f,
            mode="lines",
            name="compute-optimal frontier",
            line={"color": "#1d2733", "width": 2.5, "dash": "dash"},
            hovertemplate="N_opt=%{x:.3s}, loss %{y:.3f}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=[panel.optimal_params],
            y=[panel.optimal_loss],
            mode="markers",
            name="optimum at this compute",
            marker={"symbol": "diamond", "size": 11, "color": PALETTE[0]},
            hovertemplate="optimum: N=%{x:.3s}, loss %{y:.3f}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=[panel.params],
            y=[panel.loss],
            mode="markers",
            name=f"this run: {esc(model_name)}",
            marker={"symbol": "star", "size": 16, "color": PALETTE[1]},
            hovertemplate="this run: N=%{x:.3s}, loss %{y:.3f}<extra></extra>",
        )
    )
    lo = min(min(ls) for _, _, ls in panel.curves)
    hi = max(panel.loss, *(ls[len(ls) // 2] for _, _, ls in panel.curves))
    fig.update_xaxes(title_text="parameters N (log scale)", type="log")
    fig.update_yaxes(title_text="predicted loss (nats/token)", range=[lo - 0.05, hi + 0.35])
    _layout(fig, f"Scaling law (predicted loss): {esc(panel.law_name)}", 480)
    fig.update_layout(
        legend={"orientation": "v", "x": 1.02, "xanchor": "left", "y": 0.5, "yanchor": "middle"},
        margin={"r": 240, "t": 50},
    )
    return fig


# -- Proposal -------------------------------------------------------------------------


def request_figure(plan: CampaignPlan) -> Figure | None:
    """Stacked bars: requested hours per quarter, one panel per system, by run."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    systems = [s for s in plan.systems if s.runs]
    if not systems:
        return None
    fig = make_subplots(
        rows=1,
        cols=len(systems),
        subplot_titles=[f"{esc(s.id)} ({_unit(s.billing_unit)})" for s in systems],
        horizontal_spacing=0.08,
    )
    labels = [q.label for q in plan.quarters]
    run_colour = {r.name: PALETTE[i % len(PALETTE)] for i, r in enumerate(plan.runs)}
    for col, s in enumerate(systems, start=1):
        for r in plan.runs:
            if r.system_id != s.id:
                continue
            fig.add_trace(
                go.Bar(
                    x=labels,
                    y=[r.units_by_quarter.get(q.index, 0.0) for q in plan.quarters],
                    name=esc(r.name),
                    legendgroup=esc(r.name),
                    showlegend=col == 1 or r.system_id != systems[0].id,
                    marker_color=run_colour[r.name],
                    hovertemplate=f"{esc(r.name)}: %{{y:,.0f}}<extra></extra>",
                ),
                row=1,
                col=col,
            )
        fig.update_yaxes(title_text=_unit(s.billing_unit), row=1, col=col)
        fig.update_xaxes(title_text="quarter of the allocation period", row=1, col=col)
    fig.update_layout(barmode="stack")
    _layout(fig, "Requested hours per quarter (predicted, before the contingency margin)", 440)
    if len(systems) > 1:
        fig.update_layout(meta={"narrow": WIDE})
    fig.update_layout(
        margin={"t": 70, "b": 40},
        legend={"orientation": "h", "yanchor": "top", "y": -0.2, "xanchor": "left", "x": 0},
    )
    return fig


def _unit(billing_unit: str) -> str:
    return {"node-hour": "node-hours", "gpu-hour": "GPU-hours"}.get(billing_unit, billing_unit)


def mfu_figure(
    published: Sequence[tuple[str, float, str]], ours: Sequence[tuple[str, float]]
) -> Figure | None:
    """MFU of the planned runs next to published training runs (label, MFU, source)."""
    import plotly.graph_objects as go

    if not ours:
        return None
    seen: dict[str, int] = {}

    def unique(label: str) -> str:  # plotly stacks bars that share a category
        seen[label] = seen.get(label, 0) + 1
        return label if seen[label] == 1 else f"{label} #{seen[label]}"

    pub = [(unique(esc(lbl)), m, esc(src)) for lbl, m, src in published]
    mine = [(unique(esc(lbl)), m) for lbl, m in ours]
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            y=[lbl for lbl, _, _ in pub],
            x=[100 * m for _, m, _ in pub],
            orientation="h",
            name="published training runs",
            marker_color=PALETTE[5],
            customdata=[src for _, _, src in pub],
            hovertemplate="%{y}: %{x:.1f} %<br>%{customdata}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Bar(
            y=[lbl for lbl, _ in mine],
            x=[100 * m for _, m in mine],
            orientation="h",
            name="this proposal",
            marker_color=PALETTE[1],
            hovertemplate="%{y}: %{x:.1f} %<extra></extra>",
        )
    )
    fig.update_xaxes(title_text="MFU (% of the dense peak)", range=[0, 100])
    fig.update_yaxes(autorange="reversed", tickfont={"size": 11})
    height = max(320, 110 + 26 * (len(pub) + len(mine)))
    _layout(
        fig, "Model-FLOPs utilisation: planned runs (predicted) vs published training runs", height
    )
    fig.update_layout(margin={"l": 380, "t": 80}, meta={"narrow": WIDE})
    return fig


def _log_ticks(values: Sequence[float]) -> list[float]:
    """1-2-5 ticks covering `values` (for a log axis)."""
    lo, hi = min(values), max(values)
    out = []
    for k in range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1):
        for m in (1, 2, 5):
            v = m * 10.0**k
            if lo / 1.5 <= v <= hi * 1.5:
                out.append(v)
    return out


# -- Fitted scaling law (proposal evidence) ----------------------------------------------


def fitted_law_figure(fit: LawFit, targets: Sequence[tuple[str, float, float]]) -> Figure:
    """Loss against training compute: the fitted runs, the law through each run size, the
    compute-optimal frontier with its bootstrap band, extrapolated to the main run(s)."""
    import numpy as np
    import plotly.graph_objects as go

    from capacity import fmt

    fig = go.Figure()
    runs = fit.runs
    sizes = sorted({r[1] for r in runs})
    d_lo, d_hi = fit.tokens_range
    for i, n in enumerate(sizes):
        color = PALETTE[i % len(PALETTE)]
        mine = [r for r in runs if r[1] == n]
        d = np.geomspace(d_lo / 2, d_hi * 2, 40)
        fig.add_trace(
            go.Scatter(
                x=6 * n * d,
                y=np.asarray(fit.law.loss(n, d)),
                mode="lines",
                line={"color": color, "width": 1},
                name=f"fit, N = {fmt.count(n)}",
                legendgroup=f"n{i}",
                showlegend=False,
                hoverinfo="skip",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=[6 * r[1] * r[2] for r in mine],
                y=[r[3] for r in mine],
                mode="markers",
                marker={"color": color, "size": 8},
                name=f"runs, N = {fmt.count(n)}",
                legendgroup=f"n{i}",
                text=[esc(r[0]) for r in mine],
                hovertemplate="%{text}: C=%{x:.3s} FLOPs, loss %{y:.3f}<extra></extra>",
            )
        )
    c_lo, c_hi = fit.flops_range
    c_top = max([c_hi, *(6 * n_t * d_t for _, n_t, d_t in targets)]) * 2
    cs = np.geomspace(c_lo / 2, c_top, 80)
    point, low, high = fit.frontier_band(cs)
    p0, p1 = fit.interval_percentiles
    fig.add_trace(
        go.Scatter(
            x=np.concatenate([cs, cs[::-1]]),
            y=np.concatenate([high, low[::-1]]),
            fill="toself",
            fillcolor="rgba(29,39,51,0.12)",
            line={"width": 0},
            name=f"frontier P{p0:g}-P{p1:g} ({len(fit.bootstrap)} bootstraps)",
            hoverinfo="skip",
        )
    )
    inside = cs <= c_hi
    fig.add_trace(
        go.Scatter(
            x=cs[inside],
            y=point[inside],
            mode="lines",
            line={"color": "#1d2733", "width": 2.5},
            name="compute-optimal frontier (fitted range)",
            hovertemplate="C=%{x:.3s} FLOPs, optimal loss %{y:.3f}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=cs[~inside],
            y=point[~inside],
            mode="lines",
            line={"color": "#1d2733", "width": 2.5, "dash": "dot"},
            name="frontier, extrapolated",
            hovertemplate="C=%{x:.3s} FLOPs, optimal loss %{y:.3f}<extra></extra>",
        )
    )
    for j, (name, n_t, d_t) in enumerate(targets):
        iv = fit.loss_interval(n_t, d_t)
        fig.add_trace(
            go.Scatter(
                x=[6 * n_t * d_t],
                y=[iv.value],
                mode="markers",
                marker={"symbol": "star", "size": 16, "color": PALETTE[(j + 1) % len(PALETTE)]},
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": [iv.high - iv.value],
                    "arrayminus": [iv.value - iv.low],
                },
                name=f"main run: {esc(name)}",
                hovertemplate="C=%{x:.3s} FLOPs, predicted loss %{y:.3f}<extra></extra>",
            )
        )
    fig.update_xaxes(title_text="training compute C = 6ND (FLOPs, log scale)", type="log")
    fig.update_yaxes(title_text="final loss (nats/token)")
    _layout(fig, f"Scaling evidence: {esc(fit.name)}", 480)
    fig.update_layout(
        legend={"orientation": "v", "x": 1.02, "xanchor": "left", "y": 0.5, "yanchor": "middle"},
        margin={"r": 260, "t": 50},
    )
    return fig


# -- Measured evidence ------------------------------------------------------------------


def measured_figure(ev: Evidence) -> Figure | None:
    """Tokens/s per GPU of each measured configuration, against the model's prediction."""
    import plotly.graph_objects as go

    pts = ev.points
    if not pts:
        return None
    fig = go.Figure()
    x = [p.gpus for p in pts]
    fig.add_trace(
        go.Scatter(
            x=x,
            y=[p.tokens_per_gpu_s for p in pts],
            mode="markers",
            name="measured",
            marker={"size": 12, "color": PALETTE[1], "symbol": "diamond"},
            hovertemplate="%{x} GPUs: %{y:,.0f} tokens/s per GPU (measured)<extra></extra>",
        )
    )
    for key, label, colour, dash in (
        ("predicted_step_s", "predicted before re-anchoring", PALETTE[5], "dot"),
        ("anchored_step_s", "predicted after re-anchoring", PALETTE[0], "solid"),
    ):
        ys = [
            None if getattr(p, key) is None else p.global_batch_tokens / getattr(p, key) / p.gpus
            for p in pts
        ]
        if all(y is None for y in ys):
            continue
        fig.add_trace(
            go.Scatter(
                x=x,
                y=ys,
                mode="lines+markers",
                name=label,
                line={"color": colour, "dash": dash},
                hovertemplate=f"%{{x}} GPUs: %{{y:,.0f}} tokens/s per GPU ({label})<extra></extra>",
            )
        )
    fig.update_xaxes(title_text="GPUs (log scale)", type="log", tickvals=sorted(set(x)))
    fig.update_yaxes(title_text="tokens/s per GPU", rangemode="tozero")
    _layout(fig, f"Measured vs predicted throughput per configuration ({esc(ev.system_id)})", 400)
    fig.update_layout(margin={"t": 90})
    return fig


def weak_scaling_figure(
    ev: Evidence | None, predicted: Sequence[tuple[int, float | None]], system: str, per_gpu: float
) -> Figure | None:
    """Weak scaling (tokens per GPU fixed): measured points and the model's curve."""
    import plotly.graph_objects as go

    pred = [(n, e) for n, e in predicted if e is not None]
    measured = ev.weak if ev is not None else ()
    if len(pred) < 2 and len(measured) < 2:
        return None
    fig = go.Figure()
    if pred:
        fig.add_trace(
            go.Scatter(
                x=[n for n, _ in pred],
                y=[100 * e for _, e in pred],
                mode="lines+markers",
                name="predicted",
                line={"color": PALETTE[0]},
                hovertemplate="%{x} GPUs: %{y:.1f} % (predicted)<extra></extra>",
            )
        )
    if measured:
        fig.add_trace(
            go.Scatter(
                x=[p.gpus for p in measured],
                y=[100 * (p.weak_efficiency or 0) for p in measured],
                mode="markers",
                name="measured",
                marker={"size": 12, "color": PALETTE[1], "symbol": "diamond"},
                hovertemplate="%{x} GPUs: %{y:.1f} % (measured)<extra></extra>",
            )
        )
    xs = sorted({n for n, _ in pred} | {p.gpus for p in measured})
    fig.update_xaxes(title_text="GPUs (log scale)", type="log", tickvals=xs)
    fig.update_yaxes(title_text="weak-scaling efficiency (% of ideal)", range=[0, 110])
    title = "Weak scaling" if measured else "Predicted weak scaling"
    title += f" on {esc(system)}, {per_gpu:,.0f} tokens per GPU per step"
    if measured:
        title += " (measured and predicted)"
    _layout(fig, title, 380)
    fig.update_layout(margin={"t": 90})
    return fig
