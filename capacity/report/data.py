"""The numbers behind the report's panels, computed by the core (no drawing here).

* strong scaling: `estimate()` of the same run at node counts around the chosen one;
* cluster comparison: `compare()` of the same run across the catalog;
* scaling-law panel: isoFLOP curves, the compute-optimal frontier and the run's point.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from capacity.compare import CompareRow, compare
from capacity.constants import Constant
from capacity.errors import CapacityError
from capacity.estimate import Estimate, Scenario, estimate
from capacity.scaling import ScalingLaw
from capacity.scaling.fit import LawFit
from capacity.system import System

STRONG_SCALING_EFFICIENCY_FLOOR = Constant(
    0.80,
    "fraction of ideal speed-up",
    "capacity reporting convention (a choice, not a published threshold): below 80 % of the "
    "ideal strong-scaling speed-up the extra nodes buy little time for their hours; calls "
    "that ask for scaling evidence judge the curve itself",
)
SCALING_STEPS_DOWN = 4  # node counts from chosen / 2^4 ...
SCALING_STEPS_UP = 3  # ... to chosen x 2^3 (capped by the partition)
ISOFLOP_DECADES = (-2, -1, 0, 1, 2)  # isoFLOP curves at C x 10^k around the run's C
ISOFLOP_SPAN = 30.0  # each curve spans N_opt / 30 ... N_opt x 30
ISOFLOP_POINTS = 60


class ScalingPoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    nodes: int
    gpus: int
    wall_clock_days: float | None
    gpu_hours: float | None
    node_hours: float | None
    mfu: float | None
    fits_memory: bool
    feasible: bool
    within_job_limit: bool
    efficiency: float | None = None  # vs the smallest point that fits memory
    chosen: bool = False
    error: str | None = None


class StrongScaling(BaseModel):
    model_config = ConfigDict(frozen=True)

    system: str
    points: tuple[ScalingPoint, ...]
    knee_nodes: int | None  # first node count whose efficiency falls below the floor
    floor: float

    def to_json(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "efficiency_floor": self.floor,
            "knee_nodes": self.knee_nodes,
            "points": [p.model_dump() for p in self.points],
        }


def scaling_node_counts(chosen: int, system: System) -> list[int]:
    """chosen x 2^k for k in [-4, 3], within [1, nodes of the partition]."""
    cap = system.nodes if system.nodes is not None else chosen * 2**SCALING_STEPS_UP
    out = {chosen}
    for k in range(-SCALING_STEPS_DOWN, SCALING_STEPS_UP + 1):
        n = chosen * 2.0**k
        if n >= 1 and n == int(n) and n <= cap:
            out.add(int(n))
    return sorted(out)


def strong_scaling(est: Estimate) -> StrongScaling:
    """Wall-clock and efficiency of the same run over node counts on the chosen system."""
    scn, system = est.scenario, est.scenario.system
    chosen = round(est.n_nodes)
    points: list[ScalingPoint] = []
    for nodes in scaling_node_counts(chosen, system):
        within = system.max_nodes_per_job is None or nodes <= system.max_nodes_per_job
        if nodes == chosen:
            e: Estimate | None = est
        else:
            try:
                e = estimate(_rescaled(scn, nodes))
            except CapacityError as exc:
                points.append(
                    ScalingPoint(
                        nodes=nodes,
                        gpus=nodes * system.gpus_per_node,
                        wall_clock_days=None,
                        gpu_hours=None,
                        node_hours=None,
                        mfu=None,
                        fits_memory=False,
                        feasible=False,
                        within_job_limit=within,
                        error=str(exc),
                    )
                )
                continue
        assert e is not None
        points.append(
            ScalingPoint(
                nodes=nodes,
                gpus=e.n_gpus,
                wall_clock_days=e.wall_clock_days,
                gpu_hours=e.run.gpu_hours,
                node_hours=e.run.node_hours,
                mfu=e.throughput.mfu,
                fits_memory=e.memory.fits,
                feasible=e.feasible,
                within_job_limit=within,
                chosen=nodes == chosen,
            )
        )
    base = next((p for p in points if p.fits_memory and p.wall_clock_days), None)
    floor = STRONG_SCALING_EFFICIENCY_FLOOR.value
    knee = None
    done = []
    for p in points:
        eff = None
        if base is not None and p.fits_memory and p.wall_clock_days and p.nodes >= base.nodes:
            assert base.wall_clock_days is not None
            eff = (base.nodes * base.wall_clock_days) / (p.nodes * p.wall_clock_days)
            if knee is None and eff < floor:
                knee = p.nodes
        done.append(p.model_copy(update={"efficiency": eff}))
    return StrongScaling(system=system.name, points=tuple(done), knee_nodes=knee, floor=floor)


def _rescaled(scn: Scenario, nodes: int) -> Scenario:
    """The same run on `nodes` nodes: the layout is chosen again, deadline and budget dropped."""
    return scn.model_copy(
        update={
            "n_gpus": nodes * scn.system.gpus_per_node,
            "layout": None,
            "days": None,
            "budget": None,
        }
    )


def cluster_comparison(
    est: Estimate, systems: Sequence[System], currency: str = "EUR"
) -> list[CompareRow]:
    """The same model, tokens and GPU count on every system (ranked by time).

    The throughput model is the estimate's: the planner when the scenario carries an
    efficiency calibration, the published MFU otherwise.
    """
    scn = est.scenario
    return compare(
        scn.model,
        scn.tokens,
        systems,
        gpus=est.n_gpus,
        seq_len=scn.seq_len,
        mfu=scn.mfu,
        currency=currency,
        rates=scn.exchange_rates,
        calibration=scn.calibration,
    )


class LawPanel(BaseModel):
    model_config = ConfigDict(frozen=True)

    law_id: str
    law_name: str
    law_source: str
    law_validity: str
    params: float
    tokens: float
    flops: float  # 6 N D
    loss: float
    optimal_params: float
    optimal_tokens: float
    optimal_loss: float
    curves: tuple[tuple[float, tuple[float, ...], tuple[float, ...]], ...]  # (C, N[], L[])
    frontier: tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]  # C[], N[], L[]
    # A fitted law (`--law FILE.toml`): bootstrap ranges and how far the run lies beyond it.
    loss_interval: tuple[float, float] | None = None
    optimal_params_interval: tuple[float, float] | None = None
    interval_label: str | None = None
    extrapolation: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "law": self.law_id,
            "params": self.params,
            "tokens": self.tokens,
            "flops_6nd": self.flops,
            "loss": self.loss,
            "optimal_params": self.optimal_params,
            "optimal_tokens": self.optimal_tokens,
            "optimal_loss": self.optimal_loss,
            "loss_interval": self.loss_interval,
            "optimal_params_interval": self.optimal_params_interval,
            "interval": self.interval_label,
            "extrapolation": self.extrapolation,
        }


def law_panel(est: Estimate, law: ScalingLaw, fit: LawFit | None = None) -> LawPanel:
    """IsoFLOP curves around the run's compute, the frontier, and where the run sits.

    With `fit` (the law's bootstrap), the run's loss and the optimal size get their ranges.
    """
    n = float(est.params.active)
    d = float(est.scenario.tokens)
    c = 6.0 * n * d
    curves = []
    for k in ISOFLOP_DECADES:
        ck = c * 10.0**k
        n_opt = float(law.compute_optimal(ck)[0])
        grid = np.geomspace(n_opt / ISOFLOP_SPAN, n_opt * ISOFLOP_SPAN, ISOFLOP_POINTS)
        losses = np.asarray(law.isoflop_curve(ck, grid), dtype=float)
        curves.append((ck, tuple(float(x) for x in grid), tuple(float(x) for x in losses)))
    lo, hi = min(ISOFLOP_DECADES) - 0.5, max(ISOFLOP_DECADES) + 0.5
    cs = c * np.logspace(lo, hi, 40)
    n_f = np.asarray(law.compute_optimal(cs)[0], dtype=float)
    l_f = np.asarray(law.optimal_loss(cs), dtype=float)
    n_o, d_o = (float(x) for x in law.compute_optimal(c))
    bands: dict[str, Any] = {}
    if fit is not None and fit.bootstrap:
        li, ni = fit.loss_interval(n, d), fit.allocation_interval(c)[0]
        p0, p1 = fit.interval_percentiles
        bands = {
            "loss_interval": (li.low, li.high),
            "optimal_params_interval": (ni.low, ni.high),
            "interval_label": f"P{p0:g}-P{p1:g} of {len(fit.bootstrap)} bootstrap refits",
            "extrapolation": fit.extrapolation(n, d),
        }
    return LawPanel(
        law_id=law.id,
        law_name=law.name,
        law_source=law.source,
        law_validity=law.validity,
        params=n,
        tokens=d,
        flops=c,
        loss=float(law.loss(n, d)),
        optimal_params=n_o,
        optimal_tokens=d_o,
        optimal_loss=float(law.optimal_loss(c)),
        curves=tuple(curves),
        frontier=(
            tuple(float(x) for x in cs),
            tuple(float(x) for x in n_f),
            tuple(float(x) for x in l_f),
        ),
        **bands,
    )


def interval_of(est: Estimate, key: str) -> tuple[float, float] | None:
    """(P10, P90) of the estimate's figure `key` (see `Estimate.intervals`), or None."""
    iv = est.intervals.get(key)
    return None if iv is None else (iv.p10, iv.p90)
