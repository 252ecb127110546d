"""Building the site's e-mails: every message has a plain-text and an HTML part.

Templates come in pairs, ``<name>.txt`` and ``<name>.html``, under ``templates/emails/``; the
HTML ones extend ``emails/base.html``, an e-mail-safe layout (tables, inline styles).
"""

from urllib.parse import urljoin

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def absolute_url(path: str) -> str:
    """A link that works from an inbox: ``/courses/x/`` -> ``https://site/courses/x/``."""
    return urljoin(settings.SITE_URL, path)


def build_email(
    *,
    to: str,
    subject: str,
    template: str,
    context: dict,
    headers: dict[str, str] | None = None,
    connection=None,
) -> EmailMultiAlternatives:
    context = {"site_url": settings.SITE_URL, "subject": subject, **context}
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"emails/{template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers=headers or {},
        connection=connection,
    )
    message.attach_alternative(render_to_string(f"emails/{template}.html", context), "text/html")
    return message
