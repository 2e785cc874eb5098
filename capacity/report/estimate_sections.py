"""The estimate report's notes, tables and assumptions beside its charts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from capacity import fmt
from capacity.constants import MEMORY_HEADROOM_FRACTION
from capacity.estimate import Assumption
from capacity.report import html as h
from capacity.report.data import (
    STRONG_SCALING_EFFICIENCY_FLOOR,
    LawPanel,
)

if TYPE_CHECKING:
    pass


from capacity.report.estimate_model import Report


def memory_note(rep: Report) -> str:
    mem = rep.estimate.memory
    return (
        f'<p class="small muted">The most loaded GPU with {h.esc(rep.estimate.layout.describe())}. '
        f"{MEMORY_HEADROOM_FRACTION.value:.0%} of the device memory is kept free for what is "
        "not modelled (framework workspace, communication buffers, fragmentation): "
        f"{mem.usable_gib:,.1f} GiB usable.</p>"
    )


def scaling_note(rep: Report) -> str:
    sc = rep.scaling
    rows = []
    for p in sc.points:
        status = (
            "error: " + (p.error or "")
            if p.error
            else "out of memory"
            if not p.fits_memory
            else "over the job limit"
            if not p.within_job_limit
            else "ok"
        )
        rows.append(
            (
                f"{p.nodes:,}" + (" (this run)" if p.chosen else ""),
                f"{p.gpus:,}",
                h.fmt_num(p.wall_clock_days),
                h.fmt_int(p.node_hours),
                h.fmt_int(p.gpu_hours),
                h.fmt_pct(p.efficiency, 0),
                status,
            )
        )
    knee = (
        f"Efficiency falls below {sc.floor:.0%} of ideal from {sc.knee_nodes:,} nodes on."
        if sc.knee_nodes is not None
        else f"Efficiency stays above {sc.floor:.0%} of ideal over the whole range."
    )
    return (
        f"<p>{h.esc(knee)} Efficiency is relative to the smallest job that fits memory.</p>"
        + h.table(
            ["nodes", "GPUs", "days", "node-hours", "GPU-hours", "efficiency", "status"],
            rows,
            numeric=(1, 2, 3, 4, 5),
        )
    )


def compare_table(rep: Report) -> str:
    rows = []
    for r in rep.comparison[:12]:
        est = r.estimate
        if est is None:
            continue
        rows.append(
            (
                r.system.name,
                h.fmt_num(est.wall_clock_days),
                h.fmt_int(est.run.gpu_hours),
                h.fmt_money(
                    r.cost_converted.amount if r.cost_converted else None,
                    r.cost_converted.currency if r.cost_converted else None,
                ),
                h.fmt_num(est.run.co2_t),
                "yes" if est.feasible else "no: " + "; ".join(x.message for x in est.reasons),
            )
        )
    n_bad = sum(1 for r in rep.comparison if r.estimate is None or not r.estimate.feasible)
    return (
        f'<p class="small muted">{est_count(rep)} systems compared with the same model, tokens '
        f"and {rep.estimate.n_gpus:,} GPUs (rounded up to whole nodes); {n_bad} cannot run it "
        f"as asked. Costs in {h.esc(rep.currency)} at the catalog's dated exchange rates. "
        "The first 12 by wall-clock:</p>"
        + h.table(
            ["system", "days", "GPU-hours", f"cost ({rep.currency})", "CO2e (t)", "feasible"],
            rows,
            numeric=(1, 2, 3, 4),
        )
    )


def est_count(rep: Report) -> int:
    return len(rep.comparison)


def law_note(rep: Report) -> str:
    p = rep.law
    gap = p.loss - p.optimal_loss
    return (
        f"<p>At this compute ({p.flops:.2e} FLOPs, 6ND) the law's optimum is "
        f"{h.esc(fmt.count(p.optimal_params))} parameters on "
        f"{h.esc(fmt.count(p.optimal_tokens))} tokens (loss {p.optimal_loss:.3f}); this run, "
        f"{h.esc(fmt.count(p.params))} parameters on {h.esc(fmt.count(p.tokens))} tokens "
        f"({p.tokens / p.params:,.0f} tokens/parameter), is predicted at {p.loss:.3f} nats/token, "
        f"{gap:.3f} above the frontier.</p>"
        + _law_interval_note(p)
        + f'<p class="small muted">Law: {h.esc(p.law_source)}. '
        + f"Validity: {h.esc(p.law_validity)}.</p>"
    )


def _law_interval_note(p: LawPanel) -> str:
    if p.loss_interval is None:
        return ""
    lo, hi = p.loss_interval
    text = f"<p>Fitted law: this run's loss lies in {lo:.3f}-{hi:.3f}"
    if p.optimal_params_interval is not None:
        n0, n1 = p.optimal_params_interval
        text += f", the optimal size in {h.esc(fmt.count(n0))}-{h.esc(fmt.count(n1))}"
    text += f" ({h.esc(p.interval_label or '')})"
    from capacity.scaling.fit import far_beyond_fit

    if far_beyond_fit(p.extrapolation):
        text += (
            f"; the run lies {p.extrapolation:.0f}x beyond the fitted runs, so the range covers "
            "the fit's noise, not a change of regime"
        )
    return text + ".</p>"


def assumptions(rep: Report) -> list[Assumption]:
    out = list(rep.estimate.assumptions)
    out.append(
        Assumption(
            name="memory headroom",
            value=f"{MEMORY_HEADROOM_FRACTION.value:.0%} of device memory kept free",
            source=MEMORY_HEADROOM_FRACTION.source,
        )
    )
    out.append(Assumption(name="scaling law", value=rep.law.law_name, source=rep.law.law_source))
    out.append(
        Assumption(
            name="strong-scaling efficiency floor",
            value=f"{STRONG_SCALING_EFFICIENCY_FLOOR.value:.0%}",
            source=STRONG_SCALING_EFFICIENCY_FLOOR.source,
        )
    )
    rates = rep.estimate.scenario.exchange_rates
    if rates is not None:
        src = rates.sources[0] if rates.sources else None
        out.append(
            Assumption(
                name="exchange rates",
                value=f"base {rates.base}, {len(rates.rates)} currencies, {rates.date}",
                source=(f"{src.title}, {src.url or src.locator}" if src else "catalog"),
            )
        )
    out.extend(rep.validation)
    return out


def assumptions_table(rep: Report) -> str:
    rows = [(a.name, a.value, a.source or "—") for a in assumptions(rep)]
    return (
        '<p class="small muted">Every catalog figure and constant the estimate used, with '
        "its source and the date it was read.</p>"
        + h.table(["assumption", "value", "source"], rows)
    )
