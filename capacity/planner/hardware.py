"""Hardware rates and calibrated efficiencies of one system, as the step-time model sees them.

Rates come from the catalog (accelerator datasheet, partition network). Where a
figure is missing a documented fallback is used and named in `notes`:

* inter-node injection bandwidth unknown: FALLBACK_INTER_NODE_GBIT_PER_GPU per GPU;
* GPU-to-GPU link unknown: the inter-node rate (no fast intra-node domain assumed);
* HBM bandwidth unknown: peak / FALLBACK_FLOP_PER_HBM_BYTE.

Link rates are per GPU and per direction: the accelerator's
`intra_node_gbyte_per_s` is quoted with both directions added, so it is halved;
the partition's `inter_node_gbit_per_s` is the node's injection bandwidth, shared
by its GPUs (rail-optimised: one NIC per GPU).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict

from capacity.catalog.schemas import EfficiencyCalibration, Precision
from capacity.constants import Constant
from capacity.system import System
from capacity.throughput import peak_tflops
from capacity.units import BITS_PER_BYTE, TERA

FloatOrArr = float | npt.NDArray[np.float64]

FALLBACK_INTER_NODE_GBIT_PER_GPU = Constant(
    200,
    "Gbit/s per GPU",
    "NVIDIA DGX A100 / SuperPOD reference architecture: one 200 Gb/s HDR InfiniBand HCA per "
    "GPU (8 x 200 Gb/s per node); used when a partition publishes no injection bandwidth",
)
FALLBACK_FLOP_PER_HBM_BYTE = Constant(
    295,
    "FLOP/byte",
    "H100 SXM5 datasheet: 989 dense bf16 TFLOP/s over 3.35 TB/s; used when an accelerator "
    "publishes no HBM bandwidth",
)
FP8_GEMM_EFFICIENCY_RATIO = Constant(
    0.77,
    "fraction of the bf16-fitted GEMM efficiency",
    "OLMo-core README (ai2-olmo-core 1.3.1 on PyPI, H100 cluster): a 7B model at 4K context "
    "runs 10,000 tokens/s/GPU in bf16 and 13,000 with float8 linear layers (x1.30); this "
    "model reproduces x1.30 for that run (GEMMs 74 % of its bf16 step) when fp8 GEMMs reach "
    "77 % of the bf16 efficiency at the x2 peak (scaling and casts). One measurement, no "
    "published fp8 training run in the fit: fp8 estimates are uncalibrated",
)
SM_SOURCE = (
    "NVIDIA A100 Tensor Core GPU Architecture whitepaper (2020): A100 has 108 SMs; NVIDIA "
    "H100 Tensor Core GPU Architecture whitepaper (2022): H100 SXM5 has 132 SMs (the PCIe "
    "card 114); H800, H200 and GH200 carry the same 132-SM GH100 configuration"
)
STREAMING_MULTIPROCESSORS = {
    "nvidia-a100-sxm4-40gb": Constant(108, "SMs", SM_SOURCE),
    "nvidia-a100-sxm4-64gb": Constant(108, "SMs", SM_SOURCE),
    "nvidia-a100-sxm4-80gb": Constant(108, "SMs", SM_SOURCE),
    "nvidia-h100-sxm5-80gb": Constant(132, "SMs", SM_SOURCE),
    "nvidia-h100-sxm5-64gb": Constant(132, "SMs", SM_SOURCE),
    "nvidia-h800-sxm5-80gb": Constant(132, "SMs", SM_SOURCE),
    "nvidia-h200-sxm-141gb": Constant(132, "SMs", SM_SOURCE),
    "nvidia-gh200-96gb": Constant(132, "SMs", SM_SOURCE),
    "nvidia-gh200-144gb": Constant(132, "SMs", SM_SOURCE),
}
BIDIRECTIONAL = 2  # vendors quote GPU-to-GPU link bandwidth with both directions added


class Hardware(BaseModel):
    """Per-GPU rates in SI units (FLOP/s, bytes/s) and the node's fast-domain size."""

    model_config = ConfigDict(frozen=True)

    accelerator_id: str
    gpus_per_node: int
    memory_gib: float
    peak_flop_s: float  # dense peak at the training precision (MFU basis)
    peak_16bit_flop_s: float  # bf16/fp16 peak (attention, which stays in 16 bit)
    linear_flop_s: float  # rate of the blocks' linear-layer GEMMs before the fitted efficiency
    other_gemm_flop_s: float  # LM head and unfused attention scores (16 bit under fp8)
    hbm_b_per_s: float
    intra_b_per_s: float
    inter_b_per_s: float
    sm_count: int | None = None  # streaming multiprocessors (GEMM wave quantization)
    notes: tuple[str, ...] = ()


def hardware_for(system: System, precision: Precision = "bf16") -> Hardware:
    """The rates the step-time model needs, with fallbacks named in `notes`."""
    acc = system.accelerator
    peak = peak_tflops(acc, precision) * TERA
    sixteen = acc.peak_tflops_bf16 or acc.peak_tflops_fp16 or peak / TERA
    notes = []
    if system.inter_node_gbit_per_s is not None:
        inter = system.inter_node_gbit_per_s * 1e9 / BITS_PER_BYTE / system.gpus_per_node
    else:
        inter = FALLBACK_INTER_NODE_GBIT_PER_GPU.value * 1e9 / BITS_PER_BYTE
        notes.append(
            f"{system.name} publishes no inter-node bandwidth: assumed "
            f"{FALLBACK_INTER_NODE_GBIT_PER_GPU.value:g} Gb/s per GPU "
            f"({FALLBACK_INTER_NODE_GBIT_PER_GPU.source.split(':')[0]})"
        )
    if acc.intra_node_gbyte_per_s is not None:
        intra = acc.intra_node_gbyte_per_s * 1e9 / BIDIRECTIONAL
    else:
        intra = inter
        notes.append(f"{acc.name} has no GPU-to-GPU link figure: intra-node = inter-node rate")
    if acc.hbm_tbyte_per_s is not None:
        hbm = acc.hbm_tbyte_per_s * TERA
    else:
        hbm = peak / FALLBACK_FLOP_PER_HBM_BYTE.value
        notes.append(
            f"{acc.name} has no HBM bandwidth figure: assumed peak / "
            f"{FALLBACK_FLOP_PER_HBM_BYTE.value:g} FLOP/byte = {hbm / TERA:.2f} TB/s"
        )
    linear, other = peak, peak
    if precision == "fp8":
        # fp8 recipes (Transformer Engine, torchao float8) quantise the blocks' linear
        # layers only; the LM head and attention stay in 16 bit.
        linear, other = peak * FP8_GEMM_EFFICIENCY_RATIO.value, sixteen * TERA
        notes.append(
            f"fp8: linear-layer GEMMs at the fp8 peak x{FP8_GEMM_EFFICIENCY_RATIO.value:g} of the "
            "bf16-fitted efficiency (one framework measurement, OLMo-core); uncalibrated, no "
            "published fp8 training run is in the fit and the interval does not cover it"
        )
    return Hardware(
        accelerator_id=acc.id,
        gpus_per_node=system.gpus_per_node,
        memory_gib=acc.memory_gib,
        peak_flop_s=peak,
        peak_16bit_flop_s=sixteen * TERA,
        linear_flop_s=linear,
        other_gemm_flop_s=other,
        hbm_b_per_s=hbm,
        intra_b_per_s=intra,
        inter_b_per_s=inter,
        sm_count=int(sm.value) if (sm := STREAMING_MULTIPROCESSORS.get(acc.id)) else None,
        notes=tuple(notes),
    )


@dataclass(frozen=True)
class TimeParams:
    """Efficiencies of the step-time model; each may be a number or an array per candidate."""

    gemm_efficiency: FloatOrArr
    gemm_memory_exposure: FloatOrArr
    flash_attention_fraction: FloatOrArr
    hbm_efficiency: FloatOrArr
    intra_efficiency: FloatOrArr
    intra_latency_s: FloatOrArr
    inter_efficiency: FloatOrArr
    inter_latency_s: FloatOrArr
    dp_overlap_fraction: FloatOrArr
    tp_overlap: FloatOrArr = 1.0  # TP traffic hidden behind GEMMs: 0 none, 1 backward, 2 all
    gemm_scale: FloatOrArr = 1.0  # re-anchoring from a measured step time (1 = none)
    framework_gemm_share: FloatOrArr = 1.0  # the framework's share of the GEMM efficiency


def time_params(
    cal: EfficiencyCalibration, accelerator_id: str, framework_family: str | None = None
) -> tuple[TimeParams, str]:
    """The calibration's parameters for one accelerator and framework family, and a note
    on where they come from."""
    gemm = cal.gemm_for(accelerator_id)
    share, fitted = cal.framework_share(framework_family)
    intra, inter = cal.fabric("intra-node"), cal.fabric("inter-node")
    if gemm.calibrated:
        note = f"GEMM efficiency {gemm.gemm_efficiency:.1%} fitted on {gemm.id} runs"
        if gemm.anchors:
            shown = ", ".join(gemm.anchors[:4]) + (", ..." if len(gemm.anchors) > 4 else "")
            note += (
                f" (anchored on {len(gemm.anchors)} published runs of "
                f"{gemm.anchor_sources} source{'s' if gemm.anchor_sources != 1 else ''}: {shown}"
                + ("; low confidence: one source" if gemm.anchor_sources == 1 else "")
                + ")"
            )
    else:
        note = (
            f"GEMM efficiency {gemm.gemm_efficiency:.1%}: no published runs of this accelerator "
            f"in the calibration set, {gemm.note or 'default entry'}"
        )
    params = TimeParams(
        gemm_efficiency=gemm.gemm_efficiency,
        gemm_memory_exposure=cal.gemm_memory_exposure,
        flash_attention_fraction=cal.flash_attention_fraction,
        hbm_efficiency=cal.hbm_efficiency,
        intra_efficiency=intra.bus_efficiency,
        intra_latency_s=intra.latency_us * 1e-6,
        inter_efficiency=inter.bus_efficiency,
        inter_latency_s=inter.latency_us * 1e-6,
        dp_overlap_fraction=cal.dp_overlap_fraction,
        framework_gemm_share=share,
    )
    if cal.frameworks:
        who = framework_family or "unknown"
        note += (
            f"; framework {who}: {share:.0%} of it (fitted)"
            if fitted
            else f"; framework {who}: {share:.0%} of it, the geometric mean of the fitted "
            "frameworks (the interval carries their spread)"
        )
    return params, note
