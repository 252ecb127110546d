"""The payments app's Celery tasks: thin, by order id.

The services queue them after their transaction commits (once per state change), so a webhook
answers Stripe at once and a Stripe call that fails is retried here. (E-mails are not tasks but
outbox rows, accounts/outbox.py.)
"""

from celery import shared_task
from django.db import transaction

from . import emails, services

# A few retries with a growing delay (30 s, 1 min, 2 min...); after the last one the worker
# logs the failure at ERROR level.
RETRY = {"autoretry_for": (Exception,), "max_retries": 5, "retry_backoff": 30}


@shared_task(**RETRY)
def refund_cancelled_seat(registration_id: int) -> None:
    services.refund_cancelled_seat(registration_id=registration_id)


@shared_task(**RETRY)
def refund_automatically(order_id: str) -> None:
    services.request_automatic_refund(order_id=order_id)


@shared_task(**RETRY)
def expire_checkout_of_seat(registration_id: int) -> None:
    services.expire_checkout_of_seat(registration_id=registration_id)


# Kept for one release: messages the previous release queued (during a rolling deploy) write
# their e-mail to the outbox, which sends it; the dedupe key keeps it to one. Remove next.


@shared_task(ignore_result=True)
def send_payment_confirmation(order_id: str) -> None:
    with transaction.atomic():
        emails.queue_payment_confirmation(order_id=order_id)


@shared_task(ignore_result=True)
def send_refund_confirmation(order_id: str) -> None:
    with transaction.atomic():
        emails.queue_refund_confirmation(order_id=order_id)


@shared_task(ignore_result=True)
def send_dispute_alert(order_id: str) -> None:
    with transaction.atomic():
        emails.queue_dispute_alert(order_id=order_id)


@shared_task(ignore_result=True)
def send_already_owned_refund(order_id: str) -> None:
    with transaction.atomic():
        emails.queue_already_owned_refund(order_id=order_id)


@shared_task(**RETRY)
def refresh_connected_account(stripe_account_id: str) -> None:
    services.connect.refresh_account_by_id(stripe_account_id=stripe_account_id)
