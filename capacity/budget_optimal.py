"""From a budget to the compute-optimal model: `capacity optimal`.

A budget in GPU-hours, node-hours, money or days is turned into training FLOPs
through the same `estimate()` path that `capacity estimate` uses: for a
candidate size N we build a Llama-style shape, ask the estimate what one token
costs on the chosen system (GPU-hours, node-hours, money or wall-clock), and
so how many tokens D(N) the budget buys. The compute-optimal size is the fixed
point N = N_opt(6 N D(N)) of the scaling law, found in a few iterations
(the cost per token grows slightly faster than 6N because of attention and
the LM head, so the fixed point sits a little below the pure-FLOPs answer).
Pure: no I/O.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from capacity.budget import Budget, sci
from capacity.catalog.schemas import EfficiencyCalibration, ExchangeRates, ModelSpec, Precision
from capacity.cost import Money
from capacity.errors import CapacityError
from capacity.estimate import Estimate, Scenario, convert, default_gpus, estimate
from capacity.scaling import (
    HyperparameterEstimate,
    OptimalAllocation,
    ScalingLaw,
    budget_for_loss,
    deepseek_hyperparams,
    loss_data_constrained,
    optimal_for_flops,
    resolve_law,
)
from capacity.scaling.fit import Interval, LawFit
from capacity.system import System
from capacity.units import HOURS_PER_DAY
from capacity.workload import model_from_params

_PROBE_TOKENS = 1e12  # first probe; refined once at the affordable amount
_ITERATIONS = 12
_START_PARAMS = 1e9  # first probe size; the iteration moves away from it
_REL_TOL = 1e-4


class BudgetOptimum(BaseModel):
    """The answer of `capacity optimal`: the best (N, D) and what it costs on a system."""

    model_config = ConfigDict(frozen=True)

    budget: Budget | None
    target_loss: float | None
    flops_budget: float  # 6 N D of the optimum (the law's convention)
    optimum: OptimalAllocation
    alternatives: tuple[OptimalAllocation, ...]
    hyperparams: HyperparameterEstimate
    model: ModelSpec  # the Llama-style shape used for throughput
    estimate: Estimate | None  # the optimum run on the system, when one is given
    conversion: str  # how the budget became FLOPs
    law_name: str = ""
    law_source: str = ""
    # With a fitted law (`--law FILE.toml`): the bootstrap range of the loss of this plan and
    # of the compute-optimal size at its FLOPs, and how far it lies beyond the fitted runs.
    loss_interval: Interval | None = None
    params_interval: Interval | None = None
    interval_label: str | None = None
    extrapolation: float | None = None


def _tokens_affordable(
    budget: Budget,
    probe: Estimate,
    rates: ExchangeRates | None,
) -> float:
    """Tokens the budget buys at the probe's cost per token."""
    probe_tokens = probe.scenario.tokens
    per_token: float
    if budget.unit == "gpu-hours":
        per_token = probe.run.gpu_hours / probe_tokens
    elif budget.unit == "node-hours":
        per_token = probe.run.node_hours / probe_tokens
    elif budget.unit == "days":
        per_token = probe.wall_clock_h / HOURS_PER_DAY / probe_tokens
    else:
        assert budget.currency is not None
        cost = probe.run.cost
        if cost is None:
            raise CapacityError(
                f"{probe.scenario.system.name} has no public price: give the budget in "
                f"{probe.run.allocation_unit}s instead",
                field="budget",
            )
        conv = convert(Money(amount=cost.amount, currency=cost.currency), budget.currency, rates)
        if conv is None:
            raise CapacityError(
                f"no exchange rate from {cost.currency} to {budget.currency} in the catalog",
                field="budget",
            )
        per_token = conv.amount / probe_tokens
    return budget.amount / per_token


def optimal_for_budget(
    *,
    law: str | ScalingLaw | LawFit = "epoch",
    budget: Budget | None = None,
    target_loss: float | None = None,
    system: System | None = None,
    n_gpus: int | None = None,
    unique_tokens: float | None = None,
    inference_tokens: float | None = None,
    mfu: float | None = None,
    precision: Precision = "bf16",
    seq_len: int | None = None,
    exchange_rates: ExchangeRates | None = None,
    calibration: EfficiencyCalibration | None = None,
    template: Scenario | None = None,
) -> BudgetOptimum:
    """Compute-optimal N and D for a budget (or the smallest budget for `target_loss`).

    `template`: the user's scenario on `system` (batch, precision, framework, goodput
    ...); each size considered copies it and changes only the model, tokens and job size.

    One rule for what is spent: the training FLOPs (6ND) equal the budget, in every mode.
    With `inference_tokens` the model is the lifetime-cheapest one whose training costs
    exactly the budget, and its loss (above the compute-optimal loss) is what it reaches.
    With `target_loss` the training FLOPs are what the target costs. Alternatives are round
    multiples of the chosen size on the same training FLOPs.

    Long because it is the one place that turns each budget kind (FLOPs, hours, money, days,
    target loss) into FLOPs through the estimate path; each branch is short and they
    share the fixed-point loop.
    """
    fit: LawFit | None = None
    lw: ScalingLaw
    if isinstance(law, LawFit):
        fit, lw = law, law.law
    else:
        lw = resolve_law(law)
    if (budget is None) == (target_loss is None):
        raise CapacityError("give either --budget or --target-loss", field="budget")
    if budget is not None and budget.unit != "flops" and system is None:
        raise CapacityError(
            f"a budget in {budget.unit} needs a system: add --cluster", field="cluster"
        )
    if budget is not None and budget.unit == "days" and n_gpus is None:
        raise CapacityError("a budget in days needs --nodes or --gpus", field="budget")
    gpus = n_gpus or (default_gpus(system) if system is not None else None)

    def scenario(model: ModelSpec, tokens: float) -> Scenario:
        assert system is not None
        if template is not None:
            return template.model_copy(update={"model": model, "tokens": tokens, "n_gpus": gpus})
        return Scenario(
            model=model,
            tokens=tokens,
            system=system,
            n_gpus=gpus,
            seq_len=seq_len,
            mfu=mfu,
            precision=precision,
            exchange_rates=exchange_rates,
            calibration=calibration,
        )

    def allocate(flops: float) -> OptimalAllocation:
        return optimal_for_flops(
            flops, lw, unique_tokens=unique_tokens, inference_tokens=inference_tokens
        )

    if target_loss is not None:
        opt = budget_for_loss(target_loss, lw, inference_tokens=inference_tokens)
        flops = opt.flops
        what = "lifetime-cheapest run" if inference_tokens is not None else "smallest compute"
        conversion = f"{what} reaching loss {target_loss:g}: {sci(flops)} FLOPs (6ND)"
    elif budget is not None and budget.unit == "flops":
        flops = budget.amount
        opt = allocate(flops)
        conversion = f"{sci(flops)} FLOPs spent as 6ND"
    else:
        assert budget is not None and system is not None

        def tokens_for(n_params: float) -> float:
            shape = model_from_params(n_params, seq_len=seq_len)
            tokens = _PROBE_TOKENS
            for _ in range(2):  # goodput (job chains, checkpoints) is not quite linear
                probe = estimate(scenario(shape, tokens))
                tokens = _tokens_affordable(budget, probe, exchange_rates)
            return tokens

        n_params = _START_PARAMS
        for _ in range(_ITERATIONS):  # fixed point N = N_opt(6 N D(N))
            opt = allocate(6 * n_params * tokens_for(n_params))
            done = abs(opt.params / n_params - 1) < _REL_TOL
            n_params = opt.params
            if done:
                break
        # Spend exactly the budget at the final size: the planner's layout (and so the cost
        # per token) can change in steps between nearby shapes, so the law's D for the last
        # iterate need not match what the budget buys.
        tokens = tokens_for(opt.params)
        flops = 6 * opt.params * tokens
        update: dict[str, float | None] = {
            "tokens": tokens,
            "tokens_per_param": tokens / opt.params,
            "flops": flops,
            "total_flops": flops + (opt.inference_flops or 0.0),
            "loss": _loss(lw, opt.params, tokens, unique_tokens),
        }
        if opt.compute_optimal_params is not None:
            n_co, d_co = (float(x) for x in lw.compute_optimal(flops))
            update["compute_optimal_params"] = n_co
            update["compute_optimal_loss"] = float(lw.loss(n_co, d_co))
        opt = opt.model_copy(update=update)
        conversion = (
            f"{budget.describe()} on {system.name} with {gpus} GPUs buys {sci(flops)} FLOPs "
            "(6ND) at the throughput `capacity estimate` predicts for the chosen shape"
        )
    try:
        shape = model_from_params(opt.params, seq_len=seq_len)
    except CapacityError as exc:
        too_big = opt.params > 1e6  # refused: above 100T parameters, or below 1M
        if target_loss is not None:  # the target, not a budget, chose the size
            raise CapacityError(
                f"a loss of {target_loss:g} is reached by a model of {opt.params:.3g} "
                f"parameters, which no shape covers ({exc}); give a "
                f"{'higher' if too_big else 'lower'} target",
                field="target-loss",
            ) from None
        field = "inference_tokens" if inference_tokens is not None else "budget"
        fix = "a smaller budget" if too_big else "a larger budget or fewer inference tokens"
        raise CapacityError(
            f"the chosen model would have {opt.params:.3g} parameters, which no shape covers "
            f"({exc}); give {fix}",
            field=field,
        ) from None
    est = estimate(scenario(shape, opt.tokens)) if system is not None else None
    bands: dict[str, object] = {}
    if fit is not None:
        p0, p1 = fit.interval_percentiles
        bands = {
            "params_interval": fit.allocation_interval(flops)[0] if fit.bootstrap else None,
            "interval_label": f"P{p0:g}-P{p1:g} of {len(fit.bootstrap)} bootstrap refits",
            "extrapolation": fit.extrapolation(opt.params, opt.tokens),
        }
        if fit.bootstrap and unique_tokens is None:
            bands["loss_interval"] = fit.loss_interval(opt.params, opt.tokens)
    return BudgetOptimum(
        budget=budget,
        target_loss=target_loss,
        flops_budget=flops,
        optimum=opt,
        alternatives=tuple(_around(opt, lw)),
        hyperparams=deepseek_hyperparams(flops),
        model=shape,
        estimate=est,
        conversion=conversion,
        law_name=lw.name,
        law_source=lw.source,
        **bands,
    )


def _loss(law: ScalingLaw, params: float, tokens: float, unique: float | None) -> float:
    if unique is None:
        return float(law.loss(params, tokens))
    return float(loss_data_constrained(params, tokens, unique, law))


ALTERNATIVE_FACTORS = (0.25, 0.5, 2.0, 4.0)  # "a quarter, half, twice, four times the size"


def _around(opt: OptimalAllocation, law: ScalingLaw) -> list[OptimalAllocation]:
    """Same training FLOPs as `opt`, other sizes: N = f x N_chosen, D = 6 N D / (6 f N).

    One basis for every row: the chosen plan's training FLOPs. With inference tokens the
    compute-optimal size on those FLOPs is added (method "compute_optimal") for comparison.
    """
    flops = 6 * opt.params * opt.tokens
    sizes = [(f * opt.params, f, "alternative") for f in ALTERNATIVE_FACTORS]
    n_co = opt.compute_optimal_params
    if n_co is not None and abs(n_co / opt.params - 1) > 0.01:  # else it is the chosen row
        sizes.append((n_co, n_co / opt.params, "compute_optimal"))
    rows = []
    for n, f, method in sizes:
        d = flops / (6 * n)
        infer = None if opt.inference_tokens is None else 2 * n * opt.inference_tokens
        rows.append(
            opt.model_copy(
                update={
                    "params": n,
                    "tokens": d,
                    "tokens_per_param": d / n,
                    "loss": _loss(law, n, d, opt.unique_tokens),
                    "method": method,
                    "size_factor": f,
                    "epochs": None if opt.unique_tokens is None else d / opt.unique_tokens,
                    "inference_flops": infer,
                    "total_flops": flops + (infer or 0.0),
                    "compute_optimal_params": None,
                    "compute_optimal_loss": None,
                }
            )
        )
    return rows
