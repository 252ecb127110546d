"""Schedule edges (issue #11): a learner's zone or send hour changed anywhere, a cohort's
start date moved by its creator, and a learner joining a cohort late."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from freezegun import freeze_time

from accounts.models import User
from accounts.signals import learner_schedule_changed
from courses import services
from courses.dispatch import claim_due_deliveries
from courses.models import CoursePage, Enrollment, LessonDelivery
from courses.selectors import lesson_access
from tests.accounts.factories import UserFactory
from tests.courses.factories import cohort_course, course, enroll, morning_learner

pytestmark = pytest.mark.django_db

Status = LessonDelivery.Status


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def due_times(enrollment: Enrollment) -> list[datetime]:
    return list(enrollment.deliveries.order_by("lesson__day").values_list("due_at", flat=True))


# Part 1: a learner's zone or send hour, changed on any path


# Enrolled at 07:00 CEST on 1 June: every lesson pending, at 08:00 Berlin (06:00 UTC).
ENROLLED_AT = utc(2026, 6, 1, 5)
AT_EIGHT_IN_BERLIN = [utc(2026, 6, 1, 6), utc(2026, 6, 2, 6), utc(2026, 6, 3, 6)]
# The same lessons at 07:00 in New York (EDT, UTC-4).
AT_SEVEN_IN_NEW_YORK = [utc(2026, 6, 1, 11), utc(2026, 6, 2, 11), utc(2026, 6, 3, 11)]
CHANGED_AT = "2026-06-01 05:30:00"


@pytest.fixture
def traveller() -> User:
    return morning_learner(time_zone="Europe/Berlin", send_hour=8)


@pytest.fixture
def enrollment(traveller) -> Enrollment:
    enrollment = enroll(traveller, course(lessons=3), now=ENROLLED_AT)
    assert due_times(enrollment) == AT_EIGHT_IN_BERLIN
    return enrollment


@pytest.fixture
def schedule_signals():
    """Every learner_schedule_changed sent during the test, as the learners' ids."""
    sent: list[int] = []

    def record(sender, learner, **kwargs):
        sent.append(learner.pk)

    learner_schedule_changed.connect(record)
    yield sent
    learner_schedule_changed.disconnect(record)


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_profile_page_reschedules(client, traveller, enrollment):
    client.force_login(traveller)
    with freeze_time(CHANGED_AT):
        response = client.post(
            reverse("profile"), {"time_zone": "America/New_York", "lesson_send_hour": "7"}
        )

    assert response.status_code == 302
    assert due_times(enrollment) == AT_SEVEN_IN_NEW_YORK


def django_admin_user_form(user: User, **changes) -> dict:
    data = {
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "time_zone": user.time_zone,
        "lesson_send_hour": str(user.lesson_send_hour),
        "is_active": "on",
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": "2026-05-01",
        "date_joined_1": "09:00:00",
    }
    return {**data, **changes}


def test_django_admin_change_form_reschedules(staff_client, traveller, enrollment):
    url = reverse("admin:accounts_user_change", args=[traveller.pk])
    with freeze_time(CHANGED_AT):
        response = staff_client.post(
            url,
            django_admin_user_form(traveller, time_zone="America/New_York", lesson_send_hour="7"),
        )

    assert response.status_code == 302, response.context["adminform"].form.errors
    traveller.refresh_from_db()
    assert (traveller.time_zone, traveller.lesson_send_hour) == ("America/New_York", 7)
    assert due_times(enrollment) == AT_SEVEN_IN_NEW_YORK


def test_django_admin_refuses_an_unknown_zone_and_moves_nothing(
    staff_client, traveller, enrollment, schedule_signals
):
    url = reverse("admin:accounts_user_change", args=[traveller.pk])
    response = staff_client.post(
        url, django_admin_user_form(traveller, time_zone="Mars/Olympus_Mons")
    )

    assert response.status_code == 200
    assert "time_zone" in response.context["adminform"].form.errors
    traveller.refresh_from_db()
    assert traveller.time_zone == "Europe/Berlin"
    assert due_times(enrollment) == AT_EIGHT_IN_BERLIN
    assert schedule_signals == []


def test_django_admin_saving_other_fields_moves_nothing(
    staff_client, traveller, enrollment, schedule_signals
):
    url = reverse("admin:accounts_user_change", args=[traveller.pk])
    response = staff_client.post(url, django_admin_user_form(traveller, first_name="Lee"))

    assert response.status_code == 302
    assert schedule_signals == []
    assert due_times(enrollment) == AT_EIGHT_IN_BERLIN


def test_wagtail_admin_user_edit_reschedules(staff_client, traveller, enrollment):
    url = reverse("wagtailusers_users:edit", args=[traveller.pk])
    assert 'name="lesson_send_hour"' in staff_client.get(url).content.decode()
    data = {
        "email": traveller.email,
        "first_name": traveller.first_name,
        "last_name": "Park",  # Wagtail's form requires one
        "time_zone": "America/New_York",
        "lesson_send_hour": "7",
        "is_active": "on",
    }
    with freeze_time(CHANGED_AT):
        response = staff_client.post(url, data)

    assert response.status_code == 302, response.context["form"].errors
    assert due_times(enrollment) == AT_SEVEN_IN_NEW_YORK

    refused = staff_client.post(url, {**data, "time_zone": "Mars/Olympus_Mons"})
    assert refused.status_code == 200
    assert "time_zone" in refused.context["form"].errors
    assert due_times(enrollment) == AT_SEVEN_IN_NEW_YORK


def test_plain_save_in_the_shell_reschedules(traveller, enrollment):
    user = User.objects.get(pk=traveller.pk)
    user.time_zone = "America/New_York"
    user.lesson_send_hour = 7
    with freeze_time(CHANGED_AT):
        user.save()

    assert due_times(enrollment) == AT_SEVEN_IN_NEW_YORK


def test_a_user_loaded_without_the_schedule_fields_still_reschedules(traveller, enrollment):
    user = User.objects.only("email").get(pk=traveller.pk)
    user.time_zone = "America/New_York"
    user.lesson_send_hour = 7
    with freeze_time(CHANGED_AT):
        user.save()

    assert due_times(enrollment) == AT_SEVEN_IN_NEW_YORK


def test_a_stale_copy_saved_after_someone_elses_change_moves_the_lessons_back(
    traveller, enrollment
):
    stale = User.objects.get(pk=traveller.pk)  # still Berlin at 08:00
    with freeze_time(CHANGED_AT):
        moved = User.objects.get(pk=traveller.pk)
        moved.time_zone, moved.lesson_send_hour = "America/New_York", 7
        moved.save()
        assert due_times(enrollment) == AT_SEVEN_IN_NEW_YORK

        stale.first_name = "Lee"
        stale.save()  # writes Berlin and 08:00 back

    assert due_times(enrollment) == AT_EIGHT_IN_BERLIN


def test_signal_only_for_a_real_change_once(traveller, schedule_signals):
    user = User.objects.get(pk=traveller.pk)
    user.save()  # nothing changed
    user.last_login = utc(2026, 6, 1, 5)
    user.save(update_fields=["last_login"])  # a sign-in
    user.lesson_send_hour = 9
    user.save()
    user.save()  # the same values again
    User.objects.create_user("new@example.com", "pw-123456789")  # a new account

    assert schedule_signals == [traveller.pk]


def test_sent_lessons_stay_where_they_were(
    traveller, enrollment, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        claim_due_deliveries(now=utc(2026, 6, 1, 6))  # day 0 sent at 08:00 CEST
    traveller.time_zone = "America/New_York"
    traveller.lesson_send_hour = 7
    with freeze_time("2026-06-01 09:00:00"):
        traveller.save()

    assert due_times(enrollment) == [utc(2026, 6, 1, 6), *AT_SEVEN_IN_NEW_YORK[1:]]


# Part 2: a creator moves a published cohort's start date


def publish_new_start(course_page: CoursePage, start: date) -> None:
    """What the Wagtail editor's "Publish" does: a revision with the new date, published."""
    page = CoursePage.objects.get(pk=course_page.pk)
    page.cohort_start_date = start
    page.save_revision().publish()


@pytest.fixture
def cohort():
    return cohort_course(start=date(2026, 9, 14), lessons=3)


def test_moving_a_cohort_moves_its_learners_and_tells_each_the_new_dates_in_their_zone(
    cohort, mailoutbox, django_capture_on_commit_callbacks
):
    berliner = morning_learner(time_zone="Europe/Berlin", send_hour=8, first_name="Bea")
    tokyoite = morning_learner(time_zone="Asia/Tokyo", send_hour=7, first_name="Taro")
    refunded = morning_learner(time_zone="Europe/Berlin", send_hour=8)
    before = utc(2026, 9, 1, 12)
    in_berlin = enroll(berliner, cohort, now=before)
    in_tokyo = enroll(tokyoite, cohort, now=before)
    services.revoke(enrollment=enroll(refunded, cohort, now=before), now=before)

    with freeze_time("2026-09-02 12:00:00"), django_capture_on_commit_callbacks(execute=True):
        publish_new_start(cohort, date(2026, 9, 21))

    assert due_times(in_berlin) == [utc(2026, 9, 21, 6), utc(2026, 9, 22, 6), utc(2026, 9, 23, 6)]
    assert due_times(in_tokyo) == [utc(2026, 9, 20, 22), utc(2026, 9, 21, 22), utc(2026, 9, 22, 22)]
    in_berlin.refresh_from_db()
    assert in_berlin.start_date == date(2026, 9, 21)
    assert sorted(message.to[0] for message in mailoutbox) == sorted(
        [berliner.email, tokyoite.email]
    )
    by_address = {message.to[0]: message for message in mailoutbox}
    berlin_text = by_address[berliner.email].body
    assert by_address[berliner.email].subject == f"New dates for {cohort.title}"
    assert "Monday 21 September 2026" in berlin_text
    assert "Europe/Berlin" in berlin_text
    assert "Tuesday 22 September 2026, 08:00" in berlin_text
    tokyo_text = by_address[tokyoite.email].body
    assert "Asia/Tokyo" in tokyo_text
    assert "Monday 21 September 2026, 07:00" in tokyo_text
    assert "Wednesday 23 September 2026, 07:00" in tokyo_text
    html = by_address[tokyoite.email].alternatives[0].content
    assert "Wed 23 Sep 2026, 07:00" in html


def test_publishing_the_same_date_again_moves_and_tells_nobody(
    cohort, mailoutbox, django_capture_on_commit_callbacks
):
    enrollment = enroll(morning_learner(), cohort, now=utc(2026, 9, 1, 12))
    before = due_times(enrollment)

    with django_capture_on_commit_callbacks(execute=True):
        page = CoursePage.objects.get(pk=cohort.pk)
        page.title = "A better title"
        page.save_revision().publish()

    assert due_times(enrollment) == before
    assert mailoutbox == []


def test_learners_on_their_own_schedule_are_not_moved(
    mailoutbox, django_capture_on_commit_callbacks
):
    # Enrolled while the course ran on each learner's own schedule, before it became a cohort.
    page = cohort_course(start=date(2026, 9, 14), lessons=2)
    own_pace = Enrollment.objects.get(
        pk=enroll(morning_learner(), page, now=utc(2026, 9, 1, 12)).pk
    )
    Enrollment.objects.filter(pk=own_pace.pk).update(start_date=date(2026, 9, 1))
    services.reschedule_for_learner(learner=own_pace.learner, now=utc(2026, 9, 1, 12))
    before = due_times(own_pace)

    with django_capture_on_commit_callbacks(execute=True):
        publish_new_start(page, date(2026, 9, 28))

    assert due_times(own_pace) == before
    assert mailoutbox == []


def test_a_cohort_moved_into_the_past_catches_up_instead_of_bursting(
    cohort, mailoutbox, django_capture_on_commit_callbacks
):
    enrollment = enroll(morning_learner(), cohort, now=utc(2026, 9, 1, 12))

    # On 16 September the creator says the course really began on 10 September.
    with freeze_time("2026-09-16 12:00:00"), django_capture_on_commit_callbacks(execute=True):
        publish_new_start(cohort, date(2026, 9, 10))

    statuses = list(enrollment.deliveries.order_by("lesson__day").values_list("status", flat=True))
    assert statuses == [Status.CAUGHT_UP] * 3
    assert claim_due_deliveries(now=utc(2026, 9, 16, 12, 1)) == []
    [message] = mailoutbox
    assert message.body.count("ready to read now") == 3


# Part 3: a late cohort joiner


def test_a_late_cohort_joiner_gets_one_catch_up_email_not_a_burst(
    mailoutbox, django_capture_on_commit_callbacks
):
    started = cohort_course(start=date(2026, 9, 14), lessons=5, title="Spanish in 5 days")
    late = morning_learner(time_zone="Europe/Berlin", send_hour=8)
    # 17 September, 10:00 CEST: days 0 to 3 (14-17 September, 08:00) have passed.
    joined_at = utc(2026, 9, 17, 8)

    with django_capture_on_commit_callbacks(execute=True):
        enrollment = enroll(late, started, now=joined_at)

    rows = list(enrollment.deliveries.order_by("lesson__day").select_related("lesson"))
    assert [row.status for row in rows] == [Status.CAUGHT_UP] * 4 + [Status.PENDING]
    assert rows[4].due_at == utc(2026, 9, 18, 6)
    # No lesson e-mail goes out for them; the one still to come is sent on its day.
    assert claim_due_deliveries(now=joined_at) == []
    # Each caught-up lesson is readable on the site at once.
    assert all(
        lesson_access(user=late, lesson=row.lesson, now=joined_at).allowed for row in rows[:4]
    )

    [message] = mailoutbox
    assert message.to == [late.email]
    assert message.subject == "Catch up: 4 lessons of Spanish in 5 days are ready"
    for row in rows[:4]:
        assert f"Day {row.lesson.display_day}: {row.lesson.title}" in message.body
        assert f"http://testserver{row.lesson.url}" in message.body
    assert rows[4].lesson.title not in message.body


def test_joining_with_one_lesson_due_gets_that_lesson_as_usual(
    mailoutbox, django_capture_on_commit_callbacks
):
    started = cohort_course(start=date(2026, 9, 14), lessons=3)
    # 14 September, 10:00 CEST: only day 0 has passed.
    with django_capture_on_commit_callbacks(execute=True):
        enrollment = enroll(morning_learner(), started, now=utc(2026, 9, 14, 8))

    statuses = list(enrollment.deliveries.order_by("lesson__day").values_list("status", flat=True))
    assert statuses == [Status.PENDING] * 3
    assert mailoutbox == []
    assert len(claim_due_deliveries(now=utc(2026, 9, 14, 8))) == 1


def test_what_is_already_due_at_joining_depends_on_the_learners_zone(
    django_capture_on_commit_callbacks,
):
    # A learner in Honolulu (UTC-10) joining at 17 September 08:00 UTC is still on 16
    # September at 22:00: days 0-2 have passed for them, day 3 has not.
    started = cohort_course(start=date(2026, 9, 14), lessons=5)
    islander = morning_learner(time_zone="Pacific/Honolulu", send_hour=8)

    with django_capture_on_commit_callbacks(execute=True):
        enrollment = enroll(islander, started, now=utc(2026, 9, 17, 8))

    statuses = list(enrollment.deliveries.order_by("lesson__day").values_list("status", flat=True))
    assert statuses == [Status.CAUGHT_UP] * 3 + [Status.PENDING] * 2
    day_3 = enrollment.deliveries.get(lesson__day=3).due_at
    assert day_3.astimezone(ZoneInfo("Pacific/Honolulu")).strftime("%d %H:%M") == "17 08:00"
