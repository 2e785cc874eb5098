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
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from capacity.catalog.schemas import (
    REFERENCE_FRAMEWORK,
    EfficiencyCalibration,
    FrameworkEfficiency,
    ResidualBand,
    Source,
)
from capacity.planner.hardware import TimeParams, time_params
from capacity.planner.step_time import step_times
from capacity.planner.work import Work
from capacity.validation.predict import (
    Prepared,
    hours_reference_tokens_per_s,
    reported_tokens_per_s,
)

Arr = npt.NDArray[np.float64]

# name: (lower, upper) bounds of the physically meaningful range
SHARED_BOUNDS: dict[str, tuple[float, float]] = {
    "gemm_memory_exposure": (0.0, 1.0),
    "flash_attention_fraction": (0.2, 1.0),
    "dp_overlap_fraction": (0.0, 1.0),
}
GEMM_BOUNDS = (0.3, 1.0)
# a framework's share of the reference (Megatron-LM) GEMM efficiency: from half to 1.5x
# (research sheet software_stacks_2026-12.md: stacks on the same GPUs differ by 0.5-1.8x)
FRAMEWORK_BOUNDS = (0.5, 1.5)
UNFITTED_FRAMEWORKS = (REFERENCE_FRAMEWORK, "unknown")
# Where the search starts (mid-range values, not a prior): a fixed start makes the fit
# reproducible whatever the catalog currently holds.
FIT_START = {
    "gemm": 0.7,
    "gemm_memory_exposure": 0.3,
    "flash_attention_fraction": 0.6,
    "dp_overlap_fraction": 0.5,
}
RESTARTS = 4
FIT_COMMAND = "capacity validate --fit"


def _uses_throughput(p: Prepared) -> bool:
    return p.run.has_throughput and p.run.throughput_duplicate_of is None


def _uses_hours(p: Prepared) -> bool:
    return hours_reference_tokens_per_s(p) is not None


def fit_rows(prepared: Sequence[Prepared]) -> list[Prepared]:
    """Rows the fit may use: a published layout and GPU count, not low confidence, a
    figure to match.

    Runs without a published layout are predicted with the planner's optimum, which no
    real run is held to; runs without a published GPU count are timed on an assumed one
    (e.g. DeepSeek-V2's PP16 EP8 on 1,024 GPUs). Both are validation only, so they
    cannot bend the physics.
    """
    return [
        p
        for p in prepared
        if p.run.gave_layout
        and p.run.gave_gpu_count
        and p.run.confidence != "low"
        and (_uses_throughput(p) or _uses_hours(p))
    ]


@dataclasses.dataclass(frozen=True)
class Problem:
    """All fit rows' candidates concatenated, with what the objective needs."""

    work: Work
    starts: npt.NDArray[np.int64]  # first candidate of each row
    family: npt.NDArray[np.int64]  # gemm family index per candidate
    families: tuple[str, ...]
    fw: npt.NDArray[np.int64]  # framework family index per candidate
    fw_families: tuple[str, ...]
    n_gpus: Arr  # per row
    reference: Arr  # reported tokens/s per GPU per row (per candidate's recompute)
    ids: tuple[str, ...]


PRUNE_DRAWS = 24  # random parameter sets used to keep each row's plausible winners
PRUNE_KEEP = 16  # best candidates kept per draw


def prune(rows: Sequence[Prepared], cal: EfficiencyCalibration) -> list[Prepared]:
    """Keep, per row, the candidates that win under some parameter set within the bounds.

    The planner's choice moves with the parameters, but only among a few layouts;
    keeping the best PRUNE_KEEP under PRUNE_DRAWS random draws (and the current
    calibration) makes each objective evaluation cheap without changing the optimum.
    """
    rng = np.random.default_rng(0)
    out = []
    for p in rows:
        base = time_params(cal, p.request.system.accelerator.id)[0]
        draws = [base]
        for _ in range(PRUNE_DRAWS):
            draws.append(
                dataclasses.replace(
                    base,
                    gemm_efficiency=rng.uniform(*GEMM_BOUNDS),
                    **{k: rng.uniform(*b) for k, b in SHARED_BOUNDS.items()},
                )
            )
        keep: set[int] = set()
        for params in draws:
            tps = step_times(p.work, params).tokens_per_s
            keep.update(np.argsort(-tps)[:PRUNE_KEEP].tolist())
        idx = np.array(sorted(keep))
        out.append(dataclasses.replace(p, candidates=p.candidates.take(idx), work=p.work.take(idx)))
    return out


def build_problem(rows: Sequence[Prepared], overhead: float = 1.0) -> Problem:
    """One term per reported figure: a run with a throughput and hours gives two terms."""
    families = tuple(sorted({p.family for p in rows}))
    fw_families = tuple(sorted({p.framework for p in rows}))
    works, fam, fws, refs, starts, ids = [], [], [], [], [], []
    start = 0
    for p in rows:
        n = len(p.candidates)
        terms = []
        if _uses_throughput(p):
            # tokens/s per GPU per candidate (a hardware-FLOP basis depends on its recompute)
            terms.append(
                np.array([_reported(p, int(rc)) for rc in p.candidates.recompute], dtype=float)
            )
        hours_ref = hours_reference_tokens_per_s(p, overhead)
        if hours_ref is not None:
            terms.append(np.full(n, hours_ref))
        for ref in terms:
            starts.append(start)
            start += n
            works.append(p.work)
            fam.append(np.full(n, families.index(p.family)))
            fws.append(np.full(n, fw_families.index(p.framework)))
            refs.append(ref)
            ids.append(p.run.id)
    return Problem(
        work=Work.concat(works),
        starts=np.array(starts),
        family=np.concatenate(fam),
        families=families,
        fw=np.concatenate(fws),
        fw_families=fw_families,
        n_gpus=np.array([1.0]),
        reference=np.concatenate(refs),
        ids=tuple(ids),
    )


def _reported(p: Prepared, recompute: int) -> float:
    ref = reported_tokens_per_s(p, recompute)
    assert ref is not None
    return ref[0]


def framework_shares(theta: dict[str, float], families: Sequence[str]) -> list[float]:
    """GEMM share per framework family: fitted, 1 for the reference, else the geometric
    mean of the fitted ones (as `EfficiencyCalibration.framework_share`)."""
    fitted = {k[3:]: v for k, v in theta.items() if k.startswith("fw:")}
    mean = float(np.exp(np.mean([0.0] + [np.log(v) for v in fitted.values()])))
    return [fitted.get(f, 1.0 if f == REFERENCE_FRAMEWORK else mean) for f in families]


def _params(theta: dict[str, float], prob: Problem, base: TimeParams) -> TimeParams:
    gemm = np.array([theta[f"gemm:{f}"] for f in prob.families])[prob.family]
    share = np.array(framework_shares(theta, prob.fw_families))[prob.fw]
    return dataclasses.replace(
        base,
        gemm_efficiency=gemm,
        framework_gemm_share=share,
        **{k: theta[k] for k in SHARED_BOUNDS},
    )


def log_ratios(theta: dict[str, float], prob: Problem, base: TimeParams) -> Arr:
    """log(predicted / reported) per row, with the planner's best candidate per row."""
    t = step_times(prob.work, _params(theta, prob, base))
    tps = t.tokens_per_s / prob.work.n_gpus
    best = np.maximum.reduceat(tps, prob.starts)
    # reference of the chosen candidate (its recompute fixes the hardware-FLOP basis)
    is_best = tps == np.repeat(best, np.diff(np.append(prob.starts, len(tps))))
    idx = np.flatnonzero(is_best)
    first = np.searchsorted(idx, prob.starts)
    ref = prob.reference[idx[first]]
    return np.asarray(np.log(best / ref))


def _to_unit(x: float, lo: float, hi: float) -> float:
    u = min(max((x - lo) / (hi - lo), 1e-6), 1 - 1e-6)
    return float(np.log(u / (1 - u)))


def _from_unit(z: float, lo: float, hi: float) -> float:
    return lo + (hi - lo) / (1 + float(np.exp(-np.clip(z, -50, 50))))


def nelder_mead(
    f: Callable[[Arr], float], x0: Arr, *, step: float = 0.5, iters: int = 600, tol: float = 1e-9
) -> Arr:
    """Minimise f from x0 (standard Nelder-Mead: reflect, expand, contract, shrink)."""
    n = len(x0)
    simplex = np.vstack([x0] + [x0 + step * np.eye(n)[i] for i in range(n)])
    values = np.array([f(x) for x in simplex])
    for _ in range(iters):
        order = np.argsort(values)
        simplex, values = simplex[order], values[order]
        if abs(values[-1] - values[0]) < tol:
            break
        centroid = simplex[:-1].mean(axis=0)
        xr = centroid + (centroid - simplex[-1])
        fr = f(xr)
        if fr < values[0]:
            xe = centroid + 2 * (centroid - simplex[-1])
            fe = f(xe)
            simplex[-1], values[-1] = (xe, fe) if fe < fr else (xr, fr)
        elif fr < values[-2]:
            simplex[-1], values[-1] = xr, fr
        else:
            xc = centroid + 0.5 * (simplex[-1] - centroid)
            fc = f(xc)
            if fc < values[-1]:
                simplex[-1], values[-1] = xc, fc
            else:
                simplex[1:] = simplex[0] + 0.5 * (simplex[1:] - simplex[0])
                values[1:] = [f(x) for x in simplex[1:]]
    return np.asarray(simplex[int(np.argmin(values))])


def fit_theta(
    rows: Sequence[Prepared],
    cal: EfficiencyCalibration,
    start: dict[str, float] | None = None,
    overhead: float = 1.0,
) -> dict[str, float]:
    """Least-squares log-throughput fit; returns parameter name -> value. Reported
    whole-run hours are compared with the predicted hours times `overhead` (the
    end-to-end overhead, derived from data before the fit)."""
    prob = build_problem(prune(rows, cal), overhead)
    base = time_params(cal, rows[0].request.system.accelerator.id)[0]
    bounds = {
        **{f"gemm:{f}": GEMM_BOUNDS for f in prob.families},
        **{f"fw:{f}": FRAMEWORK_BOUNDS for f in prob.fw_families if f not in UNFITTED_FRAMEWORKS},
        **SHARED_BOUNDS,
    }
    defaults = {
        k: FIT_START["gemm" if k.startswith("gemm:") else k]
        for k in bounds
        if ":" not in k or k.startswith("gemm:")
    }
    defaults.update({k: 1.0 for k in bounds if k.startswith("fw:")})
    start = {**defaults, **{k: v for k, v in (start or {}).items() if k in bounds}}
    names = list(bounds)
    x0 = np.array([_to_unit(start[k], *bounds[k]) for k in names])

    def unpack(z: Arr) -> dict[str, float]:
        return {k: _from_unit(float(v), *bounds[k]) for k, v in zip(names, z, strict=True)}

    def objective(z: Arr) -> float:
        r = log_ratios(unpack(z), prob, base)
        return float(np.sum(r**2))

    z = nelder_mead(objective, x0)
    best = objective(z)
    for _ in range(RESTARTS):  # restarts: Nelder-Mead can stall on flat directions
        z_new = nelder_mead(objective, z, step=0.3)
        value = objective(z_new)
        if value >= best - 1e-9:
            break
        z, best = z_new, value
    return unpack(z)


def theta_of(cal: EfficiencyCalibration, families: Sequence[str]) -> dict[str, float]:
    gemm = {g.id: g.gemm_efficiency for g in cal.gemm}
    default = gemm["default"]
    return {
        **{f"gemm:{f}": gemm.get(f, default) for f in families},
        **{f"fw:{f.id}": f.gemm_share for f in cal.frameworks if f.calibrated},
        "gemm_memory_exposure": cal.gemm_memory_exposure,
        "flash_attention_fraction": cal.flash_attention_fraction,
        "dp_overlap_fraction": cal.dp_overlap_fraction,
    }


def _fit_source(fit_ids: Sequence[str], today: dt.date, fields: tuple[str, ...]) -> Source:
    return Source(
        title=f"fitted by `{FIT_COMMAND}` (capacity.validation.fit)",
        locator=(
            "least squares on log(predicted / reported throughput or accelerator-hours) over "
            f"{len(fit_ids)} published runs of catalogs/runs/published_runs.csv: "
            + ", ".join(fit_ids)
        ),
        as_of=today,
        fields=fields,
    )


SHARED_TOP = ("gemm_memory_exposure", "flash_attention_fraction", "dp_overlap_fraction")


def apply_theta(
    cal: EfficiencyCalibration,
    theta: dict[str, float],
    *,
    fit_ids: Sequence[str],
    today: dt.date,
    residuals: Sequence[ResidualBand] = (),
    practical: tuple[float, Sequence[str]] | None = None,
    framework_counts: dict[str, int] | None = None,
    default_from: Sequence[str] | None = None,
    family_anchors: dict[str, tuple[list[str], int]] | None = None,
    overhead: tuple[float, float, float, Sequence[str]] | None = None,
) -> EfficiencyCalibration:
    """`cal` with the fitted values, each covered by a source naming the fit and its rows.

    `practical` = (planner_practical_efficiency, the runs it is the median over); None
    resets it to 1 (not derived yet).
    """
    fitted = {k[5:]: round(v, 4) for k, v in theta.items() if k.startswith("gemm:")}
    gemm = []
    for g in cal.gemm:
        if g.id in fitted:
            value, calibrated, note = fitted[g.id], True, g.note
            anchor_ids, n_src = (family_anchors or {}).get(g.id, ([], 0))
            g = g.model_copy(update={"anchors": tuple(anchor_ids), "anchor_sources": n_src})
        elif g.id == "default" and fitted:
            # families fitted on one source only (GH200: one JUPITER sweep) are too
            # uncertain to set what every uncalibrated accelerator gets
            broad = {k: v for k, v in fitted.items() if k in (default_from or fitted)} or fitted
            value = round(float(np.mean(list(broad.values()))), 4)
            calibrated, note = False, "the mean of the fitted families: " + ", ".join(broad)
        else:
            gemm.append(g)
            continue
        src = _fit_source(fit_ids, today, ("gemm_efficiency", "anchor_sources"))
        gemm.append(
            g.model_copy(
                update={
                    "gemm_efficiency": value,
                    "calibrated": calibrated,
                    "note": note,
                    "sources": (src,),
                }
            )
        )
    fabrics = list(cal.fabrics)  # sourced (Calculon), not fitted
    derived = {*SHARED_TOP, "planner_practical_efficiency", "end_to_end_overhead", "*"}
    kept_top = tuple(s for s in cal.sources if not set(s.fields) & derived)
    top: tuple[Source, ...] = (_fit_source(fit_ids, today, SHARED_TOP),)
    value = 1.0
    if practical is not None:
        value, ids = practical
        top += (
            Source(
                title=f"derived by `{FIT_COMMAND}` (capacity.validation.practical_efficiency)",
                locator=(
                    "median of reported / predicted throughput (or predicted / reported "
                    f"accelerator-hours) over {len(ids)} published runs without a published "
                    "layout, predicted at the planner's optimum: " + ", ".join(ids)
                ),
                as_of=today,
                fields=("planner_practical_efficiency",),
            ),
        )
    doc = {
        **cal.model_dump(),
        "gemm": [g.model_dump() for g in gemm],
        "fabrics": [f.model_dump() for f in fabrics],
        **{k: round(theta[k], 4) for k in SHARED_TOP},
        "sources": [s.model_dump() for s in (*kept_top, *top)],
        "residuals": [r.model_dump() for r in residuals],
        "frameworks": [
            f.model_dump()
            for f in framework_entries(
                theta,
                _fit_source(fit_ids, today, ("gemm_share", "n_rows")),
                framework_counts or {},
            )
        ],
        "name": "Step-time model efficiencies fitted on published training runs",
        "fit_command": FIT_COMMAND,
        "fit_rows": tuple(fit_ids),
    }
    doc.pop("planner_practical_efficiency", None)  # unset (1.0) unless derived just now
    for key in ("end_to_end_overhead", "end_to_end_overhead_p10", "end_to_end_overhead_p90"):
        doc.pop(key, None)
    if overhead is not None:
        k, lo, hi, ids = overhead
        doc.update(
            end_to_end_overhead=round(k, 4),
            end_to_end_overhead_p10=round(lo, 4),
            end_to_end_overhead_p90=round(hi, 4),
        )
        doc["sources"] = [
            *doc["sources"],
            Source(
                title=f"derived by `{FIT_COMMAND}` (capacity.validation.end_to_end_overhead)",
                locator=(
                    "median (P10, P90) over runs that publish both a steady-state rate and "
                    "whole-run accelerator-hours of reported hours (downtime removed where "
                    "the row says they include it) / tokens at the reported rate: " + ", ".join(ids)
                ),
                as_of=today,
                fields=(
                    "end_to_end_overhead",
                    "end_to_end_overhead_p10",
                    "end_to_end_overhead_p90",
                ),
            ).model_dump(),
        ]
    if practical is not None:
        doc["planner_practical_efficiency"] = value
    return EfficiencyCalibration.model_validate(doc)


def residual_band(
    band_id: str, log_ratio: Sequence[float], today: dt.date, what: str
) -> ResidualBand:
    """P10/P90 of reported / predicted for a time-like quantity, from signed log residuals."""
    values = np.exp(np.asarray(log_ratio, dtype=float))
    p10, p90 = (float(np.quantile(values, q)) for q in (0.1, 0.9))
    return ResidualBand(
        id=band_id,
        ratio_p10=round(p10, 4),
        ratio_p90=round(p90, 4),
        n_rows=len(values),
        sources=(
            Source(
                title=f"`{FIT_COMMAND}`: {what}",
                locator="catalogs/runs/published_runs.csv, out-of-fit residuals",
                as_of=today,
            ),
        ),
    )


def residual_band_from_limits(
    band_id: str, log_limits: tuple[float, float], n: int, today: dt.date, what: str
) -> ResidualBand:
    """A band of reported / predicted time from its log P10/P90 limits."""
    return ResidualBand(
        id=band_id,
        ratio_p10=round(float(np.exp(log_limits[0])), 4),
        ratio_p90=round(float(np.exp(log_limits[1])), 4),
        n_rows=n,
        sources=(
            Source(
                title=f"`{FIT_COMMAND}`: {what}",
                locator="catalogs/runs/published_runs.csv, out-of-fit residuals",
                as_of=today,
            ),
        ),
    )


def heldout(
    rows: Sequence[Prepared],
    cal: EfficiencyCalibration,
    theta: dict[str, float],
    group: Callable[[Prepared], str],
    overhead: Callable[[str], float] = lambda g: 1.0,
) -> dict[str, dict[str, float]]:
    """Leave-one-group-out: for each group, the parameters fitted without it (and with
    the end-to-end overhead derived without it)."""
    out = {}
    fit = fit_rows(rows)
    for g in sorted({group(p) for p in fit}):
        rest = [p for p in fit if group(p) != g]
        if not rest:
            continue
        start = theta_with_families(theta, rest)
        out[g] = fit_theta(rest, cal, start=start, overhead=overhead(g))
    return out


def theta_with_families(theta: dict[str, float], rows: Sequence[Prepared]) -> dict[str, float]:
    fams = {p.family for p in rows}
    fws = {p.framework for p in rows}
    return {
        k: v
        for k, v in theta.items()
        if not (k.startswith("gemm:") and k[5:] not in fams)
        and not (k.startswith("fw:") and k[3:] not in fws)
    }


def framework_entries(
    theta: dict[str, float], source: Source | None, counts: dict[str, int]
) -> tuple[FrameworkEfficiency, ...]:
    """The calibration's [[frameworks]]: the reference at 1 and each fitted family."""
    if source is None:  # a held-out refit, not written to the catalog
        source = Source(
            title="held-out refit (capacity.validation.fit.heldout)",
            locator="not written to the catalog",
            as_of=dt.date(2026, 12, 1),
        )
    srcs = (source,)
    out = [
        FrameworkEfficiency(
            id=REFERENCE_FRAMEWORK,
            gemm_share=1.0,
            calibrated=True,
            n_rows=counts.get(REFERENCE_FRAMEWORK, 0),
            note="reference: the accelerators' GEMM efficiencies are fitted with it at 1",
            sources=(
                Source(
                    title="definition (capacity.validation.fit)",
                    locator="the reference framework's share is 1 by definition",
                    as_of=source.as_of,
                    fields=("gemm_share", "n_rows"),
                ),
            ),
        )
    ]
    for k, v in sorted(theta.items()):
        if k.startswith("fw:"):
            out.append(
                FrameworkEfficiency(
                    id=k[3:],
                    gemm_share=round(v, 4),
                    calibrated=True,
                    n_rows=counts.get(k[3:], 0),
                    sources=srcs,
                )
            )
    return tuple(out)


def calibration_for(cal: EfficiencyCalibration, theta: dict[str, float]) -> EfficiencyCalibration:
    """`cal` with `theta` applied, no provenance (for held-out predictions).

    A family missing from `theta` (all its rows held out) gets the default entry's
    value, the mean of the fitted families, as an uncalibrated accelerator would.
    """
    fitted = {k[5:]: v for k, v in theta.items() if k.startswith("gemm:")}
    default = float(np.mean(list(fitted.values())))
    gemm = tuple(
        g.model_copy(update={"gemm_efficiency": fitted.get(g.id, default)}) for g in cal.gemm
    )
    return cal.model_copy(
        update={
            "gemm": gemm,
            "frameworks": framework_entries(theta, None, {}),
            **{k: theta[k] for k in SHARED_TOP},
        }
    )
