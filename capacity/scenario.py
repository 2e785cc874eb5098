"""The scenario of one training run: model, tokens, system and every choice about the run.

`Scenario` holds resolved catalog records (a `ModelSpec`, a `System`) plus the user's
choices; the small predicates here (`global_batch`, `measured`, `layout_given`,
`practical_factor`) are the scenario facts the estimate, the planner hand-off and the
deadline sizing share.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from capacity.budget import Budget
from capacity.catalog.schemas import (
    EfficiencyCalibration,
    ExchangeRates,
    Framework,
    ModelSpec,
    Precision,
)
from capacity.flops import FlopsPerToken
from capacity.goodput import GoodputInputs
from capacity.layout import Layout
from capacity.measured import MeasuredStep
from capacity.planner.space import SearchSpace
from capacity.scaling.hyperparams import deepseek_batch_tokens
from capacity.system import System
from capacity.throughput import default_precision

DEFAULT_GLOBAL_BATCH_TOKENS = 4_000_000  # Llama 2 (arXiv:2307.09288) Sec. 2.2: 4M tokens
DEFAULT_JOB_GPUS = 256  # capacity default job size when none is given (a choice, not a fact)


class Scenario(BaseModel):
    model_config = ConfigDict(frozen=True)

    model: ModelSpec
    tokens: float = Field(gt=0)
    system: System
    n_gpus: int | None = Field(default=None, gt=0)
    seq_len: int | None = Field(default=None, gt=0)
    global_batch_tokens: float = Field(default=DEFAULT_GLOBAL_BATCH_TOKENS, gt=0)
    global_batch_auto: bool = False  # use the DeepSeek batch rule instead
    layout: Layout | None = None
    space: SearchSpace | None = None  # constraints on the planner's search
    mfu: float | None = None
    precision: Precision = "bf16"
    days: float | None = Field(default=None, gt=0)
    budget: Budget | None = None
    exchange_rates: ExchangeRates | None = None
    calibration: EfficiencyCalibration | None = None
    goodput: GoodputInputs = GoodputInputs()
    measured_step_time_s: float | None = Field(default=None, gt=0)
    measured_steps: tuple[MeasuredStep, ...] = ()  # from a benchmark allocation
    framework: Framework | None = None  # catalogs/frameworks; None = unknown
    steady_state: bool = False  # leave out the fitted end-to-end overhead of a whole run

    @model_validator(mode="before")
    @classmethod
    def _precision_for_the_part(cls, data: Any) -> Any:
        """No precision given: bf16, or fp16 where the accelerator has no bf16 (V100)."""
        if isinstance(data, dict) and data.get("precision") is None:
            system = data.get("system")
            if isinstance(system, System):
                data = {**data, "precision": default_precision(system.accelerator)}
        return data


def default_gpus(system: System) -> int:
    """DEFAULT_JOB_GPUS rounded to whole nodes and capped by what one job may use (one
    instance of an offering without a multi-node fabric)."""
    nodes = max(1, round(DEFAULT_JOB_GPUS / system.gpus_per_node))
    cap = (system.max_nodes_per_job or system.nodes) if system.multi_node else 1
    if cap is not None:
        nodes = min(nodes, cap)
    return nodes * system.gpus_per_node


def global_batch(scn: Scenario, fpt: FlopsPerToken) -> tuple[float, str | None]:
    """The scenario's global batch in tokens, or the DeepSeek rule's when it asks for it."""
    if not scn.global_batch_auto:
        return scn.global_batch_tokens, None
    batch = float(deepseek_batch_tokens(fpt.model * scn.tokens))
    note = (
        f"global batch {batch / 1e6:.1f}M tokens from the DeepSeek batch rule "
        "B = 0.292 C^0.327 (arXiv:2401.02954 Eq. 1)"
    )
    return batch, note


def measured(scn: Scenario) -> bool:
    return scn.measured_step_time_s is not None or bool(scn.measured_steps)


def layout_given(scn: Scenario) -> bool:
    """The structural split (TP and PP) is fixed by the user, not chosen by the planner."""
    if scn.layout is not None:
        return True
    sp = scn.space
    return sp is not None and sp.tp is not None and sp.pp is not None


PRACTICAL_GAP = "practical gap (untuned layout)"


def practical_note(factor: float) -> str:
    return (
        f"planner optimum x{factor:.2f}: published runs without a tuned layout reached "
        f"{factor:.0%} of it (median; catalogs/efficiency, planner_practical_efficiency)"
    )


def practical_factor(scn: Scenario) -> float:
    """The calibration's planner_practical_efficiency when the planner picks the layout."""
    if scn.calibration is None or scn.mfu is not None or measured(scn) or layout_given(scn):
        return 1.0
    return scn.calibration.planner_practical_efficiency


def band_caveats(scn: Scenario) -> tuple[str, ...]:
    """Why the validation band may not cover this estimate (a measurement re-anchors both)."""
    if scn.calibration is None or measured(scn):
        return ()
    out = []
    acc = scn.system.accelerator
    if not scn.calibration.gemm_for(acc.id).calibrated:
        out.append(f"no published run on {acc.name} is in the fit, so its error may be larger")
    if scn.precision == "fp8":
        out.append("the band comes from 16-bit runs; fp8 is uncalibrated")
    return tuple(out)
