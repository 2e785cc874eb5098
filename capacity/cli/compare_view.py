"""Table, JSON and CSV views of `capacity compare` rows."""

from __future__ import annotations

import csv
import io

from capacity import fmt
from capacity.catalog.schemas import ModelSpec
from capacity.cli.common import table
from capacity.compare import CompareRow

COLUMNS = [
    "system",
    "kind",
    "status",
    "accelerator",
    "gpus",
    "nodes",
    "wall_clock_days",
    "gpu_hours",
    "node_hours",
    "allocation_units",
    "allocation_unit",
    "cost",
    "cost_currency",
    "cost_converted",
    "converted_currency",
    "energy_mwh",
    "co2_t",
    "memory_per_gpu_gib",
    "fits_memory",
    "feasible",
    "reasons",
]


def rows_csv(rows: list[CompareRow]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        doc = row.to_json()
        cost, conv = doc.get("cost"), doc.get("cost_converted")
        doc["cost"] = cost["amount"] if cost else ""
        doc["cost_currency"] = cost["currency"] if cost else ""
        doc["cost_converted"] = conv["amount"] if conv else ""
        doc["converted_currency"] = conv["currency"] if conv else ""
        doc["reasons"] = "; ".join(r for r in doc.get("reasons", []) if r)
        writer.writerow(doc)
    return buf.getvalue()


UNIT_SHORT = {"node-hour": "node-h", "gpu-hour": "GPU-h"}


def _energy(value: float | None, estimated: bool) -> str:
    text = fmt.or_missing(fmt.fixed, value, "-")
    return f"~{text}" if estimated and value is not None else text


def render_rows(
    rows: list[CompareRow],
    model: ModelSpec,
    tokens: float,
    currency: str,
    rates_date: str | None,
    sort: str,
) -> str:
    body = []
    for i, row in enumerate(rows, 1):
        est = row.estimate
        if est is None:
            body.append(
                [
                    str(i),
                    row.system.id,
                    "-",
                    "-",
                    "-",
                    "-",
                    "-",
                    "-",
                    "-",
                    "-",
                    f"cannot run: {row.error}",
                ]
            )
            continue
        cost = est.run.cost
        native = f"{cost.amount:,.0f} {cost.currency}" if cost else "no price"
        conv = row.cost_converted
        conv_s = f"{conv.amount:,.0f}" if conv and cost and conv.currency != cost.currency else ""
        verdict = "ok" if est.feasible else "; ".join(r.message for r in est.reasons if r.blocking)
        if est.feasible and est.reasons:
            verdict = "ok (" + "; ".join(r.message for r in est.reasons) + ")"
        body.append(
            [
                str(i),
                row.system.id,
                row.system.accelerator.id.replace("nvidia-", ""),
                f"{est.n_gpus:,}",
                fmt.or_missing(fmt.fixed, est.wall_clock_days, "-"),
                fmt.or_missing(fmt.integer, est.run.gpu_hours, "-"),
                f"{fmt.integer(est.run.allocation_units)} {UNIT_SHORT[est.run.allocation_unit]}",
                native + (f" ({conv_s} {currency})" if conv_s else ""),
                _energy(est.run.energy_mwh, est.run.energy_estimated),
                _energy(est.run.co2_t, est.run.energy_estimated),
                verdict,
            ]
        )
    head = f"{model.name}, {fmt.count(tokens)} tokens — {len(rows)} systems ranked by {sort}" + (
        f"; costs converted at the {rates_date} rates" if rates_date else ""
    )
    cols = [
        "#",
        "system",
        "accelerator",
        "GPUs",
        "days",
        "GPU-hours",
        "billed in",
        "cost",
        "MWh",
        "tCO2",
        "verdict",
    ]
    foot = (
        "MWh, tCO2: node power x PUE x the grid's intensity; node power is the system's TOP500 "
        "HPL power per node, '~' where estimated from the nearest measured system; PUE 1.2 "
        "unless the operator publishes one"
    )
    return head + "\n\n" + table(body, cols) + "\n" + foot
