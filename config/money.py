"""Money as an integer count of the currency's minor unit plus an ISO code (architecture.md #1).

The one place that knows how many decimals a currency has; every app formats amounts here.
"""

from decimal import Decimal

from django.core.exceptions import ValidationError
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

# Stripe's rules per currency, the one table the app and the Stripe emulator both read.
# Source: https://docs.stripe.com/currencies (sections "Zero-decimal currencies",
# "Three-decimal currencies" and "Minimum and maximum charge amounts"), as of 2026-12.
# Stripe's special cases (ISK, HUF, TWD, UGX amounts that must be divisible by 100) are not
# offered here.
ZERO_DECIMAL_CURRENCIES = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV"}
    | {"XAF", "XOF", "XPF"}
)
THREE_DECIMAL_CURRENCIES = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})

# Stripe's minimum charge amount per settlement currency, in the currency's minor unit (a
# smaller Checkout Session is refused with ``amount_too_small``). Currencies missing here are
# not checked.
MINIMUM_CHARGE = {
    "USD": 50,
    "AED": 200,
    "AUD": 50,
    "BGN": 100,
    "BRL": 50,
    "CAD": 50,
    "CHF": 50,
    "CZK": 1500,
    "DKK": 250,
    "EUR": 50,
    "GBP": 30,
    "HKD": 400,
    "INR": 50,
    "JPY": 50,
    "MXN": 1000,
    "MYR": 200,
    "NOK": 300,
    "NZD": 50,
    "PLN": 200,
    "RON": 200,
    "SEK": 300,
    "SGD": 50,
    "THB": 1000,
}


SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "INR": "₹"}


def minor_unit_exponent(currency: str) -> int:
    """How many digits of an amount come after the decimal point: EUR 2, JPY 0, KWD 3."""
    code = currency.upper()
    if code in ZERO_DECIMAL_CURRENCIES:
        return 0
    if code in THREE_DECIMAL_CURRENCIES:
        return 3
    return 2


def minimum_charge(currency: str) -> int | None:
    """Stripe's smallest chargeable amount in ``currency``'s minor unit (None: unchecked)."""
    return MINIMUM_CHARGE.get(currency.upper())


class InvalidAmount(ValueError):
    """Text that is not an amount of this currency; the message is fit to show."""


def parse_major_units(text: str, currency: str) -> int:
    """``"19.00"`` EUR -> 1900, ``"1900"`` JPY -> 1900, ``"19"`` EUR -> 1900, exactly.

    Accepts digits with at most as many decimals as the currency has (a comma as the decimal
    mark too); refuses negatives, more decimals, and anything else with ``InvalidAmount``.
    """
    exponent = minor_unit_exponent(currency)
    cleaned = text.strip().replace(" ", "").replace(",", ".")
    whole, _dot, fraction = cleaned.partition(".")
    if not whole.isdigit() or (fraction and not fraction.isdigit()) or cleaned.endswith("."):
        raise InvalidAmount(
            _("Enter an amount such as %(example)s.") % {"example": _example(exponent)}
        )
    if len(fraction) > exponent:
        if exponent == 0:
            raise InvalidAmount(
                _("%(currency)s has no smaller unit: enter a whole amount.")
                % {"currency": currency.upper()}
            )
        raise InvalidAmount(_("Enter at most %(places)d decimals.") % {"places": exponent})
    return int(whole) * 10**exponent + (int(fraction.ljust(exponent, "0")) if fraction else 0)


def _example(exponent: int) -> str:
    return "1900" if exponent == 0 else "19." + "0" * exponent


def to_major_units(amount_minor: int, currency: str) -> str:
    """The plain amount a creator typed: 1900 EUR -> ``"19.00"``, 1900 JPY -> ``"1900"``."""
    exponent = minor_unit_exponent(currency)
    return f"{Decimal(amount_minor).scaleb(-exponent):.{exponent}f}"


def price_problem(amount_minor: int, currency: str) -> str | None:
    """Why a price can't be sold through Stripe, or None. 0 is free and always fine."""
    minimum = minimum_charge(currency)
    if amount_minor == 0 or minimum is None or amount_minor >= minimum:
        return None
    return _(
        "Stripe can't charge less than %(minimum)s: enter at least that, or 0 to make it free."
    ) % {"minimum": format_money(minimum, currency)}


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

    def clean_price(self) -> None:
        """For the model's ``clean``: a price Stripe would refuse is an error on the field."""
        problem = price_problem(self.price_amount, self.currency)
        if problem is not None:
            raise ValidationError({"price_amount": problem})

    @property
    def price_display(self) -> str:
        return str(_("Free")) if self.is_free else format_money(self.price_amount, self.currency)


def to_minor_units(amount_major: Decimal, currency: str) -> int:
    """``to_minor_units(Decimal("12.50"), "EUR") == 1250``: what a person typed, as stored.

    Raises ``ValueError`` when the amount has more decimals than the currency has.
    """
    scaled = Decimal(amount_major).scaleb(minor_unit_exponent(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount_major} has too many decimals for {currency}")
    return int(scaled)
