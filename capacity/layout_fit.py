"""The layout of the MFU-only path: the given one, or the least model-parallel one that fits.

Without an efficiency calibration the planner's step-time model is not used, so the
layout only decides the memory per GPU: the smallest tensor x pipeline split whose
memory fits (ZeRO-1), else the one that needs the least memory.
"""

from __future__ import annotations

import math

from capacity.catalog.schemas import ModelSpec
from capacity.errors import CapacityError
from capacity.layout import Layout
from capacity.memory import MemoryBreakdown, memory_per_gpu
from capacity.system import System

TP_CHOICES = (1, 2, 4, 8, 16, 32, 64)  # powers of two up to the largest NVLink domains


def least_parallel_layout(
    model: ModelSpec,
    system: System,
    layout: Layout | None,
    n_gpus: int,
    seq_len: int,
    batch_tokens: float,
) -> tuple[Layout, MemoryBreakdown]:
    """`layout` with its memory when given, else the least model-parallel split that fits."""
    cap = system.accelerator.memory_gib
    if layout is not None:
        micro = max(1, math.floor(batch_tokens / seq_len / (layout.dp * layout.micro_batch_seqs)))
        mem = memory_per_gpu(
            model,
            layout,
            cap,
            seq_len=seq_len,
            microbatches=micro,
            gpus_per_node=system.gpus_per_node,
        )
        return layout, mem
    best: tuple[Layout, MemoryBreakdown] | None = None
    for tp in TP_CHOICES:
        for pp in range(1, model.n_layers + 1):
            if tp > system.gpus_per_node or n_gpus % (tp * pp) or model.n_layers % pp:
                continue
            if model.n_heads % tp:
                continue
            lay = Layout(tp=tp, pp=pp, dp=n_gpus // (tp * pp), zero_stage=1)
            micro = max(1, math.floor(batch_tokens / seq_len / lay.dp))
            mem = memory_per_gpu(model, lay, cap, seq_len=seq_len, microbatches=micro)
            if mem.fits:
                return lay, mem
            if best is None or mem.total_gib < best[1].total_gib:
                best = (lay, mem)
    if best is None:
        raise CapacityError(f"no tensor/pipeline split fits {n_gpus} GPUs", field="gpus")
    return best
