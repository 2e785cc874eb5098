"""The proposal pack's scaling evidence from your own fitted law (`capacity fit-law`).

What a review panel asks: why this model size on this many tokens. The section shows the
ladder runs, the law fitted through them, the compute-optimal frontier with its bootstrap
band, and the main run(s) extrapolated from it with their loss interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from capacity import fmt
from capacity.fmt import sci
from capacity.report import html as h

if TYPE_CHECKING:
    from capacity.campaign import CampaignPlan
    from capacity.scaling.fit import LawFit

Target = tuple[str, float, float]  # (name, params N, tokens D)

TARGET_HEADERS = [
    "main run",
    "params N",
    "tokens D",
    "C = 6ND (FLOPs)",
    "predicted loss",
    "loss range",
    "optimal N at this C (range)",
    "beyond the runs",
]
CONSTANT_HEADERS = ["constant", "fit", "range"]


def main_targets(plan: CampaignPlan) -> list[Target]:
    """The campaign's main runs that state a size and a token count."""
    return [
        (r.name, r.params, r.tokens)
        for r in plan.runs
        if r.kind == "main" and r.params is not None and r.tokens is not None
    ]


def _target_rows(fit: LawFit, targets: Sequence[Target]) -> list[list[str]]:
    rows = []
    for name, n, d in targets:
        iv = fit.loss_interval(n, d)
        n_opt = fit.allocation_interval(6 * n * d)[0]
        rows.append(
            [
                name,
                fmt.count(n),
                fmt.count(d),
                sci(6 * n * d),
                f"{iv.value:.3f}",
                f"{iv.low:.3f}-{iv.high:.3f}",
                f"{fmt.count(n_opt.value)} ({fmt.count(n_opt.low)}-{fmt.count(n_opt.high)})",
                f"{fit.extrapolation(n, d):.0f}x",
            ]
        )
    return rows


def law_evidence_html(fit: LawFit, targets: Sequence[Target]) -> str:
    """The HTML section: figure, main-run table, constants, source and warnings."""
    from capacity.report import figures as f
    from capacity.report import law_figures as lf

    p0, p1 = fit.interval_percentiles
    label = f"P{p0:g}-P{p1:g} of {len(fit.bootstrap)} bootstrap refits over runs"
    consts = [
        [k, f"{v.value:.4g}", f"{v.low:.4g}-{v.high:.4g}"] for k, v in fit.constants().items()
    ]
    intro = (
        '<p class="small muted">Your own law L(N, D) = E + A/N^alpha + B/D^beta, fitted to '
        f"{fit.n_runs} runs ({h.esc(fmt.count(fit.params_range[0]))}-"
        f"{h.esc(fmt.count(fit.params_range[1]))} parameters) as Hoffmann et al. 2022 "
        "(Approach 3) and Besiroglu et al. 2024 do: Huber loss on log-loss, the best of a grid "
        f"of starts. Ranges: {h.esc(label)}. They cover the fit's noise, not a change of regime "
        "beyond the runs.</p>"
    )
    body = [intro, f.to_div(lf.fitted_law_figure(fit, targets), "chart-fitted-law")]
    if targets:
        body.append(h.table(TARGET_HEADERS, _target_rows(fit, targets), numeric=(1, 2, 3, 4)))
    else:
        body.append('<p class="small muted">No main run states a size and token count.</p>')
    body.append(h.table(CONSTANT_HEADERS, consts, numeric=(1,)))
    notes = [f"Source: {fit.source} (as of {fit.as_of}).", f"Validity: {fit.validity}."]
    notes += [f"Fit warning: {w}" for w in fit.warnings]
    body.append(h.bullet_list(notes, "small muted"))
    return h.section(f"Scaling evidence: {fit.name}", "".join(body), id_="fitted-law")


def law_evidence_markdown(fit: LawFit, targets: Sequence[Target]) -> str:
    """The same evidence as a Markdown section for request.md."""
    p0, p1 = fit.interval_percentiles
    lines = [
        f"## Scaling evidence: {fit.name}",
        "",
        f"Law L(N, D) = E + A/N^alpha + B/D^beta fitted to {fit.n_runs} runs "
        f"({fmt.count(fit.params_range[0])}-{fmt.count(fit.params_range[1])} params; "
        f"{fit.source}). Ranges: P{p0:g}-P{p1:g} of {len(fit.bootstrap)} bootstrap refits.",
        "",
    ]
    if targets:
        lines.append("| " + " | ".join(TARGET_HEADERS) + " |")
        lines.append("|" + "---|" * len(TARGET_HEADERS))
        lines += ["| " + " | ".join(r) + " |" for r in _target_rows(fit, targets)]
        lines.append("")
    lines += [f"- Fit warning: {w}" for w in fit.warnings]
    return "\n".join(lines).rstrip() + "\n"
