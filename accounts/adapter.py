from dataclasses import dataclass
from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils.html import linebreaks, urlize
from django.utils.safestring import mark_safe

SITE_NAME = "microcourses"


@dataclass(frozen=True)
class SiteIdentity:
    """What allauth's templates call ``current_site``: our name, and the host of SITE_URL
    (not the request's host, which is "127.0.0.1:8000" behind a proxy or in development)."""

    name: str
    domain: str


def site_identity() -> SiteIdentity:
    return SiteIdentity(name=SITE_NAME, domain=urlsplit(settings.SITE_URL).netloc)


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request, user, form, commit=True):
        """Keep the time zone the browser guessed at sign-up (see ``SignupForm``)."""
        user = super().save_user(request, user, form, commit=False)
        time_zone = form.cleaned_data.get("time_zone")
        if time_zone:
            user.time_zone = time_zone
        if commit:
            user.save()
        return user

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        """Every allauth e-mail with the site's name and address (from SITE_URL)."""
        context = {
            **context,
            "current_site": site_identity(),
            "site_name": SITE_NAME,
            "site_url": settings.SITE_URL,
        }
        super().send_mail(template_prefix, email, context)

    def format_email_subject(self, subject: str) -> str:
        """No "[site] " prefix, and sentence case like the site's other e-mails: allauth's
        own subjects are in Title Case ("Please Confirm Your Email Address")."""
        subject = subject.strip()
        if subject.istitle():
            subject = subject[:1] + subject[1:].lower()
        return subject

    def render_mail(self, template_prefix, email, context, headers=None):
        """allauth's text, plus an HTML part in the site's e-mail layout (emails/base.html)."""
        message = super().render_mail(template_prefix, email, context, headers=headers)
        if isinstance(message, EmailMultiAlternatives) and message.alternatives:
            return message
        html = render_to_string(
            "emails/account.html",
            {
                "subject": message.subject,
                "site_url": settings.SITE_URL,
                "body_html": mark_safe(linebreaks(urlize(message.body, autoescape=True))),  # noqa: S308
            },
        )
        branded = EmailMultiAlternatives(
            subject=message.subject,
            body=message.body,
            from_email=message.from_email,
            to=message.to,
            headers=message.extra_headers,
        )
        branded.attach_alternative(html, "text/html")
        return branded
