"""A framework's defaults as constraints on the planner's search.

Where a run or a user leaves a setting out, the planner used to take the fastest
choice; a real run takes what its framework does by default (FSDP: full sharding
without TP or PP; DeepSpeed's pipeline engine: no interleaving...). Only settings
the space leaves open are constrained; `unknown` constrains nothing.
"""

from __future__ import annotations

from typing import Any

from capacity.catalog.schemas import Framework
from capacity.planner.space import SearchSpace


def with_framework_defaults(space: SearchSpace, fw: Framework | None) -> SearchSpace:
    """`space` with `fw`'s defaults filled in where the space leaves a dimension open."""
    if fw is None:
        return space
    update: dict[str, Any] = {}
    if space.zero_stage is None and fw.zero_stage is not None:
        update["zero_stage"] = (fw.zero_stage,)
    if space.recompute is None and fw.recompute is not None:
        update["recompute"] = (fw.recompute,)
    if space.sequence_parallel is None and fw.sequence_parallel is not None:
        update["sequence_parallel"] = (fw.sequence_parallel,)
    if space.vpp is None and fw.interleaved_pipeline is False:
        update["vpp"] = (1,)
    if space.tp is None and fw.tensor_parallel is False:
        update["tp"] = (1,)
    if space.pp is None and fw.pipeline_parallel is False:
        update["pp"] = (1,)
    return space.model_copy(update=update) if update else space


def flash_default(fw: Framework | None) -> bool:
    """FlashAttention unless the framework is known not to use it by default."""
    return True if fw is None or fw.flash_attention is None else fw.flash_attention
