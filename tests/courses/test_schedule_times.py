"""When each lesson is due, in exact UTC: DST changes, half-hour zones, late enrolment,
cohorts, pause and resume, and a learner changing zone (docs/architecture.md, invariant 6).

These exercise ``courses/schedule.py`` through the services that write the outbox rows.
"""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from accounts.services import update_learner_settings
from courses import services
from courses.dispatch import claim_due_deliveries
from courses.models import Enrollment, LessonDelivery, ScheduleMode
from tests.courses.factories import course, enroll, morning_learner

pytestmark = pytest.mark.django_db


def utc(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def due_times(enrollment: Enrollment) -> list[datetime]:
    return list(enrollment.deliveries.order_by("lesson__day").values_list("due_at", flat=True))


def local_times(times: list[datetime], zone: str) -> list[str]:
    return [moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M") for moment in times]


def test_new_york_enrolling_the_day_before_spring_forward_gets_every_lesson_at_eight_local():
    new_yorker = morning_learner(time_zone="America/New_York", send_hour=8)
    # 2026-03-07 06:00 EST; clocks go from 02:00 EST to 03:00 EDT on 2026-03-08.
    enrollment = enroll(new_yorker, course(lessons=4), now=utc(2026, 3, 7, 11, 0))

    times = due_times(enrollment)

    assert times == [
        utc(2026, 3, 7, 13, 0),  # EST, UTC-5
        utc(2026, 3, 8, 12, 0),  # EDT, UTC-4, from the day of the change
        utc(2026, 3, 9, 12, 0),
        utc(2026, 3, 10, 12, 0),
    ]
    assert local_times(times, "America/New_York") == [
        "2026-03-07 08:00",
        "2026-03-08 08:00",
        "2026-03-09 08:00",
        "2026-03-10 08:00",
    ]


def test_new_york_enrolling_the_day_before_fall_back_gets_every_lesson_at_eight_local():
    new_yorker = morning_learner(time_zone="America/New_York", send_hour=8)
    # 2026-10-31 06:00 EDT; clocks go from 02:00 EDT back to 01:00 EST on 2026-11-01.
    enrollment = enroll(new_yorker, course(lessons=3), now=utc(2026, 10, 31, 10, 0))

    times = due_times(enrollment)

    assert times == [
        utc(2026, 10, 31, 12, 0),  # EDT, UTC-4
        utc(2026, 11, 1, 13, 0),  # EST, UTC-5, from the day of the change
        utc(2026, 11, 2, 13, 0),
    ]
    assert local_times(times, "America/New_York") == [
        "2026-10-31 08:00",
        "2026-11-01 08:00",
        "2026-11-02 08:00",
    ]


@pytest.mark.parametrize(
    ("zone", "expected_day_0", "expected_day_1"),
    [
        ("Asia/Kolkata", utc(2026, 6, 1, 2, 30), utc(2026, 6, 2, 2, 30)),  # +05:30
        ("Asia/Kathmandu", utc(2026, 6, 1, 2, 15), utc(2026, 6, 2, 2, 15)),  # +05:45
    ],
    ids=["kolkata-plus-0530", "kathmandu-plus-0545"],
)
def test_half_and_quarter_hour_zones_get_lessons_at_eight_local(
    zone, expected_day_0, expected_day_1
):
    someone = morning_learner(time_zone=zone, send_hour=8)
    # 2026-06-01 01:00 UTC is 06:30 in Kolkata and 06:45 in Kathmandu: before the send hour.
    enrollment = enroll(someone, course(lessons=2), now=utc(2026, 6, 1, 1, 0))

    assert due_times(enrollment) == [expected_day_0, expected_day_1]


def test_enrolling_at_2330_local_sends_day_0_at_once_and_day_1_next_morning():
    berliner = morning_learner(time_zone="Europe/Berlin", send_hour=8)
    now = utc(2026, 6, 10, 21, 30)  # 23:30 CEST (UTC+2): today's 08:00 has passed

    enrollment = enroll(berliner, course(lessons=3), now=now)

    assert due_times(enrollment) == [
        now,  # day 0: at once
        utc(2026, 6, 11, 6, 0),  # day 1: 08:00 CEST the next morning
        utc(2026, 6, 12, 6, 0),
    ]


def test_cohort_course_sends_lesson_n_on_start_plus_n_in_each_learners_own_zone():
    cohort = course(
        lessons=3, schedule_mode=ScheduleMode.COHORT, cohort_start_date=date(2026, 9, 14)
    )
    early_new_yorker = morning_learner(time_zone="America/New_York", send_hour=8)
    early_tokyo = morning_learner(time_zone="Asia/Tokyo", send_hour=8)
    late_berliner = morning_learner(time_zone="Europe/Berlin", send_hour=8)

    new_york = enroll(early_new_yorker, cohort, now=utc(2026, 9, 1, 12, 0))
    tokyo = enroll(early_tokyo, cohort, now=utc(2026, 9, 1, 12, 0))
    late_now = utc(2026, 9, 15, 10, 0)  # 12:00 CEST on day 1 of the cohort
    late = enroll(late_berliner, cohort, now=late_now)

    assert due_times(new_york) == [
        utc(2026, 9, 14, 12, 0),  # 08:00 EDT
        utc(2026, 9, 15, 12, 0),
        utc(2026, 9, 16, 12, 0),
    ]
    assert due_times(tokyo) == [
        utc(2026, 9, 13, 23, 0),  # 08:00 JST on 2026-09-14
        utc(2026, 9, 14, 23, 0),
        utc(2026, 9, 15, 23, 0),
    ]
    # Joined late: the lessons already released to the cohort arrive at once.
    assert late.start_date == date(2026, 9, 14)
    assert due_times(late) == [late_now, late_now, utc(2026, 9, 16, 6, 0)]


def test_pause_that_misses_two_send_moments_moves_each_remaining_lesson_two_days(
    django_capture_on_commit_callbacks,
):
    berliner = morning_learner(time_zone="Europe/Berlin", send_hour=8)
    enrollment = enroll(berliner, course(lessons=5), now=utc(2026, 6, 1, 5, 0))
    with django_capture_on_commit_callbacks(execute=True):
        claim_due_deliveries(now=utc(2026, 6, 1, 6, 0))  # day 0 goes out at 08:00 CEST

    services.pause(enrollment=enrollment, now=utc(2026, 6, 1, 10, 0))
    # Resumed on Wednesday 09:00 CEST: Tuesday's and Wednesday's 08:00 were missed.
    services.resume(enrollment=enrollment, now=utc(2026, 6, 3, 7, 0))

    enrollment.refresh_from_db()
    assert enrollment.days_shifted == 2
    rows = list(enrollment.deliveries.order_by("lesson__day").values_list("status", "due_at"))
    assert rows == [
        (LessonDelivery.Status.SENT, utc(2026, 6, 1, 6, 0)),  # already sent: untouched
        (LessonDelivery.Status.PENDING, utc(2026, 6, 4, 6, 0)),  # was 06-02
        (LessonDelivery.Status.PENDING, utc(2026, 6, 5, 6, 0)),
        (LessonDelivery.Status.PENDING, utc(2026, 6, 6, 6, 0)),
        (LessonDelivery.Status.PENDING, utc(2026, 6, 7, 6, 0)),
    ]


def test_pause_between_two_send_moments_moves_nothing():
    berliner = morning_learner(time_zone="Europe/Berlin", send_hour=8)
    enrollment = enroll(berliner, course(lessons=3), now=utc(2026, 6, 1, 4, 0))
    before = due_times(enrollment)

    services.pause(enrollment=enrollment, now=utc(2026, 6, 1, 10, 0))
    services.resume(enrollment=enrollment, now=utc(2026, 6, 1, 18, 0))

    enrollment.refresh_from_db()
    assert enrollment.days_shifted == 0
    # Day 0 (06:00 UTC) passed during the pause: it is due at once, on resume.
    assert due_times(enrollment) == [utc(2026, 6, 1, 18, 0), *before[1:]]


def test_changing_zone_and_hour_reschedules_unsent_lessons(django_capture_on_commit_callbacks):
    traveller = morning_learner(time_zone="Europe/Berlin", send_hour=8)
    enrollment = enroll(traveller, course(lessons=3), now=utc(2026, 6, 1, 5, 0))
    with django_capture_on_commit_callbacks(execute=True):
        claim_due_deliveries(now=utc(2026, 6, 1, 6, 0))  # day 0 sent at 08:00 CEST

    # The settings service reads the clock itself (through its signal): freeze it.
    with freeze_time("2026-06-01 09:00:00"):
        update_learner_settings(
            user=traveller,
            time_zone="America/New_York",
            lesson_send_hour=7,
            first_name="Lee",
            last_name="",
        )

    assert due_times(enrollment) == [
        utc(2026, 6, 1, 6, 0),  # sent before the change: stays as it was
        utc(2026, 6, 2, 11, 0),  # 07:00 EDT
        utc(2026, 6, 3, 11, 0),
    ]
