from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import redirect
from django.urls import reverse_lazy
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


@require_POST
@login_required
def confirm_email_works(request):
    """The dashboard banner's button: the learner says their bouncing address is right."""
    services.confirm_email_works(user=request.user)
    messages.success(request, _("Thanks: your lessons will be sent to your address again."))
    return redirect("dashboard")
