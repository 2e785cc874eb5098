"""Named constants that are not pure arithmetic, each with its source.

Hardware, prices and efficiencies live in `catalogs/`; what stays here are
conventions of the formulas themselves (bytes per parameter of an optimizer,
FLOPs per multiply-accumulate...). `tests/test_constants.py` checks that each
one carries a source.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Constant:
    value: float
    unit: str
    source: str


# -- FLOPs ------------------------------------------------------------------
FLOP_PER_MAC = Constant(2, "FLOP/multiply-accumulate", "definition: one multiply + one add")
BACKWARD_TO_FORWARD = Constant(
    2,
    "ratio",
    "Narayanan et al. 2021 (arXiv:2104.04473) App. A: backward = 2x forward GEMM FLOPs",
)
TRAIN_FLOP_PER_PARAM_TOKEN = Constant(
    6, "FLOP/(param*token)", "Kaplan et al. 2020 (arXiv:2001.08361) Sec. 2.1, C = 6ND"
)

# -- Memory: mixed-precision Adam (ZeRO paper, Rajbhandari et al. 2020, arXiv:1910.02054, Sec. 3.1)
WEIGHT_BYTES_BF16 = Constant(
    2, "B/param", "Rajbhandari et al. 2020 (ZeRO) Sec. 3.1: fp16/bf16 params"
)
GRAD_BYTES_BF16 = Constant(2, "B/param", "Rajbhandari et al. 2020 (ZeRO) Sec. 3.1: fp16/bf16 grads")
GRAD_BYTES_FP32 = Constant(
    4,
    "B/param",
    "NVIDIA Megatron-LM megatron/training/theoretical_memory_usage.py: fp32 main grads",
)
ADAM_STATE_BYTES_FP32 = Constant(
    12,
    "B/param",
    "Rajbhandari et al. 2020 (ZeRO) Sec. 3.1: K=12, fp32 master + momentum + variance",
)
ADAM_STATE_BYTES_BF16 = Constant(
    4,
    "B/param",
    "bf16 momentum + variance without fp32 master copy (2+2 B), e.g. Rae et al. 2021 App. C.2",
)

# -- Activation memory (Korthikanti et al. 2022, arXiv:2205.05198, Sec. 4.1, Eq. 1-2)
ACT_BYTES = Constant(2, "B/element", "Korthikanti et al. 2022 Sec. 4.1: 16-bit activations")
DROPOUT_MASK_BYTES = Constant(1, "B/element", "Korthikanti et al. 2022 Sec. 4.1: 1-byte masks")
LOGITS_BYTES_FP32 = Constant(
    4,
    "B/element",
    "Megatron-LM computes the cross-entropy on fp32 logits (Korthikanti 2022 Sec. 4.1)",
)

# -- Memory headroom
MEMORY_HEADROOM_FRACTION = Constant(
    0.10,
    "fraction of device memory",
    "Korthikanti et al. 2022 / formulas.md Sec. 3.2: framework, NCCL buffers and fragmentation "
    "take 5-15 %; we keep 10 % free (planning assumption, not calibrated)",
)

# -- Energy
DEFAULT_PUE = Constant(
    1.2,
    "ratio",
    "Uptime Institute Global Data Center Survey 2023: HPC/modern facilities 1.1-1.3; used only "
    "when a system publishes no PUE",
)
GPU_AVERAGE_POWER_FRACTION_OF_TDP = Constant(
    1.0,
    "fraction of TDP",
    "Touvron et al. 2023 (Llama 2, arXiv:2307.09288) Table 2 and Luccioni et al. 2022 (BLOOM): "
    "published training-energy figures take GPU power = TDP",
)
CAUSAL_FLASH_FRACTION = Constant(
    0.5,
    "executed / counted attention FLOPs",
    "Dao 2023 (FlashAttention-2, arXiv:2307.08691) Sec. 3.1: with a causal mask the blocks "
    "above the diagonal are skipped, about half of the s x s work the MFU convention counts",
)

# -- Catalog freshness (project rule, issue #14: what a proposal may still cite)
PRICE_MAX_AGE_MONTHS = Constant(
    12,
    "months",
    "capacity project rule (issue #14): a price, exchange rate or grid intensity older than "
    "a year is stale; cloud prices and ECB rates move within a year",
)
HARDWARE_MAX_AGE_MONTHS = Constant(
    36,
    "months",
    "capacity project rule (issue #14): a hardware figure (node count, network, power) not "
    "checked for three years is stale; partitions are extended or retired on that scale",
)

# No training run is planned beyond a century (also the ceiling of --days): a plan that
# long comes from a wrong input (the tokens, the GPU count, --mfu), not from a schedule.
MAX_RUN_DAYS = 36_525
