"""Table, JSON and CSV views of `capacity compare` rows."""

from __future__ import annotations

import csv
import io
from typing import Any

from capacity.catalog.schemas import ModelSpec
from capacity.cli.common import table
from capacity.compare import CompareRow
from capacity.units import human_count

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


def row_json(row: CompareRow) -> dict[str, Any]:
    s, est = row.system, row.estimate
    base: dict[str, Any] = {
        "system": s.id,
        "name": s.name,
        "kind": s.kind,
        "status": s.status,
        "accelerator": s.accelerator.id,
    }
    if est is None:
        return {**base, "feasible": False, "reasons": [row.error], "error": row.error}
    cost = est.run.cost
    conv = row.cost_converted
    return {
        **base,
        "gpus": est.n_gpus,
        "nodes": est.n_nodes,
        "wall_clock_days": est.wall_clock_days,
        "gpu_hours": est.run.gpu_hours,
        "node_hours": est.run.node_hours,
        "allocation_unit": est.run.allocation_unit,
        "allocation_units": est.run.allocation_units,
        "billed": {b.unit: b.amount for b in est.billed},
        "queue": None if est.queue is None else est.queue.name,
        "cost": None if cost is None else {"amount": cost.amount, "currency": cost.currency},
        "cost_converted": None
        if conv is None
        else {"amount": conv.amount, "currency": conv.currency},
        "energy_mwh": est.run.energy_mwh,
        "co2_t": est.run.co2_t,
        "power_basis": est.run.power_basis,
        "mfu": est.throughput.mfu,
        "memory_per_gpu_gib": est.memory.total_gib,
        "fits_memory": est.memory.fits,
        "feasible": est.feasible,
        "reasons": [r.message for r in est.reasons],
    }


def rows_csv(rows: list[CompareRow]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        doc = row_json(row)
        cost, conv = doc.get("cost"), doc.get("cost_converted")
        doc["cost"] = cost["amount"] if cost else ""
        doc["cost_currency"] = cost["currency"] if cost else ""
        doc["cost_converted"] = conv["amount"] if conv else ""
        doc["converted_currency"] = conv["currency"] if conv else ""
        doc["reasons"] = "; ".join(r for r in doc.get("reasons", []) if r)
        writer.writerow(doc)
    return buf.getvalue()


UNIT_SHORT = {"node-hour": "node-h", "gpu-hour": "GPU-h"}


def _num(value: float | None, fmt: str = ",.0f") -> str:
    return "-" if value is None else format(value, fmt)


def _energy(value: float | None, estimated: bool) -> str:
    text = _num(value, ",.1f")
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
                _num(est.wall_clock_days, ",.1f"),
                _num(est.run.gpu_hours),
                f"{est.run.allocation_units:,.0f} {UNIT_SHORT[est.run.allocation_unit]}",
                native + (f" ({conv_s} {currency})" if conv_s else ""),
                _energy(est.run.energy_mwh, est.run.energy_estimated),
                _energy(est.run.co2_t, est.run.energy_estimated),
                verdict,
            ]
        )
    head = f"{model.name}, {human_count(tokens)} tokens — {len(rows)} systems ranked by {sort}" + (
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
