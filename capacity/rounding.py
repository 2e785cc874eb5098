"""Rounding that keeps sums: displayed parts add up to the displayed total.

Largest-remainder (Hamilton) rounding: round every part down, then give the missing
units to the parts with the largest remainders. Rounding each part on its own shows,
e.g., quarters of 1,723 + 32,889 + 32,889 + 1,042 = 68,543 under a total of 68,544.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def largest_remainder(values: Sequence[float], decimals: int = 0) -> list[float]:
    """`values` rounded to `decimals` so that they sum to their rounded sum (values >= 0)."""
    if not values:
        return []
    scale = 10**decimals
    scaled = [v * scale for v in values]
    floors = [math.floor(s) for s in scaled]
    target = round(sum(scaled))
    missing = target - sum(floors)
    order = sorted(
        range(len(scaled)), key=lambda i: (scaled[i] - floors[i], scaled[i]), reverse=True
    )
    for i in order[: max(0, missing)]:
        floors[i] += 1
    return [f / scale for f in floors]
