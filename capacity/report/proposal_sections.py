"""proposal.html's sections: summary cards, the access call, measured performance and the
scaling evidence of the main runs."""

from __future__ import annotations

from capacity.campaign import CampaignPlan, SystemPlan
from capacity.catalog.loader import Catalog
from capacity.catalog.runs_io import read_runs_csv
from capacity.errors import CapacityError
from capacity.report import html as h
from capacity.report.data import interval_of, strong_scaling
from capacity.report.estimate_report import memory_args
from capacity.report.proposal_tables import (
    CALL_HEADERS,
    MEASURED_HEADERS,
    _billing_lines,
    _call_rows,
    _measured_rows,
    _unit_label,
)
from capacity.validation.runs import parse_runs


def published_mfu(catalog: Catalog) -> list[tuple[str, float, str]]:
    """Published training MFUs: the validation set's runs, else the catalog's figures."""
    try:
        _name, rows = read_runs_csv()
        runs = parse_runs(rows)
    except CapacityError:
        runs = ()
    out = []
    for r in runs:
        if r.reported_mfu is None or r.throughput_duplicate_of:
            continue
        size = f"{r.n_accelerators:,} x " if r.n_accelerators else ""
        label = f"{r.model} ({size}{r.accelerator or '?'})"
        out.append((label, r.reported_mfu, r.source or r.id))
    if not out:
        for acc in catalog.accelerators.values():
            if acc.default_mfu is None:
                continue
            src = acc.source_for("default_mfu")
            source = f"{src.title} ({src.locator or src.url})" if src else "catalog"
            out.append((acc.name, acc.default_mfu, source))
    return sorted(out, key=lambda x: x[1])


def _card_note(plan: CampaignPlan, s: SystemPlan) -> str:
    parts = [f"incl. {plan.info.contingency_fraction:.0%} margin"]
    if s.share_of_capacity is not None:
        parts.append(f"{h.fmt_pct(s.share_of_capacity, 2)} of the partition")
    if s.share_of_access is not None:
        parts.append(f"{h.fmt_pct(s.share_of_access, 2)} of the {s.access or 'route'}'s part")
    return "; ".join(parts)


def _summary_html(plan: CampaignPlan) -> str:
    cards = []
    for s in plan.systems:
        cards.append(
            h.card(
                f"{s.id} ({s.system.accelerator.name})",
                f"systems.{s.id}.total",
                s.total,
                _unit_label(s.billing_unit),
                text=h.fmt_int(s.total),
                note=_card_note(plan, s),
            )
        )
    totals = plan.to_json()["totals"]
    cards.append(h.card("Storage", "totals.storage_tb", totals["storage_tb"], "TB"))
    cards.append(
        h.card("Energy", "totals.energy_mwh", totals["energy_mwh"], "MWh", note="with margin")
    )
    cards.append(h.card("CO2e", "totals.co2_t", totals["co2_t"], "t", note="with margin"))
    money = totals["cost_converted"]
    if money is not None:
        cards.append(
            h.card(
                "Cost where priced",
                "totals.cost_converted",
                money["amount"],
                money["currency"],
                text=f"{money['amount']:,.0f}",
                note="with margin, at list prices",
            )
        )
    if plan.warnings:
        warn = (
            f'<div class="note"><strong>{len(plan.warnings)} warning(s)</strong>'
            + h.bullet_list([str(w) for w in plan.warnings], "warnings")
            + "</div>"
        )
    else:
        warn = (
            '<p class="small muted">Every run fits its partition, the allocation and the '
            "period.</p>"
        )
    return h.section("Summary", f'<div class="cards">{"".join(cards)}</div>{warn}', id_="summary")


def _evidence_html(plan: CampaignPlan, catalog: Catalog) -> str:
    from capacity.report import figures as f
    from capacity.report import proposal_figures as pf

    parts = [
        '<p class="small muted">What the call asks as scaling evidence, for each main run: the '
        "strong-scaling curve on its system, the memory fit of its layout, and its model-FLOPs "
        "utilisation next to published training runs.</p>"
    ]
    ours: list[tuple[str, float]] = []
    n = 0
    for r in plan.runs:
        if r.kind != "main" or not r.estimates:
            continue
        est = r.estimates[0]
        n += 1
        ours.append((f"{r.name} ({est.scenario.system.accelerator.name})", est.throughput.mfu))
        sc = strong_scaling(est)
        parts.append(
            f"<h3>{h.esc(r.name)}: {h.esc(est.scenario.model.name)} on "
            f"{h.esc(est.scenario.system.name)}</h3>"
        )
        days = interval_of(est, "wall_clock_days")
        if days is not None:
            parts.append(
                f"<p>Predicted wall-clock of one run: {est.wall_clock_days:,.1f} days "
                f"(P10–P90 {days[0]:,.1f}–{days[1]:,.1f}); MFU {est.throughput.mfu:.1%} "
                f"({h.esc(est.throughput.mfu_origin)}).</p>"
                f'<p class="small muted">{h.esc(est.interval_note or "")} The '
                "contingency margin is the request's allowance for this uncertainty.</p>"
            )
        fig = f.scaling_figure(sc, est.scenario.system.max_nodes_per_job)
        if fig is not None:
            parts.append(f.to_div(fig, f"chart-scaling-{n}"))
        tests = [t for t in plan.runs if t.kind == "scaling-test" and t.system_id == r.system_id]
        if tests:
            covered = sorted({c for t in tests for c in t.node_counts})
            parts.append(
                f"<p>The campaign's scaling tests measure this curve at "
                f"{h.esc(', '.join(str(c) for c in covered))} nodes.</p>"
            )
        knee = (
            f"Predicted efficiency falls below {sc.floor:.0%} from {sc.knee_nodes:,} nodes."
            if sc.knee_nodes is not None
            else f"Predicted efficiency stays above {sc.floor:.0%} over the range shown."
        )
        parts.append(f'<p class="small muted">{h.esc(knee)}</p>')
        mem = f.memory_figure(*memory_args(est))
        if mem is not None:
            parts.append(f.to_div(mem, f"chart-memory-{n}"))
        parts.append(
            f'<p class="small muted">Layout {h.esc(est.layout.describe())}: '
            f"{est.memory.total_gib:,.1f} GiB of {est.memory.usable_gib:,.1f} GiB usable per GPU "
            f"({'fits' if est.memory.fits else 'does NOT fit'}).</p>"
        )
    mfu = pf.mfu_figure(published_mfu(catalog), ours)
    if mfu is not None:
        parts.append("<h3>MFU against published runs</h3>" + f.to_div(mfu, "chart-mfu"))
    if n == 0:
        parts.append("<p>No main training run in this campaign.</p>")
    return h.section("Scaling evidence", "".join(parts), id_="evidence")


def _call_html(plan: CampaignPlan) -> str:
    rows = _call_rows(plan)
    parts = [
        '<p class="small muted">Each system&#8217;s request in the unit its access call counts, '
        "against the call's per-project limits and the pool it offers per cut-off (figures "
        "from catalogs/calls, with their sources below; check them against the current call "
        "text).</p>"
    ]
    if rows:
        parts.append(h.table(CALL_HEADERS, rows, numeric=(2, 3, 4, 5, 6)))
    else:
        parts.append("<p>No [[systems]] entry names its call (`call = ...`).</p>")
    parts.append("<h3>Billing units</h3>" + h.bullet_list(_billing_lines(plan), "small"))
    notes: list[str] = []
    sources: list[str] = []
    for s in plan.systems:
        c = s.call_check
        if c is None:
            continue
        notes += [f"{s.id}: {w}" for w in c.warnings] + [f"{s.id}: {n}" for n in c.notes]
        for src in c.sources:
            text = f"{src.title} ({src.locator or ''}; {src.url or ''}; as of {src.as_of})"
            if src.note:
                text += f" — {src.note}"
            if text not in sources:
                sources.append(text)
    if notes:
        parts.append(h.bullet_list(notes, "warnings"))
    if sources:
        parts.append("<h3>Sources of the call figures</h3>" + h.bullet_list(sources, "small"))
    return h.section("Access call and billing units", "".join(parts), id_="call")


def _measured_html(plan: CampaignPlan) -> str:
    from capacity.report import figures as f
    from capacity.report import proposal_figures as pf

    parts = [
        '<p class="small muted">Step times measured in a benchmark allocation (the '
        "campaign&#8217;s <code>measured_steps</code> CSV), next to what the model "
        "predicted for the same configuration before it was re-anchored on them. "
        "The request's runs of the measured model use the re-anchored model, with "
        "the narrower band of measured estimates.</p>"
    ]
    any_ev = False
    for s in plan.systems:
        ev = s.evidence
        if ev is None:
            continue
        any_ev = True
        parts.append(f"<h3>{h.esc(s.id)}: {h.esc(s.system.name)}</h3>")
        if ev.source:
            parts.append(f'<p class="small">Measured on: {h.esc(ev.source)}</p>')
        parts.append(
            h.table(MEASURED_HEADERS, _measured_rows(s), numeric=(0, 2, 3, 4, 5, 6, 7, 8, 9, 10))
        )
        fig = pf.measured_figure(ev)
        if fig is not None:
            parts.append(f.to_div(fig, f"chart-measured-{s.index}"))
        per_gpu = ev.weak_tokens_per_gpu or (
            ev.points[0].global_batch_tokens / ev.points[0].gpus if ev.points else 0.0
        )
        weak = pf.weak_scaling_figure(ev, s.weak_predicted, s.system.name, per_gpu)
        if weak is not None:
            parts.append(f.to_div(weak, f"chart-weak-{s.index}"))
        parts.append(h.bullet_list(ev.notes, "small muted"))
        for r in plan.runs:
            if r.system_id != s.id or not r.estimates:
                continue
            est = r.estimates[0]
            if not est.scenario.measured_steps:
                continue
            iv = est.intervals.get("wall_clock_days")
            band = "" if iv is None else f" (P10–P90 {iv.p10:,.1f}–{iv.p90:,.1f} days)"
            parts.append(
                f"<p>{h.esc(r.name)}: re-anchored on the measurements, one run takes "
                f"{est.wall_clock_days:,.1f} days{band}, {r.steps or 0:,} steps of "
                f"{(r.step_time_s or 0):,.2f} s.</p>"
            )
    if not any_ev:
        parts.append(
            "<p>No measurements attached: every figure is predicted. Add "
            '<code>measured_steps = "steps.csv"</code> to a [[systems]] entry after a '
            "benchmark allocation.</p>"
        )
    return h.section("Measured performance (benchmark allocation)", "".join(parts), id_="measured")
