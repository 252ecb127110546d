"""A loopback Stripe for local development and tests.

The application talks to it through the real ``stripe`` client; only the API base URL and the
keys differ from production::

    client = stripe.StripeClient("sk_test_...", base_addresses={"api": emu.base_url})

It speaks Stripe's wire format (form-encoded requests with nested keys, JSON objects shaped
like Stripe's own examples, Stripe-style errors, Idempotency-Key replay, ``Request-Id``
headers), serves a hosted test checkout page, and POSTs signed webhooks. It uses only the
standard library and never imports Django (``manage.py stripe_emulator`` wraps it). It binds
to 127.0.0.1 only and keeps everything in memory.

Python API
----------
::

    from payments.emulator import StripeEmulator

    emu = StripeEmulator(
        host="127.0.0.1", port=0,  # 0: any free port
        webhook_url="http://127.0.0.1:8000/payments/stripe/webhook/",
        webhook_secret="whsec_test_...",  # generated if omitted: read emu.webhook_secret
    )
    emu.start()  # returns once listening; also usable as ``with StripeEmulator(...) as emu:``
    emu.base_url  # "http://127.0.0.1:54321"
    ...
    emu.stop()

The customer's side (the same as the hosted page's buttons)::

    emu.pay(session_id)                    # "paid" -> returns success_url with the id filled in
    emu.pay(session_id, "declined")        # nothing changes; returns None
    emu.pay(session_id, "delayed")         # complete but unpaid until settled
    emu.settle(session_id, "succeeded")    # or "failed": async_payment_succeeded/_failed
    emu.cancel(session_id)                 # returns cancel_url; the session stays open

Time and disputes::

    emu.expire_now(session_id)             # expire an open session now (sends .expired)
    emu.set_expires_at(session_id, ts)     # the background sweeper expires it once ts passes
    emu.create_dispute(charge_or_intent_id, reason="fraudulent")  # charge.dispute.created

Webhook delivery::

    emu.pause_delivery(); emu.resume_delivery()   # hold automatic deliveries, then release
    emu.deliver(event_id, times=2)                # extra (duplicate) deliveries, now
    emu.deliver(event_id, times=5, concurrent=True)
    emu.deliver(event_id, signed_at=int(time.time()) - 600)   # a stale signature timestamp
    emu.deliver_in_order([second_id, first_id])   # out of order
    emu.deliver_later(event_id, delay=2.0)        # once, in the background, after a delay
    emu.drop(event_id)                            # never delivered automatically
    emu.wait_for_deliveries(timeout=10)           # True once nothing is being sent or due
    emu.set_webhook(url, secret=None)             # change the endpoint while running

Reading state::

    emu.events(type="checkout.session.completed")   # oldest first; "checkout.session.*" works
    emu.deliveries(event_id=None)                   # DeliveryAttempt(status, ok, attempt, ...)
    emu.queued()                                    # event ids waiting for delivery
    emu.get(object_id)                              # any object: cs_, pi_, ch_, re_, dp_, evt_
    emu.objects("checkout.session")
    emu.reset()                                     # forget everything; resume delivery

Manual deliveries (``deliver``, ``deliver_in_order``) run in the calling thread, return one
``DeliveryAttempt`` each and are not retried. Automatic deliveries run on a background thread,
in the order events happened, and are retried after 0.5, 1, 2 and 4 seconds when the receiver
answers non-2xx (a redirect included) or can't be reached.

Stripe API
----------
All under ``/v1``, with ``Authorization: Bearer sk_test_...`` (any test-mode key; HTTP Basic
with the key as user name works too, for curl):

- ``POST /v1/checkout/sessions`` (mode=payment; line_items[][price_data][currency,
  unit_amount, product_data[name, description]], quantity; success_url, cancel_url,
  customer_email, client_reference_id, metadata, expires_at, payment_method_types,
  payment_intent_data[metadata, description], expand), ``GET /v1/checkout/sessions``
  (limit, starting_after, ending_before, payment_intent, status),
  ``GET /v1/checkout/sessions/{id}``, ``POST /v1/checkout/sessions/{id}/expire``;
- ``GET /v1/payment_intents/{id}``, ``GET /v1/charges/{id}``, ``GET /v1/disputes/{id}``;
- ``POST /v1/refunds`` (payment_intent or charge, amount, metadata, reason),
  ``GET /v1/refunds/{id}``;
- ``GET /v1/events`` (newest first; limit, starting_after, ending_before, type, types),
  ``GET /v1/events/{id}``.

Every endpoint takes ``expand[]`` (session.payment_intent, payment_intent.latest_charge,
charge.payment_intent, refund/dispute.charge and .payment_intent, dotted paths, ``data.`` in
lists). Unknown parameters and missing required ones get Stripe's 400 errors, unknown ids
Stripe's 404 ``resource_missing``.

As on Stripe, a session's ``metadata`` stays on the session; ``payment_intent_data[metadata]``
is what the PaymentIntent (and its charge) carry.

Events sent: ``checkout.session.completed``, ``checkout.session.async_payment_succeeded``,
``checkout.session.async_payment_failed``, ``checkout.session.expired``, ``charge.refunded``,
``refund.created``, ``charge.dispute.created``.

Hosted checkout page
--------------------
``GET /c/pay/{session id}`` (the session's ``url``): items, total in the session's currency,
the e-mail, and buttons ``#pay``, ``#pay-declined``, ``#pay-delayed``, ``#cancel``; see
:mod:`.checkout_page`.

HTTP test controls
------------------
The same controls over HTTP, without authentication, for tools outside the Python process.
POST parameters are form fields (or query parameters); answers are JSON:

- ``GET  /_emulator/events?type=...``, ``GET /_emulator/deliveries?event_id=...``,
  ``GET  /_emulator/queued``, ``GET /_emulator/objects/{id}``
- ``POST /_emulator/delivery/pause``, ``POST /_emulator/delivery/resume``
- ``POST /_emulator/events/{id}/deliver`` (times, concurrent=true, signed_at, delay)
- ``POST /_emulator/events/deliver_in_order`` (event_ids=evt_a,evt_b)
- ``POST /_emulator/events/{id}/drop``
- ``POST /_emulator/checkout/sessions/{id}/pay`` (outcome=paid|declined|delayed, email)
- ``POST /_emulator/checkout/sessions/{id}/cancel``
- ``POST /_emulator/checkout/sessions/{id}/settle`` (outcome=succeeded|failed)
- ``POST /_emulator/checkout/sessions/{id}/expire_now``
- ``POST /_emulator/checkout/sessions/{id}/expires_at`` (expires_at=unix time)
- ``POST /_emulator/charges/{id}/dispute`` (reason, amount; a pi_ id works too)
- ``POST /_emulator/wait_for_deliveries`` (timeout), ``POST /_emulator/reset``
"""

from .errors import StripeError
from .server import StripeEmulator
from .webhooks import DeliveryAttempt, signature_header

__all__ = ["DeliveryAttempt", "StripeEmulator", "StripeError", "signature_header"]
