"""The estimate report's data: `Report` (the estimate, a strong-scaling sweep, the catalog
comparison, the scaling-law panel) and its `--json` document (`report_json`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from capacity import fmt
from capacity.catalog.schemas import EfficiencyCalibration
from capacity.compare import CompareRow
from capacity.estimate import Assumption, Estimate
from capacity.report.data import (
    LawPanel,
    StrongScaling,
    cluster_comparison,
    law_panel,
    strong_scaling,
)
from capacity.scaling import ScalingLaw, resolve_law
from capacity.scaling.fit import LawFit
from capacity.system import System

if TYPE_CHECKING:
    from capacity.multisite import MultiSiteEstimate


class Report(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    title: str
    estimate: Estimate
    scaling: StrongScaling
    comparison: tuple[CompareRow, ...]
    currency: str
    law: LawPanel
    validation: tuple[Assumption, ...] = ()
    multisite: Any = None  # a MultiSiteEstimate when the run spans several sites


def build_report(
    est: Estimate,
    systems: Sequence[System],
    *,
    title: str | None = None,
    law: str | ScalingLaw | LawFit = "epoch",
    currency: str = "EUR",
    calibration: EfficiencyCalibration | None = None,
    multisite: MultiSiteEstimate | None = None,
) -> Report:
    scn = est.scenario
    default_title = f"{scn.model.name} on {fmt.count(scn.tokens)} tokens — {scn.system.name}"
    return Report(
        title=title or default_title,
        estimate=est,
        scaling=strong_scaling(est),
        comparison=tuple(cluster_comparison(est, systems, currency)),
        currency=currency,
        law=(
            law_panel(est, law.law, law)
            if isinstance(law, LawFit)
            else law_panel(est, resolve_law(law))
        ),
        validation=tuple(validation_assumptions(calibration)),
        multisite=multisite,
    )


def report_json(rep: Report) -> dict[str, Any]:
    return {
        **rep.estimate.to_json(),
        "report": {
            "title": rep.title,
            "strong_scaling": rep.scaling.to_json(),
            "cluster_comparison": {
                "currency": rep.currency,
                "rows": [r.to_json() for r in rep.comparison],
            },
            "scaling_law": rep.law.to_json(),
            "multisite": None if rep.multisite is None else rep.multisite.to_json(),
        },
    }


def validation_assumptions(cal: EfficiencyCalibration | None) -> list[Assumption]:
    """The throughput model's accuracy: P10-P90 of reported / predicted on held-out runs."""
    what = {
        "step-time": "held-out step time (throughput)",
        "hours": "held-out accelerator-hours (end to end)",
        "measured": "step time re-anchored on a measured run",
    }
    out = []
    for band in () if cal is None else cal.residuals:
        src = band.sources[0] if band.sources else None
        source = "capacity validate"
        if src is not None:
            source = ", ".join(
                x for x in (src.title, src.locator or src.url or "", f"as of {src.as_of}") if x
            )
        out.append(
            Assumption(
                name=f"validation: {what.get(band.id, band.id)}",
                value=(
                    f"reported / predicted P10-P90 {band.ratio_p10:.2f}-{band.ratio_p90:.2f} "
                    f"over {band.n_rows} published runs"
                ),
                source=source,
            )
        )
    if not out:
        out.append(
            Assumption(
                name="validation accuracy",
                value="no validation statistics in the catalog (run `capacity validate --fit`)",
                source="catalogs/efficiency/",
            )
        )
    return out
