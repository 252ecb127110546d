"""Announcements: a creator writes once, each learner gets it once.

``announce`` writes the Announcement and one ``AnnouncementRecipient`` row per person, in one
transaction (the outbox), and queues ``home.tasks.send_announcement`` after commit. The task
sends in batches: each batch locks its pending rows (``FOR UPDATE SKIP LOCKED``), sends, and
marks them sent in the same transaction. A second run of the task, or two at once, finds no
pending row twice. A worker that dies mid-batch rolls the batch back, so that batch may be
sent again when the task is retried (at least once; never twice on a normal re-run).
"""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.core.mail import BadHeaderError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from config.mail import absolute_url, build_email
from config.queueing import enqueue_on_commit
from config.validators import validate_single_line
from courses.models import CoursePage, Enrollment
from home.models import Announcement, AnnouncementRecipient
from workshops.models import Registration, WorkshopPage

from . import selectors

BATCH_SIZE = 100


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
    """Write the announcement and its recipient rows, and queue the sending after commit."""
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
                        else AnnouncementRecipient.Status.PENDING
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
        AnnouncementRecipient.objects.bulk_create(rows, ignore_conflicts=True)
        skipped = sum(1 for row in rows if row.status == AnnouncementRecipient.Status.SKIPPED)
        Announcement.objects.filter(pk=announcement.pk).update(
            recipients=len(rows), skipped=skipped
        )
        announcement.recipients, announcement.skipped = len(rows), skipped
        enqueue_on_commit("home.tasks.send_announcement", announcement.pk)
    return announcement


def send_batch(
    *, announcement_id: int, now: datetime | None = None, batch_size: int = BATCH_SIZE
) -> int:
    """Send up to ``batch_size`` pending messages of one announcement; how many were sent."""
    now = now or timezone.now()
    with transaction.atomic():
        rows = list(
            AnnouncementRecipient.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(announcement_id=announcement_id, status=AnnouncementRecipient.Status.PENDING)
            .select_related("recipient", "announcement__course", "announcement__workshop")
            .order_by("pk")[:batch_size]
        )
        if not rows:
            return 0
        announcement = rows[0].announcement
        item = announcement.course or announcement.workshop
        item_url = absolute_url(item.url or "/") if item is not None else ""
        sent = []
        for row in rows:
            if row.recipient.email_bouncing_since is not None:
                # The mail server refused this address for good: no more mail goes there until
                # the learner fixes or confirms it (the dashboard asks them to).
                AnnouncementRecipient.objects.filter(pk=row.pk).update(
                    status=AnnouncementRecipient.Status.FAILED,
                    error=_("Not sent: the address bounced."),
                )
                continue
            try:
                message = build_email(
                    to=row.recipient.email,
                    subject=announcement.subject,
                    template="announcement",
                    context={
                        "announcement": announcement,
                        "item_title": item.title if item else "",
                        "item_url": item_url,
                        "name": row.recipient.first_name,
                    },
                )
                message.message()  # a header it can't carry raises here, not mid-send
            except BadHeaderError as error:
                # The last line of defence (subjects are validated when written): this
                # message can never be built, so it is marked failed, never retried.
                AnnouncementRecipient.objects.filter(pk=row.pk).update(
                    status=AnnouncementRecipient.Status.FAILED, error=str(error)[:300]
                )
                continue
            message.send()
            sent.append(row.pk)
        AnnouncementRecipient.objects.filter(pk__in=sent).update(
            status=AnnouncementRecipient.Status.SENT, sent_at=now
        )
        Announcement.objects.filter(pk=announcement_id).update(sent=F("sent") + len(sent))
    return len(rows)


def send_all(
    *, announcement_id: int, now: datetime | None = None, batch_size: int = BATCH_SIZE
) -> int:
    """Send every pending message, batch by batch; then note the finish time."""
    total = 0
    while sent := send_batch(announcement_id=announcement_id, now=now, batch_size=batch_size):
        total += sent
    Announcement.objects.filter(pk=announcement_id, finished_at__isnull=True).update(
        finished_at=now or timezone.now()
    )
    return total
