"""Turn CLI options into a validated `Scenario` (shared by estimate, compare, report)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from capacity.catalog.loader import Catalog
from capacity.catalog.schemas import Precision
from capacity.cli.common import (
    DEFAULT_CLUSTER,
    DEFAULT_MODEL,
    DEFAULT_TOKENS,
    get_catalog,
    resolve_model,
)
from capacity.errors import CapacityError
from capacity.estimate import Scenario
from capacity.layout import Layout, Recompute
from capacity.system import System, resolve_system
from capacity.units import parse_quantity

PRECISIONS = ("bf16", "fp16", "fp8", "tf32")
RECOMPUTES = ("none", "selective", "full")


def parse_precision(text: str) -> Precision:
    if text not in PRECISIONS:
        raise CapacityError(f"'{text}' is not one of {', '.join(PRECISIONS)}", field="precision")
    return cast(Precision, text)


def job_gpus(system: System, nodes: int | None, gpus: int | None) -> int | None:
    if nodes is not None and gpus is not None:
        raise CapacityError("give either --nodes or --gpus, not both", field="gpus")
    if nodes is not None:
        if nodes <= 0:
            raise CapacityError(f"must be positive, got {nodes}", field="nodes")
        return nodes * system.gpus_per_node
    if gpus is not None:
        if gpus <= 0:
            raise CapacityError(f"must be positive, got {gpus}", field="gpus")
        if gpus % system.gpus_per_node:
            raise CapacityError(
                f"{gpus} is not a multiple of the {system.gpus_per_node} GPUs per node of "
                f"{system.name}",
                field="gpus",
            )
    return gpus


def build_layout(
    *,
    n_gpus: int | None,
    tp: int | None,
    pp: int | None,
    dp: int | None,
    zero: int | None,
    recompute: str | None,
    micro_batch: int | None,
) -> Layout | None:
    given = {
        "tp": tp,
        "pp": pp,
        "dp": dp,
        "zero": zero,
        "recompute": recompute,
        "micro_batch": micro_batch,
    }
    if all(v is None for v in given.values()):
        return None
    for name in ("tp", "pp", "dp", "micro_batch"):
        value = given[name]
        if value is not None and int(str(value)) <= 0:
            raise CapacityError(f"must be positive, got {value}", field=name.replace("_", "-"))
    if zero is not None and not 0 <= zero <= 3:
        raise CapacityError(f"ZeRO stage must be 0-3, got {zero}", field="zero")
    if recompute is not None and recompute not in RECOMPUTES:
        raise CapacityError(
            f"'{recompute}' is not one of {', '.join(RECOMPUTES)}", field="recompute"
        )
    tp_, pp_ = tp or 1, pp or 1
    if dp is None:
        if n_gpus is None:
            raise CapacityError("with --tp/--pp give --dp, --nodes or --gpus", field="dp")
        if n_gpus % (tp_ * pp_):
            raise CapacityError(
                f"TP x PP = {tp_ * pp_} does not divide the {n_gpus} GPUs", field="tp"
            )
        dp = n_gpus // (tp_ * pp_)
    return Layout(
        tp=tp_,
        pp=pp_,
        dp=dp,
        zero_stage=1 if zero is None else zero,
        recompute=cast(Recompute, recompute or "selective"),
        micro_batch_seqs=micro_batch or 1,
    )


def build_scenario(
    *,
    model: str | None,
    params: str | None,
    tokens: str,
    cluster: str | None,
    partition: str | None,
    nodes: int | None,
    gpus: int | None,
    mfu: float | None,
    days: float | None,
    budget: str | None,
    seq_len: int | None,
    global_batch: str,
    precision: str,
    tp: int | None = None,
    pp: int | None = None,
    dp: int | None = None,
    zero: int | None = None,
    recompute: str | None = None,
    micro_batch: int | None = None,
    catalog: Sequence[str] | None = None,
    cat: Catalog | None = None,
) -> tuple[Scenario, str]:
    """Return the scenario and a description of the defaults used ('' if none)."""
    from capacity.budget import parse_budget

    cat = cat or get_catalog(catalog)
    defaults = []
    if model is None and params is None:
        defaults.append(f"model {DEFAULT_MODEL}")
    if cluster is None:
        defaults.append(f"cluster {DEFAULT_CLUSTER}")
    if tokens == DEFAULT_TOKENS:
        defaults.append(f"{DEFAULT_TOKENS} tokens")
    if seq_len is not None and seq_len <= 0:
        raise CapacityError(f"must be positive, got {seq_len}", field="seq-len")
    if days is not None and days <= 0:
        raise CapacityError(f"must be positive, got {days}", field="days")
    n_tokens = parse_quantity(tokens, field="tokens")
    parsed_budget = parse_budget(budget) if budget else None
    spec = resolve_model(cat, model, params, seq_len)
    system = resolve_system(cat, cluster or DEFAULT_CLUSTER, partition)
    n_gpus = job_gpus(system, nodes, gpus)
    layout = build_layout(
        n_gpus=n_gpus, tp=tp, pp=pp, dp=dp, zero=zero, recompute=recompute, micro_batch=micro_batch
    )
    scn = Scenario(
        model=spec,
        tokens=n_tokens,
        system=system,
        n_gpus=n_gpus,
        seq_len=seq_len,
        global_batch_tokens=parse_quantity(global_batch, field="global-batch"),
        layout=layout,
        mfu=mfu,
        precision=parse_precision(precision),
        days=days,
        budget=parsed_budget,
        exchange_rates=cat.exchange_rates,
    )
    only_defaults = model is None and params is None and cluster is None
    return scn, ", ".join(defaults) if only_defaults else ""
