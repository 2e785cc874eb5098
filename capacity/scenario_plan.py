"""The scenario handed to the parallelism planner: requests, measured re-anchoring, ranking.

`planned` runs the planner for a job size (re-anchored on measured step times when the
scenario has some); `plan_scenario` is the ranked table `capacity plan` shows; and
`batch_hint` says when a larger global batch would be markedly faster.
"""

from __future__ import annotations

from capacity.errors import CapacityError
from capacity.flops import flops_per_token
from capacity.measured import geometric_mean
from capacity.planner.framework import flash_default, with_framework_defaults
from capacity.planner.search import Plan, PlanChoice, PlanRequest, anchor_scale, plan
from capacity.planner.space import SearchSpace
from capacity.scaling.hyperparams import deepseek_batch_tokens
from capacity.scenario import (
    PRACTICAL_GAP,
    Scenario,
    global_batch,
    practical_factor,
    practical_note,
)

BATCH_HINT = "a larger global batch would be faster"
# Hint only when it matters: the pipeline idles for a fifth of the step and the
# rule's batch runs at least 15 % faster (smaller gains are within the model's error).
HINT_BUBBLE_SHARE, HINT_MIN_SPEEDUP = 0.2, 1.15


def plan_request(
    scn: Scenario, n_gpus: int, seq_len: int, batch: float, scale: float, top: int = 1
) -> PlanRequest:
    assert scn.calibration is not None
    space = with_framework_defaults(scn.space or SearchSpace(), scn.framework)
    if scn.framework is not None and "flash_attention" not in space.model_fields_set:
        space = space.model_copy(update={"flash_attention": (flash_default(scn.framework),)})
    if scn.layout is not None:
        space = SearchSpace.fixed(scn.layout)
    return PlanRequest(
        model=scn.model,
        system=scn.system,
        n_gpus=n_gpus,
        seq_len=seq_len,
        global_batch_tokens=batch,
        calibration=scn.calibration,
        precision=scn.precision,
        space=space,
        top=top,
        gemm_scale=scale,
        framework_family=None if scn.framework is None else scn.framework.fit_family,
    )


def planned(
    scn: Scenario, n_gpus: int, seq_len: int, batch: float, top: int = 1
) -> tuple[Plan, float]:
    """The plan for `n_gpus`, re-anchored on measured step times when some are given."""
    req = plan_request(scn, n_gpus, seq_len, batch, 1.0, top)
    pl = plan(req)
    scales = []
    if scn.measured_step_time_s is not None:
        ref = pl.best or pl.least_memory
        if ref is None:
            raise CapacityError("no layout to anchor the measurement on", field="layout")
        scales.append(anchor_scale(req, ref.layout, scn.measured_step_time_s))
    for m in scn.measured_steps:
        at = plan_request(
            scn, m.layout.gpus, m.seq_len or seq_len, m.global_batch_tokens or batch, 1.0
        )
        scales.append(anchor_scale(at, m.layout, m.step_time_s))
    if not scales:
        return pl, 1.0
    scale = geometric_mean(scales)
    return plan(plan_request(scn, n_gpus, seq_len, batch, scale, top)), scale


def plan_scenario(scn: Scenario, n_gpus: int, top: int = 10) -> Plan:
    """The planner's ranked layouts for the scenario on `n_gpus` (needs a calibration).

    Like the estimate, the layouts are shown at the practical efficiency when the planner
    chooses them (see `practical_factor`).
    """
    if scn.calibration is None:
        raise CapacityError(
            "the catalog has no efficiency calibration (catalogs/efficiency/calibration.toml)",
            field="catalog",
        )
    seq_len = scn.seq_len or scn.model.seq_len
    batch, _ = global_batch(scn, flops_per_token(scn.model, seq_len))
    pl = planned(scn, n_gpus, seq_len, batch, top)[0]
    factor = practical_factor(scn)
    if factor >= 1:
        return pl
    return pl.model_copy(
        update={
            "choices": tuple(c.at_practical(factor, PRACTICAL_GAP) for c in pl.choices),
            "notes": (*pl.notes, practical_note(factor)),
        }
    )


def batch_hint(
    scn: Scenario, n_gpus: int, seq_len: int, batch: float, scale: float, choice: PlanChoice
) -> str | None:
    """A note when the global batch starves the pipeline and the DeepSeek rule's would not."""
    if scn.global_batch_auto or scn.layout is not None or scn.calibration is None:
        return None
    bubble = choice.breakdown_s.get("pipeline_bubble", 0.0) / choice.step_time_s
    if bubble < HINT_BUBBLE_SHARE:
        return None
    alt_batch = float(deepseek_batch_tokens(flops_per_token(scn.model, seq_len).model * scn.tokens))
    if alt_batch <= batch:
        return None
    alt = plan(plan_request(scn, n_gpus, seq_len, alt_batch, scale)).best
    if alt is None or alt.tokens_per_s < HINT_MIN_SPEEDUP * choice.tokens_per_s:
        return None
    return (
        f"{BATCH_HINT}: with {choice.global_batch_tokens / 1e6:.1f}M tokens the pipeline idles "
        f"{bubble:.0%} of the step; --global-batch auto ({alt_batch / 1e6:.0f}M tokens, "
        "DeepSeek rule) runs "
        f"x{alt.tokens_per_s / choice.tokens_per_s:.1f} faster with {alt.layout.describe()}"
    )
