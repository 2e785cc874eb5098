"""Writing a fit into an `EfficiencyCalibration`: fitted values with provenance,
the derived practical efficiency and end-to-end overhead, residual bands, and the
provenance-free calibration of a held-out refit.

Public names are re-exported by `capacity.validation.fit`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np

from capacity.catalog.schemas import (
    REFERENCE_FRAMEWORK,
    EfficiencyCalibration,
    FrameworkEfficiency,
    GemmEfficiency,
    ResidualBand,
    Source,
)

FIT_COMMAND = "capacity validate --fit"


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


def _gemm_entries(
    cal: EfficiencyCalibration,
    fitted: dict[str, float],
    src: Source,
    default_from: Sequence[str] | None,
    family_anchors: dict[str, tuple[list[str], int]] | None,
) -> list[GemmEfficiency]:
    """`cal`'s [[gemm]] entries: fitted families and the default (their mean) sourced
    by the fit, the others unchanged."""
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
    return gemm


def _practical_source(ids: Sequence[str], today: dt.date) -> Source:
    return Source(
        title=f"derived by `{FIT_COMMAND}` (capacity.validation.practical_efficiency)",
        locator=(
            "median of reported / predicted throughput (or predicted / reported "
            f"accelerator-hours) over {len(ids)} published runs without a published "
            "layout, predicted at the planner's optimum: " + ", ".join(ids)
        ),
        as_of=today,
        fields=("planner_practical_efficiency",),
    )


def _overhead_source(ids: Sequence[str], today: dt.date) -> Source:
    return Source(
        title=f"derived by `{FIT_COMMAND}` (capacity.validation.end_to_end_overhead)",
        locator=(
            "median over runs that publish both a steady-state rate and "
            "whole-run accelerator-hours of reported hours (downtime removed where "
            "the row says they include it) / tokens at the reported rate; P10-P90 "
            "widened for the number of sources as the throughput bands are: " + ", ".join(ids)
        ),
        as_of=today,
        fields=(
            "end_to_end_overhead",
            "end_to_end_overhead_p10",
            "end_to_end_overhead_p90",
        ),
    )


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
    gemm_src = _fit_source(fit_ids, today, ("gemm_efficiency", "anchor_sources"))
    gemm = _gemm_entries(cal, fitted, gemm_src, default_from, family_anchors)
    fabrics = list(cal.fabrics)  # sourced (Calculon), not fitted
    derived = {*SHARED_TOP, "planner_practical_efficiency", "end_to_end_overhead", "*"}
    kept_top = tuple(s for s in cal.sources if not set(s.fields) & derived)
    top: tuple[Source, ...] = (_fit_source(fit_ids, today, SHARED_TOP),)
    value = 1.0
    if practical is not None:
        value, ids = practical
        top += (_practical_source(ids, today),)
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
        doc["sources"] = [*doc["sources"], _overhead_source(ids, today).model_dump()]
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
