"""Memory per GPU during training: model states, activations and communication buffers.

Model states follow the ZeRO paper (Rajbhandari et al. 2020, arXiv:1910.02054,
Sec. 3.1 and 5): bf16 weights and gradients plus 12 B/param of fp32 Adam
state, sharded over data parallelism by ZeRO stage 1 (optimizer), 2 (+grads)
and 3 (+weights). Activations follow Korthikanti et al. 2022
(arXiv:2205.05198, Sec. 4), counted tensor by tensor so that GQA, SwiGLU and
MoE shapes are handled; for a GPT block with a 4h GeLU MLP it reduces to the
paper's s*b*h*(34 + 5*a*s/h) bytes per layer. The pipeline holds up to PP
micro-batches in flight on its first stage (1F1B), more with interleaving
(Narayanan et al. 2021 Sec. 2.2; Megatron-LM theoretical_memory_usage.py).
Communication buffers that scale with the layout are counted (ZeRO-3 gathered
layers, pipeline send/receive buffers, MoE dispatch buffers); what is not
modelled (framework workspace, NCCL internals, fragmentation) is covered by the
headroom kept free (MEMORY_HEADROOM_FRACTION).

Every function takes numpy arrays (one value per candidate layout) as well as
plain numbers, so the planner evaluates thousands of layouts at once; the
`Layout` wrappers at the bottom keep the one-layout API.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict

from capacity.catalog.schemas import ModelSpec
from capacity.constants import (
    ACT_BYTES,
    ADAM_STATE_BYTES_BF16,
    ADAM_STATE_BYTES_FP32,
    DROPOUT_MASK_BYTES,
    GRAD_BYTES_BF16,
    GRAD_BYTES_FP32,
    LOGITS_BYTES_FP32,
    MEMORY_HEADROOM_FRACTION,
    WEIGHT_BYTES_BF16,
)
from capacity.layout import HSDP, RECOMPUTE_CODES, Layout
from capacity.units import GIB
from capacity.workload import (
    attention_params,
    dense_layer_params,
    expert_ffn_dim,
    mlp_params,
    norm_params,
)

Arr = npt.NDArray[np.float64]
ArrLike = npt.ArrayLike

OPTIMIZERS = ("adam-mixed", "adam-mixed-fp32-grads", "adam-bf16")
# bytes per parameter: (weights, gradients, optimizer state), indexed like OPTIMIZERS
OPTIMIZER_BYTES: dict[str, tuple[float, float, float]] = {
    "adam-mixed": (WEIGHT_BYTES_BF16.value, GRAD_BYTES_BF16.value, ADAM_STATE_BYTES_FP32.value),
    "adam-mixed-fp32-grads": (
        WEIGHT_BYTES_BF16.value,
        GRAD_BYTES_FP32.value,
        ADAM_STATE_BYTES_FP32.value,
    ),
    "adam-bf16": (WEIGHT_BYTES_BF16.value, GRAD_BYTES_BF16.value, ADAM_STATE_BYTES_BF16.value),
}
_OPT_TABLE = np.array([OPTIMIZER_BYTES[o] for o in OPTIMIZERS])  # (3 optimizers, 3 kinds)
NONE, SELECTIVE, FULL = (RECOMPUTE_CODES[k] for k in ("none", "selective", "full"))


class MemoryBreakdown(BaseModel):
    """Peak memory of the most loaded GPU (GiB)."""

    model_config = ConfigDict(frozen=True)

    weights_gib: float
    gradients_gib: float
    optimizer_gib: float
    activations_gib: float
    total_gib: float
    capacity_gib: float
    usable_gib: float
    headroom_fraction: float
    params_per_gpu: float
    comm_buffers_gib: float = 0.0

    @property
    def fits(self) -> bool:
        return self.total_gib <= self.usable_gib

    def parts_gib(self) -> dict[str, float]:
        """The stacked parts, as the --json documents name them."""
        return {
            "weights": self.weights_gib,
            "gradients": self.gradients_gib,
            "optimizer": self.optimizer_gib,
            "activations": self.activations_gib,
            "comm_buffers": self.comm_buffers_gib,
        }


def optimizer_bytes(optimizer_code: ArrLike) -> tuple[Arr, Arr, Arr]:
    """(weight, gradient, optimizer) bytes per parameter for optimizer codes (OPTIMIZERS)."""
    rows = _OPT_TABLE[np.asarray(optimizer_code, dtype=int)]
    return rows[..., 0], rows[..., 1], rows[..., 2]


def zero_shards(
    zero_stage: ArrLike, tp: ArrLike, dp_cp: ArrLike, gpus_per_node: ArrLike | None
) -> Arr:
    """Ranks the ZeRO states are sharded over: every data-parallel-like rank (DP x CP), or
    with HSDP those inside one node (DP is laid out after TP, Megatron rank order)."""
    n = np.asarray(dp_cp, dtype=float)
    if gpus_per_node is None:
        return n
    in_node = np.maximum(np.asarray(gpus_per_node, dtype=float) // np.asarray(tp), 1.0)
    return np.where(np.asarray(zero_stage) == HSDP, np.minimum(n, in_node), n)


def model_state_bytes(
    params: float, zero_stage: int, shards: int, optimizer: str = "adam-mixed"
) -> tuple[float, float, float]:
    """(weights, gradients, optimizer) bytes per GPU for `params` replicated over `shards`.

    ZeRO paper (Rajbhandari et al. 2020) Sec. 5: stage 1 shards the optimizer
    state, stage 2 also the gradients, stage 3 also the weights; HSDP (4) shards all
    three like stage 3, over the `shards` ranks of one node.
    """
    w, g, o = model_state_bytes_arr(params, zero_stage, shards, OPTIMIZERS.index(optimizer))
    return float(w), float(g), float(o)


def model_state_bytes_arr(
    params: ArrLike, zero_stage: ArrLike, shards: ArrLike, optimizer_code: ArrLike = 0
) -> tuple[Arr, Arr, Arr]:
    """Vectorised `model_state_bytes` (optimizer given by its index in OPTIMIZERS)."""
    p = np.asarray(params, dtype=float)
    z = np.asarray(zero_stage)
    d = np.asarray(shards, dtype=float)
    w_b, g_b, o_b = optimizer_bytes(optimizer_code)
    weights = p * w_b / np.where(z >= 3, d, 1.0)
    grads = p * g_b / np.where(z >= 2, d, 1.0)
    optim = p * o_b / np.where(z >= 1, d, 1.0)
    return weights, grads, optim


def layer_params_split(m: ModelSpec) -> tuple[float, float, float]:
    """One block's (TP-split dense, replicated router, one routed expert) parameters
    (an MoE block of an MoE model)."""
    dense = attention_params(m) + 2 * norm_params(m)
    if not m.is_moe:
        return float(dense + mlp_params(m, m.ffn_dim)), 0.0, 0.0
    assert m.moe_experts is not None
    expert = mlp_params(m, expert_ffn_dim(m))
    return float(dense + m.moe_shared_experts * expert), float(m.d_model * m.moe_experts), expert


def stage_params_arr(
    m: ModelSpec, tp: ArrLike, pp: ArrLike, ep: ArrLike = 1, layers: ArrLike | None = None
) -> tuple[Arr, Arr]:
    """(dense, expert) parameters of the most loaded pipeline stage on one GPU (after TP, EP).

    layers: blocks on that stage (default ceil(n_layers / pp)). Expert parameters
    are returned apart because they are reduced over a smaller data-parallel group.
    """
    tp_, pp_, ep_ = (np.asarray(x, dtype=float) for x in (tp, pp, ep))
    n_layers = np.ceil(m.n_layers / pp_) if layers is None else np.asarray(layers, dtype=float)
    dense, router, expert = layer_params_split(m)
    experts = (m.moe_experts or 0) / ep_ * expert / tp_
    # The most loaded stage holds MoE blocks; an MoE model's leading dense blocks
    # (DeepSeek) only share a stage when there are fewer MoE blocks than its layers.
    n_moe = np.minimum(n_layers, m.moe_layers) if m.is_moe else n_layers
    n_dense = n_layers - n_moe
    body_dense = n_moe * (dense / tp_ + router) + n_dense * dense_layer_params(m) / tp_
    embed = m.vocab_size * m.d_model / tp_
    if m.position_embedding == "learned":
        embed = embed + m.seq_len * m.d_model
    head = m.vocab_size * m.d_model / tp_  # tied weights get a copy on the last stage
    single = embed + (0 if m.tied_embeddings else head)
    ends = np.where(pp_ == 1, single, np.maximum(embed, head))
    return body_dense + ends, n_moe * experts


def stage_params(m: ModelSpec, layout: Layout) -> float:
    """Parameters held by the most loaded pipeline stage on one GPU (after TP and EP)."""
    dense, expert = stage_params_arr(m, layout.tp, layout.pp, layout.ep)
    return float(dense + expert)


def activation_bytes_per_layer_arr(
    m: ModelSpec,
    seq_len: float,
    *,
    tp: ArrLike,
    cp: ArrLike = 1,
    micro_batch: ArrLike = 1,
    recompute: ArrLike = SELECTIVE,
    sequence_parallel: ArrLike = True,
    flash_attention: ArrLike = True,
) -> Arr:
    """Stored activations of one layer for one micro-batch (Korthikanti 2022 Sec. 4.1).

    recompute: codes of capacity.layout.RECOMPUTE_CODES (0 none, 1 selective, 2 full).
    """
    t = np.asarray(tp, dtype=float)
    s = seq_len / np.asarray(cp, dtype=float)
    b = np.asarray(micro_batch, dtype=float)
    rc = np.asarray(recompute)
    sp = np.asarray(sequence_parallel, dtype=bool)
    flash = np.asarray(flash_attention, dtype=bool)
    h = m.d_model
    a2, d1 = ACT_BYTES.value, DROPOUT_MASK_BYTES.value
    q = m.n_heads * m.qk_dim
    k, v = m.kv_heads * m.qk_dim, m.kv_heads * m.v_dim
    out = m.n_heads * m.v_dim
    # Replicated across TP unless sequence parallel: the two norm inputs, the attention
    # and MLP inputs, two dropout masks (Korthikanti's 10 s*b*h).
    replicated = (2 * a2 + 2 * a2 + 2 * d1) * s * b * h
    # Split by TP: Q, K, V, attention output (input of the output projection), MLP hidden.
    attn = a2 * s * b * (q + k + v + out)
    f = expert_ffn_dim(m) * ((m.moe_top_k or 1) + m.moe_shared_experts)
    if m.moe_dense_layers:  # the widest block sets the peak
        f = max(f, m.ffn_dim)
    mlp_tensors = 3 if m.ffn_kind == "swiglu" else 2  # gate & up & product, or fc1 & act
    mlp = a2 * s * b * f * mlp_tensors
    # softmax output (2 B), dropout mask (1 B), dropout output (2 B) per score.
    scores = np.where(~flash & (rc == NONE), (2 * a2 + d1) * m.n_heads * s * s * b, 0.0)
    split = attn + mlp + scores
    kept = np.where(sp, (replicated + split) / t, replicated + split / t)
    layer_input = a2 * s * b * h  # full recompute keeps only the layer input
    layer_input = np.where(sp, layer_input / t, layer_input)
    return np.where(rc == FULL, layer_input, kept)


def activation_bytes_per_layer(m: ModelSpec, layout: Layout, seq_len: int) -> float:
    """Stored activations of one layer for one micro-batch (Korthikanti 2022 Sec. 4.1)."""
    return float(
        activation_bytes_per_layer_arr(
            m,
            seq_len,
            tp=layout.tp,
            cp=layout.cp,
            micro_batch=layout.micro_batch_seqs,
            recompute=RECOMPUTE_CODES[layout.recompute],
            sequence_parallel=layout.sequence_parallel,
            flash_attention=layout.flash_attention,
        )
    )


@dataclass(frozen=True)
class MemoryArrays:
    """Bytes per GPU for each candidate layout (numpy arrays, one value per candidate)."""

    weights_b: Arr
    gradients_b: Arr
    optimizer_b: Arr
    activations_b: Arr
    comm_buffers_b: Arr
    params_per_gpu: Arr

    @property
    def total_b(self) -> Arr:
        return (
            self.weights_b
            + self.gradients_b
            + self.optimizer_b
            + self.activations_b
            + self.comm_buffers_b
        )


def memory_arrays(
    m: ModelSpec,
    seq_len: float,
    *,
    tp: ArrLike,
    pp: ArrLike,
    dp: ArrLike,
    cp: ArrLike = 1,
    ep: ArrLike = 1,
    vpp: ArrLike = 1,
    zero_stage: ArrLike = 1,
    recompute: ArrLike = SELECTIVE,
    sequence_parallel: ArrLike = True,
    flash_attention: ArrLike = True,
    micro_batch: ArrLike = 1,
    optimizer: ArrLike = 0,
    microbatches: ArrLike | None = None,
    gpus_per_node: ArrLike | None = None,
) -> MemoryArrays:
    """Peak memory on the first pipeline stage (or the last, if its LM head is larger).

    microbatches: micro-batches per optimizer step per pipeline (limits in-flight ones).
    """
    tp_, pp_, dp_, cp_, ep_, v_ = (np.asarray(x, dtype=float) for x in (tp, pp, dp, cp, ep, vpp))
    b = np.asarray(micro_batch, dtype=float)
    rc = np.asarray(recompute)
    layers = np.ceil(m.n_layers / (pp_ * v_)) * v_
    dense, expert = stage_params_arr(m, tp_, pp_, ep_, layers)
    # ZeRO shards dense states over every data-parallel-like replica (DP x CP); expert
    # states over the DP x CP ranks that hold the same experts (DP x CP / EP).
    shards = zero_shards(zero_stage, tp_, dp_ * cp_, gpus_per_node)
    wd, gd, od = model_state_bytes_arr(dense, zero_stage, shards, optimizer)
    we, ge, oe = model_state_bytes_arr(expert, zero_stage, np.maximum(shards / ep_, 1), optimizer)

    in_flight = pp_ if microbatches is None else np.minimum(pp_, microbatches)
    interleave = np.where(v_ > 1, 1 + (pp_ - 1) / (pp_ * v_), 1.0)
    act_kw = dict(tp=tp_, cp=cp_, micro_batch=b, sequence_parallel=sequence_parallel)
    per_layer = activation_bytes_per_layer_arr(
        m, seq_len, recompute=rc, flash_attention=flash_attention, **act_kw
    )
    # When PP does not divide the layers, the first stage (most micro-batches in flight)
    # takes the lighter share (Llama 3, arXiv:2407.21783 Sec. 3.3.2), the next one the
    # heavier share with one micro-batch fewer in flight.
    light = np.floor(m.n_layers / (pp_ * v_)) * v_
    held = np.maximum(light * in_flight, layers * np.maximum(in_flight - 1, 1))
    held = np.where(pp_ > 1, held, layers * in_flight)
    acts = per_layer * held * interleave
    # one layer is rebuilt in full during the backward pass of full recompute
    rebuilt = activation_bytes_per_layer_arr(
        m, seq_len, recompute=NONE, flash_attention=flash_attention, **act_kw
    )
    acts = acts + np.where(rc == FULL, rebuilt, 0.0)
    # fp32 logits of the last stage (Korthikanti 2022 Sec. 4.1), one micro-batch.
    tokens = seq_len / cp_ * b
    logits = LOGITS_BYTES_FP32.value * tokens * m.vocab_size / tp_
    acts = np.where(pp_ == 1, acts + logits, np.maximum(acts, logits + per_layer * layers))

    a2 = ACT_BYTES.value
    dense_layer, _, expert_layer = layer_params_split(m)
    # ZeRO-3 keeps the layer being computed and the prefetched next one unsharded.
    gathered = 2 * WEIGHT_BYTES_BF16.value * (dense_layer + expert_layer) / tp_
    buffers = np.where(np.asarray(zero_stage) >= 3, gathered, 0.0)
    # Pipeline send and receive buffers, one micro-batch each way.
    sp_div = np.where(np.asarray(sequence_parallel, dtype=bool), tp_, 1.0)
    buffers = buffers + np.where(pp_ > 1, 2 * a2 * tokens * m.d_model / sp_div, 0.0)
    if m.is_moe:  # token dispatch and combine buffers of the all-to-all
        k = m.moe_top_k or 1
        buffers = buffers + 2 * a2 * tokens * k * m.d_model
    return MemoryArrays(
        weights_b=wd + we,
        gradients_b=gd + ge,
        optimizer_b=od + oe,
        activations_b=acts,
        comm_buffers_b=buffers,
        params_per_gpu=dense + expert,
    )


def memory_per_gpu(
    m: ModelSpec,
    layout: Layout,
    capacity_gib: float,
    *,
    seq_len: int | None = None,
    microbatches: int | None = None,
    headroom_fraction: float = MEMORY_HEADROOM_FRACTION.value,
    gpus_per_node: int | None = None,
) -> MemoryBreakdown:
    """Peak memory of one layout on the most loaded GPU (HSDP needs `gpus_per_node`)."""
    arr = memory_arrays(
        m,
        seq_len or m.seq_len,
        tp=layout.tp,
        pp=layout.pp,
        dp=layout.dp,
        cp=layout.cp,
        ep=layout.ep,
        vpp=layout.vpp,
        zero_stage=layout.zero_stage,
        recompute=RECOMPUTE_CODES[layout.recompute],
        sequence_parallel=layout.sequence_parallel,
        flash_attention=layout.flash_attention,
        micro_batch=layout.micro_batch_seqs,
        optimizer=OPTIMIZERS.index(layout.optimizer),
        microbatches=microbatches,
        gpus_per_node=gpus_per_node,
    )
    return breakdown_at(arr, 0, capacity_gib, headroom_fraction)


def breakdown_at(
    arr: MemoryArrays,
    i: int,
    capacity_gib: float,
    headroom_fraction: float = MEMORY_HEADROOM_FRACTION.value,
) -> MemoryBreakdown:
    """The `MemoryBreakdown` of candidate `i` of a vectorised evaluation."""

    def at(x: Arr) -> float:
        return float(np.broadcast_to(x, np.shape(arr.total_b)).flat[i])

    return MemoryBreakdown(
        weights_gib=at(arr.weights_b) / GIB,
        gradients_gib=at(arr.gradients_b) / GIB,
        optimizer_gib=at(arr.optimizer_b) / GIB,
        activations_gib=at(arr.activations_b) / GIB,
        comm_buffers_gib=at(arr.comm_buffers_b) / GIB,
        total_gib=at(arr.total_b) / GIB,
        capacity_gib=capacity_gib,
        usable_gib=capacity_gib * (1 - headroom_fraction),
        headroom_fraction=headroom_fraction,
        params_per_gpu=at(arr.params_per_gpu),
    )
