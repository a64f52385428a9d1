"""Money: integers of minor units everywhere; the one place that converts to and
from major units (exactly, with Decimal) and formats for people.
"""

from decimal import Decimal, InvalidOperation

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


def major_to_minor(value: str | Decimal, currency: str) -> int:
    """'5.00' USD -> 500. More decimals than the currency has is an error, never a
    rounding: '5.001' USD and '500.5' JPY are refused."""
    places = exponent(currency)
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        raise MoneyError("Enter a number") from None
    if not amount.is_finite():
        raise MoneyError("Enter a number")
    minor = amount.scaleb(places)
    if minor != minor.to_integral_value():
        if places == 0:
            raise MoneyError(f"{currency} has no decimal places")
        raise MoneyError(f"{currency} amounts have at most {places} decimal places")
    return int(minor)


def format_major(minor: int, currency: str) -> str:
    """The major-unit number only, with the currency's decimals: 500 USD -> '5.00'."""
    places = exponent(currency)
    return f"{minor_to_major(minor, currency):,.{places}f}"


def format_minor(minor: int, currency: str) -> str:
    """For people: 500 USD -> '$5.00', 500 JPY -> '¥500', 1500 KWD -> 'KWD 1.500'."""
    number = format_major(abs(minor), currency)
    sign = "-" if minor < 0 else ""
    symbol = _SYMBOLS.get(currency)
    if symbol:
        return f"{sign}{symbol}{number}"
    return f"{sign}{currency} {number}"
