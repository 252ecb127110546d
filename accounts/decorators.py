"""Guards for the views that commit a learner to something (enrol, buy, register, apply)."""

from functools import wraps

from allauth.account.utils import has_verified_email
from django.template.response import TemplateResponse


def verified_email_required(view):
    """A signed-in account whose address is not confirmed is asked to confirm it first (403,
    with a button that sends the confirmation e-mail again). Visitors pass through: the view
    sends them to sign in as it always did.

    Mandatory verification keeps unconfirmed accounts out of allauth's sign-in; this also
    covers sessions made any other way (accounts made by staff, older sessions).
    """

    @wraps(view)
    def guarded(request, *args, **kwargs):
        user = request.user
        if user.is_authenticated and not has_verified_email(user):
            return TemplateResponse(
                request,
                "account/confirm_email_first.html",
                {"email": user.email, "next": request.get_full_path()},
                status=403,
            )
        return view(request, *args, **kwargs)

    return guarded
