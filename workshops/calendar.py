"""The workshop's calendar invite (RFC 5545), built with the ``icalendar`` library."""

from datetime import UTC, datetime

from django.conf import settings
from icalendar import Calendar, Event, vText

from config.mail import absolute_url

from .models import WorkshopPage


def invite_uid(workshop: WorkshopPage) -> str:
    """Stable for the workshop's life, so a moved workshop updates the same calendar entry."""
    return f"workshop-{workshop.pk}@{settings.EMAIL_MESSAGE_ID_DOMAIN}"


def build_invite(
    *, workshop: WorkshopPage, sequence: int, cancelled: bool = False, now: datetime | None = None
) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//microcourses//workshops//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "PUBLISH")
    event = Event()
    event.add("uid", invite_uid(workshop))
    event.add("sequence", sequence)
    event.add("dtstamp", now or datetime.now(UTC))
    event.add("dtstart", workshop.starts_at.astimezone(UTC))
    event.add("dtend", workshop.ends_at.astimezone(UTC))
    event.add("summary", workshop.title)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    page_url = absolute_url(workshop.url or "/")
    event.add("url", page_url)
    if workshop.format == "in_person" and workshop.address:
        event.add("location", vText(workshop.address))
    else:
        # The join link itself stays private: the page shows it to registrants an hour before.
        event.add("location", vText(page_url))
    event.add("description", f"{workshop.tagline}\n\nDetails and join link: {page_url}".strip())
    calendar.add_component(event)
    return calendar.to_ical()
