"""Tables and text views of catalog entries."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from capacity.catalog.loader import Catalog
from capacity.catalog.schemas import Entry, Partition, Sourced
from capacity.errors import CapacityError


def _fmt(value: Any) -> str:
    return "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def _fig(rec: Sourced, field: str) -> str:
    """A figure for a table: its value, with '(estimate)' when we derived it."""
    text = _fmt(getattr(rec, field))
    src = rec.source_for(field)
    return f"{text} (estimate)" if text and src is not None and src.estimated else text


def list_rows(cat: Catalog, kind: str) -> tuple[list[str], list[dict[str, Any]]]:
    """Columns and rows of `capacity catalog list KIND`. Long because it is one branch per
    kind of record, each a column list and a row literal."""
    rows: list[dict[str, Any]] = []
    if kind == "accelerators":
        headers = ["id", "memory_gib", "bf16_tflops", "fp8_tflops", "tdp_w", "status"]
        for a in cat.accelerators.values():
            rows.append(
                {
                    "id": a.id,
                    "memory_gib": _fig(a, "memory_gib"),
                    "bf16_tflops": _fig(a, "peak_tflops_bf16"),
                    "fp8_tflops": _fig(a, "peak_tflops_fp8"),
                    "tdp_w": _fig(a, "tdp_w"),
                    "status": a.status,
                }
            )
    elif kind == "clusters":
        headers = ["id", "country", "nodes", "gpus_per_node", "accelerator", "unit", "status"]
        for c in cat.clusters.values():
            for p in c.partitions:
                rows.append(
                    {
                        "id": f"{c.id}/{p.id}",
                        "country": c.country,
                        "nodes": _fig(p, "nodes"),
                        "gpus_per_node": _fig(p, "accelerators_per_node"),
                        "accelerator": p.accelerator,
                        "unit": p.allocation_unit,
                        "status": p.status,
                    }
                )
    elif kind == "cloud":
        headers = [
            "id",
            "provider",
            "gpus",
            "accelerator",
            "price_per_hour",
            "currency",
            "pricing",
            "region",
        ]
        for o in cat.cloud.values():
            rows.append(
                {
                    "id": o.id,
                    "provider": o.provider,
                    "gpus": o.accelerators_per_instance,
                    "accelerator": o.accelerator,
                    "price_per_hour": _fig(o, "price_per_hour"),
                    "currency": o.currency,
                    "pricing": o.pricing_model,
                    "region": o.region,
                }
            )
    elif kind == "models":
        from capacity.workload import param_counts

        headers = ["id", "params_b", "layers", "d_model", "heads", "kv_heads", "seq_len", "moe"]
        for m in cat.models.values():
            moe = f"{m.moe_experts}x top-{m.moe_top_k}" if m.is_moe else ""
            rows.append(
                {
                    "id": m.id,
                    "params_b": f"{param_counts(m).total / 1e9:.2f}",
                    "layers": m.n_layers,
                    "d_model": m.d_model,
                    "heads": m.n_heads,
                    "kv_heads": m.kv_heads,
                    "seq_len": m.seq_len,
                    "moe": moe,
                }
            )
    elif kind == "calls":
        headers = ["id", "funder", "unit", "period_months", "systems", "max_request"]
        for call in cat.calls.values():
            rows.append(
                {
                    "id": call.id,
                    "funder": call.funder,
                    "unit": call.unit,
                    "period_months": _fmt(call.period_months),
                    "systems": len(call.systems),
                    "max_request": _fmt(call.max_request),
                }
            )
    elif kind == "frameworks":
        headers = ["id", "name", "fit_family", "flash_attention", "zero_stage", "recompute"]
        for f in cat.frameworks.values():
            rows.append(
                {
                    "id": f.id,
                    "name": f.name,
                    "fit_family": f.fit_family,
                    "flash_attention": _fmt(f.flash_attention),
                    "zero_stage": _fmt(f.zero_stage),
                    "recompute": _fmt(f.recompute),
                }
            )
    elif kind == "wan":
        headers = ["id", "cluster", "network", "uplink_gbit_per_s"]
        for w in cat.wan.values():
            rows.append(
                {
                    "id": w.id,
                    "cluster": w.cluster,
                    "network": w.network,
                    "uplink_gbit_per_s": _fmt(w.uplink_gbit_per_s),
                }
            )
    else:
        headers = ["id", "name", "gco2_per_kwh", "year"]
        for g in cat.grids.values():
            rows.append(
                {"id": g.id, "name": g.name, "gco2_per_kwh": _fmt(g.gco2_per_kwh), "year": g.year}
            )
    return headers, rows


def _tables(cat: Catalog) -> tuple[Mapping[str, Entry], ...]:
    return (
        cat.accelerators,
        cat.clusters,
        cat.cloud,
        cat.models,
        cat.grids,
        cat.calls,
        cat.frameworks,
        cat.wan,
    )


def find_entry(cat: Catalog, key: str) -> Entry:
    for table in _tables(cat):
        if key in table:
            return table[key]
    low = key.lower()
    for table in _tables(cat):
        for e in table.values():
            if low in (a.lower() for a in e.aliases):
                return e
    cluster_id, _, partition = key.partition("/")
    cluster = cat.clusters.get(cluster_id)
    if cluster is not None and partition in {p.id for p in cluster.partitions}:
        return cluster  # 'cluster/partition', as --cluster takes it: the cluster holds it
    import difflib

    names = list(dict.fromkeys(name for table in _tables(cat) for name in table))
    close = difflib.get_close_matches(key, names, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise CapacityError(f"no catalog entry '{key}'{hint}", field="ID")


def _render_record(rec: BaseModel, indent: str = "") -> list[str]:
    lines = []
    for name in type(rec).model_fields:
        if name == "sources":
            continue
        value = getattr(rec, name)
        if value is None or value == () or value == "":
            continue
        if isinstance(value, tuple) and value and isinstance(value[0], Partition):
            for part in value:
                lines.append(f"{indent}partition {part.id}:")
                lines += _render_record(part, indent + "    ")
            continue
        if isinstance(value, tuple) and value and isinstance(value[0], Sourced):
            for sub in value:  # queues, billing rates, a call's systems, framework eras
                key = (
                    getattr(sub, "id", None)
                    or getattr(sub, "system", None)
                    or getattr(sub, "unit", None)
                    or f"until {getattr(sub, 'until_year', '?')}"
                )
                lines.append(f"{indent}{name} {key}:")
                lines += _render_record(sub, indent + "    ")
            continue
        src = ""
        if (
            isinstance(rec, Sourced)
            and isinstance(value, int | float)
            and not isinstance(value, bool)
        ):
            s = rec.source_for(name)
            if s:
                src = f"   [{s.label()}]"
        shown = ", ".join(map(str, value)) if isinstance(value, tuple) else _fmt(value)
        lines.append(f"{indent}{name}: {shown}{src}")
    if isinstance(rec, Sourced) and rec.sources:
        lines.append(f"{indent}sources:")
        for s in rec.sources:
            est = f"(estimate: {s.basis}) " if s.estimated else ""
            lines.append(
                f"{indent}  - {est}{s.title} ({s.url or ''} {s.locator or ''}, as of {s.as_of})"
                f" covers: {', '.join(s.fields)}"
            )
            if s.stale_note:
                lines.append(f"{indent}    kept although old: {s.stale_note}")
    return lines


def render_entry(entry: Entry) -> str:
    return "\n".join(_render_record(entry))
