"""Fit the step-time model's few physical efficiencies to published throughputs.

Fitted: the large-GEMM efficiency of each accelerator family with runs in the
set, the exposed share of GEMM memory traffic, FlashAttention's speed relative
to GEMMs, the bus efficiency of intra- and inter-node links, and the share of a
micro-batch's compute that hides data-parallel traffic. Not fitted (sourced
constants): link latencies and the HBM efficiency. No per-run or per-model
factor exists: every run of a family shares the same parameters.

Objective: sum over fit rows of log(predicted / reported throughput or
accelerator-hours)^2, where "predicted" is the planner's best layout under the
row's constraints (so the layout choice moves with the parameters). Rows
excluded from the fit: low confidence, duplicated figures, rows without a
published layout or GPU count (validation only, see `fit_rows`). Minimiser:
Nelder-Mead on logit-transformed bounded parameters (numpy only).
Cross-validation refits with each source group held out.

Modules: `fit_problem` (fit rows, bounds and the vectorised objective), `fit_search`
(the minimiser and held-out refits), `fit_write` (the calibration with provenance and
residual bands). This module re-exports their public names.
"""

from capacity.validation.fit_problem import (
    FRAMEWORK_BOUNDS,
    GEMM_BOUNDS,
    PRUNE_DRAWS,
    PRUNE_KEEP,
    SHARED_BOUNDS,
    UNFITTED_FRAMEWORKS,
    Arr,
    Problem,
    build_problem,
    fit_rows,
    framework_shares,
    log_ratios,
    prune,
)
from capacity.validation.fit_search import (
    FIT_START,
    RESTARTS,
    fit_theta,
    heldout,
    nelder_mead,
    theta_of,
    theta_with_families,
)
from capacity.validation.fit_write import (
    FIT_COMMAND,
    SHARED_TOP,
    apply_theta,
    calibration_for,
    framework_entries,
    residual_band,
    residual_band_from_limits,
)

__all__ = [
    "FIT_COMMAND",
    "FIT_START",
    "FRAMEWORK_BOUNDS",
    "GEMM_BOUNDS",
    "PRUNE_DRAWS",
    "PRUNE_KEEP",
    "RESTARTS",
    "SHARED_BOUNDS",
    "SHARED_TOP",
    "UNFITTED_FRAMEWORKS",
    "Arr",
    "Problem",
    "apply_theta",
    "build_problem",
    "calibration_for",
    "fit_rows",
    "fit_theta",
    "framework_entries",
    "framework_shares",
    "heldout",
    "log_ratios",
    "nelder_mead",
    "prune",
    "residual_band",
    "residual_band_from_limits",
    "theta_of",
    "theta_with_families",
]
