"""The funding-proposal pack: request.md, request.csv and proposal.html from a `CampaignPlan`.

`render_files` returns every file's text; the caller writes them (atomically) only
once all of them rendered, so a failure leaves no half-written pack.

The pack is built in: `proposal_tables` (rows shared by Markdown and HTML),
`proposal_markdown` (request.md), `proposal_csv` (request.csv), `proposal_sections`
(the HTML sections for the call, measured evidence and scaling evidence) and here (the
page assembly). Their public names stay importable from this module.
"""

from __future__ import annotations

import datetime as dt

from capacity.campaign import CampaignPlan
from capacity.catalog.loader import Catalog
from capacity.report import html as h
from capacity.report.law_evidence import law_evidence_html, law_evidence_markdown, main_targets
from capacity.report.proposal_csv import CSV_COLUMNS, render_csv
from capacity.report.proposal_markdown import render_markdown
from capacity.report.proposal_sections import (
    _call_html,
    _evidence_html,
    _measured_html,
    _summary_html,
    published_mfu,
)
from capacity.report.proposal_tables import (
    CALL_HEADERS,
    ENERGY_HEADERS,
    LIMIT_HEADERS,
    MEASURED_HEADERS,
    MILESTONE_HEADERS,
    SHARE_HEADERS,
    STORAGE_HEADERS,
    _energy_rows,
    _limit_rows,
    _milestone_rows,
    _period,
    _quarter_legend,
    _quarter_rows,
    _share_rows,
    _storage_by_quarter,
    _storage_rows,
    _storage_tb_by_quarter,
    _unit_label,
    all_assumptions,
    data_management,
)
from capacity.scaling.fit import LawFit

__all__ = [
    "CALL_HEADERS",
    "CSV_COLUMNS",
    "ENERGY_HEADERS",
    "LIMIT_HEADERS",
    "MEASURED_HEADERS",
    "MILESTONE_HEADERS",
    "SHARE_HEADERS",
    "STORAGE_HEADERS",
    "_quarter_rows",
    "_storage_tb_by_quarter",
    "all_assumptions",
    "data_management",
    "published_mfu",
    "render_csv",
    "render_files",
    "render_html",
    "render_markdown",
]


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


def render_html(
    plan: CampaignPlan,
    catalog: Catalog,
    *,
    title: str | None = None,
    today: dt.date | None = None,
    law: LawFit | None = None,
) -> str:
    info = plan.info
    body = [_summary_html(plan), _call_html(plan), _request_html(plan)]
    body += _capacity_sections(plan)
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


def _request_html(plan: CampaignPlan) -> str:
    """The request per system, run and quarter: the chart and one table per system."""
    from capacity.report import figures as f
    from capacity.report import proposal_figures as pf

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
    return h.section("Request per system, run and quarter", chart + "".join(tables), id_="request")


def _capacity_sections(plan: CampaignPlan) -> list[str]:
    """The share of capacity, the job limits and milestones, and storage."""
    sections: list[str] = []
    sections.append(
        h.section(
            "Share of each system's capacity",
            '<p class="small muted">The request with its margin against everything the partition '
            "delivers over the allocation period (nodes x hours), and against the part the access "
            "route manages, where its share is known. Panels judge requests against these.</p>"
            + h.table(SHARE_HEADERS, _share_rows(plan), numeric=(1, 2, 3, 5, 6, 7)),
            id_="share",
        )
    )
    sections.append(
        h.section(
            "Job size and wall time against the partition's limits",
            h.table(LIMIT_HEADERS, _limit_rows(plan), numeric=(1, 2, 3, 4, 5, 6))
            + h.table(MILESTONE_HEADERS, _milestone_rows(plan), numeric=(3, 4, 5, 6, 7, 8))
            + h.bullet_list(plan.notes, "small muted"),
            id_="limits",
        )
    )
    sections.append(
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
    return sections
