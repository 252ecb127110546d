"""Building and sending the site's e-mails: every message has a plain-text and an HTML part.

Templates come in pairs, ``<name>.txt`` and ``<name>.html``, under ``templates/emails/``; the
HTML ones extend ``emails/base.html``, an e-mail-safe layout (tables, inline styles).
"""

import functools
import re
import smtplib
from urllib.parse import urljoin

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends import smtp
from django.core.mail.message import sanitize_address
from django.template.loader import render_to_string


class SiteEmail(EmailMultiAlternatives):
    """One of the site's e-mails, possibly with its bytes on the wire already made.

    Building the MIME tree and writing it out is most of the cost of sending a message. Lesson
    e-mails go out by the thousand with the same bodies, so ``courses.emails`` writes a
    lesson's e-mail once and puts each learner's own parts into a copy of its bytes:
    ``wire_bytes``. ``SMTPBackend`` sends those bytes as they are. ``message()`` still builds
    the same e-mail the usual way, for every other backend (files, memory, console) and for
    code that reads its headers.
    """

    wire_bytes: bytes | None = None


# An address as headers and SMTP carry it, unchanged: an ASCII dot-atom local part and domain
# (RFC 5322, 3.4.1), no display name. Django's sanitize_address() returns these as they are.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
PLAIN_ADDRESS = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")


@functools.lru_cache(maxsize=64)
def _sanitized(address: str, encoding: str) -> str:
    return sanitize_address(address, encoding)


def envelope_address(address: str, encoding: str) -> str:
    """``sanitize_address()``, without its parser for a plain address or one seen before.

    Parsing two addresses costs about as much as sending a ready-made message; the sender is
    the same in every message and a learner's address is almost always plain.
    """
    return address if PLAIN_ADDRESS.fullmatch(address) else _sanitized(address, encoding)


class SMTPBackend(smtp.EmailBackend):
    """Django's SMTP backend, but a ``SiteEmail`` with ``wire_bytes`` is sent as those bytes."""

    def _send(self, email_message):
        wire_bytes = getattr(email_message, "wire_bytes", None)
        if wire_bytes is None or not email_message.recipients():
            return super()._send(email_message)  # type: ignore[misc]  # not in django-stubs
        encoding = email_message.encoding or settings.DEFAULT_CHARSET
        from_email = envelope_address(email_message.from_email, encoding)
        recipients = [envelope_address(addr, encoding) for addr in email_message.recipients()]
        if self.connection is None:  # send_messages() opens it before calling _send()
            return False
        try:
            self.connection.sendmail(from_email, recipients, wire_bytes)
        except smtplib.SMTPException:
            if not self.fail_silently:
                raise
            return False
        return True


def absolute_url(path: str) -> str:
    """A link that works from an inbox: ``/courses/x/`` -> ``https://site/courses/x/``."""
    return urljoin(settings.SITE_URL, path)


def render_email(*, template: str, subject: str, context: dict) -> tuple[str, str]:
    """The plain-text and HTML bodies of ``emails/<template>.txt`` and ``.html``."""
    context = {"site_url": settings.SITE_URL, "subject": subject, **context}
    return (
        render_to_string(f"emails/{template}.txt", context),
        render_to_string(f"emails/{template}.html", context),
    )


def compose_email(
    *,
    to: str,
    subject: str,
    text: str,
    html: str,
    headers: dict[str, str] | None = None,
    connection=None,
) -> SiteEmail:
    """An e-mail from the site's address with bodies already rendered (see ``render_email``)."""
    message = SiteEmail(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers=headers or {},
        connection=connection,
    )
    message.attach_alternative(html, "text/html")
    return message


def build_email(
    *,
    to: str,
    subject: str,
    template: str,
    context: dict,
    headers: dict[str, str] | None = None,
    connection=None,
) -> SiteEmail:
    text, html = render_email(template=template, subject=subject, context=context)
    return compose_email(
        to=to, subject=subject, text=text, html=html, headers=headers, connection=connection
    )
