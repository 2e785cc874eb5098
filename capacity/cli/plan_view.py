"""Text view of a plan: ranked layouts, the best one's breakdown, rejected families."""

from __future__ import annotations

from capacity import fmt
from capacity.cli.common import table
from capacity.cli.render import breakdown_lines, goodput_lines
from capacity.estimate import BATCH_HINT, Estimate, layout_given, measured
from capacity.planner import Plan, PlanChoice
from capacity.uncertainty import Interval, band_for, interval
from capacity.units import HOURS_PER_DAY, SECONDS_PER_HOUR

MAX_REJECTIONS_SHOWN = 15


def layout_days(c: PlanChoice, best: Estimate) -> tuple[float, Interval | None]:
    """Wall-clock days of the whole run with layout `c` (goodput of the job included)."""
    ettr = best.goodput.ettr if best.goodput is not None else 1.0
    hours = best.scenario.tokens / c.tokens_per_s / SECONDS_PER_HOUR / ettr
    band = band_for(
        best.scenario.calibration,
        measured=measured(best.scenario),
        layout_given=layout_given(best.scenario),
        framework_known=best.scenario.framework is not None,
    )
    days = hours / HOURS_PER_DAY
    return days, interval(days, band)


def render_plan(pl: Plan, best: Estimate) -> str:
    req = pl.request
    sys_ = req.system
    head = (
        f"Plan: {req.model.name} on {req.n_gpus:,} x {sys_.accelerator.name} "
        f"({req.n_gpus // sys_.gpus_per_node:,} nodes of {sys_.gpus_per_node}, {sys_.name}); "
        f"{fmt.count(best.scenario.tokens)} tokens, sequence {req.seq_len:,}, "
        f"global batch {fmt.count(req.global_batch_tokens)} tokens"
    )
    out = [
        head,
        f"Searched {pl.n_candidates:,} layouts; {pl.n_feasible:,} fit in "
        f"{sys_.accelerator.memory_gib:g} GiB ({req.headroom_fraction:.0%} kept free).",
        "",
    ]
    rows = []
    for i, c in enumerate(pl.choices, start=1):
        days, iv = layout_days(c, best)
        span = f"{days:,.1f}" + (f" ({iv.p10:,.1f}-{iv.p90:,.1f})" if iv else "")
        rows.append(
            [
                f"{i}. {c.layout.describe()}",
                f"{c.step_time_s:.2f}",
                fmt.count(c.tokens_per_s),
                f"{c.mfu:.1%}",
                f"{c.hfu:.1%}",
                f"{c.memory.total_gib:.1f}",
                span,
            ]
        )
    if rows:
        out.append(
            table(
                rows,
                ["layout", "step s", "tokens/s", "MFU", "HFU", "GiB/GPU", "days (P10-P90)"],
            )
        )
        b = pl.choices[0]
        out.append(f"\nBreakdown of #1 (step {b.step_time_s:.3f} s, m = {b.microbatches}):")
        out += breakdown_lines(b.breakdown_s, b.step_time_s)
        out.append("\nWall-clock of #1 (goodput model):")
        out += goodput_lines(best)
        if best.interval_note:
            out.append(f"\ninterval: {best.interval_note}")
    else:
        out.append("NO LAYOUT FITS.")
        if pl.least_memory is not None:
            lm = pl.least_memory
            out.append(
                f"closest: {lm.layout.describe()} needs {lm.memory.total_gib:.1f} GiB "
                f"> {lm.memory.usable_gib:.1f} GiB usable"
            )
    if pl.rejections:
        out.append("\nRejected:")
        order = ("memory", "tp", "pp", "cp", "ep", "batch")
        shown = sorted(pl.rejections, key=lambda r: order.index(r.code) if r.code in order else 9)
        for r in shown[:MAX_REJECTIONS_SHOWN]:
            out.append(f"  - {r.reason}")
        if len(shown) > MAX_REJECTIONS_SHOWN:
            out.append(f"  ... and {len(shown) - MAX_REJECTIONS_SHOWN} more (see --json)")
    if best.reasons:
        out.append("\nverdict: " + ("FEASIBLE" if best.feasible else "NOT FEASIBLE"))
        out += [f"  - {r.message}" for r in best.reasons]
    notes = [*pl.notes, *(n for n in best.notes if n.startswith(BATCH_HINT))]
    if notes:
        out.append("\nnotes:")
        out += [f"  - {n}" for n in notes]
    return "\n".join(out)
