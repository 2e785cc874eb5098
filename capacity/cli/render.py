"""Human-readable text for results (the JSON forms live on the result models)."""

from __future__ import annotations

from collections.abc import Callable

from capacity import fmt
from capacity.cli.common import kv_table
from capacity.estimate import PRACTICAL_GAP, Estimate
from capacity.uncertainty import Interval

BREAKDOWN_LABELS = {
    "gemm": "GEMMs",
    "attention": "attention",
    "elementwise": "norms/activations (HBM)",
    "tp_comm": "TP collectives",
    "cp_comm": "CP collectives",
    "moe_all_to_all": "MoE all-to-all",
    "pp_p2p": "PP send/receive",
    "pipeline_bubble": "pipeline bubble",
    "dp_comm_exposed": "DP/ZeRO comm (exposed)",
    "optimizer": "optimizer step",
    PRACTICAL_GAP: "practical gap (untuned)",
}


def breakdown_lines(parts: dict[str, float], step_s: float, indent: str = "  ") -> list[str]:
    """One line per non-negligible part of a step: seconds and share."""
    out = []
    for key, label in BREAKDOWN_LABELS.items():
        value = parts.get(key, 0.0)
        if step_s > 0 and value / step_s >= 0.0005:
            out.append(f"{indent}{label:<26} {value:9.3f} s  {value / step_s:6.1%}")
    return out


def span(value: float, iv: Interval | None, show: Callable[[float], str] = fmt.fixed) -> str:
    """'12.3 (P10-P90 10.1-15.0)'."""
    text = show(value)
    if iv is not None:
        text += f" (P10-P90 {show(iv.p10)}-{show(iv.p90)})"
    return text


def goodput_lines(est: Estimate, indent: str = "  ") -> list[str]:
    gp = est.goodput
    if gp is None:
        return []
    prod = est.productive_h
    if not gp.inputs.enabled:
        return [f"{indent}goodput model off (--no-goodput)"]
    wall = est.wall_clock_h
    out = [f"{indent}{'productive training':<26} {prod:12,.1f} h"]
    parts = [
        ("failures: lost work+restart", gp.failure_fraction),
        ("checkpoint writes", gp.checkpoint_fraction),
        ("job chain restarts", gp.job_chain_fraction),
    ]
    if gp.end_to_end_fraction > 0:
        parts.append(("end-to-end: evals, ramp-up", gp.end_to_end_fraction))
    for label, frac in parts:
        out.append(f"{indent}{label:<26} {frac * wall:12,.1f} h  {frac:6.1%}")
    detail = (
        f"{indent}(MTBF of the job {gp.mtbf_h:,.1f} h at {gp.inputs.failure_rate_per_gpu_h:.2g} "
        f"failures/GPU-h; checkpoint {gp.checkpoint_write_s:,.2g} s every "
        f"{gp.checkpoint_interval_h * 60:,.0f} min (Young/Daly); restart "
        f"{gp.inputs.restart_min:g} min"
    )
    if gp.inputs.job_wall_limit_h is not None:
        detail += f"; {gp.jobs} job(s) of <= {gp.inputs.job_wall_limit_h:g} h"
    cal = est.scenario.calibration
    if gp.end_to_end_fraction > 0 and cal is not None:
        k, lo, hi = (
            cal.end_to_end_overhead,
            cal.end_to_end_overhead_p10,
            cal.end_to_end_overhead_p90,
        )
        band = f", P10-P90 x{lo:.2f}-x{hi:.2f}" if lo is not None and hi is not None else ""
        detail += (
            f"; end-to-end overhead x{k:.2f} of the productive time{band}, --steady-state: off"
        )
    out.append(detail + ")")
    return out


def render_estimate(est: Estimate) -> str:
    """The estimate as the text `capacity estimate` prints.

    Long because it is one table: one row per figure, in the order the page shows them;
    split up, the order of the rows would be scattered over several functions.
    """
    scn, p, f, mem, thr, run = (
        est.scenario,
        est.params,
        est.flops,
        est.memory,
        est.throughput,
        est.run,
    )
    iv = est.intervals
    params = f"{fmt.count(p.total)} total"
    if p.active != p.total:
        params += f", {fmt.count(p.active)} active"
    params += f", {fmt.count(p.non_embedding)} non-embedding"
    fit = "fits" if mem.fits else "DOES NOT FIT"
    rows = [
        ("model", f"{scn.model.name}"),
        ("parameters", params),
        ("tokens", f"{fmt.count(scn.tokens)} at sequence length {f.seq_len:,}"),
        (
            "FLOPs / token",
            f"{f.model:.3e} model ({f.model / f.six_n:.2f} x 6N = {f.six_n:.3e}); "
            f"{f.hardware:.3e} with "
            + ("no" if f.recompute == "none" else f.recompute)
            + " recompute",
        ),
        ("total FLOPs", fmt.flops(est.total_flops)),
        ("system", f"{scn.system.name} [{scn.system.id}]"),
        ("job", f"{est.n_gpus:,} x {scn.system.accelerator.name} ({est.n_nodes:g} nodes)"),
        ("layout", est.layout.describe()),
        ("global batch", f"{fmt.count(est.global_batch_tokens)} tokens"),
        (
            "memory / GPU",
            f"{mem.total_gib:.1f} GiB of {mem.capacity_gib:g} GiB ({fit}; "
            f"{mem.headroom_fraction:.0%} kept free): weights {mem.weights_gib:.1f}, "
            f"grads {mem.gradients_gib:.1f}, optimizer {mem.optimizer_gib:.1f}, "
            f"activations {mem.activations_gib:.1f}",
        ),
        (
            "throughput",
            f"{fmt.count(thr.tokens_per_s)} tokens/s "
            f"({thr.model_tflops_per_gpu:.0f} model TFLOP/s per GPU)",
        ),
        ("MFU / HFU", f"{thr.mfu:.1%} / {thr.hfu:.1%} ({thr.mfu_origin}: {thr.mfu_source})"),
        ("wall-clock", span(est.wall_clock_days, iv.get("wall_clock_days")) + " days"),
        ("GPU-hours", span(run.gpu_hours, iv.get("gpu_hours"), fmt.integer)),
        ("node-hours", span(run.node_hours, iv.get("node_hours"), fmt.integer)),
        ("billed", _billed_line(est)),
        (
            "queue",
            est.queue.message if est.queue and est.queue.message else "no QoS rules in the catalog",
        ),
        (
            "cost",
            span(run.cost.amount, iv.get("cost"), fmt.integer)
            + f" {run.cost.currency}"
            + f" ({scn.system.price_per_unit:g} {run.cost.currency}/{run.allocation_unit})"
            if run.cost
            else f"no public price (billed in {run.allocation_unit}s: {run.allocation_units:,.0f})",
        ),
        (
            "energy",
            span(run.energy_mwh, iv.get("energy_mwh")) + f" MWh ({run.power_basis})"
            if run.energy_mwh is not None
            else "n/a",
        ),
        (
            "CO2",
            span(run.co2_t, iv.get("co2_t")) + f" t at {scn.system.grid.gco2_per_kwh:g} gCO2e/kWh "
            f"({scn.system.grid.name}, {scn.system.grid.year})"
            if run.co2_t is not None
            else "n/a",
        ),
        ("verdict", est.verdict),
    ]
    out = [kv_table(rows)]
    if est.interval_note:
        out.append(f"\ninterval: {est.interval_note}")
    if est.step_time_s is not None and est.breakdown_s:
        out.append(f"\nstep time {est.step_time_s:.3f} s:")
        out += breakdown_lines(est.breakdown_s, est.step_time_s)
    gl = goodput_lines(est)
    if gl:
        out.append("\nwall-clock (goodput model):")
        out += gl
    if est.reasons:
        out.append("\nreasons:\n" + "\n".join(f"  - {r.message}" for r in est.reasons))
    if est.notes:
        out.append("\nnotes:\n" + "\n".join(f"  - {n}" for n in est.notes))
    out.append(
        "\nassumptions:\n"
        + "\n".join(f"  - {a.name}: {a.value} [{a.source}]" for a in est.assumptions)
    )
    return "\n".join(out)


def _billed_line(est: Estimate) -> str:
    """The hours in the system's billing unit first, then every sourced conversion."""
    from capacity.billing import describe

    return describe(est.billed) + f" (billed in {est.run.allocation_unit}s)"
