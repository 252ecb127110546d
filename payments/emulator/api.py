"""Stripe's ``/v1`` API as the emulator serves it: auth, routing, idempotency, endpoints.

:func:`handle` takes one HTTP request's parts and returns an :class:`ApiResponse`; it knows
nothing about sockets, so the HTTP server stays a thin adapter. Each endpoint function checks its
parameters against a schema (see :mod:`.params`), asks :class:`~.state.EmulatorState` for the
change, and returns the JSON body.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from .errors import StripeError, invalid, missing
from .money import MINIMUM_CHARGE, format_amount
from .objects import StripeObject, list_object, new_id
from .params import BOOLEAN, INTEGER, METADATA, STRING, STRINGS, check, parse_form, require
from .state import (
    AccountSpec,
    EmulatorState,
    LineItem,
    RequestInfo,
    SessionSpec,
    StoredResponse,
)

Endpoint = Callable[..., StripeObject]

# Stripe's bounds on a Checkout Session's expires_at, measured from creation.
MIN_EXPIRY_SECONDS = 30 * 60
MAX_EXPIRY_SECONDS = 24 * 60 * 60
# Clients compute expires_at from their own clock a moment before we read ours.
_EXPIRY_LEEWAY_SECONDS = 10

REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")

# Which id-valued fields ``expand[]`` may turn into objects, and their object type.
_EXPANDABLE = {
    "checkout.session": {"payment_intent": "payment_intent"},
    "payment_intent": {"latest_charge": "charge"},
    "charge": {"payment_intent": "payment_intent"},
    "refund": {
        "charge": "charge",
        "payment_intent": "payment_intent",
        "transfer_reversal": "transfer_reversal",
    },
    "dispute": {"charge": "charge", "payment_intent": "payment_intent"},
    "transfer": {"destination": "account", "source_transaction": "charge"},
    "application_fee": {"account": "account", "charge": "charge"},
}
_EXPANDABLE["charge"].update(transfer="transfer", application_fee="application_fee")


@dataclass(frozen=True)
class ApiResponse:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


def handle(
    state: EmulatorState,
    *,
    method: str,
    path: str,
    query: str,
    body: str,
    authorization: str | None,
    idempotency_key: str | None,
    stripe_version: str | None,
    stripe_account: str | None = None,
) -> ApiResponse:
    """Answer one ``/v1`` request the way Stripe would.

    ``stripe_account`` is the Stripe-Account header: the request acts for that connected
    account and sees only its objects (its balance, its payouts).
    """
    request_id = new_id("req", 14)
    headers = {"Request-Id": request_id, "Stripe-Version": stripe_version or state.api_version}
    # Stripe keeps idempotent results for POST requests only.
    key = idempotency_key if method == "POST" else None
    if key:
        headers["Idempotency-Key"] = key
    try:
        _authenticate(authorization)
        if stripe_account:
            state.require_account(stripe_account)
        endpoint, ids = _route(method, path)
        params = parse_form(query if method == "GET" else body)
        request = RequestInfo(id=request_id, idempotency_key=key, account=stripe_account or None)

        def run() -> StripeObject:
            return endpoint(state, params, request, *ids)

        if key:
            fingerprint = (
                f"{stripe_account} {method} {path} "
                f"{sorted(parse_qsl(body, keep_blank_values=True))}"
            )
            return _run_idempotently(state, key, fingerprint, run, headers)
        return ApiResponse(200, run(), headers)
    except StripeError as error:
        return ApiResponse(error.status, error.to_body(request_id), headers)


def _authenticate(authorization: str | None) -> None:
    """Accept a test-mode secret or restricted key, as Bearer or as Basic auth's user name."""
    if not authorization:
        raise StripeError(
            "You did not provide an API key. You need to provide your API key in the "
            "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
            "YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, "
            "or we can help at https://support.stripe.com/.",
            status=401,
        )
    scheme, _, credentials = authorization.partition(" ")
    key = credentials.strip()
    if scheme.lower() == "basic":
        try:
            key = base64.b64decode(key).decode().partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            key = ""
    elif scheme.lower() != "bearer":
        key = ""
    # The emulator is test mode only: a live key here means a misconfigured application.
    if not key.startswith(("sk_test_", "rk_test_")):
        shown = f"{key[:8]}{'*' * max(len(key) - 12, 0)}{key[-4:]}" if len(key) > 12 else key
        raise StripeError(f"Invalid API Key provided: {shown}", status=401)


def _run_idempotently(
    state: EmulatorState,
    key: str,
    fingerprint: str,
    run: Callable[[], StripeObject],
    headers: dict[str, str],
) -> ApiResponse:
    """Run ``run`` once per key; replay its response for the same request, refuse another one.

    The state lock is held throughout so that two concurrent requests with one key cannot
    both create an object. Only successes are stored: Stripe does not store validation errors,
    and the application never depends on replaying the other errors.
    """
    with state.lock:
        stored = state.idempotent_responses.get(key)
        if stored is not None:
            if stored.fingerprint != fingerprint:
                raise StripeError(
                    "Keys for idempotent requests can only be used with the same parameters "
                    f"they were first used with. Try using a key other than '{key}' if you "
                    "meant to execute a different request.",
                    error_type="idempotency_error",
                )
            replay_headers = {
                **headers,
                "Idempotent-Replayed": "true",
                "Original-Request": stored.request_id,
            }
            return ApiResponse(stored.status, stored.body, replay_headers)
        body = run()
        state.idempotent_responses[key] = StoredResponse(
            fingerprint=fingerprint, request_id=headers["Request-Id"], status=200, body=body
        )
        return ApiResponse(200, body, {**headers, "Idempotent-Replayed": "false"})


# -- Checkout Sessions ---------------------------------------------------------------------

_EXPAND = {"expand": STRINGS}
_LIST = {"limit": INTEGER, "starting_after": STRING, "ending_before": STRING, **_EXPAND}

_CREATE_SESSION = {
    "mode": STRING,
    "line_items": [
        {
            "price_data": {
                "currency": STRING,
                "unit_amount": INTEGER,
                "product_data": {"name": STRING, "description": STRING},
            },
            "quantity": INTEGER,
        }
    ],
    "success_url": STRING,
    "cancel_url": STRING,
    "customer_email": STRING,
    "client_reference_id": STRING,
    "metadata": METADATA,
    "expires_at": INTEGER,
    "payment_method_types": STRINGS,
    "payment_intent_data": {
        "metadata": METADATA,
        "description": STRING,
        "transfer_data": {"destination": STRING},
        "application_fee_amount": INTEGER,
    },
    **_EXPAND,
}


def create_checkout_session(
    state: EmulatorState, params: dict[str, Any], request: RequestInfo
) -> StripeObject:
    _platform_only(request, "Checkout Sessions")
    p = check(params, _CREATE_SESSION)
    require(p, "mode")
    if p["mode"] != "payment":
        raise invalid(
            "The Stripe emulator supports mode=payment only."
            if p["mode"] in ("setup", "subscription")
            else "Invalid mode: must be one of payment, setup, or subscription",
            "mode",
        )
    require(p, "line_items", "success_url")
    items = [_line_item(item, f"line_items[{i}]") for i, item in enumerate(p["line_items"])]
    currencies = {currency for _, currency in items}
    if len(currencies) > 1:
        raise invalid("Line items must all have the same currency.", "line_items")
    currency = currencies.pop()
    line_items = [item for item, _ in items]
    _check_minimum(sum(item.amount for item in line_items), currency)
    for name in ("success_url", "cancel_url"):
        if name in p:
            _check_url(p[name], name)
    if "customer_email" in p and not re.fullmatch(r"[^@\s]+@[^@\s]+", p["customer_email"]):
        raise invalid(
            f"Invalid email address: {p['customer_email']}", "customer_email", code="email_invalid"
        )
    intent_data = p.get("payment_intent_data", {})
    destination, fee = _destination_and_fee(
        state, intent_data, sum(item.amount for item in line_items)
    )
    session = state.create_checkout_session(
        SessionSpec(
            line_items=line_items,
            currency=currency,
            success_url=p["success_url"],
            cancel_url=p.get("cancel_url"),
            customer_email=p.get("customer_email"),
            client_reference_id=p.get("client_reference_id"),
            metadata=p.get("metadata", {}),
            expires_at=_expires_at(p.get("expires_at")),
            payment_method_types=p.get("payment_method_types") or ["card"],
            intent_metadata=intent_data.get("metadata", {}),
            intent_description=intent_data.get("description"),
            destination=destination,
            application_fee_amount=fee,
        )
    )
    return _expand(state, session, p)


def _destination_and_fee(
    state: EmulatorState, intent_data: dict[str, Any], amount_total: int
) -> tuple[str | None, int | None]:
    """A destination charge's connected account and platform fee, checked as Stripe does."""
    destination = intent_data.get("transfer_data", {}).get("destination")
    fee = intent_data.get("application_fee_amount")
    if "transfer_data" in intent_data and destination is None:
        raise missing("payment_intent_data[transfer_data][destination]")
    if fee is not None:
        if destination is None:
            raise invalid(
                "Can only apply an application_fee_amount when the PaymentIntent is attempting "
                "a direct payment (using an OAuth key or Stripe-Account header) or destination "
                "payment (using `transfer_data[destination]`).",
                "payment_intent_data[application_fee_amount]",
            )
        if not 0 <= fee <= amount_total:
            raise invalid(
                "The application fee must be between 0 and the amount of the payment "
                f"({amount_total}).",
                "payment_intent_data[application_fee_amount]",
            )
    if destination is not None:
        state.check_destination(destination, "payment_intent_data[transfer_data][destination]")
    return destination, fee


def _line_item(item: dict[str, Any], name: str) -> tuple[LineItem, str]:
    """A checked line item and its currency."""
    require(item, "price_data", "quantity", prefix=name)
    price_name = f"{name}[price_data]"
    price = item["price_data"]
    require(price, "currency", "unit_amount", "product_data", prefix=price_name)
    require(price["product_data"], "name", prefix=f"{price_name}[product_data]")
    currency = price["currency"].lower()
    if not re.fullmatch(r"[a-z]{3}", currency):
        raise invalid(f"Invalid currency: {currency}.", f"{price_name}[currency]")
    if price["unit_amount"] < 0:
        raise invalid(
            "This value must be greater than or equal to 0.",
            f"{price_name}[unit_amount]",
            code="parameter_invalid_integer",
        )
    if item["quantity"] < 1:
        raise invalid(
            "This value must be greater than or equal to 1.",
            f"{name}[quantity]",
            code="parameter_invalid_integer",
        )
    line_item = LineItem(
        name=price["product_data"]["name"],
        description=price["product_data"].get("description"),
        unit_amount=price["unit_amount"],
        quantity=item["quantity"],
    )
    return line_item, currency


def _check_minimum(amount_total: int, currency: str) -> None:
    minimum = MINIMUM_CHARGE.get(currency)
    if minimum is not None and amount_total < minimum:
        raise invalid(
            "The Checkout Session's total amount due must add up to at least "
            f"{format_amount(minimum, currency)} {currency}",
            "line_items",
            code="amount_too_small",
        )


def _check_url(url: str, name: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise invalid("Not a valid URL", name, code="url_invalid")


def _expires_at(requested: int | None) -> int:
    created = int(time.time())
    if requested is None:
        return created + MAX_EXPIRY_SECONDS
    if requested < created + MIN_EXPIRY_SECONDS - _EXPIRY_LEEWAY_SECONDS:
        raise invalid(
            "The `expires_at` timestamp must be at least 30 minutes from Checkout Session "
            "creation.",
            "expires_at",
        )
    if requested > created + MAX_EXPIRY_SECONDS + _EXPIRY_LEEWAY_SECONDS:
        raise invalid(
            "The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.",
            "expires_at",
        )
    return requested


def retrieve_checkout_session(
    state: EmulatorState, params: dict[str, Any], request: RequestInfo, session_id: str
) -> StripeObject:
    p = check(params, _EXPAND)
    session = state.retrieve(session_id, "checkout.session", "session", account=request.account)
    return _expand(state, session, p)


def expire_checkout_session(
    state: EmulatorState, params: dict[str, Any], request: RequestInfo, session_id: str
) -> StripeObject:
    _platform_only(request, "Checkout Sessions")
    p = check(params, _EXPAND)
    return _expand(state, state.expire_session(session_id, request), p)


def list_checkout_sessions(
    state: EmulatorState, params: dict[str, Any], request: RequestInfo
) -> StripeObject:
    p = check(params, {**_LIST, "payment_intent": STRING, "status": STRING})
    filters = {name: p[name] for name in ("payment_intent", "status") if name in p}
    sessions = [
        session
        for session in state.objects_of("checkout.session", account=request.account)
        if all(session[name] == value for name, value in filters.items())
    ]
    return _expand(state, _page(sessions, p, url="/v1/checkout/sessions"), p)


# -- payments, refunds, disputes -----------------------------------------------------------


def _retriever(kind: str, param: str) -> Endpoint:
    """An endpoint that returns one ``kind`` object by id, with ``expand[]``."""

    def retrieve(
        state: EmulatorState, params: dict[str, Any], request: RequestInfo, object_id: str
    ) -> StripeObject:
        p = check(params, _EXPAND)
        return _expand(state, state.retrieve(object_id, kind, param, account=request.account), p)

    return retrieve


def _lister(kind: str, url: str, *filters: str) -> Endpoint:
    """An endpoint that lists the ``kind`` objects the request's account may see, newest
    first, optionally filtered on fields named in ``filters`` (``destination=acct_...``)."""

    def list_all(
        state: EmulatorState, params: dict[str, Any], request: RequestInfo
    ) -> StripeObject:
        p = check(params, {**_LIST, **dict.fromkeys(filters, STRING)})
        wanted = {name: p[name] for name in filters if name in p}
        found = [
            obj
            for obj in state.objects_of(kind, account=request.account)
            if all(obj.get(name) == value for name, value in wanted.items())
        ]
        return _expand(state, _page(found, p, url=url), p)

    return list_all


def _platform_only(request: RequestInfo, what: str) -> None:
    """The emulator makes destination charges only: no Stripe-Account on these requests."""
    if request.account is not None:
        raise invalid(
            f"The Stripe emulator does not support {what} made with a Stripe-Account header "
            "(direct charges); use a destination charge from the platform.",
            "stripe_account",
        )


_CREATE_REFUND = {
    "payment_intent": STRING,
    "charge": STRING,
    "amount": INTEGER,
    "metadata": METADATA,
    "reason": STRING,
    "reverse_transfer": BOOLEAN,
    "refund_application_fee": BOOLEAN,
    **_EXPAND,
}


def create_refund(
    state: EmulatorState, params: dict[str, Any], request: RequestInfo
) -> StripeObject:
    _platform_only(request, "refunds")
    p = check(params, _CREATE_REFUND)
    if "payment_intent" not in p and "charge" not in p:
        raise invalid(
            "One of the following params should be provided for this request: charge or "
            "payment_intent.",
            "payment_intent",
            code="parameter_missing",
        )
    if "amount" in p and p["amount"] < 1:
        raise invalid(
            "This value must be greater than or equal to 1.",
            "amount",
            code="parameter_invalid_integer",
        )
    if "reason" in p and p["reason"] not in REFUND_REASONS:
        raise invalid(
            "Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer",
            "reason",
        )
    refund = state.refund(
        payment_intent_id=p.get("payment_intent"),
        charge_id=p.get("charge"),
        amount=p.get("amount"),
        metadata=p.get("metadata", {}),
        reason=p.get("reason"),
        request=request,
        reverse_transfer=p.get("reverse_transfer", False),
        refund_application_fee=p.get("refund_application_fee", False),
    )
    return _expand(state, refund, p)


# -- Connect: accounts, account links, login links -----------------------------------------

# The default currency of an account in a few countries (Stripe derives it from the country).
_COUNTRY_CURRENCY = {
    "US": "usd",
    "GB": "gbp",
    "JP": "jpy",
    "CA": "cad",
    "AU": "aud",
    "CH": "chf",
    "SE": "sek",
    "IN": "inr",
    **dict.fromkeys(["AT", "BE", "DE", "ES", "FI", "FR", "IE", "IT", "LU", "NL", "PT"], "eur"),
}
ACCOUNT_TYPES = ("express", "standard", "custom")
_CAPABILITY = {"requested": BOOLEAN}
_BUSINESS_PROFILE = {
    "name": STRING,
    "url": STRING,
    "product_description": STRING,
    "mcc": STRING,
    "support_email": STRING,
}
_CREATE_ACCOUNT = {
    "type": STRING,
    "controller": {
        "fees": {"payer": STRING},
        "losses": {"payments": STRING},
        "requirement_collection": STRING,
        "stripe_dashboard": {"type": STRING},
    },
    "country": STRING,
    "email": STRING,
    "default_currency": STRING,
    "business_type": STRING,
    "business_profile": _BUSINESS_PROFILE,
    "capabilities": {"card_payments": _CAPABILITY, "transfers": _CAPABILITY},
    "metadata": METADATA,
    **_EXPAND,
}


def create_account(
    state: EmulatorState, params: dict[str, Any], request: RequestInfo
) -> StripeObject:
    _platform_only(request, "accounts")
    p = check(params, _CREATE_ACCOUNT)
    if "type" in p and "controller" in p:
        raise invalid("You cannot pass both `type` and `controller`.", "controller")
    if "type" not in p and "controller" not in p:
        raise missing("type")
    if "type" in p and p["type"] not in ACCOUNT_TYPES:
        raise invalid("Invalid type: must be one of custom, express, or standard", "type")
    controller = _controller(p)
    requested = [name for name, wish in p.get("capabilities", {}).items() if wish.get("requested")]
    if controller["stripe_dashboard"]["type"] == "express" and "transfers" not in requested:
        raise invalid(
            "Express accounts must request the `transfers` capability "
            "(capabilities[transfers][requested]=true).",
            "capabilities",
        )
    country = p.get("country", "US").upper()
    new_account = state.create_account(
        AccountSpec(
            # Accounts made with controller properties have no legacy type.
            account_type=p.get("type", "none"),
            controller=controller,
            country=country,
            email=p.get("email"),
            default_currency=p.get("default_currency", _COUNTRY_CURRENCY.get(country, "usd")),
            metadata=p.get("metadata", {}),
            business_type=p.get("business_type"),
            requested_capabilities=requested,
        )
    )
    return _expand(state, new_account, p)


def _controller(p: dict[str, Any]) -> dict[str, Any]:
    """The account's ``controller`` hash: what ``type`` implies, or the given properties."""
    if p.get("type") == "express" or "controller" not in p:
        dashboard = p.get("type", "express")
        fees = {"express": "application_express", "standard": "account"}.get(
            dashboard, "application"
        )
        return {
            "type": "application",
            "is_controller": True,
            "fees": {"payer": fees},
            "losses": {"payments": "stripe" if dashboard == "standard" else "application"},
            "requirement_collection": "stripe",
            "stripe_dashboard": {"type": dashboard if dashboard != "custom" else "none"},
        }
    given = p["controller"]
    return {
        "type": "application",
        "is_controller": True,
        "fees": {"payer": given.get("fees", {}).get("payer", "account")},
        "losses": {"payments": given.get("losses", {}).get("payments", "stripe")},
        "requirement_collection": given.get("requirement_collection", "stripe"),
        "stripe_dashboard": {"type": given.get("stripe_dashboard", {}).get("type", "full")},
    }


_UPDATE_ACCOUNT = {
    "email": STRING,
    "metadata": METADATA,
    "business_profile": _BUSINESS_PROFILE,
    **_EXPAND,
}


def update_account(
    state: EmulatorState, params: dict[str, Any], request: RequestInfo, account_id: str
) -> StripeObject:
    p = check(params, _UPDATE_ACCOUNT)
    state.retrieve(account_id, "account", "account", account=request.account)
    changes: dict[str, Any] = {name: p[name] for name in ("email", "metadata") if name in p}
    if "business_profile" in p:
        profile = state.retrieve(account_id, "account", "account")["business_profile"]
        changes["business_profile"] = {**profile, **p["business_profile"]}
    return _expand(state, state.update_account(account_id, changes, request), p)


ACCOUNT_LINK_TYPES = ("account_onboarding", "account_update")


def create_account_link(
    state: EmulatorState, params: dict[str, Any], request: RequestInfo
) -> StripeObject:
    _platform_only(request, "account links")
    p = check(
        params,
        {
            "account": STRING,
            "refresh_url": STRING,
            "return_url": STRING,
            "type": STRING,
            "collect": STRING,
            **_EXPAND,
        },
    )
    require(p, "account", "type", "refresh_url", "return_url")
    if p["type"] not in ACCOUNT_LINK_TYPES:
        raise invalid("Invalid type: must be one of account_onboarding or account_update", "type")
    for name in ("refresh_url", "return_url"):
        _check_url(p[name], name)
    return state.create_account_link(
        p["account"], refresh_url=p["refresh_url"], return_url=p["return_url"]
    )


def create_login_link(
    state: EmulatorState, params: dict[str, Any], request: RequestInfo, account_id: str
) -> StripeObject:
    _platform_only(request, "login links")
    check(params, _EXPAND)
    return state.create_login_link(account_id)


# -- balances and payouts ------------------------------------------------------------------


def retrieve_balance(
    state: EmulatorState, params: dict[str, Any], request: RequestInfo
) -> StripeObject:
    """The platform's balance, or with Stripe-Account the connected account's."""
    check(params, _EXPAND)
    return state.balance(request.account)


def create_payout(
    state: EmulatorState, params: dict[str, Any], request: RequestInfo
) -> StripeObject:
    p = check(
        params,
        {
            "amount": INTEGER,
            "currency": STRING,
            "description": STRING,
            "metadata": METADATA,
            "method": STRING,
            **_EXPAND,
        },
    )
    require(p, "amount", "currency")
    if p["amount"] < 1:
        raise invalid(
            "This value must be greater than or equal to 1.",
            "amount",
            code="parameter_invalid_integer",
        )
    if p.get("method", "standard") != "standard":
        raise invalid("The Stripe emulator makes standard payouts only.", "method")
    payout = state.create_payout(
        request.account,
        amount=p["amount"],
        currency=p["currency"].lower(),
        description=p.get("description"),
        metadata=p.get("metadata", {}),
        request=request,
    )
    return _expand(state, payout, p)


# -- events --------------------------------------------------------------------------------


def list_events(state: EmulatorState, params: dict[str, Any], request: RequestInfo) -> StripeObject:
    """Newest first; ``type`` may use ``*`` as a wildcard (``checkout.session.*``), as on Stripe."""
    p = check(params, {**_LIST, "type": STRING, "types": STRINGS})
    patterns = p.get("types") or [p.get("type", "*")]
    events = [
        event
        for event in state.objects_of("event", account=request.account)
        if any(fnmatch.fnmatchcase(event["type"], pattern) for pattern in patterns)
    ]
    return _expand(state, _page(events, p, url="/v1/events"), p)


# -- shared helpers ------------------------------------------------------------------------


def _page(oldest_first: list[StripeObject], p: dict[str, Any], *, url: str) -> StripeObject:
    """One page of a list, newest first; ``limit``, ``starting_after``, ``ending_before``."""
    limit = p.get("limit", 10)
    if not 1 <= limit <= 100:
        raise invalid("This value must be between 1 and 100.", "limit")
    items = oldest_first[::-1]
    ids = [item["id"] for item in items]
    for cursor in ("starting_after", "ending_before"):
        if cursor in p and p[cursor] not in ids:
            raise StripeError(
                f"No such object: '{p[cursor]}'", status=404, code="resource_missing", param=cursor
            )
    if "starting_after" in p:
        rest = items[ids.index(p["starting_after"]) + 1 :]
        return list_object(rest[:limit], url=url, has_more=len(rest) > limit)
    if "ending_before" in p:
        before = items[: ids.index(p["ending_before"])]
        return list_object(before[-limit:], url=url, has_more=len(before) > limit)
    return list_object(items[:limit], url=url, has_more=len(items) > limit)


def _expand(state: EmulatorState, obj: StripeObject, p: dict[str, Any]) -> StripeObject:
    """Replace the ids named by ``expand[]`` (dotted paths, ``data.`` for lists) with objects."""
    for path in p.get("expand", []):
        _expand_path(state, obj, path.split("."), path)
    return obj


def _expand_path(state: EmulatorState, obj: StripeObject, fields: list[str], path: str) -> None:
    field, *rest = fields
    if obj.get("object") == "list" and field == "data":
        for item in obj["data"]:
            if rest:
                _expand_path(state, item, rest, path)
        return
    kind = _EXPANDABLE.get(obj.get("object", ""), {}).get(field)
    if kind is None:
        raise invalid(f"This property cannot be expanded ({path}).", "expand")
    value = obj.get(field)
    if isinstance(value, str):
        value = obj[field] = state.retrieve(value, kind, field)
    if rest and isinstance(value, dict):
        _expand_path(state, value, rest, path)


def _unrecognized(method: str, path: str) -> StripeError:
    return StripeError(
        f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or "
        "we can help at https://support.stripe.com/.",
        status=404,
    )


_ID = r"([^/]+)"
_ROUTES: list[tuple[str, re.Pattern[str], Endpoint]] = [
    ("POST", re.compile(r"/v1/checkout/sessions"), create_checkout_session),
    ("GET", re.compile(r"/v1/checkout/sessions"), list_checkout_sessions),
    ("GET", re.compile(rf"/v1/checkout/sessions/{_ID}"), retrieve_checkout_session),
    ("POST", re.compile(rf"/v1/checkout/sessions/{_ID}/expire"), expire_checkout_session),
    ("GET", re.compile(rf"/v1/payment_intents/{_ID}"), _retriever("payment_intent", "intent")),
    ("GET", re.compile(rf"/v1/charges/{_ID}"), _retriever("charge", "charge")),
    ("POST", re.compile(r"/v1/refunds"), create_refund),
    ("GET", re.compile(rf"/v1/refunds/{_ID}"), _retriever("refund", "refund")),
    ("GET", re.compile(rf"/v1/disputes/{_ID}"), _retriever("dispute", "dispute")),
    ("POST", re.compile(r"/v1/accounts"), create_account),
    ("GET", re.compile(r"/v1/accounts"), _lister("account", "/v1/accounts")),
    ("GET", re.compile(rf"/v1/accounts/{_ID}"), _retriever("account", "account")),
    ("POST", re.compile(rf"/v1/accounts/{_ID}"), update_account),
    ("POST", re.compile(rf"/v1/accounts/{_ID}/login_links"), create_login_link),
    ("POST", re.compile(r"/v1/account_links"), create_account_link),
    ("GET", re.compile(r"/v1/balance"), retrieve_balance),
    ("POST", re.compile(r"/v1/payouts"), create_payout),
    ("GET", re.compile(r"/v1/payouts"), _lister("payout", "/v1/payouts", "status")),
    ("GET", re.compile(rf"/v1/payouts/{_ID}"), _retriever("payout", "payout")),
    ("GET", re.compile(r"/v1/transfers"), _lister("transfer", "/v1/transfers", "destination")),
    ("GET", re.compile(rf"/v1/transfers/{_ID}"), _retriever("transfer", "transfer")),
    (
        "GET",
        re.compile(r"/v1/application_fees"),
        _lister("application_fee", "/v1/application_fees", "charge"),
    ),
    ("GET", re.compile(rf"/v1/application_fees/{_ID}"), _retriever("application_fee", "id")),
    ("GET", re.compile(r"/v1/events"), list_events),
    ("GET", re.compile(rf"/v1/events/{_ID}"), _retriever("event", "id")),
]


def _route(method: str, path: str) -> tuple[Endpoint, tuple[str, ...]]:
    for route_method, pattern, endpoint in _ROUTES:
        match = pattern.fullmatch(path)
        if match and route_method == method:
            return endpoint, tuple(unquote(part) for part in match.groups())
    raise _unrecognized(method, path)
