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

    from capacity.compare import CompareRow
    from capacity.report.data import StrongScaling

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
    """The scaling-law panel's isoFLOP chart. Long on purpose: a plotly figure built
    trace by trace (isoFLOP curves, frontier, the run, annotations), read top to
    bottom like the chart."""
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
