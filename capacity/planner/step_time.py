"""Step time of each candidate layout from its `Work` and the calibrated efficiencies.

    t_layer = GEMM FLOPs / (peak e_gemm w) + kappa * GEMM HBM bytes / HBM bw (GEMM; w: wave
                                                                efficiency of each pass)
            + attention FLOPs / (peak16 e_gemm f_flash)                      (attention)
            + elementwise bytes / (HBM bw e_hbm)                             (elementwise)
            + sum over TP, CP, EP collectives of bytes / (link e_link) + hops x latency
              (TP: what the framework's overlap leaves exposed, `_tp_comm`)
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
    # inter is 0 or 1 per candidate: blend the two fabrics' figures (cheaper than np.where,
    # and this runs ten times per timing, thousands of times per fit)
    eff = p.intra_efficiency + (p.inter_efficiency - p.intra_efficiency) * inter
    lat = p.intra_latency_s + (p.inter_latency_s - p.intra_latency_s) * inter
    return collective_seconds(bw, hops, eff, lat)


BACKWARD_COLLECTIVES = np.array([2.0, 1.0, 2.0, 1.0])  # per GEMM of TP_PAIR order


def _exposed(comm: Arr, gemm: Arr, chunks: Arr) -> Arr:
    """Communication time left when it is pipelined with a GEMM in `chunks` steps."""
    return np.maximum(comm - gemm, 0.0) + np.minimum(comm, gemm) / chunks


def _tp_comm(w: Work, p: TimeParams, e_gemm: Arr) -> Arr:
    """Exposed TP time of one block.

    Overlap 0: every collective exposed. 1 (Megatron's asynchronous TP communication): the
    forward (and recompute) collectives exposed, the overlappable backward ones hidden up
    to the weight-gradient GEMMs. 2 (Transformer Engine's --tp-comm-overlap, with SP):
    each all-gather / reduce-scatter is pipelined with its own GEMM and only what
    outlasts it shows: forward, the one before QKV and MLP-in and the one after the
    attention output and MLP-out; backward, two around each column-parallel GEMM's input-
    and weight-gradient pair and one before each row-parallel GEMM's.
    """
    exposed = _comm(w.tp_bw_s, w.tp_hops, w.tp_inter, p)
    backward = _comm(w.tp_bwd_bw_s, w.tp_bwd_hops, w.tp_inter, p)
    level = np.asarray(p.tp_overlap)
    hidden_bwd = np.maximum(backward - (level >= 1) * w.tp_window_flop_s / e_gemm, 0.0)
    pipelining = (level >= 2) & (w.tp_unit_bw_s > 0)
    if not np.any(pipelining):  # the common case: skip the per-GEMM pairing
        return np.asarray(exposed + hidden_bwd)
    one = _comm(w.tp_unit_bw_s, w.tp_unit_hops, w.tp_inter, p)[:, None]
    gemm = w.tp_pair_flop_s / np.reshape(e_gemm, (-1, 1))
    chunks = np.maximum(w.tp, 1.0)[:, None]
    # a ring pipeline of TP steps: the longer of the two, plus one step of the shorter
    fwd = _exposed(one, gemm, chunks).sum(axis=1) * w.tp_fwd_passes
    bwd = _exposed(BACKWARD_COLLECTIVES * one, 2 * gemm, chunks).sum(axis=1)
    pipelined = fwd + bwd
    return np.where(pipelining, pipelined, exposed + hidden_bwd)


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
        "tp_comm": _tp_comm(w, p, e_gemm),
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
    p2p = _comm(w.p2p_bw_s, w.p2p_hops, w.p2p_inter, p) + _comm(
        w.p2p_gather_bw_s, w.p2p_gather_hops, np.zeros_like(w.p2p_inter), p
    )
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
