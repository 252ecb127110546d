"""The public side of the studio: the "become a creator" application form."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from accounts.decorators import verified_email_required
from home.models import CreatorApplication, CreatorPage

from . import services
from .forms import CreatorApplicationForm


@login_required
@verified_email_required
def apply(request):
    """GET shows the form (or where the user stands); POST records an application."""
    pending = CreatorApplication.objects.filter(
        applicant=request.user, status=CreatorApplication.Status.PENDING
    ).first()
    storefront = CreatorPage.objects.filter(creator=request.user).first()
    form = CreatorApplicationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.apply(applicant=request.user, **form.cleaned_data)
        except services.ApplicationRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(
                request, _("Thank you! We will e-mail you when your application is decided.")
            )
            return redirect("studio_apply")
    status = 400 if request.method == "POST" else 200
    return TemplateResponse(
        request,
        "studio/apply.html",
        {"form": form, "pending": pending, "storefront": storefront},
        status=status,
    )
