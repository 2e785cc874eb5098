"""Predict each published run with the planner and compare with what was reported.

For each run: its own layout where the CSV gives it (missing fields are chosen
by the planner), else the planner's choice; throughput is compared on the basis
the row reports (tokens/s per GPU, model or hardware TFLOP/s, MFU or HFU),
converted to tokens/s per GPU with the exact FLOPs per token of
`capacity.flops` so that errors are basis-free ratios. Accelerator-hours are
productive hours (tokens / throughput), divided by the goodput model's ETTR when
the row says its hours include downtime. The naive rule `6 N D at 40 % MFU` is
scored on the same rows.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from pydantic import BaseModel, ConfigDict

from capacity.catalog.loader import Catalog
from capacity.catalog.schemas import EfficiencyCalibration, Framework, ModelSpec
from capacity.constants import MEMORY_HEADROOM_FRACTION, Constant
from capacity.errors import CapacityError
from capacity.estimate import Scenario
from capacity.flops import flops_per_token
from capacity.goodput import GoodputInputs, goodput
from capacity.layout import RECOMPUTES, Layout
from capacity.memory import OPTIMIZER_BYTES
from capacity.planner.hardware import TimeParams, time_params
from capacity.planner.search import Evaluated, PlanRequest, evaluate_space, with_overlaps
from capacity.planner.space import Candidates
from capacity.planner.step_time import step_times
from capacity.planner.work import Work, work
from capacity.scaling.hyperparams import deepseek_batch_tokens
from capacity.throughput import default_precision
from capacity.units import HOURS_PER_DAY, SECONDS_PER_HOUR, TERA
from capacity.validation.runs import (
    MI250X_GCD,
    PublishedRun,
    run_framework,
    run_gpus,
    run_model,
    run_space,
    run_system,
)
from capacity.workload import param_counts

NAIVE_MFU = Constant(
    0.40,
    "fraction",
    "the rule of thumb 6 N D at 40 % MFU (Llama 3 arXiv:2407.21783 Sec. 3.3.2 reports "
    "38-43 %); the baseline the calibrated model must beat",
)


@dataclasses.dataclass(frozen=True)
class Prepared:
    """A run ready to be timed: its request and feasible candidates' work."""

    run: PublishedRun
    request: PlanRequest
    model: ModelSpec
    evaluated: Evaluated
    candidates: Candidates  # the feasible ones
    work: Work
    family: str  # gemm calibration entry its accelerator uses
    notes: tuple[str, ...]
    framework: str = "unknown"  # fit family of its framework (catalogs/frameworks)


class RowResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    confidence: str
    gave_layout: bool
    group: str
    framework: str = "unknown"  # fit family of the run's framework
    accelerator: str | None = None  # GEMM family of its accelerator
    skipped_reason: str | None = None
    layout: dict[str, object] | None = None
    layout_describe: str | None = None
    n_gpus: int | None = None
    predicted_model_tflops_per_gpu: float | None = None
    predicted_hardware_tflops_per_gpu: float | None = None
    predicted_mfu: float | None = None
    predicted_tokens_per_s_per_gpu: float | None = None
    predicted_accelerator_hours: float | None = None
    # P10-P90 from leave-one-source-out residuals of the other sources (None: no band)
    predicted_tokens_per_s_per_gpu_p10: float | None = None
    predicted_tokens_per_s_per_gpu_p90: float | None = None
    predicted_model_tflops_per_gpu_p10: float | None = None
    predicted_model_tflops_per_gpu_p90: float | None = None
    predicted_hardware_tflops_per_gpu_p10: float | None = None
    predicted_hardware_tflops_per_gpu_p90: float | None = None
    predicted_mfu_p10: float | None = None
    predicted_mfu_p90: float | None = None
    predicted_accelerator_hours_p10: float | None = None
    predicted_accelerator_hours_p90: float | None = None
    predicted_wall_clock_days: float | None = None
    reported_basis: str | None = None
    reported_tokens_per_s_per_gpu: float | None = None
    reported_accelerator_hours: float | None = None
    throughput_error: float | None = None
    hours_error: float | None = None
    naive_throughput_error: float | None = None
    naive_hours_error: float | None = None
    heldout_throughput_error: float | None = None
    heldout_hours_error: float | None = None
    counts_for_throughput: bool = True
    in_fit: bool = False
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        return self.model_dump()


def group_of(run: PublishedRun) -> str:
    """Rows from one source (or repeating one) form a cross-validation group."""
    return run.throughput_duplicate_of or (run.source or run.id).split(" Table")[0][:60]


# A published layout ran, so it fit in memory; our memory model may overestimate it:
# Korthikanti et al. 2022 (arXiv:2205.05198) Sec. 4 derive the activation formulas for the
# GPT block, and other blocks (SwiGLU, GQA, no dropout) and schedules (Llama 3's modified
# interleaving) differ by some 10-20 % (research notes, formulas.md Sec. 3.2). Where the
# row leaves settings out (e.g. recompute), candidates up to 20 % above the usual usable
# memory stay in, so that the fit is not forced into, say, full recompute for Llama 3.
MEMORY_MODEL_TOLERANCE = Constant(
    0.20,
    "fraction of usable memory",
    "Korthikanti et al. 2022 Sec. 4 (GPT-block formulas); 10-20 % for other blocks",
)
PUBLISHED_LAYOUT_HEADROOM = 1 - (1 - MEMORY_HEADROOM_FRACTION.value) * (
    1 + MEMORY_MODEL_TOLERANCE.value
)


def prepare(run: PublishedRun, catalog: Catalog, cal: EfficiencyCalibration) -> Prepared:
    """Build the run's request and its feasible candidates; CapacityError = skip reason."""
    if run.precision == "fp8":
        raise CapacityError(
            "fp8 training: GEMM efficiency is fitted on bf16/fp16 runs; the fp8 factor is not "
            "validated on training runs",
            field="precision",
        )
    model = run_model(run)
    system = run_system(run, catalog)
    n_gpus, note = run_gpus(run)
    notes = [note] if note else []
    if (
        system.accelerator.id == MI250X_GCD
        and catalog.accelerator(run.accelerator or "").id != MI250X_GCD
    ):
        notes.append("MI250X counted per GCD (8 per node), as papers count GPUs on LUMI/Frontier")
    fw = run_framework(run, catalog)
    space = run_space(run, n_gpus, system.gpus_per_node, fw)
    batch = run.global_batch_tokens
    if batch is None:
        tokens = (run.tokens_trained_b or 1000) * 1e9
        batch = float(deepseek_batch_tokens(flops_per_token(model).model * tokens))
        notes.append(f"no global batch published: {batch / 1e6:.1f}M tokens (DeepSeek rule)")
    acc = system.accelerator
    precision = run.precision or default_precision(acc)
    peak = acc.peak_tflops(precision)
    if run.reported_tflops_per_gpu is not None and peak and run.reported_tflops_per_gpu > peak:
        # per GPU as the row counts GPUs (an MI250X row per GCD is read against the GCD)
        raise CapacityError(
            f"reported_tflops_per_gpu: {run.reported_tflops_per_gpu:g} TFLOP/s per GPU is above "
            f"the {acc.name}'s dense {precision} peak of {peak:g}: check the figure, its "
            "accelerator or its precision",
            field="reported_tflops_per_gpu",
        )
    req = PlanRequest(
        model=model,
        system=system,
        n_gpus=n_gpus,
        seq_len=model.seq_len,
        global_batch_tokens=batch,
        calibration=cal,
        precision=precision,
        space=space,
        top=1,
        headroom_fraction=PUBLISHED_LAYOUT_HEADROOM
        if run.gave_layout
        else MEMORY_HEADROOM_FRACTION.value,
        framework_family=fw.fit_family,
        tp_overlap=fw.tp_overlap,
        dp_overlap=fw.dp_overlap,
    )
    ev = evaluate_space(req)
    if ev.fits.size == 0:
        why = "; ".join(r.reason for r in ev.rejections[-3:]) or "no valid layout"
        raise CapacityError(f"no layout of the run fits: {why}", field="layout")
    cands = ev.candidates.take(ev.fits)
    w = work(model, model.seq_len, cands, ev.hardware, n_gpus)
    return Prepared(
        run=run,
        request=req,
        model=model,
        evaluated=ev,
        candidates=cands,
        work=w,
        family=cal.gemm_for(acc.id).id,
        notes=tuple(notes),
        framework=fw.fit_family,
    )


def reported_tokens_per_s(p: Prepared, recompute: int) -> tuple[float, str] | None:
    """The row's throughput as tokens/s per GPU, and the basis it was reported on."""
    r = p.run
    fpt = flops_per_token(p.model, p.model.seq_len, RECOMPUTES[recompute])
    peak = p.evaluated.hardware.peak_flop_s
    if r.reported_tokens_per_s_per_gpu is not None:
        return r.reported_tokens_per_s_per_gpu, "tokens/s per GPU"
    if r.reported_tflops_per_gpu is not None:
        if r.reported_tflops_basis == "hardware":
            return r.reported_tflops_per_gpu * TERA / fpt.hardware, "hardware TFLOP/s"
        basis = "model TFLOP/s" + ("" if r.reported_tflops_basis else " (basis not stated)")
        return r.reported_tflops_per_gpu * TERA / fpt.model, basis
    if r.reported_mfu is not None:
        return r.reported_mfu * peak / fpt.model, "MFU"
    if r.reported_hfu is not None:
        return r.reported_hfu * peak / fpt.hardware, "HFU"
    return None


def best_index(p: Prepared, params: TimeParams) -> tuple[int, float]:
    """The planner's choice among the run's feasible candidates: (index, tokens/s per GPU)."""
    t = step_times(p.work, params)
    i = int(np.argmax(t.tokens_per_s))
    return i, float(t.tokens_per_s[i] / p.request.n_gpus)


def naive_tokens_per_s(p: Prepared) -> float:
    r = p.run
    n = (r.params_active_b or r.params_total_b or param_counts(p.model).active / 1e9) * 1e9
    return NAIVE_MFU.value * p.evaluated.hardware.peak_flop_s / (6 * n)


def productive_hours(p: Prepared, tokens_per_s_per_gpu: float) -> float | None:
    if p.run.tokens_trained_b is None:
        return None
    return p.run.tokens_trained_b * 1e9 / tokens_per_s_per_gpu / SECONDS_PER_HOUR


def downtime_ettr(p: Prepared) -> float:
    """The goodput model's ETTR when the row's hours include downtime, else 1."""
    if not p.run.hours_include_downtime:
        return 1.0
    state = param_counts(p.model).total * sum(OPTIMIZER_BYTES["adam-mixed"][::2])
    g = goodput(
        n_gpus=p.request.n_gpus,
        gpus_per_node=p.request.system.gpus_per_node,
        state_bytes=state,
        productive_h=1.0,
        inputs=GoodputInputs(),
    )
    return g.ettr


def end_to_end_hours(
    p: Prepared, tokens_per_s_per_gpu: float, overhead: float = 1.0
) -> float | None:
    """Accelerator-hours as the row counts them (with downtime when it says so), times
    the end-to-end overhead of a whole run (1: steady steps only)."""
    hours = productive_hours(p, tokens_per_s_per_gpu)
    return None if hours is None else hours / downtime_ettr(p) * overhead


def hours_reference_tokens_per_s(p: Prepared, overhead: float = 1.0) -> float | None:
    """The tokens/s per GPU at which the predicted hours would equal the reported ones."""
    rep = p.run.reported_hours
    if rep is None or p.run.tokens_trained_b is None:
        return None
    return p.run.tokens_trained_b * 1e9 * overhead / (rep * SECONDS_PER_HOUR * downtime_ettr(p))


def end_to_end_ratio(p: Prepared) -> float | None:
    """Reported whole-run hours over the hours its own steady-state rate implies (downtime
    removed where the row says its hours include it): evaluations, ramp-up, extra phases.
    Needs a reported rate, hours and tokens; pure data, no model."""
    r = p.run
    if r.confidence == "low" or not r.has_throughput or r.reported_hours is None:
        return None
    if r.tokens_trained_b is None:
        return None
    ref = reported_tokens_per_s(p, 0)
    if ref is None:
        return None
    steady_h = r.tokens_trained_b * 1e9 / ref[0] / SECONDS_PER_HOUR
    return r.reported_hours * downtime_ettr(p) / steady_h


def _err(pred: float | None, ref: float | None) -> float | None:
    return None if pred is None or ref is None else pred / ref - 1


def evaluate_row(
    p: Prepared, params: TimeParams, practical: float = 1.0, overhead: float = 1.0
) -> RowResult:
    """Predicted figures and signed errors (predicted / reported - 1) of one run.

    `practical` scales the planner's optimum for runs that publish no layout (the
    calibration's planner_practical_efficiency); a published layout is timed as is.
    """
    i, tps = best_index(p, params)
    if not p.run.gave_layout:
        tps *= practical
    c = p.candidates
    rc = int(c.recompute[i])
    fpt = flops_per_token(p.model, p.model.seq_len, RECOMPUTES[rc])
    n = p.request.n_gpus
    peak = p.evaluated.hardware.peak_flop_s
    ref = reported_tokens_per_s(p, rc)
    naive = naive_tokens_per_s(p)
    hours = end_to_end_hours(p, tps, overhead)
    rep_hours = p.run.reported_hours
    layout = c.layout(i)
    return RowResult(
        id=p.run.id,
        confidence=p.run.confidence,
        gave_layout=p.run.gave_layout,
        group=group_of(p.run),
        framework=p.framework,
        accelerator=p.family,
        layout=layout.model_dump(),
        layout_describe=layout.describe(),
        n_gpus=n,
        predicted_model_tflops_per_gpu=tps * fpt.model / TERA,
        predicted_hardware_tflops_per_gpu=tps * fpt.hardware / TERA,
        predicted_mfu=tps * fpt.model / peak,
        predicted_tokens_per_s_per_gpu=tps,
        predicted_accelerator_hours=hours,
        predicted_wall_clock_days=None if hours is None else hours / n / HOURS_PER_DAY,
        reported_basis=None if ref is None else ref[1],
        reported_tokens_per_s_per_gpu=None if ref is None else ref[0],
        reported_accelerator_hours=rep_hours,
        throughput_error=None if ref is None else tps / ref[0] - 1,
        hours_error=_err(hours, rep_hours),
        naive_throughput_error=None if ref is None else naive / ref[0] - 1,
        naive_hours_error=_err(end_to_end_hours(p, naive), rep_hours),
        counts_for_throughput=p.run.throughput_duplicate_of is None,
        notes=p.notes,
    )


def skipped_row(run: PublishedRun, reason: str) -> RowResult:
    return RowResult(
        id=run.id,
        confidence=run.confidence,
        gave_layout=run.gave_layout,
        group=group_of(run),
        skipped_reason=reason,
        counts_for_throughput=run.throughput_duplicate_of is None,
    )


def prepare_all(
    runs: tuple[PublishedRun, ...], catalog: Catalog, cal: EfficiencyCalibration
) -> tuple[list[Prepared], dict[str, str]]:
    """Prepared runs, and the reason for each run that cannot be predicted."""
    ready, skipped = [], {}
    for run in runs:
        if not run.has_throughput and run.reported_hours is None:
            skipped[run.id] = "reports neither a throughput nor hours"
            continue
        try:
            ready.append(prepare(run, catalog, cal))
        except CapacityError as exc:
            skipped[run.id] = str(exc)
    return ready, skipped


def params_of(p: Prepared, cal: EfficiencyCalibration) -> TimeParams:
    params = time_params(cal, p.request.system.accelerator.id, p.framework)[0]
    return with_overlaps(params, p.request.tp_overlap, p.request.dp_overlap)


def scenario_of(p: Prepared, layout: Layout | None, framework: Framework | None) -> Scenario:
    """The `capacity estimate` scenario of a validated run: the same model, system, GPUs,
    batch, precision, calibration and framework, so that `estimate()` times it with the same
    step-time function validation used. `layout` is the run's published layout; None lets
    the planner choose within the run's search space (the settings the run states, the
    framework's defaults for the rest), as validation does for runs without a layout."""
    return Scenario(
        model=p.model,
        tokens=(p.run.tokens_trained_b or 1.0) * 1e9,
        system=p.request.system,
        n_gpus=p.request.n_gpus,
        seq_len=p.model.seq_len,
        global_batch_tokens=p.request.global_batch_tokens,
        layout=layout,
        space=None
        if layout is not None
        else run_space(
            p.run,
            p.request.n_gpus,
            p.request.system.gpus_per_node,
            framework,
            framework_defaults=False,
        ),
        calibration=p.request.calibration,
        precision=p.request.precision,
        framework=framework,
    )
