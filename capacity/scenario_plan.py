"""The scenario handed to the parallelism planner: requests, measured re-anchoring, ranking.

`planned` runs the planner for a job size (re-anchored on measured step times when the
scenario has some); `plan_scenario` is the ranked table `capacity plan` shows; and
`batch_hint` says when a larger global batch would be markedly faster.
"""

from __future__ import annotations

import hashlib

from capacity.errors import CapacityError
from capacity.flops import flops_per_token
from capacity.measured import geometric_mean
from capacity.planner.framework import flash_default, with_framework_defaults
from capacity.planner.hardware import hardware_for
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


# Plans by request, less the system's identity: `compare` sizes one workload on many
# systems, and offerings with the same accelerator and the same per-GPU rates plan alike.
_PLANS: dict[str, Plan] = {}
_PLANS_MAX = 2048
plan_stats = {"made": 0, "reused": 0}  # counts for tests (planner runs, plans shared)


def _hardware_key(req: PlanRequest) -> str:
    """What the planner reads of a system: its accelerator and the rates `hardware_for`
    derives from the node and the network (Gb/s per node or the fallback per GPU)."""
    hw = hardware_for(req.system, req.precision)
    return f"{req.system.accelerator.model_dump_json()}|{hw.model_dump_json(exclude={'notes'})}"


def cached_plan(req: PlanRequest) -> Plan:
    """`plan(req)`, computed once per distinct request (the planner is pure).

    A plan made for another system with the same hardware is reused with this request and
    this system's hardware notes (they name the system, or are absent where it publishes
    the figure the other one lacked).
    """
    key = hashlib.sha256(
        (req.model_dump_json(exclude={"system"}) + _hardware_key(req)).encode()
    ).hexdigest()
    hit = _PLANS.get(key)
    if hit is None:
        if len(_PLANS) >= _PLANS_MAX:
            _PLANS.clear()
        plan_stats["made"] += 1
        hit = _PLANS[key] = plan(req)
        return hit
    plan_stats["reused"] += 1
    if hit.request.system is req.system:
        return hit
    hw = hardware_for(req.system, req.precision)
    notes = (*hw.notes, *hit.notes[len(hit.hardware.notes) :])
    return hit.model_copy(update={"request": req, "hardware": hw, "notes": notes})


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
        tp_overlap="backward" if scn.framework is None else scn.framework.tp_overlap,
        dp_overlap=True if scn.framework is None else scn.framework.dp_overlap,
    )


def planned(
    scn: Scenario, n_gpus: int, seq_len: int, batch: float, top: int = 1
) -> tuple[Plan, float]:
    """The plan for `n_gpus`, re-anchored on measured step times when some are given.

    A measured step of this job (`measured_step_time_s`) is of the layout the planner
    chose: the re-anchored plan keeps that layout rather than re-planning to another.
    """
    req = plan_request(scn, n_gpus, seq_len, batch, 1.0, top)
    pl = cached_plan(req)
    scales = []
    kept = None
    if scn.measured_step_time_s is not None:
        ref = pl.best or pl.least_memory
        if ref is None:
            raise CapacityError("no layout to anchor the measurement on", field="layout")
        check_implied_mfu(
            scn,
            seq_len,
            ref.global_batch_tokens,
            n_gpus,
            scn.measured_step_time_s,
            "measured-step-time",
        )
        scales.append(anchor_scale(req, ref.layout, scn.measured_step_time_s))
        kept = ref.layout
    for m in scn.measured_steps:
        m_seq, m_batch = m.seq_len or seq_len, m.global_batch_tokens or batch
        check_implied_mfu(scn, m_seq, m_batch, m.layout.gpus, m.step_time_s, "measured-steps")
        at = plan_request(scn, m.layout.gpus, m_seq, m_batch, 1.0)
        scales.append(anchor_scale(at, m.layout, m.step_time_s))
    if not scales:
        return pl, 1.0
    scale = geometric_mean(scales)
    again = plan_request(scn, n_gpus, seq_len, batch, scale, top)
    if kept is not None:
        again = again.model_copy(update={"space": SearchSpace.fixed(kept)})
    return cached_plan(again), scale


def check_implied_mfu(
    scn: Scenario, seq_len: int, batch_tokens: float, n_gpus: int, step_s: float, field: str
) -> None:
    """A measured step faster than the hardware peak allows is a wrong measurement."""
    peak = scn.system.accelerator.peak_tflops(scn.precision)
    if peak is None:
        return
    flops = flops_per_token(scn.model, seq_len).model * batch_tokens
    mfu = flops / (step_s * n_gpus * peak * 1e12)
    if mfu > 1:
        raise CapacityError(
            f"a step of {step_s:g} s for {batch_tokens / 1e6:.2f}M tokens on {n_gpus:,} GPUs "
            f"implies MFU {mfu:.0%}, above the {peak:g} TFLOP/s peak: no step can be shorter "
            f"than {step_s * mfu:.3g} s (check the time, the GPU count and the batch)",
            field=field,
        )


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
    alt = cached_plan(plan_request(scn, n_gpus, seq_len, alt_batch, scale)).best
    if alt is None or alt.tokens_per_s < HINT_MIN_SPEEDUP * choice.tokens_per_s:
        return None
    return (
        f"{BATCH_HINT}: with {choice.global_batch_tokens / 1e6:.1f}M tokens the pipeline idles "
        f"{bubble:.0%} of the step; --global-batch auto ({alt_batch / 1e6:.0f}M tokens, "
        "DeepSeek rule) runs "
        f"x{alt.tokens_per_s / choice.tokens_per_s:.1f} faster with {alt.layout.describe()}"
    )
