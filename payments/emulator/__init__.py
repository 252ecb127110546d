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
    emu.close_dispute(dispute_id, "lost")  # or "won", "warning_closed": charge.dispute.closed

Connect (the connected account's side, and Stripe's clock)::

    emu.onboard(account_link.url, "complete")   # or "incomplete", "restricted": the hosted
                                                # onboarding page's buttons; returns the URL the
                                                # browser goes to (return_url, or refresh_url
                                                # for a used or expired link)
    emu.expire_account_link(account_link.url)   # the link now leads to its refresh_url
    emu.set_account_state(account_id, "pending")  # an outcome without the page; "pending" is
                                                # submitted and under review (transfers pending)
    emu.balance(account_id)                     # None (the default): the platform's balance
    emu.release_pending(account_id)             # pending funds become available now
    emu.pay_out(account_id)                     # pay out all available funds: payout.paid
    emu.mark_payout_paid(payout_id)             # a POST /v1/payouts payout arrives: payout.paid

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
    emu.get(object_id)                              # any object: cs_, pi_, ch_, re_, dp_, evt_,
                                                    # acct_, tr_, trr_, fee_, fr_, po_
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
- ``POST /v1/refunds`` (payment_intent or charge, amount, metadata, reason,
  reverse_transfer, refund_application_fee), ``GET /v1/refunds/{id}``;
- ``GET /v1/events`` (newest first; limit, starting_after, ending_before, type, types),
  ``GET /v1/events/{id}``;
- Connect: ``POST /v1/accounts`` (type=express|standard|custom, or controller[fees][payer],
  [losses][payments], [requirement_collection], [stripe_dashboard][type]; capabilities
  [card_payments|transfers][requested], country, email, default_currency, business_type,
  business_profile, metadata), ``GET /v1/accounts``, ``GET/POST /v1/accounts/{id}`` (email,
  metadata, business_profile), ``POST /v1/account_links`` (account, refresh_url, return_url,
  type=account_onboarding|account_update), ``POST /v1/accounts/{id}/login_links``;
- ``GET /v1/balance``, ``POST /v1/payouts`` (amount, currency, description, metadata),
  ``GET /v1/payouts`` (status), ``GET /v1/payouts/{id}``;
- ``GET /v1/transfers`` (destination), ``GET /v1/transfers/{id}``, ``GET /v1/application_fees``
  (charge), ``GET /v1/application_fees/{id}``.

Every endpoint takes ``expand[]`` (session.payment_intent, payment_intent.latest_charge,
charge.payment_intent, refund/dispute.charge and .payment_intent, dotted paths, ``data.`` in
lists). Unknown parameters and missing required ones get Stripe's 400 errors, unknown ids
Stripe's 404 ``resource_missing``.

As on Stripe, a session's ``metadata`` stays on the session; ``payment_intent_data[metadata]``
is what the PaymentIntent (and its charge) carry.

Events sent: ``checkout.session.completed``, ``checkout.session.async_payment_succeeded``,
``checkout.session.async_payment_failed``, ``checkout.session.expired``, ``charge.refunded``,
``refund.created``, ``charge.dispute.created``, ``charge.dispute.closed``; for Connect
``transfer.created``, ``transfer.reversed``, ``application_fee.created``,
``application_fee.refunded``, and, with ``"account": "acct_..."`` at the top level as Stripe's
Connect events have, ``account.updated`` (with ``data.previous_attributes``),
``payout.created`` and ``payout.paid``. All go to the one webhook URL with the one secret: on
Stripe, register the endpoint for both your account's and connected accounts' events.

Connect
-------
The ``Stripe-Account`` header makes a request act for that connected account: ``GET
/v1/balance`` and the payout endpoints then read and write that account's balance and payouts
only, so one account never sees another's (another account's payout is a 404). A header naming
no connected account is Stripe's 403 ``account_invalid``. Checkout Sessions, refunds, accounts
and links are the platform's (no direct charges).

A new account has nothing enabled, its requested capabilities ``inactive`` and its
requirements ``currently_due``. The hosted onboarding page's outcomes (see
:mod:`.connect_pages`): *complete* (charges and payouts enabled, capabilities active, nothing
due), *incomplete* (details not submitted, requirements due), *restricted* (submitted, but
charges and payouts disabled, ``disabled_reason`` ``requirements.past_due``). Each change
sends ``account.updated``. An account link is single-use and expires after five minutes.

Destination charges: a Checkout Session with ``payment_intent_data[transfer_data][destination]``
(and optionally ``[application_fee_amount]``) is refused, as on Stripe, unless the destination
exists and its ``transfers`` capability is ``active`` (``insufficient_capabilities_for_transfer``);
paying is refused likewise if the account lost the capability meanwhile. On payment the charge
gets ``transfer`` (``tr_``: the whole amount to the account) and ``application_fee`` (``fee_``:
the fee, which the account pays the platform), so the account's balance gains amount - fee and
the platform's the fee. The emulator charges no processing fee of its own.

Refunds of a destination charge: ``reverse_transfer=true`` reverses the refunded amount of the
transfer (``trr_``, on ``refund.transfer_reversal``); ``refund_application_fee=true`` refunds the
fee in proportion (``fr_``). Rounding rule: after each refund the fee refunded so far is
``fee * refunded so far / amount`` rounded half up to a whole minor unit, and this refund gives
back the difference; so a partial then a full refund give back exactly the fee and the transfer.
Without the flags the platform pays the refund alone, as on Stripe. Disputes move no money in
the emulator (on Stripe the platform pays a destination charge's dispute and its fee).

Balances: money received lands in ``pending`` and becomes ``available`` only when
``release_pending`` is called (Stripe waits days), or at once with
``StripeEmulator(funds_available_at_once=True)``; money given back comes out of pending first,
then available, which may go negative. ``POST /v1/payouts`` takes available funds (else
``balance_insufficient``) and makes a ``pending`` payout (``payout.created``);
``mark_payout_paid`` or ``pay_out`` finish it (``payout.paid``).

Hosted Connect pages: ``/connect/onboarding/{token}`` (an account link's ``url``; buttons
``#onboarding-complete``, ``#onboarding-incomplete``, ``#onboarding-restricted``) and
``/connect/express/{token}`` (a login link's ``url``: "Express dashboard (emulated)" with the
account's balance and payouts; only for an Express account that has submitted its details).

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
- ``POST /_emulator/disputes/{id}/close`` (status=won|lost|warning_closed)
- ``POST /_emulator/accounts/{id}/state`` (outcome=complete|incomplete|restricted|pending)
- ``POST /_emulator/account_links/expire`` (url)
- ``GET  /_emulator/balance?account=acct_...`` (no account: the platform)
- ``POST /_emulator/balance/release`` (account): pending funds become available
- ``POST /_emulator/payouts`` (account): pay out all available funds, paid at once
- ``POST /_emulator/payouts/{id}/paid``
- ``POST /_emulator/wait_for_deliveries`` (timeout), ``POST /_emulator/reset``
"""

from .errors import StripeError
from .server import StripeEmulator
from .webhooks import DeliveryAttempt, signature_header

__all__ = ["DeliveryAttempt", "StripeEmulator", "StripeError", "signature_header"]
