"""The hosted test checkout page at ``/c/pay/<session id>``: one self-contained HTML page.

It plays the part of Stripe's hosted Checkout in test mode. Its buttons post back to the same URL
with ``action`` set to the button's value, and browser tests click them by id:

==================  ===================  =====================================================
button id           action               effect
==================  ===================  =====================================================
``pay``             ``pay``              card charged, session complete, redirect to success
``pay-declined``    ``pay-declined``     nothing changes; "Your card was declined."
``pay-delayed``     ``pay-delayed``      session complete but unpaid until settled
``cancel``          ``cancel``           redirect to cancel_url; the session stays open
==================  ===================  =====================================================
"""

from __future__ import annotations

from html import escape

from .money import format_amount
from .objects import StripeObject
from .state import LineItem

# The button's form value -> EmulatorState.pay outcome.
PAY_ACTIONS = {"pay": "paid", "pay-declined": "declined", "pay-delayed": "delayed"}
CANCEL_ACTION = "cancel"
DECLINED_MESSAGE = "Your card was declined."

_STYLE = """
body { font-family: system-ui, sans-serif; background: #f6f9fc; color: #1a1f36; margin: 0; }
main { max-width: 28rem; margin: 3rem auto; background: #fff; padding: 2rem;
       border-radius: 8px; box-shadow: 0 2px 8px rgba(0, 0, 0, .08); }
.test-mode { background: #ffde92; color: #7a4b00; font-size: .8rem; font-weight: 600;
             padding: .2rem .5rem; border-radius: 4px; display: inline-block; }
table { width: 100%; border-collapse: collapse; margin: 1rem 0; }
td { padding: .4rem 0; vertical-align: top; }
td.amount { text-align: right; white-space: nowrap; }
.description, .muted { color: #697386; font-size: .85rem; }
.total td { border-top: 1px solid #e3e8ee; font-weight: 600; font-size: 1.1rem; }
.alert { background: #fde8e8; color: #a4262c; padding: .6rem; border-radius: 4px; }
.status { font-size: 1.1rem; font-weight: 600; }
label, input { display: block; width: 100%; box-sizing: border-box; }
input { padding: .5rem; margin: .3rem 0 1rem; border: 1px solid #e3e8ee; border-radius: 4px; }
button { display: block; width: 100%; padding: .7rem; margin-top: .6rem; font-size: 1rem;
         border-radius: 4px; border: 1px solid #e3e8ee; background: #fff; cursor: pointer; }
button#pay, button.primary { background: #635bff; color: #fff; border-color: #635bff; }
"""


def render_checkout(
    session: StripeObject, line_items: list[LineItem], *, alert: str | None = None
) -> str:
    """The page for ``session``: the payment form while open, else a note of its state."""
    currency = session["currency"]
    rows = "".join(_item_row(item, currency) for item in line_items)
    total = format_amount(session["amount_total"], currency)
    body = f"""
<p class="test-mode">TEST MODE &middot; Stripe emulator</p>
<h1>Checkout</h1>
<table id="items">{rows}
<tr class="total"><td>Total</td><td class="amount" id="total">{escape(total)}</td></tr>
</table>
{_form(session, alert) if session["status"] == "open" else _closed_note(session)}
"""
    return html_page("Checkout", body)


def render_not_found(session_id: str) -> str:
    return html_page(
        "Not found",
        f'<p class="status" id="status">No checkout session {escape(session_id)}.</p>',
    )


def _item_row(item: LineItem, currency: str) -> str:
    description = (
        f'<div class="description">{escape(item.description)}</div>' if item.description else ""
    )
    quantity = (
        f'<div class="muted">{item.quantity} &times; '
        f"{escape(format_amount(item.unit_amount, currency))}</div>"
        if item.quantity > 1
        else ""
    )
    amount = escape(format_amount(item.amount, currency))
    return (
        f'\n<tr class="item"><td><div class="name">{escape(item.name)}</div>{description}'
        f'{quantity}</td><td class="amount">{amount}</td></tr>'
    )


def _form(session: StripeObject, alert: str | None) -> str:
    email = session["customer_email"]
    email_field = (
        f'<p>Email <span id="email">{escape(email)}</span></p>'
        if email
        else '<label for="email">Email</label>'
        '<input type="email" name="email" id="email" autocomplete="email">'
    )
    alert_html = f'<p class="alert" role="alert" id="alert">{escape(alert)}</p>' if alert else ""
    cancel = (
        f'<button type="submit" name="action" value="{CANCEL_ACTION}" id="cancel" '
        "formnovalidate>Cancel</button>"
        if session["cancel_url"]
        else ""
    )
    return f"""{alert_html}
<form method="post">
{email_field}
<p class="muted">Card 4242 4242 4242 4242 &middot; any future date &middot; any CVC</p>
<button type="submit" name="action" value="pay" id="pay">Pay</button>
<button type="submit" name="action" value="pay-declined" id="pay-declined">
Pay with a declined card</button>
<button type="submit" name="action" value="pay-delayed" id="pay-delayed">
Pay with a delayed method</button>
{cancel}
</form>"""


def _closed_note(session: StripeObject) -> str:
    if session["status"] == "expired":
        return '<p class="status" id="status">This checkout session has expired.</p>'
    paid = session["payment_status"] == "paid"
    note = "Payment complete." if paid else "Your payment is being processed."
    back = session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"])
    return (
        f'<p class="status" id="status">This checkout session is complete. {note}</p>'
        f'<p><a href="{escape(back, quote=True)}">Return to the merchant</a></p>'
    )


def html_page(title: str, body: str) -> str:
    """A whole page in the emulator's look (its hosted pages share it)."""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>{_STYLE}</style>
</head>
<body><main>{body}</main></body>
</html>
"""
