"""Money: minor units everywhere; what a person types is read exactly or refused
(SPEC 2: "5,00" is never 500)."""

import pytest

from core import money


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


# What a hurried person, or a person in another locale, types: each is either read as
# exactly the amount they meant, or refused (None) — never read as another number.
AMOUNTS = [
    # plain digits, with and without decimals
    ("5", "USD", 500), ("5", "JPY", 5), ("5", "KWD", 5000),
    ("5.00", "USD", 500), ("0.01", "USD", 1), ("0.5", "USD", 50), (".5", "USD", 50),
    ("5.", "USD", 500), ("1234.56", "USD", 123456), ("1.5", "KWD", 1500),
    ("0.001", "KWD", 1), ("12.345", "KWD", 12345), ("500", "JPY", 500),
    ("007", "USD", 700), ("0", "USD", 0),
    # spaces around a paste are fine; inside are not
    ("  12.50 ", "USD", 1250), ("\t5\n", "JPY", 5), ("1 234.56", "USD", None),
    ("1\u00a0234", "JPY", None),
    # other locales' separators: never guessed
    ("5,00", "USD", None), ("2,50", "USD", None), ("1,234.56", "USD", None),
    ("1.234,56", "USD", None), ("5,000", "JPY", None), ("1'234.50", "USD", None),
    ("1.500,000", "KWD", None), ("5,5", "KWD", None),
    # more decimals than the currency has: refused, never rounded
    ("5.001", "USD", None), ("500.5", "JPY", None), ("500.0", "JPY", None),
    ("1.0005", "KWD", None), ("5.000", "USD", None),
    # signs, exponents, underscores, symbols, words
    ("-1", "USD", None), ("+5", "USD", None), ("1e2", "USD", None), ("1E2", "JPY", None),
    ("9e999999", "USD", None), ("1_000", "USD", None), ("$5", "USD", None),
    ("5 USD", "USD", None), ("€5", "USD", None), ("¥500", "JPY", None), ("five", "USD", None),
    ("NaN", "USD", None), ("Infinity", "KWD", None), ("0x10", "USD", None),
    (".", "USD", None), ("1.2.3", "USD", None), ("", "USD", None), ("   ", "JPY", None),
    # digits of other scripts (Arabic-Indic, Devanagari, fullwidth)
    ("\u0665", "USD", None), ("\u096b.\u0966\u0966", "USD", None), ("\uff15", "JPY", None),
    # huge
    ("1000000000000000", "JPY", 10**15), ("1000000000000001", "JPY", None),
    ("9" * 40, "USD", None), ("1" + "0" * 5000, "KWD", None),
]  # fmt: skip


@pytest.mark.parametrize(("typed", "currency", "minor"), AMOUNTS)
def test_typed_amounts_are_read_exactly_or_refused(typed, currency, minor):
    if minor is None:
        with pytest.raises(money.MoneyError):
            money.parse_major(typed, currency)
    else:
        assert money.parse_major(typed, currency) == minor


def test_there_are_enough_cases_in_every_exponent():
    for currency in ("USD", "JPY", "KWD"):
        assert sum(1 for case in AMOUNTS if case[1] == currency) >= 8
    assert len(AMOUNTS) >= 40


def test_a_refusal_says_which_form_is_expected():
    with pytest.raises(money.MoneyError, match=r"like 12\.50 \(no commas"):
        money.parse_major("5,00", "USD")
    with pytest.raises(money.MoneyError, match="like 1250"):
        money.parse_major("1,250", "JPY")
    with pytest.raises(money.MoneyError, match="at most 3 decimal places"):
        money.parse_major("1.0005", "KWD")


def test_an_amount_is_offered_back_in_the_form_it_is_typed():
    assert money.format_input(123456, "USD") == "1234.56"
    assert money.format_input(5000, "JPY") == "5000"
    assert money.parse_major(money.format_input(1500, "KWD"), "KWD") == 1500


def test_unknown_currency_is_refused():
    with pytest.raises(money.MoneyError):
        money.exponent("XYZ")
    assert not money.is_currency("usd")
