from __future__ import annotations

import pytest

from capacity.budget import parse_budget
from capacity.errors import CapacityError
from capacity.units import parse_quantity


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2T", 2e12),
        ("1.5e12", 1.5e12),
        ("70B", 70e9),
        ("500k", 5e5),
        ("4,000,000", 4e6),
        ("7b", 7e9),
        (" 3 M ", 3e6),
        (12, 12.0),
    ],
)
def test_parse_quantity(text, value):
    assert parse_quantity(text, field="x") == value


@pytest.mark.parametrize("text", ["abc", "-5T", "0", "2X", "", "1e999", "nan"])
def test_parse_quantity_rejects(text):
    with pytest.raises(CapacityError) as err:
        parse_quantity(text, field="tokens")
    assert err.value.field == "tokens"


@pytest.mark.parametrize(
    ("text", "unit", "amount", "currency"),
    [
        ("500k gpu-hours", "gpu-hours", 5e5, None),
        ("40k node-hours", "node-hours", 4e4, None),
        ("2M EUR", "money", 2e6, "EUR"),
        ("5.76e23 flops", "flops", 5.76e23, None),
        ("60 days", "days", 60, None),
        ("€1.5M", "money", 1.5e6, "EUR"),
    ],
)
def test_parse_budget(text, unit, amount, currency):
    b = parse_budget(text)
    assert (b.unit, b.amount, b.currency) == (unit, amount, currency)


@pytest.mark.parametrize("text", ["500k", "5 parsecs", "-2M EUR", "lots gpu-hours"])
def test_parse_budget_rejects(text):
    with pytest.raises(CapacityError):
        parse_budget(text)
