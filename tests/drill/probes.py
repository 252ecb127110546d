"""What the drill runs inside the site (one ``manage.py shell`` under the production settings,
``serve``): its set-up, the lesson's files, the spike, and the end checks. Each answers with one
JSON line for tests/drill/run.py."""

import json
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.test import Client
from django.utils import timezone
from wagtail.documents.models import Document
from wagtail.models import Collection

from accounts.models import User
from courses.emails import build_lesson_email
from courses.models import CoursePage, Enrollment, LessonDelivery, LessonPage
from payments.models import Order
from tests.bench.dispatch_bulk import build_outbox
from tests.courses.factories import course as new_course
from tests.courses.factories import lesson as new_lesson
from tests.drill.run import PROBE_ANSWER
from workshops.models import Registration, SeatInventory, WorkshopPage

UNSENT = ["pending", "sending"]


def emit(data: dict) -> None:
    print(PROBE_ANSWER + json.dumps(data), flush=True)


def serve() -> None:
    """Answer tests/drill/run.py's probes, one JSON line in (``{"probe": name, "kwargs": {}}``),
    one marked line out, until its stdin closes."""
    for line in sys.stdin:
        request = json.loads(line)
        try:
            globals()[request["probe"]](**request["kwargs"])
        except Exception:
            emit({"error": traceback.format_exc()})


def session_of(user: User) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def setup(*, users: int) -> None:
    """Signed-in learners whose day-0 lesson is due at once (their send hour is this hour, in
    UTC), the free course's creator's session and collections, and the pages the visitors use."""
    now = timezone.now()
    password = make_password("drill-pass-2026")
    sessions = []
    for n in range(users):
        user, _ = User.objects.get_or_create(
            email=f"drill-{n}@example.test",
            defaults={"password": password, "time_zone": "UTC", "lesson_send_hour": now.hour},
        )
        EmailAddress.objects.get_or_create(
            user=user, email=user.email, defaults={"verified": True, "primary": True}
        )
        sessions.append(session_of(user))
    free = CoursePage.objects.live().filter(price_amount=0).first()
    paid = CoursePage.objects.live().filter(price_amount__gt=0).first()
    workshop = WorkshopPage.objects.live().filter(price_amount=0).first()
    assert free and paid and workshop, "seed_demo makes a free and a paid course, a workshop"
    lesson = free.lessons().order_by("day").first()
    assert lesson is not None
    creator = free.get_parent().specific.creator
    emit(
        {
            "sessions": sessions,
            "free_course_id": free.pk,
            "free_course_url": free.url,
            "paid_course_id": paid.pk,
            "lesson_url": lesson.url,
            "workshop_id": workshop.pk,
            "workshop_url": workshop.url,
            "lesson_id": lesson.pk,
            "creator_session": session_of(creator),
            # provision_creator's collections, named "<storefront> images (<user id>)".
            "creator_images_collection_id": Collection.objects.get(
                name__endswith=f" images ({creator.pk})"
            ).pk,
            "creator_documents_collection_id": Collection.objects.get(
                name__endswith=f" documents ({creator.pk})"
            ).pk,
        }
    )


def add_to_lesson(*, lesson_id: int, document_id: int, image_id: int) -> None:
    """The creator's uploaded image and document become the lesson's last blocks, published
    as its new revision (what the creator does next in the page editor)."""
    lesson = LessonPage.objects.get(pk=lesson_id)
    document = Document.objects.get(pk=document_id)
    blocks = lesson.body.stream_block.child_blocks
    for name, raw in (
        ("image", {"image": image_id, "alt_text": "A drill picture", "decorative": False}),
        ("download", {"document": document_id, "label": "The drill's handout"}),
    ):
        lesson.body.append((name, blocks[name].to_python(raw)))
    lesson.save_revision(user=User.objects.get(pk=document.uploaded_by_user_id)).publish()
    emit({"download_url": document.url})


def spike(*, learners: int, out: str) -> None:
    """``learners`` new enrolments in a one-lesson course, every lesson due now; and one of
    those e-mails, under a Message-ID of its own, for the SMTP-alone loop."""
    page = new_course(lessons=0, title="Spike")
    new_lesson(page, day=0, title="Everyone at once")
    due_from = time.time()
    build_outbox(
        course_page=page, learners=learners, sent=0, due=1, now=timezone.now(), tag="spike"
    )
    rows = LessonDelivery.objects.filter(enrollment__course=page, status="pending")
    sample = rows.select_related("enrollment__learner", "enrollment__course", "lesson").first()
    assert sample is not None
    message = build_lesson_email(sample).message().as_bytes(linesep="\r\n")  # type: ignore[call-arg]
    path = Path(out) / "lesson-email.eml"
    path.write_bytes(message.replace(sample.message_id.encode(), b"<smtp-alone@drill.test>"))
    domain = settings.EMAIL_MESSAGE_ID_DOMAIN
    emit(
        {
            "due_from": due_from,
            "message_file": str(path),
            "message_ids": [
                f"<lesson-delivery-{pk}@{domain}>" for pk in rows.values_list("pk", flat=True)
            ],
        }
    )


def checks(*, out: str) -> None:
    paid = Order.objects.filter(status="paid")
    wrong = [
        str(order.pk)
        for order in paid.filter(course__isnull=False)
        if Enrollment.objects.filter(learner_id=order.buyer_id, course_id=order.course_id).count()
        != 1
    ]
    wrong += [
        str(order.pk)
        for order in paid.filter(workshop_registration__isnull=False).select_related(
            "workshop_registration"
        )
        if getattr(order.workshop_registration, "status", None) != "confirmed"
    ]
    oversold = [
        inventory.pk
        for inventory in SeatInventory.objects.all()
        if inventory.held + inventory.confirmed + inventory.offered > inventory.capacity
        or Registration.objects.filter(
            workshop_id=inventory.workshop_id, status="confirmed"
        ).count()
        > inventory.capacity
    ]
    received: Counter[str] = Counter()
    first_seen: dict[str, float] = {}
    for line in (Path(out) / "smtp.jsonl").read_text().splitlines():
        entry = json.loads(line)
        message_id = entry["message_id"] or ""
        if message_id.startswith("<lesson-delivery-"):
            received[message_id] += 1
            first_seen.setdefault(message_id, entry["t"])
    # Lag from due time to the SMTP server, for the drill's learners (enrolled during the run).
    lags = sorted(
        max(0.0, first_seen[d.message_id] - d.due_at.timestamp())
        for d in LessonDelivery.objects.filter(
            status="sent", enrollment__learner__email__startswith="drill-"
        )
        if d.message_id in first_seen
    )

    def percentile(p: float) -> float | None:
        return round(lags[min(len(lags) - 1, int(p * len(lags)))], 1) if lags else None

    emit(
        {
            "paid_orders": paid.count(),
            "paid_orders_not_enrolled_once": wrong,
            "enrollments": Enrollment.objects.count(),
            "confirmed_seats": Registration.objects.filter(status="confirmed").count(),
            "oversold_workshops": oversold,
            "pending_due": LessonDelivery.objects.filter(
                status__in=UNSENT, due_at__lte=timezone.now()
            ).count(),
            "lesson_emails_received": sum(received.values()),
            "duplicate_lesson_emails": sum(n - 1 for n in received.values()),
            "lesson_lag_p50_s": percentile(0.5),
            "lesson_lag_p95_s": percentile(0.95),
            "lesson_lag_max_s": round(lags[-1], 1) if lags else None,
        }
    )
