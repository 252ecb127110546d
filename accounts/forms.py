from allauth.account.forms import LoginForm as AllauthLoginForm
from allauth.account.forms import SignupForm as AllauthSignupForm
from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .models import User
from .timezones import is_valid_timezone, timezone_names

SEND_HOUR_CHOICES = [(hour, f"{hour:02d}:00") for hour in range(24)]


class LoginForm(AllauthLoginForm):
    """allauth's sign-in form with the site's wording ("Remember Me" -> sentence case)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "remember" in self.fields:
            self.fields["remember"].label = _("Keep me signed in")


class SignupForm(AllauthSignupForm):
    """allauth's sign-up form plus the visitor's time zone, guessed by the browser.

    The guess fills a hidden field (``static/js/site.js``); a missing or unknown guess is not
    the visitor's mistake, so it falls back to the site's zone instead of failing the form.
    """

    time_zone = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean_time_zone(self) -> str:
        guess = self.cleaned_data.get("time_zone", "")
        return guess if is_valid_timezone(guess) else settings.TIME_ZONE


class ProfileForm(forms.ModelForm):
    time_zone = forms.ChoiceField(
        label=_("Time zone"),
        choices=[(name, name.replace("_", " ")) for name in timezone_names()],
        help_text=User._meta.get_field("time_zone").help_text,
    )
    lesson_send_hour = forms.TypedChoiceField(
        label=_("Lesson e-mails arrive at"),
        choices=SEND_HOUR_CHOICES,
        coerce=int,
        help_text=User._meta.get_field("lesson_send_hour").help_text,
    )

    class Meta:
        model = User
        fields = ["first_name", "last_name", "time_zone", "lesson_send_hour"]
