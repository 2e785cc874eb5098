"""pandas views of results, for notebooks and spreadsheets (pandas is imported lazily)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from capacity.compare import CompareRow
    from capacity.estimate import Estimate
    from capacity.validation import Validation

_FLAT = (
    "model",
    "system",
    "params",
    "tokens",
    "n_gpus",
    "n_nodes",
    "tokens_per_s",
    "mfu",
    "wall_clock_days",
    "gpu_hours",
    "node_hours",
    "allocation_unit",
    "energy_mwh",
    "co2_t",
    "memory_per_gpu_gib",
    "fits_memory",
    "feasible",
)


def _row(doc: dict[str, Any]) -> dict[str, Any]:
    row = {k: doc.get(k) for k in _FLAT}
    cost = doc.get("cost")
    row["cost"] = None if cost is None else cost["amount"]
    row["cost_currency"] = None if cost is None else cost["currency"]
    for key, band in (doc.get("interval") or {}).items():
        if band is not None:
            row[f"{key}_p10"], row[f"{key}_p90"] = band["p10"], band["p90"]
    row["reasons"] = "; ".join(doc.get("reasons") or [])
    return row


def estimates_frame(estimates: Sequence[Estimate]) -> pd.DataFrame:
    """One row per estimate: the headline figures, with P10/P90 columns where known."""
    import pandas as pd

    return pd.DataFrame([_row(e.to_json()) for e in estimates])


def compare_frame(rows: Sequence[CompareRow]) -> pd.DataFrame:
    """`capacity compare` as a table (systems that cannot run the workload keep their reason)."""
    import pandas as pd

    out = []
    for r in rows:
        if r.estimate is None:
            out.append({"system": r.system.id, "feasible": False, "reasons": r.error})
            continue
        row = _row(r.estimate.to_json())
        if r.cost_converted is not None:
            row["cost_converted"] = r.cost_converted.amount
            row["converted_currency"] = r.cost_converted.currency
        out.append(row)
    return pd.DataFrame(out)


def validation_frame(val: Validation) -> pd.DataFrame:
    """`capacity validate` rows: predictions, reported figures and signed errors."""
    import pandas as pd

    return pd.DataFrame([r.to_json() for r in val.rows]).set_index("id")
