"""`capacity report`: one estimate as a self-contained HTML page.

`build_report` gathers the numbers (the estimate, a strong-scaling sweep, the
catalog comparison, the scaling-law panel) and `report_json` is the `--json` document
(the estimate's keys, unchanged, plus a "report" block): both live in
`report.estimate_model` and are re-exported here. `render_report` draws the page; the
notes and tables beside its charts come from `report.estimate_sections`.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from capacity import fmt
from capacity.estimate import Estimate
from capacity.report import html as h
from capacity.report.data import (
    interval_of,
)
from capacity.verdict import cautions

if TYPE_CHECKING:
    pass


from capacity.report.estimate_model import (  # noqa: F401  (re-exported: the report's API)
    Report,
    build_report,
    report_json,
    validation_assumptions,
)
from capacity.report.estimate_sections import (
    assumptions_table,
    compare_table,
    law_note,
    memory_note,
    scaling_note,
)

# -- Rendering ------------------------------------------------------------------------


def render_report(rep: Report, today: dt.date | None = None) -> str:
    from capacity.report import figures as f
    from capacity.report import law_figures as lf

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
        charts.append(("memory", "Memory per GPU", f.to_div(mem, "chart-memory"), memory_note(rep)))
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
            ("strong-scaling", "Strong scaling", f.to_div(sc, "chart-scaling"), scaling_note(rep))
        )
    cmp_fig = f.compare_figure(rep.comparison, scn.system.id, rep.currency)
    if cmp_fig is not None:
        charts.append(
            (
                "comparison",
                "Cluster comparison",
                f.to_div(cmp_fig, "chart-compare"),
                compare_table(rep),
            )
        )
    law = lf.law_figure(rep.law, scn.model.name)
    charts.append(("scaling-law", "Scaling law", f.to_div(law, "chart-law"), law_note(rep)))
    for id_, title, div, note in charts:
        sections.append(h.section(title, div + note, id_=id_))
    sections.append(h.section("Assumptions", assumptions_table(rep), id_="assumptions"))
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
    """Verdict, headline cards and notes. Long because it is one list of cards, one per
    figure, in page order."""
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
