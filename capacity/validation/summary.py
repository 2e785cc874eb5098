"""Error statistics of a validation: per row set, for throughput and hours, vs the naive rule."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from capacity.validation.predict import RowResult

TARGETS = {
    "throughput_median_abs_error": 0.10,
    "throughput_worst_abs_error": 0.25,
    "hours_median_abs_error": 0.15,
}
# Issue 11: leave-one-source-out over the whole corpus
LOSO_TARGETS = {
    "throughput_median_abs_error": 0.08,
    "throughput_share_within_20": 0.85,
    "throughput_worst_abs_error": 0.40,
    "hours_median_abs_error": 0.15,
    "hours_median_vs_naive": 0.70,
    "coverage_low": 0.75,
    "coverage_high": 0.90,
}


def stats(pairs: Sequence[tuple[str, float]]) -> dict[str, object]:
    """n, median / mean / worst absolute error (fractions) and the worst row."""
    if not pairs:
        return {"n": 0, "median_abs_error": None, "mean_abs_error": None, "worst_abs_error": None}
    ids = [p[0] for p in pairs]
    errs = np.abs(np.array([p[1] for p in pairs], dtype=float))
    worst = int(np.argmax(errs))
    return {
        "n": len(pairs),
        "median_abs_error": float(np.median(errs)),
        "mean_abs_error": float(np.mean(errs)),
        "worst_abs_error": float(errs[worst]),
        "worst_id": ids[worst],
    }


Pick = Callable[[RowResult], float | None]


def _pairs(rows: Sequence[RowResult], pick: Pick, throughput: bool) -> list[tuple[str, float]]:
    out = []
    for r in rows:
        value = pick(r)
        if value is None or (throughput and not r.counts_for_throughput):
            continue
        out.append((r.id, value))
    return out


def _block(rows: Sequence[RowResult], pick: Pick, throughput: bool) -> dict[str, object]:
    return {
        "all": stats(_pairs(rows, pick, throughput)),
        "with_layout": stats(_pairs([r for r in rows if r.gave_layout], pick, throughput)),
        "without_layout": stats(_pairs([r for r in rows if not r.gave_layout], pick, throughput)),
    }


def closer_than_naive(rows: Sequence[RowResult], throughput: bool) -> dict[str, int]:
    """Paired comparison: on how many rows the model's error is smaller than the naive
    rule's (a median can hide it either way)."""
    n = wins = 0
    for r in rows:
        if throughput and not r.counts_for_throughput:
            continue
        ours = r.throughput_error if throughput else r.hours_error
        naive = r.naive_throughput_error if throughput else r.naive_hours_error
        if ours is None or naive is None:
            continue
        n += 1
        wins += abs(ours) < abs(naive)
    return {"n": n, "model_closer": wins}


def summarize(rows: Sequence[RowResult]) -> dict[str, object]:
    """The `summary` of `capacity validate --json` (see the README for the keys)."""
    done = [r for r in rows if r.skipped_reason is None]
    main = [r for r in done if r.confidence != "low"]
    low = [r for r in done if r.confidence == "low"]
    out: dict[str, object] = {
        "rows": len(rows),
        "predicted": len(done),
        "throughput": _block(main, lambda r: r.throughput_error, True),
        "hours": _block(main, lambda r: r.hours_error, False),
        "heldout_throughput": _block(main, lambda r: r.heldout_throughput_error, True),
        "heldout_hours": _block(main, lambda r: r.heldout_hours_error, False),
        "naive_throughput": _block(main, lambda r: r.naive_throughput_error, True),
        "naive_hours": _block(main, lambda r: r.naive_hours_error, False),
        "closer_than_naive": {
            "throughput": closer_than_naive(main, True),
            "hours": closer_than_naive(main, False),
        },
        "including_low_confidence": {
            "throughput": stats(_pairs(done, lambda r: r.throughput_error, True)),
            "hours": stats(_pairs(done, lambda r: r.hours_error, False)),
        },
        "low_confidence": [
            {"id": r.id, "throughput_error": r.throughput_error, "hours_error": r.hours_error}
            for r in low
        ],
        "skipped": [{"id": r.id, "reason": r.skipped_reason} for r in rows if r.skipped_reason],
        "fit_rows": [r.id for r in rows if r.in_fit],
        "targets": dict(TARGETS),
    }
    out["meets_targets"] = {
        "with_layout": _meets(out["throughput"], out["hours"], "with_layout"),  # type: ignore[arg-type]
        "all": _meets(out["throughput"], out["hours"], "all"),  # type: ignore[arg-type]
    }
    return out


def _meets(
    thr_block: dict[str, dict[str, Any]], hrs_block: dict[str, dict[str, Any]], key: str
) -> bool:
    thr, hrs = thr_block[key], hrs_block[key]
    return bool(
        thr["n"]
        and hrs["n"]
        and thr["median_abs_error"] <= TARGETS["throughput_median_abs_error"]
        and thr["worst_abs_error"] <= TARGETS["throughput_worst_abs_error"]
        and hrs["median_abs_error"] <= TARGETS["hours_median_abs_error"]
    )


def loso_stats(rows: Sequence[RowResult], throughput: bool) -> dict[str, object]:
    """Held-out (leave-one-source-out) errors of `rows`, with the naive rule on the same rows."""
    pairs, naive = [], []
    for r in rows:
        if throughput and not r.counts_for_throughput:
            continue
        e = r.heldout_throughput_error if throughput else r.heldout_hours_error
        n = r.naive_throughput_error if throughput else r.naive_hours_error
        if e is None:
            continue
        pairs.append((r.id, e))
        if n is not None:
            naive.append(abs(n))
    out = stats(pairs)
    if pairs:
        errs = np.abs([e for _, e in pairs])
        out["within_10"] = float(np.mean(errs <= 0.10))
        out["within_20"] = float(np.mean(errs <= 0.20))
    out["naive_median_abs_error"] = float(np.median(naive)) if naive else None
    return out


def loso_groups(rows: Sequence[RowResult]) -> dict[str, dict[str, object]]:
    """Held-out statistics by what the user would have given: framework known or not,
    layout published or the planner's, and the accelerator family."""
    ok = [r for r in rows if r.skipped_reason is None and r.confidence != "low"]
    groups: dict[str, list[RowResult]] = {"all": ok}
    groups["framework known"] = [r for r in ok if r.framework != "unknown"]
    groups["framework unknown"] = [r for r in ok if r.framework == "unknown"]
    groups["layout published"] = [r for r in ok if r.gave_layout]
    groups["layout by the planner"] = [r for r in ok if not r.gave_layout]
    for acc in sorted({r.accelerator for r in ok if r.accelerator}):
        groups[f"accelerator {acc}"] = [r for r in ok if r.accelerator == acc]
    return {
        name: {"throughput": loso_stats(g, True), "hours": loso_stats(g, False)}
        for name, g in groups.items()
    }


def loso_meets(loso: dict[str, Any], bands: dict[str, Any]) -> dict[str, bool]:
    """Each issue-11 target on the whole corpus, held out."""
    thr, hrs = loso["all"]["throughput"], loso["all"]["hours"]
    t = LOSO_TARGETS

    def covered(b: dict[str, Any]) -> bool:
        c = b.get("coverage")
        return c is not None and t["coverage_low"] <= c <= t["coverage_high"]

    naive = hrs.get("naive_median_abs_error")
    return {
        "throughput_median": bool(thr["n"])
        and thr["median_abs_error"] <= t["throughput_median_abs_error"],
        "throughput_within_20": bool(thr["n"])
        and thr["within_20"] >= t["throughput_share_within_20"],
        "throughput_worst": bool(thr["n"])
        and thr["worst_abs_error"] <= t["throughput_worst_abs_error"],
        "hours_median": bool(hrs["n"]) and hrs["median_abs_error"] <= t["hours_median_abs_error"],
        "hours_vs_naive": bool(hrs["n"])
        and naive is not None
        and hrs["median_abs_error"] <= t["hours_median_vs_naive"] * naive,
        "throughput_band_coverage": covered(bands["throughput"]),
        "hours_band_coverage": covered(bands["hours"]),
    }
