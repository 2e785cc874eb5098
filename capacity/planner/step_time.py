"""Step time of each candidate layout from its `Work` and the calibrated efficiencies.

    t_layer = GEMM FLOPs / (peak e_gemm) + kappa * GEMM HBM bytes / HBM bw   (GEMM)
            + attention FLOPs / (peak16 e_gemm f_flash)                      (attention)
            + elementwise bytes / (HBM bw e_hbm)                             (elementwise)
            + sum over TP, CP, EP collectives of bytes / (link e_link) + hops x latency
    t_stage = L t_layer + t_head                                  (PP = 1)
            = max(Lmax t_layer, (L t_layer + t_head) / PP)          (PP > 1: bottleneck stage)
    t_mb    = t_stage + PP point-to-point sends
    t_path  = (m + (PP - 1) / VPP) t_mb          (1F1B / interleaved bubble, Narayanan 2021
                                                  Sec. 2.2: bubble share (PP-1)/(VPP m))
    DP exposed = max(0, t_dp_step - o t_mb) + m max(0, t_dp_microbatch - o t_mb)
    t_step  = t_path + DP exposed + optimizer step

e_gemm is the accelerator's large-GEMM efficiency and kappa the share of a
GEMM's memory traffic that is not hidden: together they make small hidden sizes
and TP-split GEMMs slower per FLOP (an additive roofline; Calculon's
size-dependent efficiency plays the same role). `o` is the share of one
micro-batch's compute that hides data-parallel traffic (gradient buckets during
the last backward, parameter gathers during the first forward, prefetch with
ZeRO-3). The breakdown splits t_step into named parts that add up to it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from capacity.planner.collectives import collective_seconds
from capacity.planner.hardware import TimeParams
from capacity.planner.work import Work

Arr = npt.NDArray[np.float64]

BREAKDOWN_KEYS = (
    "gemm",
    "attention",
    "elementwise",
    "tp_comm",
    "cp_comm",
    "moe_all_to_all",
    "pp_p2p",
    "pipeline_bubble",
    "dp_comm_exposed",
    "optimizer",
)


@dataclass(frozen=True)
class StepTimes:
    """Step time and its parts (seconds), tokens/s, MFU and HFU, one value per candidate."""

    step_s: Arr
    parts: dict[str, Arr]
    tokens_per_s: Arr
    mfu: Arr
    hfu: Arr


def _comm(bw: Arr, hops: Arr, inter: Arr, p: TimeParams) -> Arr:
    eff = np.where(inter > 0, p.inter_efficiency, p.intra_efficiency)
    lat = np.where(inter > 0, p.inter_latency_s, p.intra_latency_s)
    return collective_seconds(bw, hops, eff, lat)


def step_times(w: Work, p: TimeParams) -> StepTimes:
    """Time every candidate of `w` with the efficiencies `p` (numbers or per-candidate arrays)."""
    e_gemm = (
        np.asarray(p.gemm_efficiency)
        * np.asarray(p.gemm_scale)
        * np.asarray(p.framework_gemm_share)
    )
    layer = {
        "gemm": w.layer_gemm_flop_s / e_gemm + p.gemm_memory_exposure * w.layer_gemm_mem_s,
        "attention": w.layer_flash_s / (e_gemm * p.flash_attention_fraction),
        "elementwise": w.layer_elem_s / p.hbm_efficiency,
        "tp_comm": _comm(w.tp_bw_s, w.tp_hops, w.tp_inter, p),
        "cp_comm": _comm(w.cp_bw_s, w.cp_hops, w.cp_inter, p),
        "moe_all_to_all": _comm(w.ep_bw_s, w.ep_hops, w.ep_inter, p),
    }
    head = {
        "gemm": w.head_gemm_flop_s / e_gemm + p.gemm_memory_exposure * w.head_gemm_mem_s,
        "elementwise": w.head_elem_s / p.hbm_efficiency,
        "tp_comm": _comm(w.head_tp_bw_s, w.head_tp_hops, w.tp_inter, p),
    }
    t_layer = sum(layer.values())
    t_head = sum(head.values())
    assert not isinstance(t_layer, int) and not isinstance(t_head, int)
    whole = w.n_layers * t_layer + t_head
    t_stage = np.where(w.pp > 1, np.maximum(w.layers_max * t_layer, whole / w.pp), whole)
    p2p = _comm(w.p2p_bw_s, w.p2p_hops, w.p2p_inter, p)
    t_mb = t_stage + p2p
    t_path = w.pipe_factor * t_mb
    hide = p.dp_overlap_fraction * t_mb
    dp_step = _comm(w.dp_step_bw_s, w.dp_step_hops, w.dp_inter, p)
    dp_mb = _comm(w.dp_mb_bw_s, w.dp_mb_hops, w.dp_inter, p)
    dp_exposed = np.maximum(dp_step - hide, 0) + w.m * np.maximum(dp_mb - hide, 0)
    optimizer = w.opt_s / p.hbm_efficiency
    step = t_path + dp_exposed + optimizer

    share = t_stage / whole  # the bottleneck stage's share of the model's work
    parts = {key: np.zeros_like(step) for key in ("gemm", "attention", "elementwise")}
    for key, val in layer.items():
        parts[key] = w.m * share * (w.n_layers * val + head.get(key, 0.0))
    parts["pp_p2p"] = w.m * p2p
    parts["pipeline_bubble"] = (w.pipe_factor - w.m) * t_mb
    parts["dp_comm_exposed"] = dp_exposed
    parts["optimizer"] = optimizer
    tokens_per_s = w.tokens_per_step / step
    flop_rate = w.n_gpus * w.peak_flop_s
    return StepTimes(
        step_s=step,
        parts={k: parts[k] for k in BREAKDOWN_KEYS},
        tokens_per_s=tokens_per_s,
        mfu=tokens_per_s * w.model_flop_per_token / flop_rate,
        hfu=tokens_per_s * w.hardware_flop_per_token / flop_rate,
    )
