"""Scaling laws: compute-optimal model size and data for a budget, and predicted loss.

Pure, I/O-free functions. Units: N in parameters, D in tokens, C in FLOPs (C = 6ND for
training), loss in nats/token. The default law is "epoch" (Besiroglu et al. 2024,
arXiv:2404.10102), which refits Chinchilla's Approach 3 (Hoffmann et al. 2022,
arXiv:2203.15556) and agrees with its Approaches 1/2 (~20 tokens/param).
"""

from capacity.scaling.data_constrained import (
    MUENNIGHOFF_2023,
    R_D_STAR,
    R_N_STAR,
    DataConstrainedOptimum,
    compute_optimal_data_constrained,
    effective_params,
    effective_tokens,
    epochs,
    loss_data_constrained,
    repetition_penalty,
)
from capacity.scaling.hyperparams import (
    HyperparameterEstimate,
    deepseek_allocation,
    deepseek_batch_tokens,
    deepseek_hyperparams,
    deepseek_learning_rate,
)
from capacity.scaling.inference_aware import (
    InferenceAwarePlan,
    inference_aware_for_budget,
    inference_aware_optimal,
    inference_aware_within_budget,
)
from capacity.scaling.kaplan import KAPLAN, PF_DAY_FLOPS, KaplanLaw, kaplan_allocation
from capacity.scaling.optimal import (
    DEFAULT_LAW,
    LAWS,
    OptimalAllocation,
    alternatives,
    budget_for_loss,
    get_law,
    optimal_for_flops,
    resolve_law,
)
from capacity.scaling.parametric import (
    CHINCHILLA,
    CHINCHILLA_TABLE3,
    EPOCH,
    ParametricLaw,
    ScalingLaw,
    chinchilla_approach1_allocation,
)

__all__ = [
    "CHINCHILLA",
    "CHINCHILLA_TABLE3",
    "DEFAULT_LAW",
    "EPOCH",
    "KAPLAN",
    "LAWS",
    "MUENNIGHOFF_2023",
    "PF_DAY_FLOPS",
    "R_D_STAR",
    "R_N_STAR",
    "DataConstrainedOptimum",
    "HyperparameterEstimate",
    "InferenceAwarePlan",
    "KaplanLaw",
    "OptimalAllocation",
    "ParametricLaw",
    "ScalingLaw",
    "alternatives",
    "budget_for_loss",
    "chinchilla_approach1_allocation",
    "compute_optimal_data_constrained",
    "deepseek_allocation",
    "deepseek_batch_tokens",
    "deepseek_hyperparams",
    "deepseek_learning_rate",
    "effective_params",
    "effective_tokens",
    "epochs",
    "get_law",
    "inference_aware_for_budget",
    "inference_aware_optimal",
    "inference_aware_within_budget",
    "kaplan_allocation",
    "loss_data_constrained",
    "optimal_for_flops",
    "repetition_penalty",
    "resolve_law",
]
