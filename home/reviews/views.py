"""Form posts of reviews: write or edit one's own, the creator's reply and hiding, staff removal.

Each answers with a redirect back to the page's reviews and a message; a form with bad input is
shown again with its errors (400), a refusal is a message, never a 500.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from wagtail.models import Page

from home.models import Review

from . import services
from .forms import ReplyForm, ReviewForm


def _back_to(page: Page) -> HttpResponseRedirect:
    return HttpResponseRedirect(f"{page.url or '/'}#reviews")


@require_POST
@login_required
def write(request, page_id: int):
    page = get_object_or_404(Page.objects.live(), pk=page_id)
    if services.reviewable(page) is None:
        return HttpResponseRedirect("/")
    form = ReviewForm(request.POST)
    if form.is_valid():
        try:
            services.write_review(
                author=request.user,
                page=page,
                rating=form.cleaned_data["rating"],
                body=form.cleaned_data["body"],
            )
        except services.ReviewRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(request, _("Thank you! Your review is on the page."))
            return _back_to(page)
    return TemplateResponse(
        request, "reviews/write.html", {"form": form, "page": page.specific}, status=400
    )


def _review_for(request, review_id: int) -> Review:
    return get_object_or_404(Review.objects.select_related("page"), pk=review_id)


@require_POST
@login_required
def reply(request, review_id: int):
    review = _review_for(request, review_id)
    form = ReplyForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Keep your reply under 1000 characters, please."))
        return _back_to(review.page)
    try:
        services.reply(user=request.user, review=review, text=form.cleaned_data["reply"])
    except services.ReviewRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, _("Your reply is saved."))
    return _back_to(review.page)


@require_POST
@login_required
def hide(request, review_id: int):
    review = _review_for(request, review_id)
    hidden = request.POST.get("hidden", "1") == "1"
    try:
        services.set_hidden(user=request.user, review=review, hidden=hidden)
    except services.ReviewRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(
            request, _("The review is hidden.") if hidden else _("The review is shown again.")
        )
    return _back_to(review.page)


@require_POST
@login_required
def remove(request, review_id: int):
    review = _review_for(request, review_id)
    try:
        services.remove(user=request.user, review=review)
    except services.ReviewRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, _("The review was removed."))
    return _back_to(review.page)
