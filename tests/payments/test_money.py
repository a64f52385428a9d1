from decimal import Decimal

import pytest

from payments import money


@pytest.mark.parametrize(
    ("minor", "currency", "shown"),
    [
        (500, "USD", "$5.00"),
        (500, "JPY", "¥500"),
        (1500, "KWD", "KWD 1.500"),
        (123456, "EUR", "€1,234.56"),
    ],
)
def test_amounts_are_shown_in_major_units_for_the_currency(minor, currency, shown):
    assert money.format_minor(minor, currency) == shown


@pytest.mark.parametrize(
    ("typed", "currency", "minor"),
    [("5", "USD", 500), ("5.00", "USD", 500), ("0.01", "USD", 1), ("500", "JPY", 500),
     ("1.5", "KWD", 1500), ("1,234.56", "EUR", 123456), (Decimal("19.99"), "USD", 1999)],
)  # fmt: skip
def test_major_units_convert_exactly_to_minor_units(typed, currency, minor):
    assert money.major_to_minor(typed, currency) == minor


@pytest.mark.parametrize(
    ("typed", "currency"),
    [("5.001", "USD"), ("500.5", "JPY"), ("1.0005", "KWD"), ("abc", "USD"), ("NaN", "USD"),
     ("Infinity", "USD")],
)  # fmt: skip
def test_more_decimals_than_the_currency_has_is_an_error_not_a_rounding(typed, currency):
    with pytest.raises(money.MoneyError):
        money.major_to_minor(typed, currency)


def test_unknown_currency_is_refused():
    with pytest.raises(money.MoneyError):
        money.exponent("XYZ")
    assert not money.is_currency("usd")
