"""When a lesson is due: pure functions of dates, hours and zones (architecture.md #6).

A lesson on day N is due at the learner's send hour, on the local date ``start_date + N +
days_shifted``, in the learner's own zone. The wall-clock hour survives DST changes because the
local time is built first and converted to UTC last, by ``zoneinfo``.
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def local_send_time(*, local_date: date, send_hour: int, zone: ZoneInfo) -> datetime:
    """``send_hour``:00 on ``local_date`` in ``zone``, as an aware UTC datetime.

    In a spring-forward gap (a local hour that does not exist) zoneinfo reads the time with
    the offset from before the change, so the lesson arrives an hour later on the clock.
    """
    return datetime.combine(local_date, time(send_hour), tzinfo=zone).astimezone(UTC)


def lesson_due_at(
    *,
    start_date: date,
    day: int,
    days_shifted: int,
    send_hour: int,
    zone: ZoneInfo,
    now: datetime,
) -> datetime:
    """The moment a lesson is due; a moment already past means "at once" (``now``)."""
    local_date = start_date + timedelta(days=day + days_shifted)
    return max(local_send_time(local_date=local_date, send_hour=send_hour, zone=zone), now)


def sending_days_between(*, start: datetime, end: datetime, send_hour: int, zone: ZoneInfo) -> int:
    """How many of the learner's daily send moments fall in ``[start, end)``.

    A pause moves every later lesson by this many days: a pause from Tuesday 10:00 to
    Tuesday 18:00 missed no send moment and moves nothing; one from Tuesday 10:00 to Thursday
    09:00 missed Wednesday's and Thursday's and moves each lesson two days later.
    """
    if end <= start:
        return 0
    day = start.astimezone(zone).date()
    last_day = end.astimezone(zone).date()
    missed = 0
    while day <= last_day:
        moment = local_send_time(local_date=day, send_hour=send_hour, zone=zone)
        if start <= moment < end:
            missed += 1
        day += timedelta(days=1)
    return missed
