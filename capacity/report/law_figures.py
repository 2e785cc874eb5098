"""plotly figures of scaling laws: the report's law panel and a fitted law with its runs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from capacity.report.figures import (
    PALETTE,
    _layout,
)
from capacity.report.html import esc

if TYPE_CHECKING:
    from plotly.graph_objects import Figure

    from capacity.report.data import LawPanel
    from capacity.scaling.fit import LawFit


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


def fitted_law_figure(fit: LawFit, targets: Sequence[tuple[str, float, float]]) -> Figure:
    """Loss against training compute: the fitted runs, the law through each run size, the
    compute-optimal frontier with its bootstrap band, extrapolated to the main run(s).

    Long on purpose: a plotly figure built trace by trace, in the order a reader meets them.
    """
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
