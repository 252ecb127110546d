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
) -> EmailMultiAlternatives:
    """An e-mail from the site's address with bodies already rendered (see ``render_email``)."""
    message = EmailMultiAlternatives(
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
) -> EmailMultiAlternatives:
    text, html = render_email(template=template, subject=subject, context=context)
    return compose_email(
        to=to, subject=subject, text=text, html=html, headers=headers, connection=connection
    )
