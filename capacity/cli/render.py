"""Human-readable text for results (the JSON forms live on the result models)."""

from __future__ import annotations

from capacity.cli.common import kv_table
from capacity.estimate import Estimate
from capacity.units import human_count


def money(amount: float, currency: str) -> str:
    return f"{amount:,.0f} {currency}"


def render_estimate(est: Estimate) -> str:
    scn, p, f, mem, thr, run = (
        est.scenario,
        est.params,
        est.flops,
        est.memory,
        est.throughput,
        est.run,
    )
    params = f"{human_count(p.total)} total"
    if p.active != p.total:
        params += f", {human_count(p.active)} active"
    params += f", {human_count(p.non_embedding)} non-embedding"
    fit = "fits" if mem.fits else "DOES NOT FIT"
    rows = [
        ("model", f"{scn.model.name}"),
        ("parameters", params),
        ("tokens", f"{human_count(scn.tokens)} at sequence length {f.seq_len:,}"),
        (
            "FLOPs / token",
            f"{f.model:.3e} model ({f.model / f.six_n:.2f} x 6N = {f.six_n:.3e}); "
            f"{f.hardware:.3e} with {f.recompute} recompute",
        ),
        ("total FLOPs", f"{est.total_flops:.3e}"),
        ("system", f"{scn.system.name} [{scn.system.id}]"),
        ("job", f"{est.n_gpus:,} x {scn.system.accelerator.name} ({est.n_nodes:g} nodes)"),
        ("layout", est.layout.describe()),
        (
            "memory / GPU",
            f"{mem.total_gib:.1f} GiB of {mem.capacity_gib:g} GiB ({fit}; "
            f"{mem.headroom_fraction:.0%} kept free): weights {mem.weights_gib:.1f}, "
            f"grads {mem.gradients_gib:.1f}, optimizer {mem.optimizer_gib:.1f}, "
            f"activations {mem.activations_gib:.1f}",
        ),
        (
            "throughput",
            f"{human_count(thr.tokens_per_s)} tokens/s "
            f"({thr.model_tflops_per_gpu:.0f} model TFLOP/s per GPU)",
        ),
        ("MFU", f"{thr.mfu:.1%} ({thr.mfu_origin}: {thr.mfu_source})"),
        ("wall-clock", f"{est.wall_clock_days:,.1f} days ({est.wall_clock_h:,.0f} h)"),
        ("GPU-hours", f"{run.gpu_hours:,.0f}"),
        ("node-hours", f"{run.node_hours:,.0f}"),
        (
            "cost",
            money(run.cost.amount, run.cost.currency)
            + f" ({scn.system.price_per_unit:g} {run.cost.currency}/{run.allocation_unit})"
            if run.cost
            else f"no public price (billed in {run.allocation_unit}s: {run.allocation_units:,.0f})",
        ),
        (
            "energy",
            f"{run.energy_mwh:,.1f} MWh ({run.power_basis})"
            if run.energy_mwh is not None
            else "n/a",
        ),
        (
            "CO2",
            f"{run.co2_t:,.1f} t at {scn.system.grid.gco2_per_kwh:g} gCO2e/kWh "
            f"({scn.system.grid.name}, {scn.system.grid.year})"
            if run.co2_t is not None
            else "n/a",
        ),
        ("verdict", "FEASIBLE" if est.feasible else "NOT FEASIBLE"),
    ]
    out = [kv_table(rows)]
    if est.reasons:
        out.append("\nreasons:\n" + "\n".join(f"  - {r.message}" for r in est.reasons))
    if est.notes:
        out.append("\nnotes:\n" + "\n".join(f"  - {n}" for n in est.notes))
    out.append(
        "\nNot yet modelled: failures/restarts and checkpoint time (goodput), uncertainty "
        "interval; MFU is a published figure, not calibrated to this system."
    )
    out.append(
        "\nassumptions:\n"
        + "\n".join(f"  - {a.name}: {a.value} [{a.source}]" for a in est.assumptions)
    )
    return "\n".join(out)
