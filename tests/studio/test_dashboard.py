"""The studio dashboard: figures against a hand-computed fixture, query counts at two sizes,
and CSV exports that hold only the creator's own rows."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from courses import services as course_services
from courses.models import Enrollment, LessonDelivery, LessonPage, LessonProgress
from home.studio import selectors
from payments.models import Order
from tests.payments.factories import paid_course, user
from tests.workshops.factories import paid_workshop
from workshops import services as workshop_services
from workshops.models import WaitlistEntry

from .factories import approved_creator, staff_user

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)  # a Wednesday
STUDIO = "/admin/studio/"


def signed_in(member) -> Client:
    client = Client()
    client.force_login(member)
    return client


def order(course, buyer, *, status, amount=4900, currency="EUR") -> Order:
    return Order.objects.create(
        buyer=buyer,
        course=course,
        item_title=course.title,
        amount=amount,
        currency=currency,
        status=status,
        # The ledger: a refunded order was refunded in full.
        amount_refunded=amount if status == Order.Status.REFUNDED else 0,
    )


@pytest.fixture
def maya():
    return approved_creator(email="maya@example.com", display_name="Maya Okafor")


@pytest.fixture
def theo():
    return approved_creator(email="theo@example.com", display_name="Theo Lindqvist")


@pytest.fixture
def fixture(maya, theo):
    """Maya's course: 4 enrolments (this week 2, last week 1, 20 weeks ago 1), one refunded;
    3 paid orders of €49 and one refunded; 1 of the 3 remaining learners completed.

    Hand-computed: enrolments 4; gross €196.00, refunds €49.00, net €147.00; completion 1/3
    (33%). Lesson day 0: delivered 2 (sent), opened 2, completed 1. Plus a USD order of $10.
    Theo's course has its own enrolment and order, which must not show on Maya's dashboard.
    """
    _maya, storefront = maya
    course = paid_course(storefront_page=storefront, title="Sourdough", lessons=2)
    learners = [user(email=f"l{n}@example.com") for n in range(4)]
    moments = [NOW - timedelta(hours=1), NOW - timedelta(days=1), NOW - timedelta(days=8)]
    moments.append(NOW - timedelta(weeks=20))
    enrolments = [
        course_services.enroll(learner=learner, course=course, now=moment)
        for learner, moment in zip(learners, moments, strict=True)
    ]
    for learner in learners[:3]:
        order(course, learner, status=Order.Status.PAID)
    order(course, learners[3], status=Order.Status.REFUNDED)
    order(
        course, user(email="usd@example.com"), status=Order.Status.PAID, amount=1000, currency="USD"
    )
    order(course, user(email="pending@example.com"), status=Order.Status.PENDING)
    Enrollment.objects.filter(pk=enrolments[3].pk).update(
        status=Enrollment.Status.REFUNDED, refunded_at=NOW
    )
    day0, day1 = LessonPage.objects.child_of(course).order_by("day")
    LessonDelivery.objects.filter(lesson=day0, enrollment__in=enrolments[:2]).update(
        status=LessonDelivery.Status.SENT, sent_at=NOW
    )
    course_services.record_lesson_opened(enrollment=enrolments[1], lesson=day0, now=NOW)
    for lesson in (day0, day1):
        course_services.complete_lesson(enrollment=enrolments[0], lesson=lesson, now=NOW)

    _theo, theo_storefront = theo
    other = paid_course(storefront_page=theo_storefront, title="Practical SQL", lessons=1)
    course_services.enroll(learner=user(email="sam@example.com"), course=other, now=NOW)
    order(other, user(email="sam2@example.com"), status=Order.Status.PAID, amount=1500)
    return course


def test_course_figures_match_the_hand_computed_fixture(maya, fixture):
    stats = selectors.studio_stats(storefront=maya[1], now=NOW)

    (course,) = stats.courses
    assert course.title == "Sourdough"
    assert course.enrollments == 4
    assert (course.completed, course.active_or_paused) == (1, 3)
    assert course.completion_percent == 33
    weekly = dict(course.weekly)
    assert len(weekly) == 12
    monday = datetime(2026, 3, 2).date()
    assert weekly[monday] == 2
    assert weekly[monday - timedelta(weeks=1)] == 1
    assert sum(weekly.values()) == 3  # the enrolment of 20 weeks ago is out of the window
    eur, usd = course.revenue
    assert (eur.currency, eur.gross, eur.refunds, eur.net) == ("EUR", 19600, 4900, 14700)
    assert (eur.gross_display, eur.refunds_display, eur.net_display) == (
        "€196.00",
        "€49.00",
        "€147.00",
    )
    assert (usd.currency, usd.net) == ("USD", 1000)
    day0, day1 = course.lessons
    assert (day0.delivered, day0.opened, day0.completed) == (2, 2, 1)
    assert (day1.delivered, day1.opened, day1.completed) == (0, 1, 1)
    assert [(money.currency, money.net) for money in stats.totals] == [
        ("EUR", 14700),
        ("USD", 1000),
    ]


def test_workshop_figures(maya):
    _user, storefront = maya
    workshop = paid_workshop(parent=storefront, title="Shaping", capacity=3, price_amount=2500)
    confirmed = workshop_services.hold_seat(learner=user(), workshop=workshop)
    workshop_services.confirm_paid_seat(registration_id=confirmed.pk)
    held = workshop_services.hold_seat(learner=user(), workshop=workshop)
    WaitlistEntry.objects.create(workshop=workshop, learner=user(), joined_at=NOW)
    for registration, status in ((confirmed, Order.Status.PAID), (held, Order.Status.REFUNDED)):
        Order.objects.create(
            buyer=registration.learner,
            workshop_registration=registration,
            item_title=workshop.title,
            amount=2500,
            currency="EUR",
            status=status,
            amount_refunded=2500 if status == Order.Status.REFUNDED else 0,
        )
    Order.objects.create(
        buyer=held.learner,
        workshop_registration=held,
        item_title=workshop.title,
        amount=2500,
        currency="EUR",
        status=Order.Status.PENDING,
    )

    (stats,) = selectors.workshop_stats(storefront=storefront)

    assert (stats.confirmed, stats.held, stats.free, stats.waitlist) == (1, 1, 1, 1)
    (eur,) = stats.revenue
    assert (eur.gross_display, eur.refunds_display, eur.net_display) == (
        "€50.00",
        "€25.00",
        "€25.00",
    )
    orders = _rows(signed_in(maya[0]).get(STUDIO + "export/orders.csv"))
    assert [row[2] for row in orders[1:]] == ["Shaping"] * 3
    overview = selectors.staff_overview()
    assert [(m.currency, m.net) for m in overview.creators[0].revenue] == [("EUR", 2500)]


def test_the_dashboard_shows_the_figures_and_an_svg_chart(maya, fixture):
    html = signed_in(maya[0]).get(STUDIO).content.decode()

    assert "Sourdough" in html
    assert "€147.00" in html and "€49.00" in html
    assert "<svg" in html and "<rect" in html
    assert "33%" in html
    assert "Practical SQL" not in html


def test_staff_pick_any_creator(maya, theo, fixture):
    client = signed_in(staff_user())

    html = client.get(STUDIO, {"creator": theo[1].pk}).content.decode()

    assert "Practical SQL" in html and "€15.00" in html
    assert "Sourdough</h3>" not in html
    assert "Maya Okafor" in html  # in the picker


def test_a_creator_cannot_pick_another_creator(maya, theo, fixture):
    html = signed_in(maya[0]).get(STUDIO, {"creator": theo[1].pk}).content.decode()

    assert "Practical SQL" not in html and "Sourdough" in html


def test_learners_and_visitors_cannot_open_the_studio(maya):
    learner = user()
    response = signed_in(learner).get(STUDIO)
    assert response.status_code in (302, 403)
    assert Client().get(STUDIO).status_code == 302
    assert signed_in(learner).get(STUDIO + "export/orders.csv").status_code in (302, 403)


def test_the_studio_menu_item_shows_for_creators_only(maya):
    assert STUDIO in signed_in(maya[0]).get("/admin/").content.decode()


def _rows(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_csv_exports_hold_only_the_creators_own_rows(maya, fixture):
    client = signed_in(maya[0])

    learners = _rows(client.get(STUDIO + "export/learners.csv"))
    orders = _rows(client.get(STUDIO + "export/orders.csv"))

    assert learners[0][:3] == ["kind", "item", "email"]
    assert sorted(row[2] for row in learners[1:]) == [f"l{n}@example.com" for n in range(4)]
    assert {row[1] for row in learners[1:]} == {"Sourdough"}
    assert orders[0][0] == "order"
    assert len(orders) == 1 + 6
    assert {row[2] for row in orders[1:]} == {"Sourdough"}
    assert "sam2@example.com" not in {row[3] for row in orders[1:]}
    assert ["49.00", "EUR"] in [row[4:6] for row in orders[1:]]


def test_a_creator_cannot_export_another_creators_rows(maya, theo, fixture):
    orders = _rows(signed_in(maya[0]).get(STUDIO + "export/orders.csv", {"creator": theo[1].pk}))
    assert {row[2] for row in orders[1:]} == {"Sourdough"}


def _populate(course, learners: int) -> None:
    """``learners`` enrolments with deliveries, progress and orders, in a few bulk inserts."""
    from accounts.models import User

    buyers = User.objects.bulk_create(
        [User(email=f"bulk{course.pk}-{n}@example.com") for n in range(learners)]
    )
    lessons = list(LessonPage.objects.child_of(course))
    enrolments = Enrollment.objects.bulk_create(
        [
            Enrollment(
                learner=buyer,
                course=course,
                enrolled_at=NOW - timedelta(days=n % 80),
                start_date=NOW.date(),
                completed_at=NOW if n % 3 == 0 else None,
            )
            for n, buyer in enumerate(buyers)
        ]
    )
    LessonDelivery.objects.bulk_create(
        [
            LessonDelivery(
                enrollment=enrolment,
                lesson=lesson,
                due_at=NOW,
                status=LessonDelivery.Status.SENT,
                sent_at=NOW,
            )
            for enrolment in enrolments
            for lesson in lessons
        ]
    )
    LessonProgress.objects.bulk_create(
        [
            LessonProgress(enrollment=enrolment, lesson=lessons[0], first_opened_at=NOW)
            for enrolment in enrolments
        ]
    )
    Order.objects.bulk_create(
        [
            Order(
                buyer=buyer,
                course=course,
                item_title=course.title,
                amount=4900,
                currency="EUR",
                status=Order.Status.REFUNDED if n % 5 == 0 else Order.Status.PAID,
                amount_refunded=4900 if n % 5 == 0 else 0,
            )
            for n, buyer in enumerate(buyers)
        ]
    )


def _dashboard_queries(client) -> int:
    # The first request of a test fills what the page cache keeps for every request (the
    # site, the view-restriction flag, the account's Studio link): not what is counted here.
    client.get(STUDIO)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(STUDIO)
    assert response.status_code == 200
    return len(queries)


def test_the_dashboard_query_count_does_not_grow_with_learners(maya, theo):
    small = paid_course(storefront_page=maya[1], title="Small", lessons=3)
    big = paid_course(storefront_page=theo[1], title="Big", lessons=3)
    _populate(small, 10)
    _populate(big, 200)

    small_count = _dashboard_queries(signed_in(maya[0]))
    big_count = _dashboard_queries(signed_in(theo[0]))

    assert small_count == big_count
    assert selectors.course_stats(storefront=theo[1], now=NOW)[0].enrollments == 200


def test_staff_overview_lists_creators_revenue_pending_applications_and_totals(maya, theo, fixture):
    from .factories import application

    application(applicant=user(email="newbie@example.com"), display_name="Newbie")

    overview = selectors.staff_overview()

    by_title = {row.storefront.title: row.revenue for row in overview.creators}
    assert [(m.currency, m.net) for m in by_title["Maya Okafor"]] == [("EUR", 14700), ("USD", 1000)]
    assert [(m.currency, m.net) for m in by_title["Theo Lindqvist"]] == [("EUR", 1500)]
    assert [(m.currency, m.gross, m.net) for m in overview.totals] == [
        ("EUR", 21100, 16200),
        ("USD", 1000, 1000),
    ]
    assert overview.pending_applications == 1
    assert (overview.learners, overview.enrollments) == (5, 5)
    html = signed_in(staff_user()).get(STUDIO).content.decode()
    assert "1 pending creator application" in html and "€162.00" in html


def test_creators_see_no_platform_overview_nor_the_applications_menu(maya, fixture):
    html = signed_in(maya[0]).get(STUDIO).content.decode()

    assert "All creators" not in html
    assert "/admin/creator_applications/" not in signed_in(maya[0]).get("/admin/").content.decode()
