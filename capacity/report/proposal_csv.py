"""request.csv: one row per run and quarter, then subtotal, contingency and total rows."""

from __future__ import annotations

import csv
import io
from typing import Any

from capacity.campaign import CampaignPlan
from capacity.rounding import largest_remainder

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


def _nums(*values: float | None) -> list[str]:
    return ["" if v is None else f"{v:.2f}" for v in values]


def _opt(value: float | None, frac: float) -> tuple[float | None]:
    return (None if value is None else value * frac,)
