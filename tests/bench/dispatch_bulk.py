"""A large lesson outbox made in PostgreSQL itself (``INSERT ... SELECT generate_series``).

For the claim query's plan test and the benchmarks: building 100,000 or 1,000,000 rows through
the ORM would take minutes; these statements take seconds. The rows are real rows of our tables
(verified learners, active enrolments, one course's lessons), shaped like a site in use:

- per enrolment, the first ``sent`` lessons were sent days ago (a few of the last of those are
  still ``sending``: one in 200 enrolments with an expired lease, one in 200 with a live one);
- the next ``due`` lessons are ``pending`` and due, spread over the last 24 hours (or all at
  one instant, ``due_at``);
- the rest are ``pending`` and due on the coming days.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from courses.models import CoursePage

USERS_SQL = """
INSERT INTO accounts_user (password, is_superuser, first_name, last_name, is_staff, is_active,
                           date_joined, email, time_zone, lesson_send_hour)
SELECT '!', false, '', '', false, true, %(now)s, %(prefix)s || n || '@example.test',
       'Europe/Berlin', 8
FROM generate_series(1, %(learners)s) AS n
"""

ADDRESSES_SQL = """
INSERT INTO account_emailaddress (user_id, email, verified, "primary")
SELECT id, email, true, true FROM accounts_user WHERE email LIKE %(pattern)s
"""

ENROLLMENTS_SQL = """
INSERT INTO courses_enrollment (learner_id, course_id, status, enrolled_at, start_date,
                                days_shifted)
SELECT id, %(course)s, 'active', %(now)s, %(now)s::date, 0
FROM accounts_user WHERE email LIKE %(pattern)s
"""

DELIVERIES_SQL = """
INSERT INTO courses_lessondelivery (enrollment_id, lesson_id, status, due_at, lease_expires_at,
                                    attempts, sent_at, last_error)
SELECT e.id, l.lesson_id, s.status,
       CASE
         WHEN l.n <= %(sent)s THEN %(now)s - make_interval(days => (%(sent)s + 1 - l.n)::int)
         WHEN l.n <= %(sent)s + %(due)s
           THEN COALESCE(%(due_at)s,
                         %(now)s - make_interval(mins => (e.id %% 1440)::int) - interval '1 second')
         ELSE %(now)s + make_interval(days => (l.n - %(sent)s - %(due)s)::int)
       END,
       CASE
         WHEN s.status <> 'sending' THEN NULL
         WHEN e.id %% 200 = 0 THEN %(now)s - interval '1 minute'
         ELSE %(now)s + interval '10 minutes'
       END,
       CASE WHEN s.status = 'pending' THEN 0 ELSE 1 END,
       CASE WHEN s.status = 'sent' THEN %(now)s - make_interval(days => (%(sent)s + 1 - l.n)::int)
       END,
       ''
FROM courses_enrollment e
CROSS JOIN unnest(%(lessons)s::int[]) WITH ORDINALITY AS l(lesson_id, n)
CROSS JOIN LATERAL (
  SELECT CASE
           WHEN l.n = %(sent)s AND e.id %% 200 IN (0, 100) THEN 'sending'
           WHEN l.n <= %(sent)s THEN 'sent'
           ELSE 'pending'
         END AS status
) AS s
WHERE e.course_id = %(course)s
"""

COUNTS_SQL = """
SELECT count(*),
       count(*) FILTER (WHERE d.status = 'pending' AND d.due_at <= %(now)s),
       count(*) FILTER (WHERE d.status = 'sending' AND d.lease_expires_at <= %(now)s)
FROM courses_lessondelivery d JOIN courses_enrollment e ON e.id = d.enrollment_id
WHERE e.course_id = %(course)s
"""


@dataclass(frozen=True)
class Outbox:
    rows: int
    due: int  # pending and due now
    expired_leases: int  # sending, lease expired: claimable again


def build_outbox(
    *,
    course_page: CoursePage,
    learners: int,
    sent: int,
    due: int,
    now: datetime,
    tag: str = "bulk",
    due_at: datetime | None = None,
) -> Outbox:
    """``learners`` verified learners enrolled in ``course_page``, with every lesson's row.

    ``due_at``: the one instant every ``due`` row falls due (a spike: everyone's 08:00) instead
    of times spread over the last 24 hours.
    """
    lessons = list(course_page.lessons().values_list("pk", flat=True))
    assert sent + due <= len(lessons), "the course needs more lessons for that shape"
    params = {
        "now": now,
        "prefix": f"{tag}-",
        "pattern": f"{tag}-%",
        "learners": learners,
        "course": course_page.pk,
        "lessons": lessons,
        "sent": sent,
        "due": due,
        "due_at": due_at,
    }
    with connection.cursor() as cursor:
        for statement in (USERS_SQL, ADDRESSES_SQL, ENROLLMENTS_SQL, DELIVERIES_SQL):
            cursor.execute(statement, params)
        # Fresh statistics, as autovacuum would gather soon after a real site grew this big.
        for table in ("accounts_user", "account_emailaddress", "courses_enrollment"):
            cursor.execute(f"ANALYZE {table}")
        cursor.execute("ANALYZE courses_lessondelivery")
        cursor.execute(COUNTS_SQL, params)
        rows, due_rows, expired = cursor.fetchone()
    return Outbox(rows=rows, due=due_rows, expired_leases=expired)
