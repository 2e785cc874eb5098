"""Text view of a validation: one line per run, skipped runs with reasons, the summary."""

from __future__ import annotations

from typing import Any

from capacity import fmt
from capacity.catalog.schemas import EfficiencyCalibration
from capacity.cli.common import table
from capacity.validation import Validation


def _pct(x: float | None) -> str:
    return fmt.or_missing(fmt.signed_pct, x, "")


def _num(x: float | None) -> str:
    return fmt.or_missing(fmt.integer, x, "")


def _stat(s: dict[str, Any]) -> str:
    if not s.get("n"):
        return "n=0"
    return (
        f"n={s['n']:>2}  median {s['median_abs_error']:5.1%}  mean {s['mean_abs_error']:5.1%}  "
        f"worst {s['worst_abs_error']:5.1%} ({s['worst_id']})"
    )


def _unseen_lines(s: dict[str, Any]) -> list[str]:
    """Band coverage and issue 11's leave-one-source-out targets, each met or NOT met, so
    the text says as plainly as the README what does not hold on unseen sources."""
    bands, loso = s.get("bands"), s.get("loso")
    if not s.get("heldout") or not bands or not loso:
        return ["  unseen-source targets: not scored (no source was held out: --no-heldout)"]
    t, meets = s["loso_targets"], s["loso_meets"]
    thr, hrs = loso["all"]["throughput"], loso["all"]["hours"]

    def verdict(key: str) -> str:
        return "met" if meets.get(key) else "NOT met"

    def band(b: dict[str, Any]) -> str:
        if not b.get("n"):
            return "none"
        return f"{b['coverage']:.0%} of {b['n']} (median width {b['median_width']:.0%})"

    out = [
        f"  P10-P90 bands, held out: reported figure inside for throughput "
        f"{band(bands['throughput'])}, hours {band(bands['hours'])}; target "
        f"{t['coverage_low']:.0%}-{t['coverage_high']:.0%}: throughput "
        f"{verdict('throughput_band_coverage')}, hours {verdict('hours_band_coverage')}"
    ]
    if thr["n"]:
        out.append(
            f"  unseen-source targets (leave-one-source-out): throughput median "
            f"{thr['median_abs_error']:.1%} <= {t['throughput_median_abs_error']:.0%} "
            f"{verdict('throughput_median')}; within ±20% {thr['within_20']:.0%} >= "
            f"{t['throughput_share_within_20']:.0%} {verdict('throughput_within_20')}; worst "
            f"{thr['worst_abs_error']:.0%} <= {t['throughput_worst_abs_error']:.0%} "
            f"{verdict('throughput_worst')}"
        )
    if hrs["n"]:
        naive = hrs.get("naive_median_abs_error")
        out.append(
            f"  {'':<47}hours median {hrs['median_abs_error']:.1%} <= "
            f"{t['hours_median_abs_error']:.0%} {verdict('hours_median')}; <= "
            f"{t['hours_median_vs_naive']:.1f}x the naive rule's "
            + (f"{naive:.1%}" if naive is not None else "-")
            + f" {verdict('hours_vs_naive')}"
        )
    return out


def render_validation(
    val: Validation, source: str, cal: EfficiencyCalibration | None = None
) -> str:
    """The text of `capacity validate`. Long on purpose: one section after another (rows,
    assumptions, skipped runs, summary by group, naive rule, coverage), in the
    order the output prints them."""
    rows = []
    for r in val.rows:
        if r.skipped_reason:
            continue
        flag = ("*" if r.in_fit else "") + ("L" if r.confidence == "low" else "")
        rows.append(
            [
                r.id + (f" [{flag}]" if flag else ""),
                r.layout_describe or "",
                "given" if r.gave_layout else "planner",
                _num(r.reported_tokens_per_s_per_gpu),
                _num(r.predicted_tokens_per_s_per_gpu),
                _pct(r.throughput_error) + ("" if r.counts_for_throughput else " dup"),
                _pct(r.heldout_throughput_error),
                _pct(r.naive_throughput_error),
                _num(r.reported_accelerator_hours),
                _num(r.predicted_accelerator_hours),
                _pct(r.hours_error),
                _pct(r.heldout_hours_error),
                _pct(r.naive_hours_error),
            ]
        )
    out = [
        f"Validation on {source} ({len(val.rows)} runs)",
        "",
        table(
            rows,
            [
                "run",
                "layout",
                "layout from",
                "rep tok/s/GPU",
                "pred",
                "err",
                "held-out",
                "naive",
                "rep GPU-h",
                "pred",
                "err",
                "held-out",
                "naive",
            ],
        ),
        "",
        "[*] in the fit; [L] low confidence (listed, not in the summary); dup: a repeated "
        "figure counted once; naive: 6 N D at 40 % MFU; held-out: refit without the run's source.",
    ]
    assumed = [r for r in val.rows if r.notes and not r.skipped_reason]
    if assumed:
        out.append("\nAssumed where the source is silent:")
        out += [f"  - {r.id}: {'; '.join(r.notes)}" for r in assumed]
    skipped = [r for r in val.rows if r.skipped_reason]
    if skipped:
        out.append("\nNot predicted:")
        out += [f"  - {r.id}: {r.skipped_reason}" for r in skipped]
    s: dict[str, Any] = dict(val.summary)
    out.append("\nSummary (absolute errors, medium/high-confidence runs):")
    for key, label in (
        ("throughput", "throughput"),
        ("heldout_throughput", "throughput, held out"),
        ("naive_throughput", "throughput, naive rule"),
        ("hours", "accelerator-hours"),
        ("heldout_hours", "hours, held out"),
        ("naive_hours", "hours, naive rule"),
    ):
        block = s[key]
        out.append(f"  {label:<24} all:            {_stat(block['all'])}")
        out.append(f"  {'':<24} layout given:   {_stat(block['with_layout'])}")
        out.append(f"  {'':<24} planner layout: {_stat(block['without_layout'])}")
    closer = s["closer_than_naive"]
    out.append(
        "  model closer than the naive rule: "
        f"throughput on {closer['throughput']['model_closer']} of {closer['throughput']['n']} "
        f"runs, hours on {closer['hours']['model_closer']} of {closer['hours']['n']}"
    )
    low = s.get("low_confidence") or []
    if low:
        out.append(
            "  low confidence: "
            + ", ".join(
                f"{x['id']} (throughput {_pct(x['throughput_error']) or '-'}, "
                f"hours {_pct(x['hours_error']) or '-'})"
                for x in low
            )
        )
    out.extend(_unseen_lines(s))
    t = s["targets"]
    out.append(
        f"  in-fit targets: throughput median <= {t['throughput_median_abs_error']:.0%}, worst <= "
        f"{t['throughput_worst_abs_error']:.0%}; hours median <= "
        f"{t['hours_median_abs_error']:.0%}: "
        f"{'met' if s['meets_targets']['with_layout'] else 'NOT met'} on runs with a published "
        f"layout, {'met' if s['meets_targets']['all'] else 'NOT met'} on all runs"
    )
    if cal is not None:
        out.append("\nFitted efficiencies:")
        for g in cal.gemm:
            tag = "fitted" if g.calibrated else "default"
            out.append(f"  GEMM {g.id:<14} {g.gemm_efficiency:.3f} ({tag})")
        for f in cal.fabrics:
            out.append(
                f"  {f.id:<19} bus efficiency {f.bus_efficiency:.3f}, latency {f.latency_us:g} us"
            )
        out.append(
            f"  GEMM memory exposure {cal.gemm_memory_exposure:.3f}; FlashAttention "
            f"{cal.flash_attention_fraction:.3f} of GEMM; DP overlap {cal.dp_overlap_fraction:.3f}"
        )
    return "\n".join(out)
