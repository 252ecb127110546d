from allauth.account.internal.flows.email_verification import send_verification_email_for_user
from allauth.account.utils import has_verified_email
from django.contrib import messages
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
from django.views.generic import UpdateView

from . import services
from .forms import ProfileForm
from .models import User
from .services import update_learner_settings


class ProfileView(LoginRequiredMixin, UpdateView):
    """The learner's own settings: name, time zone and lesson send hour."""

    form_class = ProfileForm
    template_name = "accounts/profile.html"
    success_url = reverse_lazy("dashboard")

    def get_object(self, queryset=None):
        return self.request.user

    def form_valid(self, form):
        # The form validated the values; the service saves them and reschedules lessons.
        learner = User.objects.get(pk=self.object.pk)
        update_learner_settings(user=learner, **form.cleaned_data)
        messages.success(self.request, _("Your settings are saved."))
        return redirect(self.success_url)


def _safe_next(request, default: str) -> str:
    candidate = request.POST.get("next") or request.GET.get(REDIRECT_FIELD_NAME, "")
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


@require_POST
@login_required
def resend_confirmation(request):
    """Send the confirmation e-mail again (allauth rate-limits it: one per three minutes)."""
    if has_verified_email(request.user):
        messages.info(request, _("Your e-mail address is already confirmed."))
    elif send_verification_email_for_user(request, request.user):
        messages.success(
            request, _("We sent the confirmation e-mail again. Open its link, then come back.")
        )
    else:
        messages.warning(
            request, _("We sent one a moment ago. Check your inbox (and spam) before asking again.")
        )
    return redirect(_safe_next(request, reverse("dashboard")))


def admin_login(request):
    """The Wagtail admin's sign-in is allauth's: one way in, with its rate limits, lockout and
    mandatory e-mail verification. No password is accepted here.

    Someone already signed in who may not use the admin gets a 403 rather than the sign-in
    page (which would send them straight back here, round and round).
    """
    next_url = _safe_next(request, reverse("wagtailadmin_home"))
    if request.user.is_authenticated:
        if request.user.has_perm("wagtailadmin.access_admin"):
            return redirect(next_url)
        raise PermissionDenied
    return redirect_to_login(next_url)


@require_POST
@login_required
def confirm_email_works(request):
    """The dashboard banner's button: the learner says their bouncing address is right."""
    services.confirm_email_works(user=request.user)
    messages.success(request, _("Thanks: your lessons will be sent to your address again."))
    return redirect("dashboard")
