"""plotly figures of the proposal: the request by quarter, MFU against published runs, and
the measured evidence (strong and weak scaling of benchmark steps)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from capacity.report.figures import (
    PALETTE,
    WIDE,
    _layout,
)
from capacity.report.html import esc

if TYPE_CHECKING:
    from plotly.graph_objects import Figure

    from capacity.campaign import CampaignPlan
    from capacity.evidence import Evidence


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
