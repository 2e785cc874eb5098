"""Budgets written by people: '500k gpu-hours', '40k node-hours', '2M EUR', '5.76e23 flops'."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict

from capacity import fmt
from capacity.errors import CapacityError
from capacity.fmt import sci  # noqa: F401  (re-exported: capacity.budget.sci)
from capacity.units import parse_quantity

BudgetUnit = Literal["flops", "gpu-hours", "node-hours", "money", "days"]

_UNIT_WORDS: dict[str, BudgetUnit] = {
    "flop": "flops",
    "flops": "flops",
    "gpu-hours": "gpu-hours",
    "gpu-hour": "gpu-hours",
    "gpuh": "gpu-hours",
    "gpu-h": "gpu-hours",
    "gpu hours": "gpu-hours",
    "node-hours": "node-hours",
    "node-hour": "node-hours",
    "nodeh": "node-hours",
    "node-h": "node-hours",
    "node hours": "node-hours",
    "days": "days",
    "day": "days",
    "d": "days",
}
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_SYMBOLS = {"€": "EUR", "$": "USD", "£": "GBP"}


class Budget(BaseModel):
    model_config = ConfigDict(frozen=True)

    amount: float
    unit: BudgetUnit
    currency: str | None = None

    def describe(self) -> str:
        """The budget as a person writes it: '1e24 FLOPs', '500k gpu-hours', '2M EUR'."""

        if self.unit == "flops":
            return f"{fmt.sci(self.amount)} FLOPs"
        what = self.currency if self.unit == "money" else self.unit
        return f"{fmt.count(self.amount)} {what}"


def parse_budget(text: str, *, field: str = "budget") -> Budget:
    """Read '<number> <unit>' where unit is flops, gpu-hours, node-hours, days or a currency."""
    raw = text.strip()
    for sym, code in _SYMBOLS.items():
        if raw.startswith(sym):
            raw = f"{raw[len(sym) :]} {code}"
    match = re.match(r"^\s*([^\s]+)\s*(.*)$", raw)
    if not match or not match.group(2):
        raise CapacityError(
            f"'{text}' needs a unit: e.g. '500k gpu-hours', '40k node-hours', '2M EUR', "
            "'5.76e23 flops', '60 days'",
            field=field,
        )
    amount = parse_quantity(match.group(1), field=field)
    unit_text = match.group(2).strip()
    if _CURRENCY.match(unit_text.upper()) and unit_text.lower() not in _UNIT_WORDS:
        return Budget(amount=amount, unit="money", currency=unit_text.upper())
    unit = _UNIT_WORDS.get(unit_text.lower().replace("_", "-"))
    if unit is None:
        raise CapacityError(
            f"unknown budget unit '{unit_text}' (flops, gpu-hours, node-hours, days, or a "
            "3-letter currency such as EUR)",
            field=field,
        )
    return Budget(amount=amount, unit=unit)
