from django import forms
from django.utils.translation import gettext_lazy as _

from home.models import REVIEW_BODY_MAX_LENGTH

RATING_CHOICES = [(n, _("%(n)d of 5 stars") % {"n": n}) for n in range(5, 0, -1)]


class ReviewForm(forms.Form):
    rating = forms.TypedChoiceField(
        label=_("Your rating"), choices=RATING_CHOICES, coerce=int, widget=forms.RadioSelect
    )
    body = forms.CharField(
        label=_("Your review"),
        required=False,
        max_length=REVIEW_BODY_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": REVIEW_BODY_MAX_LENGTH}),
    )


class ReplyForm(forms.Form):
    reply = forms.CharField(
        label=_("Your reply"),
        required=False,
        max_length=REVIEW_BODY_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": REVIEW_BODY_MAX_LENGTH}),
    )
