"""The wide-area network between the sites: payload sizes, ring all-reduce time, how much
of it compute hides, and the bandwidth a utilisation target needs."""

from __future__ import annotations

import math
from typing import Literal

from capacity.constants import Constant

SyncMethod = Literal["ddp", "diloco", "streaming"]
SYNC_METHODS: tuple[SyncMethod, ...] = ("ddp", "diloco", "streaming")
WanPrecision = Literal["fp32", "bf16", "int8", "fp4"]
WAN_BYTES: dict[str, float] = {"fp32": 4, "bf16": 2, "int8": 1, "fp4": 0.5}  # bits / 8
BITS_PER_BYTE = 8

DEFAULT_PAYLOAD: dict[SyncMethod, tuple[WanPrecision, str]] = {
    "ddp": ("bf16", "bf16 gradients, the default mixed-precision all-reduce"),
    "diloco": (
        "int8",
        "int8 pseudo-gradients with fp32 accumulation, as INTELLECT-1 (arXiv:2412.01152 Sec. 2.2)",
    ),
    "streaming": (
        "fp4",
        "FP4 (E3M0) outer gradients, no regression reported (Streaming DiLoCo, "
        "arXiv:2501.18512 Sec. 2.3)",
    ),
}
DEFAULT_INNER_STEPS = Constant(
    100,
    "inner steps",
    "INTELLECT-1 (arXiv:2412.01152) and Streaming DiLoCo Table 1 (arXiv:2501.18512) "
    "synchronise every 100 inner steps",
)
ASSUMED_WAN_GBIT_PER_S = Constant(
    10,
    "Gbit/s",
    "assumption where a site's uplink is not published: the 10 Gbit/s cross-datacenter "
    "network archetype of Charles et al. 2025 (arXiv:2503.09799) App. A; override with "
    "--wan-gbps",
)
WAN_LATENCY_S = Constant(
    0.01,
    "s",
    "assumption: the latency of the same 10 Gbit/s archetype (arXiv:2503.09799 App. A)",
)
STREAMING_LAYERS_PER_FRAGMENT = Constant(
    3,
    "layers",
    "Streaming DiLoCo (arXiv:2501.18512) Table 4: fragments of 3 layers (24 layers: 8 fragments)",
)
STREAMING_OVERLAP_STEPS = Constant(
    1,
    "inner steps",
    "Streaming DiLoCo (arXiv:2501.18512) Sec. 4: tau = 1 in the main runs, tau <= 5 advised",
)


# -- communication ---------------------------------------------------------------------


def allreduce_bytes(payload_bytes: float, n_sites: int) -> float:
    """Bytes each site's edge sends in a ring all-reduce: 2 P (S-1)/S (the lower bound of
    Charles et al. 2025, arXiv:2503.09799 App. A)."""
    return 2 * payload_bytes * (n_sites - 1) / n_sites


def allreduce_s(payload_bytes: float, n_sites: int, gbit_per_s: float, latency_s: float) -> float:
    """Ring all-reduce time over the WAN: bytes / bandwidth + 2 (S-1) latency hops."""
    wire = allreduce_bytes(payload_bytes, n_sites) * BITS_PER_BYTE / (gbit_per_s * 1e9)
    return wire + 2 * (n_sites - 1) * latency_s


def traffic_reduction(inner_steps: int, baseline: WanPrecision, payload: WanPrecision) -> float:
    """Bytes over the WAN of per-step data parallel / those of one sync every H steps."""
    return inner_steps * WAN_BYTES[baseline] / WAN_BYTES[payload]


def exposed_s(
    method: SyncMethod,
    *,
    step_s: float,
    inner_steps: int,
    sync_s: float,
    fragments: int = 1,
    overlap_steps: int = 1,
) -> float:
    """WAN seconds not hidden behind compute, per outer step (per step for ddp).

    ddp and diloco: the sync blocks (ddp: with gradient accumulation the all-reduce
    could only hide behind the last micro-batch's backward pass, small against a WAN
    transfer); streaming: each of the fragments' transfers overlaps `overlap_steps`
    inner steps.
    """
    if method in ("ddp", "diloco"):
        return sync_s
    per_fragment = sync_s / fragments
    return fragments * max(0.0, per_fragment - overlap_steps * step_s)


def utilisation(compute_s: float, exposed: float) -> float:
    """Share of the wall-clock the accelerators compute (INTELLECT-1's 'compute utilisation')."""
    return compute_s / (compute_s + exposed)


def bandwidth_for(
    target: float,
    method: SyncMethod,
    *,
    step_s: float,
    h: int,
    wire_bytes: float,
    n_sites: int,
    latency_s: float,
    fragments: int,
    overlap: int,
) -> float | None:
    """Smallest WAN Gbit/s reaching `target` utilisation (None if latency alone forbids it)."""

    def util(gbps: float) -> float:
        hops = 2 * (n_sites - 1) * latency_s * (fragments if method == "streaming" else 1)
        sync = wire_bytes * BITS_PER_BYTE / (gbps * 1e9) + hops
        exp = exposed_s(
            method,
            step_s=step_s,
            inner_steps=h,
            sync_s=sync,
            fragments=fragments,
            overlap_steps=overlap,
        )
        return utilisation(step_s * h, exp)

    lo, hi = math.log(1e-4), math.log(1e6)
    if util(math.exp(hi)) < target:
        return None
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if util(math.exp(mid)) >= target:
            hi = mid
        else:
            lo = mid
    return math.exp(hi)
