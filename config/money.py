"""Money as an integer count of the currency's minor unit plus an ISO code (architecture.md #1).

The one place that knows how many decimals a currency has; every app formats amounts here.
"""

from decimal import Decimal

from django.utils.translation import gettext_lazy as _

CURRENCY_CHOICES = [
    ("EUR", "Euro (€)"),
    ("USD", "US dollar ($)"),
    ("GBP", "Pound sterling (£)"),
    ("CHF", "Swiss franc"),
    ("SEK", "Swedish krona"),
    ("CAD", "Canadian dollar"),
    ("AUD", "Australian dollar"),
    ("JPY", "Japanese yen (¥)"),
    ("INR", "Indian rupee (₹)"),
]
DEFAULT_CURRENCY = "EUR"

# Currencies that Stripe charges in whole units (its "zero-decimal" list, the ones we offer).
ZERO_DECIMAL_CURRENCIES = frozenset({"JPY", "KRW", "VND", "CLP", "ISK", "UGX"})

SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "INR": "₹"}


def minor_unit_exponent(currency: str) -> int:
    return 0 if currency.upper() in ZERO_DECIMAL_CURRENCIES else 2


def format_money(amount_minor: int, currency: str) -> str:
    """``format_money(1500, "EUR") == "€15.00"``; ``format_money(1500, "JPY") == "¥1,500"``."""
    exponent = minor_unit_exponent(currency)
    major = Decimal(amount_minor).scaleb(-exponent)
    number = f"{major:,.{exponent}f}"
    symbol = SYMBOLS.get(currency.upper())
    return f"{symbol}{number}" if symbol else f"{number} {currency.upper()}"


class PricedMixin:
    """``is_free`` and ``price_display`` for a model with ``price_amount`` and ``currency``."""

    price_amount: int
    currency: str

    @property
    def is_free(self) -> bool:
        return self.price_amount == 0

    @property
    def price_display(self) -> str:
        return str(_("Free")) if self.is_free else format_money(self.price_amount, self.currency)
