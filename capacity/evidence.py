"""Measured evidence for a proposal: benchmark steps against the model's prediction.

Calls ask for code performance measured on the target (or a similar) machine: time
per step, throughput, strong and weak scaling. A measured-steps CSV (the
`--measured-steps` format) lists configurations and their step times; for each one
this module gives the model's prediction before re-anchoring (how far the model was
off), tokens/s, tokens/s per GPU and MFU, and groups the rows into a strong-scaling
series (same global batch) and a weak-scaling series (same tokens per GPU), with
speedup and efficiency relative to the smallest configuration of each series.

Pure: the scenario arrives resolved; the estimates come from `estimate()`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from capacity.errors import CapacityError
from capacity.estimate import Scenario, estimate
from capacity.flops import flops_per_token
from capacity.measured import MeasuredStep

TFLOPS = 1e12


class EvidencePoint(BaseModel):
    """One measured configuration next to the model's prediction for it."""

    model_config = ConfigDict(frozen=True)

    gpus: int
    nodes: float
    layout: str
    global_batch_tokens: float
    seq_len: int
    measured_step_s: float
    predicted_step_s: float | None  # the model before re-anchoring on the measurements
    anchored_step_s: float | None  # the model after re-anchoring (what the request uses)
    tokens_per_s: float
    tokens_per_gpu_s: float
    mfu: float | None
    speedup: float | None = None  # strong series: t(smallest) / t
    efficiency: float | None = None  # strong: speedup / (gpus / smallest gpus)
    weak_efficiency: float | None = None  # weak series: t(smallest) / t

    @property
    def ratio(self) -> float | None:
        """measured / predicted step time (1 = the model was right)."""
        p = self.predicted_step_s
        return None if p is None else self.measured_step_s / p


class Evidence(BaseModel):
    model_config = ConfigDict(frozen=True)

    system_id: str
    source: str | None
    points: tuple[EvidencePoint, ...]
    strong_batch_tokens: float | None = None  # the global batch of the strong series
    weak_tokens_per_gpu: float | None = None  # the per-GPU batch of the weak series
    notes: tuple[str, ...] = ()

    @property
    def strong(self) -> tuple[EvidencePoint, ...]:
        return tuple(p for p in self.points if p.efficiency is not None)

    @property
    def weak(self) -> tuple[EvidencePoint, ...]:
        return tuple(p for p in self.points if p.weak_efficiency is not None)


def _series_key(values: Sequence[float]) -> float | None:
    """The value shared by most rows when at least two rows share it (else None)."""
    counts = Counter(round(v) for v in values)
    if not counts:
        return None
    value, n = counts.most_common(1)[0]
    return float(value) if n >= 2 else None


def measured_evidence(
    scn: Scenario, steps: Sequence[MeasuredStep], source: str | None = None
) -> Evidence:
    """Each measured step next to the prediction; strong and weak series where present."""
    if not steps:
        raise CapacityError("no measured steps", field="measured_steps")
    system = scn.system
    base = scn.model_copy(
        update={"measured_steps": (), "measured_step_time_s": None, "days": None, "mfu": None}
    )
    anchored_base = base.model_copy(update={"measured_steps": tuple(steps)})
    peak = system.accelerator.peak_tflops(scn.precision)
    rows: list[dict[str, Any]] = []
    for m in steps:
        seq = m.seq_len or scn.seq_len or scn.model.seq_len
        batch = m.global_batch_tokens or scn.global_batch_tokens
        at = {
            "n_gpus": m.layout.gpus,
            "layout": m.layout,
            "seq_len": seq,
            "global_batch_tokens": batch,
            "global_batch_auto": False,
        }
        predicted = anchored = None
        if scn.calibration is not None:
            predicted = estimate(base.model_copy(update=at)).step_time_s
            anchored = estimate(anchored_base.model_copy(update=at)).step_time_s
        tokens_s = batch / m.step_time_s
        fpt = flops_per_token(scn.model, seq, m.layout.recompute).model
        mfu = None if peak is None else fpt * tokens_s / (m.layout.gpus * peak * TFLOPS)
        rows.append(
            {
                "gpus": m.layout.gpus,
                "nodes": m.layout.gpus / system.gpus_per_node,
                "layout": m.layout.describe(),
                "global_batch_tokens": batch,
                "seq_len": seq,
                "measured_step_s": m.step_time_s,
                "predicted_step_s": predicted,
                "anchored_step_s": anchored,
                "tokens_per_s": tokens_s,
                "tokens_per_gpu_s": tokens_s / m.layout.gpus,
                "mfu": mfu,
            }
        )
    strong_batch = _series_key([r["global_batch_tokens"] for r in rows])
    weak_per_gpu = _series_key([r["global_batch_tokens"] / r["gpus"] for r in rows])
    notes = []
    if strong_batch is not None:
        series = [r for r in rows if round(r["global_batch_tokens"]) == strong_batch]
        ref = min(series, key=lambda r: r["gpus"])
        if len({r["gpus"] for r in series}) >= 2:
            for r in series:
                r["speedup"] = ref["measured_step_s"] / r["measured_step_s"]
                r["efficiency"] = r["speedup"] / (r["gpus"] / ref["gpus"])
        else:
            strong_batch = None
    if weak_per_gpu is not None:
        series = [r for r in rows if round(r["global_batch_tokens"] / r["gpus"]) == weak_per_gpu]
        ref = min(series, key=lambda r: r["gpus"])
        if len({r["gpus"] for r in series}) >= 2:
            for r in series:
                r["weak_efficiency"] = ref["measured_step_s"] / r["measured_step_s"]
        else:
            weak_per_gpu = None
    if strong_batch is None:
        notes.append("no two measurements share a global batch: no measured strong scaling")
    if weak_per_gpu is None:
        notes.append("no two measurements share tokens per GPU: no measured weak scaling")
    return Evidence(
        system_id=system.id,
        source=source,
        points=tuple(EvidencePoint(**r) for r in sorted(rows, key=lambda r: r["gpus"])),
        strong_batch_tokens=strong_batch,
        weak_tokens_per_gpu=weak_per_gpu,
        notes=tuple(notes),
    )


def predicted_weak_scaling(
    scn: Scenario, tokens_per_gpu: float, gpu_counts: Sequence[int]
) -> list[tuple[int, float | None]]:
    """(GPUs, weak-scaling efficiency) from the model at a fixed per-GPU batch: the step
    time at the smallest count over the step time at each count (the planner's layout)."""
    out: list[tuple[int, float | None]] = []
    ref: float | None = None
    for n in sorted(set(gpu_counts)):
        try:
            est = estimate(
                scn.model_copy(
                    update={
                        "n_gpus": n,
                        "layout": None,
                        "days": None,
                        "global_batch_tokens": tokens_per_gpu * n,
                        "global_batch_auto": False,
                    }
                )
            )
        except CapacityError:
            out.append((n, None))
            continue
        step = est.step_time_s
        if step is None:
            out.append((n, None))
            continue
        ref = ref or step
        out.append((n, ref / step))
    return out
