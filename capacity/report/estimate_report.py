"""`capacity report`: one estimate as a self-contained HTML page.

`build_report` gathers the numbers (the estimate, a strong-scaling sweep, the
catalog comparison, the scaling-law panel); `report_json` is the `--json`
document (the estimate's keys, unchanged, plus a "report" block); `render_report`
draws the page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from capacity import fmt
from capacity.catalog.schemas import EfficiencyCalibration
from capacity.compare import CompareRow
from capacity.constants import MEMORY_HEADROOM_FRACTION
from capacity.estimate import Assumption, Estimate
from capacity.report import html as h
from capacity.report.data import (
    STRONG_SCALING_EFFICIENCY_FLOOR,
    LawPanel,
    StrongScaling,
    cluster_comparison,
    interval_of,
    law_panel,
    strong_scaling,
)
from capacity.scaling import ScalingLaw, resolve_law
from capacity.scaling.fit import LawFit
from capacity.system import System
from capacity.verdict import cautions

if TYPE_CHECKING:
    from capacity.multisite import MultiSiteEstimate


class Report(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    title: str
    estimate: Estimate
    scaling: StrongScaling
    comparison: tuple[CompareRow, ...]
    currency: str
    law: LawPanel
    validation: tuple[Assumption, ...] = ()
    multisite: Any = None  # a MultiSiteEstimate when the run spans several sites


def build_report(
    est: Estimate,
    systems: Sequence[System],
    *,
    title: str | None = None,
    law: str | ScalingLaw | LawFit = "epoch",
    currency: str = "EUR",
    calibration: EfficiencyCalibration | None = None,
    multisite: MultiSiteEstimate | None = None,
) -> Report:
    scn = est.scenario
    default_title = f"{scn.model.name} on {fmt.count(scn.tokens)} tokens — {scn.system.name}"
    return Report(
        title=title or default_title,
        estimate=est,
        scaling=strong_scaling(est),
        comparison=tuple(cluster_comparison(est, systems, currency)),
        currency=currency,
        law=(
            law_panel(est, law.law, law)
            if isinstance(law, LawFit)
            else law_panel(est, resolve_law(law))
        ),
        validation=tuple(validation_assumptions(calibration)),
        multisite=multisite,
    )


def report_json(rep: Report) -> dict[str, Any]:
    return {
        **rep.estimate.to_json(),
        "report": {
            "title": rep.title,
            "strong_scaling": rep.scaling.to_json(),
            "cluster_comparison": {
                "currency": rep.currency,
                "rows": [r.to_json() for r in rep.comparison],
            },
            "scaling_law": rep.law.to_json(),
            "multisite": None if rep.multisite is None else rep.multisite.to_json(),
        },
    }


# -- Rendering ------------------------------------------------------------------------


def render_report(rep: Report, today: dt.date | None = None) -> str:
    from capacity.report import figures as f

    est = rep.estimate
    scn = est.scenario
    sections = [
        _headline(rep),
        _scenario(rep),
    ]
    if rep.multisite is not None:
        from capacity.report.multisite_panel import section as multisite_section

        sections.insert(0, multisite_section(rep.multisite))
    charts = []
    mem = f.memory_figure(*memory_args(est))
    if mem is not None:
        charts.append(
            ("memory", "Memory per GPU", f.to_div(mem, "chart-memory"), _memory_note(rep))
        )
    step = _step_time(est)
    if step is not None:
        fig = f.step_time_figure(step[0], step[1])
        if fig is not None:
            charts.append(
                (
                    "step-time",
                    "Step-time breakdown",
                    f.to_div(fig, "chart-step"),
                    _step_table(step[0]),
                )
            )
    else:
        charts.append(
            (
                "step-time",
                "Step-time breakdown",
                "",
                '<p class="note">This estimate comes from a model-FLOPs utilisation '
                f"({h.esc(est.throughput.mfu_origin)}: {h.fmt_pct(est.throughput.mfu)}), "
                "not from a step-time model, so there is no breakdown of the step into compute, "
                "communication and bubble.</p>",
            )
        )
    sc = f.scaling_figure(rep.scaling, scn.system.max_nodes_per_job)
    if sc is not None:
        charts.append(
            ("strong-scaling", "Strong scaling", f.to_div(sc, "chart-scaling"), _scaling_note(rep))
        )
    cmp_fig = f.compare_figure(rep.comparison, scn.system.id, rep.currency)
    if cmp_fig is not None:
        charts.append(
            (
                "comparison",
                "Cluster comparison",
                f.to_div(cmp_fig, "chart-compare"),
                _compare_table(rep),
            )
        )
    law = f.law_figure(rep.law, scn.model.name)
    charts.append(("scaling-law", "Scaling law", f.to_div(law, "chart-law"), _law_note(rep)))
    for id_, title, div, note in charts:
        sections.append(h.section(title, div + note, id_=id_))
    sections.append(h.section("Assumptions", _assumptions_table(rep), id_="assumptions"))
    subtitle = [
        f"{scn.model.name}: {fmt.count(est.params.total)} parameters, "
        f"{fmt.count(scn.tokens)} tokens",
        f"{scn.system.name}: {est.n_gpus:,} x {scn.system.accelerator.name} "
        f"({est.n_nodes:g} nodes)",
    ]
    return h.page(title=rep.title, subtitle=subtitle, body="".join(sections), today=today)


def memory_args(est: Estimate) -> tuple[dict[str, float], float, float, float, str]:
    """Arguments of `figures.memory_figure`: the breakdown by part, total, capacity, usable."""
    mem = est.memory
    parts = mem.parts_gib()
    acc = est.scenario.system.accelerator.name
    return parts, mem.total_gib, mem.capacity_gib, mem.usable_gib, acc


def _headline(rep: Report) -> str:
    est = rep.estimate
    run, cost = est.run, est.run.cost
    cards = [
        h.card(
            "Wall-clock",
            "wall_clock_days",
            est.wall_clock_days,
            "days",
            interval=interval_of(est, "wall_clock_days"),
        ),
        h.card(
            "GPU-hours", "gpu_hours", run.gpu_hours, "GPU·h", interval=interval_of(est, "gpu_hours")
        ),
        h.card(
            "Node-hours",
            "node_hours",
            run.node_hours,
            "node·h",
            interval=interval_of(est, "node_hours"),
            note=f"billed in {run.allocation_unit}s",
        ),
        h.card(
            "Cost",
            "cost",
            None if cost is None else cost.amount,
            "" if cost is None else cost.currency,
            text=None if cost is None else fmt.integer(cost.amount),
            interval=interval_of(est, "cost"),
            note="no public price" if cost is None else None,
        ),
        h.card(
            "Energy", "energy_mwh", run.energy_mwh, "MWh", interval=interval_of(est, "energy_mwh")
        ),
        h.card(
            "CO2e",
            "co2_t",
            run.co2_t,
            "t",
            interval=interval_of(est, "co2_t"),
            note=f"grid {est.scenario.system.grid.gco2_per_kwh:g} gCO2e/kWh",
        ),
        h.card(
            "MFU",
            "mfu",
            est.throughput.mfu,
            "%",
            text=f"{est.throughput.mfu * 100:.1f}",
            interval=_pct_interval(interval_of(est, "mfu")),
            note=est.throughput.mfu_origin,
        ),
        h.card(
            "Memory per GPU",
            "memory_per_gpu_gib",
            est.memory.total_gib,
            "GiB",
            note=f"of {est.memory.capacity_gib:g} GiB",
        ),
    ]
    chosen = [p for p in rep.scaling.points if p.chosen]
    warn = cautions(est.memory, chosen[0].efficiency if chosen else None)
    if not est.feasible:
        verdict = (
            '<span class="verdict bad" data-key="feasible" data-value="false">not feasible</span>'
        )
    elif warn:
        verdict = (
            '<span class="verdict warn" data-key="feasible" data-value="true">'
            "feasible, with cautions</span>" + h.bullet_list(warn, "warnings")
        )
    else:
        verdict = '<span class="verdict ok" data-key="feasible" data-value="true">feasible</span>'
    reasons = h.bullet_list([r.message for r in est.reasons], "reasons")
    notes = h.bullet_list(list(est.notes), "small muted")
    body = f'<p>Verdict: {verdict}</p>{reasons}<div class="cards">{"".join(cards)}</div>{notes}'
    if interval_of(est, "wall_clock_days") is None:
        body += (
            '<p class="small muted">No uncertainty interval: this estimate has none (the '
            "intervals come from the throughput model's errors on published runs).</p>"
        )
    elif est.interval_note:
        body += f'<p class="small muted">{h.esc(est.interval_note)}</p>'
    return h.section("Headline figures", body, id_="headline")


def _pct_interval(iv: tuple[float, float] | None) -> tuple[float, float] | None:
    return None if iv is None else (iv[0] * 100, iv[1] * 100)


def _scenario(rep: Report) -> str:
    est = rep.estimate
    scn = est.scenario
    rows = [
        ("Model", scn.model.name),
        (
            "Parameters",
            f"{fmt.count(est.params.total)} total, {fmt.count(est.params.active)} active",
        ),
        ("Training tokens", f"{fmt.count(scn.tokens)} ({scn.tokens:.3e})"),
        ("Sequence length", f"{est.flops.seq_len:,}"),
        ("Global batch", f"{fmt.count(scn.global_batch_tokens)} tokens"),
        ("Training FLOPs", f"{fmt.flops(est.total_flops)} (model FLOPs)"),
        ("System", scn.system.name),
        ("Accelerator", f"{scn.system.accelerator.name} x {scn.system.gpus_per_node} per node"),
        ("Job", f"{est.n_gpus:,} GPUs on {est.n_nodes:g} nodes"),
        ("Layout", est.layout.describe()),
        ("Precision", scn.precision),
        ("Throughput", f"{fmt.integer(est.throughput.tokens_per_s)} tokens/s"),
    ]
    return h.section("Scenario", h.table(["", ""], rows), id_="scenario")


GOODPUT_PARTS = (
    ("checkpoint_fraction", "goodput: checkpoint writes"),
    ("failure_fraction", "goodput: failures (lost work, restarts)"),
    ("job_chain_fraction", "goodput: job-chain restarts"),
    ("end_to_end_fraction", "end-to-end: evaluations, ramp-up, extra phases"),
)


def _step_time(est: Estimate) -> tuple[dict[str, float], str] | None:
    """Seconds per optimizer step by part (the planner's breakdown), with the goodput losses.

    Goodput fractions are shares of wall-clock, so per step each costs
    fraction x step / ETTR on top of the step itself. None on the MFU path (no breakdown).
    """
    comps = {k.replace("_", " "): v for k, v in est.breakdown_s.items() if v > 0}
    if not comps:
        return None
    step = sum(comps.values())
    title = f"One optimizer step: {step:,.3g} s"
    gp = est.goodput
    if gp is not None and gp.ettr > 0:
        for key, label in GOODPUT_PARTS:
            frac = float(getattr(gp, key))
            if frac > 0:
                comps[label] = frac * step / gp.ettr
        title += f"; {step / gp.ettr:,.3g} s of wall-clock with goodput losses (ETTR {gp.ettr:.1%})"
    return comps, title


def _step_table(comps: dict[str, float]) -> str:
    total = sum(comps.values())
    rows = [(k, f"{v:,.4g}", h.fmt_pct(v / total)) for k, v in comps.items()]
    return (
        '<p class="small muted">Compute, each kind of communication left exposed, the pipeline '
        "bubble and the optimizer step, then the wall-clock lost to checkpoints, failures and "
        "job restarts (goodput), spread per step.</p>"
        + h.table(["part", "seconds per step", "share"], rows, numeric=(1, 2))
    )


def _memory_note(rep: Report) -> str:
    mem = rep.estimate.memory
    return (
        f'<p class="small muted">The most loaded GPU with {h.esc(rep.estimate.layout.describe())}. '
        f"{MEMORY_HEADROOM_FRACTION.value:.0%} of the device memory is kept free for what is "
        "not modelled (framework workspace, communication buffers, fragmentation): "
        f"{mem.usable_gib:,.1f} GiB usable.</p>"
    )


def _scaling_note(rep: Report) -> str:
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


def _compare_table(rep: Report) -> str:
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


def _law_note(rep: Report) -> str:
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
    if p.extrapolation is not None and p.extrapolation > 1.5:
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


def validation_assumptions(cal: EfficiencyCalibration | None) -> list[Assumption]:
    """The throughput model's accuracy: P10-P90 of reported / predicted on held-out runs."""
    what = {
        "step-time": "held-out step time (throughput)",
        "hours": "held-out accelerator-hours (end to end)",
        "measured": "step time re-anchored on a measured run",
    }
    out = []
    for band in () if cal is None else cal.residuals:
        src = band.sources[0] if band.sources else None
        source = "capacity validate"
        if src is not None:
            source = ", ".join(
                x for x in (src.title, src.locator or src.url or "", f"as of {src.as_of}") if x
            )
        out.append(
            Assumption(
                name=f"validation: {what.get(band.id, band.id)}",
                value=(
                    f"reported / predicted P10-P90 {band.ratio_p10:.2f}-{band.ratio_p90:.2f} "
                    f"over {band.n_rows} published runs"
                ),
                source=source,
            )
        )
    if not out:
        out.append(
            Assumption(
                name="validation accuracy",
                value="no validation statistics in the catalog (run `capacity validate --fit`)",
                source="catalogs/efficiency/",
            )
        )
    return out


def _assumptions_table(rep: Report) -> str:
    rows = [(a.name, a.value, a.source or "—") for a in assumptions(rep)]
    return (
        '<p class="small muted">Every catalog figure and constant the estimate used, with '
        "its source and the date it was read.</p>"
        + h.table(["assumption", "value", "source"], rows)
    )
