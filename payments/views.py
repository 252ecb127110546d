"""The buyer's side of payments (Buy, success, cancel) and Stripe's webhook endpoint."""

import logging

import stripe
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from courses.models import CoursePage
from workshops.models import WorkshopPage

from . import discounts, gateway, services
from .models import Order

logger = logging.getLogger(__name__)


@require_http_methods(["GET", "POST"])
@login_required
def buy_course(request, course_id: int):
    """The course page's Buy button: start (or resume) checkout and go to Stripe's page."""
    course = get_object_or_404(CoursePage.objects.live(), pk=course_id)
    return _checkout(
        request,
        item_page=course,
        start=lambda: services.start_checkout(
            buyer=request.user, course=course, code=discounts.remembered(request.session)
        ),
        already_bought=_("You are already enrolled in this course."),
    )


@require_http_methods(["GET", "POST"])
@login_required
def buy_workshop(request, workshop_id: int):
    """The workshop page's Buy (and "Complete payment", and the waitlist claim page's) button:
    hold a seat and go to Stripe's page to pay for it."""
    workshop = get_object_or_404(WorkshopPage.objects.live(), pk=workshop_id)
    return _checkout(
        request,
        item_page=workshop,
        start=lambda: services.start_workshop_checkout(
            buyer=request.user, workshop=workshop, code=discounts.remembered(request.session)
        ),
        already_bought=_("You already have a seat at this workshop."),
    )


def _checkout(request, *, item_page, start, already_bought: str) -> HttpResponse:
    """Run ``start()`` (a checkout service) and send the buyer to Stripe, or back to the page."""
    if request.method != "POST":
        # Signing in from a Buy click comes back here with a GET: show the page again.
        return redirect(item_page.url)
    try:
        checkout = start()
    except services.CheckoutError as problem:
        messages.error(request, str(problem))
        return redirect(item_page.url)
    except stripe.StripeError:
        logger.exception("Stripe refused to start checkout for page %s", item_page.pk)
        messages.error(request, _("We could not reach the payment provider. Please try again."))
        return redirect(item_page.url)
    if checkout.order is None:
        messages.info(request, already_bought)
    return _see_other(checkout.redirect_url)


def _see_other(url: str) -> HttpResponseRedirect:
    # 303 See Other: the browser follows the POST's answer with a GET, as Stripe's docs ask.
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response


def _own_order(request, order_id) -> Order:
    return get_object_or_404(
        Order.objects.select_related("course", "workshop_registration__workshop"),
        pk=order_id,
        buyer=request.user,
    )


@require_GET
@login_required
def checkout_success(request, order_id):
    """Shows the order's state; the webhook is what makes it paid."""
    order = _own_order(request, order_id)
    if order.status == Order.Status.PENDING:
        try:
            services.refresh_from_stripe(order=order)
        except stripe.StripeError:
            logger.warning("Could not refresh order %s from Stripe", order.pk, exc_info=True)
        order.refresh_from_db()
    response = TemplateResponse(request, "payments/checkout_success.html", {"order": order})
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
@login_required
def checkout_cancel(request, order_id):
    """Stripe's page sends the buyer here (a GET) when they choose not to pay."""
    order = _own_order(request, order_id)
    try:
        if not services.cancel_checkout(order=order):
            # Paid after all (another tab, a double click): the order page says how it ended.
            return redirect("payments:checkout_success", order_id=order.pk)
    except stripe.StripeError:
        # The open session expires by itself within 30 minutes.
        logger.warning("Could not expire the session of order %s", order.pk, exc_info=True)
    messages.info(request, _("Checkout cancelled: you have not been charged."))
    item = order.item_page
    return redirect(item.url if item is not None else "/")


@require_GET
def follow_code(request, name: str):
    """A creator's short link ``/c/NAME/``: remember the code and show what it is for (the
    item, or the storefront for a code on all of the creator's items). A code that can't be
    used says why and leads home; prices then show in full."""
    looked_up = discounts.check(name=name)
    code = discounts.find(name)
    if looked_up.problem is not None or code is None:
        messages.warning(request, looked_up.problem or "")
        return redirect("/")
    discounts.remember(session=request.session, name=code.name)
    messages.success(
        request,
        _("Code “%(name)s” applied: %(value)s off.")
        % {"name": code.name, "value": code.value_display},
    )
    target = (code.item or code.storefront).specific
    return redirect(target.url or "/")


@csrf_exempt
@require_POST
def stripe_webhook(request):
    """Stripe's events: verified first, then stored once and applied (architecture.md #4).

    400 for anything unverified or malformed (nothing is stored); 500 when applying fails, so
    that Stripe delivers the event again.
    """
    try:
        event = gateway.verify_webhook(
            payload=request.body, signature=request.headers.get("Stripe-Signature", "")
        )
    except gateway.InvalidWebhook as problem:
        return HttpResponseBadRequest(f"Rejected: {problem}", content_type="text/plain")
    try:
        services.handle_webhook_event(event)
    except Exception:
        logger.exception("Applying Stripe event %s failed; Stripe will retry", event["id"])
        return HttpResponse("Failed; retry later", status=500, content_type="text/plain")
    return HttpResponse("OK", content_type="text/plain")
