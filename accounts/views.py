from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import redirect
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _
from django.views.generic import UpdateView

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
