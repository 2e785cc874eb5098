"""The space of parallel layouts, as numpy arrays (one entry per candidate).

Dimensions: tensor (TP), pipeline (PP, with VPP interleaved chunks), data (DP),
context (CP) and expert (EP) parallelism, micro-batch size, ZeRO stage 0-3,
activation recompute, sequence parallelism, FlashAttention and the optimizer's
precision. The grid of every combination is built with numpy and filtered by
masks; nothing loops over layouts in Python. Structural rules:

* TP divides the attention heads, and the KV heads divide TP or TP divides them
  (Megatron-LM's GQA rule); TP stays inside the node's fast domain unless
  `tp_across_nodes` (then it may span whole nodes).
* PP is at most the number of layers and need not divide it: stages hold
  ceil or floor(L / PP) blocks (Llama 3 405B: 126 layers on PP=16). Interleaving
  (VPP > 1) needs PP > 1, PP x VPP <= L and at least PP micro-batches per step.
* TP x CP x PP x DP = GPUs; EP divides the experts and DP (Megatron-LM).
* CP splits each sequence in 2 x CP chunks (load-balanced causal ring), so
  2 x CP divides the sequence length, and keeps >= CP_MIN_TOKENS per rank.
* The global batch (sequences) = DP x micro-batch x accumulation steps m; m is
  rounded to the nearest whole number and the layout is kept only when the
  resulting batch is within BATCH_TOLERANCE of the requested one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, cast

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict

from capacity.catalog.schemas import ModelSpec
from capacity.constants import Constant
from capacity.layout import HSDP, RECOMPUTE_CODES, RECOMPUTES, Layout, Optimizer, Recompute
from capacity.memory import OPTIMIZERS

IntArr = npt.NDArray[np.int64]
BoolArr = npt.NDArray[np.bool_]

BATCH_TOLERANCE = Constant(
    0.10,
    "fraction of the global batch",
    "planning choice: the global batch is rounded to DP x micro-batch x whole accumulation "
    "steps; within 10 % the optimisation is unaffected (Kaplan et al. 2020 Sec. 5.1: loss is "
    "flat over a wide band of batch sizes around the critical batch)",
)
CP_MIN_TOKENS = Constant(
    2048,
    "tokens per context-parallel rank",
    "planning choice: Llama 3 405B used CP=16 at 131,072 tokens, i.e. 8,192 tokens per rank "
    "(arXiv:2407.21783 Table 4); below ~2k tokens per rank the KV exchange dominates",
)
MICRO_BATCHES = (1, 2, 4, 8)
VPP_CHOICES = (1, 2, 3, 4, 6, 8)
MAX_CP = 64


class SearchSpace(BaseModel):
    """Which values each dimension may take (None: every valid value)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tp: tuple[int, ...] | None = None
    pp: tuple[int, ...] | None = None
    dp: tuple[int, ...] | None = None
    cp: tuple[int, ...] | None = None
    ep: tuple[int, ...] | None = None
    vpp: tuple[int, ...] | None = None
    micro_batch_seqs: tuple[int, ...] | None = None
    zero_stage: tuple[int, ...] | None = None
    recompute: tuple[Recompute, ...] | None = None
    sequence_parallel: tuple[bool, ...] | None = None
    flash_attention: tuple[bool, ...] = (True,)
    optimizer: tuple[Optimizer, ...] = ("adam-mixed",)
    tp_across_nodes: bool = False

    @classmethod
    def fixed(cls, layout: Layout, *, tp_across_nodes: bool = True) -> SearchSpace:
        """Exactly one layout."""
        return cls(
            tp=(layout.tp,),
            pp=(layout.pp,),
            dp=(layout.dp,),
            cp=(layout.cp,),
            ep=(layout.ep,),
            vpp=(layout.vpp,),
            micro_batch_seqs=(layout.micro_batch_seqs,),
            zero_stage=(layout.zero_stage,),
            recompute=(layout.recompute,),
            sequence_parallel=(layout.sequence_parallel,),
            flash_attention=(layout.flash_attention,),
            optimizer=(layout.optimizer,),
            tp_across_nodes=tp_across_nodes,
        )


@dataclass(frozen=True)
class Candidates:
    """Candidate layouts as parallel arrays; `m` = micro-batches per step per pipeline."""

    tp: IntArr
    pp: IntArr
    dp: IntArr
    cp: IntArr
    ep: IntArr
    vpp: IntArr
    mb: IntArr
    zero: IntArr
    recompute: IntArr
    sp: BoolArr
    flash: BoolArr
    optimizer: IntArr
    m: IntArr

    def __len__(self) -> int:
        return int(self.tp.shape[0])

    def take(self, index: npt.ArrayLike) -> Candidates:
        return Candidates(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    @property
    def batch_seqs(self) -> IntArr:
        return cast(IntArr, self.dp * self.mb * self.m)

    def layout(self, i: int) -> Layout:
        return Layout(
            tp=int(self.tp[i]),
            pp=int(self.pp[i]),
            dp=int(self.dp[i]),
            cp=int(self.cp[i]),
            ep=int(self.ep[i]),
            vpp=int(self.vpp[i]),
            zero_stage=int(self.zero[i]),
            recompute=RECOMPUTES[int(self.recompute[i])],
            sequence_parallel=bool(self.sp[i]),
            flash_attention=bool(self.flash[i]),
            micro_batch_seqs=int(self.mb[i]),
            optimizer=cast(Optimizer, OPTIMIZERS[int(self.optimizer[i])]),
        )


class Rejection(BaseModel):
    """Why a family of layouts (e.g. every layout with TP=16) was left out."""

    model_config = ConfigDict(frozen=True)

    family: str
    reason: str
    code: str  # "tp", "pp", "cp", "ep", "batch", "memory"


def _divisors(n: int) -> list[int]:
    small = [d for d in range(1, math.isqrt(n) + 1) if n % d == 0]
    return sorted({*small, *(n // d for d in small)})


def tp_values(
    m: ModelSpec, gpus_per_node: int, n_gpus: int, space: SearchSpace
) -> tuple[list[int], list[Rejection]]:
    """Allowed TP degrees and the reasons for the usual ones that are not."""
    wanted = space.tp or tuple(2**i for i in range(int(math.log2(max(m.n_heads, 1))) + 1))
    out, rejected = [], []
    for t in sorted(set(wanted)):
        fam = f"TP={t}"
        if m.n_heads % t or (m.kv_heads % t and t % m.kv_heads):
            why = f"{fam} does not divide the {m.n_heads} heads / {m.kv_heads} KV heads"
            rejected.append(Rejection(family=fam, reason=why, code="tp"))
        elif n_gpus % t:
            rejected.append(
                Rejection(family=fam, reason=f"{fam} does not divide {n_gpus} GPUs", code="tp")
            )
        elif t > gpus_per_node and not space.tp_across_nodes:
            why = f"{fam} exceeds the {gpus_per_node}-GPU node (fast domain)"
            rejected.append(Rejection(family=fam, reason=why, code="tp"))
        elif t <= gpus_per_node and gpus_per_node % t and space.tp is None:
            continue  # e.g. TP=3 on a 4-GPU node: groups would straddle nodes
        elif t > gpus_per_node and t % gpus_per_node:
            why = f"{fam} spans a fraction of a {gpus_per_node}-GPU node"
            rejected.append(Rejection(family=fam, reason=why, code="tp"))
        else:
            out.append(t)
    return out, rejected


def cp_values(m: ModelSpec, seq_len: int, space: SearchSpace) -> list[int]:
    if space.cp is not None:
        return [c for c in space.cp if c == 1 or seq_len % (2 * c) == 0]
    out = [1]
    c = 2
    while c <= MAX_CP and seq_len % (2 * c) == 0 and seq_len / c >= CP_MIN_TOKENS.value:
        out.append(c)
        c *= 2
    return out


def enumerate_space(
    m: ModelSpec,
    *,
    n_gpus: int,
    gpus_per_node: int,
    seq_len: int,
    batch_seqs: float,
    space: SearchSpace,
) -> tuple[Candidates, list[Rejection]]:
    """Every structurally valid layout for `n_gpus`, and the reasons families were left out.

    Long on purpose: the nested loops over TP, CP, PP, VPP, EP and DP read top to bottom as
    the structural rules of a layout, each rejection recorded where it is decided.
    """
    tps, rejected = tp_values(m, gpus_per_node, n_gpus, space)
    cps = cp_values(m, seq_len, space)
    pps = sorted(space.pp or [p for p in _divisors(n_gpus) if p <= m.n_layers])
    for p in space.pp or ():
        if p > m.n_layers:
            why = f"PP={p} exceeds the {m.n_layers} layers"
            rejected.append(Rejection(family=f"PP={p}", reason=why, code="pp"))
    experts = m.moe_experts or 1
    eps = list(space.ep or (_divisors(experts) if m.is_moe else [1]))
    # Two stages: the structural split (TP, PP, CP, EP, VPP) is filtered first, then
    # crossed with the per-GPU choices, so invalid splits never reach the full product.
    structural_grid: dict[str, Any] = {
        "tp": tps,
        "pp": pps,
        "cp": cps,
        "ep": eps,
        "vpp": list(space.vpp or VPP_CHOICES),
    }
    free_grid: dict[str, Any] = {
        "mb": list(space.micro_batch_seqs or MICRO_BATCHES),
        "zero": list(space.zero_stage or (0, 1, 2, 3, HSDP)),
        "recompute": [RECOMPUTE_CODES[r] for r in space.recompute or RECOMPUTES],
        "sp": list(space.sequence_parallel or (True, False)),
        "flash": list(space.flash_attention),
        "optimizer": [OPTIMIZERS.index(o) for o in space.optimizer],
    }
    if any(len(v) == 0 for v in (*structural_grid.values(), *free_grid.values())):
        return _empty(), rejected
    st = _product(structural_grid)
    tp, pp, cp, ep, v = st["tp"], st["pp"], st["cp"], st["ep"], st["vpp"]
    model_par = tp * pp * cp
    valid = (n_gpus % model_par == 0) & (pp <= m.n_layers)
    dp_s = np.where(valid, n_gpus // np.maximum(model_par, 1), 0)
    valid &= (v == 1) | ((pp > 1) & (pp * v <= m.n_layers))
    valid &= (experts % ep == 0) & (dp_s % np.maximum(ep, 1) == 0)
    keep_s = np.flatnonzero(valid)
    fr = _product(free_grid)
    # The filters below are (structural split) x (per-GPU choice) tables: rows are built
    # only for the layouts that pass, in the order of the full product.
    s = {k: col[keep_s] for k, col in st.items()}
    dp = dp_s[keep_s][:, None]
    tp, pp, v = s["tp"][:, None], s["pp"][:, None], s["vpp"][:, None]
    mb = fr["mb"][None, :]
    ok = (tp > 1) | (fr["sp"][None, :] == free_grid["sp"][0])  # SP needs TP: one copy
    if space.dp is not None:
        ok = ok & np.isin(dp, space.dp)
    steps = np.rint(batch_seqs / np.maximum(dp * mb, 1)).astype(np.int64)
    steps = np.maximum(steps, 1)
    eff_batch = dp * mb * steps
    batch_ok = np.abs(eff_batch / batch_seqs - 1) <= BATCH_TOLERANCE.value
    batch_ok &= (v == 1) | (steps >= pp)
    rejected += _batch_rejections(ok, batch_ok, s["tp"], s["pp"], s["cp"], dp_s[keep_s], batch_seqs)
    keep = np.flatnonzero(ok & batch_ok)
    row, col = np.divmod(keep, len(fr["mb"]))
    cands = Candidates(
        tp=s["tp"][row],
        pp=s["pp"][row],
        dp=dp_s[keep_s][row],
        cp=s["cp"][row],
        ep=s["ep"][row],
        vpp=s["vpp"][row],
        mb=fr["mb"][col],
        zero=fr["zero"][col],
        recompute=fr["recompute"][col],
        sp=fr["sp"][col].astype(bool),
        flash=fr["flash"][col].astype(bool),
        optimizer=fr["optimizer"][col],
        m=steps.ravel()[keep],
    )
    return cands, rejected


def _batch_rejections(
    structural: BoolArr,
    batch_ok: BoolArr,
    tp: IntArr,
    pp: IntArr,
    cp: IntArr,
    dp: IntArr,
    batch_seqs: float,
) -> list[Rejection]:
    """Families (TP, PP, CP) whose every structurally valid layout breaks the batch rule.

    `structural` and `batch_ok` have one row per structural split (TP, PP, CP, EP, VPP;
    its degrees in `tp` ... `dp`) and one column per choice of the per-GPU options.
    """
    out: list[Rejection] = []
    seen = np.any(structural, axis=1)
    if not seen.any():
        return out
    good = np.any(structural & batch_ok, axis=1)[seen]
    tps, pps, cps, dps = tp[seen], pp[seen], cp[seen], dp[seen]
    first, inv = family_groups(tps, pps, cps)
    any_good = np.bincount(inv, weights=good, minlength=len(first)) > 0
    for k in np.flatnonzero(~any_good):
        row = first[k]
        t, p, c, d = int(tps[row]), int(pps[row]), int(cps[row]), int(dps[row])
        name = f"TP={t} PP={p}" + (f" CP={c}" if c > 1 else "")
        why = (
            f"{name}: DP={d} x micro-batch cannot make the global batch of "
            f"{batch_seqs:,.0f} sequences (within {BATCH_TOLERANCE.value:.0%})"
        )
        out.append(Rejection(family=name, reason=why, code="batch"))
    return out


def _product(grid: dict[str, Any]) -> dict[str, IntArr]:
    mesh = np.meshgrid(*[np.asarray(v) for v in grid.values()], indexing="ij")
    return {k: g.ravel() for k, g in zip(grid, mesh, strict=True)}


def _empty() -> Candidates:
    z = np.zeros(0, dtype=np.int64)
    return Candidates(z, z, z, z, z, z, z, z, z, z.astype(bool), z.astype(bool), z, z)


def family_groups(*cols: IntArr | BoolArr) -> tuple[IntArr, IntArr]:
    """Group rows by non-negative integer columns: (first row of each group, inverse), the
    groups in the lexicographic order of the columns.

    The columns are packed into one int64 key, each in the bits its largest value needs,
    and `np.unique` runs on the key: ~20x faster than `np.unique(axis=0)`, which sorts
    structured rows (the fallback when the key would need more than 63 bits).
    """
    if len(cols[0]) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    widths = [max(int(col.max()), 1).bit_length() for col in cols]
    if sum(widths) > 63:
        rows = np.stack([col.astype(np.int64) for col in cols], axis=1)
        _, first, inv = np.unique(rows, axis=0, return_index=True, return_inverse=True)
        return first, inv.ravel()
    key = np.zeros(len(cols[0]), dtype=np.int64)
    for col, width in zip(cols, widths, strict=True):
        key = (key << width) | col.astype(np.int64)
    _, first, inv = np.unique(key, return_index=True, return_inverse=True)
    return first, inv.ravel()
