"""Amounts in a currency's minor unit: how many decimals a currency has and how to show one."""

from __future__ import annotations

from config import money

# One table for the app and the emulator: decimals and minimum charges per currency.
ZERO_DECIMAL = frozenset(code.lower() for code in money.ZERO_DECIMAL_CURRENCIES)
THREE_DECIMAL = frozenset(code.lower() for code in money.THREE_DECIMAL_CURRENCIES)
MINIMUM_CHARGE = {code.lower(): amount for code, amount in money.MINIMUM_CHARGE.items()}

_SYMBOLS = {
    "usd": "$",
    "eur": "€",
    "gbp": "£",
    "jpy": "¥",
    "inr": "₹",
    "krw": "₩",
    "cad": "CA$",
    "aud": "A$",
    "nzd": "NZ$",
}


def decimals(currency: str) -> int:
    """How many digits of the amount come after the decimal point in ``currency``."""
    return money.minor_unit_exponent(currency)


def format_amount(amount: int, currency: str) -> str:
    """Show ``amount`` minor units to a reader: 1500 JPY -> ``¥1,500``, 1500 EUR -> ``€15.00``.

    Integer arithmetic only, so no float ever rounds a price.
    """
    places = decimals(currency)
    sign = "-" if amount < 0 else ""
    whole, fraction = divmod(abs(amount), 10**places)
    number = f"{whole:,}" + (f".{fraction:0{places}d}" if places else "")
    symbol = _SYMBOLS.get(currency.lower())
    if symbol is None:
        return f"{sign}{number} {currency.upper()}"
    return f"{sign}{symbol}{number}"
