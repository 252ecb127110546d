"""The hosted Connect pages: Express onboarding (``/connect/onboarding/<token>``, an account
link's ``url``) and the Express dashboard (``/connect/express/<token>``, a login link's ``url``).

The onboarding page plays Stripe's hosted onboarding in test mode. Its buttons post back to the
same URL with ``action`` set to the button's value; each changes the account (sending
``account.updated``) and redirects to the link's ``return_url``. A used or expired link
redirects to its ``refresh_url`` instead, on GET and POST alike, as Stripe does.

=========================  ==============  ==================================================
button id                  action          the account afterwards
=========================  ==============  ==================================================
``onboarding-complete``    ``complete``    details submitted; charges and payouts enabled;
                                           capabilities active; nothing due
``onboarding-incomplete``  ``incomplete``  details not submitted; nothing enabled;
                                           ``currently_due`` lists what is missing
``onboarding-restricted``  ``restricted``  details submitted but charges and payouts
                                           disabled: ``disabled_reason`` is
                                           ``requirements.past_due`` (an ID document is due)
=========================  ==============  ==================================================
"""

from __future__ import annotations

from html import escape

from .checkout_page import html_page
from .money import format_amount
from .objects import StripeObject
from .state import OnboardingGrant

# The button's form value -> EmulatorState.onboard outcome (the same words).
ONBOARDING_ACTIONS = ("complete", "incomplete", "restricted")
_LABELS = {
    "complete": "Complete onboarding",
    "incomplete": "Leave incomplete",
    "restricted": "Restricted",
}
_PRIMARY = ' class="primary"'


def render_onboarding(grant: OnboardingGrant, account: StripeObject) -> str:
    buttons = "\n".join(
        f'<button type="submit" name="action" value="{action}" id="onboarding-{action}"'
        f"{_PRIMARY if action == 'complete' else ''}>{_LABELS[action]}</button>"
        for action in ONBOARDING_ACTIONS
    )
    body = f"""
<p class="test-mode">TEST MODE &middot; Stripe emulator</p>
<h1>Set up payouts</h1>
<p>Connected account <code id="account">{escape(account["id"])}</code>
{f"({escape(account['email'])})" if account["email"] else ""}</p>
<p class="muted">Choose how this test onboarding ends. Every choice returns you to the
platform and sends it an <code>account.updated</code> event.</p>
<form method="post">
{buttons}
</form>"""
    return html_page("Onboarding", body)


def render_dashboard(
    account: StripeObject, balance: StripeObject, payouts: list[StripeObject]
) -> str:
    def amounts(entries: list[StripeObject]) -> str:
        return ", ".join(format_amount(entry["amount"], entry["currency"]) for entry in entries)

    rows = "".join(
        f'<tr class="payout"><td>{escape(payout["id"])}</td><td>{escape(payout["status"])}</td>'
        f'<td class="amount">{escape(format_amount(payout["amount"], payout["currency"]))}</td>'
        "</tr>"
        for payout in reversed(payouts)
    )
    available = escape(amounts(balance["available"]))
    pending = escape(amounts(balance["pending"]))
    body = f"""
<p class="test-mode">TEST MODE &middot; Stripe emulator</p>
<h1>Express dashboard (emulated)</h1>
<p>Account <code id="account">{escape(account["id"])}</code></p>
<table>
<tr><td>Available</td><td class="amount" id="available">{available}</td></tr>
<tr><td>Pending</td><td class="amount" id="pending">{pending}</td></tr>
</table>
<h2>Payouts</h2>
<table id="payouts">{rows or '<tr><td class="muted">No payouts yet.</td></tr>'}</table>"""
    return html_page("Express dashboard (emulated)", body)


def render_link_not_found(kind: str) -> str:
    return html_page(
        "Not found", f'<p class="status" id="status">This {escape(kind)} link is not valid.</p>'
    )
