"""Unit conversions and parsing of human-written quantities ("2T", "70B", "500k").

Conversions are exact arithmetic (no sources needed). Parsing errors raise
`CapacityError` naming the field, so the CLI prints one clear line.
"""

from __future__ import annotations

import math
import re

from capacity.errors import CapacityError

GIB = 2**30
SECONDS_PER_HOUR = 3600
HOURS_PER_DAY = 24
SECONDS_PER_DAY = SECONDS_PER_HOUR * HOURS_PER_DAY
TERA = 1e12
KWH_PER_MWH = 1000
G_PER_TONNE = 1e6
BITS_PER_BYTE = 8

# SI-style suffixes as used for token and parameter counts (T = 10^12, not 2^40).
_SUFFIX = {
    "": 1.0,
    "k": 1e3,
    "K": 1e3,
    "m": 1e6,
    "M": 1e6,
    "b": 1e9,
    "B": 1e9,
    "g": 1e9,
    "G": 1e9,
    "t": 1e12,
    "T": 1e12,
    "p": 1e15,
    "P": 1e15,
}
_NUMBER = re.compile(r"^\s*([+-]?(?:\d[\d_,]*\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*([a-zA-Z]?)\s*$")
# Commas only as thousands separators (4,000,000); "1,5T" is a decimal comma, refused.
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?(?:[eE][+-]?\d+)?$")


def shown(text: object, limit: int = 40) -> str:
    """A user's value as echoed in an error: one line, cut when long."""
    one = " ".join(str(text).split())
    return one if len(one) <= limit else one[: limit - 3] + "..."


def parse_quantity(
    text: str | float | int,
    *,
    field: str,
    allow_zero: bool = False,
    minimum: float | None = None,
) -> float:
    """Parse '2T', '1.5e12', '70B', '500k', '4,000,000' into a positive float.

    Raises CapacityError(field=...) for nonsense, negative or zero values.
    """
    if isinstance(text, int | float) and not isinstance(text, bool):
        value = float(text)
    else:
        if not str(text).strip():
            raise CapacityError("is empty: give a number such as 2T, 1.5e12, 70B", field=field)
        if not str(text).isascii():  # '١٢' or '１２': \d and float() would read them
            raise CapacityError(
                f"cannot read '{shown(text)}' as a number: write it with the digits 0-9 "
                "(examples: 2T, 1.5e12, 70B, 500k)",
                field=field,
            )
        match = _NUMBER.match(str(text))
        if match and "," in match.group(1) and not _THOUSANDS.match(match.group(1)):
            hint = (
                f"use a dot for decimals: {str(text).strip().replace(',', '.')}"
                if str(text).count(",") == 1
                else "write 4,000,000 or 4e6"
            )
            raise CapacityError(
                f"'{shown(text)}': commas only separate thousands; {hint}", field=field
            )
        if not match or match.group(2) not in _SUFFIX:
            raise CapacityError(
                f"cannot read '{shown(text)}' as a number (examples: 2T, 1.5e12, 70B, 500k)",
                field=field,
            )
        value = float(match.group(1).replace("_", "").replace(",", "")) * _SUFFIX[match.group(2)]
    if not math.isfinite(value):
        raise CapacityError(f"'{shown(text)}' is not a finite number", field=field)
    if value < 0 or (value == 0 and not allow_zero):
        raise CapacityError(f"must be positive, got '{shown(text)}'", field=field)
    if minimum is not None and value < minimum:
        raise CapacityError(f"must be at least {minimum:g}, got '{shown(text)}'", field=field)
    return value


def parse_int(text: str | int, *, field: str) -> int:
    value = parse_quantity(text, field=field)
    if value != int(value):
        raise CapacityError(f"must be a whole number, got '{shown(text)}'", field=field)
    return int(value)
