"""Announcements: a creator writes once, each learner gets it once.

``announce`` writes, in one transaction, the Announcement, one ``AnnouncementRecipient`` row
per person (unique: the audience, paused learners marked skipped) and, for each person it goes
to, the rendered e-mail on the site's outbox (``accounts/outbox.py``, kind
``home.announcement``), linked from the recipient row. The outbox sends them after commit, 50
per SMTP connection, with its claim, retry and bounce rules: an address that bounces gets no
announcement (the outbox marks that e-mail skipped).
"""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.outbox import outbound_email, queue_emails
from config.mail import absolute_url, render_email
from config.validators import validate_single_line
from courses.models import CoursePage, Enrollment
from home.models import Announcement, AnnouncementRecipient
from workshops.models import Registration, WorkshopPage

from . import selectors

QUEUED = AnnouncementRecipient.Status.QUEUED


class AnnouncementRefused(Exception):
    """The author may not write to these learners; the message says why."""


def _owns(author, page) -> bool:
    if author.is_staff:
        return True
    storefront = selectors.storefront_of(author)
    return storefront is not None and page.path.startswith(storefront.path)


def announce(
    *,
    author,
    subject: str,
    body: str,
    course: CoursePage | None = None,
    workshop: WorkshopPage | None = None,
    now: datetime | None = None,
) -> Announcement:
    """Write the announcement, its recipient rows and each person's e-mail on the outbox, in
    one transaction; the outbox sends them after commit."""
    if (course is None) == (workshop is None):
        raise AnnouncementRefused(_("Choose one course or one workshop."))
    try:
        validate_single_line(subject)
    except ValidationError as error:
        raise AnnouncementRefused(" ".join(error.messages)) from error
    item = course or workshop
    if not _owns(author, item):
        raise AnnouncementRefused(_("You can only write to the learners of your own courses."))
    now = now or timezone.now()
    with transaction.atomic():
        announcement = Announcement.objects.create(
            author=author,
            course=course,
            workshop=workshop,
            subject=subject.strip(),
            body=body.strip(),
            created_at=now,
        )
        if course is not None:
            rows = [
                AnnouncementRecipient(
                    announcement=announcement,
                    recipient_id=learner_id,
                    status=(
                        AnnouncementRecipient.Status.SKIPPED
                        if status == Enrollment.Status.PAUSED
                        else QUEUED
                    ),
                )
                for learner_id, status in Enrollment.objects.filter(
                    course=course,
                    status__in=[Enrollment.Status.ACTIVE, Enrollment.Status.PAUSED],
                ).values_list("learner_id", "status")
            ]
        else:
            rows = [
                AnnouncementRecipient(announcement=announcement, recipient_id=learner_id)
                for learner_id in Registration.objects.filter(
                    workshop=workshop, status=Registration.Status.CONFIRMED
                )
                .values_list("learner_id", flat=True)
                .distinct()
            ]
        _queue_emails(announcement, [row for row in rows if row.status == QUEUED], now=now)
        AnnouncementRecipient.objects.bulk_create(rows)
        skipped = sum(1 for row in rows if row.status == AnnouncementRecipient.Status.SKIPPED)
        Announcement.objects.filter(pk=announcement.pk).update(
            recipients=len(rows), skipped=skipped
        )
        announcement.recipients, announcement.skipped = len(rows), skipped
    return announcement


def _queue_emails(
    announcement: Announcement, rows: list[AnnouncementRecipient], *, now: datetime
) -> None:
    """Render each person's e-mail and write them all to the outbox; link each from its row."""
    item = announcement.item
    item_url = absolute_url(item.url or "/")
    recipients = User.objects.in_bulk([row.recipient_id for row in rows])
    emails = []
    for row in rows:
        person = recipients[row.recipient_id]
        text, html = render_email(
            template="announcement",
            subject=announcement.subject,
            context={
                "announcement": announcement,
                "item_title": item.title,
                "item_url": item_url,
                "name": person.first_name,
            },
        )
        emails.append(
            outbound_email(
                to=person.email,
                subject=announcement.subject,
                text=text,
                html=html,
                kind="home.announcement",
                user=person,
                now=now,
            )
        )
    for row, email in zip(rows, queue_emails(emails), strict=True):
        row.email = email
