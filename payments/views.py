import json
import logging

import stripe
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from courses.models import CoursePage

from . import gateway, services
from .models import Order

logger = logging.getLogger(__name__)


@require_POST
@login_required
def buy_course(request, course_id: int):
    course = get_object_or_404(CoursePage.objects.live(), pk=course_id)
    try:
        start = services.start_checkout(buyer=request.user, course=course)
    except services.CheckoutError as problem:
        messages.error(request, str(problem))
        return redirect(course.url)
    except stripe.StripeError:
        logger.exception("Stripe refused to start checkout for course %s", course.pk)
        messages.error(request, "We could not reach the payment provider. Please try again.")
        return redirect(course.url)
    if start.order is None:
        messages.info(request, "You are already enrolled in this course.")
    return _see_other(start.redirect_url)


def _see_other(url: str) -> HttpResponseRedirect:
    # 303 See Other: the browser follows the POST's answer with a GET, as Stripe's docs ask.
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response


def _own_order(request, order_id) -> Order:
    return get_object_or_404(
        Order.objects.select_related("course"), pk=order_id, buyer=request.user
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


@login_required
def checkout_cancel(request, order_id):
    order = _own_order(request, order_id)
    try:
        services.cancel_checkout(order=order)
    except stripe.StripeError:
        logger.warning("Could not expire the session of order %s", order.pk, exc_info=True)
    messages.info(request, "Checkout cancelled: you have not been charged.")
    return redirect(order.course.url if order.course else "/")


@csrf_exempt
@require_POST
def stripe_webhook(request):
    """Stripe's events: verified first, then stored once and applied (DESIGN.md #4)."""
    try:
        gateway.verify_webhook(
            payload=request.body, signature=request.headers.get("Stripe-Signature", "")
        )
        event = json.loads(request.body)
    except (ValueError, stripe.SignatureVerificationError) as problem:
        return HttpResponseBadRequest(f"Rejected: {problem}", content_type="text/plain")
    if not isinstance(event, dict) or not {"id", "type", "data"} <= event.keys():
        return HttpResponseBadRequest("Rejected: not a Stripe event", content_type="text/plain")
    try:
        services.handle_webhook_event(event)
    except Exception:
        logger.exception("Applying Stripe event %s failed; Stripe will retry", event["id"])
        return HttpResponse("Failed; retry later", status=500, content_type="text/plain")
    return HttpResponse("OK", content_type="text/plain")
