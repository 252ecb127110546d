"""Amounts in a currency's minor unit: how many decimals a currency has and how to show one."""

from __future__ import annotations

# Stripe's lists: https://docs.stripe.com/currencies#zero-decimal (and the three-decimal ones).
ZERO_DECIMAL = frozenset(
    [
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    ]
)
THREE_DECIMAL = frozenset(["bhd", "jod", "kwd", "omr", "tnd"])

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

# Stripe's minimum charge per currency, in minor units (docs.stripe.com/currencies#minimum-and-
# maximum-charge-amounts). Currencies missing here are not checked.
MINIMUM_CHARGE = {
    "usd": 50,
    "eur": 50,
    "gbp": 30,
    "jpy": 50,
    "cad": 50,
    "aud": 50,
    "chf": 50,
    "nzd": 50,
    "sgd": 50,
    "inr": 50,
    "dkk": 250,
    "nok": 300,
    "sek": 300,
    "pln": 200,
    "hkd": 400,
    "mxn": 1000,
}


def decimals(currency: str) -> int:
    """How many digits of the amount come after the decimal point in ``currency``."""
    currency = currency.lower()
    if currency in ZERO_DECIMAL:
        return 0
    if currency in THREE_DECIMAL:
        return 3
    return 2


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
