"""The price field of a course or workshop in the Wagtail editor: typed in major units.

Creators think in euros and yen, not cents: "19.00" EUR or "1900" JPY is stored as the
integer count of the currency's minor unit (1900 both times, DESIGN.md #1). The price is
checked against Stripe's minimum charge for its currency (``config.money``): a price Stripe
would refuse is an editor error, not a course nobody can buy.
"""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .money import InvalidAmount, parse_major_units, price_problem, to_major_units


class MajorUnitPriceFormMixin:
    """For a page form whose model has ``price_amount`` (minor units) and ``currency``."""

    fields: Any
    initial: Any
    instance: Any
    is_bound: bool

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "price_amount" not in self.fields:
            return
        self.fields["price_amount"] = forms.CharField(
            label=_("Price"),
            required=True,
            max_length=20,
            help_text=_("In the currency's usual units: 19.00 (euros), 1900 (yen). 0 = free."),
        )
        if not self.is_bound:
            amount = getattr(self.instance, "price_amount", 0) or 0
            currency = getattr(self.instance, "currency", None) or "EUR"
            self.initial["price_amount"] = to_major_units(amount, currency) if amount else "0"

    def clean(self):
        cleaned_data = super().clean()  # type: ignore[misc]
        text = cleaned_data.get("price_amount")
        currency = cleaned_data.get("currency")
        if text is None or not currency:
            return cleaned_data
        try:
            amount = parse_major_units(str(text), currency)
        except InvalidAmount as not_an_amount:
            del cleaned_data["price_amount"]
            self.add_error("price_amount", str(not_an_amount))  # type: ignore[attr-defined]
            return cleaned_data
        too_small = price_problem(amount, currency)
        if too_small is not None:
            del cleaned_data["price_amount"]
            self.add_error("price_amount", too_small)  # type: ignore[attr-defined]
            return cleaned_data
        cleaned_data["price_amount"] = amount
        return cleaned_data
