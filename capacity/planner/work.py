"""What one training step asks of each GPU, per candidate layout, before any efficiency.

Amounts are "ideal seconds": FLOPs over the peak, bytes over the HBM or link
bandwidth, so that the efficiencies (`TimeParams`) apply later as cheap array
arithmetic; the fit re-times the same `Work` thousands of times. Conventions:

* GEMMs per block (per GPU after TP): QKV (K=h, N=(q+2kv)/TP), attention output
  (K=q/TP, N=h), MLP in (K=h, N=f or 2f for SwiGLU over TP) and out (K=f/TP,
  N=h); MLA (DeepSeek-V2) replaces QKV with latent down-projections (replicated
  over TP) and per-head up-projections; M = tokens of the micro-batch on the GPU
  (micro-batch x seq / CP). MoE experts see M = tokens x top-k x EP / experts each.
  HBM traffic of a GEMM is 2 (MK + KN + MN) bytes (16-bit operands). The LM head is
  a GEMM on the last stage.
* Backward = 2 x forward (Narayanan et al. 2021 App. A); full recompute repeats
  the block's forward, selective recompute repeats the attention core
  (Korthikanti et al. 2022 Sec. 5). FlashAttention executes about half of the
  counted attention FLOPs with a causal mask (CAUSAL_FLASH_FRACTION; the window's band
  with sliding-window attention), at the 16-bit peak; without it, the score matmuls
  run in full as batched GEMMs and the softmax/dropout traffic SOFTMAX_BYTES_PER_SCORE
  per score goes to HBM.
* Elementwise traffic (norms, residual adds, activations) is ELEMENTWISE_PASSES
  tensor reads/writes of the hidden size per block forward, plus the MLP
  activation's inputs and output; backward moves twice as much.
* Communication per block and micro-batch (Narayanan et al. 2021 Sec. 3.2;
  Korthikanti 2022 Sec. 4.2.2): TP 2 all-reduces forward and 2 backward (each an
  all-gather + reduce-scatter pair with SP), 2 more forward with full recompute;
  CP an all-gather of K and V forward, all-gather + reduce-scatter backward;
  EP dispatch + combine all-to-alls forward and backward; PP one activation
  send per chunk each way, 1/TP of it per rank (Megatron's scatter/gather, Narayanan et
  al. 2021 Sec. 4.1; without SP the receivers all-gather it). Which TP collectives can hide
  behind GEMMs, and behind which, is recorded here (`tp_bwd_*`, `tp_window_flop_s`,
  `tp_pair_flop_s`); how much does is the framework's (`TimeParams.tp_overlap`).
  DP per step: all-reduce (ZeRO-0), reduce-scatter + all-gather (ZeRO-1), reduce-scatter every
  micro-batch + all-gather (ZeRO-2, DeepSpeed semantics) or two all-gathers +
  a reduce-scatter every micro-batch (ZeRO-3 / FSDP full shard).
* Rank order TP, CP, EP/DP, PP (Megatron-LM): a group is inside a node when
  the product of the inner degrees up to it fits the node.
* Optimizer step: Adam reads and writes its states, reads the gradient and
  writes the weight of each locally updated parameter, from HBM.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt

import capacity.planner.collectives as coll
from capacity.catalog.schemas import ModelSpec
from capacity.constants import ACT_BYTES, LOGITS_BYTES_FP32, WEIGHT_BYTES_BF16, Constant
from capacity.flops import flops_per_token
from capacity.layout import HSDP, RECOMPUTES
from capacity.memory import FULL, SELECTIVE, optimizer_bytes, stage_params_arr, zero_shards
from capacity.planner.hardware import Hardware
from capacity.planner.space import Candidates, family_groups
from capacity.workload import expert_ffn_dim

Arr = npt.NDArray[np.float64]

ELEMENTWISE_PASSES = Constant(
    12,
    "hidden-size tensor reads/writes per block forward",
    "counted for a pre-norm block: 2 norms (read + write) 4, 2 residual adds (2 reads + "
    "1 write) 6, rotary / bias on the attention output 2; Korthikanti et al. 2022 Sec. 4.1 "
    "lists the same tensors",
)
SOFTMAX_BYTES_PER_SCORE = Constant(
    7,
    "bytes per attention score, forward",
    "Korthikanti et al. 2022 Sec. 4.1: softmax output 2 B, dropout mask 1 B, dropout output "
    "2 B are written per score, and the 2-byte scores are read: 7 B",
)
GATHER_SCATTER_NVLINK = Constant(
    0.75 * 2,
    "time of an all-gather + reduce-scatter pair over one all-reduce of the same buffer, "
    "inside a node",
    "Calculon system models (systems/a100_80g.json, h100_80g_nvl8.json, networks[0].ops): "
    "on the NVLink tier all-reduce costs 2.0 and reduce-scatter and all-gather 1.5 each "
    "times the buffer's (n-1)/n share: a pair takes 3.0 / 2.0",
)
CROSS_ENTROPY_PASSES = Constant(
    13,
    "fp32 logit reads/writes (4 bytes each) per step of one micro-batch",
    "Megatron-LM's unfused vocab-parallel cross entropy (the default; megatron/core/"
    "tensor_parallel/cross_entropy.py), one kernel per line: forward, bf16 logits cast to fp32 "
    "(read 2 B, write 4 B), max (read 4), subtract the max in place (read, write), exp in "
    "place (read, write), sum (read), divide in place (read, write): 38 B; backward, scale "
    "by the output gradient in place (read, write) and the cast back to bf16 (read 4, "
    "write 2): 14 B; 52 B = 13 x 4 B per logit",
)
_TILE_SOURCE = (
    "NVIDIA Matrix Multiplication Background User's Guide (DU-09799-001, 2023) Sec. 2.3 and "
    "3: 256x128 is the largest, most efficient cuBLAS tensor-core tile, the one of its "
    "tile- and wave-quantization examples on A100"
)
GEMM_TILE_LARGE = Constant(256, "output rows or columns (larger output dimension)", _TILE_SOURCE)
GEMM_TILE_SMALL = Constant(128, "output rows or columns (smaller output dimension)", _TILE_SOURCE)
ADAM_STATE_PASSES = 2  # each optimizer state is read and written once per step


@dataclass(frozen=True)
class Work:
    """Ideal seconds per candidate; see the module docstring for what each holds."""

    layer_gemm_flop_s: Arr
    layer_gemm_mem_s: Arr
    layer_flash_s: Arr
    layer_elem_s: Arr
    tp_bw_s: Arr
    tp_hops: Arr
    tp_bwd_bw_s: Arr
    tp_bwd_hops: Arr
    tp_window_flop_s: Arr
    tp_unit_bw_s: Arr  # one all-gather or reduce-scatter of the block's activations (SP)
    tp_unit_hops: Arr
    tp_pair_flop_s: Arr  # (n, 4): QKV, attention out, MLP in, MLP out forward GEMMs (SP)
    tp_fwd_passes: Arr  # forward passes of the block (2 with full recompute)
    tp: Arr
    tp_inter: Arr
    cp_bw_s: Arr
    cp_hops: Arr
    cp_inter: Arr
    ep_bw_s: Arr
    ep_hops: Arr
    ep_inter: Arr
    head_gemm_flop_s: Arr
    head_gemm_mem_s: Arr
    head_elem_s: Arr
    head_tp_bw_s: Arr
    head_tp_hops: Arr
    n_layers: Arr
    layers_max: Arr
    pp: Arr
    m: Arr
    pipe_factor: Arr
    p2p_bw_s: Arr
    p2p_hops: Arr
    p2p_inter: Arr
    p2p_gather_bw_s: Arr
    p2p_gather_hops: Arr
    dp_step_bw_s: Arr
    dp_step_hops: Arr
    dp_mb_bw_s: Arr
    dp_mb_hops: Arr
    dp_inter: Arr
    opt_s: Arr
    tokens_per_step: Arr
    model_flop_per_token: Arr
    hardware_flop_per_token: Arr
    n_gpus: Arr
    peak_flop_s: Arr

    def __len__(self) -> int:
        return int(self.pp.shape[0])

    def take(self, index: npt.ArrayLike) -> Work:
        return Work(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    @staticmethod
    def concat(parts: list[Work]) -> Work:
        return Work(
            **{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Work)}
        )


@dataclass(frozen=True)
class Gemms:
    """FLOPs and HBM bytes of some forward GEMMs, and their FLOPs divided by the wave
    efficiency of the forward, input-gradient and weight-gradient passes."""

    flop: Arr
    mem: Arr
    fwd_q: Arr  # forward FLOPs / wave efficiency of the (M x N) output
    bwd_q: Arr  # backward FLOPs / wave efficiencies of the (M x K) and (K x N) outputs

    def __add__(self, o: Gemms) -> Gemms:
        return Gemms(
            self.flop + o.flop, self.mem + o.mem, self.fwd_q + o.fwd_q, self.bwd_q + o.bwd_q
        )

    def scaled(self, w: float) -> Gemms:
        return Gemms(self.flop * w, self.mem * w, self.fwd_q * w, self.bwd_q * w)


def wave_efficiency(rows: Arr | float, cols: Arr | float, count: Arr | float, sms: int) -> Arr:
    """Share of the SMs' tile slots doing useful work for `count` GEMM outputs of rows x
    cols: output tiles of GEMM_TILE are spread over the SMs in waves, and the last wave
    and the tiles' edges run part-empty (NVIDIA Matrix Multiplication Background guide,
    Sec. 3: tile and wave quantization). 1 where the SM count is unknown."""
    if sms <= 0:
        return np.ones_like(np.asarray(rows * cols * count, dtype=float))
    t_big, t_small = GEMM_TILE_LARGE.value, GEMM_TILE_SMALL.value
    big, small = np.maximum(rows, cols), np.minimum(rows, cols)
    tiles = np.ceil(big / t_big) * np.ceil(small / t_small) * np.ceil(count)
    waves = np.ceil(tiles / sms)
    return np.asarray(rows * cols * count / (waves * sms * t_big * t_small), dtype=float)


def _gemm(tokens: Arr, k: Arr | float, n: Arr | float, sms: int, count: Arr | float = 1.0) -> Gemms:
    """`count` GEMMs of shape (tokens x k) @ (k x n), 16-bit: FLOPs, HBM bytes and FLOPs
    over the wave efficiency of each pass (outputs tokens x n, tokens x k, k x n)."""
    flop = 2 * tokens * k * n * count
    mem = ACT_BYTES.value * (tokens * k + k * n + tokens * n) * count
    fwd_q = flop / wave_efficiency(tokens, n, count, sms)
    bwd_q = flop / wave_efficiency(tokens, k, count, sms) + flop / wave_efficiency(k, n, count, sms)
    return Gemms(flop, mem, fwd_q, bwd_q)


def _attention_gemms(m: ModelSpec, tokens: Arr, tp: Arr, sms: int) -> Gemms:
    """Forward GEMMs of one block's attention projections on one GPU."""
    h, heads = m.d_model, m.n_heads
    if not m.is_mla:
        q = heads * m.dim_head
        kv = m.kv_heads * m.dim_head
        return _gemm(tokens, h, (q + 2 * kv) / tp, sms) + _gemm(tokens, q / tp, h, sms)
    # MLA: the down-projections to the latents are replicated across TP, the
    # up-projections and the output projection are split by heads.
    assert m.kv_lora_rank is not None
    lora = m.kv_lora_rank
    out = (
        _gemm(tokens, h, lora + m.qk_rope_head_dim, sms)
        + _gemm(tokens, lora, heads * (m.dim_head + m.v_dim) / tp, sms)
        + _gemm(tokens, heads * m.v_dim / tp, h, sms)
    )
    if m.q_lora_rank:
        return (
            out
            + _gemm(tokens, h, m.q_lora_rank, sms)
            + _gemm(tokens, m.q_lora_rank, heads * m.qk_dim / tp, sms)
        )
    return out + _gemm(tokens, h, heads * m.qk_dim / tp, sms)


def _mlp_gemms(m: ModelSpec, tokens: Arr, tp: Arr, ep: Arr, sms: int) -> Gemms:
    """Forward GEMMs of one block's MLP (averaged over an MoE model's dense and MoE
    blocks)."""
    h = m.d_model
    mats_in = mats_in_of(m)
    dense = _gemm(tokens, h, mats_in * m.ffn_dim / tp, sms) + _gemm(tokens, m.ffn_dim / tp, h, sms)
    if not m.is_moe:
        return dense
    assert m.moe_experts is not None and m.moe_top_k is not None
    f = expert_ffn_dim(m)
    out = _gemm(tokens, h, m.moe_experts, sms)  # router, replicated
    local = m.moe_experts / ep
    per_expert = tokens * m.moe_top_k * ep / m.moe_experts
    out = out + _gemm(per_expert, h, mats_in * f / tp, sms, local)
    out = out + _gemm(per_expert, f / tp, h, sms, local)
    if m.moe_shared_experts:
        out = out + _gemm(tokens, h, mats_in * f / tp, sms, m.moe_shared_experts)
        out = out + _gemm(tokens, f / tp, h, sms, m.moe_shared_experts)
    w = m.moe_dense_layers / m.n_layers
    return out.scaled(1 - w) + dense.scaled(w)


def _layer_gemms(m: ModelSpec, tokens: Arr, tp: Arr, ep: Arr, sms: int) -> Gemms:
    """Forward GEMMs of one block's weights on one GPU, one micro-batch."""
    return _attention_gemms(m, tokens, tp, sms) + _mlp_gemms(m, tokens, tp, ep, sms)


def mats_in_of(m: ModelSpec) -> int:
    """Weight matrices of the MLP's input projection (SwiGLU: gate and up)."""
    return 2 if m.ffn_kind == "swiglu" else 1


def mlp_width_per_token(m: ModelSpec) -> float:
    """MLP hidden width one token goes through (MoE: top-k + shared experts), block average."""
    moe = expert_ffn_dim(m) * ((m.moe_top_k or 1) + m.moe_shared_experts)
    if not m.is_moe:
        return float(m.ffn_dim)
    w = m.moe_dense_layers / m.n_layers
    return (1 - w) * moe + w * m.ffn_dim


def _link(inter: npt.ArrayLike, hw: Hardware, per_node: npt.ArrayLike = 1.0) -> Arr:
    """Bandwidth per GPU of a group: NVLink inside a node; across nodes the group's
    `per_node` members drive their own NICs in parallel channels (NCCL rings/trees per
    rail), so the bus bandwidth is their NICs together, at most the NVLink rate."""
    across = np.minimum(np.asarray(per_node) * hw.inter_b_per_s, hw.intra_b_per_s)
    return np.where(inter, across, hw.intra_b_per_s)


def _by_stage(stage: dict[int, npt.NDArray[np.bool_]], value: dict[int, Arr]) -> Arr:
    """`value[k]` where the ZeRO stage is k, else 0: `np.select` over exclusive tests, as
    nested `np.where` (same values, a third of the time)."""
    out: Arr | float = 0.0
    for k, v in value.items():
        out = np.where(stage[k], v, out)
    return np.asarray(out, dtype=np.float64)


def _data_parallel(
    m: ModelSpec,
    hw: Hardware,
    tp: Arr,
    pp: Arr,
    cp: Arr,
    ep: Arr,
    v: Arr,
    dp: Arr,
    z: npt.NDArray[np.int64],
    optimizer: npt.NDArray[np.int64],
) -> tuple[Arr, Arr, Arr, Arr, npt.NDArray[np.bool_], Arr]:
    """Data-parallel traffic per step and per micro-batch (ideal seconds, latency hops),
    whether it crosses nodes, and the optimizer step's ideal seconds, per layout."""
    g, hbm = hw.gpus_per_node, hw.hbm_b_per_s
    layers_max = np.ceil(m.n_layers / (pp * v)) * v
    dense, expert = stage_params_arr(m, tp, pp, ep, layers_max)
    w_b, g_b, o_b = optimizer_bytes(optimizer)
    n_dp = dp * cp
    dp_inter = tp * cp * dp > g
    link = _link(dp_inter, hw, np.clip(g // (tp * cp), 1, n_dp))
    step_bw = np.zeros(len(tp))
    step_hops = np.zeros(len(tp))
    mb_bw = np.zeros(len(tp))
    mb_hops = np.zeros(len(tp))
    # HSDP: ZeRO-3 traffic inside the node's shard group, then an all-reduce of each
    # rank's shard of the gradients across the replicas (one rank per node, own NIC).
    shards = zero_shards(z, tp, n_dp, g)
    replicas = n_dp / shards
    h_link = _link(np.zeros(len(tp), dtype=bool), hw)
    r_link = _link(replicas > 1, hw)
    stage = {k: z == k for k in (0, 1, 2, 3, HSDP)}
    passes = [(dense, n_dp, shards)]
    if np.any(expert > 0):  # a dense model has no expert collective (nor its latency)
        passes.append((expert, n_dp / ep, shards / ep))
    for params, group, sh in passes:
        sh = np.maximum(sh, 1.0)
        ar = coll.all_reduce(params * g_b, group, link)
        rs = coll.reduce_scatter(params * g_b, group, link)
        ag = coll.all_gather(params * w_b, group, link)
        h_rs = coll.reduce_scatter(params * g_b, sh, h_link)
        h_ag = coll.all_gather(params * w_b, sh, h_link)
        r_ar = coll.all_reduce(params * g_b / sh, np.maximum(group / sh, 1.0), r_link)
        step_bw += _by_stage(stage, {0: ar[0], 1: rs[0] + ag[0], 2: ag[0], HSDP: r_ar[0]})
        step_hops += _by_stage(stage, {0: ar[1], 1: rs[1] + ag[1], 2: ag[1], HSDP: r_ar[1]})
        mb_bw += _by_stage(stage, {2: rs[0], 3: 2 * ag[0] + rs[0], HSDP: 2 * h_ag[0] + h_rs[0]})
        mb_hops += _by_stage(stage, {2: rs[1], 3: 2 * ag[1] + rs[1], HSDP: 2 * h_ag[1] + h_rs[1]})
    local = dense / np.where(z >= 1, shards, 1.0) + expert / np.where(
        z >= 1, np.maximum(shards / ep, 1.0), 1.0
    )
    opt_s = local * (ADAM_STATE_PASSES * o_b + g_b + WEIGHT_BYTES_BF16.value) / hbm
    return step_bw, step_hops, mb_bw, mb_hops, dp_inter, opt_s


def _block(
    m: ModelSpec,
    seq_len: int,
    hw: Hardware,
    n_gpus: int,
    mb: Arr,
    cp: Arr,
    tp: Arr,
    ep: Arr,
    rc: npt.NDArray[np.int64],
    flash: npt.NDArray[np.bool_],
    sp: npt.NDArray[np.bool_],
) -> dict[str, Arr]:
    """One block and the LM head for one micro-batch on one GPU, per layout: GEMMs,
    attention core, elementwise traffic, the TP, CP and EP collectives and one pipeline
    send, as the `Work` fields they make (the sends before their count per micro-batch).

    Long on purpose: every part is an array expression that the next ones reuse, so
    splitting it would only pass some twenty arrays between helpers.
    """
    f64 = np.float64
    full = (rc == FULL).astype(f64)
    attn_again = (rc >= SELECTIVE).astype(f64)
    g = hw.gpus_per_node
    a2 = ACT_BYTES.value
    h = m.d_model
    kv = m.kv_heads * (m.qk_dim + m.v_dim) / 2  # one of K, V (their mean width)
    tokens = mb * seq_len / cp  # GEMM rows of one micro-batch on one GPU
    peak16, hbm = hw.peak_16bit_flop_s, hw.hbm_b_per_s

    # -- one block, one micro-batch: GEMMs, attention core, elementwise traffic
    gemm_mult = 3 + full
    sms = hw.sm_count or 0
    gm = _layer_gemms(m, tokens, tp, ep, sms)
    mem = gm.mem
    # QK^T and AV, full (non-causal) count; a sliding window counts its keys only
    attn_flop = 2 * tokens * m.attended_keys(seq_len) * m.n_heads * (m.qk_dim + m.v_dim) / tp
    attn_mult = 3 + attn_again
    heads_local = m.n_heads / tp
    # unfused attention: QK^T and AV as batched GEMMs over the local heads
    sc = _gemm(tokens, (m.qk_dim + m.v_dim) / 2, seq_len, sms, 2 * heads_local)
    s_mem = sc.mem
    nonflash = ~flash
    layer_gemm_flop_s = (gm.fwd_q * (1 + full) + gm.bwd_q) / hw.linear_flop_s + np.where(
        nonflash, (sc.fwd_q * (attn_mult - 2) + sc.bwd_q) / hw.other_gemm_flop_s, 0
    )
    layer_gemm_mem_s = (mem * gemm_mult + np.where(nonflash, s_mem * attn_mult, 0)) / hbm
    causal_share = m.causal_keys(seq_len) / m.attended_keys(seq_len)  # 1/2 without a window
    executed = attn_flop * causal_share * attn_mult
    layer_flash_s = np.where(flash, executed / peak16, 0.0)
    sp_div = np.where(sp, tp, 1.0)
    f_tok = mlp_width_per_token(m)
    mlp_passes = (2 if m.ffn_kind == "swiglu" else 1) + 1
    elem_b = a2 * tokens * (ELEMENTWISE_PASSES.value * h / sp_div + mlp_passes * f_tok / tp)
    softmax_b = SOFTMAX_BYTES_PER_SCORE.value * heads_local * tokens * seq_len
    layer_elem_s = (elem_b * gemm_mult + np.where(nonflash, softmax_b * attn_mult, 0)) / hbm

    # -- communication inside the block (on the critical path)
    act_b = a2 * tokens * h  # one micro-batch's hidden states (full, unsharded)
    tp_inter = tp > g
    # in all-reduce equivalents (SP: an all-gather + a reduce-scatter): 2 forward, 2 more
    # with full recompute, and with SP the 2 backward all-gathers before the row-parallel
    # layers' input gradients (1); on top, hidden behind GEMMs up to their length, the
    # input-gradient all-reduces of QKV and MLP-in (no SP: 2) or their reduce-scatters
    # plus the re-gather of their SP-sharded inputs (SP: 1 + 1)
    n_tp = 2 * (1 + full) + np.where(sp, 1.0, 0.0)
    n_tp_bwd = 2.0
    tp_bw, tp_hops = coll.all_reduce(act_b, tp, _link(tp_inter, hw, g))
    tp_hops = tp_hops * np.where(sp, 2, 1)  # SP: all-gather + reduce-scatter per all-reduce
    tp_bw = tp_bw * np.where(sp & ~tp_inter, GATHER_SCATTER_NVLINK.value, 1.0)
    # what hides them: the weight-gradient GEMMs of QKV and MLP-in (and, with SP, their
    # input-gradient GEMMs, which hide the re-gather)
    q_cols = m.n_heads * m.qk_dim + 2 * m.kv_heads * (m.qk_dim + m.v_dim) / 2
    col_flop = 2 * tokens * h * (q_cols + mats_in_of(m) * mlp_width_per_token(m)) / tp
    tp_window = col_flop * np.where(sp, 2.0, 1.0) / hw.linear_flop_s
    widths = (q_cols, m.n_heads * m.v_dim, mats_in_of(m) * f_tok, f_tok)
    pair_flop_s = np.stack([2 * tokens * h * wd / tp for wd in widths], axis=1) / hw.linear_flop_s
    cp_inter = tp * cp > g
    kv_b = a2 * 2 * mb * seq_len * kv / np.minimum(tp, m.kv_heads)
    cp_bw, cp_hops = coll.all_gather(kv_b, cp, _link(cp_inter, hw, np.maximum(g // tp, 1)))
    n_cp = 3 + attn_again
    ep_inter = tp * cp * ep > g
    k = m.moe_top_k or 0
    ep_local = np.clip(g // (tp * cp), 1, ep)
    ep_bw, ep_hops = coll.all_to_all(a2 * tokens * k * h, ep, _link(ep_inter, hw, ep_local))
    n_ep = np.where(ep > 1, 4 + 2 * full, 0.0)

    # -- LM head on the last stage: GEMM, fp32 cross entropy, SP gather / scatter
    head = _gemm(tokens, h, m.vocab_size / tp, sms)
    hmem = head.mem
    ce_b = LOGITS_BYTES_FP32.value * CROSS_ENTROPY_PASSES.value * tokens * m.vocab_size / tp
    head_tp_bw, head_tp_hops = coll.all_gather(act_b, tp, _link(tp_inter, hw, g))
    head_tp_on = np.where(sp, 2.0, 0.0)

    # -- pipeline sends (Megatron's scatter/gather, Narayanan et al. 2021 Sec. 4.1): each TP
    # rank sends 1/TP of the activation; without SP the receivers all-gather it over the
    # node's links
    p2p_inter = np.full(len(tp), n_gpus > g)
    p2p_bw, p2p_hops = coll.point_to_point(act_b / tp, _link(p2p_inter, hw))
    gather_bw, gather_hops = coll.all_gather(act_b, np.where(sp, 1.0, tp), _link(tp_inter, hw, g))
    return {
        "layer_gemm_flop_s": layer_gemm_flop_s,
        "layer_gemm_mem_s": layer_gemm_mem_s,
        "layer_flash_s": layer_flash_s,
        "layer_elem_s": layer_elem_s,
        "tp_bw_s": np.where(tp > 1, tp_bw * n_tp, 0.0),
        "tp_hops": np.where(tp > 1, tp_hops * n_tp, 0.0),
        "tp_bwd_bw_s": np.where(tp > 1, tp_bw * n_tp_bwd, 0.0),
        "tp_bwd_hops": np.where(tp > 1, tp_hops * n_tp_bwd, 0.0),
        "tp_window_flop_s": tp_window,
        "tp_unit_bw_s": np.where((tp > 1) & sp, tp_bw / 2, 0.0),
        "tp_unit_hops": np.where((tp > 1) & sp, tp_hops / 2, 0.0),
        "tp_pair_flop_s": pair_flop_s,
        "tp_fwd_passes": 1 + full,
        "tp_inter": tp_inter.astype(f64),
        "cp_bw_s": np.where(cp > 1, cp_bw * n_cp, 0.0),
        "cp_hops": np.where(cp > 1, cp_hops * n_cp, 0.0),
        "cp_inter": cp_inter.astype(f64),
        "ep_bw_s": ep_bw * n_ep,
        "ep_hops": ep_hops * n_ep,
        "ep_inter": ep_inter.astype(f64),
        "head_gemm_flop_s": (head.fwd_q + head.bwd_q) / hw.other_gemm_flop_s,
        "head_gemm_mem_s": hmem * 3 / hbm,
        "head_elem_s": ce_b / hbm,
        "head_tp_bw_s": np.where(tp > 1, head_tp_bw * head_tp_on, 0.0),
        "head_tp_hops": np.where(tp > 1, head_tp_hops * head_tp_on, 0.0),
        "p2p_inter": p2p_inter.astype(f64),
        "p2p_send_bw_s": p2p_bw,
        "p2p_send_hops": p2p_hops,
        "p2p_gather_send_bw_s": gather_bw,
        "p2p_gather_send_hops": gather_hops,
    }


def work(m: ModelSpec, seq_len: int, c: Candidates, hw: Hardware, n_gpus: int) -> Work:
    """Ideal seconds of every part of one step, for each candidate layout.

    The parts of a block depend on the micro-batch, CP, TP, EP, recompute, FlashAttention
    and SP only, the data-parallel traffic on the split, ZeRO and the optimizer only: each
    is computed once per distinct combination (a few hundred to a few thousand among tens
    of thousands of layouts) and spread to every layout; the results are those of a pass
    over every layout, row by row.
    """
    f64 = np.float64
    tp, pp, dp, cp, ep, v = (x.astype(f64) for x in (c.tp, c.pp, c.dp, c.cp, c.ep, c.vpp))
    mb, steps = c.mb.astype(f64), c.m.astype(f64)
    rc = c.recompute
    peak = hw.peak_flop_s

    # -- one block, one micro-batch: GEMMs, attention core, elementwise traffic, the
    # collectives inside the block, the LM head and the pipeline sends (`_block`)
    one, each = family_groups(c.mb, c.cp, c.tp, c.ep, c.recompute, c.flash, c.sp)
    block = _block(
        m, seq_len, hw, n_gpus, mb[one], cp[one], tp[one], ep[one], rc[one], c.flash[one], c.sp[one]
    )
    b = {k: x[each] for k, x in block.items()}

    # -- pipeline
    layers_max = np.ceil(m.n_layers / (pp * v)) * v
    pipe_factor = steps + (pp - 1) / v
    n_p2p = np.where(pp > 1, 2 * v, 0.0)

    # -- data parallelism and the optimizer step: they depend on the split, the ZeRO stage
    # and the optimizer only, so they are computed once per distinct combination
    one, each = family_groups(c.tp, c.pp, c.cp, c.ep, c.vpp, c.dp, c.zero, c.optimizer)
    split = (tp[one], pp[one], cp[one], ep[one], v[one], dp[one])
    step_bw, step_hops, mb_bw, mb_hops, dp_inter, opt_s = _data_parallel(
        m, hw, *split, c.zero[one], c.optimizer[one]
    )
    step_bw, step_hops, mb_bw, mb_hops = (x[each] for x in (step_bw, step_hops, mb_bw, mb_hops))
    dp_inter, opt_s = dp_inter[each], opt_s[each]

    fpt = {r: flops_per_token(m, seq_len, r) for r in RECOMPUTES}
    hw_fpt = np.array([fpt[r].hardware for r in RECOMPUTES])[rc]
    ones = np.ones(len(c))
    return Work(
        layer_gemm_flop_s=b["layer_gemm_flop_s"],
        layer_gemm_mem_s=b["layer_gemm_mem_s"],
        layer_flash_s=b["layer_flash_s"],
        layer_elem_s=b["layer_elem_s"],
        tp_bw_s=b["tp_bw_s"],
        tp_hops=b["tp_hops"],
        tp_bwd_bw_s=b["tp_bwd_bw_s"],
        tp_bwd_hops=b["tp_bwd_hops"],
        tp_window_flop_s=b["tp_window_flop_s"],
        tp_unit_bw_s=b["tp_unit_bw_s"],
        tp_unit_hops=b["tp_unit_hops"],
        tp_pair_flop_s=b["tp_pair_flop_s"],
        tp_fwd_passes=b["tp_fwd_passes"],
        tp=tp,
        tp_inter=b["tp_inter"],
        cp_bw_s=b["cp_bw_s"],
        cp_hops=b["cp_hops"],
        cp_inter=b["cp_inter"],
        ep_bw_s=b["ep_bw_s"],
        ep_hops=b["ep_hops"],
        ep_inter=b["ep_inter"],
        head_gemm_flop_s=b["head_gemm_flop_s"],
        head_gemm_mem_s=b["head_gemm_mem_s"],
        head_elem_s=b["head_elem_s"],
        head_tp_bw_s=b["head_tp_bw_s"],
        head_tp_hops=b["head_tp_hops"],
        n_layers=ones * m.n_layers,
        layers_max=layers_max,
        pp=pp,
        m=steps,
        pipe_factor=pipe_factor,
        p2p_bw_s=b["p2p_send_bw_s"] * n_p2p,
        p2p_hops=b["p2p_send_hops"] * n_p2p,
        p2p_inter=b["p2p_inter"],
        p2p_gather_bw_s=b["p2p_gather_send_bw_s"] * n_p2p,
        p2p_gather_hops=b["p2p_gather_send_hops"] * n_p2p,
        dp_step_bw_s=step_bw,
        dp_step_hops=step_hops,
        dp_mb_bw_s=mb_bw,
        dp_mb_hops=mb_hops,
        dp_inter=dp_inter.astype(f64),
        opt_s=opt_s,
        tokens_per_step=c.batch_seqs.astype(f64) * seq_len,
        model_flop_per_token=ones * fpt["none"].model,
        hardware_flop_per_token=hw_fpt.astype(f64),
        n_gpus=ones * n_gpus,
        peak_flop_s=ones * peak,
    )
