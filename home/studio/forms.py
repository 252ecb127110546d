from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from config.money import CURRENCY_CHOICES
from home.models import CreatorApplication


class CreatorApplicationForm(forms.ModelForm):
    class Meta:
        model = CreatorApplication
        fields = ["display_name", "niche", "bio"]
        widgets = {"bio": forms.Textarea(attrs={"rows": 5})}


class DiscountCodeForm(forms.Form):
    """A creator's new follower code; ``payments.discounts.create_code`` checks the rules."""

    PERCENT = "percent"
    AMOUNT = "amount"

    name = forms.CharField(
        label=_("Code"),
        max_length=40,
        help_text=_("What followers type or see in your link, e.g. MAYA20."),
    )
    item = forms.ChoiceField(label=_("For"), required=False)
    kind = forms.ChoiceField(
        label=_("Discount"),
        choices=[(PERCENT, _("Percent off")), (AMOUNT, _("Fixed amount off"))],
        widget=forms.RadioSelect,
        initial=PERCENT,
    )
    value = forms.DecimalField(
        label=_("How much off"),
        min_value=Decimal("0.01"),
        max_digits=10,
        decimal_places=2,
        help_text=_("A percentage, or an amount in the item's currency (e.g. 5 or 4.50)."),
    )
    currency = forms.ChoiceField(
        label=_("Currency of a fixed amount"),
        choices=[("", _("The item's currency")), *CURRENCY_CHOICES],
        required=False,
        help_text=_("Only for a fixed amount on all your items: it applies to items in it."),
    )
    expires_at = forms.DateTimeField(
        label=_("Expires"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text=_("Optional. In your time zone."),
    )
    max_uses = forms.IntegerField(
        label=_("Maximum uses"), required=False, min_value=1, help_text=_("Optional.")
    )

    def __init__(self, *args, items, **kwargs):
        super().__init__(*args, **kwargs)
        self.items = {str(item.pk): item for item in items}
        item_field = self.fields["item"]
        assert isinstance(item_field, forms.ChoiceField)  # noqa: S101  # for the type checker
        item_field.choices = [
            ("", _("All my courses and workshops")),
            *[(pk, item.title) for pk, item in self.items.items()],
        ]

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        value: Decimal = data["value"]
        kwargs = {
            "name": data["name"],
            "item": self.items.get(data["item"] or ""),
            "currency": data["currency"],
            "expires_at": data["expires_at"],
            "max_uses": data["max_uses"],
        }
        if data["kind"] == self.PERCENT:
            if value != value.to_integral_value():
                raise forms.ValidationError(_("A percentage is a whole number."))
            kwargs["percent_off"] = int(value)
        else:
            kwargs["amount_off_major"] = value
        return kwargs
