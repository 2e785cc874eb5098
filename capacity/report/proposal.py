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
    qs = plan.quarters
    headers = ["run", "kind", "what", *(q.label for q in qs), "total"]
    rows: list[list[str]] = []
    for r in plan.runs:
        if r.system_id != s.id:
            continue
        rows.append(
            [
                r.name,
                r.kind,
                r.describe,
                *(_int_or_dash(r.units_by_quarter.get(q.index)) for q in qs),
                h.fmt_int(r.units),
            ]
        )
    rows.append(
        [
            "subtotal",
            "",
            "",
            *(_int_or_dash(s.units_by_quarter.get(q.index)) for q in qs),
            h.fmt_int(s.subtotal),
        ]
    )
    margin = plan.info.contingency_fraction
    rows.append(
        [f"contingency ({margin:.0%})", "", "", *("" for _ in qs), h.fmt_int(s.contingency)]
    )
    rows.append(
        [
            "total with margin",
            "",
            "",
            *(_int_or_dash(s.units_by_quarter.get(q.index, 0) * (1 + margin)) for q in qs),
            h.fmt_int(s.total),
        ]
    )
    return headers, rows


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
            ]
        )
    return rows


LIMIT_HEADERS = [
    "system",
    "largest job (nodes)",
    "job limit (nodes)",
    "most nodes at once",
    "partition nodes",
    "longest run (h)",
    "wall-time limit (h)",
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
    "energy (MWh)",
    "CO2e (t)",
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
    """One row per run and quarter, then subtotal, contingency and total rows per system."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    margin = plan.info.contingency_fraction
    for s in plan.systems:
        base = [s.id, s.system.id, s.access or ""]
        for r in plan.runs:
            if r.system_id != s.id:
                continue
            for q, units in r.units_by_quarter.items():
                frac = units / r.units if r.units else 0.0
                writer.writerow(
                    [_cell(x) for x in base]
                    + [_cell(r.name), r.kind, f"Q{q}", s.billing_unit]
                    + _nums(units, r.gpu_hours * frac, r.node_hours * frac)
                    + _nums(*_opt(r.energy_mwh, frac), *_opt(r.co2_t, frac))
                    + _money(r, frac)
                    + [""]
                )
        for label, factor in (("(subtotal)", 1.0), ("(contingency)", margin)):
            writer.writerow(
                [_cell(x) for x in base]
                + [label, "", "all", s.billing_unit]
                + _nums(s.subtotal * factor, *_scaled(s, factor / (1 + margin)))
                + ["", "", "", "", ""]
            )
        writer.writerow(
            [_cell(x) for x in base]
            + ["(total)", "", "all", s.billing_unit]
            + _nums(s.total, s.gpu_hours, s.node_hours)
            + _nums(*_opt(s.energy_mwh, 1.0), *_opt(s.co2_t, 1.0))
            + (["", ""] if s.cost is None else [f"{s.cost.amount:.2f}", s.cost.currency])
            + [f"{s.storage_tb:.3f}"]
        )
    return buf.getvalue()


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

    info = plan.info
    body = [_summary_html(plan)]
    fig = f.request_figure(plan)
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
            ),
            id_="storage",
        )
    )
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
    cards.append(h.card("Energy", "totals.energy_mwh", totals["energy_mwh"], "MWh"))
    cards.append(h.card("CO2e", "totals.co2_t", totals["co2_t"], "t"))
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
        doc = est.to_json()
        days = interval_of(doc, "wall_clock_days")
        if days is not None:
            parts.append(
                f"<p>Predicted wall-clock of one run: {est.wall_clock_days:,.1f} days "
                f"(P10–P90 {days[0]:,.1f}–{days[1]:,.1f}); MFU {est.throughput.mfu:.1%} "
                f"({h.esc(est.throughput.mfu_origin)}).</p>"
                f'<p class="small muted">{h.esc(doc.get("interval_note") or "")} The '
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
    mfu = f.mfu_figure(published_mfu(catalog), ours)
    if mfu is not None:
        parts.append("<h3>MFU against published runs</h3>" + f.to_div(mfu, "chart-mfu"))
    if n == 0:
        parts.append("<p>No main training run in this campaign.</p>")
    return h.section("Scaling evidence", "".join(parts), id_="evidence")
