"""Money: integers of minor units everywhere; the one place that converts to and
from major units (exactly, with Decimal) and formats for people.
"""

import re
from decimal import Decimal

# ISO 4217 minor-unit exponents. Currencies not listed here are refused.
_ZERO_DECIMAL = {
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI",
    "VND", "VUV", "XAF", "XOF", "XPF",
}  # fmt: skip
_THREE_DECIMAL = {"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"}
_TWO_DECIMAL = {
    "AED", "ARS", "AUD", "BGN", "BRL", "CAD", "CHF", "CNY", "COP", "CZK", "DKK", "EGP",
    "EUR", "GBP", "HKD", "HUF", "IDR", "ILS", "INR", "MAD", "MXN", "MYR", "NGN", "NOK",
    "NZD", "PEN", "PHP", "PKR", "PLN", "QAR", "RON", "RSD", "SAR", "SEK", "SGD", "THB",
    "TRY", "TWD", "UAH", "USD", "ZAR",
}  # fmt: skip

CURRENCIES: dict[str, int] = (
    {code: 0 for code in _ZERO_DECIMAL}
    | {code: 2 for code in _TWO_DECIMAL}
    | {code: 3 for code in _THREE_DECIMAL}
)

_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CAD": "CA$", "AUD": "A$"}

# The largest amount we accept, in minor units (fits a signed 64-bit column with room).
MAX_AMOUNT = 10**15


class MoneyError(ValueError):
    """Input that cannot be turned into an exact amount of a currency."""


def is_currency(code: str) -> bool:
    return code in CURRENCIES


def exponent(currency: str) -> int:
    try:
        return CURRENCIES[currency]
    except KeyError:
        raise MoneyError(f"Unsupported currency '{currency}'") from None


def minor_to_major(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-exponent(currency))


# Digits with at most one dot, ASCII only: what SPEC 2 accepts from a person.
_MAJOR_INPUT = re.compile(r"(?P<whole>[0-9]*)(?:\.(?P<fraction>[0-9]*))?", re.ASCII)
_MAX_INPUT_LENGTH = 64


def input_hint(currency: str) -> str:
    """The form an amount of this currency is typed in, for an error message."""
    places = exponent(currency)
    example = "1250" if places == 0 else "12." + "5" + "0" * (places - 1)
    decimals = "digits only" if places == 0 else "digits, with a dot before the decimals"
    return f"Enter the amount as {decimals}, like {example} (no commas, spaces or signs)"


def parse_major(text: str, currency: str) -> int:
    """What a person typed, in major units, as an exact amount of minor units:
    '5.00' USD -> 500, '1250' JPY -> 1250, '1.5' KWD -> 1500.

    Never a guess (SPEC 2): only ASCII digits with at most one dot, spaces around
    allowed; a comma, a space inside, a sign, an exponent, an underscore, a symbol or
    another script's digits is refused, and so are more decimals than the currency
    has ('5.001' USD is not rounded) and amounts over MAX_AMOUNT. Raises MoneyError
    with a message for the person."""
    places = exponent(currency)
    text = (text or "").strip()
    if not text:
        raise MoneyError("Enter an amount")
    match = _MAJOR_INPUT.fullmatch(text) if len(text) <= _MAX_INPUT_LENGTH else None
    if match is None or not (match["whole"] or match["fraction"]):
        raise MoneyError(input_hint(currency))
    fraction = match["fraction"] or ""
    if len(fraction) > places:
        if places == 0:
            raise MoneyError(f"{currency} has no decimal places")
        raise MoneyError(f"{currency} amounts have at most {places} decimal places")
    whole = match["whole"].lstrip("0")
    if len(whole) > len(str(MAX_AMOUNT)):
        raise MoneyError("That is more than the largest amount we accept")
    minor = int(whole or "0") * 10**places + int(fraction.ljust(places, "0") or "0")
    if minor > MAX_AMOUNT:
        raise MoneyError("That is more than the largest amount we accept")
    return minor


def format_input(minor: int, currency: str) -> str:
    """An amount as a person would type it back (no grouping): 123456 USD -> '1234.56'."""
    places = exponent(currency)
    return f"{minor_to_major(minor, currency):.{places}f}"


def format_major(minor: int, currency: str) -> str:
    """The major-unit number only, with the currency's decimals: 500 USD -> '5.00'."""
    places = exponent(currency)
    return f"{minor_to_major(minor, currency):,.{places}f}"


def has_symbol(currency: str) -> bool:
    """Whether formatted amounts show a symbol ($5.00) rather than the code (KWD 1.500)."""
    return currency in _SYMBOLS


def format_minor(minor: int, currency: str) -> str:
    """For people: 500 USD -> '$5.00', 500 JPY -> '¥500', 1500 KWD -> 'KWD 1.500'."""
    number = format_major(abs(minor), currency)
    sign = "-" if minor < 0 else ""
    symbol = _SYMBOLS.get(currency)
    if symbol:
        return f"{sign}{symbol}{number}"
    return f"{sign}{currency} {number}"
