"""The one formatter module: the same figure reads the same in the CLI, report and proposal."""

from __future__ import annotations

import math

import pytest

from capacity import fmt


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.234e12, "1.23T"),
        (7e9, "7B"),
        (999.7e6, "1B"),  # rounded before the suffix is chosen, not '1e+03M'
        (999.7, "1k"),
        (999.4e6, "999M"),
        (0, "0"),
        (-2.5e9, "-2.5B"),
        (12.5, "12.5"),
        (3e18, "3e+18"),  # beyond the largest suffix
    ],
)
def test_count(value, text):
    assert fmt.count(value) == text


@pytest.mark.parametrize(
    "fn",
    [fmt.count, fmt.flops, fmt.num, fmt.integer, fmt.hours, fmt.fixed, fmt.pct, fmt.signed_pct],
)
@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan])
def test_non_finite_refused(fn, bad):
    with pytest.raises(ValueError, match="non-finite"):
        fn(bad)


def test_money_refuses_non_finite():
    with pytest.raises(ValueError):
        fmt.money(math.inf, "EUR")


def test_num_pct_money_hours():
    assert fmt.num(1234.5) == "1,234"
    assert fmt.num(0.01234) == "0.0123"
    assert fmt.num(0) == "0"
    assert fmt.num(-1500) == "-1,500"
    assert fmt.num(2e15) == "2.00e+15"
    assert fmt.integer(1234567.6) == "1,234,568"
    assert fmt.hours(12.4) == "12 h"
    assert fmt.fixed(1234.56) == "1,234.6"
    assert fmt.money(1234567.8, "EUR") == "1,234,568 EUR"
    assert fmt.money(-5, "USD") == "-5 USD"
    assert fmt.pct(0.123) == "12.3 %"
    assert fmt.pct(0.0004) == "0.04 %"  # tiny shares keep two significant figures
    assert fmt.pct(0) == "0.0 %"
    assert fmt.signed_pct(-0.123) == "-12%" and fmt.signed_pct(0.05) == "+5%"
    assert fmt.flops(1.234e23) == "1.234e+23"


def test_or_missing():
    assert fmt.or_missing(fmt.integer, None) == "n/a"
    assert fmt.or_missing(fmt.integer, None, "-") == "-"
    assert fmt.or_missing(fmt.integer, 3.0) == "3"


def test_sci_as_budgets_are_written():
    assert fmt.sci(1e24) == "1e24"
    assert fmt.sci(5.76e23) == "5.76e23"
    assert fmt.sci(0.5) == "0.5"
