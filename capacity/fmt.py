"""Numbers for people: counts, FLOPs, hours, money and percentages, in one place.

The CLI, the HTML report and the proposal all format through these functions, so the
same figure reads the same everywhere. Every function takes a finite number and refuses
NaN and infinities (ValueError): a non-finite figure is a defect upstream, and a page
showing 'inf' hides it. Where a value may be missing, the caller decides what to show
(`or_missing`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# Decimal suffixes for counts (parameters, tokens, tokens/s): 1e9 is a "B" (billion),
# as model sizes are written ("7B"), not a "G".
COUNT_SUFFIXES: tuple[tuple[str, float], ...] = (
    ("P", 1e15),
    ("T", 1e12),
    ("B", 1e9),
    ("M", 1e6),
    ("k", 1e3),
)
MISSING = "n/a"


def finite(value: float) -> float:
    """`value` as a float; ValueError when it is NaN or infinite."""
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"cannot format a non-finite number ({v})")
    return v


def count(value: float, digits: int = 3) -> str:
    """A count with a decimal suffix and `digits` significant figures: 1.234e12 -> '1.23T'.

    The value is rounded before the suffix is chosen, so 999.7e6 reads '1B' (not
    '1e+03M'); counts beyond 1,000P fall back to scientific notation.
    """
    v = finite(value)
    if v == 0:
        return "0"
    rounded = abs(float(f"{v:.{digits}g}"))
    for suffix, scale in COUNT_SUFFIXES:
        if rounded >= scale:
            scaled = v / scale
            if abs(float(f"{scaled:.{digits}g}")) >= 1000:  # beyond the largest suffix
                return f"{v:.{digits}g}"
            return f"{scaled:.{digits}g}{suffix}"
    return f"{v:.{digits}g}"


def flops(value: float) -> str:
    """A FLOP count (not a rate) in scientific notation: 1.234e+23."""
    return f"{finite(value):.3e}"


def sci(value: float, digits: int = 3) -> str:
    """Compact scientific form for budgets as people write them: 1e24 -> '1e24',
    5.76e23 -> '5.76e23' (no '+', no padding zeros)."""
    return f"{finite(value):.{digits}g}".replace("e+", "e")


def num(value: float, digits: int = 3) -> str:
    """`digits` significant figures with thousands separators, scientific only >= 1e15."""
    v = finite(value)
    if v == 0:
        return "0"
    if abs(v) >= 1e15:
        return f"{v:.{digits - 1}e}"
    mag = math.floor(math.log10(abs(v)))
    decimals = max(0, digits - 1 - mag)
    return f"{v:,.{decimals}f}"


def integer(value: float) -> str:
    """Rounded to a whole number with thousands separators: GPU-hours, node-hours."""
    return f"{finite(value):,.0f}"


def fixed(value: float, decimals: int = 1) -> str:
    """Fixed decimals with thousands separators: days, MWh, tonnes ('1,234.5')."""
    return f"{finite(value):,.{decimals}f}"


def hours(value: float) -> str:
    """Hours of wall-clock or allocation, whole: '12,345 h'."""
    return f"{integer(value)} h"


def money(amount: float, currency: str) -> str:
    """A whole amount with its currency code: '1,234,567 EUR'."""
    return f"{integer(amount)} {currency}"


def pct(fraction: float, digits: int = 1) -> str:
    """A fraction as a percentage with a space before the sign: 0.123 -> '12.3 %'.

    Tiny non-zero shares keep two significant figures instead of reading '0.0 %'.
    """
    p = finite(fraction) * 100
    if p != 0 and abs(p) < 0.1:
        return f"{p:.2g} %"
    return f"{p:.{digits}f} %"


def signed_pct(fraction: float) -> str:
    """A relative error, sign always shown, whole percent: -0.123 -> '-12%'."""
    return f"{finite(fraction):+.0%}"


def or_missing(fn: Callable[[T], str], value: T | None, missing: str = MISSING) -> str:
    """`fn(value)`, or `missing` when the value is unknown (None)."""
    return missing if value is None else fn(value)
