"""The funding-proposal pack: request.md, request.csv and proposal.html from a `CampaignPlan`.

`render_files` returns every file's text; the caller writes them (atomically) only
once all of them rendered, so a failure leaves no half-written pack.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
from collections.abc import Sequence
from typing import Any

from capacity.campaign import CampaignPlan, RunPlan, SystemPlan
from capacity.catalog.loader import Catalog
from capacity.catalog.runs_io import read_runs_csv
from capacity.errors import CapacityError
from capacity.estimate import Assumption
from capacity.report import html as h
from capacity.report.data import STRONG_SCALING_EFFICIENCY_FLOOR, interval_of, strong_scaling
from capacity.report.estimate_report import memory_args, validation_assumptions
from capacity.report.law_evidence import law_evidence_html, law_evidence_markdown, main_targets
from capacity.rounding import largest_remainder
from capacity.scaling.fit import LawFit
from capacity.validation.runs import parse_runs


def render_files(
    plan: CampaignPlan,
    catalog: Catalog,
    *,
    title: str | None = None,
    today: dt.date | None = None,
    law: LawFit | None = None,
) -> dict[str, str]:
    md = render_markdown(plan, catalog)
    if law is not None:  # your own fitted law (`--law FILE.toml`): its scaling evidence
        md += "\n" + law_evidence_markdown(law, main_targets(plan))
    return {
        "request.md": md,
        "request.csv": render_csv(plan),
        "proposal.html": render_html(plan, catalog, title=title, today=today, law=law),
    }


def _unit_label(unit: str) -> str:
    return {"node-hour": "node-hours", "gpu-hour": "GPU-hours"}.get(unit, unit + "s")


def _period(plan: CampaignPlan) -> str:
    last = plan.period_end - dt.timedelta(days=1)
    return f"{plan.info.start.isoformat()} to {last.isoformat()} ({plan.info.months} months)"


def all_assumptions(plan: CampaignPlan, catalog: Catalog) -> list[Assumption]:
    out = list(plan.assumptions)
    out.append(
        Assumption(
            name="strong-scaling efficiency floor",
            value=f"{STRONG_SCALING_EFFICIENCY_FLOOR.value:.0%}",
            source=STRONG_SCALING_EFFICIENCY_FLOOR.source,
        )
    )
    out.extend(validation_assumptions(catalog.efficiency.get("calibration")))
    return out


# -- Markdown ---------------------------------------------------------------------------


def _md(text: object) -> str:
    """User text in Markdown: no raw HTML, no pipes or line breaks to break a table."""
    raw = html.escape(str("" if text is None else text), quote=False)
    return raw.replace("|", "\\|").replace("\n", " ")


def _md_table(headers: Sequence[str], rows: Sequence[Sequence[object]], right: int = 1) -> str:
    head = "| " + " | ".join(_md(x) for x in headers) + " |"
    align = "|" + "|".join("---" if i < right else "---:" for i in range(len(headers))) + "|"
    body = ["| " + " | ".join(_md(c) for c in row) + " |" for row in rows]
    return "\n".join([head, align, *body])


def _quarter_rows(plan: CampaignPlan, s: SystemPlan) -> tuple[list[str], list[list[str]]]:
    """Run x quarter table. Shown parts add up to shown totals (largest-remainder rounding)."""
    qs = plan.quarters
    headers = ["run", "kind", "what", *(q.label for q in qs), "total"]
    rows: list[list[str]] = []
    for r in plan.runs:
        if r.system_id != s.id:
            continue
        parts = largest_remainder([r.units_by_quarter.get(q.index, 0.0) for q in qs])
        cells = [*(_int_or_dash(v) for v in parts), _whole(r.units)]
        rows.append([r.name, r.kind, r.describe, *cells])
    sub = largest_remainder([s.units_by_quarter.get(q.index, 0.0) for q in qs])
    rows.append(["subtotal", "", "", *(_int_or_dash(v) for v in sub), _whole(s.subtotal)])
    margin = plan.info.contingency_fraction
    rows.append([f"contingency ({margin:.0%})", "", "", *("" for _ in qs), _whole(s.contingency)])
    tot = largest_remainder([s.units_by_quarter.get(q.index, 0.0) * (1 + margin) for q in qs])
    rows.append(["total with margin", "", "", *(_int_or_dash(v) for v in tot), _whole(s.total)])
    return headers, rows


def _whole(v: float) -> str:
    """A total as the sum of its largest-remainder parts shows it (round half up)."""
    return h.fmt_int(float(round(v)))


def _quarter_legend(plan: CampaignPlan) -> str:
    return "Quarters: " + "; ".join(f"{q.label} = {q.span}" for q in plan.quarters) + "."


def _int_or_dash(v: float | None) -> str:
    return "–" if not v else h.fmt_int(v)


def _share_rows(plan: CampaignPlan) -> list[list[str]]:
    rows = []
    for s in plan.systems:
        unit = _unit_label(s.billing_unit)
        rows.append(
            [
                s.id,
                f"{h.fmt_int(s.total)} {unit}",
                "elastic (no fixed capacity)"
                if s.capacity_units is None
                else f"{h.fmt_int(s.capacity_units)} {unit}",
                h.fmt_pct(s.share_of_capacity, 2),
                s.access or "—",
                "—" if s.access_share is None else f"{s.access_share:.0%}",
                h.fmt_pct(s.share_of_access, 2),
                "—" if s.allocation is None else f"{h.fmt_int(s.allocation)} {unit}",
            ]
        )
    return rows


SHARE_HEADERS = [
    "system",
    "request (with margin)",
    "capacity over the period",
    "share of capacity",
    "access route",
    "route's share of the system",
    "share of the route's part",
    "allocation ceiling",
]


def _limit_rows(plan: CampaignPlan) -> list[list[str]]:
    rows = []
    for s in plan.systems:
        sysm = s.system
        rows.append(
            [
                s.id,
                f"{s.peak_job_nodes:,}",
                "none published"
                if sysm.max_nodes_per_job is None
                else f"{sysm.max_nodes_per_job:,}",
                f"{s.peak_concurrent_nodes:,}",
                "elastic" if sysm.nodes is None else f"{sysm.nodes:,}",
                h.fmt_num(s.longest_job_h),
                "none" if sysm.max_wall_time_h is None else f"{sysm.max_wall_time_h:g}",
                _queues_used(plan, s),
            ]
        )
    return rows


def _queues_used(plan: CampaignPlan, s: SystemPlan) -> str:
    """The QoS the runs use, with the job sizes that need each one."""
    by_q: dict[str, set[int]] = {}
    for r in plan.runs:
        if r.system_id != s.id:
            continue
        for n, q in zip(r.node_counts, r.queues, strict=False):
            if q is not None:
                by_q.setdefault(q, set()).add(n)
    if not by_q:
        return "no QoS rules in the catalog"
    return "; ".join(
        f"{q} ({', '.join(str(n) for n in sorted(ns))} nodes)" for q, ns in by_q.items()
    )


LIMIT_HEADERS = [
    "system",
    "largest job (nodes)",
    "job limit (nodes)",
    "most nodes at once (runs of a quarter overlapping)",
    "partition nodes",
    "longest run (h)",
    "wall-time limit (h)",
    "queue (QoS) per job size",
]


def _storage_rows(plan: CampaignPlan) -> list[list[str]]:
    rows = []
    for s in plan.systems:
        rows.append(
            [s.id, h.fmt_num(s.dataset_tb), h.fmt_num(s.checkpoint_tb), h.fmt_num(s.storage_tb)]
        )
    rows.append(
        [
            "total",
            h.fmt_num(sum(s.dataset_tb for s in plan.systems)),
            h.fmt_num(sum(s.checkpoint_tb for s in plan.systems)),
            h.fmt_num(sum(s.storage_tb for s in plan.systems)),
        ]
    )
    return rows


STORAGE_HEADERS = ["system", "dataset (TB)", "checkpoints kept (TB)", "total (TB)"]


def _energy_rows(plan: CampaignPlan) -> list[list[str]]:
    rows = []
    for s in plan.systems:
        rows.append(
            [
                s.id,
                h.fmt_num(s.energy_mwh),
                h.fmt_num(s.co2_t),
                f"{s.system.grid.gco2_per_kwh:g} ({s.system.grid.name}, {s.system.grid.year})",
                "—" if s.cost is None else h.fmt_money(s.cost.amount, s.cost.currency),
            ]
        )
    totals = plan.to_json()["totals"]
    money = totals["cost_converted"]
    rows.append(
        [
            "total",
            h.fmt_num(totals["energy_mwh"]),
            h.fmt_num(totals["co2_t"]),
            "",
            "—" if money is None else h.fmt_money(money["amount"], money["currency"]),
        ]
    )
    return rows


ENERGY_HEADERS = [
    "system",
    "energy (MWh, with margin)",
    "CO2e (t, with margin)",
    "grid (gCO2e/kWh)",
    "cost (with margin, where priced)",
]


def render_markdown(plan: CampaignPlan, catalog: Catalog) -> str:
    info = plan.info
    out = [f"# Resource request: {_md(info.name)}", ""]
    if info.project:
        out.append(f"- Project: {_md(info.project)}")
    if info.call:
        out.append(f"- Call: {_md(info.call)}")
    out += [
        f"- Allocation period: {_period(plan)}",
        f"- Contingency margin: {info.contingency_fraction:.0%}",
        "- Generated by `capacity proposal`; hours are in each system's billing unit.",
        f"- {_quarter_legend(plan)}",
        "",
        "## Summary",
        "",
        _md_table(
            [
                "system",
                "partition",
                "billing unit",
                "without margin",
                "with margin",
                "storage (TB)",
            ],
            [
                [
                    s.id,
                    s.system.name,
                    _unit_label(s.billing_unit),
                    h.fmt_int(s.subtotal),
                    h.fmt_int(s.total),
                    h.fmt_num(s.storage_tb),
                ]
                for s in plan.systems
            ],
            right=3,
        ),
        "",
    ]
    if plan.warnings:
        out += ["## Warnings", ""] + [f"- {_md(w)}" for w in plan.warnings] + [""]
    for s in plan.systems:
        headers, rows = _quarter_rows(plan, s)
        out += [
            f"## {_md(s.id)}: {_md(s.system.name)} ({_unit_label(s.billing_unit)})",
            "",
            _md_table(headers, rows, right=3),
            "",
        ]
    call_rows = _call_rows(plan)
    if call_rows:
        out += ["## Access call", "", _md_table(CALL_HEADERS, call_rows, right=2), ""]
        for sp in plan.systems:
            if sp.call_check is not None:
                out += [f"- {_md(sp.id)}: {_md(n)}" for n in sp.call_check.notes]
        out.append("")
    out += ["## Billing units", ""] + [f"- {_md(x)}" for x in _billing_lines(plan)] + [""]
    out += [
        "## Runs: steps and time per step",
        "",
        _md_table(MILESTONE_HEADERS, _milestone_rows(plan), right=3),
        "",
    ]
    for sp in plan.systems:
        if sp.evidence is None:
            continue
        out += [f"## Measured performance on {_md(sp.id)}", ""]
        if sp.evidence.source:
            out += [f"Measured on: {_md(sp.evidence.source)}", ""]
        out += [_md_table(MEASURED_HEADERS, _measured_rows(sp), right=0), ""]
        out += [f"- {_md(n)}" for n in sp.evidence.notes] + [""]
    out += [
        "## Share of each system's capacity over the period",
        "",
        _md_table(SHARE_HEADERS, _share_rows(plan)),
        "",
        "## Job size and wall time against the partition's limits",
        "",
        _md_table(LIMIT_HEADERS, _limit_rows(plan)),
        "",
        "## Storage",
        "",
        _md_table(STORAGE_HEADERS, _storage_rows(plan)),
        "",
        "## Energy, CO2 and cost",
        "",
        _md_table(ENERGY_HEADERS, _energy_rows(plan)),
        "",
    ]
    out += ["## Data management", ""] + [f"- {_md(t)}" for t in data_management(plan)] + [""]
    if plan.notes:
        out += ["## Notes", ""] + [f"- {_md(n)}" for n in plan.notes] + [""]
    out += [
        "## Assumptions",
        "",
        _md_table(
            ["assumption", "value", "source"],
            [[a.name, a.value, a.source or "—"] for a in all_assumptions(plan, catalog)],
            right=99,
        ),
        "",
    ]
    return "\n".join(out)


# -- CSV ------------------------------------------------------------------------------

CSV_COLUMNS = [
    "system",
    "catalog_id",
    "access",
    "run",
    "kind",
    "quarter",
    "billing_unit",
    "units",
    "gpu_hours",
    "node_hours",
    "energy_mwh",
    "co2_t",
    "cost",
    "currency",
    "storage_tb",
]


def _cell(value: Any) -> Any:
    """Neutralise spreadsheet formulas in user text (=, +, -, @ at the start)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return "" if value is None else value


def render_csv(plan: CampaignPlan) -> str:
    """One row per run and quarter, then subtotal, contingency and total rows per system.

    Numbers are rounded to 2 decimals by largest remainder per column, so that the run
    rows add up to the subtotal row and run rows + contingency row to the total row."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    margin = plan.info.contingency_fraction
    for s in plan.systems:
        base = [_cell(x) for x in (s.id, s.system.id, s.access or "")]
        heads: list[list[Any]] = []
        values: list[list[float | None]] = []  # units, GPU-h, node-h, MWh, t, cost
        currency = s.cost.currency if s.cost is not None else ""
        for r in plan.runs:
            if r.system_id != s.id:
                continue
            for q, units in r.units_by_quarter.items():
                frac = units / r.units if r.units else 0.0
                heads.append([_cell(r.name), r.kind, f"Q{q}", s.billing_unit])
                values.append(
                    [
                        units,
                        r.gpu_hours * frac,
                        r.node_hours * frac,
                        *_opt(r.energy_mwh, frac),
                        *_opt(r.co2_t, frac),
                        None if r.cost is None else r.cost.amount * frac,
                    ]
                )
        share = margin / (1 + margin)
        contingency = [
            s.contingency,
            s.gpu_hours * share,
            s.node_hours * share,
            *_opt(s.energy_mwh, share),
            *_opt(s.co2_t, share),
            None if s.cost is None else s.cost.amount * share,
        ]
        columns = list(zip(*values, contingency, strict=True)) if values else []
        shown: list[list[float | None]] = [[] for _ in range(len(values) + 1)]
        for col in columns:
            known = all(v is not None for v in col)
            parts = largest_remainder([v or 0.0 for v in col], 2) if known else list(col)
            for i, v in enumerate(parts):
                shown[i].append(v)
        runs_shown, cont_shown = shown[:-1], shown[-1]
        for head, vals in zip(heads, runs_shown, strict=True):
            writer.writerow(base + head + _nums(*vals) + [currency if vals[5] else ""] + [""])
        sub = [_sum_col(runs_shown, i) for i in range(6)]
        tot = [_sum_col(shown, i) for i in range(6)]
        for label, vals in (("(subtotal)", sub), ("(contingency)", cont_shown), ("(total)", tot)):
            storage = f"{s.storage_tb:.3f}" if label == "(total)" else ""
            money = currency if vals and vals[5] is not None else ""
            writer.writerow(
                [*base, label, "", "all", s.billing_unit, *_nums(*vals), money, storage]
            )
    return buf.getvalue()


def _sum_col(rows: list[list[float | None]], i: int) -> float | None:
    vals = [r[i] for r in rows if len(r) > i]
    if not vals or any(v is None for v in vals):
        return None
    return sum(v for v in vals if v is not None)


def _system_money(s: SystemPlan, share: float) -> list[str]:
    return ["", ""] if s.cost is None else [f"{s.cost.amount * share:.2f}", s.cost.currency]


def _nums(*values: float | None) -> list[str]:
    return ["" if v is None else f"{v:.2f}" for v in values]


def _opt(value: float | None, frac: float) -> tuple[float | None]:
    return (None if value is None else value * frac,)


def _scaled(s: SystemPlan, factor: float) -> tuple[float, float]:
    return s.gpu_hours * factor, s.node_hours * factor


def _money(r: RunPlan, frac: float) -> list[str]:
    if r.cost is None:
        return ["", ""]
    return [f"{r.cost.amount * frac:.2f}", r.cost.currency]


# -- HTML -----------------------------------------------------------------------------


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


def render_html(
    plan: CampaignPlan,
    catalog: Catalog,
    *,
    title: str | None = None,
    today: dt.date | None = None,
    law: LawFit | None = None,
) -> str:
    from capacity.report import figures as f
    from capacity.report import proposal_figures as pf

    info = plan.info
    body = [_summary_html(plan), _call_html(plan)]
    fig = pf.request_figure(plan)
    tables = []
    for s in plan.systems:
        headers, rows = _quarter_rows(plan, s)
        n = len(rows)
        tables.append(
            f"<h3>{h.esc(s.id)}: {h.esc(s.system.name)} "
            f"({h.esc(_unit_label(s.billing_unit))})</h3>"
            + h.table(
                headers,
                rows,
                numeric=tuple(range(3, len(headers))),
                total_rows=(n - 1,),
            )
        )
    chart = "" if fig is None else f.to_div(fig, "chart-request")
    chart += f'<p class="small muted">{h.esc(_quarter_legend(plan))}</p>'
    body.append(
        h.section("Request per system, run and quarter", chart + "".join(tables), id_="request")
    )
    body.append(
        h.section(
            "Share of each system's capacity",
            '<p class="small muted">The request with its margin against everything the partition '
            "delivers over the allocation period (nodes x hours), and against the part the access "
            "route manages, where its share is known. Panels judge requests against these.</p>"
            + h.table(SHARE_HEADERS, _share_rows(plan), numeric=(1, 2, 3, 5, 6, 7)),
            id_="share",
        )
    )
    body.append(
        h.section(
            "Job size and wall time against the partition's limits",
            h.table(LIMIT_HEADERS, _limit_rows(plan), numeric=(1, 2, 3, 4, 5, 6))
            + h.table(MILESTONE_HEADERS, _milestone_rows(plan), numeric=(3, 4, 5, 6, 7, 8))
            + h.bullet_list(plan.notes, "small muted"),
            id_="limits",
        )
    )
    body.append(
        h.section(
            "Storage",
            '<p class="small muted">Datasets as given in the campaign; checkpoints: the full '
            "training state kept per run plus the final weights of trained models.</p>"
            + h.table(
                STORAGE_HEADERS,
                _storage_rows(plan),
                numeric=(1, 2, 3),
                total_rows=(len(plan.systems),),
            )
            + h.table(["system", *(q.label for q in plan.quarters)], _storage_by_quarter(plan))
            + "".join(f"<p>{h.esc(t)}</p>" for t in data_management(plan)),
            id_="storage",
        )
    )
    body.append(_measured_html(plan))
    body.append(_evidence_html(plan, catalog))
    if law is not None:
        body.append(law_evidence_html(law, main_targets(plan)))
    body.append(
        h.section(
            "Energy, CO2 and cost",
            h.table(
                ENERGY_HEADERS,
                _energy_rows(plan),
                numeric=(1, 2, 4),
                total_rows=(len(plan.systems),),
            ),
            id_="energy",
        )
    )
    arows = [(a.name, a.value, a.source or "—") for a in all_assumptions(plan, catalog)]
    body.append(
        h.section(
            "Assumptions", h.table(["assumption", "value", "source"], arows), id_="assumptions"
        )
    )
    subtitle = [x for x in (info.project, info.call) if x] + [f"Allocation period {_period(plan)}"]
    return h.page(
        title=title or f"Resource request: {info.name}",
        subtitle=subtitle,
        body="".join(body),
        today=today,
    )


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


# -- Milestones, the call and measured evidence (issue #13) ------------------------------

MILESTONE_HEADERS = [
    "run",
    "system",
    "kind",
    "runs",
    "nodes",
    "steps per run",
    "time per step (s, predicted)",
    "global batch (tokens)",
    "tokens/s",
]


def _milestone_rows(plan: CampaignPlan) -> list[list[str]]:
    """The milestone columns calls ask for: runs, nodes, steps per run, time per step."""
    rows = []
    for r in plan.runs:
        est = r.estimates[0] if r.estimates else None
        rows.append(
            [
                r.name,
                r.system_id,
                r.kind,
                f"{r.count:,}",
                "/".join(str(n) for n in r.node_counts),
                "—" if r.steps is None else f"{r.steps:,}",
                "—" if r.step_time_s is None else f"{r.step_time_s:,.2f}",
                "—" if est is None else f"{est.global_batch_tokens:,.0f}",
                "—" if est is None else f"{est.throughput.tokens_per_s:,.0f}",
            ]
        )
    return rows


CALL_HEADERS = [
    "system",
    "call",
    "request (call's unit, with margin)",
    "per-project minimum",
    "per-project maximum",
    "pool per cut-off",
    "share of the pool",
    "check",
]


def _call_rows(plan: CampaignPlan) -> list[list[str]]:
    rows = []
    for s in plan.systems:
        c = s.call_check
        if c is None:
            continue
        unit = c.unit_label

        def amount(v: float | None, unit: str = unit) -> str:
            return "not published" if v is None else f"{v:,.0f} {unit}"

        rows.append(
            [
                s.id,
                c.call_name,
                "cannot be converted" if c.requested is None else amount(c.requested),
                amount(c.min_request),
                amount(c.max_request),
                amount(c.pool_per_cutoff),
                "—" if c.share_of_pool is None else h.fmt_pct(c.share_of_pool, 1),
                "within the call's limits" if c.ok else f"{len(c.warnings)} warning(s)",
            ]
        )
    return rows


def _billing_lines(plan: CampaignPlan) -> list[str]:
    from capacity.billing import all_units, describe

    out = []
    for s in plan.systems:
        billed = all_units(s.system, s.node_hours)
        src = [b for b in billed if b.source is not None]
        line = f"{s.id}: {describe(billed)} (with margin; billed in {_unit_label(s.billing_unit)})"
        if src:
            line += "; " + "; ".join(
                f"{b.per_node_hour:g} {b.label} per node-hour [{b.source.title}]"
                for b in src
                if b.source is not None
            )
        out.append(line)
    return out


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


MEASURED_HEADERS = [
    "GPUs",
    "layout",
    "global batch (tokens)",
    "measured step (s)",
    "predicted before re-anchoring (s)",
    "measured / predicted",
    "tokens/s",
    "tokens/s per GPU",
    "MFU",
    "strong-scaling efficiency",
    "weak-scaling efficiency",
]


def _measured_rows(s: SystemPlan) -> list[list[str]]:
    ev = s.evidence
    if ev is None:
        return []
    rows = []
    for p in ev.points:
        rows.append(
            [
                f"{p.gpus:,}",
                p.layout,
                f"{p.global_batch_tokens:,.0f}",
                f"{p.measured_step_s:,.3f}",
                "—" if p.predicted_step_s is None else f"{p.predicted_step_s:,.3f}",
                "—" if p.ratio is None else f"{p.ratio:.2f}",
                f"{p.tokens_per_s:,.0f}",
                f"{p.tokens_per_gpu_s:,.0f}",
                h.fmt_pct(p.mfu, 1),
                h.fmt_pct(p.efficiency, 0) if p.efficiency is not None else "—",
                h.fmt_pct(p.weak_efficiency, 0) if p.weak_efficiency is not None else "—",
            ]
        )
    return rows


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


# -- Storage over time and data management ----------------------------------------------


def _storage_tb_by_quarter(plan: CampaignPlan, s: SystemPlan) -> list[float]:
    """TB held at the end of each quarter: the dataset from the start, each run's retained
    checkpoints and final weights from its last quarter on (nothing deleted in the period)."""
    out = []
    for q in plan.quarters:
        held = s.dataset_tb
        for r in plan.runs:
            if r.system_id == s.id and r.quarters and max(r.quarters) <= q.index:
                held += r.checkpoint_tb
        out.append(held)
    return out


def _storage_by_quarter(plan: CampaignPlan) -> list[list[str]]:
    return [
        [
            f"{s.id} (TB held at quarter end)",
            *(h.fmt_num(v) for v in _storage_tb_by_quarter(plan, s)),
        ]
        for s in plan.systems
    ]


def data_management(plan: CampaignPlan) -> list[str]:
    """A data-management paragraph per system, filled from the campaign."""
    out = []
    kept = {r.name: r for r in plan.runs if r.checkpoint_tb > 0}
    for s in plan.systems:
        mine = [r for r in kept.values() if r.system_id == s.id]
        dataset = (
            f"the training data ({s.dataset_tb:,.1f} TB) is staged on {s.system.name} before "
            "the first run and kept for the period"
            if s.dataset_tb > 0
            else "no training data is stored there (dataset_tb = 0)"
        )
        ckpt = (
            "; ".join(f"{r.name}: {r.checkpoint_tb:,.2f} TB" for r in mine)
            if mine
            else "no checkpoints are kept"
        )
        peak = max(_storage_tb_by_quarter(plan, s), default=0.0)
        out.append(
            f"{s.id}: {dataset}. Retained full checkpoints and final weights per run: {ckpt}. "
            f"At most {peak:,.1f} TB are held at once (the campaign deletes nothing before the "
            "end of the period). Per-filesystem quotas and purge rules are not in the "
            "catalog: check the site's scratch/work/store limits against these figures."
        )
    return out
